"""The math grammar (tier 0) through the offline app: phrasings answered and verified,
hostile or ambiguous requests never verified, and the list claim kinds checked."""

from __future__ import annotations

import time
from typing import Any

import pytest

from trifecta import Trifecta
from trifecta.specialists import default_specialists
from trifecta.specialists.math import check_claim, to_claim

ANSWERED = {  # request → the answer tier 0 gives, verified
    "What is the derivative of x^3 + 2x?": "3*x**2 + 2",
    "What is 1700 divided by 30?": "170/3",
    "How much is (half of 50) plus twice 10?": "45",
    "What is 2 to the power of 8?": "256",
    "What is 81 to the power of 1/2?": "9",
    "What is seven times eight?": "56",
    "What is the square root of 81?": "9",
    "Compute 5! / 3!": "20",
    "What is 2³ + √49?": "15",
    "What is \\frac{3}{4} + \\frac{1}{4}?": "1",
    "What is 12.5% of 64?": "8",
    "30 is what percent of 120?": "25",
    "What is the percentage change from 80 to 60?": "-25",
    "What is 60 increased by 15%?": "69",
    "What is the median of 7, 2, 9, 4?": "11/2",
    "Find the average of 10, 20, 30": "20",
    "What is the GCD of 48, 180 and 600?": "12",
    "Find lcm(8, 12, 18)": "72",
    "What is the prime factorization of 360?": "2**3*3**2*5",
    "Find the 2nd derivative of sin(x)": "-sin(x)",
    "What is the partial derivative of x^2 y with respect to x?": "2*x*y",
    "Evaluate the derivative of x^2 + 3x when x is 1": "5",
    "Find f'(2) if f(x) = x^2 + 1": "4",
    "If f(x) = x^2 - 4x + 1, what is f(5)?": "6",
    "Compute x^2 + y^2 for x = 3 and y = 4": "25",
    "Integrate x e^x with respect to x": "(x - 1)*exp(x)",
    "\\int_{0}^{2} (x^2 + 1) \\, dx": "14/3",
    "Find the integral from 0 to 2 of 3x^2 dx": "8",
    "Find the limit of 1/x as x approaches 0 from the left": "-oo",
    "lim_{x→0⁺} 1/x": "oo",
    "What is the Taylor series of cos(x) about x = 0 up to x^4?": "x**4/24 - x**2/2 + 1",
    "Find x if 5x = 20": "[4]",
    "Solve the system 2x + y = 5, x - y = 1": "[(2, 1)]",
    "What are the roots of x^2 - 4?": "[-2, 2]",
    "Factorise x^2 - 9": "(x - 3)*(x + 3)",
    "What is the cube root of -27?": "-3",
    "What is twenty-one times two?": "42",  # one number word, not 20 - 1
    "What is the remainder when 2 + 3 is divided by 4?": "1",
    "What is 2½ + 1?": "7/2",  # a mixed number
    "What is \\sqrt[3]{-8}?": "-2",  # the real cube root
    "What is the square of the sum of 2 and 3?": "25",
    "Solve x^2/x = 0": "[]",  # x = 0 divides by zero
}

