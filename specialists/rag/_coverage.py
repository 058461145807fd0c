"""Subject coverage: which of a question's subject words a sentence covers, and how.

A word is covered when the sentence contains it (hyphenated words as one, "checked out"
as "borrowed"), a word that settles it (``closed`` settles ``open``), "all/any <noun>"
for a named one ("all branches" covers the Riverside branch), or a heading the sentence
sits under, unless the sentence qualifies the heading's noun otherwise or the heading
coordinates the word with another ("Lost and damaged items" entails neither).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from trifecta.specialists._terms import STOPWORDS
from trifecta.specialists.rag._bridge import Bridge
from trifecta.specialists.rag._evidence import token_lemma as _lemma
from trifecta.specialists.rag._evidence import tokens as _tokens
from trifecta.specialists.rag._questions import Question
from trifecta.specialists.rag._text import lemmas, plain_words

__all__ = ["coverage"]


_RELATED: tuple[frozenset[str], ...] = tuple(
    frozenset(lemmas(group))
    for group in (
        "open opened closed close closes",
        "allow allowed permit permitted welcome forbidden prohibited banned",
        "accept accepted refuse refused decline declined reject",
        "include included exclude excluded",
        "pay paid free charge charged",
        "fit hold holds accommodate seat seats",
        "start starts begin begins",
        "kid kids child children",
        "keep kept loan loaned borrow borrowed",
        "available offer offered offers provide provided",
    )
)


def coverage(
    question: Question,
    sentence: str,
    headings: Iterable[str],
    generic: frozenset[str],
    bridge: Bridge | None = None,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The subject words of `question` that `sentence` covers (as in `AnswerCheck`) and
    those it misses; `generic` words (the corpus's topic) are never missing; a `bridge`
    links words no document uses to the sentence's or its headings' words."""
    headings = tuple(headings)
    own = lemmas(plain_words(sentence))
    around = set(lemmas(" ".join(_uncoordinated(plain_words(h)) for h in headings)))
    covered, missing = [], []
    subject = question.subject
    for i, word in enumerate(subject):
        related = next((g for g in _RELATED if word in g), frozenset({word}))
        following = subject[i + 1] if i + 1 < len(subject) else None
        if word in own:
            covered.append(word)
        elif set(own) & related:
            covered.append(f"{word}~{sorted(set(own) & related)[0]}")
        elif noun := _universal_name(question, sentence, i):
            covered.append(f"{word} (all {noun})")
        elif around & related and not (following and _rival(sentence, word, following)):
            covered.append(f"{word} (heading)")
        elif word in generic:
            continue
        elif bridge and (link := bridge.link(word, question.text, sentence, headings)):
            covered.append(str(link))
        else:
            missing.append(word)
    if question.head is not None and question.head not in own:
        missing.append(question.head)
    return tuple(covered), tuple(missing)


def _uncoordinated(heading: str) -> str:
    """A heading without the words it coordinates: "Meeting and study rooms" is about
    meeting rooms and study rooms, so a sentence under it may be about either, and
    neither "meeting" nor "study" is entailed ("rooms" is)."""
    words = _tokens(heading)
    joined = {i + d for i, w in enumerate(words) if w in _COORDINATORS for d in (-1, 1)}
    return " ".join(w for i, w in enumerate(words) if i not in joined and w not in _COORDINATORS)


_COORDINATORS = frozenset({"and", "or", ",", "&"})


_QUANTIFIED = re.compile(
    r"\b(?:all|every|each|any)\s+(?:of\s+(?:the|our)\s+)?"
    r"(?:(?:\d+|two|three|four|five|six|seven|eight|nine|ten)\s+)?(\w+)",
    re.I,
)


def _universal_name(question: Question, sentence: str, i: int) -> str | None:
    """The noun `n` of "all/any <n>" in the sentence when subject word `i` is followed
    by `n` ("Riverside branch" under "all branches"), or begins a capitalised name
    that ends in `n` and runs unbroken in the question ("Oak Hill branch")."""
    subject = question.subject
    if subject[i] in _AGGREGATES:
        return None  # "each ride" says what one ride has, not the average ride
    names = {w for t in re.findall(r"\b[A-Z][\w'-]*", question.text) for w in lemmas(t)}
    asked = lemmas(plain_words(question.text))
    for offset, noun in enumerate(subject[i + 1 : i + 3], 1):
        run = subject[i : i + offset + 1]
        if offset > 1 and not (set(run[:-1]) <= names and _runs(run, asked)):
            continue
        if _universal(sentence, noun):
            return noun
    return None


_AGGREGATES = frozenset(
    lemmas(
        "average mean median total sum typical overall combined maximum minimum highest "
        "lowest most least longest shortest biggest largest smallest cheapest oldest newest"
    )
)


def _runs(run: tuple[str, ...], words: list[str]) -> bool:
    """Whether `run` occurs as consecutive words of `words`."""
    return any(run == tuple(words[k : k + len(run)]) for k in range(len(words)))


def _universal(sentence: str, noun: str) -> bool:
    """Whether the sentence says "all/every/any (of the three) <noun>", which covers a
    named one ("all branches" covers the Riverside branch)."""
    return any(lemmas(m.group(1)) == [noun] for m in _QUANTIFIED.finditer(sentence))


def _rival(sentence: str, word: str, following: str) -> bool:
    """Whether the sentence qualifies `following` with another word than `word` (a
    heading's "study rooms" does not cover a sentence about the "Community Room")."""
    tokens = _tokens(sentence)
    for i, token in enumerate(tokens[1:], 1):
        before = tokens[i - 1]
        if _lemma(token) == following and before not in STOPWORDS and _lemma(before) != word:
            return _lemma(before) not in _GENERIC_QUALIFIERS
    return False


_GENERIC_QUALIFIERS = frozenset(lemmas("most many some all every each any other these those such"))
