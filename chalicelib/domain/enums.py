"""The registry's status and role names, each set defined once.

`StrEnum`s: a member *is* its string, so it compares equal to what DynamoDB items and JSON
bodies hold (`item["status"] == VersionStatus.REVOKED`), is stored and serialised as that
string, and pydantic models (models.py) and the OpenAPI document take their allowed values
from here. Plain Python, no pydantic: the consumer query and the role check import it.
"""

from __future__ import annotations

from enum import StrEnum


class VersionStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"
    REVOCATION_SCHEDULED = "revocation_scheduled"
    RUNNING = "running"  # still being written (several transactions) or built: never served


class BuildStatus(StrEnum):
    """A build's state while its version is published through the HCP API (a recorded
    version's builds are all `done`); the HCP API writes them as `BUILD_<NAME>`."""

    UNSET = "unset"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class TemplateType(StrEnum):
    """The kind of Packer template a version was built from (HCP's names)."""

    UNSET = "TEMPLATE_TYPE_UNSET"
    HCL2 = "HCL2"
    JSON = "JSON"


class IngestionStatus(StrEnum):
    ACCEPTED = "accepted"  # every build recorded
    PARTIAL = "partial"  # some builds recorded, some rejected
    REJECTED = "rejected"  # nothing recorded
    DUPLICATE = "duplicate"  # nothing new: a version already held every run (domain/duplicates.py)


class Role(StrEnum):
    """Each role includes the ones before it (access.allows). `none`: a project role that
    grants nothing, for a credential whose access is only its bucket bindings (domain/access.py)."""

    NONE = "none"
    VIEWER = "viewer"
    CONTRIBUTOR = "contributor"
    ADMIN = "admin"


class BucketRole(StrEnum):
    """What a bucket binding may grant (HCP Packer's `roles/viewer`, …): the roles above `none`."""

    VIEWER = Role.VIEWER.value
    CONTRIBUTOR = Role.CONTRIBUTOR.value
    ADMIN = Role.ADMIN.value


class AncestryStatus(StrEnum):
    """A parent link's status, HCP Packer's names plus `parent_revoked` (the parent is revoked
    but this version was spared); a version's status is its worst link (ancestry.SEVERITY)."""

    UP_TO_DATE = "up_to_date"
    OUT_OF_DATE = "out_of_date"
    UNDETERMINED = "undetermined"
    PARENT_REVOKED = "parent_revoked"


class RevocationType(StrEnum):
    DIRECT = "direct"  # revoked by a request or a schedule
    INHERITED = "inherited"  # revoked because an ancestor was (`inherited_from`)


class HistoryCause(StrEnum):
    """Why a channel moved (its history entries' `cause`)."""

    ASSIGN = "assign"
    UNASSIGN = "unassign"
    ROLLBACK = "rollback"
    INGEST = "ingest"
    REVOKE = "revoke"
    RESTORE = "restore"
    DELETE = "delete"
    CREATE = "create"


class FoundBy(StrEnum):
    """How a parent link was found; `unresolved` for a hint that matched nothing."""

    PARENT_VERSION = "parent_version"
    PARENT_CHANNEL = "parent_channel"
    SOURCE_ARTIFACT = "source_artifact"
    UNRESOLVED = "unresolved"


class ResolvedAt(StrEnum):
    """How a `parent_channel` hint was resolved: through the channel's history at the build
    time, or as the channel was when the version was recorded."""

    BUILD_TIME = "build_time"
    UPLOAD = "upload"


class Verdict(StrEnum):
    """`POST /compliance/check`'s answer for one artifact (artifacts.py)."""

    OK = "ok"
    OUT_OF_DATE = "out_of_date"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


