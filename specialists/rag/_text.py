"""Text helpers shared by retrieval and verification: terms, sentences, and what the
corpus says about its words."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from trifecta.specialists._terms import terms

__all__ = [
    "Passage",
    "Vocabulary",
    "lemma",
    "lemmas",
    "passage_sentences",
    "plain_words",
    "sentences",
    "wordset",
]

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


_IRREGULAR = {
    "paid": "pay",
    "used": "use",
    "using": "use",
    "bought": "buy",
    "sent": "send",
    "spent": "spend",
    "kept": "keep",
    "held": "hold",
    "taken": "take",
    "took": "take",
    "given": "give",
    "gave": "give",
    "made": "make",
    "brought": "bring",
    "children": "child",
    "people": "person",
    "men": "man",
    "women": "woman",
    "feet": "foot",
    "ca": "can",  # "can't" tokenizes as "can", "t"; "cannot" below
    "cannot": "can",
}


def wordset(text: str) -> frozenset[str]:
    """The space-separated words of `text`, as a set (for word lists written as one string)."""
    return frozenset(text.split())


def lemma(term: str) -> str:
    """A term (as `terms` writes it) reduced further so that inflections meet:
    ``paid`` and ``pay``, ``closed`` and ``close``, ``payments`` and ``pay``."""
    word = _IRREGULAR.get(term, term)
    if word.endswith("ment") and len(word) >= 7:
        word = word[:-4]
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiou":
        word = word[:-1]
    if len(word) > 3 and word.endswith("i"):  # "replies", "libraries" (stemmed "-es")
        word = word[:-1] + "y"
    if len(word) >= 3 and word.endswith("s") and not re.search(r"[aeiouy]", word[:-1]):
        word = word[:-1]  # "cds", "pcs": plurals of abbreviations
    return _IRREGULAR.get(word, word)


_COMPOUND = re.compile(r"(?<![\w-])[A-Za-z]+(?:-[A-Za-z]+)+(?![\w-])")
_PHRASAL = (
    (re.compile(r"\bcheck(ed|s|ing)? out\b", re.I), r"borrow\1"),
    (re.compile(r"\bcheck(ed|s|ing)? in\b", re.I), r"return\1"),
    (
        re.compile(r"\b(?:bring|brought|take|took|give|gave)((?: \w+){0,3}?) back\b", re.I),
        r"return\1",
    ),
    (re.compile(r"\b(?:daily|per day)\b", re.I), "each day"),
    (re.compile(r"\b(?:weekly|per week)\b", re.I), "each week"),
    (re.compile(r"\b(?:monthly|per month)\b", re.I), "each month"),
    (re.compile(r"\b(?:yearly|annually|annual|per year)\b", re.I), "each year"),
)


def plain_words(text: str) -> str:
    """`text` with each hyphenated word written as one ("e-books": ``ebooks``, so it is
    never read as "books"), phrasal verbs as their one-word sense ("checked out":
    ``borrowed``, "checked in": ``returned``, "bring it back": ``return it``) and rates one way ("daily", "per day": ``each day``); for comparing a
    question's words with a sentence's."""
    text = _COMPOUND.sub(lambda m: m.group(0).replace("-", ""), text)
    for pattern, word in _PHRASAL:
        text = pattern.sub(word, text)
    return text


def lemmas(text: str) -> list[str]:
    """`terms` of a text, each reduced by `lemma`."""
    return [lemma(t) for t in terms(text)]


def sentences(text: str) -> list[str]:
    """Split a chunk into sentences: headings stand alone, wrapped lines are joined."""
    out: list[str] = []
    paragraph: list[str] = []
    for line in [*text.splitlines(), ""]:
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            paragraph.append(stripped)
            continue
        out += [s for s in _SENTENCE.split(" ".join(paragraph)) if s]
        paragraph = []
        if stripped:
            out.append(stripped.lstrip("# "))
    return out


@dataclass(frozen=True)
class Passage:
    """One body sentence of a chunk, with the headings it sits under (the document's
    title and the chunk's section), which may supply words the sentence leaves implicit."""

    text: str
    headings: tuple[str, ...] = ()


def passage_sentences(text: str, title: str = "") -> list[Passage]:
    """The body sentences of a chunk (never its headings), each with its headings."""
    out: list[Passage] = []
    headings: list[str] = [title] if title else []
    paragraph: list[str] = []
    for line in [*text.splitlines(), ""]:
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            paragraph.append(stripped)
            continue
        body = [s for s in _SENTENCE.split(" ".join(paragraph)) if s]
        out += [Passage(s, tuple(headings)) for s in body]
        paragraph = []
        if stripped:
            headings.append(stripped.lstrip("#").strip())
    return out


@dataclass(frozen=True)
class Vocabulary:
    """How many documents of a store contain each term (as `terms` writes it)."""

    documents: int = 0
    spread: Mapping[str, int] = field(default_factory=dict)

    def __contains__(self, term: object) -> bool:
        return term in self.spread

    @cached_property
    def by_lemma(self) -> dict[str, int]:
        """The spread of each `lemma` (the largest over the terms that reduce to it)."""
        spread: dict[str, int] = {}
        for term, count in self.spread.items():
            word = lemma(term)
            spread[word] = max(spread.get(word, 0), count)
        return spread
