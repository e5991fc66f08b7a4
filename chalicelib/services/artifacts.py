"""External artifact IDs → the versions that produced them, and compliance verdicts.

`POST /compliance/check` answers, per ID, like HCP Packer's artifact validation run task:
- `revoked`: the version that produced it is revoked;
- `out_of_date`: a newer active version of its bucket exists, or its ancestry is outdated:
  its stored status says so, or an ancestor is revoked or stored as outdated (the check walks
  up the chain, so a grandchild is never `ok` while its parent is `out_of_date`);
- `unknown`: the registry never saw it (or it is not an indexed kind of ID), or only in
  buckets the caller may not see (a bucket binding: domain/access.py);
- `ok`: otherwise.
The check passes unless an artifact is revoked; `out_of_date` is a warning. For a viewer,
no message names a restricted channel (`latest` included) or where it points.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from . import ancestry, findings
from ..domain import plans
from ..domain.platforms import canonical
from ..domain.access import visible
from .. import storage
from ..storage import entities
from .channels import LATEST
from ..domain.enums import Verdict, VersionStatus
from ..errors import BadRequest, NotFound
from ..domain.models import ArtifactLookup, ComplianceCheck


def _newest_match(external_id: str) -> entities.ArtifactEntry | None:
    """The artifact's newest producer the caller may see, by its index entries (one Query)."""
    return max((m for m in storage.versions.artifact_entries(external_id) if visible(m.bucket)),
               key=lambda m: (m.created_at, m.number), default=None)


def lookup(external_id: str, see_restricted: bool = True) -> ArtifactLookup:
    """Which bucket, version and build produced an artifact, with their status (newest first)."""
    # none for an ID no key can hold; none in a bucket the caller may not see (domain/access.py)
    matches = [m for m in storage.versions.artifact_entries(external_id) if visible(m.bucket)]
    if not matches:
        raise NotFound(f"no artifact {external_id!r} in the registry")
    versions = _versions(matches)
    shown = findings.visibility(findings.channels_in(
        f for v in versions.values() for f in v.ancestry_findings or []), see_restricted)
    found = []
    for m in sorted(matches, key=lambda m: (m.created_at, m.number), reverse=True):
        version = versions.get((m.bucket, m.number))
        if version:
            found.append({"bucket": m.bucket, "version": version.name, "fingerprint": version.fingerprint,
                          "build_id": m.build_id, "platform": m.platform, "status": version.status,
                          "ancestry_status": version.ancestry_status,
                          "ancestry_messages": _messages(version, shown),
                          "ancestry_findings": findings.stored_findings(version.ancestry_findings,
                                                                        version.ancestry_messages, shown,
                                                                        version.ancestry_status),
                          "revocation": version.revocation})
    if not found:
        raise NotFound(f"no artifact {external_id!r} in the registry")
    return ArtifactLookup.model_validate({"external_id": external_id, **found[0], "matches": found})


class Producer(NamedTuple):
    """A build that made an artifact, with its version and bucket."""

    version: entities.Version
    build: entities.Build
    bucket: entities.Bucket


def producers(external_id: str, platform: str | None, region: str | None, limit: int,
              token: str | None) -> tuple[list[Producer], str | None]:
    """A page of the builds that made an artifact (HCP's SearchExternalArtifact), from the
    index `lookup` reads, by bucket and version: its entries (one Query), then their versions,
    buckets and builds (one BatchGetItem per 100 items). `platform` and `region`, when given,
    keep the builds of that platform (either of its names: domain/platforms) whose artifact is
    in that region; the page may then be short, its token still set. An entry whose version is
    gone is left out."""
    entries, next_token = storage.versions.artifact_page(external_id, token, limit)
    found = storage.versions.produced(entries)
    wanted = canonical(platform.lower()) if platform else None
    matches = []
    for entry in entries:
        version = found.versions.get((entry.bucket, entry.number))
        build = found.builds.get((entry.bucket, entry.number, entry.build_id))
        bucket = found.buckets.get(entry.bucket)
        if not (version and build and bucket) or (wanted and canonical(build.platform.lower()) != wanted):
            continue
        if region and not any(a["external_id"] == external_id and a.get("region") == region for a in build.artifacts):
            continue
        matches.append(Producer(version, build, bucket))
    return matches, next_token


def check_body(body: Any, see_restricted: bool = True) -> ComplianceCheck:
    """`{"artifacts": [...]}` or a Terraform plan (`terraform show -json`) → check()."""
    try:
        ids = plans.artifact_ids_from_request(body)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    return check(ids, see_restricted)


