"""Answer checks: does a cited sentence answer the question, not merely share its words?

A sentence answers when (1) it is not an instruction to the reader or to a model,
(2) it shows an answer of the shape the question asks for (a quantity of days for
"how many days", a date or time for "when", a place for "where", ...), and (3) it covers
the question's subject: every subject word appears in the sentence, in the headings it
sits under, or as a word the sentence settles (``closed`` settles ``open``). Words found
in nearly every document (the library in a library's handbook) are the corpus's topic
and are not required.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from trifecta.specialists._terms import STOPWORDS
from trifecta.specialists.rag._bridge import Bridge
from trifecta.specialists.rag._coverage import coverage
from trifecta.specialists.rag._evidence import MONTH as _MONTH
from trifecta.specialists.rag._evidence import WEEKDAY as _WEEKDAY
from trifecta.specialists.rag._evidence import (
    asked_bound,
    circular_words,
    lead_time,
    other_action,
    other_owner,
    stated_bound,
)
from trifecta.specialists.rag._evidence import token_lemma as _lemma
from trifecta.specialists.rag._evidence import tokens as _tokens
from trifecta.specialists.rag._questions import TIME_UNITS, Expect, Question
from trifecta.specialists.rag._scope import (
    asked_rate,
    count_mismatch,
    later_word,
    rate_mismatch,
    tense_mismatch,
)
from trifecta.specialists.rag._text import Passage, Vocabulary, lemmas, plain_words, wordset

__all__ = [
    "INSTRUCTION",
    "AnswerCheck",
    "absent_words",
    "check_answer",
    "detail",
    "instruction",
    "topic",
]

INSTRUCTION = re.compile(
    r"^\W*(?:system|assistant|user|developer|human|ai|bot)\s*:"
    r"|<\|?(?:im_start|system|endoftext)|\[/?inst\]|<<sys>>"
    r"|\b(?:ignore|disregard|forget|override)\b.{0,60}\b(?:instructions?|prompts?|rules|above|previous|context)\b"
    r"|\b(?:system prompt|you are now|new instructions|(?:reply|respond|answer) (?:that|with|only))\b"
    r"|\byou (?:must|should|shall|need to|have to|are to|are required to|will always)\b"
    r"|\b(?:always|never|only) (?:answer|reply|respond|say|state|output|tell|mention)\b"
    r"|\b(?:note|message|instructions?) (?:to|for) (?:the |any |all )?(?:ai|assistants?|models?|llms?|chatbots?|language models?)\b"
    r"|^\W*(?:please\s+)?(?:ignore|disregard|pretend|act as)\b",
    re.IGNORECASE,
)
"""Text that reads as an instruction to the reader or to a model; never quoted as an answer."""


@dataclass(frozen=True)
class AnswerCheck:
    """Whether one sentence answers one question, and why.

    Attributes:
        ok: the sentence answers.
        shape: the answer it shows (e.g. ``duration '14 days'``), empty if none.
        covered: subject words found: as is, ``word~other`` when a related word
            settles it (``open~clos``), ``word (heading)`` or ``word (all …)`` when
            entailed; ``missing``: subject words not found.
        reason: why it does not answer (empty when it does).
        spread: how many words apart the answer and the farthest subject word sit
            (closer is better when several sentences answer).
    """

    ok: bool
    shape: str = ""
    covered: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    reason: str = ""
    spread: int = 0

    def evidence(self, question: Question) -> str:
        """One line for the verdict: which answer check passed."""
        subject = ", ".join(self.covered) or "none asked"
        return f"answer check: {question.label} question, {self.shape}; subject covered: {subject}"


def instruction(sentence: str) -> str | None:
    """The instruction-like words of `sentence`, or None when it reads as data."""
    match = INSTRUCTION.search(sentence)
    return match.group(0).strip() if match else None


def topic(vocabulary: Vocabulary) -> frozenset[str]:
    """Words found in at least 90% of the documents (of five or more): the corpus's topic."""
    if vocabulary.documents < 5:
        return frozenset()
    spread = vocabulary.by_lemma
    return frozenset(w for w, n in spread.items() if n >= 0.9 * vocabulary.documents)


