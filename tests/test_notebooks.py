"""Every notebook runs top to bottom without an error."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))


def test_there_are_three_notebooks() -> None:
    assert [p.stem for p in NOTEBOOKS] == [
        "01_quickstart",
        "02_custom_specialist",
        "03_models_and_costs",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "TRIFECTA_MODEL"):
        monkeypatch.delenv(variable, raising=False)
    book = nbformat.read(path, as_version=4)
    NotebookClient(
        book, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    html = [
        o
        for cell in book.cells
        for o in cell.get("outputs", [])
        if "text/html" in o.get("data", {})
    ]
    assert html, "the run result should render as HTML"
