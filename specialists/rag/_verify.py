"""Verifying a cited answer or a refusal against the retrieved passages.

A cited answer is `verified` when every citation names a retrieved chunk, every quote is
verbatim in it and is not an instruction, the answer's sentences are supported by the
cited passages and its numbers appear in the quoted sentences, and at least one quoted
sentence passes the answer check (`check_answer`) and no other retrieved sentence that
answers differently ranks as well on the evidence (`rival`; then `unverifiable`: the
checks cannot tell which one answers). A refusal is never `verified` (absence cannot be
proven from words: the documents may answer in other words); it is `unverifiable` with
the reason, and `rejected` when a retrieved sentence does answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from trifecta.specialists._terms import terms
from trifecta.specialists.base import Candidate
from trifecta.specialists.rag._answers import (
    AnswerCheck,
    absent_words,
    check_answer,
    detail,
    instruction,
    topic,
)
from trifecta.specialists.rag._bridge import Bridge
from trifecta.specialists.rag._coverage import coverage
from trifecta.specialists.rag._questions import Question, parse_question
from trifecta.specialists.rag._store import Hit
from trifecta.specialists.rag._text import Passage, Vocabulary, lemmas, passage_sentences, sentences
from trifecta.verdict import CheckError, Verdict, check_error

__all__ = [
    "DECISIVE",
    "MIN_SUPPORT",
    "NOT_FOUND",
    "Answering",
    "answering",
    "rival",
    "verify_answer",
]

NOT_FOUND = "not found in the documents"
MIN_SUPPORT = 0.5  # share of an answer sentence's content words found in its cited passages
DECISIVE = 4  # leading fields of `Answering.rank` that are evidence of meaning (see `rival`)


@dataclass(frozen=True)
class Answering:
    """A retrieved sentence that answers the question, with its chunk and check."""

    passage: Passage
    hit: Hit
    check: AnswerCheck
    rank: tuple[int, int, int, int, int, int]


def answering(
    hits: Sequence[Hit], question: Question, vocabulary: Vocabulary, bridge: Bridge | None = None
) -> list[Answering]:
    """Every retrieved sentence that answers `question`, best first: one that defines
    what a "what is X" question asks ("X is …"), then the one naming most
    of the question's words in itself (then as the very words rather than related ones),
    (or the words that typed it, "limit"), then the one repeating most of the question's
    own words, function words included ("must volunteers be" meets "volunteers must
    be"), then the one whose answer sits
    closest to them,
    then the better-retrieved chunk, then the earlier sentence."""
    generic, unknown = topic(vocabulary), _unknown_names(question, vocabulary)
    found = []
    for position, hit in enumerate(hits):
        for index, passage in enumerate(passage_sentences(hit.text, hit.title)):
            check = _checked(question, passage, (generic, unknown), bridge)
            if check.ok:
                own = set(lemmas(passage.text))
                named = sum(" (" not in c for c in check.covered) + len(own & set(question.hints))
                exact = sum(" (" not in c and "~" not in c for c in check.covered)
                defines = int(question.defines(passage.text))
                echo = len(_words(question.text) & _words(passage.text))
                rank = (defines, named, exact, echo, -check.spread, -position * 1000 - index)
                found.append(Answering(passage, hit, check, rank))
    return sorted(found, key=lambda a: a.rank, reverse=True)


def _checked(
    question: Question,
    passage: Passage,
    corpus: tuple[frozenset[str], frozenset[str]],
    bridge: Bridge | None,
) -> AnswerCheck:
    """`check_answer` with the corpus's `topic` words as generic (first of `corpus`), and
    no name that no document uses (second) entailed by "all <noun>": "all branches" says
    nothing of a "Westside branch" that no document names."""
    generic, unknown = corpus
    check = check_answer(question, passage, generic, bridge)
    entailed = [c for c in check.covered if " (all " in c and c.split(" (")[0] in unknown]
    if check.ok and entailed:
        reason = f"{entailed[0]}: no document names it, so 'all' says nothing of it"
        return replace(check, ok=False, reason=reason)
    return check


def _unknown_names(question: Question, vocabulary: Vocabulary) -> frozenset[str]:
    """The question's capitalised subject words (after its first word) that no document uses."""
    names = {w for t in re.findall(r"(?<=\s)[A-Z][\w'-]*", question.text) for w in lemmas(t)}
    return frozenset(absent_words(question, vocabulary)) & names


def rival(found: Sequence[Answering], chosen: Answering) -> Answering | None:
    """A retrieved sentence that answers differently from `chosen` (another value, or
    another statement) and that the evidence does not rank below it: the first
    `DECISIVE` fields of the rank (defining the asked term, naming the subject's words,
    the very words, the question's wording), not the answer's distance from the
    subject or the retrieval order, which decide nothing about meaning."""
    for other in found:
        same = other.passage.text == chosen.passage.text or (
            other.check.shape == chosen.check.shape and chosen.check.shape != "a statement"
        )
        if not same and other.rank[:DECISIVE] >= chosen.rank[:DECISIVE]:
            return other
    return None


def verify_answer(
    hits: Sequence[Hit],
    question_text: str,
    candidate: Candidate,
    vocabulary: Vocabulary,
    bridge: Bridge | None = None,
) -> Verdict:
    """The verdict on `candidate` (a cited answer or the refusal) for the question; a
    `bridge` may cover question words that no document uses (see `Bridge`)."""
    question = parse_question(question_text)
    retrieved = {h.id: h for h in hits}
    citations = candidate.payload.get("citations") or []
    if not citations:
        return _verify_refusal(candidate, question, hits, vocabulary, bridge)
    errors = _citation_errors(citations, retrieved) or _support_errors(
        candidate.answer, citations, retrieved
    )
    if errors:
        return Verdict("rejected", "citations", errors=tuple(errors))
    quoted = [
        (retrieved[c["chunk"]], _quoted(retrieved[c["chunk"]], c["quote"])) for c in citations
    ]
    errors = _number_errors(candidate.answer, [p.text for _, ps in quoted for p in ps])
    corpus = (topic(vocabulary), _unknown_names(question, vocabulary))
    checks = [(h, _checked(question, p, corpus, bridge)) for h, ps in quoted for p in ps]
    passed = [(h, c) for h, c in checks if c.ok]
    if errors or not passed:
        errors = errors or [_answer_error(question, [c for _, c in checks])]
        return Verdict("rejected", "answer check", errors=tuple(errors))
    cited = {p.text for _, ps in quoted for p in ps}
    found = answering(hits, question, vocabulary, bridge)
    chosen = [a for a in found if a.passage.text in cited][:1]
    if chosen and (other := rival(found, chosen[0])):
        message = f"{other.hit.id} answers differently and as well: {other.passage.text[:200]!r}"
        return Verdict("unverifiable", "answer check", errors=(check_error("rival", message),))
    used = [h for h, _ in quoted]
    evidence = tuple(f"{h.label} ({h.id}): quote found verbatim" for h in used)
    evidence += tuple(f"{h.label}: {c.evidence(question)}" for h, c in passed[:1])
    data = {"citations": citations, "sources": sorted({h.source for h in used})}
    method = f"verbatim quote + answer check ({question.kind})"
    return Verdict("verified", method, evidence, data=data)


def _answer_error(question: Question, checks: list[AnswerCheck]) -> CheckError:
    reasons = "; ".join(dict.fromkeys(c.reason for c in checks)) or "no quoted sentence"
    return check_error(
        "answer", f"the quoted sentence does not answer this {question.label} question: {reasons}"
    )


def _verify_refusal(
    candidate: Candidate,
    question: Question,
    hits: Sequence[Hit],
    vocabulary: Vocabulary,
    bridge: Bridge | None,
) -> Verdict:
    if NOT_FOUND not in candidate.answer.lower():
        return Verdict(
            "rejected",
            "citations",
            errors=(check_error("citation", "the answer cites no passage"),),
        )
    found = answering(hits, question, vocabulary, bridge)
    if found and (other := rival(found, found[0])):
        message = f"retrieved sentences answer differently: {found[0].passage.text[:120]!r}, {other.passage.text[:120]!r}"
        return Verdict("unverifiable", "refusal", errors=(check_error("rival", message),))
    if found:
        best = found[0]
        message = f"{best.hit.id} answers the question: {best.passage.text[:200]!r}"
        return Verdict("rejected", "refusal", errors=(check_error("refusal", message),))
    return Verdict(
        "unverifiable",
        "refusal",
        errors=(check_error("refusal", _unproven(question, hits, vocabulary)),),
    )


def _unproven(question: Question, hits: Sequence[Hit], vocabulary: Vocabulary) -> str:
    """Why a refusal stays unverifiable. Absence is never proven from words: a question
    that names its subject in words no document uses ("snowstorm", "coffee") may still be
    answered by a sentence in other words ("bad weather", "covered drinks")."""
    if question.kind == "calculation":
        return "the question asks for a calculation, which no passage can prove"
    absent = absent_words(question, vocabulary)
    rest = replace(question, subject=tuple(w for w in question.subject if w not in absent))
    if absent and not _mentioned(hits, rest, vocabulary):
        words = ", ".join(map(repr, _surface(question.text, absent)))
        return f"no document contains {words}, but the documents may say it in other words"
    return f"passages on the subject were retrieved, but none answers a {question.label} question"


def _mentioned(hits: Sequence[Hit], rest: Question, vocabulary: Vocabulary) -> bool:
    """Whether a retrieved sentence covers all of `rest`'s subject words, whatever it
    says: then the question's absent words may be the documents' subject in other words
    ("video games" for "gaming consoles"), and a refusal proves nothing."""
    things = replace(rest, subject=tuple(w for w in rest.subject if not detail(w)))
    if not things.subject:
        return False
    generic = topic(vocabulary)
    return any(
        not coverage(things, p.text, p.headings, generic)[1]
        for hit in hits
        for p in passage_sentences(hit.text, hit.title)
    )


def _words(text: str) -> set[str]:
    """Lemmas of a text's words, function words included, articles and prepositions not."""
    found = re.findall(r"[a-z0-9]+", text.lower())
    return {(lemmas(w) or [w])[0] for w in found if w not in _LINKS}


_LINKS = frozenset(
    ["a", "an", "the", "of", "for", "in", "on", "at", "to", "from", "with", "by", "and", "or"]
)


def _surface(text: str, words: Sequence[str]) -> list[str]:
    """The question's own spelling of some of its subject words."""
    spelled = {lemmas(w)[0]: w for w in re.findall(r"[\w'-]+", text) if lemmas(w)}
    return [spelled.get(w, w) for w in words]


def _quoted(hit: Hit, quote: str) -> list[Passage]:
    """The sentences of `hit` that a verbatim quote falls in (or spans)."""
    wanted = _flat(quote)
    passages = passage_sentences(hit.text, hit.title)
    inside = [p for p in passages if wanted in _flat(p.text)]
    return inside or [p for p in passages if _flat(p.text) in wanted]


def _flat(text: str) -> str:
    return " ".join(str(text).split())


def _citation_errors(citations: list[Any], retrieved: dict[str, Hit]) -> list[CheckError]:
    errors = []
    for cite in citations:
        chunk_id = str(cite.get("chunk", "")) if isinstance(cite, dict) else ""
        quote = _flat(cite.get("quote", "")) if isinstance(cite, dict) else ""
        hit = retrieved.get(chunk_id)
        if hit is None:
            errors.append(
                check_error(
                    "citation",
                    f"{chunk_id!r} is not one of the retrieved passages: {', '.join(retrieved)}",
                )
            )
        elif not quote or quote not in _flat(hit.text):
            errors.append(
                check_error("quote", f"quote not found verbatim in {chunk_id}: {quote[:120]!r}")
            )
        elif any(instruction(s) for s in [quote, *_spanned(hit, quote)]):
            message = f"{chunk_id}: the quote is an instruction embedded in the document; passages are data, not answers"
            errors.append(check_error("injection", message))
    return errors


def _spanned(hit: Hit, quote: str) -> list[str]:
    return [s for s in sentences(hit.text) if quote in _flat(s) or _flat(s) in quote]


def _support_errors(
    answer: str, citations: list[Any], retrieved: dict[str, Hit]
) -> list[CheckError]:
    cited: set[str] = set()
    for cite in citations:
        cited |= set(terms(retrieved[cite["chunk"]].text))
    errors = []
    for sentence in sentences(_uncited(answer)):
        words = set(terms(sentence))
        if words and len(words & cited) / len(words) < MIN_SUPPORT:
            errors.append(
                check_error("support", f"not supported by the cited passages: {sentence[:120]!r}")
            )
    return errors


def _uncited(answer: str) -> str:
    return re.sub(r"\s*\[[^\]]+\]", "", answer)


_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")


def _number_errors(answer: str, quoted: list[str]) -> list[CheckError]:
    """Every number of the answer must appear in a quoted sentence."""
    present = set(_NUMBER.findall(" ".join(quoted)))
    stray = [n for n in dict.fromkeys(_NUMBER.findall(_uncited(answer))) if n not in present]
    if not stray:
        return []
    return [check_error("number", f"{', '.join(stray)} appear(s) in no quoted sentence")]
