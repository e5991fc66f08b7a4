"""The vulnerabilities of the packages SBOMs list: found by the sweep in OSV (services/osv.py,
rules in domain/vulns.py, items in storage/vulns.py), read by the three HCP lists.

**The sweep's step** (`step`), each run, when there is work:
1. takes the purls uploaded since (the queue UploadSbom fills: `queue_upload`) and the purls
   whose last check is older than VULN_RECHECK (a duration, default 24h), PURLS_PER_RUN at
   most, uploaded ones first;
2. asks OSV which vulnerabilities match them (a querybatch per 1,000), and reads the records
   it does not have or that were modified since (GET /v1/vulns/{id}, RECORDS_PER_RUN a run
   at most, FETCHERS at once); a purl whose records are not all read waits for the next run
   (those read are kept, so each run gets further);
3. writes each package item holding a checked purl that has vulnerabilities, or had, with its
   findings (only those that changed; an item deleted meanwhile stays deleted);
4. makes again the rows and summary of the buckets whose findings changed (and of those a
   deleted version or SBOM changed, once SETTLE_SECONDS old: their index is then current),
   BUCKETS_PER_RUN at most (the rest queued for the next run).
It costs nothing when there is nothing to do: the queue is read only while the counts item
says something was queued since a read found it empty (domain/sweep_work.py, kind VULNS), and
the checks only once the oldest is due (`vulns_oldest_check` on that item). VULN_SOURCE=off
skips the step; OSV unreachable or answering otherwise than documented leaves the work
queued (a warning in the log).
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from . import osv
from .. import storage
from ..domain import ids, sweep_work, vulns as rules
from ..domain.enums import SweepWork
from ..runtime import settings
from ..runtime.clock import iso, now_iso, parse_utc
from ..runtime.observability import logger
from ..storage.entities import Counts, Package
from ..storage.vulns import BucketVulnerability, ChangedBucket, PurlCheck, QueuedPurls, Summary

PURLS_PER_RUN = 2_000
RECORDS_PER_RUN = 300
FETCHERS = 8
QUEUE_READ = 100  # queued items read a run
BUCKETS_PER_RUN = 20
RECHECK_VARIABLE, RECHECK_DEFAULT = "VULN_RECHECK", "24h"


# ---- what uploads and deletions leave for the step -------------------------------------

def queue_upload(purls: Iterable[str], now: str) -> bool:
    """Queue an SBOM's purls that can be asked (those with a version) for the next sweep
    (BatchWriteItem); whether any was (the caller notes the work in its transaction)."""
    asked = sorted({p for p in purls if rules.asked(p)})
    if asked:
        storage.vulns.queue(asked, now)
    return bool(asked)


def bucket_changed(bucket: str) -> None:
    """A version or SBOM of the bucket was deleted: its rows and summary are made again by a
    later sweep (a BatchWriteItem and the note, an UpdateItem). A failure is logged, never
    raised: the deletion is done."""
    now = now_iso()
    try:
        storage.vulns.changed([bucket], now)
        storage.transact([storage.sweep.note_work(SweepWork.VULNS, now)])
    except Exception as exc:  # noqa: BLE001 - logged: the deletion it follows has happened
        logger.error("vulnerability summary not queued", extra={"bucket": bucket, "error": str(exc)})


# ---- the sweep's step -----------------------------------------------------------------------

def step(state: Counts, look: set[SweepWork], places: dict[str, str | None]) -> tuple[dict[str, Any], bool]:
    """One run of the step (the module's docstring): what it did, and whether the queue held
    anything (False lets the sweep mark the queue idle). Sets `places["vulns_oldest_check"]`."""
    if not osv.enabled():
        return {"source": "off"}, True
    now = now_iso()
    cutoff = iso(parse_utc(now) - settings.duration(RECHECK_VARIABLE, RECHECK_DEFAULT))
    queued, buckets, more = storage.vulns.queued(QUEUE_READ) if SweepWork.VULNS in look else ([], [], False)
    taken: list[QueuedPurls] = []
    purls: dict[str, None] = {}
    for item in queued:
        if taken and len(purls) + len(item.purls) > PURLS_PER_RUN:
            break
        taken.append(item)
        purls.update(dict.fromkeys(item.purls))
    oldest = state.vulns_oldest_check
    if oldest is not None and oldest <= cutoff:
        room = max(PURLS_PER_RUN - len(purls), 1)
        read = storage.vulns.oldest_checks(room + 1)
        due = [c for c in read[:room] if c.checked_at <= cutoff]
        purls.update(dict.fromkeys(c.purl for c in due))
        oldest = read[len(due)].checked_at if len(read) > len(due) else None
    found = bool(queued or buckets or more)
    report: dict[str, Any] = {"purls_checked": 0, "packages_changed": 0, "buckets_remade": 0}
    try:
        done, fresh = _check(list(purls), now, report)
    except osv.Unavailable as exc:
        logger.warning(f"vulnerabilities not checked: {exc}")
        return {**report, "error": str(exc)}, True
    if done:
        oldest = min(oldest or now, now)
    places["vulns_oldest_check"] = oldest
    storage.vulns.checked_queue([t for t in taken if done.issuperset(t.purls)])
    settled = iso(parse_utc(now) - timedelta(seconds=sweep_work.SETTLE_SECONDS))
    _remake(fresh, [b for b in buckets if b.at <= settled], now, report)
    return report, found


def _check(purls: list[str], now: str, report: dict[str, Any]) -> tuple[set[str], dict[str, dict[str, Package]]]:
    """Check purls against OSV and write the findings that changed: the purls done, and the
    package items written, by bucket and key."""
    if not purls:
        return set(), {}
    asked = {p: rules.asked(p) or p for p in purls}
    matches = osv.query(sorted(set(asked.values())))
    wanted = {m["id"]: m["modified"] for found in matches.values() for m in found}
    records, left = _records(wanted)
    before = storage.vulns.checks(purls)
    done: set[str] = set()
    checks: list[PurlCheck] = []
    fresh: dict[str, dict[str, Package]] = {}
    for purl in purls:
        ids = [m["id"] for m in matches.get(asked[purl], [])]
        if left.intersection(ids):
            continue
        kept = [records[i] for i in dict.fromkeys(ids) if i in records]
        had = before.get(purl)
        if kept or (had and had.vulns):
            for package in storage.vulns.holders(purl):
                if _write(package, kept, now):
                    fresh.setdefault(package.bucket, {})[str(package.item_key()["SK"])] = package
        done.add(purl)
        checks.append(PurlCheck(purl, now, [r["id"] for r in kept]))
    storage.vulns.save_checks(checks)
    report["purls_checked"] = len(done)
    report["packages_changed"] = sum(len(p) for p in fresh.values())
    return done, fresh


def _records(wanted: dict[str, str]) -> tuple[dict[str, dict[str, Any]], set[str]]:
    """The records of these ids (id → `modified` as OSV matched it): those kept and current,
    the others read from OSV (RECORDS_PER_RUN at most, then kept); and the ids left unread."""
    kept = {i: r.attributes() for i, r in storage.vulns.records(wanted).items()}
    stale = [i for i, modified in wanted.items() if i not in kept or (modified and kept[i]["modified"] != modified)]
    fetch = stale[:RECORDS_PER_RUN]
    with ThreadPoolExecutor(FETCHERS) as pool:
        read = [rules.record(r) for r in pool.map(osv.record, fetch) if r and r.get("id")]
    missing = [{"id": i, "modified": wanted[i], "rating": "UNKNOWN", "missing": True}
               for i in sorted(set(fetch) - {r["id"] for r in read})]  # OSV has no record: kept as such
    storage.vulns.save_records([*read, *missing])
    kept.update({r["id"]: r for r in [*read, *missing]})
    return {i: r for i, r in kept.items() if not r.get("missing")}, set(stale[RECORDS_PER_RUN:])


def _write(package: Package, kept: list[dict[str, Any]], now: str) -> bool:
    """Write a package's findings if they changed; whether they were written."""
    new = rules.findings(kept, package.purl, package.version, package.vulns or [], now)
    if new == (package.vulns or []) or not storage.vulns.set_findings(package, new, now):
        return False
    package.vulns, package.scanned_at = new or None, now
    return True


def _remake(fresh: dict[str, dict[str, Package]], changed: list[ChangedBucket], now: str,
            report: dict[str, Any]) -> None:
    """Make again the rows and summary of the buckets this run changed (with the items it
    wrote as written: the index may not show them yet) and of the settled changed ones."""
    names = list(dict.fromkeys([*sorted(fresh), *(c.bucket for c in changed)]))
    for bucket in names[:BUCKETS_PER_RUN]:
        packages = {str(p.item_key()["SK"]): p for p in storage.vulns.vulnerable_packages(bucket)}
        packages.update(fresh.get(bucket, {}))
        rows, summary = rules.aggregate(p.attributes() for p in packages.values() if p.vulns)
        storage.vulns.save_aggregates(bucket, rows, summary, now)
    for entry in changed:
        if entry.bucket in names[:BUCKETS_PER_RUN]:
            storage.vulns.remade(entry)
    if names[BUCKETS_PER_RUN:]:
        storage.vulns.changed(names[BUCKETS_PER_RUN:], now)
        storage.transact([storage.sweep.note_work(SweepWork.VULNS, now)])
    report["buckets_remade"] = len(names[:BUCKETS_PER_RUN])


# ---- the reads ------------------------------------------------------------------------------

def packages_page(bucket: str, token: str | None, limit: int, **narrowed: str | None
                  ) -> tuple[list[Package], str | None]:
    """A page of the bucket's packages with vulnerabilities (one Query; `name`, `name_prefix`,
    `version` narrow it); the bucket's read too when the page ends an empty list, so that a
    missing bucket is a 404."""
    found, next_token = storage.vulns.vulnerable_page(bucket, token, limit, **narrowed)
    if not found and not next_token:
        _require(bucket)
    return found, next_token


def vulnerabilities_page(bucket: str, token: str | None, limit: int, identifier: str | None,
                         prefix: str | None) -> tuple[list[BucketVulnerability], str | None]:
    """A page of the bucket's vulnerabilities by id (one Query), as packages_page."""
    found, next_token = storage.vulns.vulnerabilities_page(bucket, token, limit, identifier, prefix)
    if not found and not next_token:
        _require(bucket)
    return found, next_token


def summary(bucket: str) -> Summary | None:
    """The bucket's summary (a GetItem); None, after the bucket's read, when it has none yet."""
    found = storage.vulns.summary(bucket)
    if found is None:
        _require(bucket)
    return found


def channels_by_version(bucket: str, see_restricted: bool) -> dict[str, list[dict[str, Any]]]:
    """The channels holding each version (by fingerprint): each channel's `name` and `id`;
    restricted ones only for who sees them. One Query of the bucket's channels."""
    held: dict[str, list[dict[str, Any]]] = {}
    for channel in storage.vulns.channel_holdings(bucket):
        if channel["fingerprint"] and (see_restricted or not channel["restricted"]):
            held.setdefault(channel["fingerprint"], []).append(
                {"name": channel["name"], "id": ids.channel_id(bucket, channel["name"], channel["created_at"])})
    return held


def _require(bucket: str) -> None:
    from . import buckets  # only an empty answer needs it

    buckets.require(bucket, consistent=False)
