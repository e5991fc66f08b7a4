"""Pydantic models at the edges: HTTP request bodies and the JSON the API returns."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from .names import (  # noqa: F401 - re-exported: the name rules live in names.py
    BUCKET_NAME_PATTERN,
    CHANNEL_NAME_PATTERN,
    FINGERPRINT_PATTERN,
    VERSION_NAME,
    VERSION_REF_PATTERN,
)

BucketName = Annotated[str, StringConstraints(pattern=BUCKET_NAME_PATTERN)]
# Caps on what a request may store: a bucket item and the audit event that carries its
# labels twice (before and after) stay far below DynamoDB's 400 KB (50 x 384 characters is
# about 19 KB a copy).
MAX_LABELS, MAX_LABEL_KEY, MAX_LABEL_VALUE, MAX_DESCRIPTION = 50, 128, 256, 1024


MAX_PREFIXES, MAX_PREFIX = 20, 256


def _at_most(limit: int, what: str) -> BeforeValidator:
    """The count first: 500 labels are one problem, not 500 (pydantic counts after the items)."""
    def check(value: Any) -> Any:
        if isinstance(value, (dict, list)) and len(value) > limit:
            raise ValueError(f"at most {limit} {what}, not {len(value)}")
        return value
    return BeforeValidator(check)


LabelMap = Annotated[dict[Annotated[str, StringConstraints(min_length=1, max_length=MAX_LABEL_KEY)],
                          Annotated[str, StringConstraints(max_length=MAX_LABEL_VALUE)]],
                     Field(max_length=MAX_LABELS), _at_most(MAX_LABELS, "labels")]
# S3 key prefixes a bucket accepts manifests from (buckets.check_manifest_key); empty: any key.
ManifestPrefixes = Annotated[list[Annotated[str, StringConstraints(min_length=1, max_length=MAX_PREFIX)]],
                             Field(max_length=MAX_PREFIXES), _at_most(MAX_PREFIXES, "manifest_prefixes")]
Description = Annotated[str, StringConstraints(max_length=MAX_DESCRIPTION)]
VersionRef = Annotated[str, StringConstraints(pattern=VERSION_REF_PATTERN)]  # `v3` or a fingerprint
Moment = Annotated[str, StringConstraints(max_length=64)]  # a time or a duration, parsed later

VersionStatus = Literal["active", "revoked", "revocation_scheduled", "running"]
IngestionStatus = Literal["accepted", "partial", "rejected"]


class Body(BaseModel):
    """A request body: unknown fields are an error, not silently dropped, and types are
    strict (a boolean is `true` or `false`, never `"true"`, `1` or `"yes"`)."""

    model_config = ConfigDict(extra="forbid", strict=True, regex_engine="python-re")  # names.py uses look-ahead


class CreateBucket(Body):
    name: BucketName
    description: Description = ""
    labels: LabelMap = Field(default_factory=dict)
    manifest_prefixes: ManifestPrefixes = Field(default_factory=list)


class UpdateBucket(Body):
    """PATCH: absent (or null) fields are left as they are; `manifest_prefixes: []` lifts the rule."""

    description: Description | None = None
    labels: LabelMap | None = None
    manifest_prefixes: ManifestPrefixes | None = None


class Artifact(BaseModel):
    external_id: str
    region: str | None = None


# What a build keeps of its manifest's `files` (manifest.kept_files applies it): a build item
# and each channel's copy of its artifacts stay far below DynamoDB's 400 KB item limit.
MAX_FILES = 100  # files per build
MAX_FILE_NAME = 1024  # characters of one name
MAX_FILE_NAMES = 16 * 1024  # characters of names per build, all files together
FILES = (f"the manifest's `files` (what local builders such as qemu, vmware-iso, virtualbox produce), in its order: "
         f"at most {MAX_FILES} and {MAX_FILE_NAMES:,} characters of names per build, "
         f"a name cut at {MAX_FILE_NAME:,} characters")
FILE_COUNT = "how many files the manifest listed: more than the length of `files` means the list was cut"


class BuildFile(BaseModel):
    """A file a build produced (a qemu disk, an OVF, a Vagrant box), as Packer's manifest lists it."""

    name: str
    size: int | None = None  # bytes; null when the manifest does not say


class Build(BaseModel):
    id: str
    component_type: str
    name: str
    builder_type: str
    platform: str
    status: Literal["DONE"] = "DONE"
    labels: dict[str, str] = Field(default_factory=dict)
    packer_run_uuid: str | None = None
    build_time: str | None = None
    source_artifact: str | None = None
    artifacts: list[Artifact] = Field(default_factory=list)
    files: list[BuildFile] = Field(default_factory=list, description=FILES)
    file_count: int = Field(0, description=FILE_COUNT)
    created_at: str


class ParentHint(BaseModel):
    """What a manifest says about a version's parent; resolved by the ancestry logic."""

    bucket: str | None = None
    channel: str | None = None
    version: str | None = None
    source_artifact: str | None = None


AncestryStatus = Literal["up_to_date", "out_of_date", "undetermined", "parent_revoked"]