# An adversarial review's requests (issue 16): each with its one right answer, or None
# where it has two readings (or no real answer). Never verified with another answer.
REVIEWED: list[tuple[str, str | None]] = [
    ("What is half of x squared at x = 4?", None),
    ("What is half of 4 squared?", None),
    ("What is the sum of 2 and 3 squared?", None),
    ("What is the square root of 16 plus 9?", None),
    ("What is the square of two times three?", None),
    ("What is the square root of 2 times 8?", None),
    ("What is the cube of 2 plus 1?", None),
    ("What is half of 10 plus 4?", None),
    ("What is twice 3 plus 4?", None),
    ("What is double 2 plus 3?", None),
    ("What is twice 5 squared?", None),
    ("What is the factorial of 3 plus 1?", None),
    ("What is the factorial of 3 squared?", None),
    ("What is the difference between 3 and 5?", None),
    ("What is 2 to the power of 3 plus 1?", None),
    ("What is 2 raised to 3 times 2?", None),
    ("What is 20% of 50 plus 10?", None),
    ("What is negative two squared?", None),
    ("What is negative 2 to the power of 2?", None),
    ("What is -3 squared?", None),
    ("What is x^-1/2 at x = 4?", None),
    ("What is 4^-1/2?", None),
    ("What is 8^2/3?", None),
    ("What is 2^2x at x = 2?", None),
    ("What is e^2x at x = 1?", None),
    ("What is the derivative of e^2x?", None),
    ("Differentiate e^3x", None),
    ("What is the integral of e^2x?", None),
    ("What is 10^2x at x = 2?", None),
    ("What is (-8)^(1/3)?", None),
    ("What is (-8)^(2/3)?", None),
    ("What is \\sqrt[3]{-8}?", "-2"),
    ("What is the cube root of x at x = -8?", "-2"),
    ("What is cbrt(x) at x = -27?", "-3"),
    ("What is the derivative of cbrt(x) at x = -8?", "1/12"),
    ("What is the percent change from -10 to 10?", None),
    ("What is the increase from 20 to 30?", "10"),
    ("What is the change from 3 to 5?", "2"),
    ("What is the decrease from 50 to 40?", "10"),
    ("What is 3 percent of 2 squared?", None),
    ("What is twenty-one times two?", "42"),
    ("What is twenty-five divided by five?", "5"),
    ("What is forty-two?", "42"),
    ("What is sixty-four squared?", "4096"),
    ("What is seventy-seven minus seven?", "70"),
    ("What is thirty-three mod 5?", "3"),
    ("What is the lcm of 12,180, 6?", None),
    ("What is 0^0?", None),
    ("What is sqrt(-4)?", None),
    ("What is the square root of -16?", None),
    ("What is log(-1)?", None),
    ("What is x/x at x = 0?", None),
    ("What is x^2/x at x = 0?", None),
    ("What is x y / x at x = 0, y = 2?", None),
    ("What is sqrt(x) at x = -4?", None),
    ("What is log base 0 of 5?", None),
    ("What is log base -2 of 4?", None),
    ("What is log(8, 2)?", None),
    ("What is log 100?", None),
    ("What is log(e)?", None),
    ("What is asin(2)?", None),
    ("What is 0.5!?", None),
    ("What is 5!!?", None),
    ("What is 5!!", None),
    ("What is -7 mod 3?", None),
    ("What is 7 mod -3?", None),
    ("What is sin(30)?", None),
    ("What is cos 60?", None),
    ("What is tan 45?", None),
    ("What is 5 plus 3!", None),
    ("Compute 3 + 4!", None),
    ("What is the limit of sqrt(x) as x approaches -1?", None),
    ("What is the limit of log(x) as x approaches 0?", None),
    ("What is the integral of sqrt(x) from -1 to 0?", None),
    ("What is the Taylor series of 1/x at 0?", None),
    ("What is the Taylor series of sqrt(x) at 0?", None),
    ("What is the power series of log(x)?", None),
    ("What is the Taylor series of abs(x) up to x^3?", None),
    ("What is the Taylor series of sqrt(x^2) up to x^3?", None),
    ("What is the Taylor series of 1/(1-x) at 1?", None),
    ("What is the Taylor series of 1/sin(x) up to x^3?", None),
    ("Solve x^2 = -1", None),
    ("Solve x^2 + 1 = 0", None),
    ("Solve x^3 = 8", None),
    ("What is x if x^2 = -4?", None),
    ("Solve x^4 = 16", None),
    ("What is the derivative of sqrt(x) at x = -1?", None),
    ("What is the derivative of x/x at x = 0?", None),
    ("dy/dx when y = t^2", None),
    ("What is the derivative of log(x)?", None),
    ("What is 2½ + 1?", "7/2"),
    ("What is 3¾ times 4?", "15"),
    ("What is 2 ½ + 1?", "7/2"),
    ("What is \\sqrt{-4}?", None),
    ("What is x^0 at x = 0?", None),
    ("What is -x squared at x = 3?", None),
    ("What is negative x squared at x = 3?", None),
    ("What is the gcd of 1,200, 18 and 30?", "6"),
    ("What is the lcm of 2,400, 36?", None),
    ("What is the median of 1,500, 2 and 3?", None),
    ("What is sin pi/2?", "1"),
    ("What is sqrt 16/4?", None),
    ("What is cos pi/3?", "1/2"),
    ("What is log 100/10?", None),
    ("What is sqrt 2 * 8?", None),
    ("What is sin x/x at x = pi?", None),
    ("What is the derivative of sin x/x?", None),
    ("What is ninety-nine plus one?", "100"),
    ("What is thirty-one minus one?", "30"),
    ("What is the product of 2 and 3 squared?", None),
    ("What is the quotient of 2 and 3 squared?", None),
    ("What is 3.5 factorial?", None),
    ("What is (-2.5)!?", None),
    ("What is the derivative of x^2/x at x = 0?", None),
    ("What is the Taylor series of e^(1/x) up to x^3?", None),
    ("What is the Taylor series of x^(1/3) up to x^3?", None),
    ("What is 2 to the power of 3 squared?", None),
    ("What is (-1)^(1/2)?", None),
    ("What is (-4)^(1/2)?", None),
    ("What is the square of 4 over 2?", None),
    ("What is the square root of 16 over 4?", None),
    ("What is half of 8 over 2?", None),
    ("What is twice x squared at x = 3?", None),
    ("What is twice x plus 1 at x = 3?", None),
    ("What is the cube root of 27 plus 1?", None),
    ("What is log base 2 of 8 times 4?", None),
    ("What is log base 2 of 8 squared?", None),
    ("What is 10 mod 3 times 2?", None),
    ("What is 10 mod 3 mod 2?", "1"),
    ("What is the remainder when 2 + 3 is divided by 4?", "1"),
    ("What is the remainder when 10 - 1 is divided by 4?", "1"),
    ("What is 7 mod 4 mod 2?", "1"),
    ("What is the remainder when x + 1 is divided by 3 at x = 4?", "2"),
    ("What is the remainder when 11 minus 1 is divided by 4?", "2"),
    ("What is the remainder when 1 + 2 + 3 is divided by 5?", "1"),
    ("What is the remainder when 100 is divided by 7 plus 1?", None),
    ("What is sin x/2 at x = pi?", None),
    ("What is sqrt 9/3?", None),
    ("What is tan pi/4?", "1"),
    ("What is the derivative of e^-2x?", None),
    ("What is x^2 at x = twenty-one?", "441"),
    ("What is the derivative of x^3 at x = twenty-one?", "1323"),
    ("What is 3 ¼ + 1?", "17/4"),
    ("What is 1½ times 4?", "6"),
    ("What is the change from 5 to 3?", "-2"),
    ("What is the decrease from 10 to 5?", "5"),
    ("What is x^-2/3 at x = 8?", None),
    ("What is the lcm of 1,000, 10?", "1000"),
]