def absent_words(question: Question, vocabulary: Vocabulary) -> tuple[str, ...]:
    """Subject words of `question` that no document contains in any form. A hyphenated
    word is never called absent (the vocabulary lists its parts, not the word), nor a
    number or a clock's "am"/"pm": documents write those details differently ("15:00"
    for "3 pm"), so their absence says nothing about the subject."""
    known = vocabulary.by_lemma
    return tuple(
        w
        for w in question.subject
        if w not in known and w not in question.compounds and not detail(w)
    )


def detail(word: str) -> bool:
    """Whether a subject word is a number or clock notation rather than a thing."""
    return word in _NUMBER_WORDS or word in {"am", "pm"} or any(c.isdigit() for c in word)


def check_answer(
    question: Question,
    passage: Passage,
    generic: frozenset[str] = frozenset(),
    bridge: Bridge | None = None,
) -> AnswerCheck:
    """Check that `passage` answers `question` (see the module docstring); `generic`
    words (the corpus's `topic`) need not be covered; a `bridge` may cover words no
    document uses."""
    sentence = passage.text
    if question.kind == "calculation":
        return AnswerCheck(False, reason="the question asks for a calculation, not a fact")
    if order := instruction(sentence):
        return AnswerCheck(False, reason=f"the sentence is an instruction ({order!r})")
    if sentence.rstrip().endswith("?"):
        return AnswerCheck(False, reason="the sentence is a question")
    covered, missing = coverage(question, sentence, passage.headings, generic, bridge)
    if missing:
        return AnswerCheck(False, "", covered, missing, f"does not mention {', '.join(missing)}")
    if question.subject and not any(" (" not in c for c in covered):
        return AnswerCheck(False, "", covered, (), "names none of the subject's words itself")
    found = _shape(question, sentence)
    if found is None:
        wanted = " or ".join(question.expects)
        return AnswerCheck(
            False, "", covered, (), f"states no {wanted} for a {question.label} question"
        )
    shape, phrase = found
    if unmet := _unmet(question, passage, phrase, covered):
        return AnswerCheck(False, shape, covered, (), unmet)
    return AnswerCheck(True, shape, covered, spread=_spread(sentence, phrase, question.subject))


def _unmet(question: Question, passage: Passage, phrase: str, covered: tuple[str, ...]) -> str:
    """What the question's wording demands that the sentence does not give (see
    `_evidence` and `_scope`), or "" when nothing is missing."""
    sentence = passage.text
    if mismatch := tense_mismatch(question.text, sentence) or count_mismatch(
        question.text, sentence
    ):
        return mismatch
    if _AMOUNTS & set(question.expects) and (mismatch := rate_mismatch(question.text, sentence)):
        return mismatch
    bound = question.bound or asked_bound(question.text)
    if bound is not None and stated_bound(bound, sentence) is None:
        return f"states no {bound} bound, which the question asks for"
    if phrase and lead_time(question.text, sentence, phrase):
        return f"{phrase!r} is a lead time before an event, not the length asked for"
    if phrase and (action := other_action(plain_words(question.text), sentence, phrase)):
        return f"the lead time {phrase!r} is for what is {action}, which the question does not ask"
    if phrase and (owner := other_owner(question.text, question.subject, sentence, phrase)):
        return f"the answer {phrase!r} is said of the {owner}, not of the asked subject"
    rate = lemmas(asked_rate(question.text) or "")  # "per year": a rate, not a subject
    said = [c.split("~")[-1] for c in covered if " (" not in c and c not in rate]
    shows = lambda part: bool(_shape(question, part))  # noqa: E731
    if phrase and (later := later_word(passage, shows, said)):
        return f"{later} is said in a later clause than the answer {phrase!r}, of something else"
    if phrase and (circular := circular_words(sentence, phrase, said)):
        return f"{', '.join(circular)} only qualif(ies) the answer {phrase!r}, not the subject"
    return ""


