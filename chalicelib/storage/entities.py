"""Entities: one class per item type of the table, what storage returns and takes to write.

DeBrie's single-table pattern: each entity knows its own primary key (`item_key()`, built
from its fields through keys.py), its index attributes (`index()`) and how it becomes an
item (`to_item()`: its fields, None ones left out as DynamoDB stores no nulls the registry
reads, plus key and index) and comes back from one (`from_item()`: attributes it does not
know, such as key attributes or what an older release wrote, are ignored; absent optional
fields take their defaults; a field typed with a status enum gets its member).

Stdlib dataclasses, not pydantic: the consumer query reads a Channel and must not load
pydantic at cold start. Response bodies (domain/models.py) are built from these by the
services. The key method is `item_key()`, not `key()`: an ingestion has a field `key`
(the S3 object's key).
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Mapping, TypeVar

from . import keys
from ..domain.enums import (AncestryStatus, BuildStatus, HistoryCause, IngestionStatus, JobStatus, RegistryState, Role,
                            SweepWork, VersionStatus)

Item = dict[str, Any]
E = TypeVar("E", bound="Entity")
V = TypeVar("V", bound="Version")


@dataclass
class Entity:
    """What every entity shares: to_item/from_item over its dataclass fields, and the
    `__repr__` and `__eq__` a dataclass generates, written once here: every entity is declared
    `@dataclass(repr=False, eq=False)`, as compiling two generated methods for each of them
    was a tenth of the consumer query's cold start. They answer as the generated ones do."""

    def __repr__(self) -> str:
        shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in dataclasses.fields(self) if f.repr)
        return f"{type(self).__qualname__}({shown})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return _compared(self) == _compared(other)

    def item_key(self) -> keys.Key:
        raise NotImplementedError

    def index(self) -> keys.Key:
        """Index attributes written with the item (none by default)."""
        return {}

    def attributes(self) -> Item:
        """Its fields as item attributes, None ones left out (shallow: nested values shared)."""
        return {f.name: v for f in dataclasses.fields(self) if (v := getattr(self, f.name)) is not None}

    def to_item(self) -> Item:
        return {**self.attributes(), **self.item_key(), **self.index()}

    @classmethod
    def from_item(cls: type[E], item: Mapping[str, Any]) -> E:
        enums = _enum_fields(cls)  # type: ignore[arg-type]  # a class is hashable
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: (enums[k](v) if k in enums and v is not None else v) for k, v in item.items() if k in known}
        return cls(**values)


def _compared(entity: Any) -> tuple[Any, ...]:
    return tuple(getattr(entity, f.name) for f in dataclasses.fields(entity) if f.compare)


@functools.cache
def _enum_fields(cls: type) -> dict[str, type[StrEnum]]:
    """The fields of `cls` typed with a StrEnum (optional or not): converted by from_item."""
    found: dict[str, type[StrEnum]] = {}
    for name, hint in typing.get_type_hints(cls).items():
        for candidate in (hint, *typing.get_args(hint)):
            if isinstance(candidate, type) and issubclass(candidate, StrEnum):
                found[name] = candidate
    return found


# ---- credentials, ingestions, the audit trail --------------------------------------------

@dataclass(repr=False, eq=False)
class Token(Entity):
    """An API token: its secret only as a hash."""

    id: str
    name: str
    role: Role
    hash: str
    created_at: str
    created_by: str | None = None
    expires_at: str | None = None
    last_used_at: str | None = None
    # True once the token holds its name (NameClaim); None for one from before names were
    # claimed, until the sweep claims it (services/claims.py).
    name_claimed: bool | None = None
    # Its bucket bindings (bucket: role), a copy of the buckets' access policies that the
    # authorizer reads with the item; `access_rev` counts their changes (each is conditioned on it).
    buckets: dict[str, str] | None = None
    access_rev: int | None = None

    def item_key(self) -> keys.Key:
        return keys.token(self.id)

    def index(self) -> keys.Key:
        return keys.token_index(self.created_at, self.id)


@dataclass(repr=False, eq=False)
class ServicePrincipal(Entity):
    """Client credentials for the HCP-compatible API's token endpoint: the secret only as a
    hash, like a token's."""

    client_id: str
    name: str
    role: Role
    hash: str
    created_at: str
    created_by: str | None = None
    name_claimed: bool | None = None  # as a token's
    buckets: dict[str, str] | None = None  # as a token's
    access_rev: int | None = None

    def item_key(self) -> keys.Key:
        return keys.service_principal(self.client_id)

    def index(self) -> keys.Key:
        return keys.service_principal_index(self.created_at, self.client_id)


