"""What the sweep works from: pending markers, scheduled revocations, child edges,
unresolved parent hints, untracked sources, flagged versions and the last report.

The `SWEEP#…` partitions follow recent changes, not the size of the registry.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from . import keys, table
from .entities import ChildEdge, Counts, Flag, Marker, Report, UnresolvedHint, UntrackedSources, Version
from .errors import ConditionFailed, Throttled
from .expressions import Action, Change
from .pages import list_page, seal, sealed_length, unseal
from .schema import GSI2, PK, SK
from ..domain.enums import SweepWork

# ---- markers ----------------------------------------------------------------------------

def put_marker(marker: Marker) -> Action:
    """A marker, written in the transaction of the change."""
    return table.put_action(marker.to_item())


def marker_written(action: Action) -> Marker:
    """The marker a `put_marker` action writes (who wrote it can act on it without reading
    the pending markers back)."""
    return Marker.from_item(action["Put"]["Item"])


def markers_oldest_first() -> Iterator[Marker]:
    for item in table.query_all(keys.MARKERS):
        yield Marker.from_item(item)


def save_walk(marker: Marker, visit: list[tuple[str, int]], expand: list[tuple[str, int]]) -> None:
    """Store where a cascade stopped on its marker (UpdateItem), if the marker is still there
    (a finished cascade deletes it: nothing to resume then)."""
    try:
        Change(marker.item_key()).exists().set("visit", [list(r) for r in visit]) \
            .set("expand", [list(r) for r in expand]).apply()
    except ConditionFailed:
        pass


def marker_deletion(marker: Marker) -> Action:
    return table.delete_action(marker.item_key())


def marker_done(marker: Marker) -> None:
    table.delete(marker.item_key())


def markers_done(done: list[Marker]) -> None:
    """Delete handled markers together (BatchWriteItem, 25 a call; a marker's delete is not
    conditioned, so a batch does what one DeleteItem each did)."""
    if len(done) == 1:
        marker_done(done[0])
    elif done:
        table.delete_many([m.item_key() for m in done])


# ---- scheduled revocations --------------------------------------------------------------

def due_revocations(now: str, page_size: int) -> Iterator[Version]:
    """Versions whose scheduled revocation is due at `now` (the sparse GSI2 `REVOKE_DUE`: only
    scheduled versions), oldest first, `page_size` per Query."""
    for item in table.query_all(keys.REVOKE_DUE, index=GSI2, at_most=now + "~", limit=page_size):
        yield Version.from_item(item)


def upcoming_revocations(now: str, limit: int) -> tuple[list[Version], bool]:
    """Scheduled revocations not yet due, soonest first: (versions, more remain)."""
    items, last = table.query_page(keys.REVOKE_DUE, index=GSI2, after=now + "~", limit=limit)
    return [Version.from_item(i) for i in items], last is not None


# ---- child edges ------------------------------------------------------------------------

def put_child(edge: ChildEdge) -> Action:
    return table.put_action(edge.to_item())


def children(bucket: str, number: int) -> list[ChildEdge]:
    """The edges to the versions built on version `number` (one Query)."""
    return [ChildEdge.from_item(e) for e in table.query_all(keys.bucket_pk(bucket), prefix=keys.child_prefix(number))]


def children_page(bucket: str, number: int, limit: int, cursor: str | None = None
                  ) -> tuple[list[tuple[str, int]], str | None]:
    """At most `limit` of the versions built on version `number` (one Query), from `cursor`:
    (children, the cursor to resume from, or None when they are all read). A cursor is
    opaque outside storage (it is where the Query stopped)."""
    pk = keys.bucket_pk(bucket)
    edges, last = table.query_page(pk, prefix=keys.child_prefix(number), limit=limit,
                                   start={PK: pk, SK: cursor} if cursor else None)
    return [(e["child_bucket"], e["child_number"]) for e in edges], last[SK] if last else None


def bucket_children_page(bucket: str, token: str | None, limit: int) -> tuple[list[ChildEdge], str | None]:
    """One page of the edges to every version built on any version of `bucket` (one Query
    of its partition's child edges, by parent version then child): (edges, next_token)."""
    items, next_token = list_page(keys.bucket_pk(bucket), token, prefix=keys.CHILDREN, limit=limit)
    return [ChildEdge.from_item(i) for i in items], next_token


def walk_token(state: Any, bucket: str, number: int, depth: int) -> str:
    """The `next_token` of a descendant walk from version `number` to `depth` levels: its
    state (the frontier and a cursor) sealed for that walk alone."""
    return seal(state, _walk_scope(bucket, number, depth))


def walk_token_length(state: Any) -> int:
    """How long walk_token's token of `state` is (a walk keeps it short enough for a URL)."""
    return sealed_length(state)


def walk_state(token: str, bucket: str, number: int, depth: int) -> Any:
    """The state `walk_token` sealed for this very walk; BadToken (a 400) for any other
    token: another list's, another version's or depth's walk, altered, or made up."""
    return unseal(token, _walk_scope(bucket, number, depth))


def _walk_scope(bucket: str, number: int, depth: int) -> bytes:
    # A JSON object: never equal to a list's scope (pages.list_scope, a JSON array).
    return json.dumps({"descendants": [bucket, number, depth]}).encode()


# ---- unresolved parent hints ------------------------------------------------------------

def put_unresolved(hint: UnresolvedHint) -> Action:
    return table.put_action(hint.to_item())


def unresolved_page(limit: int, after: str | None) -> tuple[list[UnresolvedHint], str | None]:
    """Up to `limit` versions with unresolved hints, after the place `after` (None: from the
    first): (hints, the place to go on from next time, None at the end). One Query."""
    items, last = table.query_page(keys.UNRESOLVED, limit=limit, after=after)
    return [UnresolvedHint.from_item(i) for i in items], last[SK] if last else None


def resolved(bucket: str, number: int) -> Action:
    return table.delete_action(keys.unresolved(bucket, number))


def resolved_orphan(bucket: str, number: int) -> None:
    """Delete a hint whose version is gone or has no hints left, counted off, if it is still
    there (conditioned on it, so two sweeps never count it off twice)."""
    try:
        table.transact([Change(keys.unresolved(bucket, number)).exists().delete(), count({UNRESOLVED: -1})])
    except ConditionFailed:
        pass


# ---- untracked sources still looked for -------------------------------------------------

def put_untracked(waiting: UntrackedSources) -> Action:
    return table.put_action(waiting.to_item())


def untracked_page(limit: int, after: str | None) -> tuple[list[UntrackedSources], str | None]:
    """Up to `limit` versions whose untracked sources the sweep still looks for, after the
    place `after` (None: from the first): (them, the place to go on from next time, None at
    the end). One Query."""
    items, last = table.query_page(keys.UNTRACKED, limit=limit, after=after)
    return [UntrackedSources.from_item(i) for i in items], last[SK] if last else None


def untracked_done(bucket: str, number: int) -> Action:
    """Stop looking for a version's untracked sources (matched, or the version is gone)."""
    return table.delete_action(keys.untracked(bucket, number))


def stop_looking(done: list[UntrackedSources]) -> None:
    """Stop looking for these versions' sources: their window is over, or the version is gone
    (BatchWriteItem, 25 a call; a later put is a new look, so nothing is conditioned)."""
    table.delete_many([d.item_key() for d in done])


def save_places(places: dict[str, str | None]) -> None:
    """Where the sweep's steps go on from next time (`untracked_after`, `unresolved_after`;
    None: from the first), on the counts item the sweep reads at its start anyway. Touches
    no count, nor `rev`."""
    Change(keys.counts()).set_all({k: v for k, v in places.items() if v is not None}) \
        .remove(*(k for k, v in places.items() if v is None)).apply()


# ---- flagged versions -------------------------------------------------------------------

def flag(flagged: Flag) -> Action:
    return table.put_action(flagged.to_item())


def unflag(bucket: str, number: int) -> Action:
    return Change(keys.flagged(bucket, number)).delete()


def flagged_page(token: str | None, limit: int) -> tuple[list[Flag], str | None]:
    items, next_token = list_page(keys.FLAGGED, token, limit=limit)
    return [Flag.from_item(i) for i in items], next_token


# ---- the report's counts ------------------------------------------------------------------
#
# One item, `SWEEP#COUNTS`/`CURRENT`: how many flagged versions there are of each ancestry
# status, and how many versions have unresolved parent hints. Every transaction that puts or
# deletes a flag or a hint ADDs its difference here (`count`), so the report reads them with
# one GetItem. Each of those transactions is conditioned on the state its difference was
# computed from (ancestry.tally explains how), so the counts never drift. `rev` goes up with
# every difference: `recount` (the sweep, once) uses it to tell that nothing changed while
# it counted.

UNRESOLVED = "unresolved_parents"
COUNTED = Counts.COUNTED


def count(deltas: dict[str, int]) -> Action:
    """ADD `deltas` (status or `unresolved_parents` → difference) to the counts."""
    change = Change(keys.counts()).add("rev", 1)
    for field, delta in deltas.items():
        change.add(field, delta)
    return change.action()


def note_work(kind: SweepWork, now: str) -> Action:
    """Note, in the transaction of a change that puts an item in `kind`'s sparse index, that
    the sweep's next read of that index may find something (domain/sweep_work.py)."""
    return Change(keys.counts()).add(f"work_{kind}", 1).set("work_at", now).action()


def mark_idle(marks: dict[SweepWork, int]) -> None:
    """Record the counts at which the sweep's reads of those indexes found nothing (not
    conditioned: a mark older or newer than the count only makes the next read happen; nor
    needed: one lost to a transaction writing the counts item meanwhile is written next run)."""
    if marks:
        try:
            Change(keys.counts()).set_all({f"idle_{kind}": seen for kind, seen in marks.items()}).apply()
        except Throttled:
            pass


def counts() -> Counts:
    """The counts (GetItem): each of COUNTED (0 when never counted), `recounted_at` once the
    sweep has counted the partitions themselves."""
    return Counts.from_item(table.get(keys.counts()) or {})


def recount(now: str) -> bool:
    """Count the flagged and unresolved partitions themselves and store the result, unless a
    transaction changed the counts meanwhile (False: try again on the next sweep). For a
    registry from before the counts were kept: the sweep runs it while `recounted_at` is
    unset. Reads whole partitions: never on a request path."""
    before = table.get(keys.counts()) or {}
    found: dict[str, int] = dict.fromkeys(COUNTED, 0)
    for item in table.query_all(keys.FLAGGED, projection="ancestry_status"):
        found[item["ancestry_status"]] = found.get(item["ancestry_status"], 0) + 1
    found[UNRESOLVED] = sum(1 for _ in table.query_all(keys.UNRESOLVED, projection="PK"))
    change = Change(keys.counts()).set_all(found).set("recounted_at", now).holds("rev", before.get("rev"))
    try:
        change.set("rev", (before.get("rev") or 0) + 1).apply()
    except ConditionFailed:
        return False
    return True


def clear_bucket(bucket: str) -> None:
    """Delete a deleted bucket's flags and unresolved hints, counted off: each delete
    conditioned on the item as read (ConditionFailed: read again), up to 90 per transaction;
    and its untracked sources still looked for (counted nowhere: deleted in batches).
    Run once its versions are gone, so nothing flags them again."""
    doomed: list[tuple[Action, str]] = []
    for item in table.query_all(keys.FLAGGED, prefix=keys.of_bucket(bucket)):
        doomed.append((Change(keys.primary(item)).equals("ancestry_status", item["ancestry_status"]).delete(),
                       item["ancestry_status"]))
    for item in table.query_all(keys.UNRESOLVED, prefix=keys.of_bucket(bucket)):
        doomed.append((Change(keys.primary(item)).exists().delete(), UNRESOLVED))
    table.delete_many([keys.primary(i) for i in table.query_all(keys.UNTRACKED, prefix=keys.of_bucket(bucket),
                                                                 projection="PK, SK")])
    for start in range(0, len(doomed), 90):
        chunk = doomed[start:start + 90]
        deltas: dict[str, int] = {}
        for _, field in chunk:
            deltas[field] = deltas.get(field, 0) - 1
        table.transact([action for action, _ in chunk] + [count(deltas)])


# ---- the last report --------------------------------------------------------------------

def report_and_counts() -> tuple[Report | None, Counts]:
    """The last report and the counts, in one BatchGetItem (what the report's page reads)."""
    found = {(i[PK], i[SK]): i for i in table.get_many([keys.report(), keys.counts()])}
    report, counts = (found.get((k[PK], k[SK])) for k in (keys.report(), keys.counts()))
    return (Report.from_item(report) if report else None), Counts.from_item(counts or {})


def backfill_state() -> dict[str, Any]:
    """The version-index backfill's cursor (GetItem): `done`, or the `bucket` it is in and
    the last version (`after`, a GSI1 sort key) it did; {} before it started."""
    item = table.get(keys.backfill()) or {}
    return {k: item[k] for k in ("done", "bucket", "after") if k in item}


def save_backfill_state(state: dict[str, Any]) -> None:
    table.put({**{k: v for k, v in state.items() if v is not None}, **keys.backfill()})


def mark_backfilled() -> None:
    """Note on the counts item that the version-index backfill is done (the sweep reads that
    item at its start, so it stops reading the backfill's cursor). Touches no count, nor `rev`."""
    Change(keys.counts()).set("backfilled", True).apply()


def save_report(report: Report) -> None:
    table.put(report.to_item())
