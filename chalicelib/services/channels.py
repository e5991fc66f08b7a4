"""Channels: named pointers to versions, their history, and the consumer query.

A channel item carries a copy of what the consumer query needs (the version's name,
fingerprint, status, revocation and every artifact with its build's platform, region and
labels), written whenever the channel moves or its version changes, so "which artifact
for bucket X, channel Y, platform Z, region R" is one GetItem.

`latest` is managed: it exists once a bucket has a version, follows the newest active
version, is restricted by default, and cannot be assigned or deleted by hand.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Iterator

from . import audit, buckets, markers, versions
from ..domain import rules
from .. import storage
from ..storage import entities
from ..runtime.clock import now_iso
from ..domain.enums import HistoryCause, SweepWork, VersionStatus
from ..errors import AlreadyExists, Conflict, NotFound
from ..domain.models import Channel, CreateChannel, HistoryEntry, UpdateChannel
from .retry import retrying
from ..domain.rules import LATEST, LATEST_DESCRIPTION
from .serving import get_item
from ..storage import ConditionFailed

MOVE_ACTIONS = 5  # what point_actions writes for a move: channel, history entry, sweep marker, audit event, claim
_MOVE_EVENTS = {HistoryCause.ASSIGN: "channel.assigned", HistoryCause.UNASSIGN: "channel.unassigned",
                HistoryCause.ROLLBACK: "channel.rolled_back"}
Action = dict[str, Any]
# What a channel copies from its version (None where unassigned); `copy` names the pages of a
# version too large to copy into one item.
_SERVING_FIELDS = ("version", "number", "fingerprint", "version_status", "revocation", "builds", "copy")
INLINE_COPY_BYTES = 300_000  # a serving copy larger than this goes to pages (copies.py)


class Managed(Conflict):
    """A change the managed `latest` does not take by hand (an assignment, a deletion)."""


class MissingChannel(NotFound):
    """One of the channels a change names does not exist (`name` says which)."""

    def __init__(self, bucket: str, name: str) -> None:
        super().__init__(f"bucket {bucket!r} has no channel {name!r}")
        self.name = name


@dataclass
class Target:
    """A version a channel points at, and its builds."""

    version: entities.Version
    builds: list[entities.Build]

    @property
    def number(self) -> int:
        return self.version.number

    @property
    def status(self) -> VersionStatus:
        """The version's status (what rules.newest_active judges)."""
        return self.version.status


def served_builds(builds: list[entities.Build]) -> list[dict[str, Any]]:
    """What the consumer query needs of each build: one entry per build with its artifacts
    nested (labels are not repeated per region)."""
    return [{"build_id": b.id, "component_type": b.component_type, "platform": b.platform,
             "labels": b.labels, "build_time": b.build_time, "created_at": b.created_at,
             # A build's files only where it has some: cloud builds' copies stay as small as before.
             **({"files": b.files, "file_count": b.file_count} if b.file_count else {}),
             "artifacts": [{"region": a.get("region"), "external_id": a["external_id"]} for a in b.artifacts]}
            for b in builds]


def serving(target: Target | None) -> dict[str, Any]:
    """The copy of a version a channel carries for the consumer query: inline, or (for a
    version whose copy was too large for one item) the generation and page count of the
    copy pages written with the version."""
    if target is None:
        return dict.fromkeys(_SERVING_FIELDS)
    v = target.version
    revocation = {k: val for k, val in (v.revocation or {}).items() if k != "cascade_pending"} or None
    paged = v.copy_pages
    return {"version": v.name, "number": v.number, "fingerprint": v.fingerprint,
            "version_status": v.status, "revocation": revocation,
            "builds": None if paged else served_builds(target.builds),
            "copy": {"generation": v.copy_generation, "pages": paged} if paged else None}


