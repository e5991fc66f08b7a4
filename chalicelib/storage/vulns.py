"""Vulnerabilities of the packages SBOMs list (services/vulns.py): what the sweep checks, what
OSV answered, and what the three HCP lists read.

- **Work for the sweep**, partition `SWEEP#VULNS`: the purls of each SBOM uploaded
  (`P#<time>#<id>`, a few hundred kilobytes of purls an item), and the buckets whose rows and
  summary are to be made again (`B#<bucket>`, one per bucket, with the time it last changed).
- **Checks**: `PURL#<purl>` / `CHECKED`, when a purl was last asked of OSV and the ids it had;
  GSI1 `VULN_CHECKS` / `<checked at>#<purl digest>`: the checks oldest first, so the rechecks
  due are one Query.
- **OSV's records**, `VULN#<id>` / `OSV` (domain/vulns.py `record`), read again from OSV only
  when a check says it was modified since.
- **A package's findings** on its own item (`vulns`, `scanned_at`), so they go with it; the ones
  that have some are in GSI3 `VULNERABLE#<bucket>` / `<name>#<version>#<purl digest>#<fp>#<build
  id>#<sbom id>`: ListBucketPackagesWithVulnerabilities is one Query a page of it.
- **A bucket's rows and summary**, in its partition (they go with it): `VULNERABILITY#<id>`, one
  per vulnerability with the builds and packages it impacts (ListBucketVulnerabilities: one
  Query a page), and `VULNSUMMARY` (ListBucketPackagesVulnerabilitySummary: one GetItem). The
  sweep makes them again from GSI3 when the bucket's findings change.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from . import keys, table
from .entities import Entity, Package
from .errors import ConditionFailed
from .expressions import Change, Filter
from .pages import list_page
from .schema import GSI1, GSI2, GSI3, GSI3PK, GSI3SK, PK, SK
from .sboms import narrowed

QUEUED_BYTES = 300_000  # purls in one queued item at most (an item holds 400 KB)
LISTED = 1_000  # builds and packages one vulnerability row lists, packages the summary lists, at most


@dataclass(repr=False, eq=False)
class QueuedPurls(Entity):
    """Purls an SBOM brought, to check (sweep_work VULNS noted with them)."""

    at: str
    id: str
    purls: list[str]

    def item_key(self) -> keys.Key:
        return keys.queued_purls(self.at, self.id)


@dataclass(repr=False, eq=False)
class ChangedBucket(Entity):
    """A bucket whose findings changed at `at` (a version or SBOM deleted, a check)."""

    bucket: str
    at: str

    def item_key(self) -> keys.Key:
        return keys.changed_bucket(self.bucket)


@dataclass(repr=False, eq=False)
class PurlCheck(Entity):
    purl: str
    checked_at: str
    vulns: list[str] = field(default_factory=list)

    def item_key(self) -> keys.Key:
        return keys.purl_check(self.purl)

    def index(self) -> keys.Key:
        return keys.purl_check_index(self.checked_at, self.purl)


@dataclass(repr=False, eq=False)
class Record(Entity):
    """An OSV record as kept (domain/vulns.py record)."""

    id: str
    modified: str
    rating: str
    description: str = ""
    published: str | None = None
    withdrawn: str | None = None
    aliases: list[str] = field(default_factory=list)
    related: list[str] = field(default_factory=list)
    affected: list[dict[str, Any]] = field(default_factory=list)
    missing: bool | None = None  # OSV matched the id but has no record of it (a 404): not read again

    def item_key(self) -> keys.Key:
        return keys.vulnerability(self.id)


@dataclass(repr=False, eq=False)
class BucketVulnerability(Entity):
    """One vulnerability of a bucket's packages: the finding (domain/vulns.py aggregate) with
    the builds (`id`, `name`, `fingerprint`) and packages it impacts (LISTED of each at most)."""

    bucket: str
    id: str
    rating: str
    first_seen_at: str
    builds: list[dict[str, Any]]
    packages: list[dict[str, Any]]
    description: str | None = None
    fixed_version: str | None = None
    published_at: str | None = None
    withdrawn_at: str | None = None
    refers_to: str | None = None
    related: str | None = None

    def item_key(self) -> keys.Key:
        return keys.bucket_vulnerability(self.bucket, self.id)


@dataclass(repr=False, eq=False)
class Summary(Entity):
    """A bucket's summary (domain/vulns.py aggregate): totals by rating, packages by rating
    (LISTED at most, most severe first), versions by fingerprint and rating."""

    bucket: str
    made_at: str
    totals: dict[str, dict[str, Any]]
    packages: list[dict[str, Any]]
    versions: dict[str, dict[str, int]]

    def item_key(self) -> keys.Key:
        return keys.vulnerability_summary(self.bucket)


# ---- work for the sweep ------------------------------------------------------------------

def queue(purls: Iterable[str], now: str) -> None:
    """Queue purls for a check, in items of at most QUEUED_BYTES of them (BatchWriteItem)."""
    items: list[list[str]] = []
    chunk: list[str] = []
    size = 0
    for purl in dict.fromkeys(purls):
        if chunk and size + len(purl) > QUEUED_BYTES:
            items.append(chunk)
            chunk, size = [], 0
        chunk.append(purl)
        size += len(purl) + 4
    items += [chunk] if chunk else []
    table.put_many([QueuedPurls(now, secrets.token_hex(4), c).to_item() for c in items])


def changed(buckets: Iterable[str], now: str) -> None:
    """Note that these buckets' rows and summary are to be made again (BatchWriteItem)."""
    table.put_many([ChangedBucket(b, now).to_item() for b in sorted(set(buckets))])


