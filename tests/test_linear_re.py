"""Patterns that meet user text run in linear time (RE2), with the old matches kept."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

import pytest

from trifecta.linear_re import LinearPattern
from trifecta.privacy import find_sensitive
from trifecta.specialists.math import to_claim

HANG = 60.0  # bound on a wait; the old patterns took minutes on these inputs

HOSTILE = {  # input, and the kind of claim tier 0 makes of it (none: over the grammar's limit)
    "spaced digits": ("1 " * 49_000 + "x", None),
    "repeated from": ("integrate " + "x from " * 14_000, None),
    "dotted words": ("a." * 50_000, None),
    "dashed digits": ("1-" * 50_000, None),
}


def _within_bound(fn: Callable[[str], Any], text: str) -> Any:
    out: list[Any] = []
    worker = threading.Thread(target=lambda: out.append(fn(text)), daemon=True)
    worker.start()
    worker.join(HANG)
    assert out, f"{fn.__name__} did not finish on a {len(text):,}-character input"
    return out[0]


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_inputs_finish(name: str) -> None:
    text, kind = HOSTILE[name]
    assert (_within_bound(to_claim, text) or {}).get("kind") == kind
    assert "email" not in _within_bound(lambda t: find_sensitive(t, []), text)


def test_the_tier0_requests_still_parse() -> None:
    assert to_claim("Integrate x^2 dx from 0 to 3.") == {
        "kind": "integral", "expr": "x**2", "var": "x", "lower": "0", "upper": "3"
    }  # fmt: skip
    assert to_claim("solve x + y = 3 and x - y = 1")["expr"] == ["x + y = 3", "x - y = 1"]  # type: ignore[index]
    assert to_claim("Please compute 12.5% of 64?") == {"kind": "value", "expr": "12.5/100*64"}
    assert to_claim("lim sin(x)/x as x → 0") == {
        "kind": "limit", "expr": "sin(x)/x", "var": "x", "point": "0"
    }  # fmt: skip


def test_email_detection_keeps_unicode_and_lone_surrogates_do_not_raise() -> None:
    assert find_sensitive("write to jöhn.doe+x@exa-mple.co.uk today") == ["email"]
    assert find_sensitive("no address here: a@b") == []
    assert LinearPattern(r"b+").search("a\ud800bb") is not None


_WRITER_PROBE = """
from trifecta.specialists.sql import Column, Schema, Table, Writer
writer = Writer(Schema({"people": Table("people", (Column("name", "TEXT"), Column("age", "INTEGER")))}))
hostile = ["sort by " * 16_000 + "x!", "``" * 250, "'" * 499, "list " + "the " * 124, "a" * 499]
print([writer.write(q) for q in hostile], writer.write("List the names sorted by age descending"))
"""


def test_the_sql_writer_meets_hostile_questions_in_bounded_time() -> None:
    """128 KB of 'sort by ' took minutes under the old writer's Python re (quadratic); the
    writer reads at most 500 characters, so every pattern's cost is bounded. re holds
    the GIL, so the bound is a child process's timeout, not a thread's."""
    done = subprocess.run(
        [sys.executable, "-c", _WRITER_PROBE], capture_output=True, text=True, timeout=HANG
    )
    assert done.stdout.strip() == (
        '[None, None, None, None, None] SELECT "name" FROM "people" ORDER BY "age" DESC'
    ), done.stderr