def point_actions(bucket: str, channel: str, target: Target | None, *, cause: HistoryCause | None, actor: str,
                  previous: str | None, expect: int | None | bool = False, latest: bool = False,
                  extra: dict[str, Any] | None = None, marker: bool = True) -> list[Action]:
    """Move a channel (update + history entry) as transaction actions.

    `expect` is the version number the caller saw on the channel (None: unassigned), so a
    concurrent move cancels the transaction; False skips that check. `latest` upserts the managed channel,
    creating it restricted on a bucket's first version. `extra` sets more fields
    (description, restricted) in the same update. The target version is claimed (its `rev`
    asserted and bumped, storage.versions.claim), so the copy is of the version as it is and a
    concurrent revocation that did not see this channel fails and re-reads. Without a
    `cause` the channel did not move (its copy of the same version is refreshed) and no
    history entry is written; with one, a sweep marker is left too (children built from
    this channel may be outdated), unless `marker` is False (the caller's own change already
    makes the sweep re-check those children).

    `updated_at`/`updated_by` say who last changed the channel itself (a move, or `extra`
    details): HCP's `author_id` and `updated_at`, which Terraform compares. A refresh (a
    revocation that keeps the channel, restore, repair, builds added) rewrites only the copy.
    """
    now = now_iso()
    copy = serving(target)
    stamp = {"updated_at": now, "updated_by": actor} if cause or extra else {}
    fields = {**copy, **(extra or {}), **stamp}
    defaults = {"bucket": bucket, "name": LATEST, "created_at": now, "created_by": actor, "restricted": True,
                "managed": True, "description": LATEST_DESCRIPTION} if latest else None
    held_revoked = copy["version_status"] == VersionStatus.REVOKED
    update = storage.channels.point(bucket, channel, fields, held_revoked=held_revoked,
                                    defaults=defaults, **({} if expect is False else {"expect": expect}))
    claim = [storage.versions.claim(bucket, target.number, target.version.rev)] if target else []
    if held_revoked:  # on the index of channels serving a revoked version: the sweep's read of it
        claim.append(storage.sweep.note_work(SweepWork.EXPOSED, now))
    claim += bucket_entry(bucket, channel, copy, restricted=(extra or {}).get("restricted"), latest=latest)
    if not cause:
        return [update, *claim]
    to_version = target.version.name if target else None
    moved = None if not marker else markers.marker_action(markers.CHANNEL_MOVED, bucket, channel=channel,
                                  from_number=int(previous[1:]) if previous else None,
                                  to_number=target.number if target else None)
    action = _MOVE_EVENTS.get(cause, "channel.assigned" if target else "channel.unassigned")
    event = audit.event_action(bucket, action, f"channel/{channel}", actor, before=previous, after=to_version,
                               cause=cause)
    return [update, history_action(bucket, channel, previous, target, cause, actor, now), *([moved] if moved else []),
            event, *claim]


def history_action(bucket: str, channel: str, previous: str | None, target: Target | None, cause: HistoryCause,
                   actor: str, at: str) -> Action:
    return storage.channels.put_history(entities.HistoryEntry(
        bucket=bucket, id=secrets.token_hex(4), channel=channel, from_version=previous,
        to_version=target.version.name if target else None, at=at, author=actor, cause=cause))


def bucket_entry(bucket: str, channel: str, copy: dict[str, Any] | None, restricted: bool | None = None,
                 latest: bool = False) -> list[Action]:
    """The bucket item's copy of a channel, for the bucket list (storage.buckets): its
    version and status (`copy` as serving() makes it; None: the channel is deleted) and,
    when it changes, whether it is restricted (`latest`: restricted unless set otherwise)."""
    entry = None if copy is None else {k: copy[k] for k in ("version", "version_status") if copy.get(k) is not None}
    actions = [storage.buckets.channel_entry(bucket, channel, entry)]
    if restricted is not None:
        actions.append(storage.buckets.channel_restricted(bucket, channel, restricted))
    elif latest:
        actions.append(storage.buckets.channel_restricted(bucket, channel, True, if_unset=True))
    return actions


