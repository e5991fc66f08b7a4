"""Revoke, schedule, restore and delete versions, moving channels as HCP Packer does.

- Revoking now marks the version `revoked`; every user channel holding it rolls back to
  the newest version in its own history that is still active (or is unassigned), unless
  `disable_rollback_channels`, in which case it keeps the version and the consumer query
  answers 409. `latest` moves to the newest active version either way.
- A future `revoke_at`/`revoke_in` only schedules (`revocation_scheduled`); the version stays
  usable until the sweep applies it with the flags given when it was scheduled.
- Restoring clears either; channels it rolled off are not put back, `latest` recomputes.
- Descendants inherit a revocation (HCP Packer's default) unless `skip_descendants_revocation`:
  each is revoked with `revocation_type: inherited`, `inherited_from` naming the source and
  the same reason and flags, rolling its channels back too. An explicit revocation outranks
  an inherited one, which in turn outranks a later schedule. The request revokes up to
  `INLINE_CASCADE` descendants; a cascade marker (written with the revocation) lets the sweep
  finish larger trees, and the source shows `cascade_pending` until then. Restoring the
  source restores the descendants that inherited from it; a version cannot be restored
  while one of its parents is revoked.
Each change is one transaction guarded by the state it read, retried on a lost race.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from datetime import datetime
from typing import Any, Callable

from . import ancestry, audit, channels, markers, versions
from ..runtime import clock
from ..domain import durations, rules
from .. import storage
from ..storage import entities
from ..storage.entities import Channel, Marker
from .channels import LATEST, Target
from ..runtime.clock import iso, now_iso
from ..domain.enums import HistoryCause, RevocationType, SweepWork, VersionStatus
from ..errors import BadRequest, Conflict, Contention, NotFound
from ..domain.models import RevokeRequest, Version
from .retry import retrying

class NotRevoked(Conflict):
    """A restore of a version that is neither revoked nor scheduled for revocation."""


class Held(Conflict):
    """A deletion refused because user channels hold the version (`channels`, their names)."""

    def __init__(self, message: str, channels: list[str]) -> None:
        super().__init__(message)
        self.channels = channels


INLINE_CASCADE = 25  # descendants a revoke/restore request handles itself; the sweep does the rest
Action = dict[str, Any]
# A caller's own refusal, run on the version and its holders as each attempt reads them
# (before its conditioned transaction): raises Conflict to leave the version alone.
Refusal = Callable[[entities.Version, list[Channel]], None]


def parse_when(request: RevokeRequest) -> datetime | None:
    """The moment a revocation takes effect; None means now.

    `clock.now()` is looked up at call time (never imported by name) so tests can move it.
    """
    if request.revoke_at is not None and request.revoke_in is not None:
        raise BadRequest("give revoke_at or revoke_in, not both")
    if request.revoke_in is not None:
        try:
            return clock.now() + durations.parse(request.revoke_in)
        except ValueError as exc:
            raise BadRequest(f"revoke_in {exc}") from None
        except OverflowError:
            raise BadRequest(f"revoke_in {request.revoke_in!r} is too far in the future") from None
    if request.revoke_at is not None:
        return parse_time(request.revoke_at, "revoke_at")
    return None


def parse_time(value: str, name: str) -> datetime:
    """An ISO 8601 time with a time zone from a request body's field `name`; a 400 otherwise."""
    try:
        return clock.parse_utc(value)
    except ValueError as exc:
        raise BadRequest(f"{name} {exc}") from None


def revoke(bucket: str, ref: str, request: RevokeRequest, actor: str) -> Version:
    when = parse_when(request)
    return revoke_number(bucket, versions.resolve_number(bucket, ref), request, when, actor)


def revoke_number(bucket: str, number: int, request: RevokeRequest, when: datetime | None, actor: str,
                  inline_cascade: bool = True) -> Version:
    """Revoke a version now, or schedule it when `when` is still to come (parse_when's
    answer); the one revocation of a version, single or bulk (services/revocations.py).
    `inline_cascade` False leaves the whole cascade to the sweep (its marker is written either way)."""
    if when is not None and when > clock.now():
        return retrying(lambda: _schedule(bucket, number, request, iso(when), actor))
    revocation = rules.direct_revocation(request, actor)
    result, cascade = retrying(lambda: _revoke_now(bucket, number, revocation, expect_status=None))
    return (_cascade_inline(bucket, number, cascade, actor) if inline_cascade else None) or result


