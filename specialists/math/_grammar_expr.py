"""Expressions of the request grammar (`requests.lark`) as plain expression text.

Each node becomes an `Ex`: the text `_expr.parse_expr` reads (``2*x**2 + 1``), its free
variables, and the few facts that make a reading ambiguous. An ambiguous reading is
refused (`Reject`), never guessed: a number after a product (``x 2``), a product after a
quotient (``1/2x``: ``x/2`` or ``1/(2x)``?), an unbracketed function argument followed by
more factors (``sin x y``, ``sin pi/2``), a product or quotient after a number to a literal
power (``e^2x``, ``8^2/3``), arithmetic after a worded operation (``half of 10 plus 4``,
``2 to the power of 3 plus 1``), a worded power inside one (``half of 4 squared``,
``negative two squared``), and a function call such as ``f(3)`` inside arithmetic. Some
conventions are not assumed either: ``log`` without a base, trigonometry of whole numbers
that look like degrees (``sin 30``), a remainder of a negative number, a factorial of a
non-integer, a difference that could be either way round.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

from lark import Token, Transformer_NonRecursive

from trifecta.errors import TrifectaError

__all__ = ["Ex", "ExprTransformer", "Reject", "number_word", "word_operands"]

SUM, PRODUCT, SIGNED, POWER, ATOM = range(5)

_NUMBER_WORDS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70}
_TENS |= {"eighty": 80, "ninety": 90, "hundred": 100}
_ORDINALS = [
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
]
_CONSTANTS = {"e": "E", "E": "E", "pi": "pi", "oo": "oo", "inf": "oo", "infinity": "oo"}
_CONSTANTS |= {"infty": "oo", "I": "I"}
_GREEK = frozenset(
    [
        "alpha",
        "beta",
        "gamma",
        "delta",
        "epsilon",
        "theta",
        "lambda",
        "mu",
        "phi",
        "psi",
        "omega",
        "rho",
        "sigma",
        "tau",
    ]
)
_FUNCTION_NAMES = {"arcsin": "asin", "arccos": "acos", "arctan": "atan"}
_FUNCTIONS = frozenset(["f", "g", "h"])
_TRIG = frozenset(["sin", "cos", "tan", "cot", "sec", "csc"])
_LITERAL = re.compile(r"-?\d+(\.\d+)?")


class Reject(TrifectaError, ValueError):
    """The request parses but has no single safe reading; tier 0 does not guess."""


@dataclass(frozen=True)
class Ex:
    """An expression: its text, precedence and free variables, and what makes it
    ambiguous next to other factors."""

    text: str
    prec: int
    free: frozenset[str] = frozenset()
    lead_number: bool = False  # starts with a bare number literal
    bare: bool = False  # a function applied without brackets: sin x
    quotient: bool = False  # a/b at the top, or a product that starts with one
    call: tuple[str, int, Ex] | None = None  # f(a) or f'(a): name, primes, argument
    lone: str = ""  # the variable it is, when it is a lone variable
    grouped: bool = False  # holds a number written with thousands separators
    open_word: bool = False  # ends in a worded operation's operand: half of 10, 2 mod 3
    word_power: bool = False  # a worded power: 4 squared, 2 to the power of 3, 3 factorial
    literal_power: bool = False  # ends in a power with a number exponent: x^2, 4^-1
    number_power: bool = False  # ends in a number to a number power: e^2, 10^-2


def number_word(word: str) -> int:
    """The value of a number word (``seven``, ``forty``)."""
    word = word.lower()
    if "-" in word:
        tens, unit = word.split("-")
        if tens not in _TENS or tens == "hundred" or unit not in _NUMBER_WORDS[1:10]:
            raise Reject(f"{word} is not a number")
        return _TENS[tens] + _NUMBER_WORDS.index(unit)
    return _NUMBER_WORDS.index(word) if word in _NUMBER_WORDS else _TENS[word]


def _wrap(ex: Ex, prec: int) -> str:
    return f"({ex.text})" if ex.prec < prec else ex.text


def _plain(*exs: Ex) -> frozenset[str]:
    """The free variables of operands that may take part in arithmetic."""
    if any(e.call is not None for e in exs):
        raise Reject("a function call such as f(3) inside arithmetic")
    return frozenset().union(*(e.free for e in exs))


def _exprs(children: list[Any]) -> list[Ex]:
    return [c for c in children if isinstance(c, Ex)]


def _op(text: str, prec: int, *exs: Ex, lead: Ex | None = None, quotient: bool = False) -> Ex:
    free = _plain(*exs)
    grouped = any(e.grouped for e in exs)
    starts = lead.lead_number if lead is not None else False
    return Ex(text, prec, free, lead_number=starts, quotient=quotient, grouped=grouped)


def _left(a: Ex) -> None:
    """Refuse an operation after `a` when `a` leaves its own extent open."""
    if a.open_word:
        raise Reject("arithmetic after a worded operation (half of 10 plus 4): two readings")
    if a.bare:
        raise Reject("an operation after an unbracketed function argument (sin pi/2)")


def _tail(ex: Ex, last: Ex) -> Ex:
    """`ex`, keeping what its last operand leaves open to a following operation."""
    return replace(
        ex,
        bare=last.bare,
        open_word=last.open_word,
        literal_power=last.literal_power,
        number_power=last.number_power,
    )


def _closed(ex: Ex) -> Ex:
    """`ex` inside brackets: nothing of it is open to what follows."""
    return replace(_tail(ex, Ex("", ATOM)), lead_number=False, word_power=False)


def _word_power(ex: Ex) -> Ex:
    """`ex` as "x squared": a worded power, whose number exponent is no x^2 before /."""
    return replace(ex, word_power=True, literal_power=False, number_power=False)


def _word_operand(a: Ex) -> Ex:
    if a.word_power:
        raise Reject("a worded power inside a worded operation (half of 4 squared)")
    return a


def _worded(ex: Ex) -> Ex:
    return replace(ex, open_word=True)


def word_operands(children: list[Any]) -> list[Ex]:
    """Operands of "the sum of A and B", "A increased by p%": each one number, name,
    power or bracket, since "the sum of 2 and 3 times 4" has two readings."""
    exs = [_word_operand(e) for e in _exprs(children)]
    if any(e.prec < SIGNED for e in exs):
        raise Reject("a worded operation on an unbracketed sum or product")
    return exs


def _power(base: Ex, exponent: Ex, *, worded: bool = False) -> Ex:
    if base.bare:
        raise Reject("a power of an unbracketed function argument (sin x^2)")
    _left(base)
    if worded and exponent.word_power:
        raise Reject("a worded power of a worded power (2 to the power of 3 squared)")
    text = f"{_wrap(base, ATOM)}**{_wrap(exponent, SIGNED)}"
    literal = bool(_LITERAL.fullmatch(exponent.text))
    ex = _op(text, POWER, base, exponent, lead=base)
    return replace(ex, literal_power=literal, number_power=literal and not base.free)


def _literal(value: int) -> Ex:
    return Ex(str(value), ATOM, lead_number=True)


class ExprTransformer(Transformer_NonRecursive[Token, Any]):
    """Tree nodes of the expression rules to `Ex`."""

    def number(self, children: list[Token]) -> Ex:
        raw = str(children[0])
        return Ex(raw.replace(",", ""), ATOM, lead_number=True, grouped="," in raw)

    def numword(self, children: list[Token]) -> Ex:
        return _literal(number_word(str(children[0])))

    def ordinal(self, children: list[Token]) -> int:
        word = str(children[0]).lower()
        return _ORDINALS.index(word) + 1 if word in _ORDINALS else int(word[:-2])

    def name(self, children: list[Token]) -> Ex:
        word = str(children[0])
        key = word if word in ("E", "I") else word.lower()
        if key in _CONSTANTS:
            return Ex(_CONSTANTS[key], ATOM)
        if len(word) == 1 or key in _GREEK:
            return Ex(word, ATOM, frozenset({word}), lone=word)
        raise Reject(f"unknown word {word!r}")

    def var(self, children: list[Token]) -> str:
        ex = self.name(children)
        if not ex.lone:
            raise Reject(f"{children[0]!s} is not a variable")
        return ex.lone

    def group(self, children: list[Any]) -> Ex:
        inner = _exprs(children)[0]
        return replace(_closed(inner), text=f"({inner.text})", prec=ATOM)

    def apply(self, children: list[Any]) -> Ex:
        name, argument = str(children[0]), _exprs(children)[0]
        if name in _FUNCTIONS:
            return Ex(f"{name}({argument.text})", ATOM, call=(name, 0, argument))
        head = self.name([children[0]])
        if not head.lone:
            raise Reject(f"{name}(...) is neither a product nor a function")
        return _op(f"{name}*({argument.text})", PRODUCT, head, argument)

    def prime_apply(self, children: list[Any]) -> Ex:
        name, primes, argument = str(children[0]), len(str(children[1])), _exprs(children)[0]
        if name not in _FUNCTIONS:
            raise Reject(f"{name}' is not a function name")
        return Ex(f"{name}{chr(39) * primes}({argument.text})", ATOM, call=(name, primes, argument))

    def call(self, children: list[Any]) -> Ex:
        name = str(children[0]).lower()
        args = _exprs(children)
        if len(args) == 2:
            raise Reject(f"{name}(a, b): which is the base?")
        arg = args[0]
        if name == "log":
            raise Reject("log without a base: natural or base 10? (say ln or log base 10)")
        if name == "cbrt" and arg.free:
            raise Reject("a cube root of a variable (the real root is not analytic at 0)")
        degrees = _LITERAL.fullmatch(arg.text.strip("()"))
        if name in _TRIG and degrees and abs(float(degrees[0])) > 6:
            raise Reject(f"{name} {arg.text}: radians or degrees?")
        name = _FUNCTION_NAMES.get(name, name)
        return _op(f"{name}({arg.text})", ATOM, arg)

    def bare_call(self, children: list[Any]) -> Ex:
        return replace(self.call(children), bare=True)

    def sqrt(self, children: list[Any]) -> Ex:
        arg = _exprs(children)[0]
        return _op(f"sqrt({arg.text})", ATOM, arg)

    def word_sqrt(self, children: list[Any]) -> Ex:
        return _worded(self.sqrt([_word_operand(_exprs(children)[0])]))

    def cbrt(self, children: list[Any]) -> Ex:
        arg = _word_operand(_exprs(children)[0])
        return _worded(self.call([Token("FUNC", "cbrt"), arg]))

    def nth_root(self, children: list[Any]) -> Ex:
        index, arg = _exprs(children)
        if not index.text.isdigit() or int(index.text) < 2 or arg.free:
            raise Reject("a root other than a whole-number root of a number")
        return _op(f"real_root({arg.text}, {index.text})", ATOM, index, arg)

    def log_base(self, children: list[Any]) -> Ex:
        if str(children[0]).lower() != "log":
            raise Reject("only log has a base")
        base, arg = (_word_operand(e) for e in _exprs(children))
        if base.text.startswith("-") or base.text in ("0", "1"):
            raise Reject(f"log base {base.text} is undefined")
        return _worded(_op(f"log({arg.text}, {base.text})", ATOM, base, arg))

    def word_add(self, children: list[Any]) -> Ex:
        return _worded(self.add(word_operands(children)))

    def word_mul(self, children: list[Any]) -> Ex:
        return _worded(self.mul(word_operands(children)))

    def word_sub(self, children: list[Any]) -> Ex:
        a, b = word_operands(children)
        if not (_LITERAL.fullmatch(a.text) and _LITERAL.fullmatch(b.text)):
            raise Reject("the difference between a and b: a - b or b - a?")
        if Fraction(a.text) < Fraction(b.text):
            raise Reject(f"the difference between {a.text} and {b.text}: positive or negative?")
        return _worded(self.sub([a, b]))

    def word_div(self, children: list[Any]) -> Ex:
        return _worded(self.div(word_operands(children)))

    def add(self, children: list[Any]) -> Ex:
        a, b = _exprs(children)
        _left(replace(a, bare=False))
        ex = _op(f"{_wrap(a, SUM)} + {_wrap(b, PRODUCT)}", SUM, a, b, lead=a)
        return replace(ex, open_word=b.open_word)

    def sub(self, children: list[Any]) -> Ex:
        a, b = _exprs(children)
        _left(replace(a, bare=False))
        ex = _op(f"{_wrap(a, SUM)} - {_wrap(b, PRODUCT)}", SUM, a, b, lead=a)
        return replace(ex, open_word=b.open_word)

    def mul(self, children: list[Any]) -> Ex:
        a, b = _exprs(children)
        _left(a)
        text = f"{_wrap(a, PRODUCT)}*{_wrap(b, SIGNED)}"
        return _tail(_op(text, PRODUCT, a, b, lead=a, quotient=a.quotient), b)

    def frac(self, children: list[Any]) -> Ex:
        """\\frac{a}{b}: braces bound both parts."""
        a, b = (_closed(e) for e in _exprs(children))
        return self.div([a, b])

    def fraction(self, children: list[Token]) -> Ex:
        return self.group([self.div([self.number(children[:1]), self.number(children[1:])])])

    def div(self, children: list[Any]) -> Ex:
        a, b = _exprs(children)
        _left(a)
        if a.literal_power and _LITERAL.fullmatch(b.text):
            raise Reject("x^2/3: a number power before a division reads as x^(2/3) too")
        text = f"{_wrap(a, PRODUCT)}/{_wrap(b, SIGNED)}"
        return _tail(_op(text, PRODUCT, a, b, lead=a, quotient=True), b)

    def imul(self, children: list[Any]) -> Ex:
        a, b = _exprs(children)
        if b.lead_number:
            raise Reject("a number after a factor (x 2)")
        if a.quotient:
            raise Reject("an implicit product after a/b")
        if a.number_power:
            raise Reject("e^2x: e^(2x) or e^2 * x?")
        return self.mul(children)

    def word_mod(self, children: list[Any]) -> Ex:
        a, b = _exprs(children)
        _left(a)
        if a.text.startswith("-") or b.text.startswith("-"):
            raise Reject("a remainder of negative numbers: which sign convention?")
        text = f"{_wrap(a, ATOM)} - {_wrap(b, ATOM)}*floor(({a.text})/({b.text}))"
        return _worded(_op(text, SUM, a, b, lead=a))

    def neg(self, children: list[Any]) -> Ex:
        a = _exprs(children)[0]
        if a.word_power:
            raise Reject("negative two squared: (-2)^2 or -(2^2)?")
        return _tail(_op(f"-{_wrap(a, SIGNED)}", SIGNED, a), a)

    def pow(self, children: list[Any]) -> Ex:
        base = _exprs(children)[0]
        exponent = children[-1]
        worded = any(isinstance(c, Token) and c.type.startswith("TO_THE") for c in children)
        if isinstance(exponent, int):
            return replace(_power(base, _literal(exponent)), word_power=worded)
        ex = replace(_power(base, exponent, worded=worded), word_power=worded)
        return _worded(ex) if worded else ex

    def square(self, children: list[Any]) -> Ex:
        return _word_power(_power(_exprs(children)[0], _literal(2)))

    def cube(self, children: list[Any]) -> Ex:
        return _word_power(_power(_exprs(children)[0], _literal(3)))

    def square_of(self, children: list[Any]) -> Ex:
        return _worded(_power(_closed(_word_operand(_exprs(children)[0])), _literal(2)))

    def cube_of(self, children: list[Any]) -> Ex:
        return _worded(_power(_closed(_word_operand(_exprs(children)[0])), _literal(3)))

    def fact(self, children: list[Any]) -> Ex:
        a = _exprs(children)[0]
        _left(a)
        return _op(f"factorial({a.text})", ATOM, a, lead=a)

    def word_fact(self, children: list[Any]) -> Ex:
        return replace(self.fact(children), word_power=True)

    def fact_of(self, children: list[Any]) -> Ex:
        return _worded(self.fact([_closed(_word_operand(_exprs(children)[0]))]))

    def _scaled(self, children: list[Any], text: str) -> Ex:
        a = _word_operand(_exprs(children)[0])
        return _worded(_op(text.format(_wrap(a, SIGNED)), PRODUCT, a))

    def half(self, children: list[Any]) -> Ex:
        return self._scaled(children, "{}/2")

    def third(self, children: list[Any]) -> Ex:
        return self._scaled(children, "{}/3")

    def quarter(self, children: list[Any]) -> Ex:
        return self._scaled(children, "{}/4")

    def double(self, children: list[Any]) -> Ex:
        return self._scaled(children, "2*{}")

    def triple(self, children: list[Any]) -> Ex:
        return self._scaled(children, "3*{}")

    def pct(self, children: list[Any]) -> Ex:
        return self.number(children[:1])

    def pct_of(self, children: list[Any]) -> Ex:
        p, a = _exprs(children)
        return _worded(_op(f"{p.text}/100*{_wrap(a, SIGNED)}", PRODUCT, p, _word_operand(a)))