class AuditAction(StrEnum):
    """Every `action` an audit event may have: what a webhook subscribes to (its `events`).

    A new kind of event is added here too (tests/unit/test_webhook_rules.py checks that
    every action the services write is listed)."""

    BUCKET_CREATED = "bucket.created"
    BUCKET_UPDATED = "bucket.updated"
    BUCKET_DELETED = "bucket.deleted"
    BUCKET_ACCESS_UPDATED = "bucket.access_updated"  # its bindings (domain/access.py)
    VERSION_CREATED = "version.created"
    VERSION_STARTED = "version.started"
    VERSION_BUILDS_ADDED = "version.builds_added"
    VERSION_PARENTS_RESOLVED = "version.parents_resolved"
    VERSION_REVOKED = "version.revoked"
    VERSION_REVOCATION_SCHEDULED = "version.revocation_scheduled"
    VERSION_RESTORED = "version.restored"
    VERSION_DELETED = "version.deleted"
    VERSION_DUPLICATE = "version.duplicate"  # an HCP publish recorded against the version holding its artifacts
    BUILD_DELETED = "build.deleted"  # a draft's build, through the HCP API's DeleteBuild
    CHANNEL_CREATED = "channel.created"
    CHANNEL_UPDATED = "channel.updated"
    CHANNEL_DELETED = "channel.deleted"
    CHANNEL_ASSIGNED = "channel.assigned"
    CHANNEL_UNASSIGNED = "channel.unassigned"
    CHANNEL_ROLLED_BACK = "channel.rolled_back"
    CHANNEL_REPAIRED = "channel.repaired"
    DESCENDANT_OUTDATED = "descendant.outdated"
    DESCENDANT_PARENT_REVOKED = "descendant.parent_revoked"
    DESCENDANT_UNDETERMINED = "descendant.undetermined"
    DESCENDANT_UP_TO_DATE = "descendant.up_to_date"
    INGESTION_ACCEPTED = "ingestion.accepted"
    INGESTION_PARTIAL = "ingestion.partial"
    INGESTION_REJECTED = "ingestion.rejected"
    INGESTION_DUPLICATE = "ingestion.duplicate"
    TOKEN_CREATED = "token.created"
    TOKEN_DELETED = "token.deleted"
    SERVICE_PRINCIPAL_CREATED = "service_principal.created"
    SERVICE_PRINCIPAL_DELETED = "service_principal.deleted"
    RUNTASK_HMAC_REGENERATED = "runtask.hmac_regenerated"
    RUNTASK_CONFIG_UPDATED = "runtask.config_updated"  # what the run task does with untracked images
    REGISTRY_CREATED = "registry.created"  # the HCP registry, again after its deletion
    REGISTRY_UPDATED = "registry.updated"  # its tier, or (de)activation
    REGISTRY_DELETED = "registry.deleted"
    WEBHOOK_CREATED = "webhook.created"
    WEBHOOK_DELETED = "webhook.deleted"
    WEBHOOK_DISABLED = "webhook.disabled"
    REVOCATION_JOB_CREATED = "revocation_job.created"
    REVOCATION_JOB_FINISHED = "revocation_job.finished"
    RETENTION_SET = "retention.set"
    RETENTION_REMOVED = "retention.removed"
    ENFORCED_BLOCK_CREATED = "enforced_block.created"
    ENFORCED_BLOCK_UPDATED = "enforced_block.updated"
    ENFORCED_BLOCK_DELETED = "enforced_block.deleted"
    ENFORCED_BLOCK_VERSION_CREATED = "enforced_block.version_created"
    ENFORCED_BLOCK_VERSION_UPDATED = "enforced_block.version_updated"
    ENFORCED_BLOCK_VERSION_DELETED = "enforced_block.version_deleted"
    ENFORCED_BLOCK_LINKED = "enforced_block.linked"  # in the bucket's trail
    ENFORCED_BLOCK_UNLINKED = "enforced_block.unlinked"  # in the bucket's trail


class RegistryState(StrEnum):
    """The HCP registry's state (services/registry.py)."""

    ACTIVE = "active"
    DEACTIVATED = "deactivated"  # takes no new buckets or versions through the HCP API
    DELETED = "deleted"  # as deactivated, and answers 404 until it is created again


class JobStatus(StrEnum):
    """A bulk revocation job's state (services/revocations.py)."""

    PENDING = "pending"  # created, nothing applied yet
    RUNNING = "running"  # some batches applied, more to come
    DONE = "done"  # every matching version handled


class SkipReason(StrEnum):
    """Why a bulk revocation left a version it selected as it was."""

    ALREADY_REVOKED = "already_revoked"
    RUNNING = "running"  # still being built (a numbered running version, or an HCP draft)
    NOT_FOUND = "not_found"  # deleted since an index named it


class SweepWork(StrEnum):
    """Work the sweep finds through a sparse index, noted on the counts item by the change
    that creates it (domain/sweep_work.py says when the sweep may skip reading the index)."""

    SCHEDULED = "scheduled"  # a revocation scheduled for later
    JOBS = "jobs"  # a bulk revocation job still pending
    RETENTION = "retention"  # a bucket's retention policy
    EXPOSED = "exposed"  # a channel left holding a revoked version
    UNTRACKED = "untracked"  # a version whose source artifacts are not (yet) in the registry
    DRAFTS = "drafts"  # a version started through the HCP API (the report lists the abandoned ones)
    VULNS = "vulns"  # purls of an SBOM to check, a bucket whose vulnerability summary is to be made again
