"""Publishing through the HCP API: a version that `packer build` creates build by build.

The sequence Packer drives (HCP-API-COMPAT.md §2.2): create the version (a *draft*: number
0, named `v0`, running), create one build per source (`unset`), move each to `running`
(again every 2 minutes as a heartbeat), then `done` with its artifacts, or `failed` or
`cancelled`. Packer never asks for completion: the update that makes the last build done
completes the version in the same request, through the same recording as an ingested
manifest (recording.py): the next gapless `vN`, `active` (or revoked on arrival when a
parent is), `latest` moved, parents linked, audit and EventBridge events.

Exactly once, under concurrency: the draft counts its builds and the builds done, and every
update of a build's status to done is conditioned on those counts as read (and on the
build as read), so two builds reported done at once are serialised: one counts, the other
re-reads and completes. The completing transaction deletes the draft under the same
conditions, so of two concurrent completions one fails and finds the version recorded.

Parents come from the ids Packer sends (`parent_version_id`, `parent_channel_id`: what its
`hcp-packer-artifact` / `hcp-packer-version` data sources read at build time), so nothing
is guessed from upload times; a build without them but with `source_external_identifier`
is linked through the artifact index as a manifest's would be.

Choices where the specification is silent: a build of a complete version cannot change
(gRPC 9), except that repeating `done` answers the build as it is; a draft never expires
(no heartbeat timeout: a late `done` still completes it; one quiet for a day is listed as
abandoned, and deleted only on request: services/drafts.py); an SBOM is stored compressed, as
sent, in the manifest bucket under `_registry/sboms/` (ingestion skips that prefix) and is
accepted only while its build is running; it is not read (Python has no zstd without a
native package in the Lambda bundle), so an SBOM without packages is not refused as HCP
Packer refuses it.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
from typing import TYPE_CHECKING, Any, Iterable

from botocore.exceptions import ClientError

from . import audit, buckets, duplicates, recording
from .. import storage
from ..domain import builds as rules, ids
from ..domain.builds import BuildChange, Refusal
from ..domain.enums import BuildStatus, SweepWork, TemplateType, VersionStatus
from ..domain.manifest import RESERVED_PREFIX, ParsedBuild, ParsedRun
from ..domain.models import Artifact, ParentHint
from ..domain.platforms import identifies
from ..errors import AlreadyExists, BadRequest, Conflict, NotFound, RegistryError
from ..runtime import aws
from ..runtime.clock import now_iso
from ..storage import entities
from ..runtime.observability import logger
from .retry import retrying

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

SBOM_PREFIX = f"{RESERVED_PREFIX}sboms/"
MAX_SBOM_BYTES = 4 * 1024 * 1024  # compressed: base64 of it must fit Lambda's 6 MB request payload
SBOM_FORMATS = ("CYCLONEDX", "SPDX")


# ---- reads ------------------------------------------------------------------------------

def get_version(bucket: str, fingerprint: str) -> tuple[entities.Version, list[entities.Build]]:
    """The version with this fingerprint (a draft, number 0 and named `v0`, while its builds
    run; then the numbered one) and its builds: the fingerprint's GetItem, then one Query.
    NotFound when there is none."""
    number = storage.versions.fingerprint_number(bucket, fingerprint)
    if number is not None:
        version, found = storage.versions.with_builds(bucket, number)
        if version:
            return version, list(found)
    draft, drafted = storage.drafts.with_builds(bucket, fingerprint)
    if draft:
        return draft, list(drafted)
    raise NotFound(f"Version with fingerprint {fingerprint} not found")


def list_builds(bucket: str, fingerprint: str) -> list[entities.Build]:
    return sorted(get_version(bucket, fingerprint)[1], key=lambda b: (b.created_at, b.id))


Built = tuple[entities.Version, entities.Build]  # a build and its version (whose id it carries)


def get_build(bucket: str, fingerprint: str, build_id: str) -> Built:
    version, found = get_version(bucket, fingerprint)
    return version, _find(found, build_id, fingerprint)


def _find(found: list[entities.Build], build_id: str, fingerprint: str) -> entities.Build:
    for build in found:
        if build.id == build_id:
            return build
    raise NotFound(f"Build with id {build_id} not found in the version with fingerprint {fingerprint}")


# ---- the draft --------------------------------------------------------------------------

def create_version(bucket: str, fingerprint: str, template_type: TemplateType, actor: str) -> entities.Version:
    """A new draft. NotFound without the bucket; AlreadyExists when the fingerprint has a
    version (running or complete); BadRequest for a fingerprint HCP refuses."""
    if not rules.FINGERPRINT.fullmatch(fingerprint):
        raise BadRequest(f"fingerprint {fingerprint[:80]!r} is not valid: 1 to 40 of A-Z a-z 0-9 . _ -, "
                         "beginning and ending with a letter or digit")
    buckets.require(bucket)
    now = now_iso()
    draft = entities.Draft(bucket=bucket, number=0, name="v0", fingerprint=fingerprint, status=VersionStatus.RUNNING,
                           id=ids.new(), template_type=template_type, author=actor, created_at=now, updated_at=now)

    def attempt() -> None:
        try:  # noted for the sweep and the report: the drafts index may hold something (domain/sweep_work.py)
            audit.commit([*storage.drafts.create(draft), storage.sweep.note_work(SweepWork.DRAFTS, now),
                          audit.event_action(bucket, "version.started", fingerprint, actor,
                                             after={"id": draft.id, "template_type": template_type})])
        except storage.ConditionFailed:
            if storage.drafts.draft(bucket, fingerprint) \
                    or storage.versions.fingerprint_number(bucket, fingerprint) is not None:
                raise AlreadyExists(f"Version with fingerprint {fingerprint} already exists") from None
            raise  # a conflict with another transaction on the counts item: try again

    retrying(attempt, what=f"creating version {fingerprint}")
    return draft


# ---- builds -----------------------------------------------------------------------------

def create_build(bucket: str, fingerprint: str, change: BuildChange, actor: str) -> Built:
    """A new build of a draft, one per component: AlreadyExists when the version has one;
    Conflict (gRPC 9) when the version is complete. A build created `done` is created, then
    updated, as two requests would."""
    component = (change.component_type or "").strip()
    if not component:
        raise BadRequest("component_type is required (the Packer source, e.g. amazon-ebs.ubuntu)")
    if change.source_external_identifier and not change.parent_version_id:
        raise BadRequest("source_external_identifier needs parent_version_id when a build is created "
                         "(send it with the build's update to done instead)")
    first = dataclasses.replace(change, status=None if change.status == BuildStatus.DONE else change.status,
                                artifacts=None if change.status == BuildStatus.DONE else change.artifacts)
    created = retrying(lambda: _create_build(bucket, fingerprint, component, first, actor),
                       what=f"creating build {component!r}")
    if change.status == BuildStatus.DONE:
        return update_build(bucket, fingerprint, created[1].id, change, actor)
    return created


def _create_build(bucket: str, fingerprint: str, component: str, change: BuildChange, actor: str) -> Built:
    draft = _draft(bucket, fingerprint)[0]
    if component in draft.components:
        raise AlreadyExists(f"The version with fingerprint {fingerprint} has a build of {component} already")
    now = now_iso()
    builder_type, name = rules.split_component(component)
    build = entities.DraftBuild(bucket=bucket, number=0, fingerprint=fingerprint, id=ids.new(),
                                component_type=component, name=name, builder_type=builder_type, platform="",
                                created_at=now, updated_at=now, status=BuildStatus.UNSET)
    build = dataclasses.replace(build, **_merged(build, change, now))
    storage.transact(storage.drafts.add_build(draft, build))
    return draft, build


def update_build(bucket: str, fingerprint: str, build_id: str, change: BuildChange, actor: str) -> Built:
    """Merge the change; the last build to become done completes the version in this call."""
    return retrying(lambda: _update_build(bucket, fingerprint, build_id, change, actor),
                    what=f"updating build {build_id}")


def _update_build(bucket: str, fingerprint: str, build_id: str, change: BuildChange, actor: str) -> Built:
    draft, drafted = storage.drafts.with_builds(bucket, fingerprint)
    if not draft:
        version, recorded = get_version(bucket, fingerprint)  # NotFound when there is none
        build = _find(recorded, build_id, fingerprint)
        if change.status in (None, BuildStatus.DONE) and not _changes_anything(change):
            return version, build  # a repeated `done` (a retried request): the build as it is
        raise Conflict(f"This version is complete ({version.name}): its builds cannot change")
    build = _find(list(drafted), build_id, fingerprint)
    assert isinstance(build, entities.DraftBuild)
    if build.status == BuildStatus.DONE and change.status in (None, BuildStatus.DONE) \
            and not _changes_anything(change):
        return draft, build
    now = now_iso()
    fields = _merged(build, change, now)
    after = dataclasses.replace(build, **fields)
    if rules.completes(draft.build_count, draft.done_builds, build.status, after.status):
        _complete(draft, drafted, build, after, actor)
        return draft, after  # the draft's id is the recorded version's
    actions = [storage.drafts.update_build(build, fields)]
    if after.status == BuildStatus.DONE and build.status != BuildStatus.DONE:
        actions.append(storage.drafts.count_done(draft, now))
    else:  # a status change or a heartbeat: the draft is not abandoned (services/drafts.py)
        actions.append(storage.drafts.touch(draft, now))
    storage.transact(actions)
    return draft, after


def _changes_anything(change: BuildChange) -> bool:
    """Whether an update carries more than a status (artifacts, labels, parents...)."""
    return any(getattr(change, f.name) for f in dataclasses.fields(change) if f.name not in ("status", "unknown"))


def _draft(bucket: str, fingerprint: str) -> tuple[entities.Draft, list[entities.DraftBuild]]:
    """The draft and its builds; Conflict when the version is complete, NotFound when none."""
    draft, drafted = storage.drafts.with_builds(bucket, fingerprint)
    if draft:
        return draft, drafted
    if storage.versions.fingerprint_number(bucket, fingerprint) is not None:
        raise Conflict(f"This version (fingerprint {fingerprint}) is complete: it takes no more builds")
    raise NotFound(f"Version with fingerprint {fingerprint} not found")


def _merged(build: entities.Build, change: BuildChange, now: str) -> dict[str, Any]:
    try:
        return rules.merged(build.attributes(), change, now)
    except Refusal as refusal:
        raise _REFUSALS[refusal.kind](refusal.message) from None


class ParentAlreadySet(AlreadyExists):
    """A build's parent id set again to another value: gRPC 6, which HCP Packer was seen
    answering with HTTP 400 (HCP-API-COMPAT.md §8), not grpc-gateway's 409."""

    hcp_status = 400


