"""Versions and their builds: creation from manifest runs, reads, deletion.

Version numbers come from `version_count` on the bucket item, bumped in the same
transaction that writes the version and its fingerprint item, on the condition that the
counter still holds the value read: concurrent writers retry, so numbers stay gapless and
unique, and a fingerprint never gets two versions.
"""

from __future__ import annotations

import random
import time
from typing import Any

from . import store
from .clock import now_iso
from .errors import Contention, NotFound
from .manifest import ParsedBuild, ParsedRun
from .models import VERSION_NAME, Build, IngestedVersion, Version
from .store import ConditionFailed

MAX_ATTEMPTS = 12


def record_run(run: ParsedRun) -> IngestedVersion:
    """Create the run's version, or add the builds it lacks; idempotent, safe under concurrency."""
    for attempt in range(MAX_ATTEMPTS):
        found = {item[store.SK]: item for item in store.get_many(
            [store.bucket_key(run.bucket), store.fingerprint_key(run.bucket, run.fingerprint)])}
        fingerprint = found.get(store.fingerprint_key(run.bucket, run.fingerprint)[store.SK])
        try:
            if fingerprint:
                return _extend(run, fingerprint["number"])
            bucket = found.get("BUCKET") or {}
            return _create(run, bucket.get("version_count", 0) + 1)
        except ConditionFailed:
            time.sleep(random.uniform(0, 0.02 * 2**min(attempt, 5)))
    raise Contention(f"gave up recording {run.bucket}/{run.fingerprint} after {MAX_ATTEMPTS} conflicts")


def _create(run: ParsedRun, number: int) -> IngestedVersion:
    now, name = now_iso(), f"v{number}"
    previous = number - 1
    bucket_update = store.update_action(
        store.bucket_key(run.bucket),
        "SET version_count = :n, latest_version = :name, updated_at = :now, #bucket = :b,"
        " created_at = if_not_exists(created_at, :now), description = if_not_exists(description, :empty),"
        " labels = if_not_exists(labels, :nolabels), GSI1PK = :gpk, GSI1SK = :b",
        values={":n": number, ":old": previous, ":name": name, ":now": now, ":b": run.bucket, ":empty": "",
                ":nolabels": {}, ":gpk": store.bucket_index(run.bucket)[store.GSI1PK]},
        names={"#bucket": "bucket"},
        condition="attribute_not_exists(version_count) OR version_count = :old" if previous == 0
        else "version_count = :old",
    )
    version = {
        **store.version_key(run.bucket, number), **store.version_index(run.bucket, number),
        "bucket": run.bucket, "number": number, "name": name, "fingerprint": run.fingerprint,
        "status": "active", "created_at": now, "updated_at": now, "build_count": 0,
        "parent_hint": run.parent_hint.model_dump(exclude_none=True) if run.parent_hint else None,
    }
    fingerprint = {**store.fingerprint_key(run.bucket, run.fingerprint), "number": number}
    head = [bucket_update, store.put_action(fingerprint, "attribute_not_exists(PK)")]
    chunks = _chunks(run.bucket, number, run.builds, room_first=store.TRANSACTION_LIMIT - len(head) - 1)
    first_count, first_actions = chunks.pop(0) if chunks else (0, [])
    version["build_count"] = first_count
    store.transact(head + [store.put_action(version, "attribute_not_exists(PK)")] + first_actions)
    _write_chunks(run.bucket, number, chunks)  # only versions with very many builds/artifacts
    return IngestedVersion(bucket=run.bucket, version=name, fingerprint=run.fingerprint,
                           builds_added=len(run.builds), created=True)


def _extend(run: ParsedRun, number: int) -> IngestedVersion:
    existing = {item["id"] for item in store.query_all(
        store.version_key(run.bucket, number)[store.PK], prefix=f"{store.version_sk(number)}#BUILD#", projection="id")}
    missing = [b for b in run.builds if b.id not in existing]
    _write_chunks(run.bucket, number, _chunks(run.bucket, number, missing, room_first=store.TRANSACTION_LIMIT - 1))
    return IngestedVersion(bucket=run.bucket, version=f"v{number}", fingerprint=run.fingerprint,
                           builds_added=len(missing), created=False)


Chunk = tuple[int, list[dict[str, Any]]]  # (builds in it, transaction actions)


def _write_chunks(bucket: str, number: int, chunks: list[Chunk]) -> None:
    """Each chunk in its own transaction, with the version's build_count bumped to match."""
    for count, actions in chunks:
        bump = store.update_action(
            store.version_key(bucket, number), "SET updated_at = :now ADD build_count :k",
            values={":now": now_iso(), ":k": count}, condition="attribute_exists(PK)")
        store.transact(actions + [bump])


def _chunks(bucket: str, number: int, builds: list[ParsedBuild], room_first: int) -> list[Chunk]:
    """Builds with their artifact-index items, packed into transactions of at most 100 items."""
    chunks: list[Chunk] = []
    room, count, actions = room_first, 0, []
    for build in builds:
        group = _build_actions(bucket, number, build)
        if actions and len(actions) + len(group) > room:
            chunks.append((count, actions))
            room, count, actions = store.TRANSACTION_LIMIT - 1, 0, []
        count, actions = count + 1, actions + group
    if actions:
        chunks.append((count, actions))
    return chunks


