"""Requests of the grammar (`requests.lark`) as claims the engine computes.

Each task rule gathers its parts (the expression, a variable, bounds, a point, an
order) and builds one claim; a part that leaves the reading open (two free variables
and no "with respect to", a bound that holds the variable, a point that is not a number)
is refused with `Reject`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lark import Token

from trifecta.specialists.math._grammar_expr import (
    ATOM,
    PRODUCT,
    Ex,
    ExprTransformer,
    Reject,
    number_word,
    word_operands,
)

__all__ = ["ClaimTransformer"]

Claim = dict[str, Any]
_LIST_ITEM = re.compile(r"-?[\d.]+(/[\d.]+)?")
Relation = tuple[Ex, Ex]


@dataclass(frozen=True)
class Var:
    name: str


@dataclass(frozen=True)
class Relations:
    items: tuple[Relation, ...]


@dataclass(frozen=True)
class Bounds:
    lower: Ex
    upper: Ex


@dataclass(frozen=True)
class Bound:
    ex: Ex


@dataclass(frozen=True)
class Order:
    """A derivative's order, or a series' order (``O(x^n)``) and the variable it names."""

    n: int
    var: str = ""


@dataclass(frozen=True)
class Direction:
    sign: str


@dataclass(frozen=True)
class Center:
    point: Ex
    var: str = ""


@dataclass(frozen=True)
class Equations:
    exprs: tuple[Ex, ...]


@dataclass(frozen=True)
class Items:
    exprs: tuple[Ex, ...]


def _only(children: list[Any], kind: type) -> list[Any]:
    return [c for c in children if isinstance(c, kind)]


def _one(children: list[Any], kind: type) -> Any:
    found = _only(children, kind)
    if len(found) > 1:
        raise Reject(f"more than one {kind.__name__}")
    return found[0] if found else None


def _token(children: list[Any], name: str) -> str:
    return next((str(c).lower() for c in children if isinstance(c, Token) and c.type == name), "")


def _number(ex: Ex) -> str:
    """The text of an expression that must be a number (no variables, no calls)."""
    if ex.free or ex.call is not None:
        raise Reject(f"{ex.text} is not a number")
    return ex.text


def _variable(ex: Ex, given: str = "", *, default: str = "x") -> str:
    """The variable of `ex`: the one given, else its only free variable."""
    if ex.call is not None:
        raise Reject("a function call such as f(3) as an operand")
    if given:
        return given
    if len(ex.free) > 1:
        raise Reject(f"{ex.text} has several variables and none is named")
    return next(iter(ex.free), default)


def _point(relations: Relations | None, allowed: frozenset[str]) -> dict[str, str]:
    """``{"x": "2"}`` from "at x = 2, y = 3": each side a named variable and a number."""
    if relations is None:
        return {}
    point: dict[str, str] = {}
    for left, right in relations.items:
        if not left.lone or left.lone in point or left.lone not in allowed:
            raise Reject(f"{left.text} = … is not a point of a named variable")
        point[left.lone] = _number(right)
    return point


def _items(items: Items) -> list[str]:
    """The numbers of a list: each a number, a fraction or a bracket ("1, 2 and 3 plus
    4" could end in 7 or add 4 to the result)."""
    if any(e.grouped for e in items.exprs):
        raise Reject("a list with a number written 1,000 (a separator or a list?)")
    if not all(e.prec == ATOM or _LIST_ITEM.fullmatch(e.text) for e in items.exprs):
        raise Reject("a list item with an operation outside brackets")
    return [_number(e) for e in items.exprs]


def _percent(part: Ex, whole: Ex) -> Claim:
    return {"kind": "value", "expr": f"({_number(part)})/({_number(whole)})*100"}


class ClaimTransformer(ExprTransformer):
    """Tree of a whole request to its claim (a dict), or `Reject`."""

    def start(self, children: list[Any]) -> Claim:
        claim = children[-1]
        if not isinstance(claim, dict):
            raise Reject("not a request")
        return claim

    def var(self, children: list[Token]) -> Var:  # type: ignore[override]
        return Var(super().var(children))

    def relation(self, children: list[Any]) -> Relation:
        left, right = children
        return left, right

    def relations(self, children: list[Any]) -> Relations:
        return Relations(tuple(children))

    def one_relation(self, children: list[Any]) -> Relations:
        return Relations(tuple(children))

    def items(self, children: list[Any]) -> Items:
        return Items(tuple(children))

    def value(self, children: list[Any]) -> Claim:
        return {"kind": "value", "expr": _number(children[0])}

    def adjusted(self, children: list[Any]) -> Claim:
        amount, percent = word_operands(children)
        sign = "-" if _token(children, "ADJUST") == "decreased" else "+"
        return self.value([Ex(f"{_number(amount)}*(1 {sign} {percent.text}/100)", PRODUCT)])

    def conditional(self, children: list[Any]) -> Claim:
        relations = _one(children, Relations)
        target = _only(children, Ex)[0]
        if target.call is not None:
            return _function_value(target, relations)
        lefts = [left for left, _ in relations.items]
        if target.lone and any(not left.lone or right.free for left, right in relations.items):
            return _solve_for(target.lone, relations)
        point = _point(relations, frozenset(left.lone for left in lefts))
        if not target.free <= set(point):
            raise Reject(f"{target.text} keeps a variable the point does not fix")
        return {"kind": "value", "expr": target.text, "at": point}

    def whole_first(self, children: list[Any]) -> Claim:
        whole, part = _only(children, Ex)
        return _percent(part, whole)

    def part_first(self, children: list[Any]) -> Claim:
        part, whole = _only(children, Ex)
        return _percent(part, whole)

    def pct_change(self, children: list[Any]) -> Claim:
        start, end = (_number(e) for e in _only(children, Ex))
        if start.startswith("-"):
            raise Reject("a percent change from a negative number has no single convention")
        gain = (
            f"({start}) - ({end})"
            if _token(children, "CHANGE") == "decrease"
            else f"({end}) - ({start})"
        )
        return {"kind": "value", "expr": f"({gain})/({start})*100"}

    def repeat(self, children: list[Any]) -> Order:
        if not children:
            return Order(2)
        word = children[0]
        return Order(int(word) if word.type == "NUMBER" else number_word(str(word)))

    def derivative(self, children: list[Any]) -> Claim:
        expr = _only(children, Ex)
        order = [c for c in children if isinstance(c, int | Order)]
        n = order[0].n if order and isinstance(order[0], Order) else order[0] if order else 1
        if len(order) > 1:
            raise Reject("two orders for one derivative")
        given = _one(children, Var)
        ddx = _token(children, "DDX") or _token(children, "DYDX")
        name = ddx.split("/")[-1].lstrip(" d")[:1] if ddx else ""
        if ddx and ddx[1:2] == "^":
            n = int(ddx[2:].lstrip("{")[:1])
        relations = _one(children, Relations)
        if _token(children, "DYDX"):
            return _dydx(ddx, relations)
        if len(expr) != 1:
            raise Reject("one expression to differentiate")
        var = _variable(expr[0], given.name if given else name)
        claim: Claim = {"kind": "derivative", "expr": expr[0].text, "var": var}
        if n != 1:
            claim["order"] = n
        if relations is not None:
            claim["at"] = _point(relations, expr[0].free | {var})
        return claim

    def bound(self, children: list[Any]) -> Bound:
        ex = children[0]
        if isinstance(ex, Token):
            return Bound(self.number([ex]))
        return Bound(Ex(ex.name, ATOM, frozenset({ex.name})) if isinstance(ex, Var) else ex)

    def neg_bound(self, children: list[Any]) -> Bound:
        return Bound(self.neg([self.number(children)]))

    def bounds(self, children: list[Any]) -> Bounds:
        lower, upper = _only(children, Ex)
        return Bounds(lower, upper)

    def integral(self, children: list[Any]) -> Claim:
        edges = _only(children, Bound)
        bounds = Bounds(edges[0].ex, edges[1].ex) if edges else _one(children, Bounds)
        integrand = _only(children, Ex)
        given = {_token(children, "DIFF")[1:]} | {v.name for v in _only(children, Var)}
        given.discard("")
        if len(integrand) != 1 or len(given) > 1:
            raise Reject("one integrand and one variable")
        var = _variable(integrand[0], next(iter(given), ""))
        claim: Claim = {"kind": "antiderivative", "expr": integrand[0].text, "var": var}
        kind = _token(children, "INTKIND")
        if bounds is None:
            if kind == "definite":
                raise Reject("a definite integral without bounds")
            return claim
        if kind == "indefinite" or var in bounds.lower.free | bounds.upper.free:
            raise Reject("bounds that do not fit the integral")
        if bounds.lower.call or bounds.upper.call:
            raise Reject("a function call as a bound")
        return {**claim, "kind": "integral", "lower": bounds.lower.text, "upper": bounds.upper.text}

    def side(self, children: list[Any]) -> Direction:
        return Direction("-" if str(children[0]).lower() == "left" else "+")

    def direction(self, children: list[Any]) -> Direction:
        word = str(children[0]).lower()
        return Direction("-" if word in ("left", "below") or word.strip("^{}") == "-" else "+")

    def limit(self, children: list[Any]) -> Claim:
        given = _one(children, Var)
        parts = [c for c in children if isinstance(c, Ex | Var)]
        index = parts.index(given)
        exprs = _only(children, Ex)
        function, point = (exprs[0], exprs[1]) if index == 1 else (exprs[-1], exprs[0])
        signs = {d.sign for d in _only(children, Direction)}
        if len(signs) > 1 or given.name in point.free or point.call is not None:
            raise Reject("a limit point or direction that does not fit")
        _variable(function, given.name)
        claim: Claim = {"kind": "limit", "expr": function.text, "var": given.name}
        claim["point"] = point.text
        if signs:
            if point.text in ("oo", "-oo"):
                raise Reject("a one-sided limit at infinity")
            claim["dir"] = signs.pop()
        return claim

    def center(self, children: list[Any]) -> Center:
        given = _one(children, Var)
        return Center(_only(children, Ex)[0], given.name if given else "")

    def order(self, children: list[Any]) -> Order:
        """ "To order n" reads two ways (through xⁿ, or up to O(xⁿ)): not guessed; "up to
        x^n", "of degree n" and "first n terms" say which."""
        raise Reject(f"'order {children[-1]}' reads two ways: say 'up to x^{children[-1]}'")

    def degree(self, children: list[Any]) -> Order:
        given = _one(children, Var)
        return Order(int(str(children[-1])) + 1, given.name if given else "")

    def series(self, children: list[Any]) -> Claim:
        function = _only(children, Ex)[0]
        center, order = _one(children, Center), _one(children, Order)
        named = {c.var for c in (center, order) if c is not None and c.var}
        if len(named) > 1:
            raise Reject("two variables for one series")
        var = _variable(function, named.pop() if named else "")
        point = _number(center.point) if center else "0"
        if _token(children, "SKIND") == "maclaurin" and point != "0":
            raise Reject("a Maclaurin series is at 0")
        return {
            "kind": "series", "expr": function.text, "var": var, "point": point,
            "order": order.n if order else 6,
        }  # fmt: skip

    def equation(self, children: list[Any]) -> Ex:
        left, right = (children[0], children[0]) if len(children) == 1 else children
        if len(children) == 1:
            return Ex(left.text, left.prec, _plain_free(left))
        return Ex(f"{left.text} = {right.text}", PRODUCT, _plain_free(left, right))

    def equations(self, children: list[Any]) -> Equations:
        return Equations(tuple(children))

    def solve(self, children: list[Any]) -> Claim:
        given = _one(children, Var)
        equations = list(_one(children, Equations).exprs)
        return _solve([e.text for e in equations], equations, given.name if given else "")

    def simplify(self, children: list[Any]) -> Claim:
        ex = children[-1]
        if not ex.free:
            return self.value([ex])
        return {"kind": "equal", "expr": _variable_expr(ex), "op": "simplify"}

    def factor(self, children: list[Any]) -> Claim:
        ex = _only(children, Ex)[0]
        if not ex.free:
            return self.primes([ex])
        return {"kind": "equal", "expr": _variable_expr(ex), "op": "factor"}

    def expand(self, children: list[Any]) -> Claim:
        ex = _only(children, Ex)[0]
        return {"kind": "equal", "expr": _variable_expr(ex), "op": "expand"}

    def primes(self, children: list[Any]) -> Claim:
        ex = _only(children, Ex)[0]
        if not ex.text.isdigit():
            raise Reject(f"{ex.text} is not a whole number to factorise")
        return {"kind": "factorint", "expr": ex.text}

    def gcd(self, children: list[Any]) -> Claim:
        return {"kind": "gcd", "expr": _items(_one(children, Items))}

    def lcm(self, children: list[Any]) -> Claim:
        return {"kind": "lcm", "expr": _items(_one(children, Items))}

    def mean(self, children: list[Any]) -> Claim:
        return {"kind": "mean", "expr": _items(_one(children, Items))}

    def median(self, children: list[Any]) -> Claim:
        return {"kind": "median", "expr": _items(_one(children, Items))}


def _plain_free(*exs: Ex) -> frozenset[str]:
    if any(e.call is not None for e in exs):
        raise Reject("a function call such as f(3) in an equation")
    return frozenset().union(*(e.free for e in exs))


def _variable_expr(ex: Ex) -> str:
    if ex.call is not None:
        raise Reject("a function call such as f(3) as an operand")
    return ex.text


def _solve(texts: list[str], equations: list[Ex], given: str) -> Claim:
    free = sorted(_plain_free(*equations))
    if given and (given not in free or len(equations) > 1):
        raise Reject(f"solving for {given} does not fit the equations")
    if len(equations) == 1:
        var = _variable(equations[0], given, default="")
        if not var:
            raise Reject("an equation without a variable")
        return {"kind": "solve", "expr": texts[0], "var": var}
    if len(free) != len(equations):
        raise Reject(f"{len(equations)} equations in {len(free)} variables")
    return {"kind": "solve", "expr": texts, "var": free}


def _solve_for(var: str, relations: Relations) -> Claim:
    equations = [
        Ex(f"{left.text} = {right.text}", PRODUCT, _plain_free(left, right))
        for left, right in relations.items
    ]
    if len(equations) != 1:
        raise Reject("one equation to solve for one variable")
    return _solve([equations[0].text], equations, var)


def _function_value(target: Ex, relations: Relations) -> Claim:
    """f(3) (or f'(3)) where f(x) = …: the definition's value (or derivative) there."""
    assert target.call is not None
    name, primes, argument = target.call
    if len(relations.items) != 1:
        raise Reject("one definition of the function")
    left, body = relations.items[0]
    if left.call is None or left.call[0] != name or left.call[1] or not left.call[2].lone:
        raise Reject(f"{target.text} does not match the definition {left.text}")
    var = left.call[2].lone
    if not body.free <= {var}:
        raise Reject(f"{body.text} has variables besides {var}")
    point = {var: _number(argument)}
    if primes:
        claim: Claim = {"kind": "derivative", "expr": _variable_expr(body), "var": var}
        return {**claim, "at": point, **({"order": primes} if primes > 1 else {})}
    return {"kind": "value", "expr": _variable_expr(body), "at": point}


def _dydx(token: str, relations: Relations | None) -> Claim:
    """dy/dx for y = …: the derivative of the right-hand side."""
    if relations is None or len(relations.items) != 1:
        raise Reject("dy/dx needs y = …")
    left, body = relations.items[0]
    of, by = token[1], token.split("/")[-1].strip()[1]
    if left.lone != of or of in body.free:
        raise Reject(f"{left.text} = … does not define {of}")
    if body.free and by not in body.free:
        raise Reject(f"d{of}/d{by} of an expression in {', '.join(sorted(body.free))}")
    return {"kind": "derivative", "expr": _variable_expr(body), "var": _variable(body, by)}