_REFUSALS: dict[str, type[RegistryError]] = {"invalid": BadRequest, "exists": AlreadyExists,
                                             "parent": ParentAlreadySet, "state": Conflict}


# ---- completion -------------------------------------------------------------------------

def _complete(draft: entities.Draft, drafted: list[entities.DraftBuild], build: entities.DraftBuild,
              after: entities.DraftBuild, actor: str) -> None:
    """Record the draft as a numbered version and delete it, in one transaction conditioned
    on the draft and its builds as read (recording.record_draft); or, when a version of the
    bucket already holds every artifact of it (its manifest came first), complete it into
    that version (duplicates.record_draft): Packer's build succeeds either way."""
    final = [after if b.id == build.id else b for b in drafted]
    unresolved: list[dict[str, object]] = []
    parsed = [_parsed(b, unresolved) for b in sorted(final, key=lambda b: (b.created_at, b.id))]
    run = ParsedRun(draft.bucket, draft.fingerprint, None, parsed, version_id=draft.id,
                    template_type=draft.template_type, author=draft.author, unresolved=unresolved)
    seen = duplicates.look(run)  # the bucket item with what the duplicate check needs, in one BatchGet
    bucket = buckets.existing(draft.bucket, seen.bucket)
    finishing = storage.drafts.finish(draft, drafted, build)
    held = duplicates.holder(run, seen)
    if held:
        duplicates.record_draft(held, draft.fingerprint, finishing, actor)
        return
    try:
        recording.record_draft(run, bucket, actor, finishing + duplicates.claims(run, seen))
    except recording.RunRefused as refused:
        raise BadRequest(f"the version cannot be recorded: {refused}") from None


