"""The RAG specialist: answers only from retrieved passages, with citations whose quotes
are checked verbatim and whose quoted sentence answers the question, or a refusal.

Its parts are public too. The answer check: ``check_answer(parse_question(q),
Passage(sentence, headings))`` says whether one sentence answers one question and why
(an `AnswerCheck`), where a `Bridge` (`WordVectors` and the store's `Vocabulary`) may
cover words no document uses; `passage_sentences` splits a chunk into such passages, headings kept as
context. `INJECTION` matches text that reads as an instruction. The store: a
`DocumentStore` keeps its chunks in Chroma and in a `LexicalIndex` (``store.lexical``: a
SQLite sidecar ranked with BM25); a file over `MAX_FILE_BYTES` is skipped."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from trifecta.config import default_data_dir
from trifecta.models import ChatModel, ModelOutputError, OutputSchema
from trifecta.specialists._terms import terms
from trifecta.specialists.base import (
    Candidate,
    FunctionSolver,
    Job,
    ModelSolver,
    Solver,
    Specialist,
)
from trifecta.specialists.rag._answers import INSTRUCTION, AnswerCheck, check_answer
from trifecta.specialists.rag._bridge import Bridge, WordVectors
from trifecta.specialists.rag._documents import (
    MAX_FILE_BYTES,
    Chunk,
    DocumentError,
    chunk_text,
    read_document,
)
from trifecta.specialists.rag._embeddings import (
    EmbeddingsUnavailable,
    OfflineMiniLM,
    offline_embeddings,
    openai_embeddings,
)
from trifecta.specialists.rag._lexical import LexicalIndex
from trifecta.specialists.rag._questions import Question, parse_question
from trifecta.specialists.rag._store import DocumentStore, Hit, IngestReport, list_collections
from trifecta.specialists.rag._text import Passage, Vocabulary, passage_sentences
from trifecta.specialists.rag._verify import NOT_FOUND, answering, rival, verify_answer
from trifecta.verdict import Verdict

__all__ = [
    "INJECTION",
    "MAX_FILE_BYTES",
    "NOT_FOUND",
    "RAG_SCHEMA",
    "AnswerCheck",
    "Bridge",
    "Chunk",
    "DocumentError",
    "DocumentStore",
    "EmbeddingsUnavailable",
    "Hit",
    "IngestReport",
    "LexicalIndex",
    "Passage",
    "Question",
    "Vocabulary",
    "WordVectors",
    "check_answer",
    "chunk_text",
    "list_collections",
    "offline_embeddings",
    "openai_embeddings",
    "parse_question",
    "passage_sentences",
    "rag_specialist",
    "read_document",
    "store_for_folder",
]

_log = logging.getLogger("trifecta.rag")
MIN_COVERAGE = 0.5  # share of the question's content words a passage must hold (routing)
INJECTION = INSTRUCTION  # text that reads as an instruction; never quoted as an answer
RAG_SCHEMA = OutputSchema(
    "cited_answer",
    {
        "type": "object",
        "properties": {
            "answer": {"type": "string"},
            "citations": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"chunk": {"type": "string"}, "quote": {"type": "string"}},
                    "required": ["chunk", "quote"],
                },
            },
        },
        "required": ["answer", "citations"],
    },
)


def store_for_folder(folder: str | Path, root: Path | None = None, **kwargs: Any) -> DocumentStore:
    """A store for one folder of documents under `root` (default: the data dir's
    ``stores/``), brought up to date with the folder (unchanged files cost nothing).
    Skipped files, and symlinks leading outside the folder, are logged as warnings on the
    ``trifecta.rag`` logger."""
    folder = Path(folder).resolve()
    root = root or default_data_dir() / "stores"
    key = hashlib.sha256(str(folder).encode()).hexdigest()[:12]
    store = DocumentStore(root / f"{folder.name}-{key}", "documents", **kwargs)
    for line in store.ingest([folder]).skipped:
        _log.warning("skipped %s", line)
    return store


def rag_specialist(
    docs: str | Path | DocumentStore,
    models: Sequence[ChatModel] = (),
    *,
    k: int = 5,
    store_root: Path | None = None,
) -> Specialist:
    """The RAG specialist over a `DocumentStore` (or a folder, ingested into one).

    Args:
        docs: a store, or a folder/file of documents.
        models: model tiers after extractive answering, cheapest first.
        k: passages retrieved per question.
        store_root: where a folder's store lives (default: the data dir).
    """
    store = docs if isinstance(docs, DocumentStore) else store_for_folder(docs, store_root)
    bridge = _bridges(store)
    prompt = (resources.files(__name__) / "prompt.md").read_text("utf-8")
    tiers: list[Solver] = [FunctionSolver(_extractive(store, k, bridge), name="extractive")]
    tiers += [
        ModelSolver(m, prompt, RAG_SCHEMA, _candidate, context=_passages(store, k)) for m in models
    ]

    def verify(job: Job, candidate: Candidate) -> Verdict:
        hits = store.search(job.instruction, k)
        return verify_answer(hits, job.instruction, candidate, store.vocabulary(), bridge())

    def affinity(clause: str) -> float:
        return _coverage(clause, store.search(clause, k))

    return Specialist(
        name="rag",
        description=f"Questions answered from the documents ({store.count()} passages), with citations.",
        tiers=tiers,
        verify=verify,
        affinity=affinity,
    )


def _coverage(question: str, hits: Sequence[Hit]) -> float:
    """The routing score: the largest share of the question's content words one retrieved
    passage holds, scaled to 0.95 (0 below `MIN_COVERAGE`), comparable with the SQL
    specialist's share of words its schema explains."""
    wanted = set(terms(question))
    if not wanted:
        return 0.0
    best = max((len(wanted & set(terms(h.text))) / len(wanted) for h in hits), default=0.0)
    return 0.95 * best if best >= MIN_COVERAGE else 0.0


def _bridges(store: DocumentStore) -> Callable[[], Bridge | None]:
    """The store's current `Bridge`, when it embeds with the offline MiniLM (the model
    `BRIDGE_MIN` was chosen for); None with any other embedding function."""
    vectors = WordVectors(store.embeddings) if isinstance(store.embeddings, OfflineMiniLM) else None

    def current() -> Bridge | None:
        return Bridge(vectors, store.vocabulary()) if vectors else None

    return current


def _extractive(store: DocumentStore, k: int, bridge: Callable[[], Bridge | None]) -> Any:
    """Tier 0: quote the retrieved sentence that best answers the question, or refuse."""

    def solve(job: Job) -> Candidate:
        hits = store.search(job.instruction, k)
        found = answering(hits, parse_question(job.instruction), store.vocabulary(), bridge())
        if not found or rival(found, found[0]):
            return Candidate(NOT_FOUND, {"citations": []})
        sentence, hit = found[0].passage.text, found[0].hit
        return Candidate(
            f"{sentence} [{hit.label}]", {"citations": [{"chunk": hit.id, "quote": sentence}]}
        )

    return solve


def _passages(store: DocumentStore, k: int) -> Any:
    def context(job: Job) -> str:
        hits = store.search(job.instruction, k)
        return "Passages:\n" + "\n\n".join(f"[{h.id}] ({h.label})\n{h.text}" for h in hits)

    return context


def _candidate(data: Any) -> Candidate:
    if not isinstance(data, dict) or not isinstance(data.get("citations"), list):
        raise ModelOutputError("expected an object with 'answer' and a list of 'citations'")
    return Candidate(str(data.get("answer", "")), {"citations": data["citations"]})
