"""The document store: chunks in Chroma (dense) plus a BM25 index over a SQLite sidecar
(lexical, `_lexical`), fused with reciprocal-rank fusion."""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

import chromadb

from trifecta.errors import RunError, UserError
from trifecta.specialists.rag._documents import (
    Chunk,
    DocumentError,
    chunk_text,
    read_document,
    walk,
)
from trifecta.specialists.rag._lexical import LexicalIndex
from trifecta.specialists.rag._text import Vocabulary
from trifecta.telemetry import AttributeValue, span

__all__ = ["DocumentStore", "Hit", "IngestReport", "Mode", "list_collections"]

Mode = Literal["hybrid", "dense", "lexical"]
RRF_K = 60
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,510}[A-Za-z0-9]")
BATCH = 64


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk; `score` is RRF (hybrid), cosine similarity (dense) or BM25."""

    id: str
    source: str
    title: str
    score: float
    text: str
    position: int = 0

    @property
    def label(self) -> str:
        """A readable citation: ``returns.md#1`` (file name, chunk number from 1)."""
        return f"{Path(self.source).name}#{self.position + 1}"


@dataclass
class IngestReport:
    """What an ingestion did."""

    added: int = 0
    removed: int = 0
    unchanged_files: list[str] = field(default_factory=list)
    updated_files: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


@dataclass
class _Plan:
    """What ingesting one document will change."""

    source: str
    chunks: list[tuple[Chunk, dict[str, Any]]]
    stale: list[str]
    fresh: list[tuple[Chunk, dict[str, Any]]]
    kept: list[tuple[Chunk, dict[str, Any]]]


def _matches(metadata: Mapping[str, Any], where: Mapping[str, Any]) -> bool:
    """Equality and ``$in`` filters (the subset applied to lexical hits too)."""
    for key, condition in where.items():
        value = metadata.get(key)
        if isinstance(condition, dict):
            if "$in" in condition and value not in condition["$in"]:
                return False
            if "$eq" in condition and value != condition["$eq"]:
                return False
        elif value != condition:
            return False
    return True


def _file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def list_collections(store: Path) -> list[str]:
    """The collections of a store made by `DocumentStore` (nothing is created).

    Raises:
        UserError: no store in that directory.
        RunError: the store cannot be read.
    """
    if not (store / "chroma").is_dir():
        raise UserError(f"no document store at {store} (make one with trifecta ingest)")
    try:
        client: Any = chromadb.PersistentClient(path=str(store / "chroma"))
        return sorted(c.name for c in client.list_collections())
    except (ValueError, RuntimeError) as exc:
        raise RunError(f"document store {store}: {exc}") from exc


