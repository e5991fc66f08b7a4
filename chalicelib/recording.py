"""Manifest runs → versions: create a version, or add the builds it lacks.

Version numbers come from `version_count` on the bucket item, bumped in the same
transaction that writes the version, its fingerprint item and the move of `latest`, on the
condition that the counter still holds the value read: concurrent writers retry, so
numbers stay gapless and unique, and a fingerprint never gets two versions.
"""

from __future__ import annotations

import random
import time
from typing import Any

from . import ancestry, audit, channels, store, versions
from .clock import now_iso
from .errors import Contention
from .manifest import ParsedBuild, ParsedRun
from .models import IngestedVersion
from .store import ConditionFailed

MAX_ATTEMPTS = 12
Chunk = tuple[list[dict[str, Any]], list[dict[str, Any]]]  # (build items, transaction actions)


def record_run(run: ParsedRun, actor: str) -> IngestedVersion:
    """Idempotent and safe under concurrency: retried on a lost race with jittered backoff."""
    fingerprint_sk = store.fingerprint_key(run.bucket, run.fingerprint)[store.SK]
    for attempt in range(MAX_ATTEMPTS):
        found = {item[store.SK]: item for item in store.get_many(
            [store.bucket_key(run.bucket), store.fingerprint_key(run.bucket, run.fingerprint)])}
        try:
            if fingerprint_sk in found:
                return _extend(run, found[fingerprint_sk]["number"], actor)
            return _create(run, found.get("BUCKET") or {}, actor)
        except ConditionFailed:
            time.sleep(random.uniform(0, 0.02 * 2 ** min(attempt, 5)))
    raise Contention(f"gave up recording {run.bucket}/{run.fingerprint} after {MAX_ATTEMPTS} conflicts")


def _create(run: ParsedRun, bucket: dict[str, Any], actor: str) -> IngestedVersion:
    now = now_iso()
    previous = bucket.get("version_count", 0)
    number, name = previous + 1, f"v{previous + 1}"
    parents, unresolved = ancestry.resolve(run.bucket, run) if run.parent_hint or _has_sources(run) else ([], [])
    inherited = ancestry.inherited_revocation(parents)
    version = {
        **store.version_key(run.bucket, number), **store.version_index(run.bucket, number),
        "bucket": run.bucket, "number": number, "name": name, "fingerprint": run.fingerprint,
        "status": "revoked" if inherited else "active", "revocation": inherited,
        "created_at": now, "updated_at": now,
        "parent_hint": run.parent_hint.model_dump(exclude_none=True) if run.parent_hint else None,
        "parents": ancestry.stored_links(parents) or None, "unresolved": unresolved or None,
    }
    bucket_update = store.update_action(
        store.bucket_key(run.bucket),
        "SET version_count = :n, updated_at = :now, #bucket = :b,"
        + ("" if inherited else " latest_version = :name,")
        + " created_at = if_not_exists(created_at, :now), description = if_not_exists(description, :empty),"
        " labels = if_not_exists(labels, :nolabels), GSI1PK = :gpk, GSI1SK = :b",
        values={":n": number, ":old": previous, ":now": now, ":b": run.bucket, ":empty": "",
                ":nolabels": {}, ":gpk": store.bucket_index(run.bucket)[store.GSI1PK],
                **({} if inherited else {":name": name})},
        names={"#bucket": "bucket"},
        condition="attribute_not_exists(version_count) OR version_count = :old" if previous == 0
        else "version_count = :old",
    )
    fingerprint = {**store.fingerprint_key(run.bucket, run.fingerprint), "number": number}
    extra = ancestry.edge_actions(run.bucket, number, parents)
    if parents or unresolved:
        status, links = ancestry.evaluate(version["parents"] or [], unresolved, revoked=bool(inherited))
        version.update(ancestry_status=status, ancestry_findings=ancestry.attention(links))
        if status in ancestry.FLAGGED_STATUSES and not inherited:
            extra.append(ancestry.flag_action(version, status, version["ancestry_findings"]))
    if unresolved:
        extra.append(store.put_action({**store.unresolved_key(run.bucket, number), "bucket": run.bucket,
                                       "number": number}))
    extra.append(audit.event_action(run.bucket, "version.created", name, actor, after={
        "fingerprint": run.fingerprint, "builds": len(run.builds), "status": version["status"],
        "parents": [f"{p['bucket']}/{p['version']}" for p in parents]}))
    fixed = 3 + len(extra) + (0 if inherited else channels.MOVE_ACTIONS)  # bucket, fingerprint, version, latest
    chunks = _chunks(run.bucket, number, run.builds, now, room_first=store.TRANSACTION_LIMIT - fixed)
    first_builds, first_actions = chunks.pop(0) if chunks else ([], [])
    version["build_count"] = len(first_builds)
    latest = [] if inherited else channels.point_actions(
        run.bucket, channels.LATEST, channels.Target(version, first_builds), cause="ingest", actor=actor,
        previous=bucket.get("latest_version"), latest=True)
    audit.commit([bucket_update, store.put_action(fingerprint, "attribute_not_exists(PK)"),
                  store.put_action(version, "attribute_not_exists(PK)"), *latest, *extra, *first_actions])
    if chunks:  # only versions with very many builds/artifacts
        _write_chunks(run.bucket, number, chunks, actor)
    return IngestedVersion(bucket=run.bucket, version=name, fingerprint=run.fingerprint,
                           builds_added=len(run.builds), created=True)