def restore(bucket: str, ref: str, actor: str) -> Version:
    number = versions.resolve_number(bucket, ref)
    result, cascade = retrying(lambda: _restore(bucket, number, actor))
    return _cascade_inline(bucket, number, cascade, actor) or result


def revoke_unless(bucket: str, number: int, revocation: dict[str, Any], actor: str, refuse: Refusal) -> Version:
    """Revoke now, unless `refuse` objects to the version or its holders as read in the very
    attempt that commits (the retention sweep: a channel pointed at it meanwhile bumps its
    `rev`, so the transaction fails, re-reads and `refuse` sees the channel)."""
    version, _ = retrying(lambda: _revoke_now(bucket, number, revocation, expect_status=None, actor=actor,
                                              refuse=refuse))
    return version


def _cascade_inline(bucket: str, number: int, marker: Marker | None, actor: str) -> Version | None:
    """Run a cascade this request just started (its marker, as written in the same
    transaction: no read of the pending markers), within the request's budget."""
    if marker is None:
        return None
    continue_cascade(marker, INLINE_CASCADE, actor)
    return versions.get_version(bucket, f"v{number}")


WALK_PAGE = 100  # descendants read per BatchGet (its limit)
WALK_KEPT = 1000  # refs a cascade's marker keeps of where it stopped; beyond, the next run re-walks
Ref = tuple[str, int]


@dataclasses.dataclass
class Walk:
    """A cascade's breadth-first walk over child edges, resumable from its marker.

    `visit`: descendants found and not yet handled, in order; `expand`: handled ones whose
    children are still to be read; `seen`: every one found by this run (one reached by two
    paths is handled once). A run that stops stores `visit` and `expand` on the marker
    (storage.sweep.save_walk), so the next run (the sweep after the request) goes on from
    there instead of reading from the source again: no descendant is read twice.
    """

    visit: deque[Ref]
    expand: deque[Ref]
    seen: set[Ref]

    @classmethod
    def of(cls, marker: Marker, source: Ref) -> Walk:
        if marker.visit is None and marker.expand is None:
            return cls(deque(), deque([source]), {source})
        visit = deque((str(b), int(n)) for b, n in marker.visit or [])
        expand = deque((str(b), int(n)) for b, n in marker.expand or [])
        return cls(visit, expand, {source, *visit, *expand})

    def page(self, size: int) -> list[Ref]:
        """The next descendants to handle, at most `size`: the children of handled ones are
        read (one Query each) until a page is full or none are left."""
        while len(self.visit) < size and self.expand:
            for child in ancestry.child_refs(*self.expand.popleft()):
                if child not in self.seen:
                    self.seen.add(child)
                    self.visit.append(child)
        return list(self.visit)[:size]

    def handled(self, ref: Ref, has_children: bool) -> None:
        self.visit.popleft()
        if has_children:
            self.expand.append(ref)

    def save(self, marker: Marker) -> None:
        if len(self.visit) + len(self.expand) <= WALK_KEPT:
            storage.sweep.save_walk(marker, list(self.visit), list(self.expand))


