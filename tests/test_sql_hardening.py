"""Hostile SQL against the real PostgreSQL, MariaDB and SQLite, connected as superuser /
root: the checker alone refuses every escape, nothing lasting is left behind, and every
query shape is capped in rows and bytes."""

from __future__ import annotations

import random
import re
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pymysql
import pytest

from tests.fakes import SHOP_SQL
from tests.net import PG_URL
from trifecta.specialists.sql import (
    ALLOWED_FUNCTIONS,
    Database,
    SqlExecutionError,
    connect,
    run_checked,
)

MYSQL: dict[str, Any] = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": ""}
README = Path(__file__).resolve().parent.parent / "README.md"


@dataclass(frozen=True)
class Lab:
    """A shop to connect to, and a neighbour it must not reach."""

    url: str
    other: str
    token: str  # unique: replication slot and lock names
    key: int  # unique advisory-lock key


def _token() -> tuple[str, int]:
    return f"t_{uuid.uuid4().hex[:10]}", random.randrange(1, 2**31)


def _pg(sql: str) -> list[tuple[Any, ...]]:
    """Rows of `sql` on a fresh superuser connection (outside the connection under test)."""
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        return list(conn.execute(sql).fetchall())


def _pg_do(*statements: str) -> None:
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


@pytest.fixture
def pg_lab() -> Iterator[Lab]:
    token, key = _token()
    other = f"{token}_other"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        for schema in (token, other):
            conn.execute(f"CREATE SCHEMA {schema}")
        conn.execute(f"SET search_path TO {token}")
        for statement in filter(str.strip, SHOP_SQL.split(";")):
            conn.execute(statement)
        conn.execute(f"CREATE TABLE {other}.orders (id INTEGER, secret TEXT)")
        conn.execute(f"INSERT INTO {other}.orders VALUES (1, 'leaked')")
    yield Lab(f"{PG_URL}?options=-csearch_path%3D{token}", other, token, key)
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {token}, {other} CASCADE")
        conn.execute(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
            f"WHERE slot_name = '{token}'"
        )


@pytest.fixture
def maria_lab() -> Iterator[Lab]:
    token, key = _token()
    other = f"{token}_other"
    conn = pymysql.connect(**MYSQL, autocommit=True)
    with conn.cursor() as cur:
        for name in (token, other):
            cur.execute(f"CREATE DATABASE {name}")
        cur.execute(f"USE {token}")
        for statement in filter(str.strip, SHOP_SQL.split(";")):
            cur.execute(statement)
        cur.execute(f"CREATE TABLE {other}.orders (id INTEGER, secret TEXT)")
        cur.execute(f"INSERT INTO {other}.orders VALUES (1, 'leaked')")
    yield Lab(f"mysql://root@127.0.0.1:3306/{token}", other, token, key)
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE {token}")
        cur.execute(f"DROP DATABASE {other}")
    conn.close()


@pytest.fixture
def sqlite_lab(tmp_path: Path) -> Lab:
    path = tmp_path / "shop.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(SHOP_SQL)
    token, key = _token()
    return Lab(f"sqlite:///{path}", "other", token, key)


@pytest.fixture(params=["sqlite", "pg", "maria"])
def lab(request: pytest.FixtureRequest) -> Lab:
    value = request.getfixturevalue(f"{request.param}_lab")
    assert isinstance(value, Lab)
    return value


@pytest.fixture(params=["pg", "maria"])
def server_lab(request: pytest.FixtureRequest) -> Lab:
    value = request.getfixturevalue(f"{request.param}_lab")
    assert isinstance(value, Lab)
    return value


def _rule(db: Database, sql: str) -> str:
    """The rule that refused `sql`, or "checked" when it ran."""
    outcome = run_checked(db, sql)
    return outcome.errors[0]["rule"] if outcome.errors else outcome.status


# --- PostgreSQL ------------------------------------------------------------------

