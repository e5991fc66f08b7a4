"""S3 object → manifest → versions, with an ingestion record for every object.

At least once, out of order: an object is known by (S3 bucket, key, version ID or ETag);
its record is written last, so a re-delivered event finds it and changes nothing, while an
event interrupted half-way is redone from the start (every step is idempotent).
Permanent problems (bad JSON, invalid builds, a vanished object) are recorded as
`rejected` or `partial` with reasons; transient AWS errors raise, so Lambda retries.
A run that a version of its bucket already holds (published through the HCP API first:
duplicates.py) is recorded against that version, storing nothing; an object of only such
runs is `duplicate`. The S3 object is only ever read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from botocore.exceptions import ClientError

from . import audit, recording
from ..runtime import aws
from .. import storage
from ..storage import entities
from .buckets import ManifestKeyRejected
from ..runtime.clock import now_iso
from ..domain.enums import IngestionStatus
from ..errors import BadRequest
from ..domain.manifest import MAX_MANIFEST_BYTES, RESERVED_PREFIX, ParsedManifest, bucket_from_key, content_hash, parse_manifest
from ..domain.models import BUCKET_NAME_PATTERN, IngestedVersion, Ingestion
from ..runtime.observability import logger, metrics
from ..storage import ConditionFailed

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import GetObjectRequestTypeDef

_GONE = {"NoSuchKey", "NoSuchVersion", "404", "NotFound"}
MAX_REASONS = 100
MAX_REASON = 1000  # characters: a reason quoting a long value (a bucket name of 300 KB) is cut
MAX_EVENT_BUCKETS = 50  # a transaction holds at most 100 items
_BUCKET_RE = re.compile(BUCKET_NAME_PATTERN)


def handle_s3_event(event: dict[str, Any]) -> list[Ingestion]:
    """Ingest every object a (possibly batched) S3 notification names; records of anything
    but a created object, and objects the registry wrote itself (RESERVED_PREFIX), are skipped.

    Records are read through Powertools' `S3Event` data class. Its per-record `key` is the
    key as S3 sends it, URL-encoded (`+` for a space, `%2B` for a plus, `%xx` for UTF-8):
    only its first-record shortcut `object_key` decodes, hence `unquote_plus` here. Imported
    here, as it loads all of Powertools' data classes (~55 ms): only ingestion pays for it."""
    from aws_lambda_powertools.utilities.data_classes import S3Event

    results = []
    for record in S3Event(event).records:
        obj = record.s3.get_object
        if not record.event_name.startswith(("ObjectCreated", "s3:ObjectCreated")) \
                or unquote_plus(obj.key).startswith(RESERVED_PREFIX):
            continue
        results.append(ingest_object(s3_bucket=record.s3.bucket.name, key=unquote_plus(obj.key), etag=obj.etag,
                                     version_id=obj.version_id))
    return results