def _build_actions(bucket: str, number: int, build: ParsedBuild) -> list[dict[str, Any]]:
    now = now_iso()
    item = {
        **store.build_key(bucket, number, build.id),
        "id": build.id, "bucket": bucket, "number": number, "component_type": build.component_type,
        "name": build.name, "builder_type": build.builder_type, "platform": build.platform,
        "labels": build.labels, "packer_run_uuid": build.packer_run_uuid, "build_time": build.build_time,
        "source_artifact": build.source_artifact, "created_at": now, "indexed_ids": build.indexed_ids,
        "artifacts": [a.model_dump() for a in build.artifacts],
    }
    index = [
        store.put_action({**store.artifact_key(ext, bucket, number, build.id), "bucket": bucket, "number": number,
                          "build_id": build.id, "platform": build.platform, "created_at": now})
        for ext in build.indexed_ids
    ]
    return [store.put_action(item, "attribute_not_exists(PK)")] + index


# ---- reads ------------------------------------------------------------------------------

def resolve_number(bucket: str, ref: str) -> int:
    """A version reference is its name (`v3`) or its fingerprint."""
    match = VERSION_NAME.match(ref)
    if match:
        return int(match.group(1))
    item = store.get(store.fingerprint_key(bucket, ref))
    if not item:
        raise NotFound(f"bucket {bucket!r} has no version with fingerprint or name {ref!r}")
    return item["number"]


def load(bucket: str, ref: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The version item and its build items, in one Query (plus a GetItem for a fingerprint)."""
    number = resolve_number(bucket, ref)
    items = list(store.query_all(store.version_key(bucket, number)[store.PK], prefix=store.version_sk(number)))
    version = next((i for i in items if not store.is_build(i)), None)
    if not version:
        raise NotFound(f"bucket {bucket!r} has no version {ref!r}")
    return version, [i for i in items if store.is_build(i)]


def get_version(bucket: str, ref: str) -> Version:
    version, builds = load(bucket, ref)
    return to_version(version, builds)


def list_versions(bucket: str, limit: int, token: str | None) -> tuple[list[Version], str | None]:
    """Newest first; one Query page (a GetItem more only to tell an empty bucket from none)."""
    partition = store.version_index(bucket, 0)[store.GSI1PK]
    start = store.decode_token(token, {store.GSI1PK: partition})
    items, last = store.query_page(partition, index=store.GSI1, newest_first=True, limit=limit, start=start)
    if not items and not start and not store.get(store.bucket_key(bucket), consistent=False):
        raise NotFound(f"bucket {bucket!r} does not exist")
    return [to_version(i) for i in items], store.encode_token(last)


def to_version(item: dict[str, Any], builds: list[dict[str, Any]] | None = None) -> Version:
    fields = store.strip_keys(item)
    if builds is not None:
        ordered = sorted(builds, key=lambda b: (b["component_type"], b.get("build_time") or "", b["id"]))
        fields["builds"] = [Build.model_validate(store.strip_keys(b)) for b in ordered]
    return Version.model_validate(fields)


# ---- deletion ---------------------------------------------------------------------------

def delete_version(bucket: str, ref: str) -> Version:
    """Delete a version, its builds, fingerprint and artifact-index items.

    Its number is never reused (the bucket's counter does not go back). Up to 100 items go
    in one transaction; a larger version is deleted builds first and the version item last,
    so a retried DELETE finishes the job.
    """
    version, builds = load(bucket, ref)
    number = version["number"]
    keys = [store.build_key(bucket, number, b["id"]) for b in builds]
    keys += [store.artifact_key(ext, bucket, number, b["id"]) for b in builds for ext in b.get("indexed_ids", [])]
    final = [store.delete_action(store.fingerprint_key(bucket, version["fingerprint"])),
             store.delete_action(store.version_key(bucket, number), "attribute_exists(PK)"),
             *_latest_after_delete(bucket, version)]
    room = store.TRANSACTION_LIMIT - len(final)
    while len(keys) > room:
        batch, keys = keys[:store.TRANSACTION_LIMIT], keys[store.TRANSACTION_LIMIT:]
        store.transact([store.delete_action(k) for k in batch])
    store.transact([store.delete_action(k) for k in keys] + final)
    return to_version(version, builds)


def _latest_after_delete(bucket: str, version: dict[str, Any]) -> list[dict[str, Any]]:
    """Point the bucket's latest_version at the newest remaining version, if it named this one."""
    newest, _ = store.query_page(store.version_index(bucket, 0)[store.GSI1PK], index=store.GSI1,
                                 newest_first=True, limit=2)
    remaining = [v["name"] for v in newest if v["number"] != version["number"]]
    expression = "SET latest_version = :next, updated_at = :now" if remaining else \
        "REMOVE latest_version SET updated_at = :now"
    values = {":now": now_iso(), ":gone": version["name"], **({":next": remaining[0]} if remaining else {})}
    return [store.update_action(store.bucket_key(bucket), expression, values=values,
                                condition="latest_version = :gone")] if newest and newest[0]["number"] == version["number"] else []
