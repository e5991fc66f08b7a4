"""Key formats: how each item type is addressed in the one table (see the package docstring).

Only the storage package imports this module.
"""

from __future__ import annotations

import hashlib
from typing import Any, Mapping

from .schema import GSI1PK, GSI1SK, GSI2PK, GSI2SK, GSI3PK, GSI3SK, PK, SK

Key = dict[str, Any]


def number(n: int) -> str:
    """Version numbers are zero-padded so that sort keys order them."""
    return f"{n:010d}"


def bucket_pk(bucket: str) -> str:
    return f"BUCKET#{bucket}"


def bucket(name: str) -> Key:
    return {PK: bucket_pk(name), SK: "BUCKET"}


BUCKETS = "BUCKETS"


def bucket_index(name: str) -> Key:
    return {GSI1PK: BUCKETS, GSI1SK: name}


def version_sk(n: int) -> str:
    return f"VERSION#{number(n)}"


def version(bucket: str, n: int) -> Key:
    return {PK: bucket_pk(bucket), SK: version_sk(n)}


def versions_pk(bucket: str) -> str:
    return f"VERSIONS#{bucket}"


def version_index(bucket: str, n: int) -> Key:
    return {GSI1PK: versions_pk(bucket), GSI1SK: version_sk(n)}


def versions_by_status(bucket: str, status: str) -> str:
    return f"VERSIONS#{bucket}#{status}"


def status_index(bucket: str, status: str, order: str) -> Key:
    """A version (or draft) listed under its status, in the order of its GSI1 entry: kept
    with every write of its status (entities.Version.index, versions.change/complete)."""
    return {GSI3PK: versions_by_status(bucket, status), GSI3SK: order}


PLATFORMS = "PLATFORM#"


def platform_prefix(platform: str) -> str:
    return f"{PLATFORMS}{platform}#"


def platform_entry(bucket: str, platform: str, n: int) -> Key:
    """A version has a build on `platform` (the platform index: one item per platform of a
    version, beside it in the bucket's partition, newest last)."""
    return {PK: bucket_pk(bucket), SK: f"{platform_prefix(platform)}{number(n)}"}


BUILD = "#BUILD#"


def builds_prefix(n: int) -> str:
    return f"{version_sk(n)}{BUILD}"


def build(bucket: str, n: int, build_id: str) -> Key:
    return {PK: bucket_pk(bucket), SK: f"{builds_prefix(n)}{build_id}"}


def is_build(item: dict[str, Any]) -> bool:
    return str(item[SK]).startswith("VERSION#") and BUILD in item[SK]


def draft_sk(fingerprint: str) -> str:
    """A version being published through the HCP API, before it has a number (its builds
    follow under the same prefix: `DRAFT#<fp>#BUILD#<id>`; fingerprints hold no `#`)."""
    return f"DRAFT#{fingerprint}#"


def is_draft(item: Mapping[str, Any]) -> bool:
    return str(item[SK]).startswith("DRAFT#")


def draft(bucket: str, fingerprint: str) -> Key:
    return {PK: bucket_pk(bucket), SK: draft_sk(fingerprint)}


def draft_index(bucket: str, fingerprint: str) -> Key:
    """Listed with the bucket's versions, before every numbered one (newest first: `~` sorts
    after the digits), as running."""
    return {GSI1PK: versions_pk(bucket), GSI1SK: f"VERSION#~{fingerprint}"}


DRAFTS = "DRAFTS"  # GSI2: every draft, by its last build activity (abandoned ones come first)


def draft_activity_index(active_at: str, bucket: str, fingerprint: str) -> Key:
    """A draft by the time of its last build activity (created, a build added, a status
    change, a heartbeat), oldest first: rewritten with each, gone with the draft."""
    return {GSI2PK: DRAFTS, GSI2SK: f"{active_at}#{bucket}#{fingerprint}"}