NOT_RECOGNISED = [
    "What is 2+2 apples?",  # a word the grammar does not know
    "Differentiate x^2 quickly",
    "What is love?",
    "What is x?",  # a value with a free variable
    "What is 6/2(1+2)?",  # a product after a quotient: two readings
    "What is 1/2x?",
    "What is 3 x 4?",  # "x" is a variable, and a number after a factor is refused
    "What is 2 3?",
    "Evaluate x 2 at x = 3",
    "What is sin x^2?",  # (sin x)^2 or sin(x^2)?
    "What is x^1/2 at x = 4?",  # x/2 by precedence, sqrt(x) by intent
    "What is the sum of 2 and 3 times 4?",
    "What is the average of 1, 2 and 3 plus 4?",
    "What is the mean of 100,200 and 300?",  # a thousands separator or a list?
    "What is 60 plus 10 increased by 10%?",
    "Integrate x y",  # two variables, none named
    "What is the derivative of a x^2?",
    "Solve x + y = 3",
    "What is twenty five plus one?",
    "How much is half of 50 plus twice 10?",  # half of (50 + 20), or 25 + 20?
    "Evaluate x^2 at y = 2",
    "Find the limit of 1/x as x approaches infinity from the left",
    "What is " + "1 + " * 3_000 + "1?",  # over the length limit
    "What is " + "9" * 4_001 + " + 1?",
]

