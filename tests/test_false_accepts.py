"""Property-based false-accept suite: generated true claims are verified, and every
perturbation of them (±1, ×10, sign, one digit, 10^-k offsets, a dropped term, a tiny
extra term, a wrong infinity, a divergent integral) is not.

Runs with a fixed seed and a bounded number of examples; `benchmarks/trust.py` runs the
same generators at 20,000+ perturbed claims.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.claimgen import GENERATORS, Case
from trifecta.specialists.math import check_claim

T = TypeVar("T")
EXAMPLES = {
    "power": 25,
    "rational": 25,
    "scientific": 25,
    "offset": 20,
    "limit": 6,
    "integral": 6,
    "identity": 8,
}


class HypothesisDraw:
    """`claimgen.Draw` over Hypothesis's `data()` strategy (so failures shrink)."""

    def __init__(self, data: st.DataObject) -> None:
        self.data = data

    def integer(self, low: int, high: int) -> int:
        return self.data.draw(st.integers(low, high))

    def choice(self, options: Sequence[T]) -> T:
        return self.data.draw(st.sampled_from(options))


def _check(case: Case) -> None:
    for claim in case.true:
        outcome = check_claim(claim)
        assert outcome.status == "verified", (claim, outcome)
    for claim in case.wrong:
        outcome = check_claim(claim)
        assert outcome.status != "verified", (claim, outcome)


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_no_false_accepts(name: str) -> None:
    @settings(
        max_examples=EXAMPLES[name],
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(st.data())
    def run(data: st.DataObject) -> None:
        _check(GENERATORS[name](HypothesisDraw(data)))

    run()
