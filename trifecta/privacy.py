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
# a run of digits (single spaces or dashes between) that is not part of a word or code
_DIGITS = re.compile(r"(?<![A-Za-z\d])\d(?:[ -]?\d)*(?![A-Za-z\d])")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}\b")
_IBAN_PLAIN = re.compile(r"\b[A-Z]{2}\d{2}[A-Z0-9]{11,30}\b")


class PrivacyViolation(ModelError):
    """A sensitive run tried to reach a model marked ``cloud``."""


_DOUBLED = str.maketrans("0123456789", "0246813579")  # a digit doubled, digits summed


def _luhn(digits: str) -> bool:
    backwards = digits[::-1]
    return sum(map(int, backwards[0::2] + backwards[1::2].translate(_DOUBLED))) % 10 == 0


def _has_card(text: str) -> bool:
    """A Luhn-valid 13-19 digit number made of whole digit groups in a run of digits
    ("call 555 4111 1111 1111 1111" holds one), so digits around a card do not hide it."""
    for run in _DIGITS.finditer(text):
        groups = re.split(r"[ -]", run.group())
        for start in range(len(groups)):
            digits = ""
            for group in groups[start:]:
                digits += group
                if len(digits) > 19:
                    break
                if len(digits) >= 13 and _luhn(digits):
                    return True
    return False


def _iban_valid(candidate: str) -> bool:
    """The ISO 13616 check: the rearranged IBAN as a number, mod 97, is 1."""
    moved = candidate[4:] + candidate[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def find_sensitive(text: str, patterns: Iterable[str] = ()) -> list[str]:
    """The kinds of sensitive data found in `text`: ``email``, ``card`` (Luhn-valid 13-19
    digits), ``iban``, and ``pattern:<p>`` for each configured regular expression."""
    found = []
    if _EMAIL.search(text):
        found.append("email")
    if _has_card(text):
        found.append("card")
    if _IBAN.search(text) or any(_iban_valid(m.group()) for m in _IBAN_PLAIN.finditer(text)):
        found.append("iban")
    found += [f"pattern:{p}" for p in patterns if re.search(p, text)]
    return found
