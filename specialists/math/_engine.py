"""SymPy work that runs inside an isolated worker: computing and checking claims.

A claim is a dict: ``{"kind", "expr", "answer", "var"?, "lower"?, "upper"?, "point"?}``;
``"at"`` (``{"x": "2"}``) evaluates a value or a derivative at a point, ``"order"`` is a
derivative's order or a series' order, ``"domain": "real"`` refuses an answer that is not
real (a solution set with a complex root included). A check returns a `Verdict`; everything
else crossing the process boundary is plain strings, lists and dicts.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import mpmath
import sympy as sp

from trifecta.errors import TrifectaError
from trifecta.specialists.math._equal import outcome, same, same_stated
from trifecta.specialists.math._expr import ExprError, must_be_nonzero, parse_expr
from trifecta.specialists.math._lists import LIST_KINDS, check_list, compute_list
from trifecta.specialists.math._values import Value, assume, parse_value, same_value
from trifecta.verdict import Verdict

__all__ = ["CLAIM_KINDS", "check_claim", "compute"]

CLAIM_KINDS = (
    "value", "equal", "solve", "derivative", "antiderivative", "integral", "limit", "series",
    *LIST_KINDS,
)  # fmt: skip
MAX_DERIVATIVE_ORDER = 20


def _symbols(claim: dict[str, Any], *exprs: Any) -> list[Any]:
    names = claim.get("var")
    if names:
        return [sp.Symbol(str(n)) for n in (names if isinstance(names, list) else [names])]
    free = sorted(set().union(*(e.free_symbols for e in exprs)), key=str)
    return free if free else [sp.Symbol("x")]


def _var(claim: dict[str, Any], expr: Any) -> Any:
    return _symbols(claim, expr)[0]


def _equation(text: str) -> Any:
    if text.count("=") == 1:
        lhs, rhs = text.split("=")
        return parse_expr(lhs) - parse_expr(rhs)
    return parse_expr(text)


def _expr_answer(text: str) -> Value:
    value = parse_value(text)
    if value.kind != "expr":
        raise ExprError(f"expected one expression, got a {value.kind}")
    return value


class NoLimit(TrifectaError, ValueError):
    """The limit the claim names does not exist."""


_DIRECTIONS = {"+": "+", "-": "-", "+-": "+-", "": "+-"}


def _limit(expr: Any, var: Any, claim: dict[str, Any]) -> Any:
    """The limit the claim names: two-sided unless ``"dir"`` is ``"+"`` or ``"-"``.

    Raises:
        ValueError: the direction is unknown.
        NoLimit: the limit does not exist.
    """
    direction = _DIRECTIONS.get(str(claim.get("dir") or ""))
    if direction is None:
        raise ValueError(f'unknown limit direction {claim["dir"]!r}; expected "+", "-" or "+-"')
    point = parse_expr(claim["point"])
    try:
        result = sp.limit(expr, var, point, dir="+" if point.is_infinite else direction)
    except ValueError as exc:  # SymPy: "The limit does not exist since left hand limit = …"
        raise NoLimit(str(exc)) from None
    if result in (sp.zoo, sp.nan) or result.has(sp.AccumBounds, sp.Limit):
        side = "two-sided " if direction == "+-" and not point.is_infinite else ""
        raise NoLimit(f"the {side}limit does not exist ({sp.sstr(result)})")
    return result


def _at(claim: dict[str, Any], expr: Any) -> Any:
    """`expr` at the claim's point (``"at": {"x": "2"}``), or `expr` when it names none.

    Raises:
        ValueError: the point is malformed, or the expression is undefined there.
    """
    point = claim.get("at")
    if not point:
        return expr
    if not isinstance(point, dict):
        raise ValueError('"at" must map variable names to values, e.g. {"x": "2"}')
    pairs = {sp.Symbol(str(name)): parse_expr(str(value)) for name, value in point.items()}
    result = expr.subs(pairs, simultaneous=True)
    if result.has(sp.zoo, sp.nan, sp.oo, -sp.oo) or not _defined(str(claim["expr"]), pairs):
        shown = ", ".join(f"{k} = {v}" for k, v in point.items())
        raise ValueError(f"{claim['expr']} is undefined at {shown}")
    return result


def _defined(text: str, point: dict[Any, Any]) -> bool:
    """Whether `text` as written is defined at `point`: no divisor (nor base of a power
    of at most 0) is 0 there, which SymPy's own simplification (x/x to 1) would hide."""
    for part in must_be_nonzero(text):
        value = sp.simplify(part.subs(point, simultaneous=True))
        if value.is_zero is not False or value.has(sp.zoo, sp.nan):
            return False
    return True