_AMOUNTS: frozenset[str] = frozenset({"quantity", "money", "percent", "duration", "frequency"})


def _spread(sentence: str, phrase: str, subject: tuple[str, ...]) -> int:
    """Words between the answer phrase and the farthest subject word of the sentence."""
    tokens = [_lemma(t) for t in _tokens(sentence)]
    start = _tokens(phrase)[:1]
    if not start or _lemma(start[0]) not in tokens:
        return 0
    at = tokens.index(_lemma(start[0]))
    gaps = [
        min(abs(i - at) for i, t in enumerate(tokens) if t == w) for w in subject if w in tokens
    ]
    return max(gaps, default=0)


# --- answer shapes ----------------------------------------------------------------

_NUMBER_WORDS = wordset(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty "
    "ninety hundred thousand dozen half"
)
_NUM = r"(?:\d+(?:[.,]\d+)?|" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + ")"
_BREAK = (
    STOPWORDS
    | {",", ";", ":", "(", ")", "no", "not", "may", "must", "per", "than", "be", "been"}
    | {"about", "after", "before", "over", "under", "up", "within", "until", "than", "each"}
)


def _is_number(token: str) -> bool:
    return token in _NUMBER_WORDS or bool(re.fullmatch(r"\d+(?:[.,]\d+)?", token))


def _counted_at(tokens: list[str], i: int, units: frozenset[str], article: bool) -> int | None:
    """The end (exclusive) of a count of one of `units` starting at token `i`: a number (or
    "a"/"an" when `article`), a range ("2 to 6"), then at most three modifiers before
    the unit ("up to 5 active interlibrary loan requests")."""
    if not (
        _is_number(tokens[i]) or (article and tokens[i] in {"a", "an"} and not _rate(tokens, i))
    ):
        return None
    j = i + 1
    while j + 1 < len(tokens) and tokens[j] in {"to", "or", "and"} and _is_number(tokens[j + 1]):
        j += 2
    for k in range(j, min(j + 4, len(tokens))):
        if _lemma(tokens[k]) in units:
            return k + 1
        if tokens[k] in _BREAK:
            return None
    return None


def _rate(tokens: list[str], i: int) -> bool:
    """Whether "a"/"an" at `i` is a rate's denominator ("3 times a year", "2 hours a week")."""
    before = tokens[i - 1] if i else ""
    return before in {"times", "once", "twice", "thrice"} or _lemma(before) in TIME_UNITS


def _counted(tokens: list[str], units: frozenset[str], article: bool = False) -> str | None:
    """The first count of one of `units` in `tokens`, as text."""
    for i in range(len(tokens)):
        end = _counted_at(tokens, i, units, article)
        if end is not None:
            return " ".join(tokens[i:end])
    return None


