"""A caller's JSON schema, made safe to apply: checked against its metaschema, bounded
in size (``$ref`` expanded, no cycles), its ``pattern`` run on RE2, and a validator
that cannot hang or crash the server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import re2
from jsonschema import Draft202012Validator, ValidationError, validators
from jsonschema.exceptions import SchemaError, best_match
from jsonschema.protocols import Validator
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from trifecta.errors import UserError
from trifecta.linear_re import LinearPattern

__all__ = [
    "MAX_SCHEMA_NODES",
    "SchemaProblem",
    "first_error",
    "guarded_validator",
    "resolver_for",
]

MAX_SCHEMA_NODES = 10_000
"""Subschemas a schema may expand to (each ``$ref`` counted where it is used)."""

_MAX_REFS = 64
# keywords whose values are data, not subschemas
_DATA = frozenset({"enum", "const", "default", "examples", "required", "$defs", "definitions"})


class SchemaProblem(UserError):
    """The schema cannot be used; the message says why."""


def _pattern(
    validator: Validator, pattern: str, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and LinearPattern(pattern).search(instance) is None:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


_Guarded = validators.extend(Draft202012Validator, {"pattern": _pattern})  # type: ignore[no-untyped-call]


def resolver_for(schema: dict[str, Any]) -> Any:
    """A resolver (`referencing`'s) for the schema's own ``$ref``s; nothing is fetched
    from elsewhere."""
    resource: Resource[Any] = Resource.from_contents(schema, default_specification=DRAFT202012)
    return Registry().with_resource("", resource).resolver()


def guarded_validator(schema: Any) -> Validator:
    """A validator for `schema` after checking it.

    Raises:
        SchemaProblem: not a JSON object, not a valid JSON schema, a ``$ref`` that does
            not resolve here or refers back to itself, ``patternProperties`` (matched by
            Python's backtracking ``re``), a ``pattern`` RE2 cannot compile, or more than
            `MAX_SCHEMA_NODES` subschemas once expanded.
    """
    if not isinstance(schema, dict):
        raise SchemaProblem("the schema must be a JSON object")
    try:
        validators.validator_for(schema, default=Draft202012Validator).check_schema(schema)
    except SchemaError as exc:
        raise SchemaProblem(f"not a valid JSON schema: {exc.message}") from None
    _Walk(resolver_for(schema)).visit(schema)
    return _Guarded(schema, registry=Registry())  # type: ignore[no-any-return]


def _describe(error: ValidationError) -> str:
    """One line for the most relevant validation error."""
    where = "/".join(str(p) for p in error.absolute_path) or "the top level"
    return f"at {where}: {error.message}"


def first_error(validator: Validator, instance: Any) -> str | None:
    """Why `instance` does not validate, or None when it does (a schema that makes the
    validator fail, e.g. an overflowing ``multipleOf``, counts as not validating)."""
    try:
        error = best_match(validator.iter_errors(instance))
    except (ArithmeticError, ValueError, TypeError, RecursionError, Unresolvable) as exc:
        return f"the schema cannot be applied: {type(exc).__name__}: {exc}"
    return None if error is None else _describe(error)


class _Walk:
    """Counts subschemas with ``$ref`` expanded, refusing cycles and unsafe keywords."""

    def __init__(self, resolver: Any) -> None:
        self.nodes = 0
        self.root = resolver

    def visit(self, node: Any, resolver: Any | None = None, refs: tuple[str, ...] = ()) -> None:
        self.nodes += 1
        if self.nodes > MAX_SCHEMA_NODES:
            raise SchemaProblem(
                f"the schema expands to more than {MAX_SCHEMA_NODES:,} subschemas; simplify it"
            )
        resolver = resolver or self.root
        if isinstance(node, list):
            for item in node:
                self.visit(item, resolver, refs)
            return
        if not isinstance(node, dict):
            return
        self._check_keywords(node)
        ref = node.get("$ref")
        if isinstance(ref, str):
            target = _lookup(resolver, ref, refs)
            self.visit(target.contents, target.resolver, (*refs, ref))
        for key, value in node.items():
            if key not in _DATA and isinstance(value, dict | list):
                self.visit(value, resolver, refs)

    @staticmethod
    def _check_keywords(node: dict[str, Any]) -> None:
        if "patternProperties" in node:
            raise SchemaProblem("patternProperties is not supported; list the properties")
        for key in ("$dynamicRef", "$recursiveRef"):
            if key in node:
                raise SchemaProblem(f"{key} is not supported; use $ref to $defs")
        pattern = node.get("pattern")
        if isinstance(pattern, str):
            try:
                LinearPattern(pattern)
            except re2.error as exc:
                raise SchemaProblem(
                    f"pattern {pattern!r} is not RE2 syntax (no lookaround or backreferences): {exc}"
                ) from None


def _lookup(resolver: Any, ref: str, refs: tuple[str, ...]) -> Any:
    if len(refs) >= _MAX_REFS:
        raise SchemaProblem(f"$ref chains deeper than {_MAX_REFS} are not supported")
    if ref in refs:
        raise SchemaProblem(
            f"$ref {ref!r} refers back to itself; recursive schemas are not supported"
        )
    try:
        return resolver.lookup(ref)
    except Unresolvable:
        raise SchemaProblem(
            f"$ref {ref!r} does not resolve inside the schema (nothing is fetched)"
        ) from None
