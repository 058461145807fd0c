"""Deciding whether two SymPy expressions are equal, without being fooled by magnitude.

- Exact inputs compare exactly: integers and rationals of any size by value, other
  exact constants by a symbolic proof or an adaptive-precision evaluation of their
  difference (a nonzero difference is found however tiny or huge it is).
- ``oo``, ``-oo``, ``zoo`` and ``nan`` equal only themselves.
- A decimal the answer states (``0.333``) matches a value that rounds to it at its last
  stated digit, when it states at least `MIN_ROUNDED_DIGITS` significant digits.
- Identities in variables are proved symbolically or tested at points spread over
  scales from 10^-3 to 10^3, each difference evaluated to the digits needed to tell it
  from zero, so a term that is tiny at some points is still seen at the others.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sympy as sp
from sympy.core.evalf import PrecisionExhausted

from trifecta.verdict import Status, Verdict, check_error

__all__ = ["MIN_ROUNDED_DIGITS", "Stated", "outcome", "same", "same_stated"]

MIN_ROUNDED_DIGITS = 3
_POINTS = 16
_PROBES = 2  # points tried before simplifying: most unequal pairs differ at the first
_MAX_DIGITS = 300  # working precision tried before a difference counts as zero
_SPECIAL = (sp.oo, -sp.oo, sp.zoo, sp.nan)
_SCALES = (
    sp.Rational(1, 1000),
    sp.Rational(1, 10),
    sp.Integer(1),
    sp.Integer(10),
    sp.Integer(1000),
)


@dataclass(frozen=True)
class Stated:
    """How precise a decimal answer is as written: half a unit of its last stated digit,
    and its significant digits (the value itself is the answer's expression)."""

    half_unit: Any
    digits: int


def outcome(status: Status, method: str, error: str | None = None) -> Verdict:
    """A check's verdict; its one error, if any, names the method as its rule."""
    return Verdict(status, method, errors=(check_error(method, error),) if error else ())


def _show(expr: Any) -> str:
    try:
        text = str(sp.sstr(expr))
    except ValueError:  # an integer past the interpreter's 4,300-digit str limit
        if not expr.is_Rational:
            return "an expression with a number too long to print"
        return f"a number of about {int(abs(expr.p).bit_length() * 0.30103)} digits"
    return text if len(text) <= 60 else f"{text[:28]}…{text[-28:]} ({len(text)} chars)"


def _numeric(expr: Any) -> str:
    try:
        return str(sp.N(expr, 12))
    except (TypeError, ValueError, PrecisionExhausted):
        return _show(expr)


def _is_special(expr: Any) -> bool:
    return bool(expr.is_infinite) or expr.has(*_SPECIAL)


def _zero(expr: Any, *, prove: bool = True) -> bool | None:
    """Whether a constant is zero: True, False, or None when no digit count up to
    `_MAX_DIGITS` tells it from zero and SymPy cannot prove it either way (with
    ``prove=False``, agreement to `_MAX_DIGITS` digits counts as zero)."""
    if expr == 0:
        return True
    if expr.has(*_SPECIAL):
        return False
    try:
        value = expr.evalf(15, maxn=_MAX_DIGITS, strict=True)
    except PrecisionExhausted:
        return _proved_zero(expr) if prove else True
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return None if not value.is_number else value == 0


def _proved_zero(expr: Any) -> bool | None:
    if sp.simplify(expr) == 0:
        return True
    proved = expr.equals(0)
    return proved if isinstance(proved, bool) else None


def same(left: Any, right: Any, note: str = "") -> Verdict:
    """Decide left == right for SymPy expressions: exactly, symbolically, then at points."""
    what = f"{note}: " if note else ""
    if left == right:
        return outcome("verified", "exact")
    if _is_special(left) or _is_special(right):
        shown = f"{_show(left)} is not {_show(right)}"
        return outcome(
            "rejected", "exact", f"{what}{shown}; infinities and nan equal only themselves"
        )
    difference = left - right
    if not difference.free_symbols and (left.free_symbols or right.free_symbols):
        return _constant_gap(sp.simplify(difference), what)
    if not difference.free_symbols:
        return _same_number(left, right, what)
    probed = _probe(left, right, difference, what)
    if probed is not None:
        return probed
    simplified = sp.simplify(difference)
    if simplified == 0:
        return outcome("verified", "symbolic")
    if not simplified.free_symbols:
        return _constant_gap(simplified, what)
    return _same_at_points(left, right, difference, what)


def _constant_gap(gap: Any, what: str) -> Verdict:
    zero = _zero(gap)
    if zero:
        return outcome("verified", "symbolic")
    if zero is None:
        return outcome("unverifiable", "symbolic", f"{what}cannot decide whether {_show(gap)} is 0")
    return outcome("rejected", "symbolic", f"{what}they differ by the constant {_show(gap)}")


def _same_number(left: Any, right: Any, what: str) -> Verdict:
    if left.has(sp.Float) or right.has(sp.Float):
        return _same_float(left, right, what)
    if left.is_Rational and right.is_Rational:
        return outcome("rejected", "exact", f"{what}{_show(left)} is not {_show(right)}")
    zero = _zero(left - right)
    if zero:
        return outcome("verified", "exact")
    if zero is None:
        return outcome(
            "unverifiable",
            "exact",
            f"{what}{_show(left)} and {_show(right)} agree to {_MAX_DIGITS} digits; no proof",
        )
    return outcome(
        "rejected", "exact", f"{what}{_show(left)} = {_numeric(left)}, not {_numeric(right)}"
    )


def _same_float(left: Any, right: Any, what: str) -> Verdict:
    """A computed float (numeric quadrature) against a value: relative to its precision."""
    floats = left.atoms(sp.Float) | right.atoms(sp.Float)
    digits = min(f._prec for f in floats) * 0.30103
    tolerance = sp.Float(10) ** -max(int(digits) - 5, 6)
    a, b = sp.N(left, 40), sp.N(right, 40)
    if not (a.is_number and b.is_number) or _is_special(a) or _is_special(b):
        return outcome("unverifiable", "numeric", f"{what}cannot evaluate {_show(left)}")
    if abs(a - b) <= tolerance * max(abs(a), abs(b)):
        return outcome("verified", f"numeric (relative {sp.N(tolerance, 2)})")
    return outcome("rejected", "numeric", f"{what}{_numeric(a)} is not {_numeric(b)}")


def same_stated(truth: Any, answer: Any, stated: Stated | None, note: str = "") -> Verdict:
    """`same`, then, for an answer written as a decimal, whether `truth` rounds to it."""
    result = same(truth, answer, note)
    if result.status == "verified" or stated is None or truth.free_symbols:
        return result
    if stated.digits < MIN_ROUNDED_DIGITS or _is_special(truth):
        return result
    gap = abs(truth - answer) - stated.half_unit
    try:
        over = gap.evalf(15, maxn=_MAX_DIGITS, strict=True) > 0
    except PrecisionExhausted:
        over = False  # exactly half a unit away: rounds either way
    except (TypeError, ValueError):
        return result
    if over:
        return result
    return outcome("verified", f"rounded ({stated.digits} significant digits stated)")


def _points(symbols: list[Any], count: int) -> Iterator[dict[Any, Any]]:
    """Every sign pattern of the free variables first (branch cuts hide in one quadrant),
    then random points over several scales; assumptions (positive, integer, ...) hold."""
    rng = random.Random(20240601)
    free = [
        s
        for s in symbols
        if not (s.is_positive or s.is_negative or s.is_nonnegative or s.is_nonpositive)
    ]
    patterns = list(itertools.product((1, -1), repeat=min(len(free), 4))) or [()]
    for index in range(count):
        fixed = patterns[index % len(patterns)] if index < 2 * len(patterns) else ()
        signs = {s: fixed[i] if i < len(fixed) else rng.choice((1, -1)) for i, s in enumerate(free)}
        scale = _SCALES[index % len(_SCALES)] if index >= len(patterns) else sp.Integer(1)
        yield {
            s: _magnitude(s, rng, scale)
            * signs.get(s, -1 if s.is_negative or s.is_nonpositive else 1)
            for s in symbols
        }


def _magnitude(symbol: Any, rng: random.Random, scale: Any) -> Any:
    if symbol.is_integer:
        return sp.Integer(rng.randint(2, 9) * max(1, int(scale)))
    return sp.Rational(rng.randint(13, 300), 100) * scale


def _gap_at(difference: Any, point: dict[Any, Any]) -> Any | None:
    """The difference at `point`; None where it is undefined there."""
    gap = difference.subs(point)
    return None if _is_special(gap) or not gap.is_number else gap


def _differs(left: Any, right: Any, point: dict[Any, Any], what: str) -> Verdict:
    shown = ", ".join(f"{k}={v}" for k, v in point.items())
    return outcome(
        "rejected",
        "numeric (points)",
        f"{what}differs at {shown}: {_numeric(left.subs(point))} vs {_numeric(right.subs(point))}",
    )


def _probe(left: Any, right: Any, difference: Any, what: str) -> Verdict | None:
    """Before simplifying (which costs far more than evaluating): a counterexample at the
    first `_PROBES` points whose differences are not one constant (a constant gap is
    left to `_constant_gap`, which names it); None when there is none."""
    symbols = sorted(difference.free_symbols, key=str)
    points = list(_points(symbols, _PROBES))
    gaps = [_gap_at(difference, point) for point in points]
    first, second = gaps
    if first is None or second is None or _zero(first - second, prove=False) is not False:
        return None
    nonzero = points[0] if _zero(first, prove=False) is False else points[1]
    return _differs(left, right, nonzero, what)


def _same_at_points(left: Any, right: Any, difference: Any, what: str) -> Verdict:
    symbols = sorted(difference.free_symbols, key=str)
    tested = 0
    for point in _points(symbols, _POINTS * 4):
        gap = _gap_at(difference, point)
        if gap is None:
            continue
        zero = _zero(gap, prove=False)
        if zero is False:
            return _differs(left, right, point, what)
        tested += zero is True
        if tested == _POINTS:
            return outcome(
                "verified", f"numeric ({_POINTS} points, scales 1e-3..1e3, {_MAX_DIGITS} digits)"
            )
    return outcome("unverifiable", "numeric", f"{what}could not evaluate at enough points")
