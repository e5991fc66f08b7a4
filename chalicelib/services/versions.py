"""Versions and their builds as stored: reads, and the item shape of a build."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Iterable

from . import buckets, findings, serving
from .. import storage
from ..storage import entities
from ..domain import ids
from ..errors import Conflict, NotFound
from ..domain.manifest import ParsedBuild
from ..domain.names import label_pairs
from ..domain.platforms import canonical
from ..domain.models import VERSION_NAME, Version


class Running(Conflict):
    """The version is being published through the HCP API: a draft, with no number yet."""

    def __init__(self, bucket: str, fingerprint: str) -> None:
        super().__init__(f"version {fingerprint!r} of bucket {bucket!r} is running (being published through the "
                         "HCP API): it has no number until its last build is done")
        self.fingerprint = fingerprint


# ---- reads ------------------------------------------------------------------------------

def resolve_number(bucket: str, ref: str) -> int:
    """A version reference is its name (`v3`), its fingerprint or its id (a ULID; a
    fingerprint is tried first, as Packer's default fingerprints are ULIDs too). A version
    still being published through the HCP API has no number yet: Conflict."""
    match = VERSION_NAME.fullmatch(ref)
    if match:
        return int(match.group(1))
    number = storage.versions.fingerprint_number(bucket, ref)
    if number is None and ids.is_ulid(ref):
        found = storage.drafts.version_ref(ref)
        if found and found.bucket == bucket:
            number = storage.versions.fingerprint_number(bucket, found.fingerprint)
            ref = found.fingerprint
    if number is None:
        if storage.drafts.draft(bucket, ref):
            raise Running(bucket, ref)
        raise NotFound(f"bucket {bucket!r} has no version with fingerprint, name or id {ref!r}")
    return number


def load(bucket: str, ref: str) -> tuple[entities.Version, list[entities.Build]]:
    """The version item and its build items, in one Query (plus a GetItem for a fingerprint)."""
    number = resolve_number(bucket, ref)
    version, builds = storage.versions.with_builds(bucket, number)
    if not version:
        raise NotFound(f"bucket {bucket!r} has no version {ref!r}")
    return version, builds


def get_version(bucket: str, ref: str, see_restricted: bool = True) -> Version:
    """A version with its builds; a viewer gets one BatchGet more when its ancestry names
    channels (to leave out the restricted ones). A version being published through the HCP
    API is shown as it is (`v0`, running, its builds' statuses)."""
    try:
        version, builds = load(bucket, ref)
    except Running as running:
        draft, drafted = storage.drafts.with_builds(bucket, running.fingerprint)
        if not draft:  # completed meanwhile
            version, builds = load(bucket, running.fingerprint)
        else:
            version, builds = draft, list(drafted)
    return to_version(version, builds, findings.visibility(findings.channels_of_version(version), see_restricted))


def list_versions(bucket: str, limit: int, token: str | None, see_restricted: bool = True,
                  filters: Mapping[str, str] | None = None) -> tuple[list[Version], str | None, bool]:
    """Newest first, one page (a BatchGet more for a viewer when the page's ancestry names
    channels); `filters` (checked by the HTTP layer: api/queries.py) as `filtered_page`
    applies them. The third value says whether the page was filtered as read (it may then
    be short while `next_token` remains)."""
    items, next_token, filtered = filtered_page(bucket, limit, token, filters or {}, see_restricted)
    shown = findings.visibility(set().union(*map(findings.channels_of_version, items)), see_restricted)
    return [to_version(i, shown=shown) for i in items], next_token, filtered


def filtered_page(bucket: str, limit: int, token: str | None, filters: Mapping[str, str],
                  see_restricted: bool = True) -> tuple[list[entities.Version], str | None, bool]:
    """One page of the bucket's versions that meet `filters`, and whether it was filtered as read.

    - `channel`: the channel's history, a page of its moves newest first (a viewer cannot
      name a restricted channel: 404), then the versions they moved to (one BatchGet), each
      once per page, tested against the other filters: always a filtered page.
    - `platform` (on an indexed bucket): the platform index, then a BatchGet of those
      versions: a full page unless other filters are asked too.
    - `status` (on an indexed bucket): the status index (GSI3): a full page unless other
      filters are asked too.
    - otherwise the bucket's list, filtered as read.
    A bucket is indexed when created by this release or later (`indexed_since`); an older
    bucket's status and platform filters fall back to filtering the page read (reading the
    bucket item, one GetItem, tells which).

    A viewer's `labels` naming a label it never sees (`parent_channel`: serving.hidden_labels)
    match nothing, as if no build carried it: the same pages are read and come back empty, so
    the answer is the one any label no build has gets.
    """
    wanted = dict(filters)
    channel = wanted.pop("channel", None)
    criteria = criteria_of(wanted)
    items, next_token, filtered = _page(bucket, limit, token, channel, criteria, see_restricted)
    hidden = serving.hidden_labels(see_restricted)
    if any(pair.partition(":")[0] in hidden for pair in criteria.labels):
        items = []
    return items, next_token, filtered


def _page(bucket: str, limit: int, token: str | None, channel: str | None, criteria: storage.versions.Criteria,
          see_restricted: bool) -> tuple[list[entities.Version], str | None, bool]:
    """`filtered_page`'s reads: from the channel's history, the platform index, the status
    index or the bucket's list."""
    if channel:
        from .channels import history

        entries, next_token = history(bucket, channel, limit, token, see_restricted)
        numbers = [int(match.group(1)) for e in entries if (match := VERSION_NAME.fullmatch(e.to_version or ""))]
        return storage.versions.in_order(bucket, numbers, criteria.where()), next_token, True
    indexed = None
    if criteria.status or criteria.platform:
        indexed = buckets.require(bucket, consistent=False).indexed_since is not None
    if criteria.platform and indexed:
        items, next_token, filtered = storage.versions.platform_page(bucket, token, limit, criteria)
    else:
        items, next_token, filtered = storage.versions.versions_page(bucket, token, limit, criteria,
                                                                     by_status=bool(indexed))
    if not items and not token and indexed is None:
        buckets.require(bucket, consistent=False)  # an empty page: no versions, or no bucket?
    return items, next_token, filtered


def criteria_of(filters: Mapping[str, str]) -> storage.versions.Criteria:
    """The versions filters as storage takes them: a platform by its canonical name (an old
    name finds the same builds), labels as their `key:value` pairs."""
    fields: dict[str, Any] = dict(filters)
    if "platform" in fields:
        fields["platform"] = canonical(fields["platform"])
    if "labels" in fields:
        fields["labels"] = tuple(f"{k}:{v}" for k, v in label_pairs(fields["labels"]) or ())
    return storage.versions.Criteria(**fields)


def page(bucket: str, limit: int, token: str | None) -> tuple[list[entities.Version], str | None]:
    """One page of the bucket's version items, newest first (drafts, being built, before them)."""
    items, next_token, _ = filtered_page(bucket, limit, token, {})
    return items, next_token


def by_number(bucket: str, numbers: set[int]) -> dict[int, entities.Version]:
    """The bucket's versions with these numbers (one BatchGetItem; a deleted one is left out)."""
    return {v.number: v for v in storage.versions.versions([(bucket, n) for n in sorted(numbers)])}


def revocation_sources(items: Iterable[entities.Version]) -> dict[str, entities.Version]:
    """The versions the inherited revocations of `items` come from, by the name the
    revocation gives them (`bucket/vN`): one BatchGetItem, none when no revocation is inherited
    (a source deleted since is left out)."""
    refs = set()
    for item in items:
        bucket, _, name = str((item.revocation or {}).get("inherited_from") or "").rpartition("/")
        match = VERSION_NAME.fullmatch(name)
        if bucket and match:
            refs.add((bucket, int(match.group(1))))
    return {f"{v.bucket}/{v.name}": v for v in storage.versions.versions(sorted(refs))} if refs else {}


def to_version(version: entities.Version, builds: list[entities.Build] | None = None,
               shown: findings.Shown = findings.everything) -> Version:
    """The API's shape of a version: ancestry sentences written for the caller (`shown`
    says which channels it may see)."""
    fields = version.attributes()
    if builds is not None:
        fields["builds"] = [{**b.attributes(), "status": b.status.value.upper()}
                            for b in sorted(builds, key=lambda b: (b.component_type, b.build_time or "", b.id))]
    return Version.model_validate(findings.version(fields, shown))


def build_item(bucket: str, number: int, build: ParsedBuild, now: str) -> entities.Build:
    """The stored build (what the API returns, and the artifact IDs it indexed)."""
    fields: dict[str, Any] = dict(
        id=build.id, bucket=bucket, number=number, component_type=build.component_type,
        name=build.name, builder_type=build.builder_type, platform=build.platform,
        labels=build.labels, packer_run_uuid=build.packer_run_uuid, build_time=build.build_time,
        source_artifact=build.source_artifact, created_at=now, indexed_ids=build.indexed_ids,
        artifacts=[a.model_dump() for a in build.artifacts],
        files=[f.model_dump() for f in build.files], file_count=build.file_count)
    return entities.Build(**{**fields, **build.extra})
