"""Who may write which bucket through S3 (issue 10, item 9): a bucket's `manifest_prefixes`.

With prefixes set, a manifest whose S3 key is outside them cannot add versions or builds to
the bucket, nor move its `latest`: that run is rejected with a reason naming the key and the
prefixes, while the manifest's other runs still land.
"""

from __future__ import annotations

import pytest

from chalicelib.runtime import aws
from support import manifest


def run(uuid: str, bucket: str, **extra) -> dict:
    return {"packer_run_uuid": uuid, "custom_data": {"bucket_name": bucket}, **extra}


def record(registry, key: str) -> dict:
    (item,) = [i for i in registry.all_pages("/ingestions") if i["key"] == key]
    return item


def test_a_manifest_outside_the_prefixes_cannot_touch_the_bucket(registry):
    created = registry.send("post", "/buckets", {"name": "base", "manifest_prefixes": ["base/", "ci/base/"]}, 201)
    assert created["manifest_prefixes"] == ["base/", "ci/base/"]
    registry.upload("attacker/packer-manifest.json", manifest(run("evil-1", "base")))
    rejected = record(registry, "attacker/packer-manifest.json")
    assert rejected["status"] == "rejected" and rejected["versions"] == []
    (reason,) = rejected["reasons"]
    assert "'attacker/packer-manifest.json'" in reason and "'base/'" in reason and "'ci/base/'" in reason
    assert registry.get("/buckets/base")["latest_version"] is None
    assert registry.get("/buckets/base/versions")["items"] == []

    registry.upload("ci/base/packer-manifest.json", manifest(run("good-1", "base")))
    assert record(registry, "ci/base/packer-manifest.json")["status"] == "accepted"
    assert registry.get("/buckets/base")["latest_version"] == "v1"

    # One manifest, two runs: the one for an open bucket lands, the one for base does not.
    registry.upload("attacker/two.json", manifest(run("evil-2", "base"), run("fine-1", "other")))
    partial = record(registry, "attacker/two.json")
    assert partial["status"] == "partial" and [v["bucket"] for v in partial["versions"]] == ["other"]
    assert "evil-2" in partial["reasons"][0]
    # Nor may it add builds to a version that exists (same fingerprint, a new build).
    registry.upload("attacker/more.json", manifest(run("good-1", "base", name="extra")))
    assert record(registry, "attacker/more.json")["status"] == "rejected"
    version = registry.get("/buckets/base/versions/v1")
    assert version["build_count"] == 1
    assert [v["name"] for v in registry.get("/buckets/base/versions")["items"]] == ["v1"]
    assert registry.get("/buckets/base")["latest_version"] == "v1"
    assert registry.get("/buckets/other")["latest_version"] == "v1"


def test_prefixes_are_changed_and_lifted_by_patch(registry):
    registry.upload("base/packer-manifest.json", manifest(run("r1", "base")))
    assert registry.get("/buckets/base")["manifest_prefixes"] == []  # made by ingestion: open
    changed = registry.send("patch", "/buckets/base", {"manifest_prefixes": ["pipelines/base/"]})
    assert changed["manifest_prefixes"] == ["pipelines/base/"]
    registry.upload("base/again.json", manifest(run("r2", "base")))
    assert record(registry, "base/again.json")["status"] == "rejected"
    registry.send("patch", "/buckets/base", {"description": "unrelated"})
    assert registry.get("/buckets/base")["manifest_prefixes"] == ["pipelines/base/"]  # left as it was
    registry.send("patch", "/buckets/base", {"manifest_prefixes": []})
    registry.upload("base/third.json", manifest(run("r3", "base")))
    assert record(registry, "base/third.json")["status"] == "accepted"
    (event,) = [e for e in registry.all_pages("/buckets/base/events") if e["action"] == "bucket.updated"
                and e["after"].get("manifest_prefixes") == []]
    assert event["before"]["manifest_prefixes"] == ["pipelines/base/"]


@pytest.mark.parametrize("prefixes, words", [
    ([f"p{i}/" for i in range(21)], "20"),
    (["p" * 257], "256"),
    ([""], "manifest_prefixes"),
    ("base/", "manifest_prefixes"),
    ([1], "manifest_prefixes"),
])
def test_prefixes_are_capped(registry, prefixes, words):
    body = registry.send("post", "/buckets", {"name": "base", "manifest_prefixes": prefixes}, 400)
    assert body["error"] == "BadRequest" and words in body["message"], body
    registry.send("post", "/buckets", {"name": "base"}, 201)
    body = registry.send("patch", "/buckets/base", {"manifest_prefixes": prefixes}, 400)
    assert words in body["message"], body
    assert registry.get("/buckets/base")["manifest_prefixes"] == []


def dynamodb_calls(registry, key: str, payload: dict) -> int:
    calls = []

    def count(model, **_):
        calls.append(model.name)

    events = aws.client("dynamodb").meta.events
    events.register("before-call.dynamodb.*", count)
    registry.upload(key, payload)
    events.unregister("before-call.dynamodb.*", count)
    return len(calls)


def test_the_check_costs_ingestion_no_dynamodb_call(registry):
    registry.send("post", "/buckets", {"name": "open"}, 201)
    registry.send("post", "/buckets", {"name": "closed", "manifest_prefixes": ["closed/"]}, 201)
    open_calls = dynamodb_calls(registry, "open/m.json", manifest(run("o1", "open")))
    closed_calls = dynamodb_calls(registry, "closed/m.json", manifest(run("c1", "closed")))
    assert record(registry, "closed/m.json")["status"] == "accepted"
    assert closed_calls == open_calls
