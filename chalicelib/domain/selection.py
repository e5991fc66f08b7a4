"""Which versions a bulk revocation selects (pure: no I/O; services/revocations.py reads).

A filter (`Criteria`, as a job stores it) names at least one of:
- `created_before`: an ISO 8601 UTC time as stored (`clock.iso`): versions created before it;
- `labels`: `{key: value}`: versions whose builds carry every pair (taken together, as the
  `labels` filter of `GET /buckets/{b}/versions` matches them);
- `parent`: `{"bucket", "version": "vN"}`: versions built on that version (a parent link);
- `external_ids`: versions with a build that made any of these artifacts.
Every criterion given must hold. The service reads the candidates from the narrowest source
(`source`: the parent's child edges, the artifact index, else the buckets' versions) and
checks each against the whole filter here, so a candidate from an index is held to the other
criteria too.

Labels are matched on the version's summary of its builds' labels (`build_labels`, as
`key:value`, kept by every write that adds builds), so only `external_ids` needs the builds
(one Query per version). A version from before the summaries matches no label until the
sweep's backfill (services/indexing.py) has reached its bucket.
"""

from __future__ import annotations

from typing import AbstractSet, Any, Iterable, Literal, Mapping

from .enums import SkipReason, VersionStatus

Item = Mapping[str, Any]
Criteria = Mapping[str, Any]
CRITERIA = ("created_before", "labels", "parent", "external_ids")
Source = Literal["parent", "external_ids", "buckets"]


def named(criteria: Criteria) -> list[str]:
    """The criteria a filter names (an empty label map or ID list names nothing)."""
    return [name for name in CRITERIA if criteria.get(name)]


def source(criteria: Criteria) -> Source:
    """Where the candidates come from: the narrowest index the filter names."""
    if criteria.get("parent"):
        return "parent"
    if criteria.get("external_ids"):
        return "external_ids"
    return "buckets"


def needs_builds(criteria: Criteria) -> bool:
    """Whether matching reads the version's builds (artifact IDs; labels are in the summary)."""
    return bool(criteria.get("external_ids"))


def matches(version: Item, builds: Iterable[Item], criteria: Criteria) -> bool:
    """Whether a version (with its builds, when `needs_builds`) meets every criterion given."""
    builds = list(builds)
    before = criteria.get("created_before")
    if before and not str(version.get("created_at") or "") < before:
        return False
    labels = criteria.get("labels")
    if labels and not {f"{k}:{v}" for k, v in labels.items()} <= set(version.get("build_labels") or ()):
        return False
    parent = criteria.get("parent")
    if parent and not any(p.get("bucket") == parent["bucket"] and f"v{p.get('number')}" == parent["version"]
                          for p in version.get("parents") or []):
        return False
    wanted = set(criteria.get("external_ids") or ())
    if wanted and not any(wanted & set(b.get("indexed_ids") or ()) for b in builds):
        return False
    return True


def shown(criteria: Criteria, hidden: AbstractSet[str]) -> dict[str, Any]:
    """A filter as a caller reads it (a job, its audit event): without the `hidden` labels,
    those a viewer never sees (`parent_channel`: it may name a restricted channel)."""
    labels = {k: v for k, v in (criteria.get("labels") or {}).items() if k not in hidden}
    return {**criteria, "labels": labels or None} if criteria.get("labels") else dict(criteria)


def skip_reason(version: Item | None) -> SkipReason | None:
    """Why a selected version is left as it is (None: it is revoked, or scheduled): gone,
    already revoked (directly or by inheritance), or still being built."""
    if version is None:
        return SkipReason.NOT_FOUND
    if version.get("status") == VersionStatus.REVOKED:
        return SkipReason.ALREADY_REVOKED
    if version.get("status") == VersionStatus.RUNNING:
        return SkipReason.RUNNING
    return None