@dataclass(repr=False, eq=False)
class NameClaim(Entity):
    """A token's or service principal's name, held by one of them (`kind` "token" or
    "service principal", `holder` its id): names are unique across both kinds,
    case-insensitively (the key is the name in lower case; `name` as it was written)."""

    name: str
    kind: str
    holder: str

    def item_key(self) -> keys.Key:
        return keys.credential_name(self.name)


@dataclass(repr=False, eq=False)
class Ingestion(Entity):
    """The record of one S3 object's ingestion (`versions`: what it recorded, as the
    response's IngestedVersion objects)."""

    id: str
    s3_bucket: str
    key: str
    etag: str
    status: IngestionStatus
    received_at: str
    reasons: list[str] = field(default_factory=list)
    versions: list[dict[str, Any]] = field(default_factory=list)

    def item_key(self) -> keys.Key:
        return keys.ingestion(self.id)

    def index(self) -> keys.Key:
        return keys.ingestion_index(self.status, self.received_at, self.id)


@dataclass(repr=False, eq=False)
class Event(Entity):
    """One audit event; `bucket` None for a registry-wide one; `actor_id` who `actor` is
    (domain/actors.py; None in events recorded before it was kept)."""

    id: str
    time: str
    actor: str
    action: str
    target: str
    actor_id: str | None = None
    bucket: str | None = None
    before: Any = None
    after: Any = None
    detail: dict[str, Any] | None = None

    def item_key(self) -> keys.Key:
        return keys.event(self.bucket, self.time, self.id)


@dataclass(repr=False, eq=False)
class Webhook(Entity):
    """A webhook: where to POST the audit events it subscribes to, and the secret they are
    signed with (kept as is: the registry must compute the HMAC; services/webhooks.py says why)."""

    id: str
    url: str
    events: list[str]
    secret: str
    created_at: str
    enabled: bool = True
    buckets: list[str] = field(default_factory=list)
    created_by: str | None = None
    failing_since: str | None = None  # when the current streak of failed attempts began
    disabled_at: str | None = None

    def item_key(self) -> keys.Key:
        return keys.webhook(self.id)

    def index(self) -> keys.Key:
        return keys.webhook_index(self.created_at, self.id)


@dataclass(repr=False, eq=False)
class DeliveryAttempt(Entity):
    """One attempt to deliver one event to one webhook (the delivery history)."""

    webhook_id: str
    delivery_id: str
    event_id: str
    action: str
    attempt: int
    at: str
    success: bool
    status_code: int | None = None
    error: str | None = None
    next_retry_at: str | None = None

    def item_key(self) -> keys.Key:
        return keys.delivery_attempt(self.webhook_id, self.at, self.delivery_id, self.attempt)


@dataclass(repr=False, eq=False)
class Location(Entity):
    """The HCP organization and project this deployment is (UUIDs, generated once and kept:
    the HCP clients send them in every path)."""

    organization_id: str
    project_id: str
    created_at: str

    def item_key(self) -> keys.Key:
        return keys.location()


@dataclass(repr=False, eq=False)
class RunTaskKey(Entity):
    """The HMAC key of the HCP Terraform run task: kept as is, since checking a signature
    needs the key itself (the table is encrypted at rest); made on first use."""

    hmac_key: str
    created_at: str

    def item_key(self) -> keys.Key:
        return keys.run_task()


@dataclass(repr=False, eq=False)
class RegistrySettings(Entity):
    """The project's HCP Packer registry as the HCP API manages it (services/registry.py):
    its `state`, feature tier and its run task's behaviour on untracked images. Without an
    item the registry is active with the defaults (services/registry.current)."""

    id: str
    created_at: str
    updated_at: str
    state: RegistryState = RegistryState.ACTIVE
    feature_tier: str = "STANDARD"
    deactivated_at: str | None = None
    on_untracked_image: str = "UNSET"
    rev: int = 0  # goes up with every change: each is conditioned on the one read

    def item_key(self) -> keys.Key:
        return keys.registry_settings()


# ---- the sweep's items ---------------------------------------------------------------------

