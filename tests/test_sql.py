"""SQL checker fixtures, the three real databases, and proof that nothing is written."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pymysql
import pytest

from tests.fakes import SHOP_SQL, plan, scripted
from tests.net import MYSQL_URL, PG_URL
from trifecta import Trifecta
from trifecta.agents import ModelPlanner
from trifecta.specialists import Candidate, Job
from trifecta.specialists.sql import (
    Column,
    Database,
    Schema,
    SqlExecutionError,
    SqlRuleError,
    Table,
    check_queries,
    check_sql,
    connect,
    query_line,
    run_checked,
    sql_specialist,
)
from trifecta.verdict import CheckVerdict, Verdict

CASES = json.loads((Path(__file__).parent / "fixtures" / "sql_checks.json").read_text())
SCHEMA = Schema({
    "orders": Table("orders", (Column("id", "INTEGER", True), Column("customer_id", "INTEGER"), Column("total", "REAL"))),
    "customers": Table("customers", (Column("id", "INTEGER", True), Column("name", "TEXT"))),
})  # fmt: skip
SHOP_SCHEMA = Schema(
    {name: replace(table, namespace="shop") for name, table in SCHEMA.tables.items()}
)


@pytest.mark.parametrize("case", CASES, ids=[c["sql"][:50] or "empty" for c in CASES])
def test_checker_fixture(case: dict[str, Any]) -> None:
    schema = SHOP_SCHEMA if case.get("namespace") == "shop" else SCHEMA
    if "rule" in case:
        with pytest.raises(SqlRuleError) as info:
            check_sql(case["sql"], schema, dialect=case.get("dialect", "sqlite"))
        assert info.value.rule == case["rule"], info.value
        assert info.value.message
    else:
        checked = check_sql(
            case["sql"], schema, dialect=case.get("dialect", "sqlite"), read=case.get("read")
        )
        assert checked.final_sql == case["ok"]


def test_parse_error_carries_a_position() -> None:
    with pytest.raises(SqlRuleError) as info:
        check_sql("SELECT total FROM orders WHERE (", SCHEMA)
    assert info.value.position is not None and "line 1" in info.value.message


def test_query_written_for_sqlite_is_transpiled_for_the_target() -> None:
    checked = check_sql(
        "SELECT SUBSTR(name, 1, 2) || '!' FROM customers", SCHEMA, read="sqlite", dialect="mysql"
    )
    assert (
        checked.final_sql
        == "SELECT CONCAT(SUBSTRING(`name`, 1, 2), '!') FROM `customers` LIMIT 1001"
    )


# --- the three real databases -------------------------------------------------


def _digest(db: Database) -> str:
    """Row counts and a checksum of every row of every table."""
    parts = []
    for name in sorted(db.schema(refresh=True).tables):
        quote = "`" if db.dialect == "mysql" else '"'
        rows = db.execute(f"SELECT * FROM {quote}{name}{quote}", max_rows=100_000).rows
        parts.append(f"{name}:{len(rows)}:{sorted(map(repr, rows))}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


@pytest.fixture
def sqlite_shop(tmp_path: Path) -> Iterator[str]:
    path = tmp_path / "shop.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(SHOP_SQL)
    yield f"sqlite:///{path}"


@pytest.fixture
def postgres_shop() -> Iterator[str]:
    schema = f"t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        conn.execute(f"SET search_path TO {schema}")
        for statement in filter(str.strip, SHOP_SQL.split(";")):
            conn.execute(statement)
    yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def mysql_shop() -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:10]}"
    conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", autocommit=True)
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name}")
        cur.execute(f"USE {name}")
        for statement in filter(str.strip, SHOP_SQL.split(";")):
            cur.execute(statement)
    yield MYSQL_URL.replace("/test", f"/{name}")
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE {name}")
    conn.close()


@pytest.fixture(params=["sqlite", "postgres", "mysql"])
def shop(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{request.param}_shop"))


WRITES = [
    "DELETE FROM orders",
    "UPDATE orders SET total = 0",
    "INSERT INTO customers VALUES (9, 'Eve')",
    "DROP TABLE orders",
    "CREATE TABLE evil (a INTEGER)",
]


def test_introspection_finds_tables_keys_and_samples(shop: str) -> None:
    db = connect(shop)
    schema = db.schema()
    assert set(schema.tables) == {"customers", "orders"}
    orders = schema.tables["orders"]
    assert [c.name for c in orders.columns] == ["id", "customer_id", "total"]
    assert orders.columns[0].primary_key
    assert [(fk.column, fk.table, fk.ref_column) for fk in orders.foreign_keys] == [
        ("customer_id", "customers", "id")
    ]
    assert schema.tables["customers"].columns[1].samples == ("Ada", "Alan", "Grace")
    db.close()


def test_database_refuses_writes_even_without_the_checker(shop: str) -> None:
    db = connect(shop)
    before = _digest(db)
    for statement in WRITES:
        with pytest.raises(SqlExecutionError):
            db.execute(statement)
    assert _digest(db) == before
    db.close()


def test_specialist_answers_and_writes_nothing(shop: str) -> None:
    """A model proposes a write, then a wrong column, then the right query."""
    db = connect(shop)
    before = _digest(db)
    model = scripted(
        [
            {"sql": "DELETE FROM orders"},
            {"sql": "SELECT COUNT(*) FROM orders WHERE amount > 100"},
            {"sql": "SELECT COUNT(*) FROM Orders WHERE Total > 100"},
        ],
        name="sql-model",
    )
    question = "Which purchases were big, above one hundred?"
    app = Trifecta(
        [sql_specialist(db, [model])],
        planner=ModelPlanner(scripted([plan(("t1", "sql", question))])),
    )
    result = app.run(question)
    row = result.subtasks[0]
    assert (row["status"], row["answer"], row["tier"], row["attempts"]) == ("checked", "3", 1, 4)
    assert "read_only" in model.calls[1][-1].content and "amount" in model.calls[2][-1].content
    assert _digest(db) == before
    db.close()


def test_slow_query_is_cut_at_the_deadline(shop: str) -> None:
    db = connect(shop)
    slow = {
        "sqlite": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT COUNT(*) FROM n",
        "postgres": "SELECT COUNT(*) FROM generate_series(1, 1000000000)",
        "mysql": "SELECT COUNT(*) FROM information_schema.columns a, information_schema.columns b, information_schema.columns c",
    }[db.dialect]
    with pytest.raises(SqlExecutionError, match=r"timed out after 0\.5s"):
        db.execute(slow, timeout=0.5)
    assert db.execute("SELECT COUNT(*) FROM orders").rows[0][0] == 5  # the connection still works
    db.close()


def test_row_cap_truncates(shop: str) -> None:
    db = connect(shop)
    result = db.execute("SELECT id FROM orders ORDER BY id", max_rows=2)
    assert result.rows == [(1,), (2,)] and result.truncated
    db.close()


def test_bad_urls_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unsupported database URL scheme 'oracle'"):
        connect("oracle://x")
    with pytest.raises(FileNotFoundError, match="no SQLite database"):
        connect(f"sqlite:///{tmp_path / 'missing.sqlite'}")
    with pytest.raises(SqlExecutionError, match="cannot connect to PostgreSQL"):
        connect("postgresql://postgres@127.0.0.1:1/none").schema()


async def test_execution_agreement_between_tiers_verifies(sqlite_shop: str) -> None:
    question = "How many orders are over 100?"
    agreeing = scripted([{"sql": "SELECT COUNT(id) FROM orders WHERE total > 100.0"}], name="model")
    app = Trifecta([sql_specialist(sqlite_shop, [agreeing])])
    row = (await app.arun(question)).subtasks[0]
    assert (row["status"], row["answer"], row["tier"]) == ("verified", "3", 0)
    assert row["evidence"][-1] == "confirmation by tier 1 (model): independent generation agrees"

    disagreeing = scripted(
        [{"sql": "SELECT COUNT(*) FROM orders WHERE total >= 19.98"}], name="model"
    )
    row = (await Trifecta([sql_specialist(sqlite_shop, [disagreeing])]).arun(question)).subtasks[0]
    assert (row["status"], row["answer"]) == ("checked", "3")
    assert row["evidence"][-1] == "confirmation by tier 1 (model): checked, does not agree"


async def test_without_a_second_tier_a_result_stays_checked(sqlite_shop: str) -> None:
    row = (
        await Trifecta([sql_specialist(sqlite_shop)]).arun("How many orders are over 100?")
    ).subtasks[0]
    assert (row["status"], row["answer"]) == ("checked", "3")


def test_same_rows_ignores_order_and_numeric_type() -> None:
    from decimal import Decimal

    from trifecta.specialists.sql import same_rows

    assert same_rows(
        {"rows": [[1, "a"], [Decimal("2.50"), "b"]]}, {"rows": [[2.5, "b"], [1.0, "a"]]}
    )
    assert not same_rows({"rows": [[1], [1]]}, {"rows": [[1]]})


def test_check_sql_command_against_postgres(postgres_shop: str) -> None:
    import subprocess
    import sys

    lines = "\n".join(
        json.dumps(x)
        for x in [
            {"id": "a", "sql": "SELECT name FROM customers WHERE id = 2"},
            {"id": "b", "sql": "DROP TABLE orders"},
            {"id": "c", "sql": "SELECT substr(name, 1, 2) FROM customers ORDER BY id"},
        ]
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "trifecta.cli",
            "check",
            "sql",
            "--db",
            postgres_shop,
            "--dialect",
            "sqlite",
            "--max-rows",
            "2",
        ],
        input=lines,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(o["id"], o["status"]) for o in out] == [
        ("a", "checked"),
        ("b", "rejected"),
        ("c", "checked"),
    ]
    assert out[0]["rows"] == [["Alan"]] and out[1]["errors"][0]["rule"] == "read_only"
    assert (
        out[2]["rows"] == [["Ad"], ["Al"]]
        and out[2]["truncated"]
        and "SUBSTRING" in out[2]["sql_executed"]
    )
    fields = {"id", "status", "errors", "columns", "rows", "row_count", "truncated"}
    assert all(set(o) == fields | {"sql_executed"} for o in out)
    assert out[1]["sql_executed"] is None and out[1]["rows"] == [] and out[2]["row_count"] == 2


def test_model_prompt_carries_only_the_relevant_tables(tmp_path: Path) -> None:
    path = tmp_path / "wide.sqlite"
    with sqlite3.connect(path) as conn:
        for i in range(30):
            conn.execute(f"CREATE TABLE filler_{i} (id INTEGER, note TEXT)")
        conn.executescript(SHOP_SQL)
    model = scripted([{"sql": "SELECT name FROM customers ORDER BY name"}], name="m")
    spec = sql_specialist(f"sqlite:///{path}", [model], confirm=False, tables=3)
    app = Trifecta(
        [spec],
        planner=ModelPlanner(
            scripted([plan(("t1", "sql", "Which customers do we have, by name?"))])
        ),
    )
    assert app.run("q").subtasks[0]["answer"].startswith("name: Ada; Alan; Grace")
    prompt = model.calls[0][1].content
    assert "name VARCHAR(40) e.g. 'Ada', 'Alan', 'Grace'" in prompt and "orders(" in prompt
    assert prompt.count("filler_") <= 3


async def test_the_specialist_and_check_sql_share_one_verdict(sqlite_shop: str) -> None:
    db = connect(sqlite_shop)
    spec = sql_specialist(db)
    job = Job("t1", "sql", "How many orders are over 100?", 0, 1)
    query = "SELECT count(*) FROM orders WHERE total > 100"
    verdict = await spec.verify(job, Candidate("", {"sql": query}))  # type: ignore[misc]
    assert isinstance(verdict, Verdict) and verdict == run_checked(db, query)
    assert (verdict.status, verdict.answer) == ("checked", "3")
    assert verdict.evidence[1].startswith("ran read-only on sqlite: SELECT")
    [line] = check_queries(db, [{"id": 7, "sql": query}])
    assert isinstance(line, CheckVerdict) and line.id == 7 and line.answer == "3"
    assert query_line(line)["rows"] == [[3]] == verdict.data["rows"]
    failed = await spec.verify(job, Candidate("", {"sql": "SELECT nope FROM orders"}))  # type: ignore[misc]
    assert (failed.status, failed.method, failed.data) == ("rejected", "sqlglot: resolve", {})
    assert failed.errors == run_checked(db, "SELECT nope FROM orders").errors
