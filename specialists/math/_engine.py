"""SymPy work that runs inside an isolated worker: computing and checking claims.

A claim is a dict: ``{"kind", "expr", "answer", "var"?, "lower"?, "upper"?, "point"?}``.
Everything crossing the process boundary is plain strings and dicts.
"""

from __future__ import annotations

import random
from typing import Any

import sympy as sp

from trifecta.specialists.math._expr import ExprError, parse_expr

__all__ = ["CLAIM_KINDS", "check_claim", "compute", "parse_answer"]

CLAIM_KINDS = (
    "value", "equal", "solve", "derivative", "antiderivative", "integral", "limit",
)  # fmt: skip
_REL_TOL = 1e-9
_POINTS = 8


def _var(claim: dict[str, Any], expr: Any) -> Any:
    if claim.get("var"):
        return sp.Symbol(str(claim["var"]))
    free = sorted(expr.free_symbols, key=str)
    return free[0] if len(free) == 1 else sp.Symbol("x")


def _equation(text: str) -> Any:
    if text.count("=") == 1:
        lhs, rhs = text.split("=")
        return parse_expr(lhs) - parse_expr(rhs)
    return parse_expr(text)


def parse_answer(text: str) -> Any:
    """Parse an answer: an expression, or ``var = expr``."""
    text = str(text).strip()
    if text.count("=") == 1 and text.split("=")[0].strip().isidentifier():
        text = text.split("=")[1]
    return parse_expr(text)


def _parse_set(text: str) -> list[Any]:
    inner = str(text).strip().strip("[]{}()")
    parts = [p for p in inner.replace(" or ", ",").split(",") if p.strip()]
    return [parse_answer(p) for p in parts]


def compute(claim: dict[str, Any]) -> dict[str, Any]:
    """Fill in ``answer`` for a claim by computing it with SymPy."""
    kind = claim["kind"]
    expr = _equation(claim["expr"]) if kind == "solve" else parse_expr(claim["expr"])
    var = _var(claim, expr)
    if kind == "integral":
        result = sp.integrate(expr, (var, parse_expr(claim["lower"]), parse_expr(claim["upper"])))
    elif kind == "antiderivative":
        result = sp.integrate(expr, var)
    elif kind == "derivative":
        result = sp.diff(expr, var)
    elif kind == "limit":
        result = sp.limit(expr, var, parse_expr(claim["point"]))
    elif kind == "solve":
        roots = sp.solveset(expr, var, domain=sp.S.Complexes)
        if not isinstance(roots, sp.FiniteSet):
            raise ValueError(f"solution set is not finite: {roots}")
        return {**claim, "var": str(var), "answer": "[" + ", ".join(map(sp.sstr, roots)) + "]"}
    else:
        result = _transform(claim.get("op", "simplify"), expr)
    if result.has(sp.Integral, sp.Limit):
        raise ValueError("no closed form found")
    return {**claim, "var": str(var), "answer": sp.sstr(result)}


def _transform(op: str, expr: Any) -> Any:
    if op == "factor":
        return sp.factor(expr)
    if op == "expand":
        return sp.expand(expr)
    return sp.nsimplify(expr) if expr.is_number and not expr.has(sp.Float) else sp.simplify(expr)


def check_claim(claim: dict[str, Any]) -> dict[str, Any]:
    """Check one claim; returns ``{"status", "method", "errors"}``."""
    try:
        return _check(claim)
    except (ExprError, KeyError, TypeError, ValueError) as exc:
        message = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        return {"status": "rejected", "method": "parse", "errors": [message]}
    except (NotImplementedError, ZeroDivisionError, AttributeError, RecursionError) as exc:
        return {"status": "unverifiable", "method": "sympy", "errors": [repr(exc)]}


def _check(claim: dict[str, Any]) -> dict[str, Any]:
    kind = claim.get("kind")
    if kind not in CLAIM_KINDS:
        raise ValueError(f"unknown claim kind {kind!r}; expected one of {', '.join(CLAIM_KINDS)}")
    if kind == "solve":
        return _check_solve(claim)
    expr = parse_expr(claim["expr"])
    answer = parse_answer(claim["answer"])
    var = _var(claim, expr)
    if kind == "integral":
        return _check_integral(expr, var, claim, answer)
    if kind == "derivative":
        return _same(sp.diff(expr, var), answer)
    if kind == "antiderivative":
        return _same(sp.diff(answer, var), expr, note="derivative of the answer")
    if kind == "limit":
        return _same(sp.limit(expr, var, parse_expr(claim["point"])), answer)
    return _same(expr, answer)