@dataclass(repr=False, eq=False)
class Marker(Entity):
    """A change the sweep is to look at (markers.py): `kind` says which, the other fields
    what changed (a version's `number`; a channel and the numbers it moved between; a
    cascade's `mode`)."""

    id: str
    kind: str
    bucket: str
    at: str
    number: int | None = None
    channel: str | None = None
    from_number: int | None = None
    to_number: int | None = None
    mode: str | None = None
    # A cascade's walk where it stopped (lifecycle.Walk): the descendants still to visit and
    # the visited ones whose children are still to read, as [bucket, number] pairs.
    visit: list[list[Any]] | None = None
    expand: list[list[Any]] | None = None

    def item_key(self) -> keys.Key:
        return keys.marker(self.at, self.id)


@dataclass(repr=False, eq=False)
class Flag(Entity):
    """A flagged version (outdated, parent revoked, undetermined). `findings` None: written
    before findings were stored, with `messages` (sentences) instead."""

    bucket: str
    number: int
    version: str
    ancestry_status: AncestryStatus
    flagged_at: str
    findings: list[dict[str, Any]] | None = None
    messages: list[str] | None = None

    def item_key(self) -> keys.Key:
        return keys.flagged(self.bucket, self.number)


@dataclass(repr=False, eq=False)
class UnresolvedHint(Entity):
    """A version with parent hints that matched nothing yet (the sweep retries them)."""

    bucket: str
    number: int

    def item_key(self) -> keys.Key:
        return keys.unresolved(self.bucket, self.number)


@dataclass(repr=False, eq=False)
class UntrackedSources(Entity):
    """A version whose builds' source artifacts matched nothing when it was recorded, while
    the sweep still looks for them (`sources`: their IDs; `recorded_at`: when they were
    recorded, where the window starts)."""

    bucket: str
    number: int
    sources: list[str]
    recorded_at: str

    def item_key(self) -> keys.Key:
        return keys.untracked(self.bucket, self.number)


@dataclass(repr=False, eq=False)
class ChildEdge(Entity):
    """Version `child_number` of `child_bucket` is built on the parent version."""

    parent_bucket: str
    parent_number: int
    child_bucket: str
    child_number: int

    def item_key(self) -> keys.Key:
        return keys.child(self.parent_bucket, self.parent_number, self.child_bucket, self.child_number)


@dataclass(repr=False, eq=False)
class Counts(Entity):
    """The report's counts: flagged versions by ancestry status, versions with unresolved
    hints; `rev` goes up with every difference, `recounted_at` once the sweep counted."""

    COUNTED: ClassVar[tuple[str, ...]] = (AncestryStatus.OUT_OF_DATE, AncestryStatus.PARENT_REVOKED,
                                          AncestryStatus.UNDETERMINED, "unresolved_parents")

    out_of_date: int = 0
    parent_revoked: int = 0
    undetermined: int = 0
    unresolved_parents: int = 0
    rev: int | None = None
    recounted_at: str | None = None
    # The sweep's own state, kept on the item it reads anyway (one GetItem at its start):
    # `backfilled` once the version-index backfill is done (services/indexing.py), and
    # `retention_after`, the last bucket the retention step handled (services/retention.py),
    # `untracked_after` and `unresolved_after`, where the steps that look for untracked sources
    # and retry unresolved hints go on (services/compliance.py).
    backfilled: bool | None = None
    retention_after: str | None = None
    untracked_after: str | None = None
    unresolved_after: str | None = None
    # `names_claimed` once the names of credentials from before name claims are claimed, and
    # till then `names_after`, where that step goes on (services/claims.py).
    names_claimed: bool | None = None
    names_after: dict[str, str] | None = None
    # The oldest check of a purl against OSV (services/vulns.py): the rechecks are read once
    # it is older than VULN_RECHECK.
    vulns_oldest_check: str | None = None
    # Work noted for the sweep's sparse-index reads (domain/sweep_work.py): per kind, a count
    # the changes that create that work add to (`work_<kind>`, with `work_at` the newest
    # note's time), and the count a read that found nothing saw (`idle_<kind>`).
    work_scheduled: int = 0
    work_jobs: int = 0
    work_retention: int = 0
    work_exposed: int = 0
    work_untracked: int = 0
    work_drafts: int = 0
    work_vulns: int = 0
    work_at: str | None = None
    idle_scheduled: int | None = None
    idle_jobs: int | None = None
    idle_retention: int | None = None
    idle_exposed: int | None = None
    idle_untracked: int | None = None
    idle_drafts: int | None = None
    idle_vulns: int | None = None

    def item_key(self) -> keys.Key:
        return keys.counts()

    def counted(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.COUNTED}

    def noted(self) -> dict[SweepWork, int]:
        return {kind: getattr(self, f"work_{kind}") for kind in SweepWork}

    def idle(self) -> dict[SweepWork, int | None]:
        return {kind: getattr(self, f"idle_{kind}") for kind in SweepWork}


