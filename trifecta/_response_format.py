"""Structured output for `trifecta serve`: a run's result as JSON that validates against
the caller's schema (``response_format`` on chat completions, ``text.format`` on
responses), or a 400 saying what cannot be satisfied.

Nothing is invented: each property the schema names is filled from the run's own fields
(``answer``, ``ok``, ``subtasks`` and their fields, ``report``, ``thread_id``, ``turn``),
converted only where the conversion is exact, and the result is validated. A schema
that requires a field trifecta does not produce is refused before the run; a value that
does not fit (an answer that is not an integer, a part that was not verified but whose
schema has no ``status`` beside its ``answer``) is refused after it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from jsonschema.protocols import Validator

from trifecta._api_error import ApiError
from trifecta._schema_guard import (
    SchemaProblem,
    first_error,
    guarded_validator,
    resolver_for,
)
from trifecta.errors import TrifectaError
from trifecta.ledger import Report
from trifecta.linear_re import LinearPattern
from trifecta.result import RunResult
from trifecta.verdict import ACCEPTED, SubtaskRow

__all__ = ["DEFAULT_SCHEMA", "TEXT", "OutputFormat", "output_format"]

FormatKind = Literal["text", "json_object", "json_schema"]

_SUBTASK = {
    "type": "object",
    "properties": {
        k: {} for k in ("id", "instruction", "status", "answer", "evidence", "specialist")
    },
    "required": ["id", "instruction", "status", "answer", "evidence"],
}
DEFAULT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "answer": {"type": "string"},
        "ok": {"type": "boolean"},
        "subtasks": {"type": "array", "items": _SUBTASK},
    },
    "required": ["answer", "ok", "subtasks"],
}
"""What ``json_object`` returns: the answer, whether every part was verified or
checked, and each part with its status and evidence."""

_DEFAULT = guarded_validator(DEFAULT_SCHEMA)
_LEAF = object()  # a value of the shape used to check a schema before the run
_SHAPE: dict[str, Any] = {
    "answer": _LEAF,
    "ok": _LEAF,
    "subtasks": [dict.fromkeys(SubtaskRow.__required_keys__ | SubtaskRow.__optional_keys__, _LEAF)],
    "report": dict.fromkeys(Report.__required_keys__, _LEAF),
    "thread_id": _LEAF,
    "turn": _LEAF,
}
_INTEGER = LinearPattern(r"^-?(?:0|[1-9][0-9]*)$")
_NUMBER = LinearPattern(r"^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$")


class _Unfit(TrifectaError):
    """The schema asks for something trifecta never produces."""


class _Mismatch(TrifectaError):
    """This run's value does not fit the schema."""


@dataclass(frozen=True)
class OutputFormat:
    """How the reply's content is written: plain text, or JSON (``json_object``, or
    ``json_schema`` with `schema`)."""

    kind: FormatKind = "text"
    schema: dict[str, Any] | None = None
    validator: Validator | None = None

    def content(self, result: RunResult, text: str) -> str:
        """The reply's content for `result` (`text` is its plain answer).

        Raises:
            ApiError: 400 when this run's result does not fit the schema.
        """
        if self.kind == "text":
            return text
        schema, validator = self.schema or DEFAULT_SCHEMA, self.validator or _DEFAULT
        source = json.loads(json.dumps(_source(result, text), default=str))
        try:
            filled = _Filler(schema, validator).fill(schema, source, "")
        except (_Unfit, _Mismatch) as exc:
            raise _unsatisfiable(str(exc)) from None
        problem = first_error(validator, filled)
        if problem is not None:
            raise _unsatisfiable(f"the answer does not fit the schema {problem}")
        return json.dumps(filled, ensure_ascii=False)


TEXT = OutputFormat()


def output_format(kind: object, schema: object = None) -> OutputFormat:
    """The format a request asks for (``text``, ``json_object``, or ``json_schema`` with
    its schema), checked before anything runs.

    Raises:
        ApiError: 400 for another type, a missing, invalid or unsafe schema, or one that
            requires fields trifecta does not produce.
    """
    if kind in ("text", None):
        return TEXT
    if kind == "json_object":
        return OutputFormat("json_object")
    if kind != "json_schema":
        raise _bad_format(f"type {kind!r} is not one of text, json_object, json_schema")
    try:
        validator = guarded_validator(schema)
    except SchemaProblem as exc:
        raise _bad_format(str(exc)) from None
    assert isinstance(schema, dict)  # guarded_validator refuses anything else
    try:
        _Filler(schema, None).fill(schema, _SHAPE, "")
    except _Unfit as exc:
        raise _bad_format(str(exc)) from None
    except _Mismatch:
        pass  # depends on the answer: judged after the run
    return OutputFormat("json_schema", schema, validator)


def _bad_format(message: str) -> ApiError:
    return ApiError(400, f"response_format: {message}.", code="invalid_response_format")


def _unsatisfiable(message: str) -> ApiError:
    return ApiError(
        400,
        f"response_format cannot be satisfied: {message} (the turn is stored; ask again "
        "without response_format to read it as text).",
        code="response_format_unsatisfiable",
    )