class ParentLink(BaseModel):
    """A resolved parent: which version, taken from which channel (if any), found how; for a
    `parent_channel` hint, whether through the channel's history at the build time or as it
    was when the version was recorded, and that in words (`resolution`). `channel` is null
    for a viewer when the channel is restricted."""

    bucket: str
    version: str
    fingerprint: str
    channel: str | None = None
    found_by: Literal["parent_version", "parent_channel", "source_artifact"]
    resolved_at: Literal["build_time", "upload"] | None = None
    resolution: str | None = None


class Version(BaseModel):
    bucket: str
    name: str
    number: int
    fingerprint: str
    status: VersionStatus = "active"
    created_at: str
    updated_at: str
    build_count: int = 0
    parent_hint: ParentHint | None = None
    parents: list[ParentLink] | None = None
    unresolved: list[dict[str, str]] | None = None
    ancestry_status: AncestryStatus | None = None
    ancestry_messages: list[str] | None = None
    revocation: "Revocation | None" = None
    builds: list[Build] | None = None


class BucketChannel(BaseModel):
    """A channel as the bucket list shows it."""

    name: str
    version: str | None = None
    version_status: VersionStatus | None = None
    restricted: bool = False


class Bucket(BaseModel):
    name: str
    description: str = ""
    labels: dict[str, str] = Field(default_factory=dict)
    created_at: str
    updated_at: str
    version_count: int = 0
    latest_version: str | None = Field(None, description="null for a viewer: `latest` is restricted")
    manifest_prefixes: list[str] = Field(default_factory=list, description=(
        "S3 key prefixes manifests for this bucket must be uploaded under; empty: any key"))
    status_counts: dict[str, int] | None = Field(None, description=(
        "versions by status (active, running, revoked, revocation_scheduled) and flagged versions by ancestry "
        "status (out_of_date, parent_revoked, undetermined); only non-zero counts. null for a bucket created "
        "before they were kept"))
    channels: list[BucketChannel] | None = Field(None, description=(
        "the bucket's channels (a viewer's without the restricted ones), by name; null for a bucket created "
        "before they were kept"))


class IngestedVersion(BaseModel):
    bucket: str
    version: str
    fingerprint: str
    builds_added: int
    created: bool


class Ingestion(BaseModel):
    id: str
    s3_bucket: str
    key: str
    etag: str
    status: IngestionStatus
    received_at: str
    reasons: list[str] = Field(default_factory=list)
    versions: list[IngestedVersion] = Field(default_factory=list)


# ---- channels ---------------------------------------------------------------------------

ChannelName = Annotated[str, StringConstraints(pattern=CHANNEL_NAME_PATTERN)]
HistoryCause = Literal["assign", "unassign", "rollback", "ingest", "revoke", "restore", "delete", "create"]


class CreateChannel(Body):
    name: ChannelName
    version: VersionRef | None = None
    restricted: bool = False
    description: Description = ""


class UpdateChannel(Body):
    """PATCH: `version` absent leaves the assignment alone; `"version": null` unassigns."""

    version: VersionRef | None = None
    restricted: bool | None = None
    description: Description | None = None


class Revocation(BaseModel):
    reason: str
    revoked_at: str | None = None
    revoke_at: str | None = None
    revoked_by: str | None = None
    revocation_type: Literal["direct", "inherited"] = "direct"
    inherited_from: str | None = None
    skip_descendants_revocation: bool = False
    disable_rollback_channels: bool = False
    cascade_pending: bool | None = None


class Channel(BaseModel):
    bucket: str
    name: str
    description: str = ""
    restricted: bool = False
    managed: bool = False
    version: str | None = None
    fingerprint: str | None = None
    version_status: VersionStatus | None = None
    revocation: Revocation | None = None
    created_at: str
    updated_at: str
    created_by: str | None = None
    updated_by: str | None = None


class HistoryEntry(BaseModel):
    channel: str
    from_version: str | None = None
    to_version: str | None = None
    at: str
    author: str
    cause: HistoryCause


class ServedArtifact(BaseModel):
    """The consumer query's answer: what a Terraform module or Packer template should use."""

    bucket: str
    channel: str
    version: str
    fingerprint: str
    build_id: str
    component_type: str
    platform: str
    region: str | None = None
    external_id: str
    labels: dict[str, str] = Field(default_factory=dict)
    build_time: str | None = None
    files: list[BuildFile] = Field(default_factory=list, description=FILES)
    file_count: int = Field(0, description=FILE_COUNT)
    created_at: str


class RevokeRequest(Body):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    revoke_at: Moment | None = None
    revoke_in: Moment | None = None
    skip_descendants_revocation: bool = False
    disable_rollback_channels: bool = False


Version.model_rebuild()


# ---- tokens -----------------------------------------------------------------------------

Role = Literal["viewer", "contributor", "admin"]


class CreateToken(Body):
    name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._@:-]{0,63}$")]
    role: Role
    expires_at: Moment | None = None


class Token(BaseModel):
    """A token as listed: never its secret."""

    id: str
    name: str
    role: Role
    created_at: str
    created_by: str | None = None
    last_used_at: str | None = None
    expires_at: str | None = None