def _parsed(build: entities.Build, unresolved: list[dict[str, object]]) -> ParsedBuild:
    """A draft's build as recording takes it: its HCP fields kept as they are."""
    artifacts = [Artifact(external_id=a["external_id"], region=a.get("region")) for a in build.artifacts]
    return ParsedBuild(
        id=build.id, name=build.name, builder_type=build.builder_type, platform=build.platform,
        labels=dict(build.labels), packer_run_uuid=build.packer_run_uuid, build_time=build.updated_at,
        source_artifact=build.source_artifact, artifacts=artifacts,
        indexed_ids=sorted({a.external_id for a in artifacts if identifies(build.platform, a.external_id)}),
        parent=_parent(build, unresolved),
        extra={"created_at": build.created_at, "updated_at": build.updated_at, "metadata": build.metadata,
               "parent_version_id": build.parent_version_id, "parent_channel_id": build.parent_channel_id,
               "sboms": build.sboms})


def _parent(build: entities.Build, unresolved: list[dict[str, object]]) -> ParentHint | None:
    """The parent a build names by id, as bucket, version name and channel name; an id that
    names nothing (yet) is kept as an unresolved hint."""
    if not build.parent_version_id:
        return None
    ref = storage.drafts.version_ref(build.parent_version_id)
    number = storage.versions.fingerprint_number(ref.bucket, ref.fingerprint) if ref else None
    if not ref or number is None:
        unresolved.append({"version_id": build.parent_version_id,
                           "reason": f"no complete version with id {build.parent_version_id!r} in the registry"})
        return None
    channel = None
    if build.parent_channel_id:
        channel = next((c.name for c in storage.channels.of_bucket(ref.bucket)
                        if ids.channel_id(ref.bucket, c.name, c.created_at) == build.parent_channel_id), None)
    return ParentHint(bucket=ref.bucket, version=f"v{number}", channel=channel,
                      source_artifact=build.source_artifact)