class DocumentStore:
    """Chunks of ingested documents, searchable densely, lexically or both.

    Args:
        store: directory of the Chroma `PersistentClient` and the lexical sidecar.
        collection: the collection name.
        embedding_function: any Chroma embedding function (default: offline MiniLM).
        chroma_url: use a Chroma server (`HttpClient`) instead; `store` still holds
            the lexical sidecar.
    """

    def __init__(
        self,
        store: str | Path,
        collection: str = "documents",
        *,
        embedding_function: Any = None,
        chroma_url: str | None = None,
    ) -> None:
        from trifecta.specialists.rag._embeddings import offline_embeddings

        if not _NAME.fullmatch(collection):
            raise UserError(
                f"collection name {collection!r}: use 3-512 characters from letters, digits, '.', '_' "
                "and '-', starting and ending with a letter or digit"
            )
        self.path = Path(store)
        self.path.mkdir(parents=True, exist_ok=True)
        self.name = collection
        self.embeddings = embedding_function or offline_embeddings()
        self.client: Any  # chromadb's generics are stricter than this boundary needs
        self.collection: Any
        try:
            if chroma_url:
                parts = urlparse(chroma_url)
                self.client = chromadb.HttpClient(
                    host=parts.hostname or "127.0.0.1", port=parts.port or 8000
                )
            else:
                self.client = chromadb.PersistentClient(path=str(self.path / "chroma"))
        except (ValueError, RuntimeError) as exc:  # chromadb: server unreachable, store broken
            raise RunError(f"document store {chroma_url or self.path}: {exc}") from exc
        try:
            self.collection = self.client.get_or_create_collection(
                collection, embedding_function=self.embeddings, metadata={"hnsw:space": "cosine"}
            )
        except ValueError as exc:  # e.g. another embedding function than the collection's
            raise UserError(f"collection {collection!r}: {exc}") from exc
        self.lexical = LexicalIndex(self.path / "lexical" / f"{collection}.sqlite")

    def count(self) -> int:
        """Chunks in the store."""
        return int(self.collection.count())

    def vocabulary(self) -> Vocabulary:
        """How many documents contain each term (from the lexical index, which is kept
        beside the store in both local and server mode)."""
        return self.lexical.vocabulary()

    def ingest(
        self,
        paths: Sequence[str | Path],
        on_progress: Callable[[int, int, str], None] | None = None,
        *,
        follow_symlinks: bool = False,
    ) -> IngestReport:
        """Add or refresh documents: unchanged files are skipped, changed files have their
        old chunks replaced, unreadable files are reported in `skipped`, and so are
        symlinks in a folder that lead outside it unless `follow_symlinks`. New chunks
        are embedded in batches that span files."""
        report = IngestReport()
        files, report.skipped = walk([Path(p) for p in paths], follow_symlinks)
        pending: list[_Plan] = []
        for done, path in enumerate(files, 1):
            try:
                plan = self._plan_file(path, report)
            except (DocumentError, OSError) as exc:
                report.skipped.append(f"{path}: {exc}")
                plan = None
            if plan is not None:
                pending.append(plan)
                report.updated_files.append(plan.source)
            if sum(len(p.fresh) for p in pending) >= BATCH * 16:
                self._apply(pending, report)
                pending = []
            if on_progress:
                on_progress(done, len(files), str(path))
        self._apply(pending, report)
        return report

    def add_texts(self, items: Sequence[tuple[str, str]]) -> IngestReport:
        """Store documents given as ``(text, source)`` pairs, replacing what each source had."""
        report = IngestReport()
        plans = [
            self._plan(
                text, source, hashlib.sha256(text.encode()).hexdigest(), self._existing(source)
            )
            for text, source in items
        ]
        self._apply(plans, report)
        report.updated_files += [p.source for p in plans]
        return report

    def _existing(self, source: str) -> dict[str, dict[str, Any]]:
        found = self.collection.get(where={"source": source}, include=["metadatas"])
        return dict(zip(found["ids"], found["metadatas"] or [], strict=True))

    def _plan_file(self, path: Path, report: IngestReport) -> _Plan | None:
        source, sha = str(path), _file_sha(path)
        existing = self._existing(source)
        if existing and all(m.get("file_sha") == sha for m in existing.values()):
            report.unchanged_files.append(source)
            return None
        return self._plan(read_document(path), source, sha, existing)

    def _plan(self, text: str, source: str, sha: str, existing: Mapping[str, Any]) -> _Plan:
        chunks = chunk_text(text, source)
        metadatas = [
            {
                "source": source,
                "title": c.title,
                "section": c.section,
                "position": c.position,
                "file_sha": sha,
            }
            for c in chunks
        ]
        ids = {c.id for c in chunks}
        pairs = list(zip(chunks, metadatas, strict=True))
        return _Plan(
            source=source,
            chunks=pairs,
            stale=[i for i in existing if i not in ids],
            fresh=[(c, m) for c, m in pairs if c.id not in existing],
            kept=[(c, m) for c, m in pairs if c.id in existing],
        )

    def _apply(self, plans: Sequence[_Plan], report: IngestReport) -> None:
        stale = [i for p in plans for i in p.stale]
        if stale:
            self.collection.delete(ids=stale)
            self.lexical.delete(stale)
        fresh = [pair for p in plans for pair in p.fresh]
        # one call for every new chunk: the offline model sorts them by length across files
        vectors = self.embeddings([c.text for c, _ in fresh]) if fresh else []
        for start in range(0, len(fresh), BATCH):
            batch = fresh[start : start + BATCH]
            self.collection.add(
                ids=[c.id for c, _ in batch],
                embeddings=vectors[start : start + BATCH],
                documents=[c.text for c, _ in batch],
                metadatas=[m for _, m in batch],
            )
        kept = [pair for p in plans for pair in p.kept]
        if kept:
            self.collection.update(ids=[c.id for c, _ in kept], metadatas=[m for _, m in kept])
        every = [pair for p in plans for pair in p.chunks]
        if every:
            self.lexical.upsert([c for c, _ in every], [m for _, m in every])
        report.added += len(fresh)
        report.removed += len(stale)

    def search(
        self,
        query: str,
        k: int = 10,
        *,
        where: Mapping[str, Any] | None = None,
        mode: Mode = "hybrid",
        depth: int = 50,
    ) -> list[Hit]:
        """The `k` best chunks for `query`; `where` filters on metadata (source, title,
        section, position: equality or ``$in``)."""
        size = self.lexical.size()  # the sidecar mirrors the collection; Chroma's count is slow
        if not query.strip() or size == 0:
            return []
        depth = max(depth, k)
        dense = self._dense(query, min(depth, size), where) if mode != "lexical" else []
        lexical = self._lexical(query, depth, where) if mode != "dense" else []
        if mode == "dense":
            return self._hits(dense[:k])
        if mode == "lexical":
            return self._hits(lexical[:k])
        fused: dict[str, float] = defaultdict(float)
        for ranking in (dense, lexical):
            for rank, (chunk_id, _) in enumerate(ranking):
                fused[chunk_id] += 1.0 / (RRF_K + rank + 1)
        return self._hits(sorted(fused.items(), key=lambda p: -p[1])[:k])

    def _dense(
        self, query: str, depth: int, where: Mapping[str, Any] | None
    ) -> list[tuple[str, float]]:
        with self._retrieval("chroma", depth) as current:
            found = self.collection.query(
                query_texts=[query],
                n_results=depth,
                where=dict(where) if where else None,
                include=["distances"],
            )
            ranked = [
                (i, 1.0 - d)
                for i, d in zip(found["ids"][0], (found["distances"] or [[]])[0], strict=True)
            ]
            if current is not None:
                current.set_attribute("trifecta.retrieval.hits", len(ranked))
        return ranked

    def _lexical(
        self, query: str, depth: int, where: Mapping[str, Any] | None
    ) -> list[tuple[str, float]]:
        with self._retrieval("bm25", depth) as current:
            if not where:
                ranked = self.lexical.search(query, depth)
            else:
                candidates = self.lexical.search(query, depth * 20)
                rows = self.lexical.rows(i for i, _ in candidates)
                ranked = [
                    (i, s) for i, s in candidates if i in rows and _matches(rows[i][3], where)
                ][:depth]
            if current is not None:
                current.set_attribute("trifecta.retrieval.hits", len(ranked))
        return ranked

    def _retrieval(self, backend: str, depth: int) -> AbstractContextManager[Any]:
        """A ``retrieval <collection>`` span (GenAI conventions) for one backend."""
        attributes: dict[str, AttributeValue] = {
            "gen_ai.operation.name": "retrieval",
            "gen_ai.data_source.id": self.name,
            "trifecta.retrieval.backend": backend,
            "trifecta.retrieval.depth": depth,
        }
        return span(f"retrieval {self.name}", attributes)

    def _hits(self, ranked: Sequence[tuple[str, float]]) -> list[Hit]:
        rows = self.lexical.rows(i for i, _ in ranked)
        return [
            Hit(
                i,
                rows[i][0],
                rows[i][1],
                round(s, 6),
                rows[i][2],
                int(rows[i][3].get("position", 0)),
            )
            for i, s in ranked
            if i in rows
        ]
