"""The document store: chunks in Chroma (dense) plus a SQLite sidecar for BM25 (lexical),
fused with reciprocal-rank fusion."""

from __future__ import annotations

import hashlib
import json
import math
import re
import sqlite3
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

import chromadb

from trifecta.specialists.rag._documents import (
    Chunk,
    DocumentError,
    chunk_text,
    read_document,
    walk,
)
from trifecta.specialists.rag._text import Vocabulary, terms

__all__ = ["DocumentStore", "Hit", "IngestReport", "Mode"]

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


@dataclass(frozen=True)
class _Index:
    """The lexical index: chunk ids, postings (term -> (chunk, count)), chunk lengths,
    their average, and each term's spread over documents."""

    ids: list[str]
    postings: dict[str, list[tuple[int, int]]]
    lengths: list[int]
    average: float
    vocabulary: Vocabulary


class _Lexical:
    """BM25 over the sidecar's chunks, with an inverted index rebuilt when it changes."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, check_same_thread=False)
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS chunks (id TEXT PRIMARY KEY, source TEXT, title TEXT, "
            "text TEXT, terms TEXT, metadata TEXT)"
        )
        self.lock = threading.Lock()
        self._index: _Index | None = None

    def upsert(self, chunks: Sequence[Chunk], metadatas: Sequence[Mapping[str, Any]]) -> None:
        rows = [
            (c.id, c.source, c.title, c.text, " ".join(terms(c.text)), json.dumps(m))
            for c, m in zip(chunks, metadatas, strict=True)
        ]
        with self.lock, self.db:
            self.db.executemany("INSERT OR REPLACE INTO chunks VALUES (?, ?, ?, ?, ?, ?)", rows)
            self._index = None

    def delete(self, ids: Sequence[str]) -> None:
        with self.lock, self.db:
            self.db.executemany("DELETE FROM chunks WHERE id = ?", [(i,) for i in ids])
            self._index = None

    def _build(self) -> _Index:
        ids, lengths, postings = [], [], defaultdict(list)
        sources: dict[str, set[str]] = defaultdict(set)
        for index, (chunk_id, source, text_terms) in enumerate(
            self.db.execute("SELECT id, source, terms FROM chunks ORDER BY id")
        ):
            words = text_terms.split()
            ids.append(chunk_id)
            lengths.append(len(words))
            for word, count in Counter(words).items():
                postings[word].append((index, count))
                sources[word].add(source)
        average = sum(lengths) / len(lengths) if lengths else 0.0
        documents = len({s for found in sources.values() for s in found})
        spread = {word: len(found) for word, found in sources.items()}
        return _Index(ids, dict(postings), lengths, average, Vocabulary(documents, spread))

    def index(self) -> _Index:
        with self.lock:
            if self._index is None:
                self._index = self._build()
            return self._index

    def search(
        self, query: str, limit: int, allowed: Callable[[str], bool] | None = None
    ) -> list[tuple[str, float]]:
        built = self.index()
        ids, postings, lengths, average = built.ids, built.postings, built.lengths, built.average
        scores: dict[int, float] = defaultdict(float)
        n = len(ids)
        for word in set(terms(query)):
            hits = postings.get(word, [])
            idf = math.log(1 + (n - len(hits) + 0.5) / (len(hits) + 0.5))
            for index, tf in hits:
                norm = 1.5 * (1 - 0.75 + 0.75 * lengths[index] / (average or 1))
                scores[index] += idf * tf * 2.5 / (tf + norm)
        ranked = sorted(scores.items(), key=lambda p: -p[1])
        out = [(ids[i], s) for i, s in ranked if allowed is None or allowed(ids[i])]
        return out[:limit]

    def rows(self, ids: Iterable[str]) -> dict[str, tuple[str, str, str, dict[str, Any]]]:
        wanted = list(ids)
        found: dict[str, tuple[str, str, str, dict[str, Any]]] = {}
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            marks = ",".join("?" * len(part))
            for row in self.db.execute(
                f"SELECT id, source, title, text, metadata FROM chunks WHERE id IN ({marks})", part
            ):
                found[row[0]] = (row[1], row[2], row[3], json.loads(row[4]))
        return found

    def count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])


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
            raise ValueError(
                f"collection name {collection!r}: use 3-512 characters from letters, digits, '.', '_' "
                "and '-', starting and ending with a letter or digit"
            )
        self.path = Path(store)
        self.path.mkdir(parents=True, exist_ok=True)
        self.name = collection
        self.embeddings = embedding_function or offline_embeddings()
        self.client: Any  # chromadb's generics are stricter than this boundary needs
        self.collection: Any
        if chroma_url:
            parts = urlparse(chroma_url)
            self.client = chromadb.HttpClient(
                host=parts.hostname or "127.0.0.1", port=parts.port or 8000
            )
        else:
            self.client = chromadb.PersistentClient(path=str(self.path / "chroma"))
        self.collection = self.client.get_or_create_collection(
            collection, embedding_function=self.embeddings, metadata={"hnsw:space": "cosine"}
        )
        self.lexical = _Lexical(self.path / "lexical" / f"{collection}.sqlite")

    def count(self) -> int:
        """Chunks in the store."""
        return int(self.collection.count())

    def vocabulary(self) -> Vocabulary:
        """How many documents contain each term (from the lexical index, which is kept
        beside the store in both local and server mode)."""
        return self.lexical.index().vocabulary

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
            if sum(len(p.fresh) for p in pending) >= BATCH * 4:
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
        for start in range(0, len(fresh), BATCH):
            batch = fresh[start : start + BATCH]
            self.collection.add(
                ids=[c.id for c, _ in batch],
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
        if not query.strip() or self.count() == 0:
            return []
        depth = max(depth, k)
        dense = self._dense(query, depth, where) if mode != "lexical" else []
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
        n = min(depth, self.count())
        found = self.collection.query(
            query_texts=[query],
            n_results=n,
            where=dict(where) if where else None,
            include=["distances"],
        )
        return [
            (i, 1.0 - d)
            for i, d in zip(found["ids"][0], (found["distances"] or [[]])[0], strict=True)
        ]

    def _lexical(
        self, query: str, depth: int, where: Mapping[str, Any] | None
    ) -> list[tuple[str, float]]:
        if not where:
            return self.lexical.search(query, depth)
        candidates = self.lexical.search(query, depth * 20)
        rows = self.lexical.rows(i for i, _ in candidates)
        return [(i, s) for i, s in candidates if i in rows and _matches(rows[i][3], where)][:depth]

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
