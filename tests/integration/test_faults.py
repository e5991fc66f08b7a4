"""Faults: throttling and transaction conflicts, re-delivered and out-of-order events,
oversized and hostile objects, concurrent channel moves and revocations."""

import json
import threading

import boto3
import pytest

from chalicelib.services import channels, lifecycle
from chalicelib.domain.models import RevokeRequest, UpdateChannel
from support import MANIFEST_BUCKET, THROTTLED, Faults, conflict, manifest, real_manifest


@pytest.fixture
def faults(registry):
    registry.get("/buckets")  # makes the DynamoDB client the hook attaches to
    return Faults()


def versions_of(registry, bucket):
    return [(v["name"], v["fingerprint"], v["build_count"]) for v in registry.all_pages(f"/buckets/{bucket}/versions")]


def test_transaction_conflicts_during_ingestion_are_retried(registry, faults):
    faults.fail("TransactWriteItems", conflict(), conflict(), conflict())
    registry.upload("web/m.json", manifest({"packer_run_uuid": "r1"}, {"packer_run_uuid": "r2"}))
    assert versions_of(registry, "web") == [("v2", "r2", 1), ("v1", "r1", 1)]
    assert registry.get("/ingestions")["items"][0]["status"] == "accepted"


def test_throttling_mid_ingestion_raises_and_the_lambda_retry_completes_it(registry, faults):
    event = registry.upload("many/m.json", real_manifest("amazon-ebs-multiregion-multirun-1.json"), deliver=False)
    faults.fail("TransactWriteItems", None, None, None, THROTTLED)  # the 4th run's transaction
    with pytest.raises(Exception, match="busy"):
        registry.deliver(event)
    assert len(versions_of(registry, "many")) == 3
    assert registry.get("/ingestions")["items"] == []  # not recorded: the event is not done
    registry.deliver(event)  # Lambda's retry
    registry.deliver(event)  # and S3's duplicate delivery
    found = versions_of(registry, "many")
    assert [v[0] for v in found] == [f"v{n}" for n in range(8, 0, -1)]
    assert len({v[1] for v in found}) == 8 and all(v[2] == 1 for v in found)
    assert len(registry.get("/ingestions")["items"]) == 1


def test_throttling_during_channel_assignment_is_a_503_and_changes_nothing(registry, faults):
    registry.upload("web/m.json", manifest({"packer_run_uuid": "r1"}, {"packer_run_uuid": "r2"}))
    registry.send("post", "/buckets/web/channels", {"name": "prod", "version": "v1"}, 201)
    faults.fail("TransactWriteItems", THROTTLED)
    body = registry.send("patch", "/buckets/web/channels/prod", {"version": "v2"}, 503)
    assert body["error"] == "ServiceUnavailable"
    assert registry.get("/buckets/web/channels/prod")["version"] == "v1"
    assert len(registry.get("/buckets/web/channels/prod/history")["items"]) == 1
    faults.fail("TransactWriteItems", conflict(), conflict())  # lost races are re-read and retried
    registry.send("patch", "/buckets/web/channels/prod", {"version": "v2"})
    assert [e["to_version"] for e in registry.get("/buckets/web/channels/prod/history")["items"]] == ["v2", "v1"]


def test_out_of_order_events_on_a_versioned_bucket(registry):
    s3 = boto3.client("s3")
    s3.put_bucket_versioning(Bucket=MANIFEST_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    one = manifest({"name": "a", "custom_data": {"fingerprint": "f1"}})
    two = manifest({"name": "a", "custom_data": {"fingerprint": "f1"}}, {"name": "b", "custom_data": {"fingerprint": "f1"}})
    events = []
    for doc in (one, two):
        put = s3.put_object(Bucket=MANIFEST_BUCKET, Key="web/m.json", Body=json.dumps(doc).encode())
        event = registry.event("web/m.json")
        event["Records"][0]["s3"]["object"].update(eTag=put["ETag"].strip('"'), versionId=put["VersionId"])
        events.append(event)
    for event in (events[1], events[0], events[1]):  # newer first, then older, then a duplicate
        registry.deliver(event)
    assert versions_of(registry, "web") == [("v1", "f1", 2)]
    assert len(registry.get("/ingestions")["items"]) == 2


def test_a_50_mb_object_is_rejected_without_being_read(registry):
    registry.upload("huge/m.json", b" " * (50 * 1024 * 1024))
    (record,) = registry.get("/ingestions?status=rejected")["items"]
    assert "52428800 bytes; the limit is" in record["reasons"][0]


def test_a_million_levels_of_nesting_is_rejected_not_a_crash(registry):
    registry.upload("deep/m.json", b'{"builds": ' + b"[" * 1_000_000 + b"]" * 1_000_000 + b"}")
    (record,) = registry.get("/ingestions?status=rejected")["items"]
    assert "nested deeper than" in record["reasons"][0]


def test_eight_threads_moving_channels_and_revoking_stay_consistent(moto_server):
    """Against a moto server: assignments and revocations race; history and latest agree."""
    from chalicelib.services import buckets
    from chalicelib.domain.manifest import parse_manifest
    from chalicelib.services.recording import record_run

    doc = manifest(*({"packer_run_uuid": f"r{n}", "artifact_id": f"us-east-1:ami-{n:017x}"} for n in range(1, 9)))
    for run in parse_manifest(json.dumps(doc).encode(), "web/m.json").runs:
        record_run(run, actor="test")
    from chalicelib.domain.models import CreateChannel

    for name in ("a", "b"):
        channels.create_channel("web", CreateChannel(name=name, version="v1"), "test")
    errors = []

    def work(n: int) -> None:
        try:
            for step in range(4):
                target = f"v{(n + step) % 8 + 1}"
                try:
                    channels.update_channel("web", "ab"[n % 2], UpdateChannel(version=target), f"t{n}")
                except Exception as exc:  # noqa: BLE001 - 409s are expected outcomes of the race
                    if getattr(exc, "status", None) not in (409,):
                        raise
            if n in (3, 6):
                try:
                    lifecycle.revoke("web", f"v{n}", RevokeRequest(reason=f"by {n}"), f"t{n}")
                except Exception as exc:  # noqa: BLE001
                    if getattr(exc, "status", None) not in (409,):
                        raise
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    revoked = {v.name for v in lifecycle.versions.list_versions("web", 100, None)[0] if v.status == "revoked"}
    assert revoked == {"v3", "v6"}
    for name in ("a", "b"):
        channel = channels.get_channel("web", name)
        entries, _ = channels.history("web", name, 100, None)
        assert entries[0].to_version == channel.version  # the newest entry is where it points
        assert channel.version not in revoked
        for newer, older in zip(entries, entries[1:]):  # every move starts where the last ended
            assert newer.from_version == older.to_version
    latest = channels.get_channel("web", "latest")
    assert latest.version == "v8" and buckets.get_bucket("web").latest_version == "v8"
