"""The lexical index: BM25 over a real SQLite sidecar, its cache, its saved copy."""

from __future__ import annotations

from pathlib import Path

import bm25s
import pytest

from trifecta.specialists.rag._documents import Chunk
from trifecta.specialists.rag._lexical import LexicalIndex

TEXTS = {
    "a1": ("a.md", "Refunds are paid within 14 days of the returned item arriving."),
    "a2": ("a.md", "Gift cards cannot be refunded."),
    "b1": ("b.md", "The office closes on public holidays."),
    "c1": ("c.md", "Opening hours: Monday to Friday, nine to five."),
}


def _add(index: LexicalIndex, ids: list[str]) -> None:
    chunks = [Chunk(i, TEXTS[i][0], "t", "", n, TEXTS[i][1]) for n, i in enumerate(ids)]
    index.upsert(chunks, [{"source": c.source} for c in chunks])


def test_ranking_uses_the_same_terms_for_chunks_and_queries(tmp_path: Path) -> None:
    index = LexicalIndex(tmp_path / "lex.sqlite")
    _add(index, list(TEXTS))
    hits = index.search("When are REFUNDS paid?", 10)
    assert [i for i, _ in hits][:2] == ["a1", "a2"]  # "refunds"/"refunded" both stem to "refund"
    assert all(score > 0 for _, score in hits) and "c1" not in dict(hits)
    assert index.search("holiday", 10) == index.search("Holidays!", 10) != []
    assert index.search("unrelated zebra", 10) == [] and index.search("", 10) == []
    assert len(index.search("refund paid office", 1)) == 1


def test_writes_invalidate_the_cached_index(tmp_path: Path) -> None:
    index = LexicalIndex(tmp_path / "lex.sqlite")
    assert index.search("refund", 5) == []  # empty store
    _add(index, ["a1"])
    assert [i for i, _ in index.search("refund", 5)] == ["a1"]
    _add(index, ["a2"])
    assert {i for i, _ in index.search("refund", 5)} == {"a1", "a2"}
    assert index.size() == 2
    index.delete(["a1"])
    assert [i for i, _ in index.search("refund", 5)] == ["a2"] and index.size() == 1


def test_a_new_process_loads_the_saved_index_and_sees_other_writers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = LexicalIndex(tmp_path / "lex.sqlite")
    _add(first, ["a1", "b1"])
    expected = first.search("refund holidays", 5)

    def no_rebuild(self: bm25s.BM25, *args: object, **kwargs: object) -> None:
        raise AssertionError("the saved index should have been loaded")

    with monkeypatch.context() as patch:
        patch.setattr(bm25s.BM25, "index", no_rebuild)
        second = LexicalIndex(tmp_path / "lex.sqlite")
        assert second.search("refund holidays", 5) == expected
    _add(second, ["a2"])  # another writer: the first instance must not serve its stale copy
    assert {i for i, _ in first.search("refund", 5)} == {"a1", "a2"}


def test_vocabulary_counts_documents_not_chunks(tmp_path: Path) -> None:
    index = LexicalIndex(tmp_path / "lex.sqlite")
    _add(index, list(TEXTS))
    vocabulary = index.vocabulary()
    assert vocabulary.documents == 3
    assert vocabulary.spread["refund"] == 1  # two chunks, one document
    assert vocabulary.spread["hour"] == 1 and "zebra" not in vocabulary