def _real(result: Any) -> Any:
    """`result` when it is real (or holds variables but no imaginary unit).

    Raises:
        ValueError: a number that is not real, or an expression with the imaginary unit.
    """
    if result.has(sp.I) or (result.is_number and result.is_extended_real is not True):
        raise ValueError(f"{sp.sstr(result)} is not a real number (the request names no complex)")
    return result


def _derivative(claim: dict[str, Any], expr: Any, var: Any) -> Any:
    order = int(claim.get("order", 1))
    if not 1 <= order <= MAX_DERIVATIVE_ORDER:
        raise ValueError(f"derivative order must be between 1 and {MAX_DERIVATIVE_ORDER}")
    return _at(claim, sp.diff(expr, var, order))


def compute(claim: dict[str, Any]) -> dict[str, Any]:
    """Fill in ``answer`` for a claim by computing it with SymPy."""
    kind = claim["kind"]
    if kind in LIST_KINDS:
        return {**claim, "answer": compute_list(claim)}
    if kind == "solve":
        return _compute_solve(claim)
    expr = parse_expr(claim["expr"])
    var = _var(claim, expr)
    if kind == "integral":
        result = sp.integrate(expr, (var, parse_expr(claim["lower"]), parse_expr(claim["upper"])))
    elif kind == "antiderivative":
        result = sp.integrate(expr, var)
    elif kind == "derivative":
        result = _derivative(claim, expr, var)
    elif kind == "limit":
        result = _limit(expr, var, claim)
    elif kind == "series":
        result = _series(expr, var, claim)
    else:
        result = _transform(claim.get("op", "simplify"), _at(claim, expr))
    if claim.get("domain") == "real":
        _real(result)
    if result.has(sp.Integral, sp.Limit):
        raise ValueError("no closed form found")
    if result.has(sp.zoo, sp.nan):
        raise ValueError(f"the result is undefined ({sp.sstr(result)})")
    return {**claim, "var": str(var), "answer": sp.sstr(result)}


def _series(expr: Any, var: Any, claim: dict[str, Any]) -> Any:
    point = parse_expr(str(claim.get("point", "0")))
    order = int(claim.get("order", 6))
    if not 1 <= order <= 50:
        raise ValueError("series order must be between 1 and 50")
    right = sp.series(expr, var, point, order, dir="+").removeO()
    left = sp.series(expr, var, point, order, dir="-").removeO()
    shift = sp.Dummy("h")
    polynomial = sp.expand(right.subs(var, point + shift))
    if sp.simplify(right - left) != 0 or not polynomial.is_polynomial(shift):
        raise ValueError(f"{sp.sstr(expr)} has no Taylor series at {var} = {sp.sstr(point)}")
    return right


def _compute_solve(claim: dict[str, Any]) -> dict[str, Any]:
    equations = _equations(claim)
    symbols = _symbols(claim, *equations)
    if len(equations) == 1 and len(symbols) == 1:
        roots = sp.solveset(equations[0], symbols[0], domain=sp.S.Complexes)
        if not isinstance(roots, sp.FiniteSet):
            raise ValueError(f"solution set is not finite: {roots}")
        roots = [r for r in roots if _solves(claim, {symbols[0]: r})]
        if claim.get("domain") == "real":
            _real(sp.Tuple(*roots))
        answer = "[" + ", ".join(map(sp.sstr, roots)) + "]"
    else:
        found = [s for s in sp.solve(equations, symbols, dict=True) if _solves(claim, s)]
        if claim.get("domain") == "real":
            _real(sp.Tuple(*(v for s in found for v in s.values())))
        answer = (
            "["
            + ", ".join("(" + ", ".join(sp.sstr(s[v]) for v in symbols) + ")" for s in found)
            + "]"
        )
    return {
        **claim,
        "var": [str(s) for s in symbols] if len(symbols) > 1 else str(symbols[0]),
        "answer": answer,
    }


