"""What the HCP routes of vulnerabilities answer (services/vulns.py), in hcp-sdk-go's shapes:
ListBucketVulnerabilities `{"vulnerabilities": [{vulnerability, impacted_builds,
impacted_channels, impacted_packages}], "pagination"}`, ListBucketPackagesWithVulnerabilities
`{"packages": [{name, version, purl, sboms, build_id, build_name, channel_id, channel_name,
vuln_details: [{last_scanned_at, vulnerabilities}]}], "pagination"}`,
ListBucketPackagesVulnerabilitySummary `{total_by_criticality, packages_by_criticality,
channels_by_criticality}`.

A vulnerability: `identifier`, `description`, `severity` (`CRITICAL` … `LOW`, absent when
unknown), `criticality` (`Critical` … `Unknown`), `fixed_version`, `published_at`,
`first_seen_at`, `refers_to` (its aliases), `related`, `withdrawn_at`. Channels are the ones
holding the versions concerned now (a viewer does not see restricted ones); a package row is
one package of one build, and one per channel holding its version. `criticality` (repeated or
comma-separated, either spelling), `identifier` and `identifier_starts_with` narrow the lists;
`package_name`, `package_name_starts_with`, `package_version` the packages' (by key where they
can, else a filter on the page read, which may then be short).
"""

from __future__ import annotations

from typing import Any

from chalice.app import Request

from ...domain import vulns as rules
from ...errors import BadRequest
from ...runtime.clock import now_iso
from ...services import vulns
from ...storage.entities import Package
from ..http import query
from .requests import page
from .resources import _pagination
from .sboms import _in_bucket, _narrowed, _sbom

Json = dict[str, Any]
Held = dict[str, list[dict[str, Any]]]  # channels by the fingerprint of the version they hold


def vulnerabilities(bucket: str, request: Request, see_restricted: bool) -> Json:
    limit, token = page(request)
    ratings, identifier, prefix = _filters(request)
    found, next_token = _in_bucket(bucket, lambda: vulns.vulnerabilities_page(bucket, token, limit, identifier, prefix))
    kept = [v for v in found if not ratings or v.rating in ratings]
    held = vulns.channels_by_version(bucket, see_restricted) if kept else {}
    return {"vulnerabilities": [{
        "vulnerability": _vulnerability(v.attributes()),
        "impacted_builds": [{"id": b["id"], "name": b["name"]} for b in v.builds],
        "impacted_channels": _channels(held, {b["fingerprint"] for b in v.builds}),
        "impacted_packages": [{k: p[k] for k in ("name", "version", "purl") if p.get(k)} for p in v.packages],
    } for v in kept], "pagination": _pagination(next_token)}


def packages(bucket: str, request: Request, see_restricted: bool) -> Json:
    limit, token = page(request)
    ratings, identifier, prefix = _filters(request)
    found, next_token = _in_bucket(bucket, lambda: vulns.packages_page(bucket, token, limit, **_narrowed(request)))
    rows = [r for r in _rows(found, ratings, identifier, prefix) if r["findings"]]
    held = vulns.channels_by_version(bucket, see_restricted) if rows else {}
    return {"packages": [shaped for row in rows for shaped in _package(row, held)],
            "pagination": _pagination(next_token)}


def summary(bucket: str, see_restricted: bool) -> Json:
    made = _in_bucket(bucket, lambda: vulns.summary(bucket))
    if made is None:
        return {"total_by_criticality": [], "packages_by_criticality": [], "channels_by_criticality": []}
    held = vulns.channels_by_version(bucket, see_restricted)
    by_channel = {(c["name"], c["id"]): counts for fp, counts in made.versions.items() for c in held.get(fp, [])}
    return {
        "total_by_criticality": [{
            "criticality": rules.CRITICALITY[r], "vulnerability_count": str(made.totals[r]["count"]),
            "first_seen_at": made.totals[r]["first_seen_at"],
            "average_age_days_for_criticality": rules.average_age_days(made.totals[r], now_iso()),
        } for r in rules.RATINGS if r in made.totals],
        "packages_by_criticality": [{
            "criticality": rules.CRITICALITY[p["rating"]], "package_name": p["name"], "package_version": p["version"],
            "package_purl": p["purl"], "vulnerability_count": str(p["count"]),
        } for p in made.packages],
        "channels_by_criticality": [{
            "channel_id": channel_id, "channel_name": name, "criticality": rules.CRITICALITY[r],
            "vulnerability_count": str(counts[r]),
        } for (name, channel_id), counts in sorted(by_channel.items()) for r in rules.RATINGS if counts.get(r)],
    }


