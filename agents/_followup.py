"""Offline follow-ups: arithmetic on the conversation's last verified number.

"and what is that times 3?" after a turn whose one answer was a verified 42 becomes
the instruction "What is (42)*3?", which the math specialist computes and checks like
any other. The reference is resolved only when it is unambiguous: the last turn was
one subtask whose verified answer is a number, the new request is one clause, and that
clause is wholly one of the forms below; anything else is left as it was (and planned,
or not, as usual).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from trifecta.plan import Turn

__all__ = ["last_number", "resolve_followup"]

_REF = r"(?:that|it|this|the (?:result|answer|number|total))"
_N = r"(?P<n>-?\d+(?:\.\d+)?)"
_LEAD = re.compile(
    r"^(?:(?:and|so|ok|okay|now|then|also)[, ]+)*"
    r"(?:(?:what(?:'s| is)|how much is|compute|calculate|evaluate)\s+)?",
    re.IGNORECASE,
)
_FORMS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), template)
    for pattern, template in (
        (rf"{_REF}\s*(?:times|multiplied by|x|\*)\s*{_N}", "({v})*{n}"),
        (rf"{_REF}\s*(?:plus|\+)\s*{_N}", "({v}) + {n}"),
        (rf"{_REF}\s*(?:minus|-)\s*{_N}", "({v}) - {n}"),
        (rf"{_REF}\s*(?:divided by|over|/)\s*{_N}", "({v})/{n}"),
        (rf"{_REF}\s*(?:to the power of|\^|\*\*)\s*{_N}", "({v})^{n}"),
        (rf"{_REF}\s+squared", "({v})^2"),
        (rf"{_REF}\s+cubed", "({v})^3"),
        (rf"multiply {_REF} by {_N}", "({v})*{n}"),
        (rf"divide {_REF} by {_N}", "({v})/{n}"),
        (rf"add {_N} to {_REF}", "({v}) + {n}"),
        (rf"subtract {_N} from {_REF}", "({v}) - {n}"),
        (rf"(?:double|twice) {_REF}", "2*({v})"),
        (rf"(?:halve|half of) {_REF}", "({v})/2"),
        (rf"(?:square|the square of) {_REF}", "({v})^2"),
        (rf"(?:the )?square root of {_REF}", "sqrt({v})"),
    )
)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:/\d+)?")


def last_number(history: Sequence[Turn]) -> str | None:
    """The last turn's answer when that turn was one subtask, verified, with a number
    for an answer; else None (no turn, several parts, not verified, not a number)."""
    if not history or history[-1].get("parts") != 1:
        return None
    answers = [a.strip() for a in history[-1]["verified"].values()]
    return answers[0] if len(answers) == 1 and _NUMBER.fullmatch(answers[0]) else None


def resolve_followup(clause: str, history: Sequence[Turn]) -> str:
    """`clause` with its back-reference replaced by the last verified number, as a math
    instruction; unchanged when it is not one of the known forms or nothing is certain."""
    value = last_number(history)
    if value is None:
        return clause
    body = _LEAD.sub("", clause.strip().rstrip("?.!").strip(), count=1).strip()
    for pattern, template in _FORMS:
        found = pattern.fullmatch(body)
        if found:
            n = found.groupdict().get("n") or ""
            return f"What is {template.format(v=value, n=n)}?"
    return clause
