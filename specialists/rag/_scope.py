"""Whether the answer a sentence shows is said of the asked case, not of a neighbour.

- **The asked clause.** In "Renew items online, by phone at 555-0142, or at any service
  desk", the number belongs to renewing by phone; the desk is a later alternative. A
  sentence's clauses (split at commas, semicolons, colons and brackets) carry their
  words forward ("If a child under 8 is found alone, …, and will call the police within
  30 minutes"), and a leading phrase modifies the clause after it ("Every November,
  each food item …"); but a clause joined by "and", "or", "but" or "nor" starts another
  alternative or statement, which does not reach back. A subject word said only after
  such a join that follows every clause showing an answer is said of something else.
- **The asked period.** An amount per day, week, month, year, hour, page or item
  answers only the question that asks per the same unit: "20 dollars per month" is not
  what a year costs, and "10 cents per gram" not what an hour costs.
- **The asked number of times.** What follows failing to cancel "twice" does not
  answer what follows failing "once".
- **The asked time.** A sentence that states what used to hold ("was 14 days before
  2020", "used to", "formerly") does not answer a present-tense question, and a
  present-tense sentence does not answer what used to hold.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from trifecta.specialists.rag._text import Passage, lemmas, plain_words, wordset

__all__ = [
    "asked_rate",
    "clauses",
    "count_mismatch",
    "later_word",
    "rate_mismatch",
    "stated_rates",
    "tense_mismatch",
]

_CLAUSE = re.compile(r"[;:](?!\d)|,(?!\d)|[()]")


def clauses(sentence: str) -> list[str]:
    """The clauses of `sentence`: split at commas, semicolons, colons and brackets (not
    inside numbers such as "9:00" or "1,000"), empty ones dropped."""
    return [part for part in _CLAUSE.split(sentence) if part.strip()]


def later_word(passage: Passage, shows: Callable[[str], bool], words: Iterable[str]) -> str | None:
    """The first of `words` (lemmas the sentence says itself) that the sentence says only
    after a coordinated clause ("…, or at any service desk") that follows every clause
    that `shows` an answer, or None. Words of the passage's headings are said of every
    clause. When no single clause shows an answer (it spans clauses), nothing is said
    to be later."""
    parts = clauses(passage.text)
    answers = [i for i, part in enumerate(parts) if shows(part)]
    if not answers:
        return None
    joins = [i for i, part in enumerate(parts) if i > max(answers) and _COORDINATED.match(part)]
    if not joins:
        return None
    said = [set(lemmas(plain_words(part))) for part in parts]
    around = set(lemmas(" ".join(plain_words(h) for h in passage.headings)))
    for word in (w for w in words if w not in around):
        where = [i for i, found in enumerate(said) if word in found]
        if where and min(where) >= joins[0]:
            return word
    return None


_COORDINATED = re.compile(r"\s*(?:and|or|but|nor)\b", re.IGNORECASE)


_USED_TO = re.compile(
    r"\b(?:used to|use to|formerly|previously|in the past|originally|until recently|back then)\b",
    re.IGNORECASE,
)
_PAST_YEAR = re.compile(
    r"\b(?:before|in|until|till|prior to|back in|during)\s+(?:19|20)\d{2}\b|\blast year\b",
    re.IGNORECASE,
)
_AUX = wordset(
    "is are am be was were do does did can could will would should shall must may might "
    "has have had"
)
_PAST_AUX = wordset("was were did had")
_SUBORDINATORS = wordset(
    "where which that who whom whose when whenever if because since after before once as "
    "while until unless whether what though although"
)


def tense_mismatch(question: str, sentence: str) -> str:
    """Why `sentence` does not answer `question` in time, or "": a sentence that states
    what used to hold ("the refund window was 14 days before 2020") does not answer a
    present-tense question, and a present-tense sentence does not say what used to hold
    ("What time did Riverside use to open?")."""
    asked_past = bool(_USED_TO.search(question) or _PAST_YEAR.search(question))
    asked_past = asked_past or _first_aux(question) in _PAST_AUX
    said_past = bool(_USED_TO.search(sentence)) or _main_past(sentence)
    if said_past and not asked_past:
        return "the sentence states what used to hold, the question asks what holds now"
    if asked_past and not said_past:
        return "the question asks what used to hold, the sentence states what holds now"
    return ""


def _first_aux(question: str) -> str:
    """The question's own auxiliary verb ("did" in "What time did …"), not one of a
    clause it subordinates ("What happens if my card was stolen?"), or ""."""
    words = re.findall(r"[a-z']+", question.lower())
    for i, word in enumerate(words):
        if word in _AUX:
            return "" if _SUBORDINATORS & set(words[1:i]) else word
    return ""


def _main_past(sentence: str) -> bool:
    """Whether a clause of `sentence` has "was"/"were"/"had" as its own verb, not in a
    subordinate clause ("the branch where it was borrowed")."""
    for part in clauses(sentence):
        words = re.findall(r"[a-z']+", part.lower())
        for i, word in enumerate(words):
            if word in _PAST_AUX and not _SUBORDINATORS & set(words[:i]):
                return True
    return False


_TIME_UNITS = frozenset(lemmas("minute hour day week month year night"))
_ADVERBS = {
    **dict.fromkeys(lemmas("hourly"), "hour"),
    **dict.fromkeys(lemmas("daily nightly"), "day"),
    **dict.fromkeys(lemmas("weekly"), "week"),
    **dict.fromkeys(lemmas("monthly"), "month"),
    **dict.fromkeys(lemmas("yearly annually annual"), "year"),
}
_NOT_RATE = wordset("for in within after before of over than from to by at on during about")


def asked_rate(question: str) -> str | None:
    """The period or unit an amount is asked per ("How much … per year", "how many hours
    a month", "the annual fee"), as written, or None."""
    found = _rates(question, adjectives=True)
    return found[0] if found else None


def stated_rates(sentence: str) -> set[str]:
    """The lemmas of the periods and units the sentence states amounts per ("25 cents
    per day", "40 dollars a year", "2 hours a week"); "daily", "annual" … only when it
    states none so ("a yearly membership costs 20 dollars per month" is paid monthly)."""
    found = _rates(sentence, adjectives=False) or _rates(sentence, adjectives=True)
    return {_lemma(w) for w in found}


def rate_mismatch(question: str, sentence: str) -> str:
    """Why `sentence` does not give the amount per the asked period or unit, or "": "20
    dollars per month" does not say what a year costs, nor "10 cents per gram" an hour."""
    rate = asked_rate(question)
    if rate is None or _lemma(rate) in stated_rates(sentence):
        return ""
    return f"states no amount per {rate}, which the question asks for"


def _lemma(word: str) -> str:
    return (lemmas(word) or [word])[0]


def _rates(text: str, adjectives: bool) -> list[str]:
    """Words after "per", time units after "a"/"an"/"each"/"every" that follow an amount
    or a verb (not "for a year", a length), and with `adjectives` the periods of
    "daily", "annual" …"""
    words = re.findall(r"[a-z0-9]+", text.lower())
    found = []
    for i, word in enumerate(words):
        after = words[i + 1] if i + 1 < len(words) else ""
        if word == "per" and after:
            found.append(after)
        elif word in {"a", "an", "each", "every"} and _lemma(after) in _TIME_UNITS:
            if i and words[i - 1] not in _NOT_RATE and words[i - 1] not in _AUX:
                found.append(after)
        elif adjectives and _lemma(word) in _ADVERBS:
            found.append(_ADVERBS[_lemma(word)])
    return found


_REPEATS = re.compile(
    r"(?<!\bat )\b(?:once|twice|thrice|(?:\d+|two|three|four|five|six|seven|eight|nine|ten) times)\b"
)
_COUNTS = {"once": "1", "twice": "2", "thrice": "3", "two": "2", "three": "3", "four": "4"}
_COUNTS |= {"five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10"}


def count_mismatch(question: str, sentence: str) -> str:
    """Why `sentence` speaks of another number of times than `question`, or "": what
    follows failing to cancel "twice" does not answer what follows failing "once"."""
    asked = _repeats(question.lower().split(" ", 1)[-1])  # a leading "Once …" is "when"
    said = _repeats(sentence.lower())
    if asked and said and not asked & said:
        return (
            f"says {', '.join(sorted(said))} time(s), the question asks {', '.join(sorted(asked))}"
        )
    return ""


def _repeats(text: str) -> set[str]:
    """The numbers of times `text` states ("once": 1, "3 times": 3), not "at once"."""
    return {_COUNTS.get(m.split()[0], m.split()[0]) for m in _REPEATS.findall(text)}