_CLOCK = r"\b\d{1,2}:\d{2}\b|\b\d{1,2}\s?(?:am|pm|a\.m\.|p\.m\.)|\bnoon\b|\bmidnight\b|\bo'clock\b"
_TIME_WORDS = (
    r"\b(?:christmas|thanksgiving|easter|new year's|holidays?)\b"
    r"|\b(?:19|20)\d{2}\b|\b(?:morning|afternoon|evening|tonight|today|tomorrow|immediately)\b"
    r"|\b(?:next|following|same|previous|first|last)\s+(?:business\s+|working\s+)?(?:day|week|month|year|weekday)\b"
    r"|\b(?:end|start|beginning|middle)\s+of\s+(?:the\s+|each\s+|every\s+)?(?:day|week|month|year|term)\b"
)
_RELATIVE_BEFORE = wordset(
    "within after before by until till from for over in least to than later earlier"
)
_RELATIVE_AFTER = wordset("before after ahead advance prior later earlier of from")
_FREQUENCY = (
    r"\b(?:every|each)\s+(?:other\s+)?(?:\w+\s+)?(?:minute|hour|day|week|month|year|night|session|visit)s?\b"
    r"|\b(?:once|twice|thrice)\b|\b" + _NUM + r"\s+times\b"
    r"|\b(?:daily|weekly|monthly|yearly|annually|hourly|nightly|biweekly)\b"
)
_MONEY = (
    r"[$€£]\s?\d|\b" + _NUM + r"\s+(?:dollars?|cents?|euros?|pounds?|usd|eur|gbp)\b"
    r"|\bfree\b(?=\s*(?:of|for|to|[.,;]|$))"  # "is free.", "free of charge", not "a free book"
    r"|\bno (?:extra |additional )?(?:charge|cost|fee)s?\b|\bat no (?:extra )?cost\b"
)
_PERCENT = r"\b" + _NUM + r"\s*(?:%|percent\b|per cent\b)"
_AGE = (
    r"\baged?\s+\d+|\bages\s+\d+|\b\d+\s+(?:years?\s+old|year olds?|and (?:older|over|up)|or (?:older|over))"
    r"|\b(?:under|over|at least|younger than|older than)\s+(?:the age of\s+)?\d+\b"
)
_PHONE = r"\b\d{3}[-. ]\d{4}\b|\(\d{3}\)\s?\d{3}[-. ]\d{4}|\+\d[\d ()-]{6,}\d"
_EMAIL = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\bhttps?://\S+|\bwww\.\S+"
_DISTANCE_UNITS = frozenset(
    lemmas(
        "foot feet meter meters metre metres mile miles kilometer kilometers km yard yards block blocks inch inches"
    )
)
_ROLES = frozenset(
    lemmas(
        "staff librarian librarians manager director coordinator officer team parent parents "
        "guardian caregiver student students volunteer volunteers cardholder notary board "
        "foundation friends agency tutor tutors police doctor nurse physician receptionist "
        "pharmacist department committee insurer company employee member supervisor "
        "administrator clerk library clinic office lender donor family applicant holder owner "
        "anyone everyone adult teens child children nobody whoever"
    )
)
_PLACES = frozenset(
    lemmas(
        "desk counter floor room entrance exit lobby office branch building website site web "
        "portal app catalog catalogue drop lot rack racks area library cafe café reception hall "
        "center centre clinic hospital pharmacy store shop street avenue road address mail wing "
        "level kiosk box locker radio door corner garage station town city county campus table "
        "shelf shelves section page account counter window member"
    )
)
_LOCATIVE = wordset("at in on to inside outside near behind beside by from via through into")


def _search(pattern: str) -> Callable[[str], str | None]:
    compiled = re.compile(pattern, re.IGNORECASE)

    def find(sentence: str) -> str | None:
        match = compiled.search(sentence)
        return match.group(0).strip() if match else None

    return find


def _duration(sentence: str) -> str | None:
    tokens = _tokens(sentence)
    found = _counted(tokens, TIME_UNITS, article=True)
    if found is None and "until" in tokens:
        found = "until …"
    return found


def _relative_time(sentence: str) -> str | None:
    """A duration anchored to an event: "within 14 days", "48 hours before the start"."""
    tokens = _tokens(sentence)
    for i in range(len(tokens)):
        end = _counted_at(tokens, i, TIME_UNITS, article=True)
        if end is None:
            continue
        before = tokens[i - 1] if i else ""
        after = tokens[end] if end < len(tokens) else ""
        if before in _RELATIVE_BEFORE or after in _RELATIVE_AFTER:
            start = i - 1 if before in _RELATIVE_BEFORE else i
            return " ".join(tokens[start : end + (after in _RELATIVE_AFTER)])
    return None


_SEASON = re.compile(r"\b(?:spring|summer|autumn|winter)\b")  # lower case: not "Summer Reading"


