"""Pydantic models at the edges: HTTP request bodies and the JSON the API returns."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# A bucket name: letters, digits, '.', '_' and '-', starting with a letter or digit.
# The same rule applies to names taken from manifests and to POST /buckets.
BUCKET_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
BucketName = Annotated[str, StringConstraints(pattern=BUCKET_NAME_PATTERN)]
# A fingerprint: what a run is known by (git SHA, run UUID, explicit value); URL-safe,
# and never of the form `vN`, which names a version.
FINGERPRINT_PATTERN = r"^(?!v[0-9]+$)[A-Za-z0-9._:+=@-]{1,128}$"
VERSION_NAME = re.compile(r"^v([1-9][0-9]{0,8})$")
LabelMap = dict[Annotated[str, StringConstraints(min_length=1, max_length=128)], Annotated[str, StringConstraints(max_length=1024)]]

VersionStatus = Literal["active", "revoked", "revocation_scheduled"]
IngestionStatus = Literal["accepted", "partial", "rejected"]


class Body(BaseModel):
    """A request body: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class CreateBucket(Body):
    name: BucketName
    description: Annotated[str, StringConstraints(max_length=1024)] = ""
    labels: LabelMap = Field(default_factory=dict)


class UpdateBucket(Body):
    description: Annotated[str, StringConstraints(max_length=1024)] | None = None
    labels: LabelMap | None = None


class Artifact(BaseModel):
    external_id: str
    region: str | None = None


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


class Bucket(BaseModel):
    name: str
    description: str = ""
    labels: dict[str, str] = Field(default_factory=dict)
    created_at: str
    updated_at: str
    version_count: int = 0
    latest_version: str | None = None


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

CHANNEL_NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
ChannelName = Annotated[str, StringConstraints(pattern=CHANNEL_NAME_PATTERN)]
Description = Annotated[str, StringConstraints(max_length=1024)]
HistoryCause = Literal["assign", "unassign", "rollback", "ingest", "revoke", "restore", "delete", "create"]


class CreateChannel(Body):
    name: ChannelName
    version: str | None = None
    restricted: bool = False
    description: Description = ""


class UpdateChannel(Body):
    """PATCH: `version` absent leaves the assignment alone; `"version": null` unassigns."""

    version: str | None = None
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
    created_at: str


class RevokeRequest(Body):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    revoke_at: str | None = None
    revoke_in: str | None = None
    skip_descendants_revocation: bool = False
    disable_rollback_channels: bool = False


Version.model_rebuild()


# ---- tokens -----------------------------------------------------------------------------

Role = Literal["viewer", "contributor", "admin"]


class CreateToken(Body):
    name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._@:-]{0,63}$")]
    role: Role
    expires_at: str | None = None


class Token(BaseModel):
    """A token as listed: never its secret."""

    id: str
    name: str
    role: Role
    created_at: str
    created_by: str | None = None
    last_used_at: str | None = None
    expires_at: str | None = None
