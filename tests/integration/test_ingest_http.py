"""Manifests delivered by S3 events, read back over HTTP: the path a creator's upload takes."""

import json

import boto3
import pytest

from support import ADMIN, MANIFEST_BUCKET, manifest, real_manifest, real_manifest_names


def test_multiregion_manifest_becomes_versions_with_artifacts(registry):
    registry.upload("nomad/packer-manifest.json", real_manifest("amazon-ebs-multiregion-multirun-1.json"))
    versions = registry.all_pages("/buckets/nomad/versions")
    assert [v["name"] for v in versions] == [f"v{n}" for n in range(8, 0, -1)]
    first = registry.get("/buckets/nomad/versions/v1")
    assert first["fingerprint"] == "d0637d1c-4e19-b903-aae8-a48194c31538"
    (build,) = first["builds"]
    assert (build["platform"], build["component_type"]) == ("aws", "amazon-ebs.hashistack")
    assert {(a["region"], a["external_id"]) for a in build["artifacts"]} == {
        ("us-east-1", "ami-0c2716a13b6c0ff45"), ("us-east-2", "ami-0e78487b03c33b650")}
    by_fingerprint = registry.get("/buckets/nomad/versions/d0637d1c-4e19-b903-aae8-a48194c31538")
    assert by_fingerprint["name"] == "v1"
    bucket = registry.get("/buckets/nomad")
    assert bucket["latest_version"] == "v8" and bucket["version_count"] == 8


@pytest.mark.parametrize("path", real_manifest_names())
def test_every_real_manifest_is_accepted_whole(registry, path):
    raw = real_manifest(path)
    runs = {(b.get("custom_data") or {}).get("fingerprint") or b["packer_run_uuid"] or json.dumps(b, sort_keys=True)
            for b in json.loads(raw)["builds"]}
    registry.upload(f"img/{path}", raw)
    (record,) = registry.get("/ingestions")["items"]
    assert (record["status"], record["reasons"]) == ("accepted", [])
    versions = registry.all_pages("/buckets/img/versions", limit=100)
    assert len(versions) == len(runs)
    kept = sum(len(registry.get(f"/buckets/img/versions/{v['name']}")["builds"]) for v in versions)
    assert kept == sum(v["build_count"] for v in versions) == sum(r["builds_added"] for r in record["versions"])


def test_duplicate_delivery_changes_nothing(registry):
    event = registry.upload("base/packer-manifest.json", real_manifest("amazon-ebs-per-region-builds-same-run.json"))
    before = registry.all_pages("/buckets/base/versions")
    registry.deliver(event)
    registry.deliver(event)
    assert registry.all_pages("/buckets/base/versions") == before
    assert len(registry.get("/ingestions")["items"]) == 1
    assert [len(registry.get(f"/buckets/base/versions/{v['name']}")["builds"]) for v in before] == [3, 3]


def test_same_manifest_under_another_key_adds_nothing(registry):
    raw = real_manifest("googlecompute-two-builds-same-run.json")
    registry.upload("influx/a.json", raw)
    registry.upload("influx/b.json", raw)
    assert [v["name"] for v in registry.all_pages("/buckets/influx/versions")] == ["v1"]
    newest = registry.get("/ingestions")["items"][0]
    assert newest["key"] == "influx/b.json"
    assert newest["versions"] == [{"bucket": "influx", "version": "v1", "fingerprint": "d86df006-6dbf-3799-f94e-82108cc8d414",
                                   "builds_added": 0, "created": False, "duplicate": None}]


def test_later_upload_with_more_builds_extends_the_version(registry):
    one = manifest({"name": "a", "custom_data": {"fingerprint": "abc123"}})
    two = manifest({"name": "a", "custom_data": {"fingerprint": "abc123"}},
                   {"name": "b", "custom_data": {"fingerprint": "abc123"}, "artifact_id": "us-west-2:ami-0bbbbbbbbbbbbbbbb"})
    registry.upload("web/packer-manifest.json", one)
    registry.upload("web/packer-manifest.json", two)
    version = registry.get("/buckets/web/versions/abc123")
    assert version["name"] == "v1" and version["build_count"] == 2
    assert [b["component_type"] for b in version["builds"]] == ["amazon-ebs.a", "amazon-ebs.b"]
    assert registry.get("/buckets/web")["version_count"] == 1


