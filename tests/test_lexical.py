"""The lexical index: BM25 over a real SQLite sidecar, its cache, its saved copy."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import bm25s
import pytest

from trifecta.specialists.rag import Chunk, LexicalIndex

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


def test_a_recreated_sidecar_never_loads_the_old_saved_index(tmp_path: Path) -> None:
    path = tmp_path / "lex.sqlite"
    old = LexicalIndex(path)
    _add(old, ["a1", "b1"])
    assert old.search("refund", 5)  # built and saved beside the sidecar
    old.db.close()
    path.unlink()  # the database is recreated; the saved folder stays
    new = LexicalIndex(path)
    _add(new, ["a2", "c1"])  # same generation, same number of chunks
    assert [i for i, _ in new.search("refunded", 5)] == ["a2"]
    assert [i for i, _ in new.search("opening hours", 5)] == ["c1"]
    assert new.search("holidays", 5) == []


def test_text_without_terms_and_a_damaged_saved_index(tmp_path: Path) -> None:
    path = tmp_path / "lex.sqlite"
    index = LexicalIndex(path)
    index.upsert(
        [Chunk("j1", "jp.md", "t", "", 0, "返金は十四日以内です。")], [{"source": "jp.md"}]
    )
    assert index.search("返金", 5) == [] and index.size() == 1
    assert index.vocabulary().spread == {}
    _add(index, ["a1"])
    assert [i for i, _ in index.search("refund", 5)] == ["a1"]
    for saved in (path.with_suffix(".bm25")).glob("*.npy"):
        saved.write_bytes(b"")  # what a crash mid-write leaves
    again = LexicalIndex(path)
    assert [i for i, _ in again.search("refund", 5)] == ["a1"]  # rebuilt, not a crash


def test_ties_keep_index_order_and_a_short_list_is_a_prefix(tmp_path: Path) -> None:
    index = LexicalIndex(tmp_path / "lex.sqlite")
    same = [Chunk(f"t{n:02d}", f"{n}.md", "t", "", 0, "refund window") for n in range(20)]
    index.upsert(same, [{"source": c.source} for c in same])
    full = [i for i, _ in index.search("refund", 20)]
    assert full == [f"t{n:02d}" for n in range(20)]
    assert [i for i, _ in index.search("refund", 3)] == full[:3]


def test_writers_in_parallel_do_not_break_each_other(tmp_path: Path) -> None:
    path = tmp_path / "lex.sqlite"
    LexicalIndex(path)  # create the schema once

    def work(n: int) -> list[str]:
        index = LexicalIndex(path)
        for round_ in range(5):
            chunk = Chunk(f"w{n}-{round_}", f"{n}.md", "t", "", 0, f"refund note {n} {round_}")
            index.upsert([chunk], [{"source": chunk.source}])
            assert index.search("refund", 100)
        return [i for i, _ in index.search("refund", 100)]

    with ThreadPoolExecutor(4) as pool:
        seen = list(pool.map(work, range(4)))
    assert all(len(ids) >= 5 for ids in seen)
    assert len(LexicalIndex(path).search("refund", 100)) == 20