def continue_cascade(marker: Marker, budget: int, actor: str = "sweep") -> tuple[int, bool]:
    """Carry a revocation (or a restore) from its source down the descendant tree.

    Breadth first over child edges (Walk), a page of descendants at a time: one BatchGet
    reads the page, then one Query per bucket of the descendants it changes reads the
    channels holding them, when first needed (after the versions: a channel pointed at one
    since bumped its `rev`, which its transaction asserts; one moved off it fails the
    transaction's expectation). Each descendant's first attempt uses those reads;
    a lost race re-reads it alone. A descendant whose `child_count` is 0 as its transaction
    asserted is not expanded (no Query of its edges). At most `budget` versions change, and
    a page is never larger than what is left of it, so a run reads nothing it leaves to the
    next. Returns (changed, finished); when finished the marker goes and the source's
    `cascade_pending` clears; when not, the marker keeps where the walk stopped.
    """
    assert marker.number is not None  # a cascade's marker names its source version
    bucket, number, mode = marker.bucket, marker.number, marker.mode or "revoke"
    source = storage.versions.version(bucket, number)
    source_name = f"{bucket}/{source.name}" if source else None
    still_wanted = source and (source.status == VersionStatus.REVOKED) == (mode == "revoke")
    changed = 0
    walk = Walk.of(marker, (bucket, number))
    while source and still_wanted and (walk.visit or walk.expand):
        if changed >= budget:  # what is left is for the next run: nothing of it was read
            walk.save(marker)
            return changed, False
        page = walk.page(min(WALK_PAGE, budget - changed))  # no more than the budget may change
        if not page:
            break
        found = {v.ref(): v for v in storage.versions.versions(page)}
        reached = {ref: v for ref, v in found.items() if rules.cascade_reaches(v.attributes(), mode, source_name)}
        held: dict[str, list[Channel]] = {}  # each bucket's channels, read when first needed (after the page)
        for ref in page:
            item = found.get(ref)
            if ref not in reached:
                walk.handled(ref, has_children=item is None or item.child_count != 0)
                continue
            if ref[0] not in held:
                held[ref[0]] = channels.channel_items(ref[0])
            holding = [c for c in held[ref[0]] if c.number == ref[1]]
            done, as_read = _apply_to_descendant(ref, mode, source, source_name, actor, (reached[ref], holding))
            changed += done
            walk.handled(ref, has_children=not as_read or reached[ref].child_count != 0)
    if source and mode == "revoke" and (source.revocation or {}).get("cascade_pending"):
        storage.versions.cascade_done(bucket, number)
    markers.done(marker)
    return changed, True


def _apply_to_descendant(ref: Ref, mode: str, source: entities.Version, source_name: str | None,
                         actor: str, read: tuple[entities.Version, list[Channel]]) -> tuple[int, bool]:
    """Revoke (restore) one descendant: (1 if it changed, whether it committed on `read`,
    the version and its holders as the walk read them). A revocation's first attempt uses
    `read` (unless it keeps user channels on the version, which needs its builds); a restore,
    and any retry, reads afresh."""
    inherited = rules.inherited_revocation(source.attributes(), source_name)
    keeps_users = inherited.get("disable_rollback_channels") and any(not c.managed for c in read[1])
    first_on_read = mode == "revoke" and not keeps_users
    attempts: list[bool] = []  # one entry per attempt: whether it used `read`

    def attempt() -> None:
        attempts.append(first_on_read and not attempts)
        if mode == "revoke":
            _revoke_now(*ref, inherited, expect_status=None, actor=actor, read=read if attempts[-1] else None)
        else:
            _restore(*ref, actor=actor, cascade=False)

    try:
        retrying(attempt)
        return 1, attempts[-1]
    except (Conflict, NotFound, Contention):
        return 0, False  # changed meanwhile, or another parent is still revoked


def apply_due(page_size: int = 100) -> tuple[list[str], bool]:
    """Apply every scheduled revocation whose time has come (the sweep); idempotent.
    Returns the versions revoked, and whether any due one was read (applied or not).

    Reads the due ones page by page (storage.sweep.due_revocations, no Scan); each version is revoked
    exactly as an immediate revocation with the flags stored when it was scheduled, and is
    re-read first, so one restored, rescheduled, deleted or already applied (by a concurrent
    sweep) in the meantime is skipped. A lost race on a channel is retried.
    """
    applied = []
    due = list(storage.sweep.due_revocations(clock.now_iso(), page_size))
    for item in due:
        revocation = dict(item.revocation or {})
        due_at = revocation.get("revoke_at")
        try:
            retrying(lambda: _revoke_now(item.bucket, item.number, revocation,
                                       expect_status=VersionStatus.REVOCATION_SCHEDULED, expect_revoke_at=due_at,
                                       actor="sweep"))
            applied.append(f"{item.bucket}/{item.name}")
        except (Conflict, NotFound, Contention):
            continue  # restored, rescheduled, deleted or applied by a concurrent sweep
    return applied, bool(due)


def upcoming(limit: int) -> tuple[list[dict[str, Any]], bool]:
    """Scheduled revocations not yet due, soonest first (storage.sweep.upcoming_revocations):
    (versions, more remain)."""
    items, more = storage.sweep.upcoming_revocations(clock.now_iso(), limit)
    return [{"bucket": v.bucket, "version": v.name, "revoke_at": (v.revocation or {}).get("revoke_at"),
             "reason": (v.revocation or {}).get("reason")} for v in items], more


