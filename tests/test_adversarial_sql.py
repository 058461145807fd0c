"""Adversarial review of `checked` SQL: a result the server cut short or changed while
warning about it is not checked (MariaDB on 127.0.0.1:3306, as the other SQL tests)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pymysql
import pytest

from tests.fakes import SHOP_SQL
from tests.net import MYSQL_URL
from trifecta.specialists.sql import connect, run_checked


@pytest.fixture(scope="module")
def maria() -> Iterator[str]:
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


def _rejected_for(url: str, sql: str, code: int) -> str:
    verdict = run_checked(connect(url), sql)
    assert verdict.status == "rejected", verdict
    message = verdict.errors[0]["message"]
    assert f"{code}" in message, message
    return message


def test_result_over_max_allowed_packet_is_not_checked(maria: str) -> None:
    # MariaDB returns NULL with warning 1301 instead of the 20 MB string.
    message = _rejected_for(maria, "SELECT REPEAT(name, 20000000) FROM customers", 1301)
    assert "max_allowed_packet" in message
    _rejected_for(maria, "SELECT REPEAT(name, 20000000) IS NULL FROM customers", 1301)


def test_group_concat_cut_is_not_checked(maria: str) -> None:
    db = connect(maria)
    db.schema()  # opens the session; a server configured with a short group_concat
    with db._connection().cursor() as cur:  # a server setting, not the API
        cur.execute("SET SESSION group_concat_max_len = 8")
    verdict = run_checked(db, "SELECT GROUP_CONCAT(name) FROM customers")
    assert verdict.status == "rejected", verdict
    assert "1260" in verdict.errors[0]["message"]


def test_values_the_server_coerced_are_not_checked(maria: str) -> None:
    _rejected_for(maria, "SELECT CAST(name AS DECIMAL(5, 2)) FROM customers", 1292)
    _rejected_for(maria, "SELECT total / 0 FROM orders", 1365)


def test_clean_results_stay_checked_and_the_session_is_reused(maria: str) -> None:
    db = connect(maria)
    assert run_checked(db, "SELECT REPEAT(name, 20000000) FROM customers").status == "rejected"
    verdict = run_checked(db, "SELECT COUNT(*) FROM orders WHERE total > 100")
    assert (verdict.status, verdict.answer) == ("checked", "3")