PG_ESCAPES = [  # (query, rule, what the rejection names)
    ("SELECT * FROM {other}.orders", "resolve", "{other}.orders"),
    ('SELECT id FROM "{other}"."orders"', "resolve", "{other}.orders"),
    ("WITH orders AS (SELECT 1 AS id) SELECT * FROM {other}.orders", "resolve", "{other}.orders"),
    ("SELECT schema_to_xml('{other}', true, true, '')", "functions", "schema_to_xml()"),
    ("SELECT table_to_xml('{other}.orders', true, true, '')", "functions", "table_to_xml()"),
    ("SELECT database_to_xml(true, true, '')", "functions", "database_to_xml()"),
    (
        "SELECT pg_create_physical_replication_slot('{token}')",
        "functions",
        "pg_create_physical_replication_slot()",
    ),
    ("SELECT pg_stat_reset()", "functions", "pg_stat_reset()"),
    ("SELECT pg_stat_reset_shared('bgwriter')", "functions", "pg_stat_reset_shared()"),
    ("SELECT pg_switch_wal()", "functions", "pg_switch_wal()"),
    ("SELECT pg_create_restore_point('{token}')", "functions", "pg_create_restore_point()"),
    (
        "SELECT pg_log_backend_memory_contexts(pg_backend_pid())",
        "functions",
        "pg_log_backend_memory_contexts()",
    ),
    ("SELECT pg_try_advisory_lock({key})", "functions", "pg_try_advisory_lock()"),
    ("SELECT pg_advisory_lock_shared({key})", "functions", "pg_advisory_lock_shared()"),
    ("SELECT current_setting('data_directory')", "functions", "current_setting()"),
    ("SELECT * FROM pg_ls_waldir()", "functions", "pg_ls_waldir()"),
    ("SELECT pg_ls_waldir()", "functions", "pg_ls_waldir()"),
    ("SELECT CAST('{other}.orders' AS regclass)", "functions", "cast to REGCLASS"),
]


def _pg_effects(lab: Lab) -> dict[str, Any]:
    """What the calls above would leave: a slot, a held lock, reset statistics."""
    return {
        "slot": _pg(f"SELECT count(*) FROM pg_replication_slots WHERE slot_name = '{lab.token}'"),
        "lock": _pg(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
            f"AND classid = 0 AND objid = {lab.key}"
        ),
        "stats": _pg(
            "SELECT (SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()),"
            " (SELECT stats_reset FROM pg_stat_bgwriter)"
        ),
    }


@pytest.mark.parametrize(("template", "rule", "named"), PG_ESCAPES, ids=[e[0] for e in PG_ESCAPES])
def test_checker_alone_refuses_postgres_escapes(
    pg_lab: Lab, template: str, rule: str, named: str
) -> None:
    """As superuser, nothing but the checker stands in the way."""
    db = connect(pg_lab.url)
    before = _pg_effects(pg_lab)
    values = {"other": pg_lab.other, "token": pg_lab.token, "key": pg_lab.key}
    outcome = run_checked(db, template.format(**values))
    assert outcome.status == "rejected" and outcome.errors[0]["rule"] == rule, outcome
    assert named.format(**values) in outcome.errors[0]["message"]
    after = _pg_effects(pg_lab)  # while the session that would hold a lock is open
    db.close()
    assert after == before and after["slot"] == after["lock"] == [(0,)]


def test_postgres_search_path_is_the_boundary(pg_lab: Lab) -> None:
    """Tables of every schema on the search path resolve, pinned to their schema; a user
    table named like a catalog (searched first by PostgreSQL) stays the user's table."""
    extra = f"{pg_lab.token}_extra"
    _pg_do(
        f"CREATE TABLE {pg_lab.token}.pg_roles (rolname TEXT)",
        f"INSERT INTO {pg_lab.token}.pg_roles VALUES ('only-mine')",
        f"CREATE SCHEMA {extra}",
        f"CREATE TABLE {extra}.notes (note TEXT)",
        f"INSERT INTO {extra}.notes VALUES ('on the path')",
    )
    try:
        db = connect(pg_lab.url.replace(pg_lab.token, f"{pg_lab.token}%2C{extra}"))
        roles = run_checked(db, "SELECT rolname FROM pg_roles")
        assert roles.data["rows"] == [["only-mine"]], roles
        notes = run_checked(db, "SELECT note FROM notes")
        assert notes.data["rows"] == [["on the path"]] and f'"{extra}"."notes"' in str(
            notes.data["sql"]
        )
        assert _rule(db, f"SELECT note FROM {extra}.notes") == "checked"
        assert _rule(db, f"SELECT * FROM {pg_lab.other}.orders") == "resolve"
        db.close()
    finally:
        _pg_do(f"DROP SCHEMA {extra} CASCADE")


# --- MariaDB -----------------------------------------------------------------------


