"""The audit trail names who did what, and the same events reach EventBridge."""

import json

import boto3
import pytest

from support import manifest, sweep


def actions(registry, bucket):
    return [(e["action"], e["actor"], e["target"]) for e in registry.all_pages(f"/buckets/{bucket}/events")]


def test_every_kind_of_change_is_recorded_with_its_actor(registry):
    registry.send("post", "/buckets", {"name": "base", "description": "Base"}, 201)
    registry.send("patch", "/buckets/base", {"description": "Base image"})
    registry.upload("base/a.json", manifest({"packer_run_uuid": "r1", "artifact_id": "us-east-1:ami-0b0b0b0b0b0b0b0b1"}))
    registry.upload("base/b.json", manifest({"packer_run_uuid": "r2", "artifact_id": "us-east-1:ami-0b0b0b0b0b0b0b0b2"}))
    registry.upload("base/junk.json", b"not json")
    registry.send("post", "/buckets/base/channels", {"name": "production", "version": "v1"}, 201)
    registry.send("patch", "/buckets/base/channels/production", {"version": "v2"})
    registry.send("patch", "/buckets/base/channels/production", {"description": "prod"})
    registry.send("post", "/buckets/base/versions/v2/revoke", {"reason": "bad"})
    registry.send("post", "/buckets/base/versions/v2/restore")
    registry.send("post", "/buckets/base/versions/v2/revoke", {"reason": "later", "revoke_in": "30d"})
    registry.send("patch", "/buckets/base/channels/production", {"version": None})
    registry.send("delete", "/buckets/base/channels/production")
    registry.send("delete", "/buckets/base/versions/v2")
    events = actions(registry, "base")
    admin = "bootstrap-admin"
    expected = [
        ("bucket.created", admin, "base"), ("bucket.updated", admin, "base"),
        ("version.created", "s3:base/a.json", "v1"), ("channel.assigned", "s3:base/a.json", "channel/latest"),
        ("ingestion.accepted", "s3:base/a.json", "s3://packer-manifests/base/a.json"),
        ("version.created", "s3:base/b.json", "v2"), ("ingestion.rejected", "s3:base/junk.json", "s3://packer-manifests/base/junk.json"),
        ("channel.created", admin, "channel/production"), ("channel.assigned", admin, "channel/production"),
        ("channel.updated", admin, "channel/production"), ("version.revoked", admin, "v2"),
        ("channel.rolled_back", admin, "channel/production"), ("version.restored", admin, "v2"),
        ("version.revocation_scheduled", admin, "v2"), ("channel.unassigned", admin, "channel/production"),
        ("channel.deleted", admin, "channel/production"), ("version.deleted", admin, "v2"),
    ]
    for event in expected:
        assert event in events, event
    # newest first: the delete's transaction (the version, and latest moving off it) comes first
    assert {e[0] for e in events[:2]} == {"version.deleted", "channel.assigned"}
    revoked = next(e for e in registry.all_pages("/buckets/base/events") if e["action"] == "version.revoked")
    assert (revoked["before"], revoked["after"]["reason"]) == ("active", "bad")


def test_sweep_changes_are_recorded_as_the_sweep(registry):
    registry.upload("base/m.json", manifest({"packer_run_uuid": "b1", "artifact_id": "us-east-1:ami-0b0b0b0b0b0b0b0b1"}))
    registry.send("post", "/buckets/base/channels", {"name": "production", "version": "v1"}, 201)
    registry.upload("kid/m.json", manifest({"packer_run_uuid": "k1", "custom_data": {
        "parent_bucket": "base", "parent_channel": "production"}}))
    registry.upload("base/m2.json", manifest({"packer_run_uuid": "b2", "artifact_id": "us-east-1:ami-0b0b0b0b0b0b0b0b2"}))
    registry.send("patch", "/buckets/base/channels/production", {"version": "v2"})
    sweep(registry)
    (event,) = [e for e in registry.all_pages("/buckets/kid/events") if e["action"] == "descendant.outdated"]
    assert (event["actor"], event["actor_id"], event["before"], event["after"]) == (
        "sweep", "sweep", "up_to_date", "out_of_date")
    assert "now points at v2" in event["detail"]["messages"][0]


def test_deleting_a_bucket_keeps_its_trail(registry):
    registry.upload("gone/m.json", manifest({}))
    registry.send("delete", "/buckets/gone")
    assert actions(registry, "gone")[0] == ("bucket.deleted", "bootstrap-admin", "gone")


def test_token_changes_are_in_the_registry_wide_trail_without_secrets(registry):
    created = registry.send("post", "/tokens", {"name": "terraform", "role": "viewer"}, 201)
    registry.send("delete", f"/tokens/{created['id']}")
    events = registry.all_pages("/events")
    assert [e["action"] for e in events] == ["token.deleted", "token.created"]
    assert created["secret"].split(".", 1)[1] not in json.dumps(events)


@pytest.fixture
def event_queue(moto_aws, monkeypatch):
    """An EventBridge bus whose rule sends every registry event to an SQS queue."""
    monkeypatch.setenv("EVENT_BUS_NAME", "registry-events")
    events, sqs = boto3.client("events"), boto3.client("sqs")
    events.create_event_bus(Name="registry-events")
    queue = sqs.create_queue(QueueName="registry-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="all", EventBusName="registry-events", EventPattern=json.dumps({"source": ["packer-registry"]}))
    events.put_targets(Rule="all", EventBusName="registry-events", Targets=[{"Id": "q", "Arn": arn}])

    def received():
        out = []
        while True:
            messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return out
            for m in messages:
                out.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
    return received


def test_events_reach_eventbridge(registry, event_queue):
    registry.upload("base/m.json", manifest({"packer_run_uuid": "b1", "artifact_id": "us-east-1:ami-0b0b0b0b0b0b0b0b1"}))
    registry.send("post", "/buckets/base/channels", {"name": "production", "version": "v1"}, 201)
    registry.send("post", "/buckets/base/versions/v1/revoke", {"reason": "CVE-1"})
    registry.send("post", "/buckets/base/versions/v1/restore")
    got = event_queue()
    kinds = [e["detail-type"] for e in got]
    for kind in ("version.created", "channel.assigned", "version.revoked", "version.restored", "channel.rolled_back"):
        assert kind in kinds, (kind, kinds)
    revoked = next(e for e in got if e["detail-type"] == "version.revoked")
    assert revoked["source"] == "packer-registry"
    assert (revoked["detail"]["bucket"], revoked["detail"]["target"], revoked["detail"]["actor"]) == ("base", "v1", "bootstrap-admin")
    assert revoked["detail"]["after"]["reason"] == "CVE-1"
