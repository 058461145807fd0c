"""How people write numbers in answers: units, digit groups, mixed numbers.

Each rule reads one habit and is kept narrow, so that no reading makes two different
answers equal:

- A unit is a word in ``\\text``/``\\mbox``/``\\mathrm`` after a number, at the end of an
  item; its power belongs to it (``864 \\mbox{ inches}^2`` is 864 square inches, not
  864²). ``^\\circ`` is a degree and ``\\$`` a dollar. One letter is a unit only when it
  is an SI symbol (``\\mathrm{e}`` and ``\\mathrm{i}`` stay numbers).
- Digit groups: ``{,}``, ``,\\!`` and a thin space ``\\,`` join groups of exactly three
  digits after a leading group of one to three (``11,\\! 111,\\! 100``). A bare comma
  joins them only when the whole answer is one such numeral with no space after a
  comma (``58,500``); in brackets, or with a space, commas separate items
  (``(1,500)`` is a point, ``1, 500`` a list, ``1,2`` a list).
- An inequality on one variable is an interval: ``x > 2`` is ``(2, ∞)``, ``-2 \\le x \\le 7``
  is ``[-2, 7]``; anything else with ``<`` or ``>`` is not read.
- A mixed number is a whole item: a positive integer and then a proper fraction of
  integers (``1\\frac{4}{5}``, ``1 4/5``, ``-2\\frac{1}{3}``); ``14/5``, ``2\\frac{5}{4}``,
  ``2\\frac{\\pi}{3}`` and ``2 \\cdot \\frac{1}{2}`` are not.
"""

from __future__ import annotations

import re
from typing import Any

import sympy as sp

__all__ = [
    "inequality_bounds",
    "join_digit_groups",
    "join_thousands",
    "mixed_number",
    "split_units",
]

_SI_LETTERS = frozenset("mgsLhKNJWVAT")
_NOT_UNITS = frozenset({"and", "or", "if", "for", "to", "is", "not", "but", "mod", "with", "of"})
_ALIASES = {
    "in": "inch", "ft": "foot", "feet": "foot", "yd": "yard", "mi": "mile",
    "mm": "millimeter", "cm": "centimeter", "m": "meter", "km": "kilometer",
    "metre": "meter", "centimetre": "centimeter", "millimetre": "millimeter",
    "kilometre": "kilometer", "g": "gram", "kg": "kilogram", "mg": "milligram",
    "l": "liter", "ml": "milliliter", "litre": "liter", "s": "second", "sec": "second",
    "min": "minute", "h": "hour", "hr": "hour", "deg": "degree", "lb": "pound",
    "oz": "ounce", "mph": "mile per hour", "unit": "unit", "dollar": "dollar",
}  # fmt: skip
_POWER_WORDS = {"square": 2, "sq": 2, "cubic": 3, "cu": 3}
_UNIT = re.compile(
    r"(?:(?<=[\d})])|(?<=\\pi))\s*\\(?:text|mbox|mathrm|textrm|rm)\s*\{\s*([A-Za-z][A-Za-z .]*?)\s*\}"
    r"(?:\s*\^\s*(?:\{\s*(\d)\s*\}|(\d)))?"
    r"(?=\s*(?:$|,|\)|\]|\\right|\\\}|\\\\|&|\\end))"
)
_DEGREES = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|\\degree(?![A-Za-z])|°")
_DOLLAR = re.compile(r"\\\$")
_SEPARATOR = r"(?:\{,\}|,\s*\\!|\\,)"
_GROUPS = re.compile(rf"(?<![\d.])[1-9]\d{{0,2}}(?:\s*{_SEPARATOR}\s*\d{{3}})+(?!\d)")
_THOUSANDS = re.compile(r"[-+]?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?")
_MIXED_LATEX = re.compile(r"([-+]?)\s*([1-9]\d*)\s*\(\(\s*(\d+)\s*\)\s*/\s*\(\s*(\d+)\s*\)\)")
_MIXED_PLAIN = re.compile(r"([-+]?)\s*([1-9]\d*)\s+(\d+)\s*/\s*(\d+)")


def _singular(word: str) -> str:
    if word in _ALIASES:
        return _ALIASES[word]
    if len(word) > 3 and word.endswith(("ches", "shes", "xes")):
        word = word[:-2]
    elif len(word) > 2 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    return _ALIASES.get(word, word)


