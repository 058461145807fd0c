"""Generated math claims with known truth, and perturbations of them that are wrong.

Each generator draws its parameters from a `Draw` (Hypothesis in the tests, a seeded
`random.Random` in `benchmarks/trust.py`) and returns a `Case`: claims that are true
and must be verified, claims that are false and must never be. Truth comes from exact
integer/`Fraction` arithmetic here, never from the checker under test.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Protocol, TypeVar

__all__ = ["GENERATORS", "Case", "Draw", "rounded"]

T = TypeVar("T")
Claim = dict[str, Any]


class Draw(Protocol):
    """A source of parameters."""

    def integer(self, low: int, high: int) -> int:
        """An integer in [low, high]."""
        ...

    def choice(self, options: Sequence[T]) -> T:
        """One of `options`."""
        ...


@dataclass(frozen=True)
class Case:
    """Claims that must be verified and claims that must not be."""

    true: tuple[Claim, ...]
    wrong: tuple[Claim, ...]


def _value(expr: str, answer: str) -> Claim:
    return {"kind": "value", "expr": expr, "answer": answer}


def _frac(value: Fraction) -> str:
    return (
        str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    )


def _one_digit_changed(digits: str, index: int) -> str:
    index %= len(digits)
    new = str((int(digits[index]) + 1) % 10)
    if index == 0 and new == "0":
        new = "1" if digits[0] != "1" else "2"
    return digits[:index] + new + digits[index + 1 :]


def rounded(value: Fraction, digits: int) -> str:
    """`value` correctly rounded to `digits` significant digits, as ``d.ddde±N``."""
    sign, value = ("-" if value < 0 else ""), abs(value)
    exponent = math.floor(math.log10(value.numerator) - math.log10(value.denominator))
    while Fraction(10) ** exponent > value:
        exponent -= 1
    while Fraction(10) ** (exponent + 1) <= value:
        exponent += 1
    scaled = value / Fraction(10) ** (exponent - digits + 1)
    mantissa = math.floor(scaled + Fraction(1, 2))
    if len(str(mantissa)) > digits:
        mantissa, exponent = mantissa // 10, exponent + 1
    text = str(mantissa)
    return f"{sign}{text[0]}.{text[1:]}e{exponent}"


def power(draw: Draw) -> Case:
    """Integers of up to ~3,500 digits: ``a^b`` against its digits and near misses."""
    base = draw.integer(2, 99)
    exponent = draw.integer(1, min(10_000, int(3500 / math.log10(base))))
    truth, expr = base**exponent, f"{base}^{exponent}"
    digits = str(truth)
    wrong = {
        str(truth + 1), str(truth - 1), str(truth * 10), str(-truth), "oo",
        _one_digit_changed(digits, draw.integer(0, len(digits) - 1)),
    } - {digits}  # fmt: skip
    if len(digits) > 1:
        wrong.add(digits[:-1])
    return Case((_value(expr, digits),), tuple(_value(expr, w) for w in sorted(wrong)))


def rational(draw: Draw) -> Case:
    """Fractions: ``p/q`` against its reduced form, off by one, scaled, nudged by 10^-k."""
    p = draw.choice((-1, 1)) * draw.integer(1, 10**6)
    q = draw.integer(2, 10**6)
    truth, k = Fraction(p, q), draw.integer(1, 60)
    expr = f"({p})/({q})"
    wrong = [
        _frac(truth + 1), _frac(truth * 10), _frac(-truth), _frac(truth + Fraction(1, 10**k)),
        f"{_frac(truth)} - 10^(-{k})", f"{truth.numerator}/({truth.denominator + 1})",
    ]  # fmt: skip
    return Case((_value(expr, _frac(truth)),), tuple(_value(expr, w) for w in wrong))


def scientific(draw: Draw) -> Case:
    """Tiny and huge values (10^-300 … 10^300) stated as rounded decimals."""
    numerator, denominator = draw.integer(10**4, 10**6), draw.choice((3, 7, 11, 13, 17))
    exponent, digits = draw.integer(-300, 300), draw.integer(4, 12)
    truth = Fraction(numerator, denominator) * Fraction(10) ** exponent
    expr = f"{numerator}/{denominator}*10^({exponent})"
    stated = rounded(truth, digits)
    mantissa, power_ = stated.split("e")
    last = int(mantissa[-1])
    bumped = mantissa[:-1] + str(last + 1 if last < 9 else last - 1)
    wrong = [
        f"{bumped}e{power_}", f"{mantissa}e{int(power_) + 1}", f"-{stated}",
        f"{_one_digit_changed(mantissa.replace('.', ''), 0)[0]}.{mantissa[2:]}e{power_}", "0",
    ]  # fmt: skip
    return Case((_value(expr, stated),), tuple(_value(expr, w) for w in wrong))


_CONSTANTS = ("1", "pi", "sqrt(2)", "E", "1/3", "log(2)", "sqrt(3)/2", "exp(-50)", "10^(-40)")


def offset(draw: Draw) -> Case:
    """A constant against itself nudged by 10^-k (k up to 120), and tiny/huge against 0."""
    base, k = draw.choice(_CONSTANTS), draw.integer(1, 120)
    wrong = [
        _value(base, f"{base} + 10^(-{k})"), _value(base, f"{base}*(1 - 10^(-{k}))"),
        _value(f"10^(-{k})", "0"), _value(f"10^({k})", f"10^({k}) + 1"),
        _value(f"exp(-{k * 10})", "0"), _value(f"exp({k * 10})", f"exp({k * 10}) - 1"),
    ]  # fmt: skip
    return Case((_value(base, base), _value(f"({base})*10^(-{k})", f"{base}/10^{k}")), tuple(wrong))


def limit(draw: Draw) -> Case:
    """Limits at infinity (finite and infinite) and two-sided limits that do not exist."""
    a, b, c, d = (draw.integer(1, 50) for _ in range(4))
    n = draw.integer(1, 6)
    ratio = Fraction(a, c)

    def claim(expr: str, point: str, answer: str, **extra: str) -> Claim:
        return {
            "kind": "limit",
            "expr": expr,
            "var": "x",
            "point": point,
            "answer": answer,
            **extra,
        }

    rational_ = f"({a}*x + {b})/({c}*x + {d})"
    true = [claim(rational_, "oo", _frac(ratio)), claim(f"{a}*x^{n} + {b}", "oo", "oo")]
    true.append(claim("abs(x)/x", "0", "1", dir="+"))
    wrong = [
        claim(rational_, "oo", _frac(ratio + 1)), claim(rational_, "oo", _frac(-ratio)),
        claim(f"{a}*x^{n} + {b}", "oo", draw.choice(("-oo", "10^100", "zoo", str(a)))),
        claim(f"1/x^{2 * n - 1}", "0", draw.choice(("oo", "-oo", "0", "zoo"))),
        claim("abs(x)/x", "0", draw.choice(("1", "-1", "0"))),
        claim("abs(x)/x", "0", "1", dir="-"),
    ]  # fmt: skip
    return Case(tuple(true), tuple(wrong))


def integral(draw: Draw) -> Case:
    """Definite integrals of polynomials and exponentials (values up to e^1000), and
    divergent ones, which no answer may pass."""
    coefficient, n = draw.integer(1, 40), draw.integer(0, 8)
    low, high = draw.integer(-20, 5), draw.integer(6, 30)
    truth = Fraction(coefficient, n + 1) * (high ** (n + 1) - low ** (n + 1))
    rate, upper = draw.integer(1, 10), draw.integer(1, 100)

    def claim(expr: str, lower: str, upper_: str, answer: str) -> Claim:
        return {"kind": "integral", "expr": expr, "var": "x", "lower": lower, "upper": upper_,
                "answer": answer}  # fmt: skip

    poly = f"{coefficient}*x^{n}"
    exp_truth = f"(exp({rate * upper}) - 1)/{rate}"
    true = [
        claim(poly, str(low), str(high), _frac(truth)),
        claim(f"exp({rate}*x)", "0", str(upper), exp_truth),
    ]
    misses = {truth + 1, -truth, truth * 10} - {truth}  # 0 = -0 = 10·0 is no perturbation
    wrong = [
        *(claim(poly, str(low), str(high), _frac(m)) for m in sorted(misses)),
        claim(f"exp({rate}*x)", "0", str(upper), f"{exp_truth} + 1"),
        claim(f"exp({rate}*x)", "0", str(upper), draw.choice(("3", "0", "oo"))),
        claim(f"1/x^{draw.integer(1, 3)}", "0", "1", draw.choice(("1", "7", "oo"))),
        claim(f"x^{draw.integer(-1, 2)}", "1", "oo", draw.choice(("1", "7", "oo"))),
    ]
    return Case(tuple(true), tuple(wrong))


def identity(draw: Draw) -> Case:
    """Polynomial and trigonometric identities, and the same with a term dropped, a
    coefficient off by one, or a tiny extra term (10^-k, 10^-k·x, e^(-c·x²))."""
    a, n, k = draw.integer(1, 9), draw.integer(2, 5), draw.integer(1, 60)
    terms = [f"{math.comb(n, i) * a ** (n - i)}*x^{i}" for i in range(n + 1)]
    expanded, expr = " + ".join(terms), f"(x + {a})^{n}"
    gone = draw.integer(0, n)
    dropped = " + ".join(t for i, t in enumerate(terms) if i != gone)
    off = " + ".join([*terms[:-1], f"{1 + 1}*x^{n}"])
    tiny = draw.choice((f"10^(-{k})", f"10^(-{k})*x", f"exp(-{draw.integer(100, 10**4)}*x^2)"))

    def equal(left: str, right: str) -> Claim:
        return {"kind": "equal", "expr": left, "answer": right}

    trig = "sin(x)^2 + cos(x)^2"
    true = (equal(expr, expanded), equal(trig, "1"))
    wrong = (
        equal(expr, dropped), equal(expr, off), equal(expr, f"{expanded} + {tiny}"),
        equal(trig, f"1 + {tiny}"), equal(f"{trig} + {tiny}", "1"),
    )  # fmt: skip
    return Case(true, wrong)


GENERATORS: dict[str, Callable[[Draw], Case]] = {
    "power": power,
    "rational": rational,
    "scientific": scientific,
    "offset": offset,
    "limit": limit,
    "integral": integral,
    "identity": identity,
}
