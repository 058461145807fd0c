"""What a question's wording demands of an answer beyond its subject words and shape.

- **A bound.** "maximum", "limit", "longest" ask for an upper bound; "minimum",
  "notice", "earliest" for a lower one; "deadline", "latest" for an end point. The
  sentence must state a bound of that direction ("up to", "no more than"; "at least",
  "or older"; "by", "until", "within"): a plain amount, a rate or the opposite bound
  does not answer ("under 12" is no minimum age).
- **A length, not a lead time.** "3 days before the due date" is when something must
  happen; it answers "how far in advance" or "how long before", never "how long is X".
- **The asked action's lead time.** In "bookings must be cancelled at least 48 hours
  before the start", the lead time belongs to cancelling: it answers "how much notice
  to cancel", not "how much notice to book". The participle the lead time follows must
  be a word of the question.
- **The answer said of the subject.** In "a Community Room for up to 80 people and four
  study rooms", the count belongs to the Community Room: when the question qualifies a
  noun ("study room") and its mention nearest before the answer is qualified by a word
  the question does not use, the answer is said of another thing.
- **No circular answer.** "the next day the branch is open" defines its day by the
  asked words: a subject word found only in the clause that qualifies the answer
  ("… the day [the branch is open]") is not said of the subject.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

from trifecta.specialists._terms import STOPWORDS
from trifecta.specialists.rag._text import lemmas, wordset

__all__ = [
    "MONTH",
    "WEEKDAY",
    "Bound",
    "asked_bound",
    "circular_words",
    "lead_time",
    "other_action",
    "other_owner",
    "stated_bound",
    "token_lemma",
    "tokens",
]

Bound = Literal["upper", "lower", "end"]

WEEKDAY = r"\b(?:mon|tues|wednes|thurs|fri|satur|sun)days?\b|\bweek(?:end|day)s?\b|\bschool days?\b"
"""A day of the week, or the weekend (a pattern, lower case)."""
MONTH = (
    r"\b(?:january|february|march|april|june|july|august|september|october|november|december)\b"
    r"|\bmay\s+\d|\b(?:in|of|every|since|until|from|by)\s+may\b"
)
"""A month's name (a pattern, lower case; "may" only where it reads as the month)."""

_ASKS: dict[Bound, re.Pattern[str]] = {
    "upper": re.compile(
        r"\b(?:maximum|max|longest|largest|highest|biggest|limits?|at most|the most)\b"
    ),
    "lower": re.compile(
        r"\b(?:minimum|min|shortest|earliest|youngest|at least|the least|notice)\b"
    ),
    "end": re.compile(r"\b(?:deadline|latest|last day)\b"),
}
_STATES: dict[Bound, re.Pattern[str]] = {
    "upper": re.compile(
        r"\b(?:up to|maximum|max|no more than|not more than|at most|limit|limits|limited to"
        r"|no longer than|under|younger than|less than|fewer than|or (?:fewer|less))\b"
    ),
    "lower": re.compile(
        r"\b(?:at least|minimum|no (?:less|fewer|earlier) than|or (?:older|more|over|later)"
        r"|and (?:older|over|up)|notice|older than|more than|over)\b"
    ),
    "end": re.compile(r"\b(?:by|until|till|before|within|no later than|due|deadline)\b"),
}
_TOKEN = re.compile(r"\d+[a-z]+\b|\d+(?:[.,:]\d+)*|[a-z]+(?:'[a-z]+)?|[,;:()]")  # "3d": no number


def tokens(text: str) -> list[str]:
    """Lower-cased words, numbers and clause punctuation of `text` (hyphens split)."""
    return _TOKEN.findall(re.sub(r"(?<=\w)-(?=\w)", " ", text.lower()))


def token_lemma(token: str) -> str:
    """The lemma of one token (the token itself when it has none, e.g. "the")."""
    found = lemmas(token)
    return found[0] if found else token


def asked_bound(question: str) -> Bound | None:
    """The bound a question asks for ("What is the maximum fine": ``upper``), if any."""
    low = question.lower()
    found = [bound for bound, pattern in _ASKS.items() if pattern.search(low)]
    return found[0] if len(found) == 1 else None


def stated_bound(bound: Bound, sentence: str) -> str | None:
    """The words by which `sentence` states a bound of that direction, or None."""
    match = _STATES[bound].search(sentence.lower())
    return match.group(0) if match else None


_OFFSET = frozenset({"before", "after", "prior", "ahead", "earlier", "later", "beforehand"})
_ASKS_OFFSET = re.compile(r"\b(?:before|after|advance|ahead|prior|notice|early|soon|later)\b")