# ---- SBOMs ------------------------------------------------------------------------------

def manifest_bucket() -> str:
    return os.environ.get("MANIFEST_BUCKET", "packer-manifests")


def sbom_prefix(bucket: str, fingerprint: str, build_id: str) -> str:
    """Where a build's SBOMs are stored in the manifest bucket."""
    return f"{SBOM_PREFIX}{bucket}/{fingerprint}/{build_id}/"


def delete_sboms(bucket: str, fingerprint: str, builds: Iterable[entities.Build]) -> None:
    """Delete the SBOM objects of a deleted version's (or draft's) builds: per build that
    names any, one S3 listing of its prefix and one S3 delete (ingested builds have none)."""
    for build in builds:
        if build.sboms:
            _delete_objects(sbom_prefix(bucket, fingerprint, build.id))


def delete_bucket_sboms(bucket: str) -> None:
    """Delete the SBOM objects of every build of a deleted bucket: one S3 listing and one S3
    delete per 1,000 objects under the bucket's prefix."""
    _delete_objects(f"{SBOM_PREFIX}{bucket}/")


def _delete_objects(prefix: str) -> None:
    """Delete every object under `prefix`, every version of it (the manifest bucket is
    versioned on AWS). Run once the version is gone, so a failure cannot be retried through
    the API: it is logged with the prefix left, never raised."""
    s3, bucket = aws.client("s3"), manifest_bucket()
    try:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
            doomed: list[ObjectIdentifierTypeDef] = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                                                     for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]]
            if doomed:
                failed = s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True}).get("Errors")
                if failed:
                    logger.error("SBOM objects not deleted", extra={"prefix": prefix, "errors": failed[:10]})
    except ClientError as exc:
        logger.error("SBOM objects not deleted", extra={"prefix": prefix, "error": str(exc)})


def upload_sbom(bucket: str, fingerprint: str, build_id: str, name: str | None, sbom_format: str,
                compressed: str, actor: str) -> None:
    """Store an SBOM (zstd-compressed, base64, as Packer's hcp-sbom provisioner sends it) in
    the manifest bucket and name it on its build; only while the build is running."""
    if sbom_format not in SBOM_FORMATS:
        raise BadRequest(f"format must be one of {', '.join(SBOM_FORMATS)}, not {sbom_format!r}")
    try:
        body = base64.b64decode(compressed, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("compressed_sbom is not base64") from None
    if not body:
        raise BadRequest("compressed_sbom is empty")
    if len(body) > MAX_SBOM_BYTES:
        raise BadRequest(f"the SBOM is {len(body)} bytes compressed; the limit is {MAX_SBOM_BYTES} "
                         "(an API Gateway request to Lambda carries at most 6 MB)")
    name = name or ids.new()
    if not rules.FINGERPRINT.fullmatch(name):
        raise BadRequest(f"SBOM name {name[:80]!r} is not valid: 1 to 40 of A-Z a-z 0-9 . _ -")
    key = f"{sbom_prefix(bucket, fingerprint, build_id)}{name}.{sbom_format.lower()}.json.zst"

    def attempt() -> None:
        build = _find(list(_draft(bucket, fingerprint)[1]), build_id, fingerprint)
        assert isinstance(build, entities.DraftBuild)
        if build.status != BuildStatus.RUNNING:
            raise BadRequest(f"an SBOM is taken only while its build is running; this one is {build.status.value}")
        aws.client("s3").put_object(Bucket=manifest_bucket(), Key=key, Body=body,
                                    Metadata={"format": sbom_format, "name": name})
        sboms = [s for s in build.sboms or [] if s.get("name") != name]
        sboms.append({"name": name, "format": sbom_format, "key": key, "size": len(body)})
        storage.transact([storage.drafts.update_build(build, {"sboms": sboms, "updated_at": build.updated_at})])

    try:
        retrying(attempt, what=f"recording an SBOM of build {build_id}")
    except NotFound:  # the draft was deleted, perhaps after the object was put: nothing names it now
        _delete_objects(key)
        raise
