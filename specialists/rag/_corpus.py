"""Documents as chunks, and BM25 retrieval over them."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BM25", "STOPWORDS", "Chunk", "Corpus", "load_corpus", "sentences", "terms"]

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "has",
        "have",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "our",
        "that",
        "the",
        "their",
        "there",
        "these",
        "this",
        "to",
        "was",
        "we",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
    ]
)
_TOKEN = re.compile(r"[a-z0-9]+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
_SUFFIXES = ("ing", "ed", "es", "s")
TEXT_SUFFIXES = (".md", ".txt", ".markdown", ".rst")
MAX_FILE_BYTES = 5_000_000


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def terms(text: str) -> list[str]:
    """Lower-cased, lightly stemmed content words."""
    return [_stem(w) for w in _TOKEN.findall(text.lower()) if w not in STOPWORDS]


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
class Chunk:
    """A passage of a document; `id` is ``<relative path>#<n>``."""

    id: str
    source: str
    text: str


def _chunks(path: Path, root: Path) -> list[Chunk]:
    rel = path.relative_to(root).as_posix() if path != root else path.name
    text = path.read_text("utf-8", errors="strict")
    blocks, heading = [], ""
    for block in re.split(r"\n\s*\n", text):
        block = block.strip()
        if not block:
            continue
        if block.startswith("#") and "\n" not in block:
            heading = block
            continue
        blocks.append(f"{heading}\n{block}" if heading else block)
    return [Chunk(f"{rel}#{i}", rel, b) for i, b in enumerate(blocks, 1)]


def load_corpus(root: Path) -> tuple[list[Chunk], list[str]]:
    """Chunks of every text file under `root`, and a message per skipped file."""
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    chunks: list[Chunk] = []
    skipped: list[str] = []
    base = root.parent if root.is_file() else root
    for path in files:
        if path.suffix.lower() not in TEXT_SUFFIXES:
            continue
        if path.stat().st_size > MAX_FILE_BYTES:
            skipped.append(f"{path}: larger than {MAX_FILE_BYTES} bytes")
            continue
        try:
            chunks += _chunks(path, base)
        except UnicodeDecodeError:
            skipped.append(f"{path}: not UTF-8 text")
    return chunks, skipped


class BM25:
    """Okapi BM25 over chunk terms."""

    def __init__(self, docs: Sequence[Sequence[str]], k1: float = 1.5, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.tf = [Counter(d) for d in docs]
        self.lengths = [len(d) for d in docs]
        self.avg = sum(self.lengths) / len(docs) if docs else 0.0
        df = Counter(t for d in docs for t in set(d))
        n = len(docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}

    def scores(self, query: Iterable[str]) -> list[float]:
        """One score per document."""
        q = list(query)
        out = []
        for tf, length in zip(self.tf, self.lengths, strict=True):
            norm = self.k1 * (1 - self.b + self.b * length / (self.avg or 1))
            out.append(
                sum(
                    self.idf.get(t, 0.0) * tf[t] * (self.k1 + 1) / (tf[t] + norm)
                    for t in q
                    if t in tf
                )
            )
        return out


class Corpus:
    """Chunks plus their BM25 index."""

    def __init__(self, chunks: Sequence[Chunk]) -> None:
        self.chunks = list(chunks)
        self.index = BM25([terms(c.text) for c in self.chunks])
        self.by_id = {c.id: c for c in self.chunks}

    def search(self, query: str, k: int = 5) -> list[tuple[Chunk, float]]:
        """The top `k` chunks with a positive score."""
        ranked = sorted(
            zip(self.chunks, self.index.scores(terms(query)), strict=True), key=lambda p: -p[1]
        )
        return [(c, s) for c, s in ranked[:k] if s > 0]
