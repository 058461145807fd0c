"""A whitelist parser from text to SymPy: no `eval`, no `sympify` on user text."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from typing import Any

import sympy as sp

from trifecta.errors import UserError

__all__ = ["ExprError", "must_be_nonzero", "parse_expr"]

MAX_CHARS = 10_000
MAX_DEPTH = 40
MAX_EXPONENT = 10_000
MAX_INT_DIGITS = 4_000  # under the interpreter's int-to-str limit (4,300)

_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "sin": sp.sin, "cos": sp.cos, "tan": sp.tan, "cot": sp.cot, "sec": sp.sec, "csc": sp.csc,
    "asin": sp.asin, "acos": sp.acos, "atan": sp.atan, "sinh": sp.sinh, "cosh": sp.cosh,
    "tanh": sp.tanh, "exp": sp.exp, "log": lambda *a: _log(*a), "ln": sp.log, "sqrt": sp.sqrt,
    "abs": sp.Abs, "Abs": sp.Abs, "floor": sp.floor, "ceiling": sp.ceiling,
    "cbrt": lambda a: sp.real_root(a, 3), "real_root": lambda a, n: _real_root(a, n),
    "factorial": lambda n: _bounded(sp.factorial, n), "binomial": lambda n, k: _bounded(sp.binomial, n, k),
}  # fmt: skip
MAX_FACTORIAL = 10_000


def _bounded(fn: Callable[..., Any], *args: Any) -> Any:
    if any(a.is_number and abs(a) > MAX_FACTORIAL for a in args):
        raise ExprError(f"{fn.__name__} argument larger than {MAX_FACTORIAL}")
    if any(a.is_number and a.is_integer is not True for a in args):
        raise ExprError(f"{fn.__name__} of a number that is not an integer")
    return fn(*args)


def _log(arg: Any, base: Any = None) -> Any:
    """log(arg), or log(arg, base) for a base that is positive and not 1."""
    if base is None:
        return sp.log(arg)
    if base.is_number and (base.is_positive is not True or base == 1):
        raise ExprError(f"log base {sp.sstr(base)} is undefined: a base is positive and not 1")
    return sp.log(arg, base)


def _real_root(arg: Any, index: Any) -> Any:
    if not (index.is_Integer and index >= 2):
        raise ExprError("real_root(a, n) takes a whole number n of at least 2")
    return sp.real_root(arg, index)


_CONSTANTS: dict[str, Any] = {
    "pi": sp.pi,
    "e": sp.E,
    "E": sp.E,
    "oo": sp.oo,
    "inf": sp.oo,
    "zoo": sp.zoo,
    "nan": sp.nan,
    "I": sp.I,
}
_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}
_TOKEN = re.compile(
    r"(?P<num>\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z_0-9]*)|(?P<op>\*\*|[-+*/(),=<>!%])|(?P<space>\s+)|(?P<other>.)"
)
_KNOWN = set(_FUNCTIONS) | set(_CONSTANTS) | {"binomial", "factorial"}


def _tokens(text: str, latex: bool, imaginary: bool) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "other"
        value = match.group()
        if kind == "space":
            continue
        if kind == "num" and not value.isdigit():
            value = _exact_decimal(value)
        if kind == "name" and latex and value not in _KNOWN and not value.startswith("_"):
            out += [("name", "I" if ch == "i" else ch) for ch in value]
            continue
        out.append((kind, "I" if imaginary and value == "i" else value))
    return out


def _exact_decimal(literal: str) -> str:
    """A decimal literal as exact integer arithmetic: ``12.5`` → ``(125*10**-1)``."""
    mantissa, _, exponent = literal.lower().partition("e")
    whole, _, fraction = mantissa.partition(".")
    power = int(exponent or 0) - len(fraction)
    digits = (whole + fraction).lstrip("0") or "0"
    return f"({digits}*10**({power}))" if power else digits


def _needs_times(left: tuple[str, str], right: tuple[str, str]) -> bool:
    ends_atom = left[0] in ("num", "name") or left[1] == ")"
    starts_atom = right[0] in ("num", "name") or right[1] == "("
    if not (ends_atom and starts_atom):
        return False
    calls = left[0] == "name" and left[1] in _KNOWN - set(_CONSTANTS) and right[1] == "("
    return not calls and not (left[0] == "num" and right[0] == "num")


class ExprError(UserError):
    """The text is not an expression we accept; `position` is a character offset."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


def normalize(text: str, *, latex: bool = False, imaginary: bool = False) -> str:
    """Unicode operators, `^` as power, `n!`, implicit multiplication (2x, 3(x+1), 2 sqrt(3));
    in LaTeX mode, multi-letter names are products of letters and `i` is the imaginary unit."""
    text = text.replace("^", "**").replace("×", "*").replace("÷", "/").replace("−", "-")
    text = text.replace("·", "*").replace("π", "pi")
    text = re.sub(
        r"(?<!\d)(\d+|\))\s*!",
        lambda m: f"factorial({m.group(1)})" if m.group(1) != ")" else ")!",
        text,
    )
    tokens = _tokens(text, latex, imaginary)
    parts: list[str] = []
    for index, token in enumerate(tokens):
        if index and _needs_times(tokens[index - 1], token):
            parts.append("*")
        parts.append(token[1])
    return " ".join(parts)