def delete_version(bucket: str, ref: str, rollback_channels: bool, actor: str,
                   refuse: Refusal | None = None) -> Version:
    """Delete a version with its builds; refused while a user channel holds it unless
    `rollback_channels`. Its number is never reused; the bucket's `version_count` follows.
    A version of more than ~60 items loses the first of them in bulk (artifact index entries,
    which a repeat finds through the builds, before the builds), and the rest with the
    version item in the final transaction, so a retried DELETE finishes the job. Holders are
    checked before anything goes and again in that final, conditioned transaction; so is
    `refuse` (the retention sweep's: no holder at all, `latest` included). The SBOMs its
    builds name (objects and packages) go once it is gone. A draft (named by its fingerprint or id) is deleted
    as drafts.delete_draft does."""
    try:
        version, builds = versions.load(bucket, ref)
    except versions.Running as running:
        from . import drafts  # loaded by the deletion of a draft only

        return versions.to_version(*drafts.delete_draft(bucket, running.fingerprint, actor))
    keys = storage.versions.contents(version, builds)
    final_room = storage.TRANSACTION_LIMIT - 40  # the version, fingerprint, event and channel moves
    if len(keys) > final_room:  # a refusal must come before anything goes (and is checked again at the end)
        retrying(lambda: _mark_deleting(bucket, version.number, rollback_channels, refuse),
                 what=f"deleting {version.name}")
    storage.versions.delete_now(keys[:-final_room])
    keys = keys[-final_room:]
    deleted = retrying(lambda: _delete(bucket, version.number, keys, rollback_channels, actor, refuse),
                       what=f"deleting {version.name}")
    if any(b.sboms for b in builds):  # published through the HCP API with SBOMs: they go too
        from . import sboms

        sboms.delete(bucket, version.fingerprint, builds)
    return deleted


def _mark_deleting(bucket: str, number: int, rollback_channels: bool, refuse: Refusal | None) -> None:
    """Before a large version loses its first items in bulk: refuse as the deletion would, and
    mark it `deleting_since` (its `rev` bumped), so that no channel can take it while it is
    partly gone: an assignment that read it before fails on its claim of the `rev` and
    re-reads, and then refuses it (channels._assignable)."""
    version = versions.load(bucket, f"v{number}")[0]
    _refuse_if_held(bucket, version, rollback_channels, refuse)
    if not version.deleting_since:
        storage.transact([storage.versions.change(version, {}, also={"deleting_since": now_iso()})])


def _delete(bucket: str, number: int, keys: list[storage.versions.Ref], rollback_channels: bool,
            actor: str, refuse: Refusal | None = None) -> Version:
    version, builds = versions.load(bucket, f"v{number}")
    holding = _refuse_if_held(bucket, version, rollback_channels, refuse)
    actions = [storage.versions.delete(k) for k in keys]
    actions += [storage.versions.delete_fingerprint(bucket, version.fingerprint),
                storage.versions.change(version, None), *ancestry.tally_actions(version, None),
                audit.event_action(bucket, "version.deleted", version.name, actor,
                                   before={"fingerprint": version.fingerprint, "status": version.status})]
    actions += _move_off(bucket, version, holding, actor, cause=HistoryCause.DELETE, count_delta=-1)
    if not any(c.managed for c in holding):
        actions.append(channels.bucket_summary(bucket, count_delta=-1))
    audit.commit(actions)
    return versions.to_version(version, builds)


def _refuse_if_held(bucket: str, version: entities.Version, rollback_channels: bool,
                    refuse: Refusal | None = None) -> list[Channel]:
    """The channels holding the version; a 409 if user channels do and may not roll back,
    or if `refuse` objects."""
    holding = channels.holding(bucket, version.number)
    if refuse:
        refuse(version, holding)
    users = [c.name for c in holding if not c.managed]
    if users and not rollback_channels:
        raise Held(f"{version.name} is assigned to channel(s) {', '.join(users)}; "
                   "move them first or pass rollback_channels=true", users)
    return holding


# ---- the transactions -------------------------------------------------------------------

