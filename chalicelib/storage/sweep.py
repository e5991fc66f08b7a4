"""What the sweep works from: pending markers, scheduled revocations, child edges,
unresolved parent hints, flagged versions and the last report.

The `SWEEP#…` partitions follow recent changes, not the size of the registry.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from . import keys, table
from .expressions import Action, Change
from .pages import list_page
from .schema import GSI2

Record = dict[str, Any]


# ---- markers ----------------------------------------------------------------------------

def put_marker(fields: Record) -> Action:
    """A marker (`at` and `id` among its fields), written in the transaction of the change."""
    return table.put_action({**keys.marker(fields["at"], fields["id"]), **fields})


def markers_oldest_first() -> Iterator[Record]:
    for item in table.query_all(keys.MARKERS):
        yield keys.fields(item)


def marker_done(marker: Record) -> None:
    table.delete(keys.marker(marker["at"], marker["id"]))


# ---- scheduled revocations --------------------------------------------------------------

def due_revocations(now: str, page_size: int) -> Iterator[Record]:
    """Versions whose scheduled revocation is due at `now` (the sparse GSI2 `REVOKE_DUE`: only
    scheduled versions), oldest first, `page_size` per Query."""
    for item in table.query_all(keys.REVOKE_DUE, index=GSI2, at_most=now + "~", limit=page_size):
        yield keys.fields(item)


def upcoming_revocations(now: str, limit: int) -> tuple[list[Record], bool]:
    """Scheduled revocations not yet due, soonest first: (versions, more remain)."""
    items, last = table.query_page(keys.REVOKE_DUE, index=GSI2, after=now + "~", limit=limit)
    return [keys.fields(i) for i in items], last is not None


# ---- child edges ------------------------------------------------------------------------

def put_child(parent_bucket: str, parent_number: int, child_bucket: str, child_number: int) -> Action:
    return table.put_action({**keys.child(parent_bucket, parent_number, child_bucket, child_number),
                             "parent_bucket": parent_bucket, "parent_number": parent_number,
                             "child_bucket": child_bucket, "child_number": child_number})


def children(bucket: str, number: int) -> list[tuple[str, int]]:
    """The versions built on version `number` (its child edges: one Query)."""
    return [(e["child_bucket"], e["child_number"])
            for e in table.query_all(keys.bucket_pk(bucket), prefix=keys.child_prefix(number))]


# ---- unresolved parent hints ------------------------------------------------------------

def put_unresolved(bucket: str, number: int) -> Action:
    return table.put_action({**keys.unresolved(bucket, number), "bucket": bucket, "number": number})


def unresolved_page(limit: int) -> list[Record]:
    items, _ = table.query_page(keys.UNRESOLVED, limit=limit)
    return [keys.fields(i) for i in items]


def resolved(bucket: str, number: int) -> Action:
    return table.delete_action(keys.unresolved(bucket, number))


def resolved_now(bucket: str, number: int) -> None:
    table.delete(keys.unresolved(bucket, number))


def unresolved_count() -> int:
    return sum(1 for _ in table.query_all(keys.UNRESOLVED, projection="PK"))


# ---- flagged versions -------------------------------------------------------------------

def flag(bucket: str, number: int, fields: Record) -> Action:
    return table.put_action({**keys.flagged(bucket, number), "bucket": bucket, "number": number, **fields})


def unflag(bucket: str, number: int) -> Action:
    return Change(keys.flagged(bucket, number)).delete()


def flagged_page(token: str | None, limit: int) -> tuple[list[Record], str | None]:
    items, next_token = list_page(keys.FLAGGED, token, limit=limit)
    return [keys.fields(i) for i in items], next_token


def flagged_counts() -> dict[str, int]:
    """How many flagged versions there are of each ancestry status."""
    counts: dict[str, int] = {}
    for item in table.query_all(keys.FLAGGED, projection="ancestry_status"):
        counts[item["ancestry_status"]] = counts.get(item["ancestry_status"], 0) + 1
    return counts


# ---- the last report --------------------------------------------------------------------

def last_report() -> Record | None:
    item = table.get(keys.report())
    return keys.fields(item) if item else None


def save_report(report: Record) -> None:
    table.put({**report, **keys.report()})