def point_latest(bucket: str, latest: entities.Channel | None, target: Target | None, actor: str,
                 cause: HistoryCause, count_delta: int = 0, marker: bool = True) -> list[Action]:
    """Move `latest` (None: not created yet) and the bucket's latest_version together."""
    moves = point_actions(bucket, LATEST, target, cause=cause, actor=actor, previous=latest.version if latest else None,
                          expect=latest.number if latest else None, latest=True, marker=marker)
    return moves + [bucket_summary(bucket, latest=target.version.name if target else None,
                                   count_delta=count_delta)]


def takes_latest(number: int, latest: entities.Channel | None) -> bool:
    """rules.takes_latest for `latest` as read (None: not created yet); rules.py reads
    entities as mappings, so it gets the channel's attributes."""
    return rules.takes_latest(number, latest.attributes() if latest else {})


def bucket_summary(bucket: str, latest: str | None | bool = False, count_delta: int = 0) -> Action:
    """The bucket item's summary: `latest_version` (False: leave it) and `version_count`."""
    return storage.buckets.summary(bucket, now_iso(), latest=latest, count_delta=count_delta)


def target_of(bucket: str, number: int) -> Target:
    version, builds = versions.load(bucket, f"v{number}")
    return Target(version, builds)


def refresh_actions(bucket: str, holding: list[entities.Channel], target: Target, actor: str) -> list[Action]:
    """Re-copy a version onto the channels that hold it (its builds or status changed)."""
    return [a for c in holding for a in point_actions(
        bucket, c.name, target, cause=None, actor=actor, previous=None, expect=target.number)]


def refresh(bucket: str, number: int, actor: str = "registry") -> None:
    """Re-copy version `number` onto every channel holding it, in one transaction guarded by
    the version's `rev`; retried (re-read) when the version or a channel changed meanwhile."""
    def attempt() -> None:
        holders = holding(bucket, number)
        if holders:
            storage.transact(refresh_actions(bucket, holders, target_of(bucket, number), actor))
    retrying(attempt)


def newest_active(bucket: str, excluding: set[int]) -> tuple[Target | None, list[Action]]:
    """The version `latest` should hold (the newest one neither revoked nor incomplete) and
    guards that the newer revoked versions it skipped are still revoked: a restore that
    commits first cancels the move. Reads the version index (a GSI), re-checking the
    candidate with a consistent read (the choice: rules.newest_active)."""
    index = (v.attributes() for v in storage.versions.newest_first(bucket))
    target, skipped = rules.newest_active(index, excluding, lambda number: target_of(bucket, number))
    return target, still_revoked(bucket, skipped)


def rollback_target(bucket: str, channel: str, excluding: set[int]) -> tuple[Target | None, list[Action]]:
    """The last version in the channel's own history that is still active (or None), with
    guards that the revoked ones it skipped are still revoked (the choice: rules.first_active).
    The candidates are read 25 at a time, only as far as the choice needs."""
    # rules.py reads entities as mappings: the entries' attributes.
    seen = rules.rollback_candidates((e.attributes() for e in storage.channels.history_newest_first(bucket, channel)),
                                     excluding)

    def candidates() -> Iterator[dict[str, Any]]:
        for start in range(0, len(seen), 25):
            batch = seen[start:start + 25]
            found = {v.number: v for v in storage.versions.versions([(bucket, n) for n in batch])}
            yield from (found[n].attributes() for n in batch if n in found)
    chosen, skipped = rules.first_active(candidates())
    return (target_of(bucket, chosen["number"]) if chosen else None), still_revoked(bucket, skipped)


GUARDED_SKIPS = 10  # skipped versions guarded inside the transaction; the rest are re-read