def draft_build(bucket: str, fingerprint: str, build_id: str) -> Key:
    return {PK: bucket_pk(bucket), SK: f"{draft_sk(fingerprint)}BUILD#{build_id}"}


PACKAGES = "PACKAGE#"  # a build's packages (storage/sboms.py), in the bucket's partition


def build_packages(fingerprint: str, build_id: str) -> str:
    """The sort-key prefix of a build's packages (fingerprints and ids hold no `#`)."""
    return f"{PACKAGES}{fingerprint}#{build_id}#"


def package_order(name: str, version: str | None = None, purl: str | None = None) -> str:
    """Where a package sorts among packages: `<name>#<version>#<purl digest>#` (a purl may be
    longer than a sort key allows). Without the purl (or the version too) it is the prefix of
    the packages with that name and version (or that name)."""
    parts = [name, *([version] if version is not None else []),
             *([purl_digest(purl)] if purl is not None else [])]
    return "".join(f"{part}#" for part in parts)


def package(bucket: str, fingerprint: str, build_id: str, order: str, sbom_id: str) -> Key:
    """A package one SBOM of a build lists (`order`: package_order of it)."""
    return {PK: bucket_pk(bucket), SK: f"{build_packages(fingerprint, build_id)}{order}{sbom_id}"}


def bucket_packages_pk(bucket: str) -> str:
    return f"PACKAGES#{bucket}"


def purl_pk(purl: str) -> str:
    return f"PURL#{purl}"


def package_index(bucket: str, fingerprint: str, build_id: str, order: str, sbom_id: str, purl: str) -> Key:
    """A package's index entries: among its bucket's packages by name (GSI1), and, when it has a
    purl, among the builds that hold that purl in any bucket (GSI2)."""
    where = f"{fingerprint}#{build_id}#{sbom_id}"
    found = {GSI1PK: bucket_packages_pk(bucket), GSI1SK: f"{order}{where}"}
    return {**found, GSI2PK: purl_pk(purl), GSI2SK: f"{bucket}#{where}"} if purl else found


VULNERABLE = "VULNERABLE#"  # GSI3: a bucket's packages with vulnerabilities (storage/vulns.py), by name


def vulnerable_package_index(bucket: str, fingerprint: str, build_id: str, order: str, sbom_id: str) -> Key:
    """A package with vulnerabilities among its bucket's (sparse: set only while it has some)."""
    return {GSI3PK: f"{VULNERABLE}{bucket}", GSI3SK: f"{order}{fingerprint}#{build_id}#{sbom_id}"}


VULNERABILITIES = "VULNERABILITY#"  # a bucket's vulnerabilities, one item each, in its partition


def bucket_vulnerability(bucket: str, vulnerability_id: str) -> Key:
    return {PK: bucket_pk(bucket), SK: f"{VULNERABILITIES}{vulnerability_id}"}


def vulnerability_summary(bucket: str) -> Key:
    return {PK: bucket_pk(bucket), SK: "VULNSUMMARY"}


def vulnerability(vulnerability_id: str) -> Key:
    """An OSV record as the registry keeps it (its id and `modified` say whether it is current)."""
    return {PK: f"VULN#{vulnerability_id}", SK: "OSV"}


def purl_digest(purl: str) -> str:
    return hashlib.sha256(purl.encode()).hexdigest()[:16]


def purl_check(purl: str) -> Key:
    """When a purl was last checked against OSV and what it had then."""
    return {PK: purl_pk(purl), SK: "CHECKED"}


PURL_CHECKS = "VULN_CHECKS"  # GSI1: every purl checked, by when (oldest first: the rechecks due)


def purl_check_index(checked_at: str, purl: str) -> Key:
    return {GSI1PK: PURL_CHECKS, GSI1SK: f"{checked_at}#{purl_digest(purl)}"}


VULN_QUEUE = "SWEEP#VULNS"  # purls uploaded and buckets changed, for the sweep's vulnerability step