def test_checker_alone_refuses_mariadb_escapes(maria_lab: Lab) -> None:
    db = connect(maria_lab.url)
    assert _rule(db, f"SELECT * FROM {maria_lab.other}.orders") == "resolve"
    assert _rule(db, f"SELECT secret FROM `{maria_lab.other}`.`orders`") == "resolve"
    assert _rule(db, "SELECT @v := id FROM orders") == "variables"
    assert db.execute("SELECT @v").rows == [(None,)]  # no variable outlives the query
    for name in ("datadir", "hostname", "global.secure_file_priv"):
        outcome = run_checked(db, f"SELECT @@{name}")
        assert outcome.errors[0]["rule"] == "variables" and "@@" in outcome.errors[0]["message"]
    db.close()


def test_rlike_runs_on_mariadb(maria_lab: Lab) -> None:
    """MariaDB has REGEXP/RLIKE but no REGEXP_LIKE."""
    db = connect(maria_lab.url)
    for sql, read in (
        ("SELECT name FROM customers WHERE name RLIKE '^A' ORDER BY name", "mysql"),
        ("SELECT name FROM customers WHERE name REGEXP '^A' ORDER BY name", "sqlite"),
    ):
        outcome = run_checked(db, sql, read=read)
        assert outcome.data["rows"] == [["Ada"], ["Alan"]], outcome
        assert "REGEXP_LIKE" not in str(outcome.data["sql"])
    db.close()


# --- every database ----------------------------------------------------------------

CROSS = "SELECT a.id FROM orders a, orders b, orders c, orders d, orders e, orders f, orders g, orders h"
SHAPES = [
    f"({CROSS})",
    f"(({CROSS}))",
    f"({CROSS} UNION ALL {CROSS})",
    f"(WITH big AS (SELECT id FROM orders) {CROSS.replace('orders h', 'big h')})",
]


@pytest.mark.parametrize("shape", SHAPES, ids=["parens", "double parens", "union", "cte"])
def test_row_cap_applies_to_every_top_level_shape(lab: Lab, shape: str) -> None:
    """An 8-way cross join (390,625 rows) is cut by the LIMIT the checker adds."""
    db = connect(lab.url)
    outcome = run_checked(db, shape, max_rows=10)
    assert outcome.status == "checked", outcome.errors
    assert str(outcome.data["sql"]).endswith("LIMIT 11")
    assert len(outcome.data["rows"]) == 10 and outcome.data["truncated"]
    db.close()


def test_client_stops_reading_at_the_row_cap(server_lab: Lab) -> None:
    """Rows past the cap are never fetched (SQLite's cursor always stepped row by row):
    the row that would fail is not reached."""
    db = connect(server_lab.url)
    source = {
        "postgres": "SELECT i, 1 / (1000 - i) FROM generate_series(1, 2000) AS s(i)",
        "mysql": "SELECT seq, (SELECT 1 UNION SELECT 2 FROM DUAL WHERE seq > 1000) FROM seq_1_to_2000",
    }[db.dialect]
    result = db.execute(source, max_rows=10)
    assert [row[0] for row in result.rows] == list(range(1, 11)) and result.truncated
    assert db.execute("SELECT 1").rows == [(1,)]  # the connection is still usable
    db.close()


TENS = (  # SQLite: n times ten x, in one value
    "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}), "
    "big(v) AS (SELECT group_concat('xxxxxxxxxx', '') FROM s) "
)
BIG_CELL = {
    "sqlite": TENS.format(n=200_000) + "SELECT v FROM big",
    "postgres": "SELECT repeat('x', 2000000)",
    "mysql": "SELECT repeat('x', 2000000)",
}
BIG_RESULT = {
    "sqlite": TENS.format(n=90_000) + "SELECT v FROM big, orders a, orders b",
    "postgres": "SELECT repeat('x', 900000) FROM orders a, orders b",
    "mysql": "SELECT repeat('x', 900000) FROM orders a, orders b",
}


def test_byte_caps_stop_oversized_output(lab: Lab) -> None:
    db = connect(lab.url)
    cell = run_checked(db, BIG_CELL[db.dialect])
    assert cell.status == "rejected" and cell.errors[0]["rule"] == "execute"
    assert "cap of 1,000,000 bytes per cell" in cell.errors[0]["message"]
    result = run_checked(db, BIG_RESULT[db.dialect])
    assert result.status == "rejected"
    assert "result exceeds the cap of 16,000,000 bytes" in result.errors[0]["message"]
    small = run_checked(db, BIG_RESULT[db.dialect], max_result_bytes=100_000_000)
    assert small.status == "checked" and len(small.data["rows"]) == 25
    db.close()