def _verdict(status: str, method: str, error: str | None = None) -> dict[str, Any]:
    return {"status": status, "method": method, "errors": [error] if error else []}


def _same(left: Any, right: Any, note: str = "") -> dict[str, Any]:
    """Decide left == right: exactly, symbolically, then at random points."""
    what = f"{note}: " if note else ""
    difference = left - right
    if not difference.free_symbols:
        return _same_number(left, right, what)
    if sp.simplify(difference) == 0:
        return _verdict("verified", "symbolic")
    return _same_at_points(left, right, difference, what)


def _same_number(left: Any, right: Any, what: str) -> dict[str, Any]:
    exact = not left.has(sp.Float) and not right.has(sp.Float)
    if exact and sp.simplify(left - right) == 0:
        return _verdict("verified", "exact")
    try:
        a, b = complex(sp.N(left, 30)), complex(sp.N(right, 30))
    except (TypeError, ValueError):
        return _verdict("unverifiable", "numeric", f"{what}cannot evaluate {left} or {right}")
    if abs(a - b) <= _REL_TOL * max(1.0, abs(a), abs(b)):
        return _verdict("verified", "numeric (relative 1e-9)")
    return _verdict(
        "rejected",
        "numeric",
        f"{what}{sp.sstr(left)} = {_fmt(a)}, not {sp.sstr(right)} = {_fmt(b)}",
    )


def _fmt(z: complex) -> str:
    return f"{z.real:.12g}" if abs(z.imag) < 1e-12 else f"{z:.12g}"


def _same_at_points(left: Any, right: Any, difference: Any, what: str) -> dict[str, Any]:
    rng = random.Random(20240601)
    symbols = sorted(difference.free_symbols, key=str)
    tested = 0
    for _ in range(_POINTS * 3):
        point = {s: sp.Rational(rng.randint(-300, 300), 100) for s in symbols}
        try:
            a, b = complex(sp.N(left.subs(point))), complex(sp.N(right.subs(point)))
        except (TypeError, ValueError, ZeroDivisionError):
            continue
        if abs(a - b) > 1e-7 * max(1.0, abs(a), abs(b)):
            shown = ", ".join(f"{k}={v}" for k, v in point.items())
            return _verdict(
                "rejected",
                "numeric (random points)",
                f"{what}differs at {shown}: {_fmt(a)} vs {_fmt(b)}",
            )
        tested += 1
        if tested == _POINTS:
            return _verdict("verified", f"numeric ({_POINTS} random points)")
    return _verdict("unverifiable", "numeric", f"{what}could not evaluate at enough points")


def _check_integral(expr: Any, var: Any, claim: dict[str, Any], answer: Any) -> dict[str, Any]:
    lower, upper = parse_expr(claim["lower"]), parse_expr(claim["upper"])
    if lower.is_finite and upper.is_finite and not expr.free_symbols - {var}:
        try:
            value = sp.Integral(expr, (var, lower, upper)).evalf(30)
            if value.is_number:
                outcome = _same_number(sp.Float(value, 30), answer, "")
                outcome["method"] = "numeric quadrature, " + outcome["method"]
                return outcome
        except (TypeError, ValueError):
            pass
    return _same(sp.integrate(expr, (var, lower, upper)), answer)


def _check_solve(claim: dict[str, Any]) -> dict[str, Any]:
    equation = _equation(claim["expr"])
    var = _var(claim, equation)
    claimed = _parse_set(claim["answer"])
    for value in claimed:
        residual = sp.simplify(equation.subs(var, value))
        if residual != 0:
            return _verdict("rejected", "substitution", f"{var} = {value} gives {residual}, not 0")
    roots = sp.solveset(equation, var, domain=sp.S.Complexes)
    if not isinstance(roots, sp.FiniteSet):
        return _verdict(
            "unverifiable", "substitution", "every value solves it; completeness unknown"
        )
    missing = [r for r in roots if not any(sp.simplify(r - c) == 0 for c in claimed)]
    if missing:
        return _verdict(
            "rejected", "solveset", f"missing solutions: {', '.join(map(sp.sstr, missing))}"
        )
    return _verdict("verified", "substitution and solveset")


def check_claims(claims: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Check several claims in one worker."""
    return [check_claim(claim) for claim in claims]