@dataclass(repr=False, eq=False)
class Report(Entity):
    """The last sweep's report (a report of an older release may lack lists: they read as
    empty). Its lists hold the response's objects as plain values."""

    started_at: str
    finished_at: str
    revocations_applied: list[str] = field(default_factory=list)
    cascades: list[dict[str, Any]] = field(default_factory=list)
    ancestry_changes: list[dict[str, Any]] = field(default_factory=list)
    parents_resolved: list[dict[str, Any]] = field(default_factory=list)
    channels_repaired: list[dict[str, Any]] = field(default_factory=list)
    channels_serving_revoked: list[dict[str, Any]] = field(default_factory=list)
    channels_serving_revoked_truncated: bool = False
    upcoming_revocations: list[dict[str, Any]] = field(default_factory=list)
    upcoming_revocations_truncated: bool = False
    markers_processed: int = 0
    more_pending: bool = False

    def item_key(self) -> keys.Key:
        return keys.report()


# ---- bulk revocation jobs ------------------------------------------------------------------

@dataclass(repr=False, eq=False)
class RevocationJob(Entity):
    """A bulk revocation (services/revocations.py): the filter and the revocation asked for
    (`revoke_at` absolute, None for now), where the selection has got to (`cursor`, opaque
    outside storage; `exhausted` once nothing is left after it) and what it did (`counts`,
    `skipped` by reason, the first `failures`). `seq` goes up with every batch claimed: a
    claim and its release are conditioned on it, so two sweeps never apply one batch.
    `claim`: the batch in flight (`from`: its cursor, `at`: when it was claimed). Indexed as
    pending until it is done."""

    id: str
    status: JobStatus
    created_at: str
    updated_at: str
    created_by: str
    filter: dict[str, Any]
    reason: str
    created_by_id: str | None = None  # the creator's actor_id (domain/actors.py), for the revocations it makes
    bucket: str | None = None
    buckets: list[str] | None = None
    revoke_at: str | None = None
    skip_descendants_revocation: bool = False
    disable_rollback_channels: bool = False
    seq: int = 0
    cursor: dict[str, Any] | None = None
    exhausted: bool = False
    claim: dict[str, Any] | None = None
    counts: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)
    finished_at: str | None = None

    def item_key(self) -> keys.Key:
        return keys.revocation_job(self.id)

    def index(self) -> keys.Key:
        return keys.revocation_pending_index(self.created_at, self.id) if self.status != JobStatus.DONE else {}


# ---- retention policies (services/retention.py) ---------------------------------------------

@dataclass(repr=False, eq=False)
class RetentionPolicy(Entity):
    """A bucket's retention policy and the sweep's progress through the bucket. `id` changes
    with every PUT: the sweep's progress writes are conditioned on it, so a replaced policy
    starts from the oldest version. `resume_after`: the number of the last version the
    current pass examined (None: the next run starts from the oldest)."""

    bucket: str
    id: str
    action: str
    set_at: str
    set_by: str
    keep_newest: int | None = None
    keep_younger_than: str | None = None
    resume_after: int | None = None
    last_run_at: str | None = None
    last_run_acted_on: list[str] = field(default_factory=list)
    last_pass_finished_at: str | None = None

    def item_key(self) -> keys.Key:
        return keys.retention(self.bucket)

    def index(self) -> keys.Key:
        return keys.retention_index(self.bucket)


@dataclass(repr=False, eq=False)
class BucketAccess(Entity):
    """A bucket's access policy: the credentials bound to it, by role (`roles`: role → ids of
    tokens and service principals, as set: a member may be under two roles). `etag` counts
    its changes: each is conditioned on the one read."""

    bucket: str
    roles: dict[str, list[str]]
    etag: int
    updated_at: str
    updated_by: str

    def item_key(self) -> keys.Key:
        return keys.access(self.bucket)


# ---- buckets -----------------------------------------------------------------------------