def queued_purls(at: str, entry_id: str) -> Key:
    return {PK: VULN_QUEUE, SK: f"P#{at}#{entry_id}"}


def changed_bucket(bucket: str) -> Key:
    """A bucket whose vulnerability rows and summary are to be made again (one per bucket)."""
    return {PK: VULN_QUEUE, SK: f"B#{bucket}"}


def resource_id(ulid: str) -> Key:
    """The version a ULID names: looked up by id."""
    return {PK: f"ID#{ulid}", SK: "ID"}


def fingerprint(bucket: str, value: str) -> Key:
    return {PK: bucket_pk(bucket), SK: f"FINGERPRINT#{value}"}


def run(bucket: str, run_uuid: str) -> Key:
    """The bucket's version last made by a Packer run (its `packer_run_uuid`)."""
    return {PK: bucket_pk(bucket), SK: f"RUN#{run_uuid}"}


def artifact_pk(external_id: str) -> str:
    return f"ARTIFACT#{external_id}"


def artifact(external_id: str, bucket: str, n: int, build_id: str) -> Key:
    return {PK: artifact_pk(external_id), SK: f"BUCKET#{bucket}#{version_sk(n)}{BUILD}{build_id}"}


ARTIFACT_ENTRIES = "BUCKET#"  # the index entries of an artifact's partition; its newest producer is `NEWEST`


def artifact_newest(external_id: str) -> Key:
    """The artifact's newest producer: a copy of its latest index entry, GetItem-able (and so
    BatchGetItem-able) by the external ID alone."""
    return {PK: artifact_pk(external_id), SK: "NEWEST"}


def artifact_items(external_id: str, bucket: str, n: int, build_id: str) -> list[Key]:
    """What a build leaves under one of its artifacts: its index entry, and the artifact's
    newest-producer item (deleted with it even when another version holds it: readers fall
    back to the entries left)."""
    return [artifact(external_id, bucket, n, build_id), artifact_newest(external_id)]


def artifact_id(item: Mapping[str, Any]) -> str:
    """The external ID of an artifact-index item, from its key."""
    return str(item[PK])[len(artifact_pk("")):]


CHANNELS = "CHANNEL#"


def channel(bucket: str, name: str) -> Key:
    return {PK: bucket_pk(bucket), SK: f"{CHANNELS}{name}"}


def history_prefix(channel: str) -> str:
    return f"HISTORY#{channel}#"


def history(bucket: str, channel: str, at: str, entry_id: str) -> Key:
    return {PK: bucket_pk(bucket), SK: f"{history_prefix(channel)}{at}#{entry_id}"}


def history_ids(item: Mapping[str, Any]) -> tuple[str, str]:
    """(bucket, entry id) of a history item, from its key (`HISTORY#<name>#<time>#<id>`:
    names and ids hold no `#`)."""
    return str(item[PK])[len(bucket_pk("")):], str(item[SK]).rsplit("#", 1)[1]


def copies_prefix(n: int) -> str:
    return f"COPY#{number(n)}#"


def copy_prefix(n: int, generation: int) -> str:
    return f"{copies_prefix(n)}{generation:06d}#"


def copy(bucket: str, n: int, generation: int, page: int) -> Key:
    return {PK: bucket_pk(bucket), SK: f"{copy_prefix(n, generation)}{page:03d}"}


def copy_ids(item: Mapping[str, Any]) -> tuple[str, int, int, int]:
    """(bucket, number, generation, page) of a copy page, from its key (`COPY#<n>#<gen>#<page>`)."""
    _, n, generation, page = str(item[SK]).split("#")
    return str(item[PK])[len(bucket_pk("")):], int(n), int(generation), int(page)


REVOKED_CHANNELS = "REVOKED_CHANNELS"