def _equations(claim: dict[str, Any]) -> list[Any]:
    return [_equation(e) for e in _equation_texts(claim)]


def _equation_texts(claim: dict[str, Any]) -> list[str]:
    exprs = claim["expr"] if isinstance(claim["expr"], list) else [claim["expr"]]
    return [str(e) for e in exprs]


def _solves(claim: dict[str, Any], solution: dict[Any, Any]) -> bool:
    """Whether every equation as written is defined at `solution` (x^2/x = 0 has no
    solution although SymPy simplifies it to x = 0)."""
    sides = [side for text in _equation_texts(claim) for side in text.split("=")]
    return all(_defined(side, solution) for side in sides)


def _transform(op: str, expr: Any) -> Any:
    if op == "factor":
        return sp.factor(expr)
    if op == "expand":
        return sp.expand(expr)
    if expr.is_number:
        return sp.nsimplify(expr, rational=True)  # decimals as typed are exact: 12.5% of 64 is 8
    return sp.simplify(expr)


def check_claim(claim: dict[str, Any]) -> Verdict:
    """Check one claim (in this process): verified, rejected or unverifiable, how, and
    the error that decided it."""
    try:
        return _check(claim)
    except NoLimit as exc:
        return outcome("rejected", "limit", str(exc))
    except (ExprError, KeyError, TypeError, ValueError, IndexError) as exc:
        message = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        return outcome("rejected", "parse", message)
    except (
        NotImplementedError,
        ZeroDivisionError,
        AttributeError,
        RecursionError,
        sp.PolynomialError,
    ) as exc:
        return outcome("unverifiable", "sympy", repr(exc))


def _check(claim: dict[str, Any]) -> Verdict:
    kind = claim.get("kind")
    if kind not in CLAIM_KINDS:
        raise ValueError(f"unknown claim kind {kind!r}; expected one of {', '.join(CLAIM_KINDS)}")
    if claim.get("domain") == "real":
        _real_answer(parse_value(str(claim["answer"])))
    if kind == "solve":
        return _check_solve(claim)
    if kind in LIST_KINDS:
        return check_list(claim)
    assumptions = claim.get("assume") or {}
    if not isinstance(assumptions, dict):
        raise ValueError('"assume" must map variable names to assumptions, e.g. {"x": "positive"}')
    if kind in ("value", "equal") and claim.get("at"):
        stated = assume(_expr_answer(claim["answer"]), assumptions)
        truth = _at(claim, _assumed(parse_expr(claim["expr"]), assumptions))
        return same_stated(truth, stated.items[0], stated.stated)
    if kind in ("value", "equal"):
        left, right = parse_value(str(claim["expr"])), parse_value(str(claim["answer"]))
        return same_value(assume(left, assumptions), assume(right, assumptions))
    expr = _assumed(parse_expr(claim["expr"]), assumptions)
    stated = assume(_expr_answer(claim["answer"]), assumptions)
    answer = stated.items[0]
    var = _var(claim, expr)
    if kind == "integral":
        return _check_integral(expr, var, claim, stated)
    if kind == "derivative":
        return same_stated(_derivative(claim, expr, var), answer, stated.stated)
    if kind == "antiderivative":
        return same(sp.diff(answer, var), expr, note="derivative of the answer")
    if kind == "series":
        return same(_series(expr, var, claim), sp.expand(answer))
    return same_stated(_limit(expr, var, claim), answer, stated.stated)


def _real_answer(value: Value) -> None:
    for item in value.items:
        if isinstance(item, Value):
            _real_answer(item)
        else:
            _real(item)


def _assumed(expr: Any, assumptions: dict[str, str]) -> Any:
    return assume(Value("expr", (expr,)), assumptions).items[0] if assumptions else expr


def _check_integral(expr: Any, var: Any, claim: dict[str, Any], stated: Value) -> Verdict:
    """SymPy's definite integral, else numeric quadrature where the integrand has no
    singularity; a divergent integral is rejected, not compared."""
    lower, upper = parse_expr(claim["lower"]), parse_expr(claim["upper"])
    answer = stated.items[0]
    exact = sp.integrate(expr, (var, lower, upper))
    if exact.has(sp.oo, -sp.oo, sp.zoo, sp.nan) or exact.is_infinite:
        return outcome("rejected", "integral", f"the integral diverges ({sp.sstr(exact)})")
    if not exact.has(sp.Integral):
        return same_stated(exact, answer, stated.stated)
    value = _quadrature(expr, var, lower, upper) if answer.is_number else None
    if value is None:
        return outcome("unverifiable", "integral", "no closed form and no reliable quadrature")
    result = same_stated(value, answer, stated.stated)
    return replace(result, method=f"numeric quadrature: {result.method}")


