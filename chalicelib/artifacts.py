"""External artifact IDs → the versions that produced them, and compliance verdicts.

`POST /compliance/check` answers, per ID, like HCP Packer's artifact validation run task:
- `revoked`: the version that produced it is revoked;
- `out_of_date`: a newer active version of its bucket exists, or it was built on a parent
  that is outdated or revoked;
- `unknown`: the registry never saw it (or it is not an indexed kind of ID);
- `ok`: otherwise.
The check passes unless an artifact is revoked; `out_of_date` is a warning.
"""

from __future__ import annotations

from typing import Any

from . import plans, store
from .errors import BadRequest, NotFound

_STALE_ANCESTRY = {"out_of_date", "parent_revoked"}


def _matches(external_id: str) -> list[dict[str, Any]]:
    if len(external_id.encode()) > plans.MAX_ID_BYTES:  # cannot be a key: nothing to find, nothing to ask
        return []
    return list(store.query_all(f"ARTIFACT#{external_id}"))


def lookup(external_id: str) -> dict[str, Any]:
    """Which bucket, version and build produced an artifact, with their status (newest first)."""
    matches = _matches(external_id)
    if not matches:
        raise NotFound(f"no artifact {external_id!r} in the registry")
    versions = _versions(matches)
    found = []
    for m in sorted(matches, key=lambda m: (m["created_at"], m["number"]), reverse=True):
        version = versions.get((m["bucket"], m["number"]))
        if version:
            found.append({"bucket": m["bucket"], "version": version["name"], "fingerprint": version["fingerprint"],
                          "build_id": m["build_id"], "platform": m["platform"], "status": version["status"],
                          "ancestry_status": version.get("ancestry_status"),
                          "ancestry_messages": version.get("ancestry_messages") or [],
                          "revocation": version.get("revocation")})
    if not found:
        raise NotFound(f"no artifact {external_id!r} in the registry")
    return {"external_id": external_id, **found[0], "matches": found}


def check_body(body: Any) -> dict[str, Any]:
    """`{"artifacts": [...]}` or a Terraform plan (`terraform show -json`) → check()."""
    try:
        ids = plans.artifact_ids_from_request(body)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    return check(ids)


def check(ids: list[str]) -> dict[str, Any]:
    """A verdict per artifact ID and an overall pass/fail (one Query per ID, one BatchGet)."""
    matches = {i: _matches(i) for i in ids}
    newest = {i: max(m, key=lambda x: (x["created_at"], x["number"])) for i, m in matches.items() if m}
    refs = [(m["bucket"], m["number"]) for m in newest.values()]
    items = store.get_many([store.version_key(b, n) for b, n in refs] + [store.bucket_key(b) for b, _ in refs]) \
        if refs else []
    versions = {(i["bucket"], i["number"]): i for i in items if i[store.SK] != "BUCKET"}
    buckets = {i["bucket"]: i for i in items if i[store.SK] == "BUCKET"}
    results = [_verdict(i, newest.get(i), versions, buckets) for i in ids]
    counts = {v: sum(r["verdict"] == v for r in results) for v in ("ok", "out_of_date", "revoked", "unknown")}
    return {"passed": counts["revoked"] == 0, "counts": counts, "results": results}


def _verdict(external_id: str, match: dict[str, Any] | None, versions: dict, buckets: dict) -> dict[str, Any]:
    version = versions.get((match["bucket"], match["number"])) if match else None
    if not version:
        return {"artifact": external_id, "verdict": "unknown", "message": "the registry has no record of it"}
    where = {"artifact": external_id, "bucket": version["bucket"], "version": version["name"]}
    if version["status"] == "revoked":
        reason = (version.get("revocation") or {}).get("reason")
        return {**where, "verdict": "revoked", "message": f"{version['bucket']} {version['name']} is revoked: {reason}"}
    latest = (buckets.get(version["bucket"]) or {}).get("latest_version")
    if latest and int(latest[1:]) > version["number"]:
        return {**where, "verdict": "out_of_date",
                "message": f"{version['bucket']} has a newer version, {latest}; this is {version['name']}"}
    if version.get("ancestry_status") in _STALE_ANCESTRY:
        return {**where, "verdict": "out_of_date", "message": "; ".join(version.get("ancestry_messages") or [])}
    return {**where, "verdict": "ok", "message": f"{version['bucket']} {version['name']} is current"}


def _versions(matches: list[dict[str, Any]]) -> dict[tuple[str, int], dict[str, Any]]:
    items = store.get_many([store.version_key(m["bucket"], m["number"]) for m in matches])
    return {(i["bucket"], i["number"]): i for i in items}
