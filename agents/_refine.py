"""Which sentences of a request only refine the sentence before them.

"Which shop has the most employees? Give me the shop name." is one question: the second
sentence names the output of the first and has no subject of its own. "What is 2+2? List
the orders over 100 dollars." is two: the second sentence brings a subject (orders) and a
condition of its own. A refinement opens with an imperative that names output columns, an
order, a limit or a format ("List …", "Give me …", "Show …", "Only list …", "Sort by …",
"Return …"), or with a restatement ("That is to say, …"), and every content word it adds
is a word of the sentence it refines or a generic output word (name, id, count, date …).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["group_refinements", "refines"]

_OPENER = re.compile(
    r"^(?:(?:please|only|also|and|then|just)\s+)*"
    r"(?:list|give(?:\s+me|\s+us)?|show(?:\s+me|\s+us)?|return|display|find|provide|output"
    r"|print|tell\s+me|include|report|name|sort|order|rank)\b",
    re.IGNORECASE,
)
_ORDERING = re.compile(
    r"^(?:(?:please|only|also|and|then|just)\s+)*(?:sort|order|rank)(?:ed)?"
    r"\s+(?:(?:ascending|descending|alphabetically)\s+)?by\b",
    re.IGNORECASE,
)
_RESTATEMENT = re.compile(r"^(?:that\s+is(?:\s+to\s+say)?|i\.?e\.?|in\s+other\s+words)\b", re.I)
_LIMIT = re.compile(r"\b(?:top|first|last|only)\s+\d+\b", re.I)
_FORMAT = re.compile(
    r"\b(?:to|rounded\s+to)\s+\d+\s+(?:decimal\s+places?|decimals|digits|significant\s+(?:figures|digits))\b",
    re.I,
)
_CONDITION = re.compile(
    r"\d|[\"“”]|\b(?:over|above|under|below|more|less|greater|fewer|least|most|before|after"
    r"|between|exceeding|where|whose|who|with|without|not|except|than)\b",
    re.IGNORECASE,
)
_OUTPUT_TEXT = (
    "name id identifier number count total sum title date time detail description summary "
    "type code value amount result answer first middle last full given family ascending "
    "descending asc desc alphabetical alphabetically decreasing increasing fraction decimal "
    "percentage percent list table format"
)
_OUTPUT_WORDS = frozenset(_OUTPUT_TEXT.split())
_STOP_TEXT = (
    "a an the of in on for to and or is are was were be by as it its it's they them their "
    "his her he she this that these those each all both also well only instead me us please "
    "just then which what has have had do does there too same"
)
_STOP_WORDS = frozenset(_STOP_TEXT.split())


def _stem(word: str) -> str:
    word = word.lower().removesuffix("'s").removesuffix("’s").rstrip("'’")
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def _content(text: str) -> list[str]:
    words = re.findall(r"[A-Za-z][A-Za-z'’]*", text)
    return [s for s in map(_stem, words) if s not in _STOP_WORDS]


def _body(sentence: str) -> str | None:
    """The sentence after its refining opener, or None when it does not open with one."""
    match = _OPENER.match(sentence.strip())
    return sentence.strip()[match.end() :] if match else None


def refines(previous: str, sentence: str) -> bool:
    """Whether `sentence` only refines `previous`: a restatement, or a refining imperative
    with no condition and no subject of its own."""
    if _RESTATEMENT.match(sentence.strip()):
        return True
    body = _body(sentence)
    if body is None:
        return False
    body = _FORMAT.sub(" ", _LIMIT.sub(" ", body))
    if _CONDITION.search(body):
        return False
    if _ORDERING.match(sentence.strip()):
        return True
    words = _content(body)
    known = set(_content(previous))
    shared = [w for w in words if w in known]
    generic = [w for w in words if w in _OUTPUT_WORDS]
    new = [w for w in words if w not in known and w not in _OUTPUT_WORDS]
    if not words:
        return True  # "List them.", "Show it."
    if not generic and not new:
        return False  # "List the orders." asks for the subject itself: a request of its own
    return not new or bool(shared)


def group_refinements(sentences: Sequence[str]) -> list[str]:
    """Join each sentence that only refines the one before it (or the group the one
    before it is part of) onto it, so the specialist sees the whole question."""
    groups: list[str] = []
    for sentence in sentences:
        if groups and refines(groups[-1], sentence):
            groups[-1] = f"{groups[-1]} {sentence}"
        else:
            groups.append(sentence)
    return groups