def test_postgres_refuses_a_huge_value_before_sending_it(pg_lab: Lab) -> None:
    """PostgreSQL sends a value whole (up to 1 GB): the server measures each row against
    twice the result cap and refuses it, so the value never reaches the client."""
    db = connect(pg_lab.url)
    for sql in (
        "SELECT repeat('x', 5000000)",
        "SELECT string_agg(repeat('x', 1000), '') FROM generate_series(1, 5000)",
    ):
        outcome = run_checked(db, sql, max_result_bytes=1_000_000)
        assert outcome.status == "rejected", outcome.data["sql"]
        assert "the server refused a row over 2,001,024 bytes" in outcome.errors[0]["message"]
    assert run_checked(db, "SELECT count(*) FROM orders").data["rows"] == [[5]]
    db.close()


def test_sqlite_bounds_every_single_function_call(sqlite_lab: Lab) -> None:
    """SQLITE_LIMIT_LENGTH bounds what one call can build, so no call runs long between
    two deadline checks: building a value over the cap fails naming the cap. printf,
    whose time grows with its width argument whatever the cap, is not allowed."""
    db = connect(sqlite_lab.url)
    for sql in ("SELECT hex(zeroblob(25000000))", BIG_CELL["sqlite"]):
        with pytest.raises(SqlExecutionError, match="cap of 1,000,000 bytes per cell"):
            db.execute(sql, timeout=1.0)
    assert _rule(db, "SELECT hex(zeroblob(25000000))") == "functions"
    assert _rule(db, "SELECT printf('%.*c', 2000000000, 'x')") == "functions"
    db.close()


NORMAL = {
    "sqlite": "SELECT upper(name), length(name), substr(name, 1, 2), coalesce(NULL, total), "
    "CASE WHEN total > 100 THEN 'big' ELSE 'small' END, CAST(total AS INTEGER), round(total, 1), "
    "strftime('%Y', '2024-05-01'), date('2024-05-01', '+1 day'), abs(-total), ifnull(NULL, 1), "
    "instr(name, 'a'), replace(name, 'a', 'o'), trim(' x '), julianday('2024-01-02') - julianday('2024-01-01') "
    "FROM orders JOIN customers ON customers.id = orders.customer_id WHERE orders.id = 1",
    "postgres": "SELECT upper(name), length(name), substr(name, 1, 2), coalesce(NULL, total), "
    "CASE WHEN total > 100 THEN 'big' ELSE 'small' END, CAST(total AS INTEGER), round(total, 1), "
    "to_char(DATE '2024-05-01', 'YYYY'), DATE '2024-05-01' + 1, abs(-total), "
    "extract(year FROM DATE '2024-05-01'), strpos(name, 'a'), replace(name, 'a', 'o'), "
    "trim(' x '), date_trunc('month', DATE '2024-05-09')::date - DATE '2024-05-01' "
    "FROM orders JOIN customers ON customers.id = orders.customer_id WHERE orders.id = 1",
    "mysql": "SELECT upper(name), length(name), substr(name, 1, 2), coalesce(NULL, total), "
    "CASE WHEN total > 100 THEN 'big' ELSE 'small' END, CAST(total AS SIGNED), round(total, 1), "
    "date_format('2024-05-01', '%Y'), date_add('2024-05-01', INTERVAL 1 DAY), abs(-total), "
    "year('2024-05-01'), instr(name, 'a'), replace(name, 'a', 'o'), trim(' x '), "
    "datediff('2024-01-02', '2024-01-01') "
    "FROM orders JOIN customers ON customers.id = orders.customer_id WHERE orders.id = 1",
}
OUTSIDE = {  # harmless, but not on the allowlist
    "sqlite": ("quote", "SELECT quote(total) FROM orders WHERE id = 1"),
    "postgres": ("pg_typeof", "SELECT pg_typeof(total) FROM orders WHERE id = 1"),
    "mysql": ("connection_id", "SELECT connection_id() FROM orders WHERE id = 1"),
}


