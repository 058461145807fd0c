"""LaTeX answers to the plain expression syntax the whitelist parser reads.

A string transform only: the result is parsed by `_expr.parse_expr`, never evaluated.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["is_latex", "latex_to_plain", "unwrap"]

_GREEK = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "zeta",
    "eta",
    "theta",
    "iota",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
    "omicron",
    "rho",
    "sigma",
    "tau",
    "upsilon",
    "phi",
    "chi",
    "psi",
    "omega",
]
_FUNCS = {"sin", "cos", "tan", "cot", "sec", "csc", "sinh", "cosh", "tanh", "exp", "ln", "log"}
_ARC = {"arcsin": "asin", "arccos": "acos", "arctan": "atan"}
_DROP = re.compile(
    r"\\(left|right|displaystyle|textstyle|bigl?|bigr?|Bigl?|Bigr?|!|,|;|:|quad|qquad)(?![A-Za-z])|~|\\ "
)
_TEXT = re.compile(r"\\(?:text|textbf|textit|mathrm|mathbf|mbox|operatorname)\s*\{([^{}]*)\}")
_MATRIX = re.compile(
    r"(?:(?:\\left\s*)?([\[(])\s*)?"  # brackets written around matrix or array
    r"\\begin\{(?P<env>[pbB]?matrix|smallmatrix|array)\}(?:\{[clr|\s]*\})?"
    r"(?P<body>.*?)\\end\{(?P=env)\}"
    r"(?(1)\s*(?:\\right\s*)?[\])])",
    re.DOTALL,
)
_ROW = re.compile(r"\\\\(?:\[[^\]]*\])?")
_BARE_FUNC = re.compile(
    r"\\(sin|cos|tan|cot|sec|csc|ln|log|exp)\s+([A-Za-z0-9]|\\[A-Za-z]+)(?![A-Za-z0-9({])"
)


def is_latex(text: str) -> bool:
    """Whether `text` uses LaTeX commands or braces."""
    return "\\" in text or "{" in text or "$" in text


def _group(text: str, start: int) -> tuple[str, int]:
    """The argument at `start`: a {...} group or a single token; returns (inner, end)."""
    while start < len(text) and text[start] == " ":
        start += 1
    if start >= len(text):
        raise ValueError("missing argument")
    if text[start] != "{":
        match = re.match(r"\\[A-Za-z]+|.", text[start:])
        assert match is not None
        return match.group(0), start + match.end()
    depth = 0
    for index in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            return text[start + 1 : index], index + 1
    raise ValueError("unbalanced braces")


def _replace_command(
    text: str, name: str, arity: int, render: Callable[[list[str], str | None], str]
) -> str:
    pattern = re.compile(rf"\\{name}(?![A-Za-z])")
    while match := pattern.search(text):
        position, args = match.end(), []
        option = None
        if name == "sqrt" and text[position : position + 1] == "[":
            close = text.index("]", position)
            option, position = text[position + 1 : close], close + 1
        for _ in range(arity):
            arg, position = _group(text, position)
            args.append(_convert(arg))
        rendered = render(args, option)
        text = text[: match.start()] + rendered + text[position:]
    return text


def _frac(args: list[str], _: str | None) -> str:
    return f"(({args[0]})/({args[1]}))"


def _sqrt(args: list[str], index: str | None) -> str:
    return f" sqrt({args[0]})" if index is None else f"(({args[0]})**(1/({_convert(index)})))"


def _closing_paren(text: str) -> int:
    depth = 0
    for index, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return index
    raise ValueError("unbalanced parentheses")


def _log_base(text: str) -> str:
    """``\\log_{b} x`` or ``\\log_b(x)`` → ``log(x, b)``."""
    while (start := text.find("\\log_")) >= 0:
        base, position = _group(text, start + len("\\log_"))
        rest = text[position:].lstrip()
        if rest.startswith("("):
            end = _closing_paren(rest)
            arg, tail = rest[1:end], rest[end + 1 :]
        else:
            arg, after = _group(rest, 0)
            tail = rest[after:]
        text = f"{text[:start]} log({_convert(arg)}, {_convert(base)}){tail}"
    return text


def _convert(text: str) -> str:
    text = _replace_command(text, r"[dt]?frac", 2, _frac)
    text = _replace_command(text, r"binom", 2, lambda a, _: f" binomial({a[0]}, {a[1]})")
    text = _replace_command(text, "sqrt", 1, _sqrt)
    text = _log_base(text)
    text = re.sub(
        r"\\(" + "|".join(_ARC) + r")(?![A-Za-z])", lambda m: " " + _ARC[m.group(1)], text
    )
    text = re.sub(r"\\(" + "|".join(sorted(_FUNCS)) + r")(?![A-Za-z])", r" \1", text)
    text = re.sub(r"\\(" + "|".join(_GREEK) + r")(?![A-Za-z])", r" \1 ", text)
    text = re.sub(r"\\pi(?![A-Za-z])", " pi ", text)
    text = re.sub(r"\\infty(?![A-Za-z])", " oo ", text)
    text = re.sub(r"\\(cdot|times)(?![A-Za-z])", "*", text)
    text = re.sub(r"\\div(?![A-Za-z])", "/", text)
    text = re.sub(r"\\cup(?![A-Za-z])", " U ", text)
    text = text.replace("\\{", "⦃").replace("\\}", "⦄")
    return text.replace("{", "(").replace("}", ")")


def _matrix(match: re.Match[str]) -> str:
    """A matrix in any environment (``pmatrix``, ``bmatrix``, ``\\left[ matrix \\right]``,
    ``array``) as nested tuples; a single row or column as one tuple. A ``vmatrix`` is a
    determinant, not a matrix, and is left unread."""
    rows = [
        [cell.strip() for cell in row.split("&")]
        for row in _ROW.split(match.group("body"))
        if row.strip()
    ]
    if len(rows) == 1 or all(len(r) == 1 for r in rows):
        return "(" + ", ".join(cell for row in rows for cell in row) + ")"
    return "(" + ", ".join("(" + ", ".join(row) + ")" for row in rows) + ")"


def unwrap(text: str) -> str:
    """The answer inside ``$…$`` and ``\\boxed{…}``."""
    text = text.strip().strip("$").strip()
    boxed = re.fullmatch(r"\\boxed\s*\{(.*)\}", text, re.DOTALL)
    return boxed.group(1).strip() if boxed else text


def latex_to_plain(text: str) -> str:
    """Convert a LaTeX answer to plain syntax (``\\frac{1}{2}`` → ``((1)/(2))``).

    Units and digit-group separators are read before (`_written`); what is left of them
    here is dropped (``\\%``) or read as letters.

    Raises:
        ValueError: unbalanced braces or a command missing its argument.
    """
    text = _MATRIX.sub(_matrix, unwrap(text))
    text = _BARE_FUNC.sub(lambda m: f"\\{m.group(1)}({m.group(2)})", text)
    text = re.sub(r"\\(pm|mp)(?![A-Za-z])", " ± ", text)
    text = _TEXT.sub(lambda m: f" {m.group(1)} ", text)
    text = _DROP.sub(" ", text)
    text = text.replace("\\%", "").replace("\\$", "").replace("%", "")
    text = re.sub(r"^\s*[A-Za-z]\s*\\in\s*", "", text)
    text = re.sub(r"\\(le|leq)(?![A-Za-z])", "<=", text)
    text = re.sub(r"\\(ge|geq)(?![A-Za-z])", ">=", text)
    return " ".join(_convert(text).split())
