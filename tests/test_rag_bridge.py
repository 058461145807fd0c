"""The lexical-semantic bridge (issue 11, item 3): a question word that no document uses
("pets") may be covered by a word of the cited sentence that the offline MiniLM puts
close to it ("animals"), never by a qualified one ("service animals"), a name, a day, or
when the documents use the word elsewhere; every accepted bridge is in the evidence."""

from __future__ import annotations

from pathlib import Path

from trifecta.graphs import run_specialist
from trifecta.ledger import Ledger
from trifecta.specialists.rag import (
    Bridge,
    DocumentStore,
    Passage,
    Vocabulary,
    WordVectors,
    check_answer,
    offline_embeddings,
    parse_question,
    rag_specialist,
)

VECTORS = WordVectors(offline_embeddings())
PETS = "Are pets allowed inside the clinic?"
RULES = "Other animals are not allowed inside the clinic."


def _bridge(*known: str) -> Bridge:
    """A bridge over a corpus whose documents use the `known` words (lemmas) and no others."""
    return Bridge(VECTORS, Vocabulary(2, dict.fromkeys(known, 1)))


def _check(question: str, sentence: str, *known: str, headings: tuple[str, ...] = ()) -> str:
    """The covered words when the check passes, else "fails: <reason>"."""
    passage = Passage(sentence, headings)
    found = check_answer(parse_question(question), passage, frozenset(), _bridge(*known))
    return " | ".join(found.covered) if found.ok else f"fails: {found.reason}"


def test_a_word_no_document_uses_is_bridged_to_a_close_word() -> None:
    assert not check_answer(parse_question(PETS), Passage(RULES)).ok  # no bridge: "pets"
    assert "pets (≈ 'animals' 0.8" in _check(PETS, RULES, "animal", "allow", "clinic")


def test_a_word_the_documents_use_is_never_bridged() -> None:
    """The documents say "pets" elsewhere: a sentence that does not is about something else."""
    assert _check(PETS, RULES, "pet", "animal", "allow", "clinic").startswith("fails")


def test_a_qualified_word_is_not_bridged() -> None:
    """A sentence on "service animals" speaks of some animals: a pet need not be one."""
    sentence = "Service animals are allowed inside the clinic."
    assert _check(PETS, sentence, "animal", "allow", "clinic").startswith("fails")


def test_days_and_names_are_never_bridged() -> None:
    """Saturday is close to Sunday for the model, and is another day (asked in lower
    case, so that only the day rule stops it)."""
    sundays = "The clinic is open on sundays."
    assert _check("Is the clinic open on saturdays?", sundays).startswith("fails")
    oakwood = ("oakwood branch",)
    question = "What time does the Elmwood branch open?"
    assert _check(question, "It opens at 10:00.", "branch", headings=oakwood).startswith("fails")


async def test_the_bridge_is_shown_in_the_evidence(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "visits.md").write_text(f"# Visits\n\n{RULES}\nService dogs are welcome.\n")
    (folder / "billing.md").write_text("# Billing\n\nInvoices are paid within 14 days.\n")
    store = DocumentStore(tmp_path / "store", "clinic")
    store.ingest([folder])
    row = (await run_specialist(rag_specialist(store), "t1", PETS, Ledger())).result
    assert (row["status"], row["answer"]) == ("verified", f"{RULES} [visits.md#1]")
    assert any("pets (≈ 'animals'" in line for line in row["evidence"]), row["evidence"]


def test_word_vectors_embed_each_text_once_and_keep_at_most_limit() -> None:
    calls: list[list[str]] = []

    def embed(texts: list[str]) -> list[list[float]]:
        calls.append(texts)
        return [[float(len(t)), 1.0] for t in texts]

    vectors = WordVectors(embed, limit=2)
    first = vectors(["aa", "b", "aa"])
    assert calls == [["aa", "b"]] and first[0] is first[2]
    assert abs(float(first[1] @ first[1]) - 1.0) < 1e-6  # unit length
    third = vectors(["ccc", "aa", "b", "dddd"])  # more fresh texts than the limit
    assert calls[-1] == ["ccc", "dddd"] and len(third) == 4
    assert len(vectors.cache) == 2 and set(vectors.cache) == {"ccc", "dddd"}
    vectors(["aa"])
    assert calls[-1] == ["aa"]  # dropped, so embedded again