def _schedule(bucket: str, number: int, request: RevokeRequest, revoke_at: str, actor: str) -> Version:
    version, builds = versions.load(bucket, f"v{number}")
    _refuse_unless(version, (VersionStatus.ACTIVE, VersionStatus.REVOCATION_SCHEDULED), "scheduled for revocation")
    revocation = rules.direct_revocation(request, actor, revoke_at)
    updated = dataclasses.replace(version, status=VersionStatus.REVOCATION_SCHEDULED, revocation=revocation)
    actions = [_version_update(version, updated, due=revoke_at), *ancestry.tally_actions(version, updated),
               storage.sweep.note_work(SweepWork.SCHEDULED, now_iso()),
               audit.event_action(bucket, "version.revocation_scheduled", version.name, actor,
                                  before=version.status, after=revocation)]
    actions += _refresh_holders(bucket, updated, builds, actor)
    audit.commit(actions)
    return versions.to_version(updated)


def _revoke_now(bucket: str, number: int, revocation: dict[str, Any], expect_status: str | None,
                expect_revoke_at: str | None = None, actor: str | None = None,
                refuse: Refusal | None = None,
                read: tuple[entities.Version, list[Channel]] | None = None) -> tuple[Version, Marker | None]:
    """Revoke now; a direct revocation that does not spare descendants starts a cascade
    (its marker is returned with the version). `actor` is who does it now (the sweep, for a
    scheduled one), `revoked_by` who asked. `read`: the version and the channels holding it
    as a cascade already read them (channels after the version), used instead of reading
    again; the transaction is conditioned on them all the same. Without builds: only for a
    revocation that keeps no user channel on the version."""
    version, builds = (read[0], []) if read else versions.load(bucket, f"v{number}")
    # An inherited revocation reaches a version still being written too (it is then never
    # completed as active); a direct one waits until the version is complete.
    inherited = revocation.get("revocation_type") == RevocationType.INHERITED
    _refuse_unless(version, (VersionStatus.ACTIVE, VersionStatus.REVOCATION_SCHEDULED)
                   + ((VersionStatus.RUNNING,) if inherited else ()), "revoked")
    if expect_status and (version.status != expect_status
                          or (version.revocation or {}).get("revoke_at") != expect_revoke_at):
        raise Conflict(f"{version.name} is no longer scheduled for that revocation")
    stamp = now_iso()
    revocation = {**revocation, "revoked_at": stamp}
    revocation.pop("revoke_at", None)
    cascade = rules.cascades(revocation)
    if cascade:
        revocation["cascade_pending"] = True
    inherited_status = ancestry.inherited_status(revocation)
    updated = dataclasses.replace(version, status=VersionStatus.REVOKED, revocation=revocation, updated_at=stamp,
                                  **inherited_status)
    holding = read[1] if read else channels.holding(bucket, number)
    if refuse:
        refuse(version, holding)
    actor = actor or revocation.get("revoked_by") or "registry"
    actions = [_version_update(version, updated, also=inherited_status),
               *ancestry.tally_actions(version, updated),  # revoked: no longer "needs attention"
               audit.event_action(bucket, "version.revoked", version.name, actor, before=version.status,
                                  after=revocation)]
    if not inherited and not cascade:
        # A revocation that cascades (and an inherited one, which a cascade writes) leaves no
        # status marker: the cascade goes on to each child itself (revoking it, or leaving one
        # revoked already), so re-checking the children from a marker would read every
        # descendant a second time.
        actions.append(markers.marker_action(markers.VERSION_STATUS, bucket, number=number))
    started = markers.marker_action(markers.CASCADE, bucket, number=number, mode="revoke") if cascade else None
    if started:
        actions.append(started)
    if revocation.get("disable_rollback_channels"):
        kept = [c for c in holding if not c.managed]
        actions += channels.refresh_actions(bucket, kept, Target(updated, builds), actor)
        managed = [c for c in holding if c.managed]
        actions += _move_off(bucket, version, managed, actor, cause=HistoryCause.REVOKE)
    else:
        actions += _move_off(bucket, version, holding, actor, cause=HistoryCause.REVOKE)
    audit.commit(actions)
    return versions.to_version(updated), markers.written(started)