@dataclass(repr=False, eq=False)
class Bucket(Entity):
    """A bucket with its summary (version count, latest version, last number taken) and its
    aggregates: `status_counts` (versions by status or ancestry flag) and `channels` (each
    channel's version, its status and whether it is restricted), both None for a bucket
    from before they were kept (no `aggregated_since`). `indexed_since`: every version of
    the bucket is in the status index and the platform index and carries its builds'
    summary (set at creation since they exist, or once a backfill did the older ones).

    Stored flat, one attribute per aggregate (`versions_<status>`, `channel_<name>`,
    `restricted_<name>`), so that each transaction ADDs or SETs just its own part."""

    COUNT: ClassVar[str] = "versions_"
    CHANNEL: ClassVar[str] = "channel_"
    RESTRICTED: ClassVar[str] = "restricted_"

    bucket: str
    created_at: str
    updated_at: str
    description: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    manifest_prefixes: list[str] = field(default_factory=list)
    version_count: int = 0
    latest_version: str | None = None
    last_number: int | None = None
    aggregated_since: str | None = None
    indexed_since: str | None = None
    status_counts: dict[str, int] | None = None
    channels: list[dict[str, Any]] | None = None

    def item_key(self) -> keys.Key:
        return keys.bucket(self.bucket)

    def index(self) -> keys.Key:
        return keys.bucket_index(self.bucket)

    def attributes(self) -> Item:
        flat = {k: v for k, v in super().attributes().items() if k not in ("status_counts", "channels")}
        for status, count in (self.status_counts or {}).items():
            flat[self.COUNT + status] = count
        for channel in self.channels or []:
            flat[self.CHANNEL + channel["name"]] = {k: v for k, v in channel.items() if k not in ("name", "restricted")}
            flat[self.RESTRICTED + channel["name"]] = bool(channel.get("restricted"))
        return flat

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Bucket:
        bucket = super().from_item(item)
        if bucket.aggregated_since is not None:
            bucket.status_counts = {k[len(cls.COUNT):]: v for k, v in item.items() if k.startswith(cls.COUNT) and v}
            bucket.channels = sorted(({"name": k[len(cls.CHANNEL):], **v,
                                       "restricted": bool(item.get(cls.RESTRICTED + k[len(cls.CHANNEL):]))}
                                      for k, v in item.items() if k.startswith(cls.CHANNEL)),
                                     key=lambda c: c["name"])
        return bucket

    def last_taken(self) -> int:
        """The last version number taken (a bucket from before `last_number` was kept: its count)."""
        return self.last_number if self.last_number is not None else self.version_count


# ---- channels ----------------------------------------------------------------------------

@dataclass(repr=False, eq=False)
class Channel(Entity):
    """A channel, carrying its copy of the version it holds (what the consumer query needs:
    `version`, `number`, `fingerprint`, `version_status`, `revocation`, and the builds
    inline or, for a version too large for one item, the `copy` pages' generation and
    count); those are None while it is unassigned. Indexed as serving a revoked version
    while its copy says so."""

    bucket: str
    name: str
    created_at: str
    updated_at: str
    description: str = ""
    restricted: bool = False
    managed: bool = False
    created_by: str | None = None
    updated_by: str | None = None
    version: str | None = None
    number: int | None = None
    fingerprint: str | None = None
    version_status: VersionStatus | None = None
    revocation: dict[str, Any] | None = None
    builds: list[dict[str, Any]] | None = None
    copy: dict[str, Any] | None = None

    def item_key(self) -> keys.Key:
        return keys.channel(self.bucket, self.name)

    def index(self) -> keys.Key:
        return keys.revoked_channel_index(self.bucket, self.name) if self.version_status == VersionStatus.REVOKED \
            else {}


@dataclass(repr=False, eq=False)
class HistoryEntry(Entity):
    """One move of a channel. Its bucket and id are only in its key (older entries were
    written that way): from_item reads them from there, to_item writes them only there."""

    bucket: str
    id: str
    channel: str
    at: str
    author: str
    cause: HistoryCause
    from_version: str | None = None
    to_version: str | None = None

    def item_key(self) -> keys.Key:
        return keys.history(self.bucket, self.channel, self.at, self.id)

    def attributes(self) -> Item:
        return {k: v for k, v in super().attributes().items() if k not in ("bucket", "id")}

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> HistoryEntry:
        bucket, entry_id = keys.history_ids(item)
        return super().from_item({**item, "bucket": bucket, "id": entry_id})