def queued(limit: int) -> tuple[list[QueuedPurls], list[ChangedBucket], bool]:
    """The work queued, oldest purls first, then the changed buckets: one Query of `limit`
    items; whether more is queued."""
    items, last = table.query_page(keys.VULN_QUEUE, limit=limit)
    purls = [QueuedPurls.from_item(i) for i in items if str(i[SK]).startswith("P#")]
    return purls, [ChangedBucket.from_item(i) for i in items if str(i[SK]).startswith("B#")], last is not None


def checked_queue(done: list[QueuedPurls]) -> None:
    table.delete_many([d.item_key() for d in done])


def remade(bucket: ChangedBucket) -> None:
    """The bucket's rows are made again: its entry goes, unless it changed since it was read."""
    try:
        table.transact([Change(bucket.item_key()).equals("at", bucket.at).delete()])
    except ConditionFailed:
        pass


# ---- checks and records -------------------------------------------------------------------

def oldest_checks(limit: int) -> list[PurlCheck]:
    """The `limit` checks made longest ago (one Query of GSI1 `VULN_CHECKS`)."""
    return [PurlCheck.from_item(i) for i in table.query_page(keys.PURL_CHECKS, index=GSI1, limit=limit)[0]]


def checks(purls: Iterable[str]) -> dict[str, PurlCheck]:
    """The last checks of these purls (BatchGetItem, 100 a call)."""
    return {c.purl: c for c in map(PurlCheck.from_item, table.get_many([keys.purl_check(p) for p in purls]))}


def save_checks(done: list[PurlCheck]) -> None:
    table.put_many([c.to_item() for c in done])


def records(ids: Iterable[str]) -> dict[str, Record]:
    """OSV's records as kept (BatchGetItem, 100 a call)."""
    return {r.id: r for r in map(Record.from_item, table.get_many([keys.vulnerability(i) for i in ids]))}


def save_records(kept: list[dict[str, Any]]) -> None:
    table.put_many([Record(**r).to_item() for r in kept])


# ---- packages -------------------------------------------------------------------------------

def holders(purl: str) -> list[Package]:
    """Every package item with this purl, in any bucket (Query GSI2 `PURL#<purl>`, every page)."""
    return [Package.from_item(i) for i in table.query_all(keys.purl_pk(purl), index=GSI2)]