def _restore(bucket: str, number: int, actor: str, cascade: bool = True) -> tuple[Version, Marker | None]:
    version, builds = versions.load(bucket, f"v{number}")
    if version.status not in (VersionStatus.REVOKED, VersionStatus.REVOCATION_SCHEDULED):
        raise NotRevoked(f"{version.name} is neither revoked nor scheduled for revocation")
    _refuse_under_revoked_parent(version)
    rechecked = ancestry.restored(version)
    updated = dataclasses.replace(version, status=VersionStatus.ACTIVE, revocation=None, updated_at=now_iso(),
                                  **rechecked)
    actions = [_version_update(version, updated, also=rechecked), *ancestry.tally_actions(version, updated),
               markers.marker_action(markers.VERSION_STATUS, bucket, number=number),
               audit.event_action(bucket, "version.restored", version.name, actor, before=version.status,
                                  after=VersionStatus.ACTIVE)]
    started = None
    if cascade and version.status == VersionStatus.REVOKED and rules.cascades(version.revocation):
        started = markers.marker_action(markers.CASCADE, bucket, number=number, mode="restore")
        actions.append(started)
    actions += _refresh_holders(bucket, updated, builds, actor)
    latest = storage.channels.channel(bucket, LATEST)
    if version.status == VersionStatus.REVOKED and channels.takes_latest(number, latest):
        actions += channels.point_latest(bucket, latest, Target(updated, builds), actor, cause=HistoryCause.RESTORE)
    else:  # `latest` was judged to stay where it is: only if it still is
        actions.append(storage.channels.holds(bucket, LATEST, latest.number if latest else None))
    audit.commit(actions)
    return versions.to_version(updated), markers.written(started)


def _refuse_unless(version: entities.Version, allowed: tuple[str, ...], what: str) -> None:
    if version.status == VersionStatus.REVOKED and VersionStatus.REVOKED not in allowed:
        raise Conflict(f"{version.name} is already revoked")
    if version.status not in allowed:
        raise Conflict(f"{version.name} is still being built (status running) and cannot be {what}")


def _refuse_under_revoked_parent(version: entities.Version) -> None:
    parents = version.parents or []
    found = storage.versions.versions([(p["bucket"], p["number"]) for p in parents])
    revoked = [f"{v.bucket}/{v.name}" for v in found if v.status == VersionStatus.REVOKED]
    if revoked:
        raise Conflict(f"{version.name} cannot be restored while its parent {', '.join(revoked)} is revoked; "
                       "restore the parent first")


def _version_update(before: entities.Version, after: entities.Version, due: str | None = None,
                    also: dict[str, Any] | None = None) -> Action:
    """Set status and revocation (`due`: indexed as scheduled for that moment), guarded by
    the status and `rev` read (storage.versions.change), so a channel pointed at the
    version meanwhile is never missed."""
    return storage.versions.change(before, {"status": after.status, "revocation": after.revocation or None,
                                            "updated_at": now_iso()}, due=due, also=also)


def _refresh_holders(bucket: str, updated: entities.Version, builds: list[entities.Build], actor: str) -> list[Action]:
    holding = channels.holding(bucket, updated.number)
    return channels.refresh_actions(bucket, holding, Target(updated, builds), actor)


def _move_off(bucket: str, version: entities.Version, holding: list[Channel], actor: str,
              cause: HistoryCause, count_delta: int = 0) -> list[Action]:
    """Move every channel in `holding` off `version`: user channels roll back (history cause
    `rollback`), `latest` recomputes (cause `revoke` or `delete`). Each choice comes with
    guards that the versions it skipped are still revoked. A revocation that leaves a
    channel unassigned leaves no channel marker: the only children it could affect are the
    revoked version's own, which its status marker (or its cascade) reaches already."""
    gone = {version.number}
    actions: list[Action] = []
    for channel in holding:
        if channel.managed:
            target, guards = channels.newest_active(bucket, gone)
            actions += guards + channels.point_latest(bucket, channel, target, actor, cause=cause, count_delta=count_delta,
                                                      marker=bool(target) or cause != HistoryCause.REVOKE)
        else:
            target, guards = channels.rollback_target(bucket, channel.name, gone)
            actions += guards + channels.point_actions(bucket, channel.name, target, cause=HistoryCause.ROLLBACK,
                                                       actor=actor, previous=version.name, expect=version.number,
                                                       marker=bool(target) or cause != HistoryCause.REVOKE)
    return actions