def still_revoked(bucket: str, skipped: list[int]) -> list[Action]:
    """Guards that the revoked versions a channel's move passed over are still revoked, so a
    restore that commits first cancels the move (it is then retried from fresh reads).

    Only the nearest GUARDED_SKIPS ride in the transaction: a bucket with hundreds of revoked
    versions newer than its newest active one would otherwise overflow DynamoDB's 100 items.
    The others are confirmed by one consistent BatchGetItem just before; one restored in the
    moment between that read and the commit can leave the channel on an older active version
    (never on a revoked one: the target itself is conditioned), which the next restore of it,
    or the sweep's drift check, puts right."""
    guarded, rest = skipped[:GUARDED_SKIPS], skipped[GUARDED_SKIPS:]
    if rest and any(v.status != VersionStatus.REVOKED for v in storage.versions.versions([(bucket, n) for n in rest])):
        raise storage.ConditionFailed("a version passed over as revoked was restored meanwhile")
    return [storage.versions.status_check(bucket, number, VersionStatus.REVOKED) for number in guarded]


def drifted(item: entities.Channel, version: entities.Version | None) -> bool:
    """Whether a channel's copy disagrees with the version it holds (status, revocation or
    builds): what a lost race could once leave behind."""
    if version is None:
        return False  # a deleted version: channels are moved off it in the deleting transaction
    fresh = serving(Target(version, []))
    if (item.version_status, item.revocation) != (fresh["version_status"], fresh["revocation"]):
        return True
    if version.copy_pages:
        return item.copy != fresh["copy"]
    return len(item.builds or []) != version.build_count


def repair_drift(bucket: str, actor: str = "sweep") -> list[dict[str, Any]]:
    """Re-copy every channel of the bucket whose copy drifted from its version, with a
    `channel.repaired` audit event each (the sweep runs it for buckets that changed)."""
    items = channel_items(bucket)
    held = sorted({i.number for i in items if i.number})
    found = {v.number: v for v in storage.versions.versions([(bucket, n) for n in held])}
    repaired = []
    for item in items:
        number = item.number
        if not number or not drifted(item, found.get(number)):
            continue

        def attempt(item: entities.Channel = item, number: int = number) -> None:
            target = target_of(bucket, number)
            event = audit.event_action(bucket, "channel.repaired", f"channel/{item.name}", actor,
                                       before={"version_status": item.version_status},
                                       after={"version_status": target.version.status})
            audit.commit(point_actions(bucket, item.name, target, cause=None, actor=actor, previous=None,
                                       expect=number) + [event])
        retrying(attempt, what=f"repairing channel {item.name!r}")
        repaired.append({"bucket": bucket, "channel": item.name, "version": item.version,
                         "was": item.version_status, "now": found[number].status})
    return repaired


# ---- reads ------------------------------------------------------------------------------

def channel_items(bucket: str) -> list[entities.Channel]:
    """All channels of a bucket (one Query page in practice: channels are few)."""
    return storage.channels.of_bucket(bucket)


def holding(bucket: str, number: int) -> list[entities.Channel]:
    """The channels (managed ones included) that point at version `number`."""
    return [c for c in channel_items(bucket) if c.number == number]


def serving_revoked(limit: int, see_restricted: bool = True) -> tuple[list[dict[str, Any]], bool]:
    """Channels that hold a revoked version (consumers get a 409): the sparse index
    `REVOKED_CHANNELS`, one Query page of at most `limit`; (channels, more remain).
    Restricted ones are left out for callers who may not see them."""
    items, more = storage.channels.holding_revoked(limit)
    return [{"bucket": i.bucket, "channel": i.name, "version": i.version, "revocation": i.revocation}
            for i in items if see_restricted or not i.restricted], more


def get_channel(bucket: str, name: str, see_restricted: bool = True) -> Channel:
    return to_channel(get_item(bucket, name, see_restricted))


