"""Drafts: versions published through the HCP API before they have a number, and their builds.

A draft and its builds share the key prefix `DRAFT#<fp>#` in the bucket's partition, so one
Query reads a draft whole (a version's builds are few: Packer creates one per source). The
version id item (`ID#<ulid>`) is written with the draft and kept when the version is
recorded, since it names the version by bucket and fingerprint.

Every draft is also in GSI2 `DRAFTS`, keyed by the time of its last build activity
(`updated_at`, rewritten by every write of a build's status or of a new build), so the
drafts quiet since a moment are one Query, oldest first, that reads only those.
"""

from __future__ import annotations

from typing import Any

from . import keys, table
from ..domain.enums import BuildStatus
from .entities import Draft, DraftBuild, ResourceId
from .expressions import Action, Change
from .schema import GSI2

Fields = dict[str, Any]


# ---- reads ------------------------------------------------------------------------------

def with_builds(bucket: str, fingerprint: str) -> tuple[Draft | None, list[DraftBuild]]:
    """The draft and its builds: one Query of `DRAFT#<fp>#`."""
    items = list(table.query_all(keys.bucket_pk(bucket), prefix=keys.draft_sk(fingerprint)))
    head = keys.draft(bucket, fingerprint)
    drafts = [Draft.from_item(i) for i in items if keys.primary(i) == head]
    return (drafts[0] if drafts else None), [DraftBuild.from_item(i) for i in items if keys.primary(i) != head]


def draft(bucket: str, fingerprint: str) -> Draft | None:
    item = table.get(keys.draft(bucket, fingerprint))
    return Draft.from_item(item) if item else None


def quiet_since(moment: str | None, limit: int) -> tuple[list[Draft], bool]:
    """The drafts whose last build activity is before `moment` (None: every draft), oldest
    activity first, at most `limit`: one Query of GSI2 `DRAFTS` (eventually consistent) for
    `limit` + 1, so that (drafts, more remain) says exactly whether more remain."""
    items, _ = table.query_page(keys.DRAFTS, index=GSI2, at_most=moment, limit=limit + 1)
    return [Draft.from_item(i) for i in items[:limit]], len(items) > limit


def version_ref(version_id: str) -> ResourceId | None:
    """The bucket and fingerprint of the version with this id (GetItem), or None."""
    item = table.get(keys.resource_id(version_id), consistent=False)
    return ResourceId.from_item(item) if item else None


# ---- writes -----------------------------------------------------------------------------

def create(new: Draft) -> list[Action]:
    """Put a new draft and its id item, on the condition that the fingerprint has neither a
    draft nor a numbered version."""
    assert new.id
    return [Change(new.item_key()).absent().put(new.to_item()),
            table.guard(Change(keys.fingerprint(new.bucket, new.fingerprint)).absent().check()),
            Change(keys.resource_id(new.id)).absent().put(
                ResourceId(new.id, new.bucket, new.fingerprint).to_item())]


def index_version_id(version_id: str, bucket: str, fingerprint: str) -> Action:
    """The id item of a version recorded from a manifest (created with it)."""
    return Change(keys.resource_id(version_id)).absent().put(ResourceId(version_id, bucket, fingerprint).to_item())


def add_build(draft: Draft, build: DraftBuild) -> list[Action]:
    """Put a new build, counted on the draft, on the condition that the draft has no build
    of that component yet."""
    return [Change(build.item_key()).absent().put(build.to_item()),
            _active(Change(draft.item_key()).exists().lacks("components", build.component_type)
                    .append("components", build.component_type).add("build_count", 1), draft, build.created_at)
            .action()]


def update_build(before: DraftBuild, fields: Fields) -> Action:
    """Set a build's fields on the condition that it is as read (its status and update time)."""
    return Change(before.item_key()).equals("status", before.status).holds("updated_at", before.updated_at) \
        .set_all(fields).action()


def count_done(before: Draft, now: str) -> Action:
    """One more build done, on the condition that the draft's counts are as read."""
    return _active(Change(before.item_key()).equals("done_builds", before.done_builds)
                   .equals("build_count", before.build_count).add("done_builds", 1), before, now).action()


def touch(draft: Draft, now: str) -> Action:
    """Build activity on the draft (a status change or a heartbeat), if it still exists."""
    return _active(Change(draft.item_key()).exists(), draft, now).action()


def _active(change: Change, draft: Draft, now: str) -> Change:
    """Record build activity at `now`: the draft's `updated_at` and its place in GSI2 `DRAFTS`."""
    return change.set("updated_at", now).set_all(keys.draft_activity_index(now, draft.bucket, draft.fingerprint))


def finish(before: Draft, builds: list[DraftBuild], completing: DraftBuild) -> list[Action]:
    """Delete the draft and its builds once recorded: on the condition that the draft's
    counts are as read, every other build is done, and the completing one is as read."""
    actions = [Change(before.item_key()).equals("done_builds", before.done_builds)
               .equals("build_count", before.build_count).delete()]
    for build in builds:
        change = Change(build.item_key())
        if build.id == completing.id:
            change.equals("status", build.status).holds("updated_at", build.updated_at)
        else:
            change.equals("status", BuildStatus.DONE)
        actions.append(change.delete())
    return actions


def discard(before: Draft, builds: list[DraftBuild]) -> list[Action]:
    """Delete the draft, its builds and its id item: on the condition that the draft is the
    one read (its id) with the builds read (its counts), so a draft that completed meanwhile
    (deleted by its completion), gained a build, or was replaced fails the transaction."""
    assert before.id
    return [Change(before.item_key()).equals("id", before.id).equals("build_count", before.build_count)
            .equals("done_builds", before.done_builds).delete(),
            *(Change(build.item_key()).delete() for build in builds),
            Change(keys.resource_id(before.id)).delete()]


def remove_build(before: Draft, build: DraftBuild) -> list[Action]:
    """Delete one build of a draft, on the condition that it is as read (its status and
    update time) and that the draft's counts are (so its component list is: only a new build
    changes it, counted), taking its component and its counts off the draft."""
    components = [c for c in before.components if c != build.component_type]
    draft = Change(before.item_key()).equals("build_count", before.build_count) \
        .equals("done_builds", before.done_builds).set("components", components).add("build_count", -1)
    if build.status == BuildStatus.DONE:
        draft.add("done_builds", -1)
    return [Change(build.item_key()).equals("status", build.status).holds("updated_at", build.updated_at).delete(),
            draft.action()]