def _time(sentence: str) -> str | None:
    for finder in (_search(_CLOCK), _search(_WEEKDAY), _search(_MONTH), _search(_TIME_WORDS)):
        if found := finder(sentence):
            return found
    if season := _SEASON.search(sentence):
        return season.group(0)
    return _relative_time(sentence) or _search(_FREQUENCY)(sentence)


def _clock(sentence: str) -> str | None:
    return _search(_CLOCK)(sentence) or _relative_time(sentence)


def _person(question: Question) -> Callable[[str], str | None]:
    asked = set(question.subject)

    def find(sentence: str) -> str | None:
        roles = [w for w in lemmas(sentence) if w in _ROLES and w not in asked]
        return roles[0] if roles else _name(question)(sentence)

    return find


def _name(question: Question) -> Callable[[str], str | None]:
    asked = set(lemmas(question.text))

    def find(sentence: str) -> str | None:
        for match in re.finditer(r"(?<=[a-z,;] )([A-Z][\w'-]+(?: [A-Z][\w'-]+)*)", sentence):
            words = set(lemmas(match.group(1)))
            if (
                words
                and not words <= asked
                and not re.fullmatch(_WEEKDAY + "|" + _MONTH, match.group(1).lower())
            ):
                return match.group(1)
        return None

    return find


def _place(sentence: str) -> str | None:
    tokens = _tokens(sentence)
    for i, token in enumerate(tokens):
        if _lemma(token) in _PLACES and any(t in _LOCATIVE for t in tokens[max(0, i - 4) : i]):
            return " ".join(tokens[max(0, i - 4) : i + 1])
    return _search(r"\b(?:online|outside|upstairs|downstairs|anywhere|everywhere)\b|" + _EMAIL)(
        sentence
    )


def _quantity(question: Question) -> Callable[[str], str | None]:
    def find(sentence: str) -> str | None:
        tokens = _tokens(sentence)
        if question.units:
            return _counted(tokens, question.units)
        numbers = [t for t in tokens if _is_number(t)]
        return numbers[0] if numbers else None

    return find


def _entity(question: Question) -> Callable[[str], str | None]:
    """For "which X": the sentence names an X the question does not ("the Community
    Room", "Room 4", "the third floor"), not just X ("the lending library")."""
    asked = set(lemmas(question.text))

    def find(sentence: str) -> str | None:
        words = re.findall(r"[\w'-]+", sentence)
        for i, word in enumerate(words):
            if _lemma(word.lower()) != question.head:
                continue
            before = words[i - 1].lower() if i else ""
            after = words[i + 1] if i + 1 < len(words) else ""
            if before and before not in _BREAK and _lemma(before) not in asked:
                return f"{words[i - 1]} {word}"
            if re.fullmatch(r"[A-Z0-9][\w-]*", after) and _lemma(after.lower()) not in asked:
                return f"{word} {after}"
        return None

    return find


def _finders(question: Question) -> dict[Expect, Callable[[str], str | None]]:
    return {
        "quantity": _quantity(question),
        "money": _search(_MONEY),
        "percent": _search(_PERCENT),
        "duration": _duration,
        "frequency": _search(_FREQUENCY),
        "distance": lambda s: _counted(_tokens(s), _DISTANCE_UNITS),
        "age": _search(_AGE),
        "time": _time,
        "clock": _clock,
        "person": _person(question),
        "place": _place,
        "name": _name(question),
        "phone": _search(_PHONE),
        "email": _search(_EMAIL),
        "entity": _entity(question),
        "statement": lambda s: "a statement",
    }


def _shape(question: Question, sentence: str) -> tuple[str, str] | None:
    """The first answer shape the question expects that the sentence shows, described,
    and the words that show it."""
    finders = _finders(question)
    for expect in question.expects:
        found = finders[expect](sentence)
        if found:
            return (found, "") if expect == "statement" else (f"{expect} {found!r}", found)
    return None