def list_channels(bucket: str, limit: int, token: str | None, see_restricted: bool = True
                  ) -> tuple[list[Channel], str | None]:
    items, next_token = storage.channels.channels_page(bucket, token, limit)
    if not items and not token:
        buckets.require(bucket, consistent=False)  # an empty page: no channels, or no bucket?
    visible = [i for i in items if see_restricted or not i.restricted]
    return [to_channel(i) for i in visible], next_token


def history(bucket: str, name: str, limit: int, token: str | None, see_restricted: bool = True
            ) -> tuple[list[HistoryEntry], str | None]:
    if not see_restricted:
        get_item(bucket, name, see_restricted)
    items, next_token = storage.channels.history_page(bucket, name, token, limit)
    if not items and not token:
        get_item(bucket, name)  # 404 for an unknown channel rather than an empty history
    return [HistoryEntry.model_validate(i.attributes()) for i in items], next_token


_INTERNAL_FIELDS = ("builds", "copy", "number")


def to_channel(item: entities.Channel) -> Channel:
    fields = {k: v for k, v in item.attributes().items() if k not in _INTERNAL_FIELDS}
    return Channel.model_validate(fields)


# ---- changes ----------------------------------------------------------------------------

def create_channel(bucket: str, body: CreateChannel, actor: str) -> Channel:
    if body.name == LATEST:
        raise AlreadyExists("'latest' is managed by the registry (created with the bucket) and cannot be created "
                            "by hand")
    buckets.require(bucket)
    return retrying(lambda: _create(bucket, body, actor), what=f"creating channel {body.name!r}")


def _create(bucket: str, body: CreateChannel, actor: str) -> Channel:
    target = _assignable(bucket, body.version) if body.version else None
    now = now_iso()
    item = entities.Channel(bucket=bucket, name=body.name, description=body.description, restricted=body.restricted,
                            managed=False, created_at=now, updated_at=now, created_by=actor, updated_by=actor,
                            **serving(target))
    actions = [storage.channels.create(item),
               *bucket_entry(bucket, body.name, serving(target), restricted=body.restricted),
               audit.event_action(bucket, "channel.created", f"channel/{body.name}", actor,
                                  after={"version": item.version, "restricted": body.restricted})]
    if target:
        actions += [history_action(bucket, body.name, None, target, HistoryCause.ASSIGN, actor, now),
                    storage.versions.claim(bucket, target.number, target.version.rev),
                    markers.marker_action(markers.CHANNEL_MOVED, bucket, channel=body.name, from_number=None,
                                          to_number=target.number)]
    try:
        audit.commit(actions)
    except ConditionFailed:
        if storage.channels.channel(bucket, body.name):
            raise AlreadyExists(f"bucket {bucket!r} already has a channel {body.name!r}") from None
        raise  # the version changed meanwhile: read it again
    return to_channel(item)


def update_channel(bucket: str, name: str, body: UpdateChannel, actor: str) -> Channel:
    """Assign (`version`), unassign (`version: null`) and/or change description/restricted;
    re-read and retried when the channel or the version changed meanwhile."""
    retrying(lambda: _update(bucket, name, body, actor), what=f"updating channel {name!r}")
    return get_channel(bucket, name)


def _update(bucket: str, name: str, body: UpdateChannel, actor: str) -> None:
    item = get_item(bucket, name)
    details = body.model_dump(include={"restricted", "description"}, exclude_none=True)
    if "version" not in body.model_fields_set:
        if details:
            try:
                restricted = [storage.buckets.channel_restricted(bucket, name, details["restricted"])
                              ] if "restricted" in details else []
                audit.commit([
                    storage.channels.update(bucket, name, {**details, "updated_at": now_iso(), "updated_by": actor}),
                    *restricted,
                    audit.event_action(bucket, "channel.updated", f"channel/{name}", actor,
                                       before={k: getattr(item, k) for k in details}, after=details)])
            except ConditionFailed:
                raise NotFound(f"bucket {bucket!r} has no channel {name!r}") from None
        return
    if item.managed:
        raise Managed(f"channel {name!r} is managed by the registry and cannot be assigned by hand")
    target = _assignable(bucket, body.version) if body.version else None
    moved = (target.number if target else None) != item.number
    # Assigning the version a channel already holds (or unassigning an empty channel) is
    # not a move: the copy is refreshed, the details applied, and no history is written.
    cause = (HistoryCause.ASSIGN if target else HistoryCause.UNASSIGN) if moved else None
    actions = point_actions(bucket, name, target, cause=cause, actor=actor,
                            previous=item.version, expect=item.number, extra=details)
    if not cause and details:
        actions.append(audit.event_action(bucket, "channel.updated", f"channel/{name}", actor,
                                          before={k: getattr(item, k) for k in details}, after=details))
    audit.commit(actions)


