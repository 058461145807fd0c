"""Hostile SQL against PostgreSQL, MariaDB and SQLite, connected as superuser / root, so
that only the checker and the executor stand in the way.

Each database gets a shop to connect to and a neighbour (another schema or database with a
secret) it must not reach, both created here and dropped afterwards. An attack is
*contained* when a checker rule refuses it (an escape), or when it stops cleanly within the
row, byte and time caps (a resource attack); either way, no lasting effect may be left:
no replication slot, held lock, reset statistics, large object, file, variable or change to
the data. `sql_rows()` gives one (category, tried, contained) row per database; run as a
script, this prints them and every attack that was not contained.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import sqlite3
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pymysql

from trifecta.specialists.sql import Database, connect, run_checked
from trifecta.verdict import Verdict, check_error

__all__ = ["sql_rows", "trials"]

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
MYSQL: dict[str, Any] = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": ""}
TIMEOUT = 2.0
MAX_ROWS = 1000
SLOWEST = 3 * TIMEOUT  # a contained query is over by then
MAX_GROWTH = 128 * 2**20  # client memory a contained query may add, in bytes
SHOP = """
CREATE TABLE customers (id INTEGER PRIMARY KEY, name VARCHAR(40) NOT NULL);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER, total DECIMAL(10,2) NOT NULL);
INSERT INTO customers VALUES (1, 'Ada'), (2, 'Alan'), (3, 'Grace');
INSERT INTO orders VALUES (1, 1, 238.00), (2, 2, 49.00), (3, 3, 120.00), (4, 1, 19.98), (5, 3, 155.50);
"""
CROSS = "SELECT a.id FROM orders a, orders b, orders c, orders d, orders e, orders f, orders g, orders h"


@dataclass(frozen=True)
class Attack:
    """A hostile query; placeholders: {other} (the neighbour), {token}, {key}, {tmp}."""

    sql: str
    resource: bool = False  # may run, but only within the caps
    harmless: list[list[Any]] | None = None  # may run when it returns exactly this


def escape(sql: str) -> Attack:
    """An attack only a checker rule may stop."""
    return Attack(sql)


def resource(sql: str) -> Attack:
    """An attack that may run, but only within the caps."""
    return Attack(sql, resource=True)


def _common_resources() -> list[Attack]:
    return [
        resource(f"({CROSS})"),
        resource(f"(({CROSS}))"),
        resource(f"({CROSS} UNION ALL {CROSS})"),
        resource(f"(WITH big AS (SELECT id FROM orders) {CROSS.replace('orders h', 'big h')})"),
        resource(
            "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT count(*) FROM r"
        ),
        resource("SELECT " + "(" * 5000 + "1" + ")" * 5000),
        resource("SELECT id FROM orders WHERE " + " OR ".join(["id = 1"] * 5000)),
        resource("SELECT 1 FROM orders WHERE name = '" + "x" * 200_000 + "'"),
    ]


PG_ATTACKS = [
    escape("SELECT * FROM {other}.orders"),
    escape('SELECT id FROM "{other}"."orders"'),
    escape("SELECT * FROM test.{other}.orders"),
    escape("TABLE {other}.orders"),
    escape("WITH orders AS (SELECT 1 AS id) SELECT * FROM {other}.orders"),
    escape("WITH pg_authid AS (SELECT * FROM pg_authid) SELECT * FROM pg_authid"),
    escape("SELECT o.id FROM orders o JOIN {other}.orders s ON s.id = o.id"),
    escape("SELECT id FROM orders WHERE id IN (SELECT id FROM {other}.orders)"),
    escape("SELECT {other}.orders.id FROM orders"),
    escape("SELECT table_name FROM information_schema.tables"),
    escape("SELECT column_name FROM information_schema.columns WHERE table_schema = '{other}'"),
    escape("SELECT rolname, rolpassword FROM pg_catalog.pg_authid"),
    escape("SELECT usename, passwd FROM pg_shadow"),
    escape("SELECT name, setting FROM pg_settings"),
    escape("SELECT CAST('{other}.orders' AS regclass)"),
    escape("SELECT '<!DOCTYPE x SYSTEM \"file:///etc/hostname\"><x/>'::xml"),
    escape("SELECT pg_catalog.upper(name) FROM customers"),
    escape("SELECT * FROM {other}.generate_series(1, 3)"),
    escape("SELECT schema_to_xml('{other}', true, true, '')"),
    escape("SELECT table_to_xml('{other}.orders', true, true, '')"),
    escape("SELECT database_to_xml(true, true, '')"),
    escape("SELECT query_to_xml('SELECT * FROM {other}.orders', true, true, '')"),
    escape("SELECT pg_create_physical_replication_slot('{token}')"),
    escape("SELECT pg_create_logical_replication_slot('{token}', 'test_decoding')"),
    escape("SELECT pg_stat_reset()"),
    escape("SELECT pg_stat_reset_shared('bgwriter')"),
    escape("SELECT pg_stat_reset_single_table_counters(CAST('orders' AS regclass))"),
    escape("SELECT pg_switch_wal()"),
    escape("SELECT pg_create_restore_point('{token}')"),
    escape("SELECT pg_log_backend_memory_contexts(pg_backend_pid())"),
    escape("SELECT pg_try_advisory_lock({key})"),
    escape("SELECT pg_advisory_lock_shared({key})"),
    escape("SELECT pg_advisory_lock({key})"),
    escape("SELECT set_config('statement_timeout', '0', false)"),
    escape("SELECT txid_current()"),
    escape("SELECT pg_notify('{token}', 'x')"),
    escape("SELECT lo_import('/etc/hostname')"),
    escape("SELECT lo_from_bytea(0, 'x')"),
    escape("SELECT pg_reload_conf()"),
    escape("SELECT pg_terminate_backend(pg_backend_pid())"),
    escape("SELECT current_setting('data_directory')"),
    escape("SELECT * FROM pg_ls_waldir()"),
    escape("SELECT pg_ls_waldir()"),
    escape("SELECT pg_ls_dir('.')"),
    escape("SELECT * FROM ROWS FROM (pg_ls_dir('.'))"),
    escape("SELECT pg_read_file('/etc/hostname')"),
    escape("SELECT pg_read_binary_file('/etc/hostname')"),
    escape("SELECT pg_stat_file('/etc/hostname')"),
    escape("SELECT version()"),
    escape("SELECT current_user"),
    escape("SELECT inet_server_addr()"),
    escape("SELECT dblink('host=127.0.0.1 dbname=test', 'SELECT 1')"),
    escape("SELECT nextval('{token}')"),
    escape("COPY orders TO '{tmp}/{token}.out'"),
    escape("COPY (SELECT 1) TO PROGRAM 'id'"),
    escape("SHOW data_directory"),
    escape("SET statement_timeout = 0"),
    escape("SELECT pg_sleep(30)"),
    escape("SELECT id FROM orders FOR UPDATE"),
    escape("SELECT 1; SELECT pg_sleep(1)"),
    escape("EXPLAIN ANALYZE SELECT * FROM orders"),
    escape("DO $$ BEGIN PERFORM pg_sleep(1); END $$"),
    escape("SELECT id FROM orders WHERE id = $1"),
    *_common_resources(),
    resource("SELECT count(*) FROM generate_series(1, 10000000000)"),
    resource("SELECT * FROM generate_series(1, 100000000)"),
    resource("SELECT repeat('x', 50000000)"),
    resource("SELECT repeat('x', 900000) FROM generate_series(1, 100)"),
    resource("SELECT string_agg(repeat('x', 1000), '') FROM generate_series(1, 200000)"),
]

MARIA_ATTACKS = [
    escape("SELECT * FROM {other}.orders"),
    escape("SELECT id FROM `{other}`.`orders`"),
    escape("WITH orders AS (SELECT 1 AS id) SELECT * FROM {other}.orders"),
    escape("SELECT o.id FROM orders o JOIN {other}.orders s ON s.id = o.id"),
    escape("SELECT id FROM orders WHERE id IN (SELECT id FROM {other}.orders)"),
    escape("SELECT table_name FROM information_schema.tables"),
    escape("SELECT column_name FROM information_schema.columns WHERE table_schema = '{other}'"),
    escape("SELECT user, password FROM mysql.user"),
    escape("SELECT * FROM information_schema.processlist"),
    escape("SELECT * FROM performance_schema.threads"),
    escape("SELECT * FROM seq_1_to_1000000000"),
    escape("SELECT @v := id FROM orders"),
    escape("SELECT id FROM orders WHERE @v IS NULL"),
    escape("SELECT @@datadir"),
    escape("SELECT @@hostname"),
    escape("SELECT @@global.secure_file_priv"),
    escape("SET @a = 1"),
    escape("SELECT id INTO @x FROM orders LIMIT 1"),
    escape("SELECT load_file('/etc/hostname')"),
    escape("SELECT * FROM orders INTO OUTFILE '{tmp}/{token}.out'"),
    escape("SELECT 1 INTO DUMPFILE '{tmp}/{token}.dump'"),
    escape("LOAD DATA INFILE '/etc/hostname' INTO TABLE orders"),
    escape("SELECT sleep(30)"),
    escape("SELECT benchmark(1000000000, md5('x'))"),
    escape("SELECT get_lock('{token}', 0)"),
    escape("SELECT is_free_lock('{token}')"),
    escape("SELECT user()"),
    escape("SELECT database()"),
    escape("SELECT version()"),
    escape("SELECT connection_id()"),
    escape("SELECT sys_exec('id')"),
    escape("SELECT NEXT VALUE FOR {token}"),
    escape("SELECT id FROM orders FOR UPDATE"),
    escape("SELECT id FROM orders LOCK IN SHARE MODE"),
    escape("HANDLER orders OPEN"),
    escape("DO sleep(5)"),
    escape("SHOW DATABASES"),
    escape("SELECT 1; SELECT sleep(1)"),
    Attack("SELECT 1 /*!, @@datadir, sleep(5) */", harmless=[[1]]),
    *_common_resources(),
    resource("SELECT repeat('x', 50000000)"),
    resource("SELECT repeat('x', 2000000)"),
    resource("SELECT repeat('x', 900000) FROM orders a, orders b"),
]

_TENS = (
    "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}), "
    "big(v) AS (SELECT group_concat('xxxxxxxxxx', '') FROM s) "
)
SQLITE_ATTACKS = [
    escape("SELECT * FROM sqlite_master"),
    escape("SELECT * FROM sqlite_schema"),
    escape("SELECT * FROM main.sqlite_master"),
    escape("SELECT * FROM temp.sqlite_master"),
    escape("SELECT * FROM {other}.orders"),
    escape("SELECT * FROM pragma_table_info('orders')"),
    escape("PRAGMA query_only = 0"),
    escape("ATTACH DATABASE '{tmp}/{token}.db' AS x"),
    escape("VACUUM INTO '{tmp}/{token}.db'"),
    escape("SELECT load_extension('{tmp}/{token}')"),
    escape("SELECT readfile('/etc/hostname')"),
    escape("SELECT writefile('{tmp}/{token}.out', 'x')"),
    escape("SELECT fts3_tokenizer('simple')"),
    escape("SELECT sqlite_version()"),
    escape("SELECT sqlite_compileoption_get(0)"),
    escape("SELECT changes()"),
    escape("SELECT id FROM orders WHERE id = ?"),
    escape("SELECT id FROM orders WHERE id = :id"),
    escape("DELETE FROM orders"),
    escape("CREATE TEMP TABLE t_x (a INTEGER)"),
    escape("SELECT 1; DELETE FROM orders"),
    escape("SELECT hex(zeroblob(25000000))"),
    escape("SELECT randomblob(1000000000)"),
    escape("SELECT printf('%.*c', 2147483647, 'x')"),
    escape("SELECT length(replace(printf('%.*c', 500000000, 'x'), 'x', 'xx'))"),
    *_common_resources(),
    resource(_TENS.format(n=200_000) + "SELECT v FROM big"),
    resource(_TENS.format(n=90_000) + "SELECT v FROM big, orders a, orders b"),
    resource(_TENS.format(n=90_000) + "SELECT replace(v, 'x', 'xx') FROM big"),
    resource(
        "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s) "
        "SELECT group_concat('xxxxxxxxxx', '') FROM s"
    ),
]


@dataclass
class Lab:
    """A database to attack, the values of the placeholders, and a probe of lasting effects."""

    name: str
    url: str
    values: dict[str, Any]
    probe: Callable[[Database], dict[str, Any]]
    attacks: list[Attack] = field(default_factory=list)


@dataclass(frozen=True)
class Trial:
    """One attack's outcome: time taken and client memory added."""

    sql: str
    contained: bool
    seconds: float
    growth: int
    detail: str


