"""Tier 0: recognise formal math requests in natural phrasing and turn them into claims.

Every pattern here meets user text, so each is a `LinearPattern` (RE2, linear time):
with Python's backtracking `re`, ``"1 1 1 … x"`` took time quadratic in its length.
"""

from __future__ import annotations

from typing import Any

from trifecta.linear_re import LinearPattern

__all__ = ["MATH_WORDS", "to_claim"]

_V = r"(?P<var>[a-z])"
_PATTERNS: list[tuple[str, LinearPattern]] = [
    ("integral", LinearPattern(
        rf"^(?:integrate|(?:find |compute |evaluate )?(?:the )?integral of)\s+(?P<expr>.+?)"
        rf"(?:\s*d{_V})?(?:\s+(?:with respect to|wrt)\s+{_V.replace('var', 'var2')})?"
        r"\s+from\s+(?P<lower>.+?)\s+to\s+(?P<upper>.+)$")),
    ("antiderivative", LinearPattern(
        rf"^(?:integrate|(?:find |compute )?(?:the )?(?:integral|antiderivative) of)\s+(?P<expr>.+?)"
        rf"(?:\s*d{_V})?(?:\s+(?:with respect to|wrt)\s+{_V.replace('var', 'var2')})?$")),
    ("derivative", LinearPattern(
        rf"^(?:differentiate|(?:find |compute )?(?:the )?derivative of)\s+(?P<expr>.+?)"
        rf"(?:\s+(?:with respect to|wrt)\s+{_V})?$")),
    ("limit", LinearPattern(
        rf"^(?:(?:find |compute )?(?:the )?limit of|lim)\s+(?P<expr>.+?)\s+as\s+{_V}\s*"
        r"(?:->|→|approaches|tends to|goes to)\s*(?P<point>.+)$")),
    ("series", LinearPattern(
        r"^(?:find |compute |give )?(?:the )?(?:taylor |maclaurin |power )?series (?:expansion )?(?:of|for)\s+(?P<expr>.+?)"
        rf"(?:\s+(?:at|around|about|near)\s+{_V}\s*=\s*(?P<point>[^ ]+))?"
        r"(?:\s+(?:to|up to|through)\s+order\s+(?P<order>\d+))?$")),
    ("solve", LinearPattern(rf"^solve\s+(?:for\s+{_V}\s*[:,]?\s*)?(?P<expr>.+?)(?:\s+for\s+{_V.replace('var', 'var2')})?$")),
    ("transform", LinearPattern(r"^(?P<op>simplify|factor|expand)\s+(?P<expr>.+)$")),
    ("percent", LinearPattern(
        r"^(?:what is |compute |calculate )?(?P<p>\d+(?:\.\d+)?)\s*(?:%|percent)\s+of\s+(?P<n>-?\d[\d,]*(?:\.\d+)?)$")),
    ("arithmetic", LinearPattern(
        r"^(?:what is|what's|compute|calculate|evaluate)?\s*(?P<expr>[-+*/^().\d\s×÷−]*\d[-+*/^().\d\s×÷−]*)$")),
]  # fmt: skip

MATH_WORDS = LinearPattern(
    r"\b(integrate|integral|antiderivative|derivative|differentiate|solve|simplify|factor|expand"
    r"|limit|percent|sqrt|equation|series|taylor)\b|\d\s*%|\d\s*[-+*/^]\s*\d|\bx\s*\^",
    ignore_case=True,
)
_FILLER = LinearPattern(r"^(?:please\s+|can you\s+|could you\s+)+", ignore_case=True)
_SYSTEM = LinearPattern(r"\s*(?:,|;|\band\b)\s*")


def _clean(instruction: str) -> str:
    text = " ".join(instruction.split()).rstrip(" ?.!")
    return _FILLER.sub("", text)


def to_claim(instruction: str) -> dict[str, Any] | None:
    """The claim to compute for a formal request, or None if none matches."""
    text = _clean(instruction)
    for kind, pattern in _PATTERNS:
        match = pattern.match(text) or pattern.match(text.lower())
        if match:
            return _claim(kind, match.groupdict())
    return None


def _claim(kind: str, groups: dict[str, str | None]) -> dict[str, Any]:
    var = groups.get("var") or groups.get("var2")
    base: dict[str, Any] = {"var": var} if var else {}
    if kind == "percent":
        number = (groups["n"] or "0").replace(",", "")
        return {"kind": "value", "expr": f"{groups['p']}/100*{number}", **base}
    if kind == "arithmetic":
        return {"kind": "value", "expr": groups["expr"], "op": "simplify"}
    if kind == "transform":
        return {"kind": "equal", "expr": groups["expr"], "op": groups["op"]}
    extra: dict[str, Any] = {k: groups[k] for k in ("lower", "upper", "point") if groups.get(k)}
    if groups.get("order"):
        extra["order"] = int(groups["order"] or 6)
    expr: Any = groups["expr"]
    if kind == "solve" and str(expr).count("=") > 1:
        expr = [e.strip() for e in _SYSTEM.split(str(expr)) if e.strip()]
    return {"kind": kind, "expr": expr, **base, **extra}
