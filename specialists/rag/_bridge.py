"""Bridging a question word that no document uses to a word of the cited passage.

A patron asks about "coffee" and the rules say "covered drinks"; the documents never use
the patron's word, so no word-for-word check can find its answer. A `Bridge` accepts
such a word as covered by a word or two-word phrase of the sentence or of its headings
when the offline MiniLM embedding puts them at least `BRIDGE_MIN` apart in cosine
similarity. Only words absent from every document are bridged: a word the documents
use elsewhere ("Sunday", "study room") names something they distinguish, and a sentence
that does not say it is about something else. Names (capitalised words) and numbers
are never bridged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trifecta.specialists._terms import STOPWORDS
from trifecta.specialists.rag._evidence import MONTH, WEEKDAY
from trifecta.specialists.rag._text import Vocabulary, lemmas

__all__ = ["BRIDGE_MIN", "Bridge", "Link", "WordVectors"]

BRIDGE_MIN = 0.6
"""Least cosine similarity of a bridged pair. On the tuning splits the right links
scored 0.66 to 0.89 and the closest wrong one, once the rules below applied, 0.50."""


@dataclass(frozen=True)
class Link:
    """A question word accepted as said by a phrase of the passage, and how alike."""

    word: str
    phrase: str
    similarity: float

    def __str__(self) -> str:
        return f"{self.word} (≈ {self.phrase!r} {self.similarity:.2f})"


@dataclass
class WordVectors:
    """Unit embeddings of short texts, each computed once while it stays among the
    `limit` most recently embedded (a long-running server asks about ever new words;
    the oldest are dropped, about 1.5 KiB each)."""

    embed: Callable[[list[str]], Any]
    cache: dict[str, np.ndarray] = field(default_factory=dict)
    limit: int = 50_000

    def __call__(self, texts: Sequence[str]) -> list[np.ndarray]:
        known = {t: self.cache[t] for t in dict.fromkeys(texts) if t in self.cache}
        fresh = [t for t in dict.fromkeys(texts) if t not in known]
        if fresh:
            for text, vector in zip(fresh, self.embed(fresh), strict=True):
                array = np.asarray(vector, dtype=np.float32)
                known[text] = self.cache[text] = array / max(float(np.linalg.norm(array)), 1e-12)
            while len(self.cache) > self.limit:
                del self.cache[next(iter(self.cache))]
        return [known[t] for t in texts]


@dataclass(frozen=True)
class Bridge:
    """Links from question words no document uses to a passage's words."""

    vectors: WordVectors
    vocabulary: Vocabulary

    def link(self, word: str, question: str, sentence: str, headings: Sequence[str]) -> Link | None:
        """The phrase of the sentence or its headings most like the question's `word` (a
        lemma), if the word may be bridged and the phrase is alike enough."""
        surface = _surface(question, word)
        if surface is None or word in self.vocabulary.by_lemma:
            return None
        asked = set(lemmas(question))
        phrases = _phrases(sentence, asked, coordinated=True)
        phrases += [p for h in headings for p in _phrases(h, asked, coordinated=False)]
        if not phrases:
            return None
        target, *found = self.vectors([surface, *phrases])
        scores = [float(np.dot(target, v)) for v in found]
        best = int(np.argmax(scores))
        if scores[best] < BRIDGE_MIN:
            return None
        return Link(surface, phrases[best], scores[best])


_TIME = re.compile(f"{WEEKDAY}|{MONTH}")


def _surface(question: str, word: str) -> str | None:
    """The question's own spelling of the lemma `word`, or None when it is not to be
    bridged: a name (capitalised inside the question), a number, a day or a month
    (details the answer must state as asked)."""
    for i, match in enumerate(re.finditer(r"[A-Za-z][\w'-]*|\d\S*", question)):
        token = match.group(0)
        if lemmas(token) == [word]:
            if any(c.isdigit() for c in token) or (i and token[0].isupper()):
                return None
            return None if _TIME.fullmatch(token.lower()) else token.lower()
    return None


_TOKEN = re.compile(r"[A-Za-z][\w'-]*|\d\S*|[,;:()&/]")
_BREAKS = frozenset({",", ";", ":", "(", ")", "&", "/", "and", "or", "but", "nor"})
_GENERIC = frozenset({"other", "all", "any", "every", "each", "most", "many", "some", "such"})


def _phrases(text: str, asked: set[str], coordinated: bool) -> list[str]:
    """The words and two-word runs of `text` a question word may be bridged to: lower
    case (not a name), not qualified by a word the question does not use ("service
    animals" is not "animals": the sentence speaks of some of them only; a run's first
    word qualifies its second, so it must be asked: "camera recordings"), and, when not
    `coordinated`, not joined with another by "and"/"or" (a heading "Food, drink and
    noise" says its sentences are about one of the three, not which)."""
    tokens = _TOKEN.findall(text)
    joined = (
        set()
        if coordinated
        else {i + d for i, t in enumerate(tokens) if t.lower() in _BREAKS for d in (-1, 1)}
    )
    usable = [_usable(t, i) and i not in joined for i, t in enumerate(tokens)]
    out = []
    for i, token in enumerate(tokens):
        before = tokens[i - 1].lower() if i else ""
        if _qualifier(before) and not set(lemmas(before)) <= asked:
            continue
        if usable[i]:
            out.append(token.lower())
            if i + 1 < len(tokens) and usable[i + 1] and set(lemmas(token)) <= asked:
                out.append(f"{token.lower()} {tokens[i + 1].lower()}")
    return list(dict.fromkeys(out))


def _usable(token: str, i: int) -> bool:
    """A lower-case content word (or the capitalised first word of the text)."""
    low = token.lower()
    return (
        low.isalpha() is not False
        and re.fullmatch(r"[a-z][a-z'-]+", low) is not None
        and low not in STOPWORDS
        and low not in _BREAKS
        and len(low) > 2
        and (i == 0 or token[0].islower())
    )


def _qualifier(word: str) -> bool:
    """A content word that narrows the noun after it (not "other", "all", ...)."""
    return bool(re.fullmatch(r"[a-z][a-z'-]+", word)) and word not in STOPWORDS | _GENERIC | _BREAKS