# ---- versions, builds, the artifact index ------------------------------------------------

@dataclass(repr=False, eq=False)
class Version(Entity):
    """A version: its status and revocation, its ancestry (parent links, unresolved hints,
    untracked sources, the status and findings they give) and, for one too large to copy inline, its copy
    pages' generation and count. `rev` goes up with every change a channel copy depends
    on; `expected_builds` is set while it is written in several transactions (running).
    `deleting_since`: set while a deletion too large for one transaction removes its items
    (no channel may take it meanwhile).
    `ancestry_messages`: sentences an older release stored instead of findings."""

    bucket: str
    number: int
    name: str
    fingerprint: str
    created_at: str
    updated_at: str
    status: VersionStatus = VersionStatus.ACTIVE
    id: str | None = None
    template_type: str | None = None
    author: str | None = None
    rev: int | None = None
    build_count: int = 0
    expected_builds: int | None = None
    deleting_since: str | None = None
    revocation: dict[str, Any] | None = None
    parent_hint: dict[str, Any] | None = None
    parents: list[dict[str, Any]] | None = None
    unresolved: list[dict[str, Any]] | None = None
    untracked: list[dict[str, Any]] | None = None
    ancestry_status: AncestryStatus | None = None
    ancestry_findings: list[dict[str, Any]] | None = None
    ancestry_messages: list[str] | None = None
    ancestry_checked_at: str | None = None
    copy_generation: int | None = None
    copy_pages: int | None = None
    platforms: list[str] | None = None
    regions: list[str] | None = None
    build_labels: list[str] | None = None
    # Fingerprints of HCP publishes recorded against it as duplicates (services/duplicates.py):
    # each has a fingerprint item naming this version, deleted with it.
    aliases: list[str] | None = None
    # Child edges recorded on it (storage.versions.adopt ADDs one each; never taken off):
    # 0 says it has no children, so a cascade need not Query its edges; None, a version from
    # before they were counted (its edges are Queried).
    child_count: int | None = None

    SUMMARY: ClassVar[tuple[str, ...]] = ("platforms", "regions", "build_labels")

    def item_key(self) -> keys.Key:
        return keys.version(self.bucket, self.number)

    def index(self) -> keys.Key:
        listed = keys.version_index(self.bucket, self.number)
        return {**listed, **keys.status_index(self.bucket, self.status, listed[keys.GSI1SK])}

    def to_item(self) -> Item:
        """The summary of its builds (`platforms`, `regions`, `build_labels` as `key:value`)
        is stored as string sets (none when empty), so that builds added later ADD to it."""
        item = super().to_item()
        for name in self.SUMMARY:
            if name in item:
                item[name] = set(item[name])
                if not item[name]:
                    del item[name]
        return item

    @classmethod
    def from_item(cls: type[V], item: Mapping[str, Any]) -> V:
        version = super().from_item(item)
        for name in cls.SUMMARY:
            if getattr(version, name) is not None:
                setattr(version, name, sorted(getattr(version, name)))
        return version

    def ref(self) -> tuple[str, int]:
        return self.bucket, self.number


@dataclass(repr=False, eq=False)
class Build(Entity):
    """One build of a version, as the API returns it, with the artifact IDs it indexed."""

    bucket: str
    number: int
    id: str
    component_type: str
    name: str
    builder_type: str
    platform: str
    created_at: str
    labels: dict[str, str] = field(default_factory=dict)
    packer_run_uuid: str | None = None
    build_time: str | None = None
    source_artifact: str | None = None
    indexed_ids: list[str] = field(default_factory=list)
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)
    file_count: int = 0
    status: BuildStatus = BuildStatus.DONE
    updated_at: str | None = None
    parent_version_id: str | None = None
    parent_channel_id: str | None = None
    metadata: dict[str, Any] | None = None
    sboms: list[dict[str, Any]] | None = None

    def item_key(self) -> keys.Key:
        return keys.build(self.bucket, self.number, self.id)


@dataclass(repr=False, eq=False)
class Draft(Version):
    """A version being published through the HCP API (number 0, named `v0`, running) until
    its last build is done: `components` lists its builds' component types (one build per
    component), `done_builds` counts the builds done. Completion records it as a
    numbered version (services/publishing.py) and deletes the draft."""

    components: list[str] = field(default_factory=list)
    done_builds: int = 0

    def item_key(self) -> keys.Key:
        return keys.draft(self.bucket, self.fingerprint)

    def index(self) -> keys.Key:
        listed = keys.draft_index(self.bucket, self.fingerprint)
        return {**listed, **keys.status_index(self.bucket, self.status, listed[keys.GSI1SK]),
                **keys.draft_activity_index(self.updated_at, self.bucket, self.fingerprint)}