def assign_from(bucket: str, source: str, target: str, actor: str) -> tuple[entities.Channel, entities.Channel, Target]:
    """Give channel `target` the version channel `source` holds (a promotion: HCP Packer's
    AssignChannelVersion), on the condition that `source` still holds it when the move
    commits; then both channels (one BatchGetItem) and the version. The rules are an
    assignment's: the managed `latest` takes none (Managed), a revoked or incomplete version
    is refused (Conflict), and so is a source holding nothing; MissingChannel names a channel
    that does not exist. Calls: one BatchGetItem (both channels), one Query (the version and
    its builds), one transaction (again on a lost race), one BatchGetItem (both, as moved)."""
    def attempt() -> Target:
        found = {c.name: c for c in storage.channels.channels([(bucket, source), (bucket, target)])}
        source_item, target_item = (found.get(name) or _missing(bucket, name) for name in (source, target))
        if target_item.managed:
            raise Managed(f"channel {target!r} is managed by the registry and cannot be assigned by hand")
        if not source_item.number:
            raise Conflict(f"channel {source!r} holds no version to assign")
        chosen = _assignable(bucket, f"v{source_item.number}")
        cause = HistoryCause.ASSIGN if chosen.number != target_item.number else None
        audit.commit([*point_actions(bucket, target, chosen, cause=cause, actor=actor, previous=target_item.version,
                                     expect=target_item.number),
                      storage.channels.holds(bucket, source, source_item.number)])
        return chosen

    chosen = retrying(attempt, what=f"assigning channel {target!r} from {source!r}")
    found = {c.name: c for c in storage.channels.channels([(bucket, source), (bucket, target)])}
    return found.get(source) or _missing(bucket, source), found.get(target) or _missing(bucket, target), chosen


def _missing(bucket: str, name: str) -> entities.Channel:
    raise MissingChannel(bucket, name)


def delete_channel(bucket: str, name: str, actor: str) -> Channel:
    """Delete a user channel and its history (history first, the channel last)."""
    item = get_item(bucket, name)
    if item.managed:
        raise Managed(f"channel {name!r} is managed by the registry and cannot be deleted")
    storage.channels.delete_history(bucket, name)
    audit.commit([storage.channels.delete(bucket, name), *bucket_entry(bucket, name, None),
                  markers.marker_action(markers.CHANNEL_MOVED, bucket, channel=name,
                                        from_number=item.number, to_number=None),
                  audit.event_action(bucket, "channel.deleted", f"channel/{name}", actor,
                                     before={"version": item.version})])
    return to_channel(item)


def _assignable(bucket: str, ref: str) -> Target:
    """The version to assign, refused (409) when revoked or not yet complete."""
    version, builds = versions.load(bucket, ref)
    if version.status == VersionStatus.REVOKED:
        reason = (version.revocation or {}).get("reason")
        raise Conflict(f"{version.name} is revoked and cannot be assigned: {reason}")
    if version.status == VersionStatus.RUNNING:
        raise Conflict(f"{version.name} is still being built (status running) and cannot be assigned yet")
    if version.deleting_since:
        raise Conflict(f"{version.name} is being deleted and cannot be assigned")
    return Target(version, builds)
