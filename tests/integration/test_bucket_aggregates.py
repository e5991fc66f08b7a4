"""`GET /buckets` carries what the bucket list shows of each bucket (versions by status,
flagged versions by ancestry status, its channels), kept in the transactions that change
them: after every change they equal what the per-bucket requests answer."""

from __future__ import annotations

from collections import Counter

import boto3

from support import TABLE, manifest

FLAGS = ("out_of_date", "parent_revoked", "undetermined")


def build(registry, bucket: str, run: str, ami: str, **custom: str) -> None:
    registry.upload(f"{bucket}/{run}.json", manifest({"packer_run_uuid": run, "artifact_id": f"us-east-1:{ami}",
                                                      "custom_data": custom}))


def listed(registry, name: str) -> dict:
    (bucket,) = [b for b in registry.all_pages("/buckets") if b["name"] == name]
    return bucket


def check(registry, name: str, **expected: int) -> dict:
    """The bucket as listed agrees with its versions and channels as read one by one."""
    bucket = listed(registry, name)
    versions = registry.all_pages(f"/buckets/{name}/versions")
    counts = Counter(v["status"] for v in versions)
    counts.update(v["ancestry_status"] for v in versions if v["ancestry_status"] in FLAGS and v["status"] != "revoked")
    assert bucket["status_counts"] == dict(counts)
    assert bucket["status_counts"] == expected
    channels = registry.all_pages(f"/buckets/{name}/channels")
    assert bucket["channels"] == [{"name": c["name"], "version": c.get("version"), "version_status": c.get("version_status"),
                                   "restricted": c["restricted"]} for c in sorted(channels, key=lambda c: c["name"])]
    return bucket


def test_the_aggregates_follow_every_change(registry):
    created = registry.send("post", "/buckets", {"name": "base"}, 201)
    assert (created["status_counts"], created["channels"]) == (
        {}, [{"name": "latest", "version": None, "version_status": None, "restricted": True}])
    check(registry, "base")
    build(registry, "base", "r1", "ami-0b0b0b0b0b0b0b0b1")
    build(registry, "base", "r2", "ami-0b0b0b0b0b0b0b0b2")
    assert check(registry, "base", active=2)["channels"] == [
        {"name": "latest", "version": "v2", "version_status": "active", "restricted": True}]
    registry.send("post", "/buckets/base/channels", {"name": "production", "version": "v1"}, 201)
    registry.send("post", "/buckets/base/channels", {"name": "staging"}, 201)
    check(registry, "base", active=2)
    registry.send("post", "/buckets/base/versions/v1/revoke", {"reason": "soon", "revoke_in": "30d"})
    check(registry, "base", active=1, revocation_scheduled=1)  # production's copy says so too
    registry.send("post", "/buckets/base/versions/v2/revoke", {"reason": "bad"})  # latest moves off it
    check(registry, "base", revoked=1, revocation_scheduled=1)
    registry.send("post", "/buckets/base/versions/v2/restore")
    registry.send("patch", "/buckets/base/channels/staging", {"version": "v2", "restricted": True})
    check(registry, "base", active=1, revocation_scheduled=1)
    registry.send("patch", "/buckets/base/channels/production", {"restricted": True})
    check(registry, "base", active=1, revocation_scheduled=1)
    build(registry, "base", "r3", "ami-0b0b0b0b0b0b0b0b3", parent_bucket="gone", parent_version="v1")  # undetermined
    check(registry, "base", active=2, revocation_scheduled=1, undetermined=1)
    registry.send("delete", "/buckets/base/channels/staging")
    registry.send("delete", "/buckets/base/versions/v3")
    check(registry, "base", active=1, revocation_scheduled=1)
    registry.send("delete", "/buckets/base/versions/v1?rollback_channels=true")
    check(registry, "base", active=1)


def test_a_viewer_sees_no_restricted_channel_in_the_list(registry):
    build(registry, "base", "r1", "ami-0b0b0b0b0b0b0b0b1")
    registry.send("post", "/buckets/base/channels", {"name": "production", "version": "v1"}, 201)
    registry.send("post", "/buckets/base/channels", {"name": "secret", "version": "v1", "restricted": True}, 201)
    token = registry.send("post", "/tokens", {"name": "terraform", "role": "viewer"}, 201)["secret"]
    bucket = listed(registry.as_token(token), "base")
    assert [c["name"] for c in bucket["channels"]] == ["production"]
    assert bucket["status_counts"] == {"active": 1}


def test_a_bucket_from_before_the_aggregates_shows_none(registry):
    build(registry, "old", "r1", "ami-0b0b0b0b0b0b0b0b1")
    boto3.client("dynamodb").update_item(TableName=TABLE, Key={"PK": {"S": "BUCKET#old"}, "SK": {"S": "BUCKET"}},
                                         UpdateExpression="REMOVE aggregated_since")
    bucket = listed(registry, "old")
    assert (bucket["status_counts"], bucket["channels"]) == (None, None)  # the page asks per bucket
