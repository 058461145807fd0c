"""The package's layers: every import points down (or sideways within a layer); and the
tests use only the public API (no private ``_module`` or ``_name`` of trifecta).

core        trifecta.{verdict, plan, ledger, routing, models, config, ...}
workers     trifecta.specialists.*  and  trifecta.agents.*  (core only, not each other)
graphs      trifecta.graphs.*  (state, escalation loop, orchestrator)
application trifecta (the lazy package), runner, cli, server, evaluation, ...
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {
    "trifecta": ROOT / "trifecta",
    "trifecta.agents": ROOT / "agents",
    "trifecta.specialists": ROOT / "specialists",
    "trifecta.graphs": ROOT / "graphs",
}
CORE = {
    "trifecta.approval",
    "trifecta.checkpoint",
    "trifecta.config",
    "trifecta.errors",
    "trifecta.ledger",
    "trifecta.linear_re",
    "trifecta.models",
    "trifecta.plan",
    "trifecta.privacy",
    "trifecta.registry",
    "trifecta.routing",
    "trifecta.sandbox",
    "trifecta.savings",
    "trifecta.telemetry",
    "trifecta.verdict",
}
RANK = {"core": 0, "specialists": 1, "agents": 1, "graphs": 2, "application": 3}


def layer(module: str) -> str:
    """The layer a module belongs to."""
    for family in ("specialists", "agents", "graphs"):
        if module == f"trifecta.{family}" or module.startswith(f"trifecta.{family}."):
            return family
    if any(module == c or module.startswith(c + ".") for c in CORE):
        return "core"
    return "application"


def modules() -> dict[str, Path]:
    """Every module of the package, by dotted name."""
    found: dict[str, Path] = {}
    for package, folder in FOLDERS.items():
        for path in folder.rglob("*.py"):
            parts = [p for p in path.relative_to(folder).with_suffix("").parts if p != "__init__"]
            found[".".join([package, *parts])] = path
    return found


def imports(module: str, path: Path) -> set[str]:
    """The trifecta modules `path` imports, at any depth (functions included): absolute,
    relative, ``from trifecta import errors`` (the module), ``importlib.import_module``."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    known = modules()
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            out.update(
                f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names
            )
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            out.add(str(node.args[0].value))
    return {m for m in out if m == "trifecta" or m.startswith("trifecta.")}


def upward(module: str, target: str) -> bool:
    """True when `module` may not import `target`."""
    mine, theirs = layer(module), layer(target)
    if RANK[theirs] > RANK[mine]:
        return True
    return {mine, theirs} == {"specialists", "agents"}


def test_the_walk_sees_the_whole_package(tmp_path: Path) -> None:
    found = modules()
    assert {"trifecta.verdict", "trifecta.graphs.state", "trifecta.runner"} <= set(found)
    assert layer("trifecta.models._openai") == "core" and layer("trifecta.cli") == "application"
    assert upward("trifecta.verdict", "trifecta.runner")
    assert upward("trifecta.agents.planner", "trifecta.specialists.base")
    assert not upward("trifecta.graphs.orchestrator", "trifecta.agents.merger")
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from ..runner import Trifecta\nfrom trifecta import errors\n"
        "import importlib\nimportlib.import_module('trifecta.cli')\n"
    )
    seen = imports("trifecta.graphs.probe", probe)
    assert seen == {"trifecta.runner", "trifecta.errors", "trifecta.cli"}


@pytest.mark.parametrize("module", sorted(modules()))
def test_imports_point_down(module: str) -> None:
    bad = sorted(t for t in imports(module, modules()[module]) if upward(module, t))
    assert not bad, f"{module} ({layer(module)}) imports upward: {bad}"


def test_importing_a_core_leaf_loads_no_framework() -> None:
    probe = (
        "import sys, trifecta.verdict, trifecta.plan; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('langgraph', 'openai', 'langchain_core', 'chromadb', 'sympy') or m == 'trifecta.runner'))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def _private(dotted: str) -> bool:
    """A name with a private part: ``_x`` anywhere (dunders such as ``__version__`` are public)."""
    return any(p.startswith("_") and not p.endswith("__") for p in dotted.split("."))


def private_imports(source: str) -> list[str]:
    """The private trifecta modules and names `source` imports: ``from trifecta._x import
    y``, ``from trifecta.x import _y``, ``import trifecta._x``,
    ``importlib.import_module("trifecta._x")``, at any depth."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and not node.level:
            names = [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            names = [str(node.args[0].value)]
        else:
            continue
        found += [n for n in names if n.split(".")[0] == "trifecta" and _private(n)]
    return found


def test_the_private_import_check_sees_every_form() -> None:
    probe = (
        "from trifecta.specialists.rag._lexical import LexicalIndex\n"
        "from trifecta.specialists.rag import _embeddings, Chunk\n"
        "from trifecta import __version__, Trifecta\n"
        "import trifecta._http, trifecta.cli\n"
        "def f():\n    import importlib\n    importlib.import_module('trifecta._inspect_page')\n"
        "from tests.fakes import _helper\n"
    )
    assert private_imports(probe) == [
        "trifecta.specialists.rag._lexical.LexicalIndex",
        "trifecta.specialists.rag._embeddings",
        "trifecta._http",
        "trifecta._inspect_page",
    ]


def test_tests_import_only_the_public_api() -> None:
    found = {
        str(path.relative_to(ROOT)): private_imports(path.read_text())
        for path in sorted((ROOT / "tests").rglob("*.py"))
    }
    assert {path: names for path, names in found.items() if names} == {}