def _unit_key(words: str, power: int) -> str | None:
    """A unit's comparable name (``square inches`` and ``in^2`` → ``inch^2``), or None
    when the word is not a unit."""
    parts = words.replace(".", " ").split()
    if len(parts) == 1 and len(parts[0]) == 1 and parts[0] not in _SI_LETTERS:
        return None
    parts = [p.lower() for p in parts]
    if not parts or any(p in _NOT_UNITS for p in parts):
        return None
    if parts[0] in _POWER_WORDS and len(parts) > 1:
        power *= _POWER_WORDS[parts[0]]
        parts = parts[1:]
    name = " ".join(_singular(p) for p in parts)
    return name if power == 1 else f"{name}^{power}"


def split_units(latex: str) -> tuple[str, tuple[str, ...]]:
    """Remove the units from a LaTeX answer; returns (the answer without them, the
    units in order, each as a comparable name such as ``centimeter^2``)."""
    units: list[str] = []

    def unit(match: re.Match[str]) -> str:
        key = _unit_key(match.group(1), int(match.group(2) or match.group(3) or 1))
        if key is None:
            return match.group(0)
        units.append(key)
        return ""

    text = _UNIT.sub(unit, latex)
    for pattern, name in ((_DEGREES, "degree"), (_DOLLAR, "dollar")):
        text, count = pattern.subn("", text)
        units += [name] * count
    return text, tuple(units)


def join_digit_groups(latex: str) -> str:
    """``10{,}000``, ``11,\\! 111`` and ``10\\,000`` → ``10000``, ``11111``, ``10000``."""
    return _GROUPS.sub(lambda m: re.sub(r"\D", "", m.group(0)), latex)


def join_thousands(plain: str) -> str:
    """The whole answer ``58,500`` → ``58500``; anything else is returned as it is."""
    text = plain.strip()
    return text.replace(",", "") if _THOUSANDS.fullmatch(text) else plain


def mixed_number(plain: str, *, latex: bool) -> Any | None:
    """The value of a whole item written as a mixed number, or None when it is not one.

    In LaTeX the fraction arrives as ``((4)/(5))`` (from ``\\frac{4}{5}``); in both
    forms an integer, a space and ``4/5`` also reads as one.
    """
    match = (_MIXED_LATEX.fullmatch(plain.strip()) if latex else None) or _MIXED_PLAIN.fullmatch(
        plain.strip()
    )
    if match is None:
        return None
    sign, whole, numerator, denominator = match.groups()
    if not 0 < int(numerator) < int(denominator):
        return None
    value = sp.Integer(whole) + sp.Rational(int(numerator), int(denominator))
    return -value if sign == "-" else value


_RELATION = re.compile(r"\s*(<=|>=|<|>)\s*")
_VARIABLE = re.compile(r"[A-Za-z]")
_FLIPPED = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}
Bounds = tuple[str, str, bool, bool]


def _one_sided(variable: str, op: str, bound: str) -> Bounds | None:
    if _VARIABLE.fullmatch(bound) and not _VARIABLE.fullmatch(variable):
        variable, op, bound = bound, _FLIPPED[op], variable  # 2 < x is x > 2
    if not _VARIABLE.fullmatch(variable) or _VARIABLE.fullmatch(bound):
        return None
    if op.startswith(">"):
        return bound, "oo", op == ">", True
    return "-oo", bound, True, op == "<"


def inequality_bounds(plain: str) -> Bounds | None:
    """An inequality on one variable as interval bounds ``(low, high, low open, high
    open)``: ``x > 2`` → ``("2", "oo", True, True)``, ``-2 <= x <= 7`` → ``("-2", "7",
    False, False)``; None for anything else (``x^2 > 4``, ``1 < x > 2``)."""
    parts = _RELATION.split(plain.strip())
    if len(parts) == 3:
        return _one_sided(parts[0], parts[1], parts[2])
    if len(parts) != 5 or not _VARIABLE.fullmatch(parts[2]):
        return None
    low, first, _, second, high = parts
    if first[0] != second[0] or _VARIABLE.fullmatch(low) or _VARIABLE.fullmatch(high):
        return None
    if first.startswith(">"):
        low, first, second, high = high, _FLIPPED[second], _FLIPPED[first], low
    return low, high, first == "<", second == "<"