def _source(result: RunResult, text: str) -> dict[str, Any]:
    """The fields a schema can ask for. `answer` is a single accepted part's own answer,
    else the merged text, which flags whatever was not verified."""
    parts = result.subtasks
    single = len(parts) == 1 and parts[0]["status"] in ACCEPTED and result.ok
    return {
        "answer": parts[0]["answer"] if single else text,
        "ok": result.ok,
        "subtasks": parts,
        "report": result.report,
        "thread_id": result.thread_id,
        "turn": result.turn,
    }


class _Filler:
    """Fills a schema from a JSON value, following ``$ref``, ``anyOf`` and ``oneOf``."""

    def __init__(self, root: dict[str, Any], validator: Validator | None) -> None:
        """`validator` (of `root`) checks the alternatives; None checks only the shape."""
        self.validator = validator
        self.root = resolver_for(root)

    def fill(self, schema: Any, value: Any, path: str, resolver: Any = None) -> Any:
        resolver = resolver or self.root
        while isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
            found = resolver.lookup(schema["$ref"])  # resolvable and acyclic: checked
            schema, resolver = found.contents, found.resolver
        if value is _LEAF or not isinstance(schema, dict):
            return value
        for key in ("anyOf", "oneOf"):
            if isinstance(schema.get(key), list):
                return self._first(schema[key], value, path, resolver)
        types = _types(schema)
        if isinstance(value, dict) and (not types or "object" in types):
            return self._object(schema, value, path, resolver)
        if isinstance(value, list) and (not types or "array" in types):
            items = schema.get("items", {})
            return [self.fill(items, v, f"{path}[{i}]", resolver) for i, v in enumerate(value)]
        if isinstance(value, dict | list):
            kind = "an object" if isinstance(value, dict) else "a list"
            raise _Unfit(f"{_name(path)} is {kind} in trifecta's output, not {' or '.join(types)}")
        return _scalar(types, value, path)

    def _first(self, branches: list[Any], value: Any, path: str, resolver: Any) -> Any:
        problems: list[Exception] = []
        for branch in branches:
            try:
                candidate = self.fill(branch, value, path, resolver)
            except (_Unfit, _Mismatch) as exc:
                problems.append(exc)
                continue
            if self.validator is None or (
                first_error(self.validator.evolve(schema=branch), candidate) is None
            ):
                return candidate
            problems.append(_Mismatch(f"{_name(path)} does not fit any of its alternatives"))
        unfit = [p for p in problems if isinstance(p, _Unfit)]
        raise (unfit[0] if len(unfit) == len(problems) and unfit else problems[0])

    def _object(
        self, schema: dict[str, Any], value: dict[str, Any], path: str, resolver: Any
    ) -> Any:
        properties = schema.get("properties")
        required = [r for r in schema.get("required", []) if isinstance(r, str)]
        missing = [r for r in required if r not in value]
        if missing:
            raise _Unfit(
                f"{_name(path)} requires {', '.join(missing)}, which trifecta does not produce "
                f"(it has: {', '.join(sorted(value))})"
            )
        if not isinstance(properties, dict):
            return value
        status = value.get("status", "verified")
        if "answer" in properties and "status" not in properties and status not in ACCEPTED:
            raise _Mismatch(
                f"part {value.get('id')} is {status}; its answer can only be given with "
                f"'status' beside it in {_name(path)}"
            )
        filled = {}
        for key, sub in properties.items():
            if key in value and (value[key] is not None or key in required):
                filled[key] = self.fill(sub, value[key], f"{path}.{key}", resolver)
        return filled


def _types(schema: dict[str, Any]) -> list[str]:
    kind = schema.get("type")
    if isinstance(kind, str):
        return [kind]
    if isinstance(kind, list):
        return [k for k in kind if isinstance(k, str)]
    return ["object"] if "properties" in schema else []


def _name(path: str) -> str:
    return path.lstrip(".") or "the top level"


def _scalar(types: list[str], value: Any, path: str) -> Any:
    if not types:
        return value
    if value is None:
        if "null" in types:
            return None
        raise _Mismatch(f"{_name(path)} is empty (null), and the schema does not allow null")
    if isinstance(value, bool):
        if "boolean" in types:
            return value
        return (
            _scalar(types, json.dumps(value), path)
            if "string" in types
            else _no(value, types, path)
        )
    if isinstance(value, int | float):
        if "integer" in types and float(value).is_integer():
            return int(value)
        if "number" in types:
            return value
        return json.dumps(value) if "string" in types else _no(value, types, path)
    text = str(value)
    if "string" in types:
        return text
    if "integer" in types and _INTEGER.match(text):
        return int(text)
    if "number" in types and _NUMBER.match(text):
        return _exact_number(text, path)
    return _no(text, types, path)


def _exact_number(text: str, path: str) -> int | float:
    if _INTEGER.match(text):
        return int(text)
    try:
        number = float(text)
        exact = Decimal(repr(number)) == Decimal(text)
    except (OverflowError, InvalidOperation):
        exact = False
    if not exact:
        raise _Mismatch(
            f"{_name(path)} {text} cannot be a JSON number without rounding; ask for a string"
        )
    return number


def _no(value: Any, types: list[str], path: str) -> Any:
    shown = value if isinstance(value, str) else json.dumps(value)
    if len(shown) > 200:
        shown = shown[:200] + "…"
    raise _Mismatch(f"{_name(path)} is {shown!r}, not {' or '.join(types)}")
