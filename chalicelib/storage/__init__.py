"""Storage: the registry's one DynamoDB table, behind one named function per access pattern.

The only code that knows key formats (keys.py), attribute names of keys and indexes
(schema.py), expression strings (expressions.py), pagination tokens (pages.py) and
DynamoDB's errors (errors.py, raised by table.py). Services call the access patterns by
module: `storage.versions.with_builds(bucket, n)`, `storage.channels.point(...)`,
`storage.sweep.due_revocations(now, limit)`; writes come back as transaction actions
that `storage.transact` commits together, each guarded by the conditions it needs.

Reads return entities and puts take them (entities.py: one dataclass per item type, with
its key, `to_item` and `from_item`): buckets, channels and their history, tokens,
ingestions, audit events, sweep markers, flags, unresolved hints, untracked sources, child edges, the report
and its counts, versions, builds, artifact index entries and copy pages. Partial updates
(`point`, `update`, `change`, counts) take the fields they set.

| module | holds |
| --- | --- |
| `buckets` | the bucket item with its summary and aggregates (versions by status, its channels), the bucket's partition as a whole |
| `versions` | versions (with their builds' summary and the status index), builds, fingerprints, the platform index, the artifact index, copy pages |
| `drafts` | versions published through the HCP API before they have a number, their builds, version ids, the drafts by last build activity |
| `channels` | channels (with their serving copies) and their history |
| `sweep` | markers, scheduled revocations, child edges, unresolved hints, untracked sources, flags, the report and its counts |
| `events` | the audit trail |
| `credentials` | API tokens, service principals, their names' claims |
| `access` | buckets' access policies and their copy on the members' items |
| `ingestions` | ingestion records |
| `revocations` | bulk revocation jobs (pending ones indexed), the reads that select their versions |
| `registry` | the deployment's HCP organization and project, its run task's HMAC key |
| `webhooks` | webhooks and their delivery history |
| `enforced` | enforced provisioner blocks, their versions, their links to buckets (its docstring has their keys) |
| `retention` | buckets' retention policies, the sweep's place among them, the version reads it needs |
| `sboms` | the packages SBOMs list (by build, by bucket, by purl), the SBOMs a build names |
| `vulns` | the purls to check and their checks, OSV's records, packages' findings, a bucket's vulnerabilities and summary (its docstring has their keys) |

Single-table layout (every request path is a GetItem or one Query page):

| item | PK | SK | GSI1 (PK / SK) | GSI2 (PK / SK) |
| --- | --- | --- | --- | --- |
| bucket | `BUCKET#<b>` | `BUCKET` | `BUCKETS` / `<b>` | |
| version (GSI3: `VERSIONS#<b>#<status>` / `VERSION#<n:010>`) | `BUCKET#<b>` | `VERSION#<n:010>` | `VERSIONS#<b>` / `VERSION#<n:010>` | |
| platform entry (a version has a build on it) | `BUCKET#<b>` | `PLATFORM#<platform>#<n:010>` | | |
| build | `BUCKET#<b>` | `VERSION#<n:010>#BUILD#<id>` | | |
| fingerprint (also an alias: an HCP publish recorded against the version, listed in its `aliases`) | `BUCKET#<b>` | `FINGERPRINT#<fp>` | | |
| a Packer run's newest version in the bucket (duplicate check) | `BUCKET#<b>` | `RUN#<packer_run_uuid>` | | |
| draft (a version published through the HCP API, before it has a number; GSI3: `VERSIONS#<b>#running` / `VERSION#~<fp>`) | `BUCKET#<b>` | `DRAFT#<fp>#` | `VERSIONS#<b>` / `VERSION#~<fp>` | `DRAFTS` / `<last build activity>#<b>#<fp>` |
| draft build | `BUCKET#<b>` | `DRAFT#<fp>#BUILD#<id>` | | |
| package an SBOM of a build lists (`<pd>`: 16 hex of the purl's SHA-256) | `BUCKET#<b>` | `PACKAGE#<fp>#<build id>#<name>#<version>#<pd>#<sbom id>` | `PACKAGES#<b>` / `<name>#<version>#<pd>#<fp>#<build id>#<sbom id>` | `PURL#<purl>` / `<b>#<fp>#<build id>#<sbom id>` (sparse: with a purl) |
| a package with vulnerabilities (its item above, GSI3: `VULNERABLE#<b>` / `<name>#<version>#<pd>#<fp>#<build id>#<sbom id>`, sparse) | | | | |
| a bucket's vulnerability (builds and packages it impacts) / its summary | `BUCKET#<b>` | `VULNERABILITY#<id>` / `VULNSUMMARY` | | |
| a purl's last check against OSV | `PURL#<purl>` | `CHECKED` | `VULN_CHECKS` / `<checked at>#<pd>` | |
| an OSV record as kept | `VULN#<id>` | `OSV` | | |
| the vulnerability step's work: purls uploaded, buckets changed | `SWEEP#VULNS` | `P#<time>#<id>`, `B#<b>` | | |
| version id | `ID#<ulid>` | `ID` | | |
| channel | `BUCKET#<b>` | `CHANNEL#<name>` | | `REVOKED_CHANNELS` / `<b>#<name>` (sparse: only while it holds a revoked version) |
| serving copy page (large versions only) | `BUCKET#<b>` | `COPY#<n:010>#<generation:06>#<page:03>` | | |
| channel history | `BUCKET#<b>` | `HISTORY#<name>#<time>#<id>` | | |
| artifact index | `ARTIFACT#<external id>` | `BUCKET#<b>#VERSION#<n:010>#BUILD#<id>` | | |
| artifact's newest producer (a copy of its newest index entry) | `ARTIFACT#<external id>` | `NEWEST` | | |
| ingestion | `INGEST#<id>` | `INGEST` | `INGESTIONS` / `<time>#<id>` | `INGESTIONS#<status>` / `<time>#<id>` |
| scheduled revocation (on the version item) | | | | `REVOKE_DUE` / `<revoke_at>#<b>#<n:010>` |
| child edge (under the parent) | `BUCKET#<parent b>` | `CHILD#<parent n:010>#<child b>#<child n:010>` | | |
| sweep marker (a change to look at) | `SWEEP#PENDING` | `<time>#<id>` | | |
| unresolved parent hint | `SWEEP#UNRESOLVED` | `<b>#<n:010>` | | |
| untracked sources still looked for (their IDs, when recorded) | `SWEEP#UNTRACKED` | `<b>#<n:010>` | | |
| flagged version (outdated, parent revoked, undetermined) | `SWEEP#FLAGGED` | `<b>#<n:010>` | | |
| last sweep's report | `SWEEP#REPORT` | `LAST` | | |
| the version-index backfill's cursor | `SWEEP#BACKFILL` | `INDEXES` | | |
| the report's counts (flagged by status, unresolved), the retention, unresolved and untracked steps' places, the index backfill's state, the name claims' progress, the work noted for the sweep's sparse indexes and their idle marks (domain/sweep_work.py) | `SWEEP#COUNTS` | `CURRENT` | | |
| API token | `TOKEN#<id>` | `TOKEN` | `TOKENS` / `<created>#<id>` | |
| service principal | `PRINCIPAL#<client id>` | `PRINCIPAL` | `PRINCIPALS` / `<created>#<client id>` | |
| a token's or service principal's name, claimed by it | `NAME#<name in lower case>` | `NAME` | | |
| audit event | `EVENTS#<b>` (registry-wide: `EVENTS#`) | `EVENT#<time>#<id>` | | |
| bulk revocation job | `REVOCATION#<id>` | `JOB` | | `REVOCATIONS_PENDING` / `<created>#<id>` (sparse: until it is done) |
| HCP organization and project | `REGISTRY` | `LOCATION` | | |
| bucket access policy (its bindings; each member's item holds its own as `buckets`) | `BUCKET#<b>` | `ACCESS` | | |
| retention policy (with the sweep's progress in the bucket) | `BUCKET#<b>` | `RETENTION` | `RETENTION` / `<b>` (sparse: the buckets with a policy) | |
| the run task's HMAC key | `REGISTRY` | `RUNTASK` | | |
| webhook | `WEBHOOK#<id>` | `WEBHOOK` | `WEBHOOKS` / `<created>#<id>` | |
| webhook delivery attempt | `WEBHOOK#<id>` | `DELIVERY#<time>#<delivery id>#<attempt:03>` | | |

Access patterns: list buckets = Query GSI1 `BUCKETS` (by name prefix: `begins_with`); get
bucket = GetItem; list versions newest first = reverse Query GSI1 `VERSIONS#<b>`, by status
GSI3 `VERSIONS#<b>#<status>`, by platform reverse Query `begins_with(SK, PLATFORM#<platform>#)`
then BatchGet (other filters: a FilterExpression on the page, or tested on what the BatchGet
read); version with its builds = one Query
`begins_with(SK, VERSION#<n>)`; version by fingerprint = GetItem on the fingerprint item,
then that Query; which versions made an artifact = Query `ARTIFACT#<id>` `begins_with(SK, BUCKET#)`;
the newest of them for many artifacts = BatchGetItem of `ARTIFACT#<id>` / `NEWEST` (the Query for
an ID without one); what recording a run reads first = one BatchGetItem of the bucket, the
fingerprint, the run's `NEWEST` items and its `RUN#<uuid>` items; ingestions newest
first = reverse Query GSI1 `INGESTIONS`, by status GSI2 `INGESTIONS#<status>` (a time range:
`BETWEEN` on the sort key); channels of
a bucket = Query `begins_with(SK, CHANNEL#)`; a channel (and the consumer query) = GetItem;
its history newest first = reverse Query `begins_with(SK, HISTORY#<name>#)`; where it pointed
at a moment T = reverse Query `SK BETWEEN HISTORY#<name># AND HISTORY#<name>#<T>~`, Limit 1;
due scheduled revocations = Query GSI2 `REVOKE_DUE` with `GSI2SK <= now` (sparse: only scheduled
versions); children of a version = Query `begins_with(SK, CHILD#<n:010>#)` (the descendant
tree: a page of them with a Limit, resumed from an opaque cursor inside its sealed token); channels that hold a
revoked version = Query GSI2 `REVOKED_CHANNELS`; upcoming scheduled revocations = Query GSI2
`REVOKE_DUE` with `GSI2SK > now`; a large version's serving copy = Query
`begins_with(SK, COPY#<n:010>#<generation>#)`; the sweep reads the `SWEEP#…` partitions, whose
size follows recent changes, not the size of the registry;
a bucket's audit events newest first = reverse Query `EVENTS#<b>` (a time range: `SK BETWEEN`); a draft with its builds =
Query `begins_with(SK, DRAFT#<fp>#)`; drafts quiet since a moment (abandoned), oldest activity first = Query
GSI2 `DRAFTS` with `GSI2SK <= <moment>`; a version by id = GetItem `ID#<ulid>`, then by fingerprint;
a build's packages by name = Query `begins_with(SK, PACKAGE#<fp>#<build id>#<name prefix>)`, a bucket's = Query GSI1
`PACKAGES#<b>` (`begins_with` a name prefix), the builds holding a purl = Query GSI2 `PURL#<purl>`;
tokens and service principals = Query GSI1 `TOKENS` / `PRINCIPALS`, one of them = GetItem (its bucket
bindings with it), who holds a name = GetItem `NAME#<name>`; a bucket's access policy = BatchGetItem of
the bucket and `ACCESS`, its members = BatchGetItem of their items; the
HCP organization and project, the run task's HMAC key = GetItem `REGISTRY`; webhooks = Query
GSI1 `WEBHOOKS`, one = GetItem; a webhook's deliveries newest first = reverse Query
`begins_with(SK, DELIVERY#)` of its partition; a bucket's retention
policy = GetItem; buckets with a policy = Query GSI1 `RETENTION` after the last one done; a
bucket's versions oldest first from a number = Query GSI1 `VERSIONS#<b>` with `GSI1SK > VERSION#<n>`.
"""

