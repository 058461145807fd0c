"""`trifecta eval`: suites, grading, per-configuration figures, outputs, thresholds and
exit codes, and the Ray executor agreeing with the local one."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import two_models
from trifecta import load_config
from trifecta.cli import main
from trifecta.evaluation import (
    Question,
    Setup,
    SuiteError,
    grade,
    load_suite,
    run_local,
    run_ray,
    summarize,
)
from trifecta.testing import Scripted, ScriptedServer, completion, serve_openai

PROBLEM = re.compile(r"Tom has (\d+) boxes of (\d+) apples and eats (\d+)")


def _reply(slips: bool) -> Any:
    """A math model: right, or (the cheap one) off by one, every time, on a quarter of
    the questions (box counts divisible by 4), with the claim that shows the slip, so
    the checker rejects it."""

    def reply(body: dict[str, Any]) -> Scripted:
        user = next(m["content"] for m in body["messages"] if m["role"] == "user")
        match = PROBLEM.search(user)
        assert match, user
        a, b, c = map(int, match.groups())
        value = a * b - c + (1 if slips and a % 4 == 0 else 0)
        claim = {"kind": "value", "expr": f"{a}*{b} - {c}", "answer": str(value)}
        return Scripted(completion(json.dumps({"answer": str(value), "claims": [claim]})))

    return reply


def _suite(path: Path, n: int = 8) -> Path:
    lines = [
        {"id": f"q{a}", "question": f"Tom has {a} boxes of 12 apples and eats 5. Apples left?",
         "expected": str(a * 12 - 5), "match": "math", "specialist": "math"}
        for a in range(1, n + 1)
    ]  # fmt: skip
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    return path


def _config(path: Path, chain: str, cheap: str, big: str) -> Path:
    path.write_text(two_models(cheap, big, f"[routing]\nmath = {chain}"))
    return path


@pytest.fixture
def servers() -> Iterator[tuple[ScriptedServer, ScriptedServer]]:
    with serve_openai(_reply(True)) as cheap, serve_openai(_reply(False)) as big:
        yield cheap, big


@pytest.fixture
def configs(tmp_path: Path, servers: tuple[ScriptedServer, ScriptedServer]) -> list[Path]:
    cheap, big = servers
    return [
        _config(tmp_path / f"{name}.toml", chain, cheap.url, big.url)
        for name, chain in (
            ("all-cheap", '["cheap"]'),
            ("all-big", '["big"]'),
            ("cascade", '["cheap", "big"]'),
        )
    ]


def _eval(tmp_path: Path, configs: list[Path], *extra: str) -> int:
    args = ["eval", str(_suite(tmp_path / "suite.jsonl")), "--out", str(tmp_path / "out")]
    for config in configs:
        args += ["--config", str(config)]
    return main([*args, "--jobs", "2", *extra])


def test_eval_compares_configurations_and_writes_the_frontier(
    tmp_path: Path, configs: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _eval(tmp_path, configs, "--min-accuracy", "0.5") == 0
    report = json.loads((tmp_path / "out" / "eval.json").read_text())
    figures = {c["config"]: c for c in report["configs"]}
    assert {k: v["accuracy"] for k, v in figures.items()} == {
        "all-cheap": 0.75,  # the two slips are rejected by the checker, so not correct
        "all-big": 1.0,
        "cascade": 1.0,
    }
    assert (
        figures["cascade"]["escalation_rate"] == 0.25 and figures["all-big"]["escalation_rate"] == 0
    )
    assert figures["cascade"]["cost_per_question"] < figures["all-big"]["cost_per_question"] / 2
    assert figures["all-cheap"]["cost_per_correct"] == pytest.approx(
        figures["all-cheap"]["cost_usd"] / 6
    )
    assert figures["all-big"]["checked"] == 1.0 and figures["all-big"]["verified"] == 0.0
    assert report["frontier"] == ["all-cheap", "cascade"]
    assert len(report["records"]) == 24
    png = (tmp_path / "out" / "frontier.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5_000
    html = (tmp_path / "out" / "frontier.html").read_text()
    assert "data:image/png;base64," in html and html.count("<tr>") == 4
    out = capsys.readouterr().out
    assert "cascade" in out and "100.0%" in out and "75.0%" in out


def test_eval_exits_non_zero_below_a_threshold(
    tmp_path: Path, configs: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _eval(tmp_path, configs, "--min-accuracy", "0.9") == 1
    assert "below threshold: all-cheap: accuracy 75.0% < 90.0%" in capsys.readouterr().err
    assert _eval(tmp_path, configs[1:], "--max-cost-per-question", "0.0001") == 1
    err = capsys.readouterr().err
    assert "all-big: cost per question" in err and "cascade" not in err
    assert _eval(tmp_path, configs[1:], "--min-verified", "0.5") == 1  # SymPy-checked only
    assert main(["eval", "no-such-suite"]) == 2
    assert main(["eval", "gsm8k", "--suite-data", str(tmp_path / "none")]) == 2
    assert "point --suite-data at the benchmark data" in capsys.readouterr().err


def test_ray_and_local_executors_give_the_same_results(tmp_path: Path, configs: list[Path]) -> None:
    import asyncio

    setups = [Setup(p.stem, load_config(p, env={})) for p in configs]
    questions = load_suite(str(_suite(tmp_path / "s.jsonl")), data_dir=tmp_path, work_dir=tmp_path)
    local = asyncio.run(run_local(setups, questions, jobs=3))
    remote = run_ray(setups, questions, batch=3, jobs=2)
    assert [r.outcome() for r in remote] == [r.outcome() for r in local]
    assert [(s.config, s.accuracy, s.cost_usd) for s in summarize(remote)] == [
        (s.config, s.accuracy, s.cost_usd) for s in summarize(local)
    ]


def _data(root: Path) -> Path:
    (root / "math").mkdir(parents=True)
    (root / "math" / "gsm8k_test.jsonl").write_text(
        json.dumps({"question": "Q?", "answer": "work <<2*3=6>>\n#### 1,006"}) + "\n"
    )
    spider = root / "spider" / "database" / "shop"
    spider.mkdir(parents=True)
    with sqlite3.connect(spider / "shop.sqlite") as conn:
        conn.execute("CREATE TABLE item (name TEXT, price INT)")
        conn.executemany("INSERT INTO item VALUES (?, ?)", [("pen", 2), ("ink", 5)])
    question = {"db_id": "shop", "question": "How many items?", "pred_sql": ""}
    question["gold_sql"] = "SELECT count(*) FROM item"
    (root / "spider" / "questions.jsonl").write_text(json.dumps(question) + "\n")
    cran = root / "cranfield"
    cran.mkdir()
    (cran / "cran.all.1400").write_text(
        ".I 1\n.T\nwings\n.A\nx\n.B\ny\n.W\nlift on wings\n.I 2\n.T\nheat\n.W\nheat flow\n"
    )
    (cran / "cran.qry").write_text(".I 001\n.W\nwhat about lift\n.I 002\n.W\nno judgement\n")
    (cran / "cranqrel").write_text("1 1 2\n1 2 -1\n")
    return root


def test_builtin_suites_load_from_the_benchmark_layout(tmp_path: Path) -> None:
    data, work = _data(tmp_path / "data"), tmp_path / "work"
    [gsm] = load_suite("gsm8k", data_dir=data, work_dir=work)
    assert (gsm.expected, gsm.match, gsm.specialist) == ("1006", "math", "math")
    [sql] = load_suite("spider", data_dir=data, work_dir=work)
    assert (
        sql.db and sql.db.startswith("sqlite:///") and sql.expected == "SELECT count(*) FROM item"
    )
    [cran] = load_suite("cranfield", data_dir=data, work_dir=work)
    assert (cran.question, cran.expected) == ("what about lift", ["cran-0001.txt"])
    assert (work / "cranfield-docs" / "cran-0002.txt").read_text() == "heat\n\nheat flow\n"
    with pytest.raises(SuiteError, match="math500 suite needs"):
        load_suite("math500", data_dir=data, work_dir=work)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "q", "expected": "1"}\nnot json\n')
    with pytest.raises(SuiteError, match=r"bad.jsonl:2: not JSON"):
        load_suite(str(bad), data_dir=data, work_dir=work)


def test_grading_by_rows_sources_values_and_text(tmp_path: Path) -> None:
    data = _data(tmp_path / "data")
    [sql] = load_suite("spider", data_dir=data, work_dir=tmp_path)
    assert grade(sql, [{"answer": "2", "data": {"rows": [(2,)]}}], "")
    assert not grade(sql, [{"answer": "3", "data": {"rows": [(3,)]}}], "")
    cites = Question("c", "q", ["cran-0001.txt"], "sources", "rag")
    assert grade(cites, [{"answer": "x", "data": {"sources": ["docs/cran-0001.txt"]}}], "")
    assert not grade(cites, [{"answer": "x", "data": {"sources": ["cran-0002.txt"]}}], "")
    value = Question("v", "q", "\\frac{1}{2}", "math")
    assert grade(value, [{"answer": "0.5", "data": {}}], "")
    assert not grade(value, [{"answer": "0.6", "data": {}}], "")
    text = Question("t", "q", "Thirty Days", "auto")
    assert grade(text, [], "The refund window is thirty  days.")  # whole-graph answer