def revoked_channel_index(bucket: str, channel: str) -> Key:
    """A channel holding a revoked version (sparse: set only while it does)."""
    return {GSI2PK: REVOKED_CHANNELS, GSI2SK: f"{bucket}#{channel}"}


REVOKE_DUE = "REVOKE_DUE"


def revoke_due_index(revoke_at: str, bucket: str, n: int) -> Key:
    """A version scheduled for revocation (sparse: set only while it is)."""
    return {GSI2PK: REVOKE_DUE, GSI2SK: f"{revoke_at}#{bucket}#{number(n)}"}


CHILDREN = "CHILD#"  # a bucket partition's child edges, of all its versions


def child_prefix(n: int) -> str:
    return f"{CHILDREN}{number(n)}#"


def child(parent_bucket: str, parent_number: int, child_bucket: str, child_number: int) -> Key:
    return {PK: bucket_pk(parent_bucket), SK: f"{child_prefix(parent_number)}{child_bucket}#{number(child_number)}"}


MARKERS, UNRESOLVED, FLAGGED = "SWEEP#PENDING", "SWEEP#UNRESOLVED", "SWEEP#FLAGGED"
UNTRACKED = "SWEEP#UNTRACKED"  # versions whose untracked sources the sweep still looks for


def marker(at: str, marker_id: str) -> Key:
    return {PK: MARKERS, SK: f"{at}#{marker_id}"}


def unresolved(bucket: str, n: int) -> Key:
    return {PK: UNRESOLVED, SK: f"{bucket}#{number(n)}"}


def untracked(bucket: str, n: int) -> Key:
    return {PK: UNTRACKED, SK: f"{bucket}#{number(n)}"}


def flagged(bucket: str, n: int) -> Key:
    return {PK: FLAGGED, SK: f"{bucket}#{number(n)}"}


def of_bucket(bucket: str) -> str:
    """The sort-key prefix of a bucket's unresolved hints or flags (`<b>#`: names hold no `#`)."""
    return f"{bucket}#"


def backfill() -> Key:
    """Where the backfill of the version indexes is (services/indexing.py)."""
    return {PK: "SWEEP#BACKFILL", SK: "INDEXES"}


def report() -> Key:
    return {PK: "SWEEP#REPORT", SK: "LAST"}


def counts() -> Key:
    """The report's counts, kept current by the transactions that flag, unflag or resolve."""
    return {PK: "SWEEP#COUNTS", SK: "CURRENT"}


RETENTION = "RETENTION"  # GSI1: the buckets that have a retention policy (sparse: only their policy items)


def retention(bucket: str) -> Key:
    """A bucket's retention policy, in the bucket's partition (it goes with the bucket)."""
    return {PK: bucket_pk(bucket), SK: RETENTION}


def retention_index(bucket: str) -> Key:
    return {GSI1PK: RETENTION, GSI1SK: bucket}


ACCESS = "ACCESS"


def access(bucket: str) -> Key:
    """A bucket's access policy (its bindings), in the bucket's partition; deleted with the
    bucket by its last transaction, which also takes the bindings off the credentials."""
    return {PK: bucket_pk(bucket), SK: ACCESS}


EVENT_PREFIX = "EVENT#"


def events_pk(bucket: str | None) -> str:
    """Outside the bucket's partition, so deleting a bucket keeps its audit trail."""
    return f"EVENTS#{bucket or ''}"


def events_between(after: str | None, before: str | None) -> tuple[str, str]:
    """The sort-key range of the events at or after `after` and before `before` (either
    None: open): `EVENT#<time>#<id>` sorts by time, and `EVENT#<before>` sorts before every
    event at `before`."""
    return f"{EVENT_PREFIX}{after or ''}", f"{EVENT_PREFIX}{before or '~'}"


def event(bucket: str | None, at: str, event_id: str) -> Key:
    return {PK: events_pk(bucket), SK: f"{EVENT_PREFIX}{at}#{event_id}"}