NOT_VERIFIED = [
    "What is 1/0?",
    "Evaluate 1/x at x = 0",
    "What is the percent change from 0 to 5?",
    "What is 9^9^9?",
    "What is 99999!?",
    "What is 9999^9999?",  # 39,996 digits: past what the checker prints
    "Find the limit of 1/x as x approaches 0",  # two-sided: no limit
    "Solve sin(x) = 0",  # infinitely many solutions
    "What is the gcd of 12.5 and 5?",
]


@pytest.fixture(scope="module")
def app() -> Trifecta:
    return Trifecta(default_specialists())


def _row(app: Trifecta, request: str) -> dict[str, Any]:
    result = app.run(request)
    assert len(result.subtasks) == 1, result.subtasks
    return dict(result.subtasks[0])


@pytest.mark.parametrize(("request_text", "answer"), ANSWERED.items(), ids=list(ANSWERED))
def test_phrasings_are_answered_and_verified(app: Trifecta, request_text: str, answer: str) -> None:
    row = _row(app, request_text)
    assert (row["specialist"], row["status"], row["answer"]) == ("math", "verified", answer)


@pytest.mark.parametrize("request_text", NOT_RECOGNISED, ids=[r[:40] for r in NOT_RECOGNISED])
def test_what_the_grammar_does_not_fully_read_is_not_recognised(request_text: str) -> None:
    assert to_claim(request_text) is None


@pytest.mark.parametrize("request_text", NOT_VERIFIED, ids=[r[:40] for r in NOT_VERIFIED])
def test_undefined_or_oversized_results_are_never_verified(
    app: Trifecta, request_text: str
) -> None:
    assert to_claim(request_text) is not None
    started = time.perf_counter()
    row = _row(app, request_text)
    assert row["status"] != "verified", row
    assert time.perf_counter() - started < 30  # a bound on a hang, not a speed target


@pytest.mark.parametrize(("request_text", "right"), REVIEWED, ids=[r[:50] for r, _ in REVIEWED])
def test_reviewed_requests_are_never_verified_wrong(
    app: Trifecta, request_text: str, right: str | None
) -> None:
    result = app.run(request_text)
    verified = [s["answer"] for s in result.subtasks if s["status"] == "verified"]
    if right is None:
        assert not verified, result.subtasks
    for answer in verified:
        claim = {"kind": "equal", "expr": answer, "answer": right}
        assert check_claim(claim).status == "verified", (answer, right)


def test_a_long_hostile_request_is_refused_without_parsing() -> None:
    assert to_claim("integrate " + "x from " * 14_000) is None