def check(ids: list[str], see_restricted: bool = True) -> ComplianceCheck:
    """A verdict per artifact ID and an overall pass/fail: one BatchGet per 100 IDs of their
    newest producers, one of the versions and buckets (per 100), one per ancestry level walked
    up (only for versions otherwise `ok`), and for a viewer one of the channels its messages
    would name. An ID with no newest-producer item (unknown, or recorded before they were
    written) or naming a version that is gone costs a Query of its index entries more."""
    newest = {i: m for i, m in storage.versions.newest_producers(list(dict.fromkeys(ids))).items() if visible(m.bucket)}
    versions, buckets = storage.versions.with_buckets(sorted({(m.bucket, m.number) for m in newest.values()}))
    for external_id in [i for i in dict.fromkeys(ids)
                        if i not in newest or (newest[i].bucket, newest[i].number) not in versions]:
        match = _newest_match(external_id)
        if match:
            newest[external_id] = match
        else:
            newest.pop(external_id, None)
    missing = sorted({(m.bucket, m.number) for m in newest.values()} - set(versions))
    if missing:
        more_versions, more_buckets = storage.versions.with_buckets(missing)
        versions.update(more_versions)
        buckets.update(more_buckets)
    current = [v for v in versions.values() if v.status != VersionStatus.REVOKED and not _newer(v, buckets)
               and v.ancestry_status not in ancestry.STALE_STATUSES]
    inherited = ancestry.stale_ancestry(current)
    named = findings.channels_in([*inherited.values(),
                                  *(f for v in versions.values() for f in v.ancestry_findings or [])])
    shown = findings.visibility(named | {(b, LATEST) for b in buckets}, see_restricted)
    results = [_verdict(i, newest.get(i), versions, buckets, inherited, shown) for i in ids]
    counts = {v: sum(r["verdict"] == v for r in results) for v in Verdict}
    return ComplianceCheck.model_validate({"passed": counts[Verdict.REVOKED] == 0, "counts": counts,
                                           "results": results})


def _messages(version: entities.Version, shown: findings.Shown) -> list[str]:
    return findings.stored_messages(version.ancestry_findings, version.ancestry_messages, shown)


def _newer(version: entities.Version, buckets: dict[str, entities.Bucket]) -> str | None:
    """The bucket's latest version when it is newer than this one."""
    bucket = buckets.get(version.bucket)
    latest = bucket.latest_version if bucket else None
    return latest if latest and int(latest[1:]) > version.number else None


def _verdict(external_id: str, match: entities.ArtifactEntry | None,
             versions: dict[tuple[str, int], entities.Version], buckets: dict[str, entities.Bucket],
             inherited: dict[tuple[str, int], findings.Finding], shown: findings.Shown) -> dict[str, Any]:
    version = versions.get((match.bucket, match.number)) if match else None
    if not version:
        return {"artifact": external_id, "verdict": Verdict.UNKNOWN, "message": "the registry has no record of it"}
    bucket, name = version.bucket, version.name
    where = {"artifact": external_id, "bucket": bucket, "version": name}
    if version.status == VersionStatus.REVOKED:
        reason = (version.revocation or {}).get("reason")
        return {**where, "verdict": Verdict.REVOKED, "message": f"{bucket} {name} is revoked: {reason}"}
    latest = _newer(version, buckets)
    if latest:
        newer = f"a newer version, {latest}; this is {name}" if shown(bucket, LATEST) \
            else f"a newer version than {name}"
        return {**where, "verdict": Verdict.OUT_OF_DATE, "message": f"{bucket} has {newer}"}
    if version.ancestry_status in ancestry.STALE_STATUSES:
        return {**where, "verdict": Verdict.OUT_OF_DATE,
                "message": "; ".join(_messages(version, shown))
                or f"its ancestry is {version.ancestry_status.replace('_', ' ')}"}
    walked = inherited.get((bucket, version.number))
    if walked:
        return {**where, "verdict": Verdict.OUT_OF_DATE, "message": findings.sentence(walked, shown)}
    return {**where, "verdict": Verdict.OK, "message": f"{bucket} {name} is current"}


def _versions(matches: list[entities.ArtifactEntry]) -> dict[tuple[str, int], entities.Version]:
    return {v.ref(): v for v in storage.versions.versions([(m.bucket, m.number) for m in matches])}