def _has_sources(run: ParsedRun) -> bool:
    return any(b.source_artifact for b in run.builds)


def _extend(run: ParsedRun, number: int, actor: str) -> IngestedVersion:
    existing = {item["id"] for item in store.query_all(
        store.version_key(run.bucket, number)[store.PK], prefix=f"{store.version_sk(number)}#BUILD#",
        projection="id")}
    missing = [b for b in run.builds if b.id not in existing]
    if missing:
        _write_chunks(run.bucket, number, _chunks(run.bucket, number, missing, now_iso(),
                                                  room_first=store.TRANSACTION_LIMIT - 2), actor)
    return IngestedVersion(bucket=run.bucket, version=f"v{number}", fingerprint=run.fingerprint,
                           builds_added=len(missing), created=False)


def _write_chunks(bucket: str, number: int, chunks: list[Chunk], actor: str) -> None:
    """Each chunk in its own transaction with the matching build_count bump; then the
    channels holding the version get its new artifacts."""
    for builds, actions in chunks:
        bump = store.update_action(
            store.version_key(bucket, number), "SET updated_at = :now ADD build_count :k",
            values={":now": now_iso(), ":k": len(builds)}, condition="attribute_exists(PK)")
        added = audit.event_action(bucket, "version.builds_added", f"v{number}", actor,
                                   after=[b["component_type"] for b in builds])
        audit.commit(actions + [bump, added])
    channels.refresh(bucket, number)


def _chunks(bucket: str, number: int, builds: list[ParsedBuild], now: str, room_first: int) -> list[Chunk]:
    """Builds with their artifact-index items, packed into transactions of at most 100 items."""
    chunks: list[Chunk] = []
    room, items, actions = room_first, [], []
    for build in builds:
        item = versions.build_item(bucket, number, build, now)
        group = [store.put_action(item, "attribute_not_exists(PK)")] + [
            store.put_action({**store.artifact_key(ext, bucket, number, build.id), "bucket": bucket,
                              "number": number, "build_id": build.id, "platform": build.platform,
                              "created_at": now})
            for ext in build.indexed_ids]
        if actions and len(actions) + len(group) > room:
            chunks.append((items, actions))
            room, items, actions = store.TRANSACTION_LIMIT - 2, [], []
        items, actions = items + [item], actions + group
    if actions:
        chunks.append((items, actions))
    return chunks
