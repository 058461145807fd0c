"""SymPy work that runs inside an isolated worker: computing and checking claims.

A claim is a dict: ``{"kind", "expr", "answer", "var"?, "lower"?, "upper"?, "point"?}``.
Everything crossing the process boundary is plain strings, lists and dicts.
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from trifecta.specialists.math._expr import ExprError, parse_expr
from trifecta.specialists.math._values import Outcome, Value, assume, parse_value, same, same_value

__all__ = ["CLAIM_KINDS", "check_claim", "check_claims", "compute"]

CLAIM_KINDS = (
    "value", "equal", "solve", "derivative", "antiderivative", "integral", "limit", "series",
)  # fmt: skip


def _verdict(status: str, method: str, error: str | None = None) -> Outcome:
    return {"status": status, "method": method, "errors": [error] if error else []}


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


def _expr_answer(text: str) -> Any:
    value = parse_value(text)
    if value.kind != "expr":
        raise ExprError(f"expected one expression, got a {value.kind}")
    return value.items[0]


def compute(claim: dict[str, Any]) -> dict[str, Any]:
    """Fill in ``answer`` for a claim by computing it with SymPy."""
    kind = claim["kind"]
    if kind == "solve":
        return _compute_solve(claim)
    expr = parse_expr(claim["expr"])
    var = _var(claim, expr)
    if kind == "integral":
        result = sp.integrate(expr, (var, parse_expr(claim["lower"]), parse_expr(claim["upper"])))
    elif kind == "antiderivative":
        result = sp.integrate(expr, var)
    elif kind == "derivative":
        result = sp.diff(expr, var)
    elif kind == "limit":
        result = sp.limit(expr, var, parse_expr(claim["point"]))
    elif kind == "series":
        result = _series(expr, var, claim)
    else:
        result = _transform(claim.get("op", "simplify"), expr)
    if result.has(sp.Integral, sp.Limit):
        raise ValueError("no closed form found")
    return {**claim, "var": str(var), "answer": sp.sstr(result)}


def _series(expr: Any, var: Any, claim: dict[str, Any]) -> Any:
    point = parse_expr(str(claim.get("point", "0")))
    order = int(claim.get("order", 6))
    if not 1 <= order <= 50:
        raise ValueError("series order must be between 1 and 50")
    return sp.series(expr, var, point, order).removeO()


def _compute_solve(claim: dict[str, Any]) -> dict[str, Any]:
    equations = _equations(claim)
    symbols = _symbols(claim, *equations)
    if len(equations) == 1 and len(symbols) == 1:
        roots = sp.solveset(equations[0], symbols[0], domain=sp.S.Complexes)
        if not isinstance(roots, sp.FiniteSet):
            raise ValueError(f"solution set is not finite: {roots}")
        answer = "[" + ", ".join(map(sp.sstr, roots)) + "]"
    else:
        found = sp.solve(equations, symbols, dict=True)
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
    exprs = claim["expr"] if isinstance(claim["expr"], list) else [claim["expr"]]
    return [_equation(str(e)) for e in exprs]


def _transform(op: str, expr: Any) -> Any:
    if op == "factor":
        return sp.factor(expr)
    if op == "expand":
        return sp.expand(expr)
    if expr.is_number:
        return sp.nsimplify(expr, rational=True)  # decimals as typed are exact: 12.5% of 64 is 8
    return sp.simplify(expr)


def check_claim(claim: dict[str, Any]) -> dict[str, Any]:
    """Check one claim; returns ``{"status", "method", "errors"}``."""
    try:
        return _check(claim)
    except (ExprError, KeyError, TypeError, ValueError, IndexError) as exc:
        message = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        return _verdict("rejected", "parse", message)
    except (
        NotImplementedError,
        ZeroDivisionError,
        AttributeError,
        RecursionError,
        sp.PolynomialError,
    ) as exc:
        return _verdict("unverifiable", "sympy", repr(exc))


def check_claims(claims: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Check several claims in order."""
    return [check_claim(claim) for claim in claims]


def _check(claim: dict[str, Any]) -> dict[str, Any]:
    kind = claim.get("kind")
    if kind not in CLAIM_KINDS:
        raise ValueError(f"unknown claim kind {kind!r}; expected one of {', '.join(CLAIM_KINDS)}")
    if kind == "solve":
        return _check_solve(claim)
    assumptions = claim.get("assume") or {}
    if not isinstance(assumptions, dict):
        raise ValueError('"assume" must map variable names to assumptions, e.g. {"x": "positive"}')
    if kind in ("value", "equal"):
        left, right = parse_value(str(claim["expr"])), parse_value(str(claim["answer"]))
        return same_value(assume(left, assumptions), assume(right, assumptions))
    expr = _assumed(parse_expr(claim["expr"]), assumptions)
    answer = _assumed(_expr_answer(claim["answer"]), assumptions)
    var = _var(claim, expr)
    if kind == "integral":
        return _check_integral(expr, var, claim, answer)
    if kind == "derivative":
        return same(sp.diff(expr, var), answer)
    if kind == "antiderivative":
        return same(sp.diff(answer, var), expr, note="derivative of the answer")
    if kind == "series":
        return same(_series(expr, var, claim), sp.expand(answer))
    return same(sp.limit(expr, var, parse_expr(claim["point"])), answer)


def _assumed(expr: Any, assumptions: dict[str, str]) -> Any:
    return assume(Value("expr", (expr,)), assumptions).items[0] if assumptions else expr


def _check_integral(expr: Any, var: Any, claim: dict[str, Any], answer: Any) -> dict[str, Any]:
    lower, upper = parse_expr(claim["lower"]), parse_expr(claim["upper"])
    if lower.is_finite and upper.is_finite and not expr.free_symbols - {var}:
        value = sp.Integral(expr, (var, lower, upper)).evalf(30)
        if value.is_number:
            outcome = (
                same(sp.Float(value, 30), sp.Float(sp.N(answer, 30), 30))
                if answer.is_number
                else same(value, answer)
            )
            outcome["method"] = "numeric quadrature"
            return outcome
    return same(sp.integrate(expr, (var, lower, upper)), answer)


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


def _check_solve(claim: dict[str, Any]) -> dict[str, Any]:
    equations = _equations(claim)
    symbols = _symbols(claim, *equations)
    claimed = _solutions(str(claim["answer"]), symbols)
    for solution in claimed:
        for equation in equations:
            residual = sp.simplify(equation.subs(solution))
            if residual != 0:
                shown = ", ".join(f"{k} = {v}" for k, v in solution.items())
                return _verdict("rejected", "substitution", f"{shown} gives {residual}, not 0")
    return _complete(equations, symbols, claimed)


def _complete(
    equations: list[Any], symbols: list[Any], claimed: list[dict[Any, Any]]
) -> dict[str, Any]:
    if len(equations) == 1 and len(symbols) == 1:
        roots = sp.solveset(equations[0], symbols[0], domain=sp.S.Complexes)
        if not isinstance(roots, sp.FiniteSet):
            return _verdict(
                "unverifiable", "substitution", "the claimed values solve it; completeness unknown"
            )
        truth = [{symbols[0]: r} for r in roots]
    else:
        truth = sp.solve(equations, symbols, dict=True)
    missing = [
        t
        for t in truth
        if not any(all(sp.simplify(t[s] - c.get(s, sp.nan)) == 0 for s in t) for c in claimed)
    ]
    if missing:
        shown = "; ".join(", ".join(f"{k} = {sp.sstr(v)}" for k, v in m.items()) for m in missing)
        return _verdict("rejected", "solve", f"missing solutions: {shown}")
    return _verdict("verified", "substitution and solveset")