class PeakMemory:
    """Peak resident memory of this process above its level on entry, sampled every 5 ms
    by a thread (so a buffer the driver fills in C counts too)."""

    def __init__(self) -> None:
        self.growth = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    @staticmethod
    def _resident() -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _sample(self) -> None:
        start = self._resident()
        while not self._stop.wait(0.005):
            self.growth = max(self.growth, self._resident() - start)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _token() -> tuple[str, int]:
    return f"t_{uuid.uuid4().hex[:10]}", random.randrange(1, 2**31)


def _pg(sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        return list(conn.execute(sql).fetchall())


@contextmanager
def _postgres(tmp: Path) -> Iterator[Lab]:
    token, key = _token()
    other = f"{token}_other"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {token}")
        conn.execute(f"CREATE SCHEMA {other}")
        conn.execute(f"SET search_path TO {token}")
        for statement in filter(str.strip, SHOP.split(";")):
            conn.execute(statement)
        conn.execute(f"CREATE TABLE {other}.orders (id INTEGER, secret TEXT)")
        conn.execute(f"INSERT INTO {other}.orders VALUES (1, 'leaked')")

    def probe(db: Database) -> dict[str, Any]:
        return {
            "slots": _pg(f"SELECT count(*) FROM pg_replication_slots WHERE slot_name = '{token}'"),
            "locks": _pg(
                f"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = {key}"
            ),
            "stats": _pg(
                "SELECT (SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()),"
                " (SELECT stats_reset FROM pg_stat_bgwriter)"
            ),
            "large objects": _pg("SELECT count(*) FROM pg_largeobject_metadata"),
            "files": sorted(p.name for p in tmp.iterdir()),
            "orders": db.execute("SELECT count(*), sum(total) FROM orders").rows,
        }

    url = f"{PG_URL}?options=-csearch_path%3D{token}"
    values = {"other": other, "token": token, "key": key, "tmp": tmp}
    try:
        yield Lab("postgresql", url, values, probe, PG_ATTACKS)
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {token}, {other} CASCADE")
            conn.execute(
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                f"WHERE slot_name = '{token}'"
            )


@contextmanager
def _mariadb(tmp: Path) -> Iterator[Lab]:
    token, key = _token()
    other = f"{token}_other"
    admin = pymysql.connect(**MYSQL, autocommit=True)
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE {token}")
        cur.execute(f"CREATE DATABASE {other}")
        cur.execute(f"USE {token}")
        for statement in filter(str.strip, SHOP.split(";")):
            cur.execute(statement)
        cur.execute(f"CREATE TABLE {other}.orders (id INTEGER, secret TEXT)")
        cur.execute(f"INSERT INTO {other}.orders VALUES (1, 'leaked')")

    def probe(db: Database) -> dict[str, Any]:
        with admin.cursor() as cur:
            cur.execute(f"SELECT IS_USED_LOCK('{token}')")
            lock = cur.fetchall()
        return {
            "variables": db.execute("SELECT @v, @a, @x").rows,
            "locks": lock,
            "files": sorted(p.name for p in tmp.iterdir()),
            "orders": db.execute("SELECT count(*), sum(total) FROM orders").rows,
        }

    url = f"mysql://root@127.0.0.1:3306/{token}"
    values = {"other": other, "token": token, "key": key, "tmp": tmp}
    try:
        yield Lab("mariadb", url, values, probe, MARIA_ATTACKS)
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE {token}")
            cur.execute(f"DROP DATABASE {other}")
        admin.close()


@contextmanager
def _sqlite(tmp: Path) -> Iterator[Lab]:
    token, key = _token()
    path = tmp / "shop.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(SHOP)
    conn.close()

    def probe(db: Database) -> dict[str, Any]:
        return {
            "files": sorted(p.name for p in tmp.iterdir()),
            "data": hashlib.sha256(path.read_bytes()).hexdigest(),
        }

    values = {"other": "other", "token": token, "key": key, "tmp": tmp}
    yield Lab("sqlite", f"sqlite:///{path}", values, probe, SQLITE_ATTACKS)


def _contained(attack: Attack, outcome: Verdict, seconds: float, growth: int) -> bool:
    if outcome.method == "crash":
        return False
    if outcome.status == "rejected" and outcome.errors[0]["rule"] != "execute":
        return True  # a checker rule refused it
    if attack.harmless is not None:
        return outcome.status == "checked" and bool(outcome.data["rows"] == attack.harmless)
    if not attack.resource:
        return False
    return seconds <= SLOWEST and growth <= MAX_GROWTH and len(outcome.data["rows"]) <= MAX_ROWS


def _attempt(lab: Lab, db: Database, attack: Attack) -> Trial:
    sql = attack.sql.format(**lab.values)
    before = lab.probe(db)
    start = time.perf_counter()
    with PeakMemory() as memory:
        try:
            outcome = run_checked(db, sql, max_rows=MAX_ROWS, timeout=TIMEOUT)
        except Exception as exc:  # a crash is not containment
            outcome = Verdict("unverifiable", "crash", errors=(check_error("crash", repr(exc)),))
    seconds = time.perf_counter() - start
    changed = sorted(k for k, v in lab.probe(db).items() if before[k] != v)
    error = outcome.errors[0] if outcome.errors else None
    detail = (
        f"{error['rule']}: {error['message']}"
        if error
        else f"ran: {len(outcome.data['rows'])} row(s)"
    )
    if changed:
        detail += f"; changed: {', '.join(changed)}"
    contained = _contained(attack, outcome, seconds, memory.growth) and not changed
    return Trial(sql, contained, seconds, memory.growth, detail)


def trials() -> dict[str, list[Trial]]:
    """Every attack on every database, by database name."""
    out: dict[str, list[Trial]] = {}
    quiet = logging.getLogger("sqlglot")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # "falling back to parsing as a Command" for each attack
    try:
        for make in (_postgres, _mariadb, _sqlite):
            out.update(_run(make))
    finally:
        quiet.setLevel(level)
    return out


def _run(make: Callable[[Path], AbstractContextManager[Lab]]) -> dict[str, list[Trial]]:
    with tempfile.TemporaryDirectory(prefix="trifecta-hardening-") as tmp, make(Path(tmp)) as lab:
        Path(tmp).chmod(0o777)  # the servers may try (and must fail) to write here
        db = connect(lab.url)
        try:
            return {lab.name: [_attempt(lab, db, attack) for attack in lab.attacks]}
        finally:
            db.close()


def sql_rows() -> list[tuple[str, int, int]]:
    """(category, tried, contained) per database: "SQL escapes (postgresql)" etc."""
    return [
        (f"SQL escapes ({name})", len(done), sum(t.contained for t in done))
        for name, done in trials().items()
    ]


def main() -> int:
    results = trials()
    for name, done in results.items():
        print(f"SQL escapes ({name}): {sum(t.contained for t in done)}/{len(done)} contained")
        for t in done:
            mark = "   " if t.contained else "NOT"
            mb = t.growth / 2**20
            print(f"  {mark} {t.seconds:5.2f}s {mb:6.1f} MB  {t.sql[:90]!r} -> {t.detail[:110]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