def test_partial_manifest_lands_the_good_builds_and_says_why(registry):
    bad = {"name": "broken", "builder_type": "amazon-ebs", "build_time": "yesterday", "artifact_id": "x"}
    doc = manifest({"name": "one"}, {"name": "two", "artifact_id": "us-east-1:ami-0cccccccccccccccc"})
    doc["builds"].insert(1, bad)
    registry.upload("api/packer-manifest.json", doc)
    (record,) = registry.get("/ingestions?status=partial")["items"]
    assert len(record["reasons"]) == 1 and "builds[1] (broken)" in record["reasons"][0]
    assert "build_time" in record["reasons"][0]
    assert len(registry.get("/buckets/api/versions/v1")["builds"]) == 2


@pytest.mark.parametrize("raw, reason", [
    (b"\x00\xff\xfe garbage", "not UTF-8"),
    (b"{not json", "not valid JSON"),
    (b"[1, 2]", "must be a JSON object"),
    (b'{"hello": "world"}', "'builds' is missing"),
    (b"[" * 5000 + b"]" * 5000, "nested deeper"),
])
def test_bad_objects_are_rejected_with_a_reason_and_kept(registry, raw, reason):
    registry.upload("junk/packer-manifest.json", raw)
    (record,) = registry.get("/ingestions?status=rejected")["items"]
    assert record["key"] == "junk/packer-manifest.json"
    assert any(reason in r for r in record["reasons"]), record["reasons"]
    assert registry.get("/ingestions?status=accepted")["items"] == []
    assert boto3.client("s3").get_object(Bucket=MANIFEST_BUCKET, Key="junk/packer-manifest.json")["Body"].read() == raw
    registry.get("/buckets/junk", status=404)


def test_a_vanished_object_is_rejected_not_raised(registry):
    event = registry.upload("gone/packer-manifest.json", manifest({}), deliver=False)
    boto3.client("s3").delete_object(Bucket=MANIFEST_BUCKET, Key="gone/packer-manifest.json")
    registry.deliver(event)
    (record,) = registry.get("/ingestions?status=rejected")["items"]
    assert "no longer exists" in record["reasons"][0]


def test_bucket_and_fingerprint_from_object_metadata(registry):
    registry.upload("anything.json", manifest({"packer_run_uuid": "r1"}, {"packer_run_uuid": "r2", "name": "x"}),
                    metadata={"bucket-name": "from-meta", "fingerprint": "git-0abc"})
    (version,) = registry.all_pages("/buckets/from-meta/versions")
    assert (version["name"], version["fingerprint"], version["build_count"]) == ("v1", "git-0abc", 2)


def test_custom_data_names_bucket_fingerprint_and_parent(registry):
    doc = manifest({"custom_data": {"bucket_name": "child", "fingerprint": "f1", "parent_bucket": "base",
                                    "parent_channel": "production", "source_ami": "ami-0123456789abcdef0", "os": "ubuntu"}})
    registry.upload("ignored/packer-manifest.json", doc)
    version = registry.get("/buckets/child/versions/f1")
    assert version["parent_hint"] == {"bucket": "base", "channel": "production", "version": None,
                                      "source_artifact": "ami-0123456789abcdef0"}
    assert version["builds"][0]["labels"]["os"] == "ubuntu"


def test_versions_paginate_without_gaps_or_duplicates(registry):
    doc = manifest(*({"packer_run_uuid": f"run-{n:03d}"} for n in range(23)))
    registry.upload("many/packer-manifest.json", doc)
    for limit in (1, 5, 7, 23, 100):
        names = [v["name"] for v in registry.all_pages("/buckets/many/versions", limit=limit)]
        assert names == [f"v{n}" for n in range(23, 0, -1)]
    first = registry.get("/buckets/many/versions?limit=5")
    assert len(first["items"]) == 5 and first["next_token"]


def test_deleted_version_numbers_are_never_reused(registry):
    registry.upload("svc/a.json", manifest({"packer_run_uuid": "r1"}, {"packer_run_uuid": "r2"}))
    deleted = registry.send("delete", "/buckets/svc/versions/v2")
    assert deleted["name"] == "v2"
    registry.get("/buckets/svc/versions/v2", status=404)
    registry.get("/buckets/svc/versions/r2", status=404)
    assert registry.get("/buckets/svc")["latest_version"] == "v1"
    registry.upload("svc/b.json", manifest({"packer_run_uuid": "r3"}))
    assert [v["name"] for v in registry.all_pages("/buckets/svc/versions")] == ["v3", "v1"]
    registry.upload("svc/c.json", manifest({"packer_run_uuid": "r2"}))  # the deleted run, uploaded again
    assert registry.get("/buckets/svc/versions/r2")["name"] == "v4"


