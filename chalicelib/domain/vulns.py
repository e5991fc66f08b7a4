"""Vulnerabilities of the packages SBOMs list, from OSV records (pure rules; services/vulns.py
fetches the records and stores what these functions make).

- **What is asked**: a package's purl as the SBOM spells it, less its qualifiers and subpath
  (`pkg:deb/debian/openssl@3.0.11-1?arch=amd64` is asked as `pkg:deb/debian/openssl@3.0.11-1`,
  the form OSV documents); a purl without a version is never asked (OSV would answer for
  every version of the package).
- **Rating** (`rating`): the base score of the newest CVSS vector the record gives (CVSS 4.0,
  3.x, then 2.0; in `severity`, else in the affected package's), rated as CVSS rates it
  (9.0 and over critical, 7.0 high, 4.0 medium, low below; a score of 0.0, CVSS's "none", is
  low); without a vector that reads, the source's own word (`database_specific.severity`, of
  the record or the affected package, or `ecosystem_specific.severity`; GitHub's `MODERATE`
  is medium, `IMPORTANT` high, `NEGLIGIBLE` low), or an `Ubuntu` priority; else unknown.
  HCP Packer answers it twice: `severity` upper case (`CRITICAL`, `HIGH`, `MEDIUM`, `LOW`; none
  when unknown) and `criticality` as its SDK spells it (`Critical` … `Unknown`).
- **Fixed version** (`fixed_version`): from the record's `affected` entry for the package
  (its purl without a version, else its name, case-insensitively), the smallest `fixed`
  event above the package's version (versions compared piecewise: numbers as numbers), or,
  when none is above, the highest.
- **Findings**: a package's vulnerabilities as stored on its item (`finding`), keeping when each
  was first seen; a bucket's rows by vulnerability and its summary (`aggregate`) from them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import unquote

RATINGS = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")  # most severe first
CRITICALITY = {"CRITICAL": "Critical", "HIGH": "High", "MEDIUM": "Medium", "LOW": "Low", "UNKNOWN": "Unknown"}
_WORDS = {"CRITICAL": "CRITICAL", "HIGH": "HIGH", "IMPORTANT": "HIGH", "MODERATE": "MEDIUM", "MEDIUM": "MEDIUM",
          "LOW": "LOW", "NEGLIGIBLE": "LOW", "NONE": "LOW"}
CVSS_TYPES = ("CVSS_V4", "CVSS_V3", "CVSS_V2")
DESCRIPTION_CHARS = 500  # a record's summary (else its details) kept on each finding
AFFECTED_KEPT = 50  # affected entries kept of a record (what fixed_version reads); the rest dropped
Record = dict[str, Any]  # a vulnerability as kept from OSV (record())
Finding = dict[str, Any]  # one vulnerability of one package (finding())


def asked(purl: str) -> str | None:
    """What OSV is asked for a purl: without qualifiers and subpath; None without a version."""
    base = purl.split("#", 1)[0].split("?", 1)[0]
    return base if "@" in base.rsplit("/", 1)[-1] else None


def record(osv: Mapping[str, Any]) -> Record:
    """What is kept of an OSV vulnerability (GET /v1/vulns/{id}): its id, `modified`, rating,
    description, dates, aliases and related ids, and per affected package the `fixed` events
    (AFFECTED_KEPT entries at most)."""
    details = str(osv.get("summary") or osv.get("details") or "")
    return {
        "id": str(osv["id"]), "modified": str(osv.get("modified") or ""), "rating": rating(osv),
        "description": details[:DESCRIPTION_CHARS], "published": osv.get("published"), "withdrawn": osv.get("withdrawn"),
        "aliases": [str(a) for a in osv.get("aliases") or []], "related": [str(r) for r in osv.get("related") or []],
        "affected": [_affected(a) for a in (osv.get("affected") or [])[:AFFECTED_KEPT] if isinstance(a, Mapping)],
    }


def _affected(entry: Mapping[str, Any]) -> dict[str, Any]:
    package: Mapping[str, Any] = entry["package"] if isinstance(entry.get("package"), Mapping) else {}
    fixed = [str(e["fixed"]) for r in entry.get("ranges") or [] if isinstance(r, Mapping)
             for e in r.get("events") or [] if isinstance(e, Mapping) and e.get("fixed")]
    return {"name": str(package.get("name") or ""), "purl": str(package.get("purl") or ""), "fixed": fixed}


# ---- rating --------------------------------------------------------------------------------

def rating(osv: Mapping[str, Any]) -> str:
    """The record's rating, one of RATINGS (the module's docstring says from what)."""
    scored = [*_list(osv.get("severity")), *(s for a in _list(osv.get("affected")) for s in _list(a.get("severity")))]
    for kind in CVSS_TYPES:
        for entry in scored:
            if entry.get("type") == kind and (rated := _cvss(kind, str(entry.get("score") or ""))):
                return rated
    words = [_word(osv.get("database_specific"))]
    for affected in _list(osv.get("affected")):
        words += [_word(affected.get("database_specific")), _word(affected.get("ecosystem_specific"))]
    words += [_word({"severity": e.get("score")}) for e in scored if e.get("type") == "Ubuntu"]
    return next((w for w in words if w), "UNKNOWN")


def _list(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _word(specific: Any) -> str | None:
    said = specific.get("severity") if isinstance(specific, Mapping) else None
    return _WORDS.get(said.upper()) if isinstance(said, str) else None


def _cvss(kind: str, vector: str) -> str | None:
    """The rating of a CVSS vector's base score (the `cvss` library computes it); None when
    the vector does not read."""
    import cvss  # only the sweep's vulnerability step reads vectors

    try:
        if kind == "CVSS_V4":
            return _WORDS.get(cvss.CVSS4(vector).severity.upper())
        if kind == "CVSS_V3":
            return _WORDS.get(cvss.CVSS3(vector).severities()[0].upper())
        return _WORDS.get(cvss.CVSS2(vector).severities()[0].upper())
    except (cvss.CVSSError, ValueError, KeyError, IndexError):
        return None


# ---- fixed version ------------------------------------------------------------------------

def fixed_version(kept: Record, purl: str, version: str) -> str | None:
    """The version of the package that fixes the vulnerability (the module's docstring)."""
    base, name = _identity(purl)
    fixes = [f for a in kept.get("affected") or [] if _same_package(a, base, name) for f in a.get("fixed") or []]
    if not fixes:
        return None
    ordered = sorted(set(fixes), key=version_key)
    above = [f for f in ordered if version and version_key(f) > version_key(version)]
    return above[0] if above else ordered[-1]


def _identity(purl: str) -> tuple[str, str]:
    """A purl's form without a version, qualifiers and subpath, and its package name as
    ecosystems write it (`@scope/name` for a scoped npm package), both lower case."""
    head, _, last = purl.split("#", 1)[0].split("?", 1)[0].rpartition("/")
    base = unquote(f"{head}/{last.split('@', 1)[0]}")
    parts = base.split("/")
    name = "/".join(parts[-2:]) if len(parts) > 2 and parts[-2].startswith("@") else parts[-1]
    return base.lower(), name.lower()


def _same_package(affected: Mapping[str, Any], base: str, name: str) -> bool:
    if affected.get("purl"):
        return _identity(str(affected["purl"]))[0] == base
    return str(affected.get("name") or "").lower() == name


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """A version's order: its runs of digits as numbers, the rest as text (numbers after text)."""
    return tuple((1, int(part)) if part.isdigit() else (0, part) for part in re.findall(r"\d+|[^\d.\-+:~_]+", version))


# ---- findings --------------------------------------------------------------------------------

def finding(kept: Record, purl: str, version: str, first_seen: str) -> Finding:
    """One vulnerability of one package, as its package item keeps it."""
    rated = kept.get("rating") or "UNKNOWN"
    return {k: v for k, v in {
        "id": kept["id"], "rating": rated, "description": kept.get("description") or None,
        "fixed_version": fixed_version(kept, purl, version), "published_at": kept.get("published"),
        "withdrawn_at": kept.get("withdrawn"), "first_seen_at": first_seen,
        "refers_to": ",".join(kept.get("aliases") or []) or None, "related": ",".join(kept.get("related") or []) or None,
    }.items() if v is not None}


def findings(records: Iterable[Record], purl: str, version: str, before: Iterable[Finding], now: str) -> list[Finding]:
    """A package's findings from the records OSV matched to its purl, most severe first, then by
    id: each keeps the time it was first seen (`before`: the findings it had), now for new ones."""
    seen = {f["id"]: f.get("first_seen_at") or now for f in before}
    made = [finding(r, purl, version, seen.get(r["id"], now)) for r in records]
    return sorted(made, key=lambda f: (RATINGS.index(f["rating"]), f["id"]))


def matching(found: list[Finding], ratings: set[str], identifier: str | None, prefix: str | None) -> list[Finding]:
    """The findings a list's filters keep: ratings (none: all), an exact id, an id prefix."""
    return [f for f in found if (not ratings or f["rating"] in ratings) and (identifier is None or f["id"] == identifier)
            and (prefix is None or f["id"].startswith(prefix))]


def rating_of(criticality: str) -> str | None:
    """A `criticality` filter's value as a rating (either spelling, any case); None if unknown."""
    word = criticality.strip().upper()
    return word if word in RATINGS else None


# ---- a bucket's aggregates ------------------------------------------------------------------

def aggregate(packages: Iterable[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A bucket's vulnerabilities, one row each (by id), and its summary, from its vulnerable
    packages (each: bucket, fingerprint, build_id, component_type, name, version, purl, vulns).

    A row: the finding (its earliest `first_seen_at`; `fixed_version` only when every package
    it impacts has the same), the builds (id, name, fingerprint) and the packages it impacts.
    The summary: per rating the vulnerabilities (`count`, the earliest and the mean of their
    first-seen times), per package and rating how many, per version (fingerprint) and rating
    how many (channels are joined when read: they move)."""
    rows: dict[str, dict[str, Any]] = {}
    per_package: dict[tuple[str, str, str, str], set[str]] = {}
    per_version: dict[str, dict[str, set[str]]] = {}
    for package in packages:
        for found in package.get("vulns") or []:
            row = rows.setdefault(found["id"], {**found, "builds": [], "packages": [], "fixes": set()})
            row["first_seen_at"] = min(row["first_seen_at"], found["first_seen_at"])
            row["fixes"].add(found.get("fixed_version"))
            build = {"id": package["build_id"], "name": package["component_type"], "fingerprint": package["fingerprint"]}
            listed = {"name": package["name"], "version": package["version"], "purl": package["purl"]}
            for field, value in (("builds", build), ("packages", listed)):
                if value not in row[field]:
                    row[field].append(value)
            per_package.setdefault((package["name"], package["version"], package["purl"], found["rating"]),
                                   set()).add(found["id"])
            per_version.setdefault(package["fingerprint"], {}).setdefault(found["rating"], set()).add(found["id"])
    for row in rows.values():
        fixes = row.pop("fixes")
        row.pop("fixed_version", None)
        if len(fixes) == 1 and None not in fixes:
            row["fixed_version"] = next(iter(fixes))
    return sorted(rows.values(), key=lambda r: r["id"]), _summary(rows.values(), per_package, per_version)


def _summary(rows: Iterable[Mapping[str, Any]], per_package: Mapping[tuple[str, str, str, str], set[str]],
             per_version: Mapping[str, Mapping[str, set[str]]]) -> dict[str, Any]:
    totals: dict[str, dict[str, Any]] = {}
    for row in rows:
        total = totals.setdefault(row["rating"], {"count": 0, "first_seen_at": row["first_seen_at"], "seen_sum": 0})
        total["count"] += 1
        total["first_seen_at"] = min(total["first_seen_at"], row["first_seen_at"])
        total["seen_sum"] += int(_epoch(row["first_seen_at"]))  # whole seconds: DynamoDB takes no float
    ranked = sorted(per_package.items(), key=lambda p: (RATINGS.index(p[0][3]), -len(p[1]), p[0][0], p[0][1]))
    packages = [{"name": n, "version": v, "purl": p, "rating": r, "count": len(ids)} for (n, v, p, r), ids in ranked]
    return {"totals": totals, "packages": packages,
            "versions": {fp: {r: len(ids) for r, ids in by.items()} for fp, by in per_version.items()}}


def _epoch(moment: str) -> float:
    return datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp()


def average_age_days(total: Mapping[str, Any], now: str) -> float:
    """The mean age, in days, of a rating's vulnerabilities since each was first seen."""
    return round((_epoch(now) - float(total["seen_sum"]) / int(total["count"])) / 86400, 2) if total["count"] else 0.0
