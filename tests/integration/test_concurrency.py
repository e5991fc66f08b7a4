"""Concurrent ingestion against a real moto server: gapless, unique version numbers."""

import json
from types import SimpleNamespace

import app as application
from chalicelib.runtime import aws
from support import MANIFEST_BUCKET, manifest, race

CONTEXT = SimpleNamespace(aws_request_id="req", function_name="ingest_manifest", memory_limit_in_mb=512,
                          invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:ingest")


def _event(key: str, etag: str) -> dict:
    return {"Records": [{"eventName": "ObjectCreated:Put", "s3": {
        "bucket": {"name": MANIFEST_BUCKET}, "object": {"key": key, "eTag": etag}}}]}


def _ingest_all_at_once(events: list[dict]) -> list[BaseException]:
    return race(*(lambda e=e: application.ingest_manifest(e, CONTEXT) for e in events), tolerated=())


def _upload(key: str, doc: dict) -> dict:
    response = aws.client("s3").put_object(Bucket=MANIFEST_BUCKET, Key=key, Body=json.dumps(doc).encode())
    return _event(key, response["ETag"].strip('"'))


def _versions(bucket: str) -> list[dict]:
    from chalicelib.services import versions

    items, token = [], None
    while True:
        page, token, _ = versions.list_versions(bucket, 100, token)
        items += page
        if not token:
            return items


def test_sixteen_writers_get_v1_to_v16(moto_server):
    events = [_upload(f"web/run-{n}.json", manifest({"packer_run_uuid": f"run-{n:02d}"})) for n in range(16)]
    assert _ingest_all_at_once(events) == []
    found = _versions("web")
    assert sorted(v.number for v in found) == list(range(1, 17))
    assert sorted(v.fingerprint for v in found) == sorted(f"run-{n:02d}" for n in range(16))
    from chalicelib.services import buckets

    assert buckets.get_bucket("web").version_count == 16


def test_the_same_fingerprint_from_many_writers_is_one_version(moto_server):
    events = [_upload(f"web/copy-{n}.json", manifest({"packer_run_uuid": "same-run", "name": f"src{n % 4}"}))
              for n in range(8)]
    assert _ingest_all_at_once(events) == []
    (version,) = _versions("web")
    assert (version.name, version.build_count) == ("v1", 4)
