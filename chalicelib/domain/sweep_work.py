"""When the sweep (and the compliance report) may skip reading a sparse index.

Four of the sweep's steps start with a Query of a sparse index that finds nothing on a
quiet registry: scheduled revocations, bulk revocation jobs, retention policies, channels
holding a revoked version; and the report lists the abandoned drafts from the drafts' index
(a draft created is the work noted; the sweep reads that index only to mark it idle). Each change that puts an item in one of those indexes also adds
1 to that kind's count on the counts item and sets `work_at` (the time of the newest note),
in its own transaction. When a read of the index finds nothing, the sweep records the count
it read before that read as the kind's `idle` mark; while the count still equals the mark,
nothing was added since, and the read is skipped.

The mark is written only when the newest note is older than SETTLE_SECONDS: a global
secondary index is eventually consistent, so an item committed just before the read might
not have been in it yet. Anything that goes wrong leaves the count and the mark unequal
(a later note, two sweeps writing marks out of order, a mark not written): the read is
then made, never skipped wrongly. An item leaving an index (a restore, a job done) writes
no note: the next read finds nothing and records the mark.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping

from .enums import SweepWork

SETTLE_SECONDS = 60


def may_find(kind: SweepWork, noted: Mapping[SweepWork, int], idle: Mapping[SweepWork, int | None]) -> bool:
    """Whether a read of `kind`'s index may find something: yes unless its count equals the
    idle mark (no mark yet: yes)."""
    return idle.get(kind) != noted.get(kind, 0)


def to_read(noted: Mapping[SweepWork, int], idle: Mapping[SweepWork, int | None]) -> set[SweepWork]:
    """The kinds whose index may hold something (may_find): the ones worth a read."""
    return {kind for kind in SweepWork if may_find(kind, noted, idle)}


def idle_marks(found_nothing: Iterable[SweepWork], noted: Mapping[SweepWork, int],
               idle: Mapping[SweepWork, int | None], work_at: str | None, now: str) -> dict[SweepWork, int]:
    """The idle marks to write after reads that found nothing for the kinds `found_nothing`
    (`noted`: the counts read before those reads; `now`: when they were read): the kinds
    whose mark changes, none while the newest note is younger than SETTLE_SECONDS."""
    if work_at is not None and _seconds(work_at, now) < SETTLE_SECONDS:
        return {}
    return {kind: noted.get(kind, 0) for kind in found_nothing if idle.get(kind) != noted.get(kind, 0)}


def _seconds(earlier: str, later: str) -> float:
    return (datetime.datetime.fromisoformat(later) - datetime.datetime.fromisoformat(earlier)).total_seconds()
