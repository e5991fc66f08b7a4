"""Drafts left behind: versions started through the HCP API that never complete.

A `packer build` that stops after "Tracking build" (a template error, a cancelled pipeline, a
crashed runner) leaves its version a draft (`v0`, running; services/publishing.py). Nothing
here changes how a draft behaves: it is never served, never blocks anything, and a late
`BUILD_DONE` still completes it. What this adds:

- **Abandoned**: a draft with no build activity (created, a build added, a status change, a
  heartbeat) for `DRAFT_ABANDONED_AFTER` (default 24h) is listed as such in the compliance
  report, oldest activity first, with its age. Only a listing: nothing is ever deleted by it.
- **Deleting** a draft (either door, a contributor): its builds, its id item and its SBOMs
  go with it, in one transaction conditioned on the draft as read (storage.drafts.discard),
  so a draft that completed meanwhile is left alone (409) and its complete version is never
  deleted by surprise; the SBOMs' objects and packages go once that transaction has committed.
  One of its builds can go alone (HCP's DeleteBuild, `delete_build`), the same way.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from .. import storage
from ..domain.enums import AuditAction, VersionStatus
from ..errors import Conflict, NotFound
from ..runtime import clock, settings
from ..storage import entities
from . import audit, sboms
from .retry import retrying

ABANDONED_AFTER_VARIABLE = "DRAFT_ABANDONED_AFTER"
DEFAULT_ABANDONED_AFTER = "24h"


# ---- abandoned ----------------------------------------------------------------------------

def abandoned_after() -> timedelta:
    """`DRAFT_ABANDONED_AFTER` (a duration: `24h`, `90m`, `30s`; default 24 hours), read at
    each call."""
    return settings.duration(ABANDONED_AFTER_VARIABLE, DEFAULT_ABANDONED_AFTER)


def abandoned(limit: int) -> tuple[list[dict[str, Any]], bool]:
    """The drafts without build activity for `abandoned_after()`, oldest activity first: one
    Query of the drafts' activity index (storage.drafts.quiet_since); (drafts, more remain)."""
    now = clock.now()
    found, more = storage.drafts.quiet_since(clock.iso(now - abandoned_after()), limit)
    return [_listed(draft, now) for draft in found], more


def any_draft() -> bool:
    """Whether any draft exists (one Query, Limit 1): the sweep's read of the drafts index."""
    return bool(storage.drafts.quiet_since(None, 1)[0])


def _listed(draft: entities.Draft, now: datetime) -> dict[str, Any]:
    return {"bucket": draft.bucket, "fingerprint": draft.fingerprint, "id": draft.id, "author": draft.author,
            "created_at": draft.created_at, "last_activity_at": draft.updated_at,
            "age_seconds": _seconds(draft.created_at, now), "idle_seconds": _seconds(draft.updated_at, now),
            "build_count": draft.build_count, "done_builds": draft.done_builds}


def _seconds(since: str, now: datetime) -> int:
    return max(0, int((now - clock.parse_utc(since)).total_seconds()))


# ---- deleting -----------------------------------------------------------------------------

def delete_draft(bucket: str, fingerprint: str, actor: str) -> tuple[entities.Draft, list[entities.Build]]:
    """Delete the draft with this fingerprint, its builds, its id item and its SBOMs (objects
    and packages); the draft and builds deleted. Conflict when the version completed meanwhile
    (it is left as it is), NotFound when there is no such draft. Calls: one Query and one
    transaction (again on a lost race), then per build with SBOMs what sboms.delete costs."""
    def attempt() -> tuple[entities.Draft, list[entities.DraftBuild]]:
        draft, builds = storage.drafts.with_builds(bucket, fingerprint)
        if not draft:
            number = storage.versions.fingerprint_number(bucket, fingerprint)
            if number is not None:
                raise Conflict(f"version {fingerprint!r} of bucket {bucket!r} completed as v{number} meanwhile and "
                               f"was not deleted; delete v{number} by its name if that is what you mean")
            raise NotFound(f"bucket {bucket!r} has no draft with fingerprint {fingerprint!r}")
        audit.commit([*storage.drafts.discard(draft, builds),
                      audit.event_action(bucket, AuditAction.VERSION_DELETED, fingerprint, actor,
                                         before={"fingerprint": fingerprint, "id": draft.id,
                                                 "status": VersionStatus.RUNNING, "builds": sorted(draft.components)})])
        return draft, builds

    draft, builds = retrying(attempt, what=f"deleting the draft {fingerprint}")
    sboms.delete(bucket, fingerprint, builds)
    return draft, list(builds)


def delete_build(bucket: str, fingerprint: str, build_id: str, actor: str) -> entities.Build:
    """Delete one build of a draft (HCP's DeleteBuild), its SBOM objects too; the build
    deleted. A complete version's builds are part of what it is: Conflict (delete the version
    instead). The draft keeps running and is not completed by it: a version completes when a
    build becomes done. Calls: one Query and one transaction (again on a lost race), a GetItem
    more when there is no draft, and with SBOMs their packages and one S3 listing and delete."""
    def attempt() -> entities.DraftBuild:
        draft, builds = storage.drafts.with_builds(bucket, fingerprint)
        if not draft:
            number = storage.versions.fingerprint_number(bucket, fingerprint)
            if number is not None:
                raise Conflict(f"This version is complete (v{number}): its builds cannot be deleted; delete the "
                               "version instead")
            raise NotFound(f"Version with fingerprint {fingerprint} not found")
        build = next((b for b in builds if b.id == build_id), None)
        if build is None:
            raise NotFound(f"Build with id {build_id} not found in the version with fingerprint {fingerprint}")
        audit.commit([*storage.drafts.remove_build(draft, build),
                      audit.event_action(bucket, AuditAction.BUILD_DELETED, f"{fingerprint}/{build_id}", actor,
                                         before={"fingerprint": fingerprint, "component_type": build.component_type,
                                                 "status": build.status})])
        return build

    build = retrying(attempt, what=f"deleting build {build_id}")
    sboms.delete(bucket, fingerprint, [build])
    return build
