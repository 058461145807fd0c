"""Tier 0: formal math requests in natural wording, read by a grammar, as claims.

`requests.lark` is parsed LALR(1) (time linear in the request); the tree becomes one
claim the engine computes and checks with SymPy. A request the grammar does not consume
whole, or that has no single safe reading, is not recognised (None), never guessed.
Unicode and LaTeX operators are first rewritten to the grammar's plain tokens.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import lark
from lark import Lark, LarkError

from trifecta.linear_re import LinearPattern
from trifecta.specialists.math._grammar_claims import ClaimTransformer
from trifecta.specialists.math._grammar_expr import Reject

__all__ = ["MATH_WORDS", "MAX_REQUEST_CHARS", "normalize_request", "to_claim"]

MAX_REQUEST_CHARS = 2_000

MATH_WORDS = LinearPattern(
    r"\b(integrate|integral|antiderivative|derivative|differentiate|solve|simplify|factor|expand"
    r"|limit|percent|sqrt|equation|series|taylor)\b|\d\s*%|\d\s*[-+*/^]\s*\d|\bx\s*\^",
    ignore_case=True,
)

_LATEX_D = re.compile(
    r"\\[dt]?frac\s*\{\s*(d|\\partial)(\^\{?\d\}?)?\s*\}\s*\{\s*(?:d|\\partial)\s*([a-z])(\^\{?\d\}?)?\s*\}"
)
_LATEX = {
    "left": " ", "right": " ", "displaystyle": " ", "quad": " ", "qquad": " ", ",": " ",
    ";": " ", ":": " ", "!": " ", " ": " ", "cdot": "*", "times": "*", "div": "/",
    "pi": " pi ", "infty": " oo ", "to": " -> ", "rightarrow": " -> ", "%": "%",
    "dfrac": "\\frac", "tfrac": "\\frac", "frac": "\\frac", "sqrt": "\\sqrt", "int": " ∫ ",
    "lim": " lim ", "partial": "d", "arcsin": " asin ", "arccos": " acos ", "arctan": " atan ",
}  # fmt: skip
_LATEX |= {
    f: f" {f} "
    for f in ["sin", "cos", "tan", "cot", "sec", "csc", "sinh", "cosh", "tanh", "ln", "log", "exp"]
}
_COMMAND = re.compile(r"\\([A-Za-z]+|[,;:! %])")
_UNICODE = str.maketrans({
    "×": "*", "✕": "*", "·": "*", "⋅": "*", "∙": "*", "÷": "/", "−": "-", "–": "-", "—": "-",
    "π": " pi ", "∞": " oo ", "→": "->", "⟶": "->", "√": " sqrt ", "∛": " cbrt ", "∂": "d",
    "’": "'", "‘": "'", "$": " ", "½": "(1/2)", "⅓": "(1/3)", "⅔": "(2/3)", "¼": "(1/4)",
    "¾": "(3/4)",
})  # fmt: skip
_SUPER = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻", "0123456789+-")
_SUB = str.maketrans("₀₁₂₃₄₅₆₇₈₉₊₋", "0123456789+-")
_SCRIPT = re.compile(r"([⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻]+)|([₀₁₂₃₄₅₆₇₈₉₊₋]+)")
_WHAT_IS = re.compile(r"\bwhat\s*(?:'s|s)\b", re.IGNORECASE)
_END = re.compile(r"(?:\s|[?.]|(?<![\d)])!)+$")
_FRACTIONS = {"½": "1/2", "⅓": "1/3", "⅔": "2/3", "¼": "1/4", "¾": "3/4"}
_MIXED = re.compile(r"(?<![\d.,])(\d+)\s*([½⅓⅔¼¾])")
# "5!!" (double factorial, or a factorial and an exclamation?) and a lone closing "!"
# after a number ("What is 5 plus 3!": an exclamation, or 3 factorial?) have two readings.
_BANG = re.compile(r"!\s*!|^[^!]*[\d)]\s*![\s.]*$")


def _script(match: re.Match[str]) -> str:
    sup, sub = match.group(1), match.group(2)
    digits = (sup or sub).translate(_SUPER if sup else _SUB)
    mark = "^" if sup else "_"
    return f"{mark}{digits}" if digits in ("+", "-") else f"{mark}({digits})"


def _mixed(match: re.Match[str]) -> str:
    return f"({match.group(1)} + {_FRACTIONS[match.group(2)]})"


def _latex(match: re.Match[str]) -> str:
    return _LATEX.get(match.group(1), match.group(0))


def _latex_d(match: re.Match[str]) -> str:
    order = match.group(2) or ""
    return f" d{order}/d{match.group(3)}{order} "


def normalize_request(text: str) -> str:
    """The request with Unicode and LaTeX operators as the grammar's plain tokens
    (``x² ÷ 2`` → ``x^(2) / 2``, ``\\frac{d}{dx}`` → ``d/dx``, ``2½`` → ``(2 + 1/2)``),
    spaces collapsed and closing punctuation dropped."""
    text = _LATEX_D.sub(_latex_d, text)
    text = _MIXED.sub(_mixed, _COMMAND.sub(_latex, text)).translate(_UNICODE)
    text = _SCRIPT.sub(_script, text)
    text = _WHAT_IS.sub("what is", text)
    return _END.sub("", " ".join(text.split()))


def _cache_file() -> str | bool:
    """Where the parse tables are kept between processes (building them takes about a
    second): ``$XDG_CACHE_HOME/trifecta`` (~/.cache/trifecta), a directory of the user's
    own, never a shared temporary one (the tables are a pickle). Lark rebuilds them when
    the grammar changed; False when the directory cannot be made."""
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "trifecta"
    try:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return False
    python = "".join(map(str, sys.version_info[:2]))
    return str(root / f"math-requests-lark{lark.__version__}-py{python}.cache")


@functools.cache
def _parser() -> Lark:
    grammar = (resources.files(__package__) / "requests.lark").read_text("utf-8")
    return Lark(grammar, parser="lalr", lexer="contextual", cache=_cache_file())


def to_claim(instruction: str) -> dict[str, Any] | None:
    """The claim to compute for a formal request, or None when the grammar does not
    read the whole request or the request has no single safe reading."""
    if len(instruction) > MAX_REQUEST_CHARS or _BANG.search(instruction):
        return None
    text = normalize_request(instruction)
    try:
        claim = ClaimTransformer().transform(_parser().parse(text))
    except (LarkError, Reject, RecursionError):
        return None
    return claim if isinstance(claim, dict) else None
