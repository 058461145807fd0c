"""Evaluation suites: built-in ones read from the benchmark data, or a user's JSONL."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from trifecta.errors import UserError

__all__ = [
    "BUILTIN_SUITES",
    "Match",
    "Question",
    "SuiteError",
    "cranfield_qrels",
    "cranfield_records",
    "load_suite",
]

Match = Literal["auto", "math", "sql", "exact", "contains", "sources"]
_MATCHES = ("auto", "math", "sql", "exact", "contains", "sources")


class SuiteError(UserError):
    """A suite that cannot be loaded (missing data, a malformed line)."""


@dataclass(frozen=True)
class Question:
    """One question of a suite.

    Attributes:
        id: unique within the suite.
        question: the request text.
        expected: the expected answer (text), the gold SQL (``sql``), or the relevant
            document names (``sources``).
        match: how an answer is graded: ``math`` (equal as values, via SymPy),
            ``sql`` (same rows as the gold query), ``exact``/``contains`` (text,
            case- and space-insensitive), ``sources`` (cites a relevant document),
            ``auto`` (``math`` when both sides parse as math, else ``contains``).
        specialist: send the question straight to this specialist (no planner call);
            None runs the whole graph.
        db: database URL for the SQL specialist.
        docs: document folder for the RAG specialist.
    """

    id: str
    question: str
    expected: Any
    match: Match = "auto"
    specialist: str | None = None
    db: str | None = None
    docs: str | None = None
    tags: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form."""
        return asdict(self)


def _jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SuiteError(f"{path}:{number}: not JSON: {exc.msg}") from exc
        if not isinstance(row, dict):
            raise SuiteError(f"{path}:{number}: expected an object")
        rows.append(row)
    return rows


def _need(path: Path, suite: str) -> Path:
    if not path.exists():
        raise SuiteError(
            f"the {suite} suite needs {path}; point --suite-data at the benchmark data "
            "(the folder holding math/, spider/ and cranfield/)"
        )
    return path


def _gsm8k(data: Path, work: Path) -> list[Question]:
    rows = _jsonl(_need(data / "math" / "gsm8k_test.jsonl", "gsm8k"))
    return [
        Question(f"gsm8k-{i}", r["question"], r["answer"].split("####")[-1].strip().replace(",", ""),
                 "math", "math")
        for i, r in enumerate(rows)
    ]  # fmt: skip


def _math500(data: Path, work: Path) -> list[Question]:
    rows = _jsonl(_need(data / "math" / "math500_test.jsonl", "math500"))
    return [
        Question(f"math500-{i}", r["problem"], r["answer"], "math", "math",
                 tags={"subject": r.get("subject", ""), "level": str(r.get("level", ""))})
        for i, r in enumerate(rows)
    ]  # fmt: skip


def _spider(data: Path, work: Path) -> list[Question]:
    root = data / "spider"
    rows = _jsonl(_need(root / "questions.jsonl", "spider"))
    return [
        Question(f"spider-{i}", r["question"], r["gold_sql"], "sql", "sql",
                 db=f"sqlite:///{(root / 'database' / r['db_id'] / (r['db_id'] + '.sqlite')).resolve()}",
                 tags={"db": r["db_id"]})
        for i, r in enumerate(rows)
    ]  # fmt: skip


def cranfield_records(text: str) -> list[tuple[str, dict[str, str]]]:
    """Parse a Cranfield file (``.I`` number, then ``.T``/``.A``/``.B``/``.W`` fields)."""
    out = []
    for block in re.split(r"^\.I\s+", text, flags=re.M)[1:]:
        number, _, body = block.partition("\n")
        fields = dict(re.findall(r"^\.([TAWB])\n(.*?)(?=^\.[TAWB]\n|\Z)", body, flags=re.S | re.M))
        out.append((number.strip(), {k: " ".join(v.split()) for k, v in fields.items()}))
    return out


def cranfield_qrels(text: str) -> dict[int, dict[str, int]]:
    """Parse ``cranqrel``: query number → {document number: grade}, keeping the grades
    1–3 that count as relevant."""
    qrels: dict[int, dict[str, int]] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and 1 <= int(parts[2]) <= 3:
            qrels.setdefault(int(parts[0]), {})[parts[1]] = int(parts[2])
    return qrels


def _cranfield(data: Path, work: Path) -> list[Question]:
    root = data / "cranfield"
    docs = cranfield_records(_need(root / "cran.all.1400", "cranfield").read_text("utf-8"))
    folder = work / "cranfield-docs"
    if len(list(folder.glob("*.txt"))) != len(docs):
        folder.mkdir(parents=True, exist_ok=True)
        for number, doc in docs:
            body = f"{doc.get('T', '')}\n\n{doc.get('W', '')}\n"
            (folder / f"cran-{int(number):04d}.txt").write_text(body, "utf-8")
    relevant = {
        query: [f"cran-{int(doc):04d}.txt" for doc in docs]
        for query, docs in cranfield_qrels((root / "cranqrel").read_text("utf-8")).items()
    }
    queries = cranfield_records((root / "cran.qry").read_text("utf-8"))
    return [
        Question(f"cranfield-{k}", q.get("W", ""), sorted(relevant[k]), "sources", "rag",
                 docs=str(folder))
        for k, (_, q) in enumerate(queries, 1)
        if k in relevant
    ]  # fmt: skip


def _user(path: Path) -> list[Question]:
    questions = []
    for number, row in enumerate(_jsonl(path), 1):
        if not isinstance(row.get("question"), str) or "expected" not in row:
            raise SuiteError(f"{path}:{number}: each line needs 'question' and 'expected'")
        match = row.get("match", "auto")
        if match not in _MATCHES:
            raise SuiteError(f"{path}:{number}: match must be one of {', '.join(_MATCHES)}")
        fields = (row.get("specialist"), row.get("db"), row.get("docs"))
        questions.append(
            Question(str(row.get("id", number)), row["question"], row["expected"], match, *fields)
        )
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        raise SuiteError(f"{path}: question ids repeat")
    return questions


_LOADERS = {"gsm8k": _gsm8k, "math500": _math500, "spider": _spider, "cranfield": _cranfield}
BUILTIN_SUITES = tuple(_LOADERS)


def load_suite(
    suite: str, *, data_dir: Path, work_dir: Path, limit: int | None = None
) -> list[Question]:
    """Load a built-in suite (`BUILTIN_SUITES`, read from `data_dir`) or a JSONL file
    (one ``{"question", "expected", "id"?, "match"?, "specialist"?, "db"?, "docs"?}``
    per line). `work_dir` holds files a suite derives (Cranfield's documents).

    Raises:
        SuiteError: unknown suite, missing data, or a malformed line.
    """
    if suite in _LOADERS:
        questions = _LOADERS[suite](data_dir, work_dir)
    elif Path(suite).is_file():
        questions = _user(Path(suite))
    else:
        raise SuiteError(
            f"unknown suite {suite!r}: use one of {', '.join(BUILTIN_SUITES)} or a JSONL file"
        )
    if not questions:
        raise SuiteError(f"the suite {suite!r} has no questions")
    return questions[:limit]
