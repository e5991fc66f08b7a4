"""`packer-registry upload`: put a manifest where a Packer pipeline would, then (`--wait`)
follow it to its ingestion record.

The object goes to `<bucket>/packer-manifest-<UTC time>.json` in the manifest bucket: the
key's first segment names the registry bucket (README "Manifest conventions"), satisfies a
bucket's `manifest_prefixes` of `<bucket>/`, and the time keeps every upload (nothing is
overwritten). `custom_data.bucket_name` in the manifest still outranks the key, as for any
upload. S3 is reached through boto3's usual configuration: credentials, region and
`AWS_ENDPOINT_URL` from the environment (under `make run`, the moto endpoint it prints).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from cli import output
from cli.client import ApiError, Client
from cli.main import FAILED, OK, TIMED_OUT, USAGE, Context, fail

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

DEFAULT_MANIFEST_BUCKET = "packer-manifests"  # the registry's default MANIFEST_BUCKET
POLL_INTERVAL = 1.0  # seconds between looks at GET /ingestions
RECENT = 200  # ingestion records looked at per poll, newest first
PROGRESS_EVERY = 10  # seconds between progress lines when stderr is not a terminal


def run(args: argparse.Namespace, ctx: Context) -> int:
    try:
        with open(args.manifest, "rb") as source:
            data = source.read()
    except OSError as error:
        fail(f"cannot read {args.manifest}: {error.strerror or error}")
        return USAGE
    bucket = args.bucket or bucket_named_in(data)
    if not args.key and not bucket:
        fail("say which registry bucket this manifest is for: --bucket NAME "
             "(or custom_data.bucket_name in every build of the manifest)")
        return USAGE
    key = args.key or manifest_key(bucket or "", datetime.now(timezone.utc))
    s3_bucket = args.manifest_bucket or os.environ.get("MANIFEST_BUCKET") or DEFAULT_MANIFEST_BUCKET
    client = ctx.client if args.wait else None  # not logged in: say so before uploading anything
    etag = put(s3_bucket, key, data, args.endpoint_url)
    uploaded = {"s3_bucket": s3_bucket, "key": key, "etag": etag}
    if client is None:
        ctx.emit(uploaded, lambda u: f"Uploaded s3://{u['s3_bucket']}/{u['key']}")
        return OK
    record = wait_for_record(client, uploaded, args.timeout)
    if record is None:
        fail(f"no ingestion record for s3://{s3_bucket}/{key} after {args.timeout} s "
             "(is the registry's S3 trigger on this bucket?)")
        return TIMED_OUT
    ctx.emit(record, describe_ingestion)
    return OK if record["status"] in ("accepted", "duplicate") else FAILED


def bucket_named_in(data: bytes) -> str | None:
    """The `custom_data.bucket_name` every build of the manifest names, if they agree."""
    try:
        builds = json.loads(data).get("builds")
        names = {(build.get("custom_data") or {}).get("bucket_name") for build in builds}
    except (ValueError, AttributeError, TypeError):
        return None
    name = names.pop() if len(names) == 1 else None
    return name if isinstance(name, str) and name else None


def manifest_key(bucket: str, now: datetime) -> str:
    """`base/packer-manifest-20260527T101500.123456Z.json`."""
    return f"{bucket}/packer-manifest-{now.strftime('%Y%m%dT%H%M%S.%fZ')}.json"


def put(s3_bucket: str, key: str, data: bytes, endpoint_url: str | None) -> str:
    """PutObject; the object's ETag (as ingestion records it, unquoted)."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        s3: S3Client = boto3.client("s3", endpoint_url=endpoint_url) if endpoint_url else boto3.client("s3")
        answer = s3.put_object(Bucket=s3_bucket, Key=key, Body=data, ContentType="application/json")
    except (BotoCoreError, ClientError) as error:
        raise ApiError(0, "S3", f"cannot upload to s3://{s3_bucket}/{key}: {error}") from None
    return answer["ETag"].strip('"')


def wait_for_record(client: Client, uploaded: dict[str, str], timeout: float) -> dict[str, Any] | None:
    """Poll GET /ingestions (newest first, the RECENT newest) until the record of this very
    object (key and ETag) appears: it is written last, so it is final. None on timeout."""
    where = f"s3://{uploaded['s3_bucket']}/{uploaded['key']}"
    progress = Progress(f"Waiting for the ingestion of {where}")
    deadline = time.monotonic() + timeout
    try:
        while True:
            for record in client.items("/ingestions", limit=RECENT):
                if all(record.get(field) == value for field, value in uploaded.items()):
                    return dict(record)
            if time.monotonic() >= deadline:
                return None
            progress.tick()
            time.sleep(POLL_INTERVAL)
    finally:
        progress.done()


class Progress:
    """Elapsed seconds on stderr: one line rewritten on a terminal, else a line every
    PROGRESS_EVERY s (CI logs)."""

    def __init__(self, what: str) -> None:
        self.what, self.start, self.tty = what, time.monotonic(), sys.stderr.isatty()
        self.shown = -PROGRESS_EVERY
        self.tick()

    def tick(self) -> None:
        elapsed = int(time.monotonic() - self.start)
        if self.tty:
            sys.stderr.write(f"\r{self.what} … {elapsed} s")
        elif elapsed - self.shown >= PROGRESS_EVERY:
            self.shown = elapsed
            sys.stderr.write(f"{self.what} … {elapsed} s\n")
        sys.stderr.flush()

    def done(self) -> None:
        if self.tty:
            sys.stderr.write("\n")


def describe_ingestion(record: dict[str, Any]) -> str:
    """`accepted: s3://…`, the versions it created or added to, and why anything was refused
    (or recorded against a version that already held it: `duplicate`)."""
    lines = [f"{record['status']}: s3://{record['s3_bucket']}/{record['key']}"]
    if record.get("versions"):
        lines += ["", output.table(record["versions"], [
            ("BUCKET", lambda v: v["bucket"]),
            ("VERSION", lambda v: v["version"]),
            ("NEW", lambda v: v["created"]),
            ("BUILDS ADDED", lambda v: v["builds_added"]),
            ("FINGERPRINT", lambda v: v["fingerprint"]),
        ])]
    why = [*record.get("reasons", []), *(f"{v['bucket']}: {v['duplicate']}" for v in record.get("versions", [])
                                          if v.get("duplicate"))]
    if why:
        lines += ["", "Why:", *(f"  - {reason}" for reason in why)]
    return "\n".join(lines)