def _quadrature(expr: Any, var: Any, lower: Any, upper: Any) -> Any:
    """The integral to 30 digits when two quadrature rules agree on it, or None when it
    is improper (an infinite bound or a singularity inside) or they disagree."""
    if not (lower.is_finite and upper.is_finite) or expr.free_symbols - {var}:
        return None
    try:
        low, high = sorted((lower, upper), key=lambda b: float(b))
        if sp.singularities(expr, var, sp.Interval(low, high)):
            return None
        function = sp.lambdify(var, expr, modules="mpmath")
        with mpmath.workdps(40):
            bounds = [mpmath.mpf(str(sp.N(lower, 45))), mpmath.mpf(str(sp.N(upper, 45)))]
            first = mpmath.quad(function, bounds, method="tanh-sinh")
            second = mpmath.quad(function, bounds, method="gauss-legendre")
            if abs(first - second) > mpmath.mpf(10) ** -28 * max(abs(first), 1):
                return None
            return sp.Float(mpmath.re(first), 30) + sp.I * sp.Float(mpmath.im(first), 30)
    except (NotImplementedError, TypeError, ValueError, ZeroDivisionError):
        return None


def _solutions(text: str, symbols: list[Any]) -> list[dict[Any, Any]]:
    """Claimed solutions as substitutions: `[2, 3]`, `(2, 1)`, `[(2, 1)]`, `x = 2, y = 1`."""
    if "=" in text and len(symbols) > 1:
        pairs = [p.split("=") for p in str(text).strip("[]{}() ").split(",")]
        return [{sp.Symbol(k.strip()): parse_expr(v) for k, v in pairs}]
    value = parse_value(text)
    items = value.items if value.kind in ("set", "union") else (value,)
    out = []
    for item in items:
        values = (
            [v.items[0] for v in item.items]
            if item.kind in ("tuple", "interval")
            else [item.items[0]]
        )
        if len(values) != len(symbols):
            raise ValueError(f"a solution has {len(values)} values for {len(symbols)} variables")
        out.append(dict(zip(symbols, values, strict=True)))
    return out


def _check_solve(claim: dict[str, Any]) -> Verdict:
    equations = _equations(claim)
    symbols = _symbols(claim, *equations)
    claimed = _solutions(str(claim["answer"]), symbols)
    for solution in claimed:
        if not _solves(claim, solution):
            shown = ", ".join(f"{k} = {v}" for k, v in solution.items())
            return outcome("rejected", "substitution", f"the equations are undefined at {shown}")
        for equation in equations:
            residual = sp.simplify(equation.subs(solution))
            if residual != 0:
                shown = ", ".join(f"{k} = {v}" for k, v in solution.items())
                return outcome("rejected", "substitution", f"{shown} gives {residual}, not 0")
    return _complete(claim, equations, symbols, claimed)


def _complete(
    claim: dict[str, Any],
    equations: list[Any],
    symbols: list[Any],
    claimed: list[dict[Any, Any]],
) -> Verdict:
    if len(equations) == 1 and len(symbols) == 1:
        roots = sp.solveset(equations[0], symbols[0], domain=sp.S.Complexes)
        if not isinstance(roots, sp.FiniteSet):
            return outcome(
                "unverifiable", "substitution", "the claimed values solve it; completeness unknown"
            )
        truth = [{symbols[0]: r} for r in roots]
    else:
        truth = sp.solve(equations, symbols, dict=True)
    missing = [
        t
        for t in truth
        if _solves(claim, t)
        and not any(all(sp.simplify(t[s] - c.get(s, sp.nan)) == 0 for s in t) for c in claimed)
    ]
    if missing:
        shown = "; ".join(", ".join(f"{k} = {sp.sstr(v)}" for k, v in m.items()) for m in missing)
        return outcome("rejected", "solve", f"missing solutions: {shown}")
    return outcome("verified", "substitution and solveset")