def is_event(item: dict[str, Any]) -> bool:
    return str(item.get(PK, "")).startswith("EVENTS#") and str(item.get(SK, "")).startswith(EVENT_PREFIX)


def token(token_id: str) -> Key:
    return {PK: f"TOKEN#{token_id}", SK: "TOKEN"}


TOKENS = "TOKENS"


def token_index(created_at: str, token_id: str) -> Key:
    return {GSI1PK: TOKENS, GSI1SK: f"{created_at}#{token_id}"}


def service_principal(client_id: str) -> Key:
    return {PK: f"PRINCIPAL#{client_id}", SK: "PRINCIPAL"}


SERVICE_PRINCIPALS = "PRINCIPALS"


def service_principal_index(created_at: str, client_id: str) -> Key:
    return {GSI1PK: SERVICE_PRINCIPALS, GSI1SK: f"{created_at}#{client_id}"}


def credential_name(name: str) -> Key:
    """A token's or service principal's name, claimed by one of them: case-insensitive."""
    return {PK: f"NAME#{name.lower()}", SK: "NAME"}


def ingestion(ingestion_id: str) -> Key:
    return {PK: f"INGEST#{ingestion_id}", SK: "INGEST"}


INGESTIONS = "INGESTIONS"


def ingestions_by_status(status: str) -> str:
    return f"INGESTIONS#{status}"


def ingestions_between(after: str | None, before: str | None) -> tuple[str, str] | None:
    """The index sort-key range (`<time>#<id>`) of ingestions received at or after `after`
    and before `before` (None: both open)."""
    return (after or "0", before or "~") if after or before else None


def ingestion_index(status: str, received_at: str, ingestion_id: str) -> Key:
    order = f"{received_at}#{ingestion_id}"
    return {GSI1PK: INGESTIONS, GSI1SK: order, GSI2PK: ingestions_by_status(status), GSI2SK: order}


def revocation_job(job_id: str) -> Key:
    """A bulk revocation job (services/revocations.py)."""
    return {PK: f"REVOCATION#{job_id}", SK: "JOB"}


REVOCATIONS_PENDING = "REVOCATIONS_PENDING"


def revocation_pending_index(created_at: str, job_id: str) -> Key:
    """A bulk revocation job still to apply (sparse: set only until it is done), oldest first."""
    return {GSI2PK: REVOCATIONS_PENDING, GSI2SK: f"{created_at}#{job_id}"}


def location() -> Key:
    """The deployment's one HCP organization and project (their UUIDs, generated once)."""
    return {PK: "REGISTRY", SK: "LOCATION"}


def run_task() -> Key:
    """The HMAC key HCP Terraform signs run-task requests with (one per deployment)."""
    return {PK: "REGISTRY", SK: "RUNTASK"}


def registry_settings() -> Key:
    """The HCP registry's state, tier and run-task settings (one item)."""
    return {PK: "REGISTRY", SK: "SETTINGS"}


def webhook_pk(webhook_id: str) -> str:
    return f"WEBHOOK#{webhook_id}"


def webhook(webhook_id: str) -> Key:
    return {PK: webhook_pk(webhook_id), SK: "WEBHOOK"}


WEBHOOKS = "WEBHOOKS"


def webhook_index(created_at: str, webhook_id: str) -> Key:
    return {GSI1PK: WEBHOOKS, GSI1SK: f"{created_at}#{webhook_id}"}


DELIVERY_PREFIX = "DELIVERY#"


def delivery_attempt(webhook_id: str, at: str, delivery_id: str, attempt: int) -> Key:
    """One attempt of one delivery, in its webhook's partition, by time."""
    return {PK: webhook_pk(webhook_id), SK: f"{DELIVERY_PREFIX}{at}#{delivery_id}#{attempt:03d}"}


def primary(item: dict[str, Any]) -> Key:
    """Just the primary key of an item."""
    return {PK: item[PK], SK: item[SK]}

