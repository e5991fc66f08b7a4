"""Retention: which versions of a bucket a policy acts on, and why each other one is kept.

Pure (no storage, no clock: `now` is a parameter), so it is unit-tested without moto
(tests/unit/test_retention_rule.py). The service (services/retention.py) reads a page of
versions oldest first, what holds each (channels, active children) and the number of the
newest version `keep_newest` protects, and hands them to `decide`.

The policy, as a user writes it:
- `keep_newest` N: the N newest *active* versions (status `active`) are kept; revoked,
  running and scheduled versions do not count among them.
- `keep_younger_than` D (`30d`, `12h`, `1d12h`: days, hours, minutes, as `revoke_in`):
  versions created less than D ago are kept.
- Given together, a version is kept when either keeps it (the policy acts only on versions
  that are both older than D and not among the newest N).
- `action`: `revoke` or `delete`.

Whatever the policy says, a version is never acted on while a channel holds it (any channel:
restricted ones and `latest` included), while one of its children is not revoked, while it is
running (being written, or an HCP draft), or while its revocation is scheduled; `revoke` also
leaves already revoked versions alone. `delete` deletes revoked versions too (they are not
"active", so `keep_newest` does not count them; `keep_younger_than` does keep young ones).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from .enums import VersionStatus

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")
MIN_AGE, MAX_AGE = timedelta(hours=1), timedelta(days=3650)


class Action(StrEnum):
    REVOKE = "revoke"
    DELETE = "delete"


def duration(text: str) -> timedelta:
    """`30d`, `12h`, `1d12h`, `90m` as a timedelta; ValueError naming the form and the limits."""
    match = _DURATION.match(text.strip())
    if not text.strip() or not match:
        raise ValueError(f"keep_younger_than must look like 30d, 12h or 1d12h (days, hours, minutes), not {text!r}")
    days, hours, minutes = (int(g or 0) for g in match.groups())
    if days > MAX_AGE.days:
        raise ValueError(f"keep_younger_than is at most {MAX_AGE.days}d, not {text!r}")
    age = timedelta(days=days, hours=hours, minutes=minutes)
    if not MIN_AGE <= age <= MAX_AGE:
        raise ValueError(f"keep_younger_than must be between 1h and {MAX_AGE.days}d, not {text!r}")
    return age


@dataclass(frozen=True)
class Policy:
    action: Action
    keep_newest: int | None = None
    keep_younger_than: timedelta | None = None
    words: str = ""  # the policy as the user wrote it, for reasons ("keep_newest=3, keep_younger_than=30d")


@dataclass(frozen=True)
class Candidate:
    """A version as the rule needs it: `held_by` the channels holding it, `active_children`
    the children (`bucket/vN`) not revoked."""

    number: int
    name: str
    status: str
    created_at: str  # ISO 8601 UTC as stored (clock.iso): compares as text
    held_by: tuple[str, ...] = ()
    active_children: tuple[str, ...] = ()


@dataclass(frozen=True)
class Decision:
    number: int
    name: str
    status: str
    created_at: str
    act: bool
    reasons: tuple[str, ...] = field(default_factory=tuple)


def ranked_from(active_newest_first: Sequence[int], keep_newest: int | None) -> int | None:
    """The number of the oldest version `keep_newest` protects, given the numbers of active
    versions newest first (at least `keep_newest` of them when there are that many); None
    when it protects none (no `keep_newest`). 0: it protects every active version (fewer
    than N exist)."""
    if not keep_newest:
        return None
    if len(active_newest_first) < keep_newest:
        return 0
    return active_newest_first[keep_newest - 1]


def decide(policy: Policy, versions: Sequence[Candidate], ranked_from_number: int | None, cutoff: str | None
           ) -> tuple[list[Decision], bool]:
    """Each version (oldest first) with whether the policy acts on it and why; and whether
    the pass is over: nothing from some version of these onwards can be acted on (one young
    enough to keep, since the ones after it are younger still; for `revoke`, one among the
    newest N, since the ones after are too or are not active). `ranked_from_number`: see
    `ranked_from`; `cutoff`: the moment `keep_younger_than` ago, as stored times are written
    (None without one)."""
    decisions: list[Decision] = []
    over = False
    for version in versions:
        reasons = _kept(policy, version, ranked_from_number, cutoff)
        decisions.append(Decision(version.number, version.name, version.status, version.created_at,
                                  act=not reasons, reasons=tuple(reasons) or (_acted(policy),)))
        ranked = policy.action == Action.REVOKE and _ranked(version, ranked_from_number)
        over = over or _young(version, cutoff) or ranked
    return decisions, over


def _ranked(version: Candidate, ranked_from_number: int | None) -> bool:
    return ranked_from_number is not None and version.status == VersionStatus.ACTIVE \
        and version.number >= ranked_from_number


def _young(version: Candidate, cutoff: str | None) -> bool:
    """Created at or after the cutoff: kept by `keep_younger_than` (at exactly D ago too)."""
    return cutoff is not None and version.created_at >= cutoff


def _kept(policy: Policy, version: Candidate, ranked_from_number: int | None, cutoff: str | None) -> list[str]:
    """Why a version is kept (empty: it is acted on)."""
    reasons = []
    if version.held_by:
        reasons.append(f"held by channel{'s' if len(version.held_by) > 1 else ''} {', '.join(version.held_by)}")
    if version.active_children:
        reasons.append(f"has children that are not revoked: {', '.join(version.active_children)}")
    if version.status == VersionStatus.RUNNING:
        reasons.append("still running (being built or published)")
    elif version.status == VersionStatus.REVOCATION_SCHEDULED:
        reasons.append("its revocation is scheduled")
    elif version.status == VersionStatus.REVOKED and policy.action == Action.REVOKE:
        reasons.append("already revoked")
    if _ranked(version, ranked_from_number):
        reasons.append(f"among the newest {policy.keep_newest} active versions")
    if _young(version, cutoff):
        reasons.append(f"younger than {_words(policy.keep_younger_than)}")
    return reasons


def _acted(policy: Policy) -> str:
    parts = []
    if policy.keep_newest:
        parts.append(f"not among the newest {policy.keep_newest} active versions")
    if policy.keep_younger_than:
        parts.append(f"older than {_words(policy.keep_younger_than)}")
    return " and ".join(parts)


def _words(age: timedelta | None) -> str:
    """A timedelta in the policy's own form (`30d`, `1d12h`)."""
    assert age is not None
    hours, minutes = divmod(age.seconds // 60, 60)
    return "".join(f"{n}{unit}" for n, unit in ((age.days, "d"), (hours, "h"), (minutes, "m")) if n)

