"""The README's Python examples run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = (Path(__file__).parent.parent / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, re.DOTALL)


def test_readme_has_python_examples() -> None:
    assert BLOCKS


@pytest.mark.parametrize("code", BLOCKS)
def test_readme_example_runs(code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {"__name__": "readme"})


def test_readme_starts_with_the_two_commands() -> None:
    first_block = README.split("```sh\n", 1)[1].split("```", 1)[0]
    assert first_block.splitlines()[:2] == [
        "make demo   # creates .venv, installs, runs a three-part request offline",
        "make test   # creates .venv, installs dev tools, starts PostgreSQL/MariaDB if down, runs ruff, mypy, pytest",
    ]


def test_readme_config_example_loads(tmp_path: Path) -> None:
    from trifecta import load_config

    [example] = re.findall(r"```toml\n(.*?)```", README, re.DOTALL)
    path = tmp_path / "trifecta.toml"
    path.write_text(example)
    config = load_config(path, env={})
    assert config.model == "gpt-4o-mini" and config.structured_output == "json_schema"
    assert config.server.api_keys == ("change-me",) and config.limits.max_subtasks == 64
    assert config.routing["specialists"] == ("local-small", "cloud-big")
    assert config.models["local-small"].privacy == "local"
