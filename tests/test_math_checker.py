"""`check_math` and `trifecta check math`: order, safety, timeouts, worker recovery."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from trifecta.sandbox import IsolatedError, IsolatedTimeout, WorkerPool
from trifecta.specialists.math import check_math

ADVERSARIAL = [
    ({"id": "tower", "kind": "value", "expr": "10**10**10", "answer": "1"}, "rejected"),
    ({"id": "factorial", "kind": "value", "expr": "factorial(10**9)", "answer": "1"}, "rejected"),
    (
        {"id": "nested", "kind": "value", "expr": "(" * 5000 + "1" + ")" * 5000, "answer": "1"},
        "rejected",
    ),
    ({"id": "megabyte", "kind": "value", "expr": "1+" * 500_000 + "1", "answer": "1"}, "rejected"),
    (
        {"id": "dunder", "kind": "value", "expr": "().__class__.__bases__[0]", "answer": "1"},
        "rejected",
    ),
    ({"id": "attribute", "kind": "equal", "expr": "x.real", "answer": "x"}, "rejected"),
    (
        {
            "id": "series",
            "kind": "series",
            "expr": "tan(tan(tan(x)))",
            "var": "x",
            "point": "0",
            "order": 50,
            "answer": "x",
        },
        "unverifiable",
    ),
]


def test_adversarial_claims_come_back_labelled() -> None:
    verdicts = list(check_math([c for c, _ in ADVERSARIAL], timeout=1.0))
    assert [(v.id, v.status) for v in verdicts] == [(c["id"], s) for c, s in ADVERSARIAL]
    assert verdicts[-1].method == "timeout" and verdicts[-1].messages == ["gave up after 1s"]


def test_order_is_kept_with_many_workers() -> None:
    claims = [
        {"id": i, "kind": "value", "expr": f"{i}*3", "answer": str(i * 3 + (i % 7 == 0))}
        for i in range(200)
    ]
    verdicts = list(check_math(claims, workers=4))
    assert [v.id for v in verdicts] == list(range(200))
    assert [v.status for v in verdicts] == [
        "rejected" if i % 7 == 0 else "verified" for i in range(200)
    ]


def _spin() -> None:
    while True:
        pass


def _allocate(n: int) -> int:
    return len(bytearray(n))


def test_pool_replaces_a_killed_worker_and_caps_memory() -> None:
    pool = WorkerPool(1, memory_mb=256)
    try:
        first = pool.run(_allocate, 10)
        with pytest.raises(IsolatedTimeout):
            pool.run(_spin, timeout=0.2)
        with pytest.raises(IsolatedError, match="out of memory"):
            pool.run(_allocate, 512 * 2**20)
        assert (first, pool.run(_allocate, 20)) == (10, 20)
    finally:
        pool.close()


def test_cli_reads_json_lines_and_answers_in_order() -> None:
    lines = [
        {"id": "a", "kind": "value", "expr": "(290.0 / 2.0)", "answer": "145"},
        "this is not json",
        {"id": "b", "kind": "equal", "expr": "\\frac{1}{2}", "answer": "0.5"},
        {"id": "c", "kind": "value", "expr": "16-3-4", "answer": "10"},
    ]
    stdin = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n\n"
    done = subprocess.run(
        [sys.executable, "-m", "trifecta.cli", "check", "math", "--timeout", "10"],  # not a timeout test
        input=stdin, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(o["id"], o["status"]) for o in out] == [
        ("a", "verified"),
        (None, "rejected"),
        ("b", "verified"),
        ("c", "rejected"),
    ], (out, done.stderr)
    assert "line 2: invalid JSON" in out[1]["errors"][0]
    assert all(set(o) == {"id", "status", "method", "errors", "elapsed_ms"} for o in out)


def test_cli_claims_arriving_slowly_are_all_checked() -> None:
    """A worker forked while the main thread waits on stdin must not hang (it inherited
    stdin's lock, and a forked child closes stdin on start-up)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "trifecta.cli", "check", "math", "--timeout", "5"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdin is not None
    for n in range(4):
        time.sleep(0.4)  # the reader is blocked in read() while the first workers fork
        claim = {"id": f"s{n}", "kind": "value", "expr": f"{n}+1", "answer": str(n + 1)}
        process.stdin.write(json.dumps(claim) + "\n")
        process.stdin.flush()
    out, _ = process.communicate(timeout=60)
    verdicts = [json.loads(line) for line in out.splitlines()]
    assert [(v["id"], v["status"]) for v in verdicts] == [
        (f"s{n}", "verified") for n in range(4)
    ], verdicts


def test_workers_exit_when_their_parent_is_killed() -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    code = (
        "import os, threading, time\n"
        "from trifecta.sandbox import WorkerPool\n"
        "pool = WorkerPool(2)\n"
        "threads = [threading.Thread(target=pool.run, args=(time.sleep, 0.3), kwargs={'timeout': 5}) for _ in range(2)]\n"
        "[t.start() for t in threads]; [t.join() for t in threads]\n"
        "print(os.getpid(), flush=True); time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    pid = int(parent.stdout.readline()) if parent.stdout else 0
    workers = subprocess.run(
        ["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    assert len(workers) == 2
    os.kill(pid, signal.SIGKILL)
    parent.wait()

    def alive(worker: str) -> bool:
        try:
            with open(f"/proc/{worker}/status") as status:
                return "State:\tZ" not in status.read()
        except FileNotFoundError:
            return False

    deadline = time.monotonic() + 15
    while any(alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(alive(w) for w in workers)
