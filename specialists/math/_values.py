"""Answers as values: expressions, tuples, sets/lists, intervals, unions, text; and
deciding whether two of them are equal (exactly, symbolically, or numerically)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import sympy as sp

from trifecta.specialists.math._equal import Stated, outcome, same_stated
from trifecta.specialists.math._expr import ExprError, parse_expr
from trifecta.specialists.math._latex import is_latex, latex_to_plain, unwrap
from trifecta.specialists.math._written import (
    inequality_bounds,
    join_digit_groups,
    join_thousands,
    mixed_number,
    split_units,
)
from trifecta.verdict import Verdict

__all__ = [
    "ASSUMPTIONS",
    "Value",
    "assume",
    "parse_value",
    "same_value",
    "to_plain",
]

ASSUMPTIONS = ("positive", "negative", "nonnegative", "nonpositive", "nonzero", "real", "integer")

_TEXT_ONLY = re.compile(r"\\(text|textbf|mbox|mathrm)\{")


@dataclass(frozen=True)
class Value:
    """A parsed answer. `kind` is expr, tuple, set, interval, union or text; `stated`
    is set when the answer is one decimal as written (``0.333``, ``1.2e5``); `units`
    are the units the whole answer states, in order (``("centimeter^2",)``); `assigned`
    is the variable of an answer written ``x = …``; `word` is the answer read as text
    when it is one word (``Evelyn``, which as math is a product of letters)."""

    kind: str
    items: tuple[Any, ...]
    left_open: bool = False
    right_open: bool = False
    stated: Stated | None = None
    units: tuple[str, ...] = ()
    assigned: str = ""
    word: str = ""


_DECIMAL = re.compile(
    r"([-+]?)(\d*)(?:\.(\d*))?(?:[eE]([-+]?\d+)|\s*\*\s*10\s*(?:\*\*|\^)\s*\(?([-+]?\d+)\)?)?"
)


def _stated(text: str, value: Value) -> Value:
    """Mark a lone decimal (with a point or an exponent) with the precision it states."""
    match = _DECIMAL.fullmatch(text.strip())
    if value.kind != "expr" or match is None or not (match[2] or match[3]):
        return value
    whole, fraction, exponent = match[2], match[3] or "", match[4] or match[5]
    if "." not in text and exponent is None:
        return value
    digits = len((whole + fraction).lstrip("0")) or 1
    half_unit = sp.Rational(1, 2) * sp.Integer(10) ** (int(exponent or 0) - len(fraction))
    return Value("expr", value.items, stated=Stated(half_unit, digits))


def _split_top(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        depth += 1 if char in "([⦃" else -1 if char in ")]⦄" else 0
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts]


def _wraps(text: str) -> bool:
    """Whether the first bracket closes at the very end (so `(a)+(b)` is not wrapped)."""
    depth = 0
    for index, char in enumerate(text):
        depth += 1 if char in "([⦃" else -1 if char in ")]⦄" else 0
        if depth == 0 and index < len(text) - 1:
            return False
    return depth == 0


def parse_value(text: str, *, latex: bool | None = None) -> Value:
    """Parse an answer (plain or LaTeX) into a `Value`.

    Raises:
        ExprError: when no reading of the text is accepted.
    """
    text = str(text).strip()
    latex = is_latex(text) if latex is None else latex
    inner = unwrap(text) if latex else text
    if latex and _TEXT_ONLY.match(inner) and not re.search(r"\d", inner):
        return Value("text", (_text_key(inner),))
    plain, units = _read_latex(inner) if latex else (text, ())
    assigned = _ASSIGNED.match(plain)
    plain = join_thousands(plain[assigned.end() :] if assigned else plain)
    plain = _BASE.sub(_from_base, plain)
    value = _stated(plain, _structure(plain, latex))
    word = _text_key(inner) if _WORD.fullmatch(inner) else ""
    return replace(value, units=units, assigned=assigned[1] if assigned else "", word=word)


_ASSIGNED = re.compile(r"^\s*([A-Za-z])\s*=(?!=)\s*")
_WORD = re.compile(r"[A-Za-z]{2,}")


def _read_latex(text: str) -> tuple[str, tuple[str, ...]]:
    """LaTeX → plain syntax and the units the answer states."""
    try:
        without_units, units = split_units(text)
        return latex_to_plain(join_digit_groups(without_units)), units
    except ValueError as exc:
        raise ExprError(f"cannot read LaTeX: {exc}") from None


_BASE = re.compile(r"\b(\d[0-9A-Fa-f]*)_\(?\{?\s*(\d{1,2})\s*\}?\)?")


def _from_base(match: re.Match[str]) -> str:
    """``52_8`` (a numeral in base 8) → its value, ``42``."""
    try:
        return str(int(match.group(1), int(match.group(2))))
    except ValueError:
        raise ExprError(f"{match.group(0)!r} is not a numeral in base {match.group(2)}") from None


def _text_key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", re.sub(r"\\[a-z]+", "", text.lower()))


def _structure(text: str, latex: bool) -> Value:
    if not text:
        raise ExprError("empty answer")
    if " U " in text:
        return Value("union", tuple(_structure(p.strip(), latex) for p in text.split(" U ")))
    if text[0] == "⦃" and text[-1] == "⦄" and _wraps(text):
        return _set([p for p in _split_top(text[1:-1]) if p], latex)
    parts = _split_top(text)
    if len(parts) > 1:
        return _set(parts, latex)
    if text.count("±") == 1:
        left, right = text.split("±")
        base = parse_expr(left, latex=latex, imaginary=True) if left.strip() else sp.Integer(0)
        delta = parse_expr(right, latex=latex, imaginary=True)
        return Value("set", (Value("expr", (base + delta,)), Value("expr", (base - delta,))))
    bounds = inequality_bounds(text) if "<" in text or ">" in text else None
    if bounds is not None:
        low, high, left_open, right_open = bounds
        items = (_structure(low, latex), _structure(high, latex))
        return Value("interval", items, left_open, right_open)
    if text.count("=") == 1 and "<" not in text and ">" not in text:
        lhs, rhs = text.split("=")
        return Value("equation", (parse_expr(lhs, latex=latex) - parse_expr(rhs, latex=latex),))
    if text[0] in "([" and text[-1] in ")]" and _wraps(text):
        inner = _split_top(text[1:-1])
        if len(inner) > 1:
            return _bracketed(text[0], text[-1], inner, latex)
        if text[0] == "[" and text[-1] == "]":
            return Value("set", (_structure(inner[0], latex),) if inner[0] else ())
    mixed = mixed_number(text, latex=latex)
    if mixed is not None:
        return Value("expr", (mixed,))
    return Value("expr", (parse_expr(text, latex=latex, imaginary=True),))


def _set(parts: list[str], latex: bool) -> Value:
    """A set or list; an item written with ± contributes both of its values."""
    items: list[Value] = []
    for part in parts:
        item = _structure(part, latex)
        items += item.items if item.kind == "set" and part.count("±") == 1 else (item,)
    return Value("set", tuple(items))


def _bracketed(open_: str, close: str, inner: list[str], latex: bool) -> Value:
    items = tuple(_structure(p, latex) for p in inner)
    if len(items) == 2 and (
        open_ != close.replace(")", "(").replace("]", "[") or (latex and open_ == "[")
    ):
        return Value("interval", items, open_ == "(", close == ")")
    if open_ == "[":
        return Value("set", items)
    return Value("tuple", items)


def assume(value: Value, assumptions: dict[str, str]) -> Value:
    """Give the named symbols their assumptions (``{"x": "positive"}``) throughout `value`."""
    for kind in assumptions.values():
        if kind not in ASSUMPTIONS:
            raise ExprError(
                f"unknown assumption {kind!r}; expected one of {', '.join(ASSUMPTIONS)}"
            )
    mapping = {sp.Symbol(n): sp.Symbol(n, **{k: True}) for n, k in assumptions.items()}
    return _map_value(value, lambda e: e.xreplace(mapping))


def _map_value(value: Value, fn: Any) -> Value:
    if value.kind in ("expr", "equation"):
        return replace(value, items=(fn(value.items[0]),))
    if value.kind == "text":
        return value
    return replace(value, items=tuple(_map_value(v, fn) for v in value.items))


def same_value(left: Value, right: Value) -> Verdict:
    """Decide left == right; the outcome's method says how. When both state units,
    the units must be the same too (a unit stated on one side only is not compared)."""
    if left.units and right.units and left.units != right.units:
        shown = f"{', '.join(left.units)} is not {', '.join(right.units)}"
        return outcome("rejected", "units", f"different units: {shown}")
    if left.assigned and right.assigned and left.assigned != right.assigned:
        return outcome("rejected", "structure", f"{left.assigned} = … is not {right.assigned} = …")
    if (left.kind, right.kind) in _MIXED_KINDS:
        return _MIXED_KINDS[left.kind, right.kind](left, right)
    if (right.kind, left.kind) in _MIXED_KINDS:
        return _MIXED_KINDS[right.kind, left.kind](right, left)
    if left.kind != right.kind:
        return outcome("rejected", "structure", f"a {left.kind} is not a {right.kind}")
    if left.kind == "equation":
        return _same_equation(left.items[0], right.items[0])
    if left.kind == "expr":
        if left.stated is not None and right.stated is None:
            return same_stated(right.items[0], left.items[0], left.stated)
        return same_stated(left.items[0], right.items[0], right.stated)
    if left.kind == "text":
        ok = left.items == right.items
        return outcome("verified" if ok else "rejected", "text", None if ok else "different text")
    if left.kind == "interval" and (left.left_open, left.right_open) != (
        right.left_open,
        right.right_open,
    ):
        return outcome("rejected", "interval", "different endpoints included")
    if left.kind in ("set", "union"):
        return _same_unordered(left.items, right.items)
    return _same_sequence(left.items, right.items)


def _interval_and_tuple(interval: Value, pair: Value) -> Verdict:
    """``(a, b)`` reads as a point or an open interval, so it equals only an open one."""
    if not (interval.left_open and interval.right_open):
        return outcome("rejected", "interval", "(a, b) is open; the interval includes an endpoint")
    return _same_sequence(interval.items, pair.items)


def _text_and_expr(text: Value, expr: Value) -> Verdict:
    """A text answer against letters: the same word, ignoring case and spacing."""
    ok = text.items[0] in (expr.word, _text_key(sp.sstr(expr.items[0])))
    return outcome("verified" if ok else "rejected", "text", None if ok else "different text")


def _equation_and_expr(equation: Value, expr: Value) -> Verdict:
    """``x = 5`` (read as the value 5, for `x`) against an equation such as ``5 = x``."""
    if not expr.assigned:
        return outcome("rejected", "structure", "a equation is not a expr")
    return _same_equation(equation.items[0], sp.Symbol(expr.assigned) - expr.items[0])


_MIXED_KINDS: dict[tuple[str, str], Callable[[Value, Value], Verdict]] = {
    ("interval", "tuple"): _interval_and_tuple,
    ("text", "expr"): _text_and_expr,
    ("equation", "expr"): _equation_and_expr,
}


def _same_equation(left: Any, right: Any) -> Verdict:
    """Equations are equal when one side-difference is a nonzero constant multiple of the other."""
    ratio = sp.simplify(left / right) if right != 0 else None
    if ratio is not None and not ratio.free_symbols and ratio != 0 and ratio.is_finite:
        return outcome("verified", "equation (proportional)")
    return outcome("rejected", "equation", "the equations are not multiples of each other")


def _same_sequence(left: tuple[Any, ...], right: tuple[Any, ...]) -> Verdict:
    if len(left) != len(right):
        return outcome("rejected", "structure", f"{len(left)} items, not {len(right)}")
    outcomes = [same_value(a, b) for a, b in zip(left, right, strict=True)]
    return _combine(outcomes)


def _same_unordered(left: tuple[Any, ...], right: tuple[Any, ...]) -> Verdict:
    if len(left) != len(right):
        return outcome("rejected", "structure", f"{len(left)} items, not {len(right)}")
    remaining = list(right)
    outcomes = []
    for item in left:
        match = next(
            (
                (i, o)
                for i, r in enumerate(remaining)
                if (o := same_value(item, r)).status == "verified"
            ),
            None,
        )
        if match is None:
            return outcome("rejected", "structure", "no matching item for one element")
        outcomes.append(match[1])
        remaining.pop(match[0])
    return _combine(outcomes)


def _combine(outcomes: list[Verdict]) -> Verdict:
    for status in ("rejected", "unverifiable"):
        bad = [o for o in outcomes if o.status == status]
        if bad:
            return bad[0]
    methods = sorted({o.method for o in outcomes})
    return outcome("verified", " + ".join(methods) or "structure")


def to_plain(value: Value) -> str:
    """Render a value in plain SymPy syntax that `parse_value` reads back."""
    if value.kind == "expr":
        return str(sp.sstr(value.items[0]))
    if value.kind == "text":
        return f"\\text{{{value.items[0]}}}"
    if value.kind == "equation":
        return f"{sp.sstr(value.items[0])} = 0"
    inner = ", ".join(to_plain(v) for v in value.items)
    if value.kind == "tuple":
        return f"({inner})"
    if value.kind == "interval":
        open_, close = "(" if value.left_open else "[", ")" if value.right_open else "]"
        prefix = "x \\in " if open_ == "[" and close == "]" else ""
        return f"{prefix}{open_}{inner}{close}"
    if value.kind == "union":
        return " \\cup ".join(to_plain(v) for v in value.items)
    return f"[{inner}]"
