"""Retrying a read-decide-write step that lost a race: the one policy for transaction conflicts.

On Lambda, concurrent writers are normal. Every write that depends on what was read is
conditioned on it (storage.ConditionFailed when the condition no longer holds); the step is
then re-run from its reads, after a jittered exponential backoff, a bounded number of times.
"""

from __future__ import annotations

from typing import Callable, TypeVar

from ..errors import Contention
from ..storage import ConditionFailed, backoff

T = TypeVar("T")
ATTEMPTS = 12
BASE_DELAY = 0.01  # seconds; doubles per attempt up to 32×, full jitter


def retrying(step: Callable[[], T], attempts: int = ATTEMPTS, what: str = "the change") -> T:
    """Run `step` until it commits; Contention (a 503, or a Lambda retry) when it keeps losing."""
    for attempt in range(attempts):
        try:
            return step()
        except ConditionFailed:
            backoff(attempt, BASE_DELAY)
    raise Contention(f"{what} kept conflicting with concurrent changes; try again")
