"""Privacy pinning: what counts as sensitive, and the error raised instead of sending it
to a cloud model."""

from __future__ import annotations

import re
from collections.abc import Iterable

from trifecta.linear_re import LinearPattern
from trifecta.models import ModelError

__all__ = ["PrivacyViolation", "find_sensitive"]

# RE2 (linear time): with `re`, "a.a.a…" or "1-1-1…" took time quadratic in its length.
_EMAIL = LinearPattern(r"\b[\pL\pN\pM_.+-]+@[\pL\pN\pM_-]+(?:\.[\pL\pN\pM_-]+)+\b")
_CARD = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}\b")


class PrivacyViolation(ModelError):
    """A sensitive run tried to reach a model marked ``cloud``."""


_DOUBLED = str.maketrans("0123456789", "0246813579")  # a digit doubled, digits summed


def _luhn(digits: str) -> bool:
    backwards = digits[::-1]
    return sum(map(int, backwards[0::2] + backwards[1::2].translate(_DOUBLED))) % 10 == 0


def find_sensitive(text: str, patterns: Iterable[str] = ()) -> list[str]:
    """The kinds of sensitive data found in `text`: ``email``, ``card`` (Luhn-valid 13-19
    digits), ``iban``, and ``pattern:<p>`` for each configured regular expression."""
    found = []
    if _EMAIL.search(text):
        found.append("email")
    if any(_luhn(m.group().replace(" ", "").replace("-", "")) for m in _CARD.finditer(text)):
        found.append("card")
    if _IBAN.search(text):
        found.append("iban")
    found += [f"pattern:{p}" for p in patterns if re.search(p, text)]
    return found
