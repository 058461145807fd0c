"""The lexical side of the document store: chunk rows in a SQLite sidecar, ranked with
BM25 by the `bm25s` library (a sparse, vectorised index).

Chunks and queries go through the same tokeniser (`terms`). The index is built from the
sidecar when it has changed, kept in memory, and saved beside it with the sidecar's
generation so that the next process loads it instead of rebuilding.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import bm25s
import numpy as np

from trifecta.specialists._terms import terms
from trifecta.specialists.rag._documents import Chunk
from trifecta.specialists.rag._text import Vocabulary

__all__ = ["LexicalIndex", "Row"]

Row = tuple[str, str, str, dict[str, Any]]
"""(source, title, text, metadata) of one chunk."""

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS chunks (id TEXT PRIMARY KEY, source TEXT, title TEXT, "
    "text TEXT, terms TEXT, metadata TEXT)",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER)",
    "INSERT OR IGNORE INTO meta VALUES ('generation', 0)",
    # a random id per database: a saved index is only ever loaded for the database it
    # was built from (a sidecar deleted and recreated counts its generations from 0 again)
    "INSERT OR IGNORE INTO meta VALUES ('store', abs(random()))",
)


@dataclass(frozen=True)
class _Built:
    """One generation of the index: chunk ids by position, their sources, the BM25 model."""

    generation: int
    ids: list[str]
    sources: np.ndarray
    model: bm25s.BM25 | None

    @cached_property
    def vocabulary(self) -> Vocabulary:
        """How many sources contain each term, from the index's term → chunk postings."""
        if self.model is None:
            return Vocabulary()
        pointers = np.asarray(self.model.scores["indptr"])
        chunks = np.asarray(self.model.scores["indices"])
        term_of = np.repeat(np.arange(len(pointers) - 1), np.diff(pointers))
        count = int(self.sources.max()) + 1 if len(self.sources) else 1
        pairs = np.unique(term_of.astype(np.int64) * count + self.sources[chunks])
        spread = np.bincount(pairs // count, minlength=len(pointers) - 1)
        words = {index: word for word, index in self.model.vocab_dict.items() if word}
        return Vocabulary(
            len(np.unique(self.sources)),
            {words[i]: int(n) for i, n in enumerate(spread) if i in words and n},
        )


class LexicalIndex:
    """Chunk rows and their BM25 ranking, in ``<path>`` (SQLite) and ``<path>.bm25/``."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.saved = path.with_suffix(".bm25")
        self.db = sqlite3.connect(path, check_same_thread=False)
        with self.db:
            for statement in _SCHEMA:
                self.db.execute(statement)
        self.lock = threading.Lock()
        self._built: _Built | None = None

    def upsert(self, chunks: Sequence[Chunk], metadatas: Sequence[Mapping[str, Any]]) -> None:
        """Add or replace chunk rows."""
        rows = [
            (c.id, c.source, c.title, c.text, " ".join(terms(c.text)), json.dumps(m))
            for c, m in zip(chunks, metadatas, strict=True)
        ]
        self._write("INSERT OR REPLACE INTO chunks VALUES (?, ?, ?, ?, ?, ?)", rows)

    def delete(self, ids: Sequence[str]) -> None:
        """Remove chunk rows."""
        self._write("DELETE FROM chunks WHERE id = ?", [(i,) for i in ids])

    def _write(self, statement: str, rows: Sequence[tuple[Any, ...]]) -> None:
        with self.lock, self.db:
            self.db.executemany(statement, rows)
            self.db.execute("UPDATE meta SET value = value + 1 WHERE key = 'generation'")

    def _generation(self) -> int:
        return int(self.db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0])

    def _stamp(self, generation: int, ids: Sequence[str]) -> str:
        """What a saved index must match: this database, its generation, its chunk ids."""
        store = self.db.execute("SELECT value FROM meta WHERE key = 'store'").fetchone()[0]
        digest = hashlib.sha256("\n".join(ids).encode()).hexdigest()
        return f"{store} {generation} {digest}"

    def _current(self) -> _Built:
        generation = self._generation()
        if self._built is not None and self._built.generation == generation:
            return self._built
        ids, sources, corpus = [], [], []
        names: dict[str, int] = {}
        for chunk_id, source, text_terms in self.db.execute(
            "SELECT id, source, terms FROM chunks ORDER BY rowid"
        ):
            ids.append(chunk_id)
            sources.append(names.setdefault(source, len(names)))
            corpus.append(text_terms.split())
        model = None
        if any(corpus):  # text with no term at all (say, only Japanese) has no BM25 index
            stamp = self._stamp(generation, ids)
            model = self._load(stamp, len(ids))
            if model is None:
                model = bm25s.BM25(k1=1.5, b=0.75)
                model.index(corpus, show_progress=False)
                self._save(model, stamp)
        self._built = _Built(generation, ids, np.asarray(sources, dtype=np.int64), model)
        return self._built

    def _load(self, stamp: str, chunks: int) -> bm25s.BM25 | None:
        """The saved index if it was built from exactly these chunks; anything damaged or
        different is None (then rebuilt)."""
        try:
            if (self.saved / "stamp").read_text() != stamp:
                return None
            model = bm25s.BM25.load(str(self.saved), show_progress=False, verbosity=0)
            columns = len(np.asarray(model.scores["indptr"])) - 1
            last = max((i for w, i in model.vocab_dict.items() if w), default=-1)
            if int(model.scores["num_docs"]) != chunks or not 0 <= last < columns:
                return None
            return model
        except Exception:  # a partial write or a damaged file, whatever bm25s raises: rebuild
            return None

    def _save(self, model: bm25s.BM25, stamp: str) -> None:
        """Save beside the sidecar for the next process; failing to save only costs a
        rebuild there. Each writer fills its own folder, then swaps it in."""
        partial = self.saved.parent / f"{self.saved.name}.{uuid.uuid4().hex}"
        old = partial.with_name(partial.name + ".old")
        try:
            partial.mkdir()
            model.save(str(partial), show_progress=False)
            (partial / "stamp").write_text(stamp)
            if self.saved.is_dir():
                self.saved.rename(old)
            elif self.saved.exists():
                self.saved.unlink()
            partial.rename(self.saved)
        except OSError:  # another process swapped its copy in first: keep theirs
            pass
        finally:
            shutil.rmtree(partial, ignore_errors=True)
            shutil.rmtree(old, ignore_errors=True)

    def size(self) -> int:
        """Chunks stored (from the built index when it is current, else counted)."""
        with self.lock:
            built = self._built
            if built is not None and built.generation == self._generation():
                return len(built.ids)
        return self.count()

    def vocabulary(self) -> Vocabulary:
        """How many documents (sources) contain each term."""
        with self.lock:
            return self._current().vocabulary

    def search(self, query: str, limit: int) -> list[tuple[str, float]]:
        """The best `limit` (chunk id, BM25 score) pairs with a positive score."""
        with self.lock:
            built = self._current()
        if built.model is None or limit <= 0:
            return []
        known = [w for w in dict.fromkeys(terms(query)) if w and w in built.model.vocab_dict]
        if not known:
            return []
        scores = built.model.get_scores(known)
        top = np.flatnonzero(scores > 0)
        if limit < len(top):  # keep every score tied with the limit-th, then cut in order
            cut = np.partition(scores[top], len(top) - limit)[len(top) - limit]
            top = top[scores[top] >= cut]
        top = top[np.lexsort((top, -scores[top]))][:limit]  # best first; ties in index order
        return [(built.ids[i], float(scores[i])) for i in top]

    def rows(self, ids: Iterable[str]) -> dict[str, Row]:
        """The stored rows of `ids` (those that exist)."""
        wanted = list(ids)
        found: dict[str, Row] = {}
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            marks = ",".join("?" * len(part))
            for row in self.db.execute(
                f"SELECT id, source, title, text, metadata FROM chunks WHERE id IN ({marks})", part
            ):
                found[row[0]] = (row[1], row[2], row[3], json.loads(row[4]))
        return found

    def count(self) -> int:
        """Chunk rows stored."""
        return int(self.db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])