def test_bucket_lifecycle(registry):
    created = registry.send("post", "/buckets", {"name": "ubuntu-base", "description": "Ubuntu", "labels": {"os": "ubuntu"}}, 201)
    assert created["version_count"] == 0 and created["latest_version"] is None
    registry.send("post", "/buckets", {"name": "ubuntu-base"}, 409)
    patched = registry.send("patch", "/buckets/ubuntu-base", {"description": "Ubuntu 24.04"})
    assert (patched["description"], patched["labels"]) == ("Ubuntu 24.04", {"os": "ubuntu"})
    registry.upload("ubuntu-base/m.json", manifest({}))
    assert registry.get("/buckets/ubuntu-base")["description"] == "Ubuntu 24.04"
    registry.send("post", "/buckets", {"name": "zeta"}, 201)
    assert [b["name"] for b in registry.all_pages("/buckets", limit=1)] == ["ubuntu-base", "zeta"]
    registry.send("delete", "/buckets/ubuntu-base")
    registry.get("/buckets/ubuntu-base", status=404)
    registry.get("/buckets/ubuntu-base/versions", status=404)
    assert [b["name"] for b in registry.all_pages("/buckets")] == ["zeta"]


@pytest.mark.parametrize("method, path, payload, status, words", [
    ("get", "/buckets/nope", None, 404, "does not exist"),
    ("get", "/buckets/nope/versions", None, 404, "does not exist"),
    ("get", "/buckets/app/versions/v99", None, 404, "no version"),
    ("get", "/buckets/app/versions/deadbeef", None, 404, "no version"),
    ("get", "/buckets/app/versions?limit=0", None, 400, "limit"),
    ("get", "/buckets/app/versions?limit=abc", None, 400, "limit"),
    ("get", "/buckets/app/versions?next_token=%%%", None, 400, "next_token"),
    ("get", "/ingestions?status=maybe", None, 400, "status"),
    ("post", "/buckets", {"name": "bad name!"}, 400, "name"),
    ("post", "/buckets", {"name": "ok", "colour": "red"}, 400, "colour"),
    ("patch", "/buckets/nope", {"description": "x"}, 404, "does not exist"),
    ("delete", "/buckets/nope", None, 404, "does not exist"),
])
def test_errors_are_json_with_a_message(registry, method, path, payload, status, words):
    registry.upload("app/m.json", manifest({}))
    body = registry.send(method, path, payload, status)
    assert set(body) == {"error", "message"} and words in body["message"]
    assert "Traceback" not in body["message"]


def test_invalid_json_body_is_a_400(client):
    response = client.http.post("/buckets", body=b"{nope", headers={"Content-Type": "application/json", **ADMIN})
    assert response.status_code == 400
    assert json.loads(response.body)["error"] == "BadRequest"


def test_a_token_from_another_list_is_refused(registry):
    registry.upload("one/m.json", manifest(*({"packer_run_uuid": f"r{n}"} for n in range(3))))
    registry.upload("two/m.json", manifest(*({"packer_run_uuid": f"r{n}"} for n in range(3))))
    token = registry.get("/buckets/one/versions?limit=1")["next_token"]
    body = registry.get(f"/buckets/two/versions?limit=1&next_token={token}", status=400)
    assert "does not belong" in body["message"]


def test_a_version_too_big_for_one_transaction_lands_whole(registry):
    """60 builds x 2 regions = 180 items: written in several transactions, all served."""
    builds = [{"name": f"src{n:02d}", "packer_run_uuid": "big-run",
               "artifact_id": f"us-east-1:ami-{n:017x},eu-west-1:ami-{n + 100:017x}"} for n in range(60)]
    registry.upload("big/m.json", manifest(*builds))
    version = registry.get("/buckets/big/versions/v1")
    assert version["build_count"] == len(version["builds"]) == 60
    last = registry.get("/buckets/big/channels/latest/artifact?platform=aws&region=eu-west-1"
                        "&component_type=amazon-ebs.src59")
    assert last["external_id"] == f"ami-{159:017x}"
    assert registry.get(f"/artifacts/ami-{159:017x}")["version"] == "v1"
    (record,) = registry.get("/ingestions")["items"]
    assert record["versions"][0]["builds_added"] == 60