def test_allowlist_keeps_ordinary_functions_and_extends_by_name(lab: Lab) -> None:
    db = connect(lab.url)
    normal = run_checked(db, NORMAL[db.dialect])
    assert normal.status == "checked", normal.errors
    assert [str(v) for v in normal.data["rows"][0][:3]] == ["ADA", "3", "Ad"]
    grouped = run_checked(
        db,
        "SELECT customer_id, COUNT(*), SUM(total), AVG(total), MIN(total), MAX(total) "
        "FROM orders GROUP BY customer_id HAVING COUNT(*) > 1 ORDER BY customer_id",
    )
    assert [row[:2] for row in grouped.data["rows"]] == [[1, 2], [3, 2]]
    name, call = OUTSIDE[db.dialect]
    refused = run_checked(db, call)
    assert refused.errors[0]["rule"] == "functions" and f"{name}()" in refused.errors[0]["message"]
    assert run_checked(db, call, allow_functions=[name.upper()]).status == "checked"
    db.close()


def test_readme_documents_the_allowlist() -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## The SQL checker") :]
    section = section[: section.index("\n## ", 3)]
    for dialect, names in ALLOWED_FUNCTIONS.items():
        missing = sorted(n for n in names if not re.search(rf"\b{n}\b", section))
        assert not missing, f"{dialect}: {missing}"
    for needle in ("allow_functions", "GRANT SELECT", "REVOKE", "pg_read_all_data"):
        assert needle in section, needle


def _readme_grants(index: int, role: str, namespace: str) -> list[str]:
    """The README's `index`-th SQL block of the security section, for `role` on `namespace`."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### Security: connect with a least-privilege role") :]
    block = re.findall(r"```sql\n(.*?)```", section, re.S)[index]
    statements = [line.split("--")[0].strip().rstrip(";") for line in block.splitlines()]
    return [
        re.sub(r"\bsales\b", namespace, re.sub(r"\bshop\b", "test", s))
        .replace("trifecta_reader", role)
        .replace("'…'", "'pw'")
        for s in statements
        if s and not s.startswith("REVOKE CREATE ON SCHEMA public")  # shared database
    ]


def test_readme_postgres_role_refuses_the_escapes_by_itself(pg_lab: Lab) -> None:
    """The documented grants, with no checker in the way (raw `Database.execute`)."""
    role = f"{pg_lab.token}_reader"
    _pg_do(*_readme_grants(0, role, pg_lab.token))
    try:
        db = connect(f"postgresql://{role}@127.0.0.1:5432/test")
        assert db.execute("SELECT count(*) FROM orders").rows == [(5,)]
        for sql in (
            f"SELECT * FROM {pg_lab.other}.orders",
            f"SELECT pg_create_physical_replication_slot('{pg_lab.token}')",
            "SELECT pg_stat_reset()",
            "SELECT pg_switch_wal()",
            "SELECT current_setting('data_directory')",
            "SELECT * FROM pg_ls_waldir()",
            "SELECT pg_read_file('/etc/hostname')",
        ):
            with pytest.raises(SqlExecutionError, match=r"permission denied|must be superuser"):
                db.execute(sql)
        db.close()
        assert _pg(
            f"SELECT count(*) FROM pg_replication_slots WHERE slot_name = '{pg_lab.token}'"
        ) == [(0,)]
    finally:
        _pg_do(f"DROP OWNED BY {role}", f"DROP ROLE {role}")


def test_readme_mariadb_user_refuses_the_escapes_by_itself(maria_lab: Lab) -> None:
    user = f"{maria_lab.token}_r"
    conn = pymysql.connect(**MYSQL, autocommit=True)
    try:
        with conn.cursor() as cur:
            for statement in _readme_grants(1, user, maria_lab.token):
                cur.execute(statement)
        db = connect(f"mysql://{user}:pw@127.0.0.1:3306/{maria_lab.token}")
        assert db.execute("SELECT count(*) FROM orders").rows == [(5,)]
        with pytest.raises(SqlExecutionError, match=r"command denied|Access denied"):
            db.execute(f"SELECT * FROM {maria_lab.other}.orders")
        assert db.execute("SELECT LOAD_FILE('/etc/hostname')").rows == [(None,)]  # no FILE
        with pytest.raises(SqlExecutionError, match="Access denied"):
            db.execute(f"SELECT 1 INTO OUTFILE '/tmp/{maria_lab.token}.out'")
        db.close()
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP USER IF EXISTS '{user}'@'%'")
        conn.close()