def _filters(request: Request) -> tuple[set[str], str | None, str | None]:
    """The ratings `criticality` names (400 for one that is none), `identifier`, `identifier_starts_with`."""
    params = request.query_params
    listed = params.getlist("criticality") if params and "criticality" in params else []
    asked = [c for value in listed for c in value.split(",") if c.strip()]
    ratings = {rules.rating_of(c) for c in asked}
    if None in ratings:
        raise BadRequest(f"criticality must be among {', '.join(rules.CRITICALITY.values())} (or "
                         f"{', '.join(rules.RATINGS)}), not {', '.join(repr(c) for c in asked)}")
    plain = query(request)
    return {r for r in ratings if r}, plain.get("identifier") or None, plain.get("identifier_starts_with") or None


def _rows(found: list[Package], ratings: set[str], identifier: str | None, prefix: str | None) -> list[Json]:
    """One row per package of a build (its SBOMs together), its findings as the filters keep them."""
    rows: dict[tuple[str, ...], Json] = {}
    for item in found:
        row = rows.setdefault((item.name, item.version, item.purl, item.fingerprint, item.build_id), {
            "package": item, "sboms": [], "scanned_at": item.scanned_at,
            "findings": rules.matching(item.vulns or [], ratings, identifier, prefix)})
        if _sbom(item.sbom_id, item.sbom_name, item.sbom_format) not in row["sboms"]:
            row["sboms"].append(_sbom(item.sbom_id, item.sbom_name, item.sbom_format))
        row["scanned_at"] = max(row["scanned_at"] or "", item.scanned_at or "") or None
    return list(rows.values())


def _package(row: Json, held: Held) -> list[Json]:
    """A row as HCP Packer's Package, once per channel holding its version (once with none)."""
    item: Package = row["package"]
    shaped = {k: v for k, v in {
        "name": item.name, "version": item.version, "purl": item.purl, "sboms": row["sboms"],
        "build_id": item.build_id, "build_name": item.component_type,
        "vuln_details": [{**({"last_scanned_at": row["scanned_at"]} if row["scanned_at"] else {}),
                          "vulnerabilities": [_vulnerability(f) for f in row["findings"]]}],
    }.items() if v != ""}
    channels = _channels(held, {item.fingerprint})
    return [{**shaped, "channel_id": c["id"], "channel_name": c["name"]} for c in channels] or [shaped]


def _channels(held: Held, fingerprints: set[str]) -> list[Json]:
    """The channels holding any of these versions, by name, once each."""
    named = {c["name"]: c["id"] for fp in fingerprints for c in held.get(fp, [])}
    return [{"id": named[name], "name": name} for name in sorted(named)]


def _vulnerability(finding: Json) -> Json:
    rating = finding.get("rating") or "UNKNOWN"
    return {k: v for k, v in {
        "identifier": finding.get("id"), "description": finding.get("description"),
        "severity": rating if rating != "UNKNOWN" else None, "criticality": rules.CRITICALITY[rating],
        "fixed_version": finding.get("fixed_version"), "published_at": finding.get("published_at"),
        "first_seen_at": finding.get("first_seen_at"), "refers_to": finding.get("refers_to"),
        "related": finding.get("related"), "withdrawn_at": finding.get("withdrawn_at"),
    }.items() if v}
