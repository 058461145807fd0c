"""Claim kinds over a list of numbers or one integer: gcd, lcm, mean, median and the
prime factorisation. Each is computed exactly and checked deterministically.

``{"kind": "gcd", "expr": ["12", "18"], "answer": "6"}``;
``{"kind": "factorint", "expr": "360", "answer": "2^3 * 3^2 * 5"}``.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import sympy as sp

from trifecta.specialists.math._equal import outcome, same_stated
from trifecta.specialists.math._expr import normalize, parse_expr
from trifecta.specialists.math._values import parse_value
from trifecta.verdict import Verdict

__all__ = ["LIST_KINDS", "check_list", "compute_list"]

LIST_KINDS = ("gcd", "lcm", "mean", "median", "factorint")
MAX_ITEMS = 1_000
MAX_FACTOR_DIGITS = 40
_FACTOR = re.compile(r"\s*(\d+)\s*(?:\*\*\s*(\d+)\s*)?")


def _numbers(claim: dict[str, Any]) -> list[Any]:
    """The claim's list of real numbers (integers for gcd and lcm).

    Raises:
        ValueError: not a list of 1 to `MAX_ITEMS` real numbers of the right kind.
    """
    items = claim["expr"]
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_ITEMS:
        raise ValueError(f'"expr" must be a list of 1 to {MAX_ITEMS} numbers')
    values = [parse_expr(str(item)) for item in items]
    integers = claim["kind"] in ("gcd", "lcm")
    for value in values:
        if value.free_symbols or value.is_real is not True or value.is_infinite:
            raise ValueError(f"{sp.sstr(value)} is not a real number")
        if integers and not value.is_Integer:
            raise ValueError(f"{sp.sstr(value)} is not an integer")
    return values


def _before(left: Any, right: Any) -> int:
    if bool(sp.Lt(left, right)):
        return -1
    return 1 if bool(sp.Gt(left, right)) else 0


def _truth(claim: dict[str, Any]) -> Any:
    kind = claim["kind"]
    values = _numbers(claim)
    if kind == "gcd":
        return functools.reduce(sp.gcd, values)
    if kind == "lcm":
        return functools.reduce(sp.lcm, values)
    if kind == "mean":
        return sp.Add(*values) / len(values)
    ordered = sorted(values, key=functools.cmp_to_key(_before))
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _integer(claim: dict[str, Any]) -> int:
    value = parse_expr(str(claim["expr"]))
    if not value.is_Integer or value < 2:
        raise ValueError(f"{sp.sstr(value)} is not an integer greater than 1")
    if len(str(value)) > MAX_FACTOR_DIGITS:
        raise ValueError(f"factorisation is limited to {MAX_FACTOR_DIGITS} digits")
    return int(value)


def compute_list(claim: dict[str, Any]) -> str:
    """The answer of a list-kind claim (a factorisation as ``2**3*3**2*5``)."""
    if claim["kind"] != "factorint":
        return str(sp.sstr(_truth(claim)))
    factors = sp.factorint(_integer(claim))
    return "*".join(f"{p}**{k}" if k > 1 else str(p) for p, k in sorted(factors.items()))


def check_list(claim: dict[str, Any]) -> Verdict:
    """Check a list-kind claim: gcd, lcm, mean and median against their exact value; a
    factorisation by its factors being prime and multiplying to the number."""
    if claim["kind"] == "factorint":
        return _check_factors(_integer(claim), str(claim["answer"]))
    stated = parse_value(str(claim["answer"]))
    if stated.kind != "expr":
        return outcome("rejected", "structure", f"expected one number, got a {stated.kind}")
    return same_stated(_truth(claim), stated.items[0], stated.stated)


def _check_factors(number: int, answer: str) -> Verdict:
    product = 1
    for part in normalize(answer).split(" * "):
        match = _FACTOR.fullmatch(part)
        if match is None:
            return outcome("rejected", "factorint", f"{part.strip()!r} is not a prime power")
        prime, power = int(match[1]), int(match[2] or 1)
        if not sp.isprime(prime):
            return outcome("rejected", "factorint", f"{prime} is not prime")
        if not 1 <= power <= number.bit_length():
            return outcome("rejected", "factorint", f"{prime}^{power} does not divide {number}")
        product *= prime**power
    if product != number:
        return outcome("rejected", "factorint", f"the factors multiply to {product}, not {number}")
    return outcome("verified", "factorint")