def set_findings(package: Package, vulns: list[dict[str, Any]], now: str) -> bool:
    """Write a package's findings on its item (UpdateItem), in or out of its bucket's
    vulnerable packages; False when the item is gone (its version was deleted meanwhile: the
    condition keeps it gone)."""
    index = keys.vulnerable_package_index(package.bucket, package.fingerprint, package.build_id, package.order,
                                          package.sbom_id)
    change = Change(package.item_key()).exists().set("vulns", vulns or None).set("scanned_at", now)
    change = change.set_all(index) if vulns else change.remove(GSI3PK, GSI3SK)
    try:
        change.apply()
    except ConditionFailed:
        return False
    return True


def vulnerable_page(bucket: str, token: str | None, limit: int, *, name: str | None = None,
                    name_prefix: str | None = None, version: str | None = None) -> tuple[list[Package], str | None]:
    """A page of the bucket's packages with vulnerabilities, by name then build: one Query of
    GSI3, narrowed as the package lists are (storage/sboms.py); a package's SBOMs of one build
    stay on one page."""
    prefix, where = narrowed(name, name_prefix, version)
    items, next_token = list_page(f"{keys.VULNERABLE}{bucket}", token, index=GSI3, prefix=prefix or None, limit=limit,
                                  where=where, group=lambda i: (i["name"], i["version"], i["purl"], i["fingerprint"],
                                                                i["build_id"]))
    return [Package.from_item(i) for i in items], next_token


def vulnerable_packages(bucket: str) -> list[Package]:
    """Every package of the bucket with vulnerabilities (Query GSI3, every page: the sweep's)."""
    return [Package.from_item(i) for i in table.query_all(f"{keys.VULNERABLE}{bucket}", index=GSI3)]


# ---- a bucket's rows and summary ------------------------------------------------------------

def save_aggregates(bucket: str, rows: list[dict[str, Any]], summary: dict[str, Any], now: str) -> None:
    """Replace the bucket's rows and summary: the rows' keys read (one Query, keys only), the
    new ones and the summary put, the ones gone deleted (BatchWriteItem, 25 a call)."""
    before = {i[SK] for i in table.query_all(keys.bucket_pk(bucket), prefix=keys.VULNERABILITIES,
                                              projection=f"{PK}, {SK}")}
    made = [BucketVulnerability(bucket=bucket, **{**r, "builds": r["builds"][:LISTED],
                                                  "packages": r["packages"][:LISTED]}).to_item() for r in rows]
    table.put_many([*made, Summary(bucket, now, summary["totals"], summary["packages"][:LISTED],
                                   summary["versions"]).to_item()])
    table.delete_many([{PK: keys.bucket_pk(bucket), SK: sk} for sk in before - {i[SK] for i in made}])


def vulnerabilities_page(bucket: str, token: str | None, limit: int, identifier: str | None,
                         prefix: str | None) -> tuple[list[BucketVulnerability], str | None]:
    """A page of the bucket's vulnerabilities by id: one Query (`identifier` exactly, or ids
    starting with `prefix`, by key)."""
    where = Filter()
    if identifier is not None:
        where.equals("id", identifier)
    items, next_token = list_page(keys.bucket_pk(bucket), token,
                                  prefix=keys.VULNERABILITIES + (identifier or prefix or ""), limit=limit, where=where)
    return [BucketVulnerability.from_item(i) for i in items], next_token


def summary(bucket: str) -> Summary | None:
    """The bucket's summary (GetItem); None before any vulnerability was found in it."""
    item = table.get(keys.vulnerability_summary(bucket))
    return Summary.from_item(item) if item else None


def channel_holdings(bucket: str) -> list[dict[str, Any]]:
    """The bucket's channels with the version each holds: name, created_at (its id is made from
    them), fingerprint, restricted (one Query of its channels, those attributes only)."""
    items = table.query_all(keys.bucket_pk(bucket), prefix=keys.CHANNELS,
                            projection=f"{SK}, created_at, fingerprint, restricted")
    return [{"name": i[SK][len(keys.CHANNELS):], "created_at": i.get("created_at"), "fingerprint": i.get("fingerprint"),
             "restricted": bool(i.get("restricted"))} for i in items]
