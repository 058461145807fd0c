"""Database schemas: tables, columns, keys and sample values; prompt text; narrowing."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["Column", "ForeignKey", "Schema", "Table"]


@dataclass(frozen=True)
class Column:
    """One column; `samples` are a few distinct values, for the model's benefit."""

    name: str
    type: str
    primary_key: bool = False
    samples: tuple[str, ...] = ()


@dataclass(frozen=True)
class ForeignKey:
    """`column` references `table`.`ref_column`."""

    column: str
    table: str
    ref_column: str


@dataclass(frozen=True)
class Table:
    """One table or view; `namespace` is the schema (PostgreSQL), database (MySQL) or
    ``main`` (SQLite) that holds it, empty when unknown."""

    name: str
    columns: tuple[Column, ...]
    foreign_keys: tuple[ForeignKey, ...] = ()
    namespace: str = ""


def _words(text: str) -> set[str]:
    parts = re.findall(r"[A-Za-z][a-z]*|[0-9]+", text.replace("_", " "))
    return {p.lower().rstrip("s") for p in parts if len(p) > 1}


@dataclass(frozen=True)
class Schema:
    """Every table of a database, by name."""

    tables: dict[str, Table] = field(default_factory=dict)

    def mapping(self) -> dict[str, dict[str, str]]:
        """``{table: {column: type}}`` for sqlglot."""
        return {t.name: {c.name: c.type for c in t.columns} for t in self.tables.values()}

    def canonical(self, table: str) -> str | None:
        """The stored name of `table`, matched case-insensitively."""
        lowered = table.lower()
        return next((name for name in self.tables if name.lower() == lowered), None)

    def describe(self, names: Iterable[str] | None = None) -> str:
        """Prompt text: one line per table with columns, keys and sample values."""
        chosen = self.tables if names is None else {n: self.tables[n] for n in names}
        return "\n".join(_describe(table) for table in chosen.values())

    def narrow(self, question: str, k: int = 8) -> list[str]:
        """The `k` tables whose names, columns and sample values best match the question,
        plus the tables they reference by foreign key (all tables when there are few)."""
        if len(self.tables) <= k:
            return list(self.tables)
        wanted = _words(question)
        scored = sorted(self.tables.values(), key=lambda t: (-_score(t, wanted), t.name))
        chosen = [t.name for t in scored[:k]]
        linked = {fk.table for name in chosen for fk in self.tables[name].foreign_keys}
        return chosen + sorted(linked - set(chosen))


def _score(table: Table, wanted: set[str]) -> float:
    name = len(_words(table.name) & wanted) * 3.0
    columns = sum(len(_words(c.name) & wanted) for c in table.columns)
    samples = sum(1 for c in table.columns for s in c.samples if _words(s) & wanted)
    return name + columns + 0.5 * samples


def _describe(table: Table) -> str:
    cols = []
    for column in table.columns:
        text = f"{column.name} {column.type}" + (" PRIMARY KEY" if column.primary_key else "")
        if column.samples:
            text += " e.g. " + ", ".join(repr(s) for s in column.samples)
        cols.append(text)
    keys = "".join(f"; {fk.column} -> {fk.table}.{fk.ref_column}" for fk in table.foreign_keys)
    return f"{table.name}({', '.join(cols)}{keys})"