def lead_time(question: str, sentence: str, phrase: str) -> bool:
    """Whether `phrase` (a duration in `sentence`) is an offset from an event ("3 days
    before the due date") while `question` asks "how long is/does X" without one."""
    low = question.lower()
    if not low.startswith("how long") or _ASKS_OFFSET.search(low):
        return False
    words = tokens(sentence)
    end = _end_of(words, tokens(phrase))
    after = words[end : end + 2] if end is not None else []
    return bool(after) and (after[0] in _OFFSET or after == ["in", "advance"])


_QUALIFIERS = wordset("at least most up to no not more less than within for about only by some")


def other_action(question: str, sentence: str, phrase: str) -> str | None:
    """The participle a lead time `phrase` of `sentence` belongs to ("cancelled" in
    "cancelled at least 48 hours before the start") when the question does not name it."""
    words = tokens(sentence)
    end = _end_of(words, tokens(phrase))
    if end is None or not (words[end : end + 1] and words[end] in _OFFSET):
        return None
    k = end - len(tokens(phrase)) - 1
    while k >= 0 and words[k] in _QUALIFIERS:
        k -= 1
    verb = words[k] if k >= 0 else ""
    if not verb.endswith("ed") or set(lemmas(verb)) <= set(lemmas(question)):
        return None
    return verb


_BOUNDARY = frozenset({",", ";", ":", "(", ")", "and", "but", "which", "that", "who"})
_LOOKBACK = 5


def other_owner(question: str, subject: Iterable[str], sentence: str, phrase: str) -> str | None:
    """The qualified noun ("community room") that the answer `phrase` of `sentence` is
    said of, when the question qualifies that noun ("study room") and the sentence's
    mention nearest before the answer is qualified by a word the question does not use."""
    words = tokens(sentence)
    found = tokens(phrase)
    end = _end_of(words, found)
    if end is None or not found:
        return None
    asked, asked_qualifiers = set(lemmas(question)), _qualified(question, subject)
    nouns = set(asked_qualifiers)
    start = end - len(found)
    for k in range(start - 1, max(start - 1 - _LOOKBACK, -1), -1):
        if words[k] in _BOUNDARY:
            return None
        if token_lemma(words[k]) in nouns:
            before = words[k - 1] if k else ""
            if not _content(before) or token_lemma(before) in asked:
                return None
            if asked_qualifiers[token_lemma(words[k])] & set(lemmas(" ".join(words[:start]))):
                return None  # "replacing a lost card costs": the asked kind is named first
            return f"{before} {words[k]}"
    return None


def _qualified(question: str, subject: Iterable[str]) -> dict[str, set[str]]:
    """The subject words the question qualifies with a content word, each with the
    lemmas of its qualifiers ("study room": ``{"room": {"study"}}``)."""
    words, wanted = tokens(question), set(subject)
    found: dict[str, set[str]] = {}
    for k, word in enumerate(words[1:], 1):
        if token_lemma(word) in wanted and _content(words[k - 1]):
            found.setdefault(token_lemma(word), set()).add(token_lemma(words[k - 1]))
    return found


def _content(word: str) -> bool:
    return bool(re.fullmatch(r"[a-z]+", word)) and word not in _FUNCTION_WORDS | STOPWORDS


_FUNCTION_WORDS = wordset(
    "a an the this that these those each every all any some one two three four five six "
    "seven eight nine ten its their our your his her of for to at in on by with from "
    "must may might can could should would shall not no been being also only always "
    "other another most many such"
)


def _end_of(words: list[str], phrase: list[str]) -> int | None:
    """The index after the first occurrence of `phrase` in `words`."""
    n = len(phrase)
    for i in range(len(words) - n + 1):
        if n and words[i : i + n] == phrase:
            return i + n
    return None


_RELATIVE = frozenset({"the", "a", "an", "that", "which", "when", "where", "whenever"})
_CLAUSE_END = frozenset({",", ";", ":", "(", ")", "and", "but", "because", "so", "or", "if"})


def circular_words(sentence: str, phrase: str, words: Iterable[str]) -> list[str]:
    """Those of `words` (lemmas said by the sentence) that it says only in the clause
    qualifying the answer `phrase` ("the next day [the branch is open]")."""
    found = tokens(sentence)
    end = _end_of(found, tokens(phrase))
    if end is None or end >= len(found) or found[end] not in _RELATIVE:
        return []
    stop = next((i for i in range(end, len(found)) if found[i] in _CLAUSE_END), len(found))
    inside = set(lemmas(" ".join(found[end:stop])))
    outside = set(lemmas(" ".join(found[:end] + found[stop:])))
    return [w for w in words if w in inside and w not in outside]