@pytest.mark.parametrize(
    ("claim", "status"),
    [
        ({"kind": "gcd", "expr": ["12", "18"], "answer": "6"}, "verified"),
        ({"kind": "gcd", "expr": ["12", "18"], "answer": "3"}, "rejected"),
        ({"kind": "lcm", "expr": ["4", "6"], "answer": "24"}, "rejected"),
        ({"kind": "mean", "expr": ["1/2", "1/3", "1/6"], "answer": "1/3"}, "verified"),
        ({"kind": "median", "expr": ["6", "6", "7", "100"], "answer": "6.5"}, "verified"),
        ({"kind": "median", "expr": ["6", "6", "7", "100"], "answer": "7"}, "rejected"),
        ({"kind": "mean", "expr": ["x", "2"], "answer": "1"}, "rejected"),
        ({"kind": "factorint", "expr": "360", "answer": "2^3 * 3^2 * 5"}, "verified"),
        ({"kind": "factorint", "expr": "360", "answer": "360"}, "rejected"),
        ({"kind": "factorint", "expr": "360", "answer": "2^3 * 45"}, "rejected"),
        ({"kind": "factorint", "expr": "360", "answer": "2^3 * 3^2 * 7"}, "rejected"),
        (
            {"kind": "derivative", "expr": "x^3", "order": 2, "at": {"x": "2"}, "answer": "12"},
            "verified",
        ),
        (
            {"kind": "value", "expr": "x^2 + y", "at": {"x": "3", "y": "1"}, "answer": "9"},
            "rejected",
        ),
    ],
)
def test_list_kinds_and_points_are_checked(claim: dict[str, Any], status: str) -> None:
    assert check_claim(claim).status == status


@pytest.mark.parametrize(
    ("claim", "status"),
    [
        ({"kind": "value", "expr": "log(5, 0)", "answer": "0"}, "rejected"),
        ({"kind": "value", "expr": "log(4, -2)", "answer": "2"}, "rejected"),
        ({"kind": "value", "expr": "x/x", "at": {"x": "0"}, "answer": "1"}, "rejected"),
        ({"kind": "value", "expr": "x**0", "at": {"x": "0"}, "answer": "1"}, "rejected"),
        ({"kind": "value", "expr": "x/x", "at": {"x": "2"}, "answer": "1"}, "verified"),
        ({"kind": "solve", "expr": "x**2/x = 0", "var": "x", "answer": "[0]"}, "rejected"),
        ({"kind": "solve", "expr": "x**2/x = 0", "var": "x", "answer": "[]"}, "verified"),
        ({"kind": "series", "expr": "abs(x)", "point": "0", "order": 4, "answer": "x"}, "rejected"),
        ({"kind": "series", "expr": "exp(1/x)", "point": "0", "answer": "exp(1/x)"}, "rejected"),
        ({"kind": "value", "expr": "factorial(0.5)", "answer": "factorial(1/2)"}, "rejected"),
        ({"kind": "value", "expr": "0^0", "answer": "1"}, "rejected"),
        ({"kind": "value", "expr": "sqrt(-4)", "answer": "2*I"}, "verified"),
        ({"kind": "value", "expr": "sqrt(-4)", "answer": "2*I", "domain": "real"}, "rejected"),
        ({"kind": "solve", "expr": "x^2 = -1", "answer": "[]", "domain": "real"}, "rejected"),
    ],
)
def test_claims_undefined_as_written_or_not_real_are_rejected(
    claim: dict[str, Any], status: str
) -> None:
    """x/x at 0, a log base 0, a Laurent 'series', 0^0, (1/2)!; complex answers under
    ``"domain": "real"`` (tier 0's claims: no request it reads names complex numbers)."""
    assert check_claim(claim).status == status


def test_routing_by_content_uses_the_grammar() -> None:
    math = default_specialists()[0]
    assert math.affinity is not None
    assert math.affinity("What is 1700 divided by 30?") == 1.0
    assert math.affinity("What is the highest appointment fee?") == 0.0


@pytest.mark.parametrize(
    "request_text",
    ["Taylor series of cos(x) about 0 to order 4", "Maclaurin series of e^x up to order 4"],
)
def test_a_series_to_order_n_is_not_guessed(request_text: str) -> None:
    """'to order 4' is through x^4 for some and up to O(x^4) for others: refused."""
    assert to_claim(request_text) is None