def _tree(text: str, *, latex: bool = False, imaginary: bool = False) -> ast.expr:
    if len(text) > MAX_CHARS:
        raise ExprError(f"expression is {len(text)} characters; the limit is {MAX_CHARS}")
    source = normalize(text, latex=latex, imaginary=imaginary)
    try:
        return ast.parse(source, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        offset = getattr(exc, "offset", None)
        raise ExprError(f"cannot parse {text!r}: {getattr(exc, 'msg', exc)}", offset) from None


def parse_expr(text: str, *, latex: bool = False, imaginary: bool = False) -> Any:
    """Parse `text` into a SymPy expression through a whitelist of syntax.

    `latex`: multi-letter names are products of letters and `i` is imaginary;
    `imaginary`: a lone `i` is the imaginary unit (math answers).

    Raises:
        ExprError: unsupported syntax, unknown function, oversized input or numbers.
    """
    return _convert(_tree(text, latex=latex, imaginary=imaginary), 0)


def must_be_nonzero(text: str) -> list[Any]:
    """What must not be 0 where `text` is defined, as written and before SymPy simplifies
    it away: each divisor, and each base raised to a power of at most 0 (``x/x`` needs
    ``x``, ``x^0`` needs ``x``, ``(x-1)^2/(x-1)`` needs ``x - 1``).

    Raises:
        ExprError: as `parse_expr`.
    """
    out = []
    for node in ast.walk(_tree(text)):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            out.append(_convert(node.right, 0))
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            exponent = _convert(node.right, 0)
            if exponent.is_number and exponent.is_extended_positive is False:
                out.append(_convert(node.left, 0))
    return out


def _convert(node: ast.AST, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise ExprError(f"expression nested deeper than {MAX_DEPTH} levels")
    handler = _HANDLERS.get(type(node))
    if handler is None:
        raise ExprError(
            f"unsupported syntax: {type(node).__name__}", getattr(node, "col_offset", None)
        )
    return handler(node, depth + 1)


def _constant(node: ast.AST, depth: int) -> Any:
    assert isinstance(node, ast.Constant)
    value = node.value
    if isinstance(value, bool) or not isinstance(value, int):
        raise ExprError(f"unsupported literal {value!r}", node.col_offset)
    if len(str(abs(value))) > MAX_INT_DIGITS:
        raise ExprError(f"integer literal longer than {MAX_INT_DIGITS} digits", node.col_offset)
    return sp.Integer(value)


def _name(node: ast.AST, depth: int) -> Any:
    assert isinstance(node, ast.Name)
    if node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if node.id.startswith("_") or len(node.id) > 24 or node.id in _FUNCTIONS:
        raise ExprError(f"name {node.id!r} is not allowed here", node.col_offset)
    return sp.Symbol(node.id)


def _binop(node: ast.AST, depth: int) -> Any:
    assert isinstance(node, ast.BinOp)
    left, right = _convert(node.left, depth), _convert(node.right, depth)
    if isinstance(node.op, ast.Pow):
        return _power(left, right, node)
    op = _BINARY.get(type(node.op))
    if op is None:
        raise ExprError(f"unsupported operator {type(node.op).__name__}", node.col_offset)
    return op(left, right)


def _power(base: Any, exponent: Any, node: ast.BinOp) -> Any:
    if base.is_zero and exponent.is_zero:
        raise ExprError("0^0 is undefined", node.col_offset)
    if (
        exponent.is_number
        and abs(exponent) > MAX_EXPONENT
        and not (base.is_number and abs(base) == 1)
    ):
        raise ExprError(f"exponent larger than {MAX_EXPONENT}", node.col_offset)
    return sp.Pow(base, exponent)


def _unary(node: ast.AST, depth: int) -> Any:
    assert isinstance(node, ast.UnaryOp)
    operand = _convert(node.operand, depth)
    if isinstance(node.op, ast.USub):
        return -operand
    if isinstance(node.op, ast.UAdd):
        return operand
    raise ExprError(f"unsupported operator {type(node.op).__name__}", node.col_offset)


def _call(node: ast.AST, depth: int) -> Any:
    assert isinstance(node, ast.Call)
    if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS:
        raise ExprError(f"call to {ast.unparse(node.func)!r} is not allowed", node.col_offset)
    if node.keywords or not node.args:
        raise ExprError(f"{node.func.id}() takes positional arguments only", node.col_offset)
    return _FUNCTIONS[node.func.id](*(_convert(arg, depth) for arg in node.args))


_HANDLERS: dict[type[ast.AST], Callable[[ast.AST, int], Any]] = {
    ast.Constant: _constant,
    ast.Name: _name,
    ast.BinOp: _binop,
    ast.UnaryOp: _unary,
    ast.Call: _call,
}
