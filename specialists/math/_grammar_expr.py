"""Expressions of the request grammar (`requests.lark`) as plain expression text.

Each node becomes an `Ex`: the text `_expr.parse_expr` reads (``2*x**2 + 1``), its free
variables, and the few facts that make a reading ambiguous. An ambiguous reading is
refused (`Reject`), never guessed: a number after a product (``x 2``), a product after a
quotient (``1/2x``: ``x/2`` or ``1/(2x)``?), an unbracketed function argument followed by
more factors (``sin x y``), and a function call such as ``f(3)`` inside arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
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


def number_word(word: str) -> int:
    """The value of a number word (``seven``, ``forty``)."""
    word = word.lower()
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


def word_operands(children: list[Any]) -> list[Ex]:
    """Operands of "the sum of A and B", "A increased by p%": each one number, name,
    power or bracket, since "the sum of 2 and 3 times 4" has two readings."""
    exs = _exprs(children)
    if any(e.prec < SIGNED for e in exs):
        raise Reject("a worded operation on an unbracketed sum or product")
    return exs


def _power(base: Ex, exponent: Ex) -> Ex:
    if base.bare:
        raise Reject("a power of an unbracketed function argument (sin x^2)")
    text = f"{_wrap(base, ATOM)}**{_wrap(exponent, SIGNED)}"
    return _op(text, POWER, base, exponent, lead=base)


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
        return replace(inner, text=f"({inner.text})", prec=ATOM, lead_number=False, bare=False)

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
        if len(args) == 2 and name != "log":
            raise Reject(f"{name} takes one argument")
        if name == "cbrt" and args[0].free:
            return _op(f"({args[0].text})**(1/3)", POWER, *args)
        name = _FUNCTION_NAMES.get(name, name)
        return _op(f"{name}({', '.join(a.text for a in args)})", ATOM, *args)

    def bare_call(self, children: list[Any]) -> Ex:
        return replace(self.call(children), bare=True)

    def sqrt(self, children: list[Any]) -> Ex:
        arg = _exprs(children)[0]
        return _op(f"sqrt({arg.text})", ATOM, arg)

    def cbrt(self, children: list[Any]) -> Ex:
        return self.call([Token("FUNC", "cbrt"), *_exprs(children)])

    def nth_root(self, children: list[Any]) -> Ex:
        index, arg = _exprs(children)
        return _op(f"({arg.text})**(1/({index.text}))", POWER, index, arg)

    def log_base(self, children: list[Any]) -> Ex:
        if str(children[0]).lower() != "log":
            raise Reject("only log has a base")
        base, arg = _exprs(children)
        return _op(f"log({arg.text}, {base.text})", ATOM, base, arg)

    def word_add(self, children: list[Any]) -> Ex:
        return self.add(word_operands(children))

    def word_mul(self, children: list[Any]) -> Ex:
        return self.mul(word_operands(children))

    def word_sub(self, children: list[Any]) -> Ex:
        return self.sub(word_operands(children))

    def word_div(self, children: list[Any]) -> Ex:
        return self.div(word_operands(children))

    def add(self, children: list[Any]) -> Ex:
        a, b = _exprs(children)
        return _op(f"{_wrap(a, SUM)} + {_wrap(b, PRODUCT)}", SUM, a, b, lead=a)

    def sub(self, children: list[Any]) -> Ex:
        a, b = _exprs(children)
        return _op(f"{_wrap(a, SUM)} - {_wrap(b, PRODUCT)}", SUM, a, b, lead=a)

    def mul(self, children: list[Any]) -> Ex:
        a, b = _exprs(children)
        text = f"{_wrap(a, PRODUCT)}*{_wrap(b, SIGNED)}"
        return _op(text, PRODUCT, a, b, lead=a, quotient=a.quotient)

    def fraction(self, children: list[Token]) -> Ex:
        return self.group([self.div([self.number(children[:1]), self.number(children[1:])])])

    def div(self, children: list[Any]) -> Ex:
        a, b = _exprs(children)
        if a.text.endswith("**1"):
            raise Reject("x^1/2: a power of 1 before a division reads as x^(1/2)")
        return _op(f"{_wrap(a, PRODUCT)}/{_wrap(b, SIGNED)}", PRODUCT, a, b, lead=a, quotient=True)

    def imul(self, children: list[Any]) -> Ex:
        a, b = _exprs(children)
        if b.lead_number:
            raise Reject("a number after a factor (x 2)")
        if a.bare or a.quotient:
            raise Reject("an implicit product after sin x or a/b")
        return self.mul(children)

    def mod(self, children: list[Any]) -> Ex:
        a, b = _exprs(children)
        text = f"{_wrap(a, ATOM)} - {_wrap(b, ATOM)}*floor({a.text}/({b.text}))"
        return _op(text, SUM, a, b, lead=a)

    def neg(self, children: list[Any]) -> Ex:
        a = _exprs(children)[0]
        return _op(f"-{_wrap(a, SIGNED)}", SIGNED, a)

    def pow(self, children: list[Any]) -> Ex:
        base = _exprs(children)[0]
        exponent = children[-1]
        return _power(base, _literal(exponent) if isinstance(exponent, int) else exponent)

    def square(self, children: list[Any]) -> Ex:
        return _power(_exprs(children)[0], _literal(2))

    def cube(self, children: list[Any]) -> Ex:
        return _power(_exprs(children)[0], _literal(3))

    def fact(self, children: list[Any]) -> Ex:
        a = _exprs(children)[0]
        if a.bare:
            raise Reject("a factorial of an unbracketed function argument")
        return _op(f"factorial({a.text})", ATOM, a, lead=a)

    def _scaled(self, children: list[Any], text: str) -> Ex:
        a = _exprs(children)[0]
        return _op(text.format(_wrap(a, SIGNED)), PRODUCT, a)

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
        return _op(f"{p.text}/100*{_wrap(a, SIGNED)}", PRODUCT, p, a)