@dataclass(repr=False, eq=False)
class DraftBuild(Build):
    """A build of a draft (its status moves; its artifacts arrive with `done`)."""

    fingerprint: str = ""

    def item_key(self) -> keys.Key:
        return keys.draft_build(self.bucket, self.fingerprint, self.id)


@dataclass(repr=False, eq=False)
class ResourceId(Entity):
    """The version a ULID names, by bucket and fingerprint (stable from draft to numbered).
    Buckets, channels, builds and artifacts need no such item: their ids are derived
    (domain/ids.py) or found under a version."""

    id: str
    bucket: str
    fingerprint: str

    def item_key(self) -> keys.Key:
        return keys.resource_id(self.id)


@dataclass(repr=False, eq=False)
class PackerRun(Entity):
    """The bucket's version last made by a Packer run (`run_uuid`, its `packer_run_uuid`):
    how a run that reaches the registry through both doors finds the version the first door
    made (services/duplicates.py). Overwritten by a later version of the same run; left
    behind when its version is deleted (a reader checks the version's builds)."""

    bucket: str
    run_uuid: str
    number: int

    def item_key(self) -> keys.Key:
        return keys.run(self.bucket, self.run_uuid)


@dataclass(repr=False, eq=False)
class ArtifactEntry(Entity):
    """The artifact index: build `build_id` of a version made the artifact `external_id`
    (an ID only in the key, as entries have always been written)."""

    external_id: str
    bucket: str
    number: int
    build_id: str
    platform: str
    created_at: str

    def item_key(self) -> keys.Key:
        return keys.artifact(self.external_id, self.bucket, self.number, self.build_id)

    def attributes(self) -> Item:
        return {k: v for k, v in super().attributes().items() if k != "external_id"}

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> ArtifactEntry:
        return super().from_item({**item, "external_id": keys.artifact_id(item)})


@dataclass(repr=False, eq=False)
class CopyPage(Entity):
    """One page of a large version's serving copy (copies.py): `builds` as a channel's copy
    holds them. Its bucket, number, generation and page are only in its key (as pages have
    always been written)."""

    bucket: str
    number: int
    generation: int
    page: int
    builds: list[dict[str, Any]] = field(default_factory=list)

    def item_key(self) -> keys.Key:
        return keys.copy(self.bucket, self.number, self.generation, self.page)

    def attributes(self) -> Item:
        return {"builds": self.builds}

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> CopyPage:
        bucket, number, generation, page = keys.copy_ids(item)
        return cls(bucket, number, generation, page, list(item.get("builds") or []))


@dataclass(repr=False, eq=False)
class Package(Entity):
    """A package one SBOM of a build lists (services/sboms.py): what it is (name, version,
    purl, its ecosystem: the purl's type) and where it came from (the bucket, the version by
    fingerprint and id, the build by id and component, the SBOM by id, name and format).
    Listed by build and by bucket in name order, and found by purl (keys.package_index)."""

    bucket: str
    fingerprint: str
    version_id: str
    build_id: str
    component_type: str
    sbom_id: str
    sbom_name: str
    sbom_format: str
    name: str
    version: str
    purl: str
    ecosystem: str
    created_at: str
    # Its vulnerabilities (domain/vulns.py findings), set by the sweep (storage/vulns.py) when
    # OSV matched its purl, with the time they were found as they are (`scanned_at`).
    vulns: list[dict[str, Any]] | None = None
    scanned_at: str | None = None

    def item_key(self) -> keys.Key:
        return keys.package(self.bucket, self.fingerprint, self.build_id, self.order, self.sbom_id)

    def index(self) -> keys.Key:
        found = keys.package_index(self.bucket, self.fingerprint, self.build_id, self.order, self.sbom_id, self.purl)
        if self.vulns:
            found.update(keys.vulnerable_package_index(self.bucket, self.fingerprint, self.build_id, self.order,
                                                       self.sbom_id))
        return found

    @property
    def order(self) -> str:
        return keys.package_order(self.name, self.version, self.purl)