from typing import TYPE_CHECKING, Any

from .errors import BadToken, ConditionFailed, NotFound, StorageError, Throttled, TooLarge
from .expressions import Action
from .table import ITEM_BYTES, TRANSACTION_BYTES, TRANSACTION_LIMIT, action_size, backoff, item_size, transact

# The item families load on first use (PEP 562): the consumer query's cold start needs
# `channels` only, not drafts, credentials, the sweep's or the registry's modules.
FAMILIES = ("access", "buckets", "channels", "credentials", "drafts", "enforced", "events", "ingestions",
            "registry", "retention", "revocations", "sboms", "sweep", "versions", "vulns", "webhooks")
if TYPE_CHECKING:  # mypy and editors see them as plain submodules
    from . import (access, buckets, channels, credentials, drafts, enforced, events, ingestions, registry,
                   retention, revocations, sboms, sweep, versions, vulns, webhooks)


def __getattr__(name: str) -> Any:
    if name in FAMILIES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")  # also binds it here: next time no call
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "access", "buckets", "channels", "credentials", "drafts", "enforced", "events", "ingestions", "registry",
    "retention", "revocations", "sboms", "sweep", "versions", "vulns", "webhooks",
    "BadToken", "ConditionFailed", "NotFound", "StorageError", "Throttled", "TooLarge",
    "Action", "ITEM_BYTES", "TRANSACTION_BYTES", "TRANSACTION_LIMIT", "action_size", "backoff", "item_size", "transact",
]
