"""Reading a question: what kind of answer it asks for and which words name its subject.

A question's *kind* (how many, how much, how long, when, who, where, yes-no, what, ...)
becomes the answer shapes a cited sentence must show (`Expect`); its remaining content
words are the *subject*, which the sentence must cover. Words that only say what kind
of answer is wanted ("how many days": the unit; "what is the fee": the head noun) are
consumed by the shape and not required again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Literal

from trifecta.specialists.rag._evidence import Bound, asked_bound
from trifecta.specialists.rag._text import lemmas, plain_words, wordset

__all__ = ["Expect", "Question", "parse_question"]

Expect = Literal[
    "quantity",
    "money",
    "percent",
    "duration",
    "frequency",
    "distance",
    "age",
    "time",
    "clock",
    "person",
    "place",
    "name",
    "phone",
    "email",
    "entity",
    "statement",
]


@dataclass(frozen=True)
class Question:
    """What a question asks.

    Attributes:
        text: the question.
        kind: ``how many``, ``how much``, ``how long``, ``how often``, ``how far``,
            ``how old``, ``when``, ``what time``, ``who``, ``where``, ``which``,
            ``yes-no``, ``what``, ``how`` (manner), or ``calculation``.
        expects: answer shapes, any one of which the sentence must show; ``statement``
            alone means the subject is the whole check (a "what"/"how" question).
        units: lemmas a counted quantity may carry ("how many days": day, week, ...).
        head: for "which X"/"what X", the lemma of X the sentence must name.
        subject: lemmas the sentence must cover.
        defined: for "what is X", the words of X: a sentence "X is …" defines it.
        hints: words that typed the answer ("limit", "fee"): not required, but a
            sentence naming them ranks higher.
        bound: the bound the question asks for ("maximum": ``upper``, "minimum",
            "notice": ``lower``, "deadline": ``end``), which the sentence must state.
        compounds: subject words written hyphenated ("e-books": ``ebook``), which
            must appear as such; no document's vocabulary lists them as one word.
    """

    text: str
    kind: str
    expects: tuple[Expect, ...]
    units: frozenset[str] = frozenset()
    head: str | None = None
    subject: tuple[str, ...] = ()
    defined: tuple[str, ...] = ()
    hints: tuple[str, ...] = ()
    bound: Bound | None = None
    compounds: frozenset[str] = frozenset()

    def defines(self, sentence: str) -> bool:
        """Whether `sentence` begins "(the) X is/are/means/lasts …" for "what is X"."""
        if not self.defined:
            return False
        words = r"\s+".join(re.escape(w) for w in self.defined)
        pattern = rf"^(?:the\s+|an?\s+|our\s+)?{words}\s+(?:is|are|was|were|means|lasts)\b"
        return re.match(pattern, sentence.strip(), re.IGNORECASE) is not None

    @property
    def label(self) -> str:
        """The kind as shown in evidence, e.g. ``how many (day)``."""
        unit = f" ({self.head or sorted(self.units)[0]})" if self.head or self.units else ""
        return f"{self.kind}{unit}"


def _lemmas_of(words: str) -> frozenset[str]:
    return frozenset(lemmas(words))


TIME_UNITS = _lemmas_of("minute hour day week month year night fortnight")
_UNIT_FAMILIES: tuple[frozenset[str], ...] = (
    TIME_UNITS,
    _lemmas_of("person people guest participant adult seat"),
    _lemmas_of("time twice once"),
)
_AUX = (
    "is|are|was|were|am|be|been|do|does|did|can|could|will|would|should|shall|must|may|might"
    "|has|have|had"
)
_YES_NO = re.compile(rf"^(?:{_AUX}|isn't|aren't|don't|doesn't|can't|won't)\b", re.I)
_ARITHMETIC = re.compile(
    r"\d\s*(?:[+*/×÷^]|\bplus\b|\bminus\b|\btimes\b|\bdivided by\b|\bmultiplied by\b)\s*\d", re.I
)
_HEADS: dict[str, tuple[Expect, ...]] = {
    **dict.fromkeys(
        (
            "fee",
            "fine",
            "cost",
            "price",
            "charge",
            "rate",
            "deposit",
            "penalty",
            "fare",
            "copay",
            "balance",
        ),
        ("money", "percent"),
    ),
    **dict.fromkeys(("window", "period", "duration", "length", "term"), ("duration", "time")),
    **dict.fromkeys(("deadline", "date", "day", "days"), ("time",)),
    **dict.fromkeys(("time", "hours", "schedule"), ("clock", "time", "duration")),
    **dict.fromkeys(
        ("limit", "maximum", "minimum", "capacity", "amount", "count", "total", "quantity"),
        ("quantity", "money", "duration"),
    ),
    "age": ("age",),
    **dict.fromkeys(("phone", "telephone"), ("phone",)),
    **dict.fromkeys(("email", "mail"), ("email",)),
    **dict.fromkeys(("address", "location", "website", "site", "url"), ("place", "email")),
    "name": ("name",),
    **dict.fromkeys(("percentage", "percent", "discount"), ("percent", "money")),
}
_MONEY_WORDS = _lemmas_of("cost price pay charge fee fine rate spend")
_FUNCTION = wordset(
    "about above after again against all also any before below between both but each else "
    "every few further here just least less more most much many no nor not now off once only "
    "other out over own same so some such than then too under until up very while whether "
    "would could should must may might shall got need happen let want like know take use "
    "place go make i me my mine myself we us our you your yourself someone somebody anyone "
    "anybody one person people patient customer patron client visitor user long often old "
    "far soon recent recently early late big large it its they them their this that these "
    "those there here what which who whom whose where when why how within during through "
    "via without across around along toward towards upon onto among near since till "
    "anything something nothing everything else besides except instead another done doing "
    "get gets getting still anywhere usually ever"
)
_AUX_WORDS = frozenset(_AUX.split("|"))
_CONTACT = _lemmas_of("call contact reach ask phone write")
_DURATION_VERBS = _lemmas_of("last lasts")


def parse_question(text: str) -> Question:
    """Read what `text` asks: its kind, the answer shapes that fit, and its subject."""
    low = " ".join(text.lower().replace("’", "'").split()).rstrip("?!. ")
    if _ARITHMETIC.search(low):
        return Question(text, "calculation", ())
    low = _NOT.sub(" not", re.sub(r"\bcan't\b", "can not", re.sub(r"\bwon't\b", "will not", low)))
    low = _AT_ONCE.sub("at once", low)  # "at one time": not a time asked about
    lead = _LEADING.sub("", low)
    found = next((q for q in (r(text, low, lead) for r in _READERS) if q is not None), None)
    found = found or _question(text, low, "what", ("statement",), consumed=())
    compounds = frozenset(lemmas(" ".join(m.replace("-", "") for m in _COMPOUNDS.findall(low))))
    return replace(found, bound=asked_bound(low), compounds=compounds & set(found.subject))


_NOT = re.compile(r"n't\b")
_AT_ONCE = re.compile(r"\bat (?:one|a|the same) time\b")
_COMPOUNDS = re.compile(r"(?<![\w-])[a-z]+(?:-[a-z]+)+(?![\w-])")


_LEADING = re.compile(
    r"^(?:(?:and|so|also|please|tell me|after|before|at|in|on|for|by|from|to|within|until|since|up to)\s+)+"
)


def _question(
    text: str,
    low: str,
    kind: str,
    expects: tuple[Expect, ...],
    consumed: tuple[str, ...],
    units: frozenset[str] = frozenset(),
    head: str | None = None,
) -> Question:
    drop = set(lemmas(" ".join(consumed))) | _FUNCTION_LEMMAS | units
    if head is not None:
        drop.add(head)
    if {"phone", "email", "person"} & set(expects):
        drop |= _CONTACT  # "what number do I call", "who do I contact": the shape says it
    if {"money", "percent"} & set(expects):
        drop |= _MONEY_WORDS
    if "duration" in expects:
        drop |= _DURATION_VERBS
    plain = re.findall(r"[a-z0-9]+", plain_words(low))
    raw = " ".join(w for w in plain if w not in _AUX_WORDS)
    words = [w for w in lemmas(raw) if w not in drop and not (len(w) == 1 and w.isalpha())]
    subject = tuple(dict.fromkeys(words))
    return Question(text, kind, expects, units, head, subject)


_FUNCTION_LEMMAS = _lemmas_of(" ".join(_FUNCTION)) | _FUNCTION


def _noun_after(low: str, cue: str) -> list[str]:
    """The words after `cue` up to the first auxiliary verb or preposition."""
    rest = low.split(cue, 1)[1].split()
    stop = set(_AUX.split("|")) | {"of", "for", "in", "on", "at", "to", "per", "with", "from"}
    out: list[str] = []
    for word in rest:
        if word in stop:
            break
        out.append(word)
    return out


def _unit_word(noun: list[str]) -> str | None:
    """The counted noun of "how many X …": the first plural word, else the last word."""
    for word in noun:
        if word in _PLURALS or (word.endswith("s") and not word.endswith("ss")):
            return word
    return noun[-1] if noun else None


_PLURALS = frozenset({"people", "children", "men", "women", "feet"})


def _units(word: str | None) -> frozenset[str]:
    """The counted unit of "how many X", widened to its family (days: any time unit)."""
    found = lemmas(word) if word else []
    if not found:
        return frozenset()
    for family in _UNIT_FAMILIES:
        if found[0] in family:
            return family
    return frozenset({found[0]})


def _how_many(text: str, low: str, lead: str) -> Question | None:
    if big := _HOW_BIG.search(low):  # a size asked of a room or a group: its capacity
        people = _UNIT_FAMILIES[1]
        return _question(
            text, low, "how many", ("quantity",), (*big.group(0).split(), *_CAPACITY), people
        )
    if "how many" not in low:
        return None
    word = _unit_word(_noun_after(low, "how many"))
    units = _units(word)
    expects: tuple[Expect, ...] = ("duration",) if units == TIME_UNITS else ("quantity",)
    if units == _UNIT_FAMILIES[2]:
        expects = ("frequency",)
    capacity = _CAPACITY if units == _UNIT_FAMILIES[1] else ()
    return _question(text, low, "how many", expects, ("many", word or "", *capacity), units)


_CAPACITY = ("fit", "hold", "accommodate", "seat", "take")
_HOW_BIG = re.compile(
    r"\bhow (?:big|large)\b(?: (?:of )?an? (?:group|party|crowd|class|audience|gathering)\b)?"
)


def _how_much(text: str, low: str, lead: str) -> Question | None:
    if "how much" not in low:
        return None
    noun = _noun_after(low, "how much")
    if noun and noun[0] in {"notice", "time", "advance"}:
        return _question(text, low, "how much", ("duration",), ("much", noun[0]), TIME_UNITS)
    if noun and noun[0] not in {"money"}:
        units = _units(noun[-1])
        return _question(text, low, "how much", ("quantity", "money"), ("much", noun[-1]), units)
    return _question(text, low, "how much", ("money", "percent"), ("much", "money"))


_HOW: tuple[tuple[str, str, tuple[Expect, ...]], ...] = (
    (r"how long\b", "how long", ("duration",)),
    (r"how (?:often|frequently)\b", "how often", ("frequency",)),
    (r"how (?:far in advance|far ahead|early|soon|recent(?:ly)?)\b", "how long", ("duration",)),
    (r"how far\b", "how far", ("distance", "duration")),
    (r"how old\b|what age\b", "how old", ("age",)),
    (r"what time\b|what hours\b", "what time", ("clock",)),
    (r"when\b|what (?:date|day|days|month|year)\b", "when", ("time",)),
    (r"who (?:is|are|was|were) (?:the|your|our)\b", "who", ("name",)),  # a name, not a role
    (r"who(?:m|se)?\b", "who", ("person",)),
    (r"where\b", "where", ("place",)),
)


def _how_other(text: str, low: str, lead: str) -> Question | None:
    for pattern, kind, expects in _HOW:
        match = re.match(pattern, lead)
        if match:
            return _question(text, low, kind, expects, tuple(match.group(0).split()))
    return None


_WHAT_IS = re.compile(
    r"^(?:what|which)\s+(?:is|are|was|were)\s+(?:the\s+|a\s+|an\s+)?(?P<np>.+?)"
    r"(?:\s+(?:in|of|for|from|under|on|at|to|per|with|if|when|that|called)\s+.*)?$"
)
_WHICH = re.compile(
    rf"^(?:what|which)\s+(?P<np>(?:(?!(?:{_AUX}|of)\b)[\w'-]+\s+){{1,3}}?)(?:of\s+.*?)?(?:{_AUX})\b"
)


def _what(text: str, low: str, lead: str) -> Question | None:
    match = _WHICH.match(lead + " ")
    if match and not re.match(r"(?:what|which) (?:is|are|was|were)\b", lead):
        return _headed(text, low, "which", match.group("np").split())
    match = _WHAT_IS.match(lead)
    if match:
        noun = match.group("np").split()
        return replace(_headed(text, low, "what", noun), defined=tuple(noun))
    match = re.match(r"which\s+([\w'-]+)", lead)
    if match and match.group(1) not in _AUX_WORDS:  # "which libraries lend …"
        return _headed(text, low, "which", [match.group(1)])
    return None


def _headed(text: str, low: str, kind: str, noun: list[str]) -> Question:
    """A "what/which X" question: typed by X's head noun when it names an answer shape."""
    noun = [w for w in noun if w not in _FUNCTION]  # "what else": no noun to name
    typed = [w for w in noun if w in _HEADS or w.rstrip("s") in _HEADS or w in _NUMBER]
    expects = _head_expects(noun)
    if expects is not None:
        rest = [w for w in noun if w not in typed]
        counted = _lemmas_of(" ".join(rest)) if "quantity" in expects and typed else frozenset()
        typed_question = _question(text, low, kind, expects, tuple(typed), counted)
        return replace(typed_question, hints=tuple(lemmas(" ".join(typed))))
    head = lemmas(noun[-1]) if noun else []
    if kind == "which" and head:
        return _question(text, low, kind, ("entity",), (), head=head[0])
    return _question(text, low, kind, ("statement",), ())


_NUMBER = frozenset({"number", "numbers"})


def _head_expects(noun: list[str]) -> tuple[Expect, ...] | None:
    words = set(noun)
    if words & {"email", "e-mail"}:
        return ("email",)
    if words & {"phone", "telephone"}:
        return ("phone",)
    if noun and noun[-1] in _NUMBER:
        return ("phone", "quantity")
    for word in reversed(noun):
        expects = _HEADS.get(word) or _HEADS.get(word.rstrip("s"))
        if expects:
            return expects
    return None


def _yes_no(text: str, low: str, lead: str) -> Question | None:
    if not _YES_NO.match(lead):
        return None
    return _question(text, low, "yes-no", ("statement",), ())


def _manner(text: str, low: str, lead: str) -> Question | None:
    if not lead.startswith("how "):
        return None
    return _question(text, low, "how", ("statement",), ())


_READERS = (_how_many, _how_much, _yes_no, _how_other, _what, _manner)