def ingest_object(s3_bucket: str, key: str, etag: str, version_id: str | None = None) -> Ingestion:
    ingestion_id = content_hash([s3_bucket, key, version_id or etag])
    existing = storage.ingestions.ingestion(ingestion_id)
    if existing:
        logger.info("duplicate delivery, already ingested", extra={"key": key, "ingestion": ingestion_id})
        metrics.add_metric(name="DuplicateDeliveries", unit="Count", value=1)
        return to_ingestion(existing)

    actor = f"s3:{key}"
    raw, metadata, problem = _read(s3_bucket, key, version_id)
    parsed = parse_manifest(raw, key, metadata) if problem is None else ParsedManifest([], [problem], 0)
    results: list[IngestedVersion] = []
    produced: list[entities.ArtifactEntry] = []  # newest producers to write with the record
    reasons = list(parsed.problems)
    for run in parsed.runs:
        try:
            results.append(recording.record_run(run, actor=actor, key=key, produced=produced))
        except (recording.RunRefused, ManifestKeyRejected) as exc:  # nothing of that run was written
            reasons.append(f"run {run.fingerprint} of bucket {run.bucket}: not stored: {exc}")
        except storage.TooLarge as exc:  # what refusal() missed: recorded, not retried forever (a version
            # too large for one transaction may be left `running`: never served)
            logger.exception("run refused by DynamoDB", extra={"key": key, "fingerprint": run.fingerprint})
            reasons.append(f"run {run.fingerprint} of bucket {run.bucket}: not stored: {exc}")

    if reasons:
        status = IngestionStatus.PARTIAL if results else IngestionStatus.REJECTED
    else:  # every run recorded: `duplicate` when versions already held them all (duplicates.py)
        status = IngestionStatus.DUPLICATE if results and all(v.duplicate for v in results) else IngestionStatus.ACCEPTED
    if len(reasons) > MAX_REASONS:  # keep the record well under DynamoDB's 400 KB item limit
        reasons = reasons[:MAX_REASONS] + [f"... and {len(reasons) - MAX_REASONS} more problems"]
    reasons = [r if len(r) <= MAX_REASON else f"{r[:MAX_REASON - 1]}…" for r in reasons]
    record = Ingestion(id=ingestion_id, s3_bucket=s3_bucket, key=key, etag=etag or version_id or "",
                       status=status, received_at=now_iso(), reasons=reasons, versions=results)
    item = entities.Ingestion.from_item(record.model_dump())
    # One event per bucket touched (a manifest spanning more is summarised by the record).
    buckets = (sorted({v.bucket for v in results}) or [bucket_from_key(key)])[:MAX_EVENT_BUCKETS]
    events = [audit.event_action(b if _BUCKET_RE.fullmatch(b) else None, f"ingestion.{status}", f"s3://{s3_bucket}/{key}",
                                 actor, after={"status": status, "reasons": reasons[:10],
                                               "versions": [v.version for v in results if v.bucket == b]})
              for b in buckets]
    try:
        audit.commit(recording.with_newest_producers([storage.ingestions.create(item), *events], produced))
    except ConditionFailed:  # a concurrent delivery of the same object finished first
        pass
    logger.info("manifest ingested", extra={"key": key, "status": status, "reasons": reasons,
                                            "versions": [f"{v.bucket}/{v.version}" for v in results]})
    metrics.add_metric(name=f"Ingestions{status.capitalize()}", unit="Count", value=1)
    return record


def _read(s3_bucket: str, key: str, version_id: str | None) -> tuple[bytes, dict[str, str], str | None]:
    """The object's bytes and metadata, or a permanent problem; transient errors raise."""
    kwargs: GetObjectRequestTypeDef = {"Bucket": s3_bucket, "Key": key}
    if version_id:
        kwargs["VersionId"] = version_id
    try:
        response = aws.client("s3").get_object(**kwargs)
    except ClientError as exc:
        if exc.response["Error"]["Code"] in _GONE:
            return b"", {}, f"the object s3://{s3_bucket}/{key} no longer exists"
        raise
    size = response.get("ContentLength", 0)
    if size > MAX_MANIFEST_BYTES:
        response["Body"].close()
        return b"", {}, f"the object is {size} bytes; the limit is {MAX_MANIFEST_BYTES}"
    return response["Body"].read(MAX_MANIFEST_BYTES + 1), response.get("Metadata", {}), None


def list_ingestions(limit: int, token: str | None, filters: Mapping[str, str] | None = None
                    ) -> tuple[list[Ingestion], str | None]:
    """Newest first, one Query page: all or by `status`, received in a time range
    (`created_after`, `created_before`): each a key condition, so pages are full."""
    filters = filters or {}
    status = filters.get("status")
    if status is not None and status not in set(IngestionStatus):
        raise BadRequest(f"status must be one of {', '.join(IngestionStatus)}, not {status!r}")
    items, next_token = storage.ingestions.ingestions_page(status, token, limit,
                                                           created_after=filters.get("created_after"),
                                                           created_before=filters.get("created_before"))
    return [to_ingestion(i) for i in items], next_token


def to_ingestion(item: entities.Ingestion) -> Ingestion:
    return Ingestion.model_validate(item.attributes())
