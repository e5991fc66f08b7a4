"""Channels, their history and the consumer query, through the HTTP API and S3 events."""

from __future__ import annotations

import boto3

from chalicelib.runtime import aws
from support import TABLE, manifest, real_manifest


def publish(registry, bucket: str, fingerprint: str, *builds: dict) -> None:
    """Upload a manifest making version `fingerprint` of `bucket` (one AMI in us-east-1 by default)."""
    builds = builds or ({"artifact_id": f"us-east-1:ami-{fingerprint}"},)
    doc = manifest(*({**b, "custom_data": {"fingerprint": fingerprint, **b.get("custom_data", {})}} for b in builds))
    registry.upload(f"{bucket}/{fingerprint}.json", doc)


def channel(registry, bucket: str, name: str, status: int = 200) -> dict:
    return registry.get(f"/buckets/{bucket}/channels/{name}", status=status)


def history(registry, bucket: str, name: str) -> list[tuple]:
    entries = registry.all_pages(f"/buckets/{bucket}/channels/{name}/history")
    return [(e["cause"], e["from_version"], e["to_version"]) for e in entries]


def served(registry, bucket: str, name: str, query: str = "platform=aws&region=us-east-1", status: int = 200) -> dict:
    return registry.get(f"/buckets/{bucket}/channels/{name}/artifact?{query}", status=status)


# ---- the managed channel `latest` ---------------------------------------------------------

def test_latest_is_created_with_the_bucket_and_follows_ingestion(registry):
    registry.send("post", "/buckets", {"name": "web"}, 201)  # as HCP Packer creates a bucket: with `latest`
    empty = channel(registry, "web", "latest")
    assert (empty["version"], empty["managed"], empty["restricted"]) == (None, True, True)
    assert [c["name"] for c in registry.get("/buckets/web/channels")["items"]] == ["latest"]
    assert registry.get("/buckets/web")["channels"] == [
        {"name": "latest", "version": None, "version_status": None, "restricted": True}]
    assert "not assigned" in served(registry, "web", "latest", status=404)["message"]

    publish(registry, "web", "aaa111")
    latest = channel(registry, "web", "latest")
    assert (latest["version"], latest["fingerprint"], latest["version_status"]) == ("v1", "aaa111", "active")
    assert latest["managed"] is True and latest["restricted"] is True
    assert latest["created_at"] and latest["updated_at"]
    assert served(registry, "web", "latest")["external_id"] == "ami-aaa111"

    publish(registry, "web", "bbb222")
    assert channel(registry, "web", "latest")["version"] == "v2"
    assert registry.get("/buckets/web")["latest_version"] == "v2"
    assert served(registry, "web", "latest")["external_id"] == "ami-bbb222"
    assert history(registry, "web", "latest") == [("ingest", "v1", "v2"), ("ingest", None, "v1")]
    # Still one managed channel, created once.
    assert [c["name"] for c in registry.get("/buckets/web/channels")["items"]] == ["latest"]


def test_latest_refuses_manual_assignment_and_deletion(registry):
    publish(registry, "web", "aaa111")
    publish(registry, "web", "bbb222")
    for payload in ({"version": "v1"}, {"version": None}):
        body = registry.send("patch", "/buckets/web/channels/latest", payload, 409)
        assert body["error"] == "Conflict" and "managed" in body["message"]
    body = registry.send("delete", "/buckets/web/channels/latest", status=409)
    assert "managed" in body["message"]
    body = registry.send("post", "/buckets/web/channels", {"name": "latest", "version": "v1"}, 409)
    assert "latest" in body["message"] and "managed" in body["message"]
    assert channel(registry, "web", "latest")["version"] == "v2"
    assert len(history(registry, "web", "latest")) == 2

    # Its description and restricted flag are the user's to change, without a history entry.
    patched = registry.send("patch", "/buckets/web/channels/latest", {"description": "newest", "restricted": False})
    assert (patched["description"], patched["restricted"], patched["managed"], patched["version"]) == (
        "newest", False, True, "v2")
    assert len(history(registry, "web", "latest")) == 2
    publish(registry, "web", "ccc333")  # the next ingestion moves it but keeps the user's settings
    latest = channel(registry, "web", "latest")
    assert (latest["version"], latest["restricted"], latest["description"]) == ("v3", False, "newest")


# ---- user channels ------------------------------------------------------------------------

def test_create_read_list_and_delete_a_channel(registry):
    publish(registry, "web", "aaa111")
    created = registry.send("post", "/buckets/web/channels",
                            {"name": "production", "version": "aaa111", "description": "prod", "restricted": True}, 201)
    assert {k: created[k] for k in ("bucket", "name", "version", "fingerprint", "version_status", "description",
                                    "restricted", "managed", "created_by", "updated_by")} == {
        "bucket": "web", "name": "production", "version": "v1", "fingerprint": "aaa111", "version_status": "active",
        "description": "prod", "restricted": True, "managed": False, "created_by": "bootstrap-admin",
        "updated_by": "bootstrap-admin"}
    assert created["created_at"] == created["updated_at"]
    assert channel(registry, "web", "production") == created

    empty = registry.send("post", "/buckets/web/channels", {"name": "staging"}, 201)
    assert (empty["version"], empty["fingerprint"], empty["restricted"], empty["description"]) == (None, None, False, "")
    assert history(registry, "web", "staging") == []
    registry.send("patch", "/buckets/web/channels/staging", {"version": None})  # already empty: not a move
    assert history(registry, "web", "staging") == []
    assert history(registry, "web", "production") == [("assign", None, "v1")]
    assert [c["name"] for c in registry.all_pages("/buckets/web/channels", limit=1)] == [
        "latest", "production", "staging"]

    assert registry.send("post", "/buckets/web/channels", {"name": "staging"}, 409)["error"] == "Conflict"
    assert registry.send("post", "/buckets/web/channels", {"name": "qa", "version": "v9"}, 404)["error"] == "NotFound"
    assert registry.send("post", "/buckets/nope/channels", {"name": "qa"}, 404)["error"] == "NotFound"
    channel(registry, "web", "qa", status=404)

    deleted = registry.send("delete", "/buckets/web/channels/production")
    assert deleted["name"] == "production"
    channel(registry, "web", "production", status=404)
    registry.get("/buckets/web/channels/production/history", status=404)
    registry.send("delete", "/buckets/web/channels/production", status=404)


def test_channel_names_are_validated(registry):
    publish(registry, "web", "aaa111")
    for bad in ("Production", "prod_1", "-prod", "prod.1", "prod 1", "", "a" * 65, "é"):
        body = registry.send("post", "/buckets/web/channels", {"name": bad}, 400)
        assert body["error"] == "BadRequest" and "name" in body["message"], bad
    for good in ("a" * 64, "prod-1", "2026"):
        registry.send("post", "/buckets/web/channels", {"name": good}, 201)
    registry.send("post", "/buckets/web/channels", {"name": "x", "colour": "red"}, 400)
    registry.send("post", "/buckets/web/channels", {"name": "y", "restricted": "maybe"}, 400)


def test_unknown_bucket_or_channel_is_a_404_everywhere(registry):
    publish(registry, "web", "aaa111")
    for path in ("/buckets/nope/channels", "/buckets/nope/channels/latest", "/buckets/web/channels/nope",
                 "/buckets/web/channels/nope/history", "/buckets/nope/channels/latest/history",
                 "/buckets/web/channels/nope/artifact?platform=aws", "/buckets/nope/channels/x/artifact?platform=aws"):
        assert registry.get(path, status=404)["error"] == "NotFound", path
    registry.send("patch", "/buckets/web/channels/nope", {"version": "v1"}, 404)
    registry.send("patch", "/buckets/web/channels/nope", {"description": "x"}, 404)
    registry.send("delete", "/buckets/web/channels/nope", status=404)


def test_assign_unassign_and_history_newest_first(registry):
    for fp in ("aaa111", "bbb222", "ccc333"):
        publish(registry, "web", fp)
    created = registry.send("post", "/buckets/web/channels", {"name": "prod"}, 201)
    assigned = registry.send("patch", "/buckets/web/channels/prod", {"version": "aaa111"})
    assert (assigned["version"], assigned["fingerprint"], assigned["version_status"]) == ("v1", "aaa111", "active")
    assert assigned["created_at"] == created["created_at"] < assigned["updated_at"]
    assert served(registry, "web", "prod")["external_id"] == "ami-aaa111"
    assert registry.send("patch", "/buckets/web/channels/prod", {"version": "v3"})["version"] == "v3"
    assert served(registry, "web", "prod")["external_id"] == "ami-ccc333"

    # Details only: no move, no history entry.
    patched = registry.send("patch", "/buckets/web/channels/prod", {"description": "live", "restricted": True})
    assert (patched["version"], patched["description"], patched["restricted"]) == ("v3", "live", True)
    # Re-assigning the version it holds is not a move either.
    registry.send("patch", "/buckets/web/channels/prod", {"version": "v3"})
    assert history(registry, "web", "prod") == [("assign", "v1", "v3"), ("assign", None, "v1")]

    # Version and details together: one move.
    both = registry.send("patch", "/buckets/web/channels/prod", {"version": "v2", "description": "rolled"})
    assert (both["version"], both["description"]) == ("v2", "rolled")
    unassigned = registry.send("patch", "/buckets/web/channels/prod", {"version": None})
    assert (unassigned["version"], unassigned["fingerprint"], unassigned["version_status"]) == (None, None, None)
    assert unassigned["description"] == "rolled"
    body = served(registry, "web", "prod", status=404)
    assert "not assigned" in body["message"]

    entries = registry.get("/buckets/web/channels/prod/history")["items"]
    assert [(e["cause"], e["from_version"], e["to_version"]) for e in entries] == [
        ("unassign", "v2", None), ("assign", "v3", "v2"), ("assign", "v1", "v3"), ("assign", None, "v1")]
    assert all(e["author"] == "bootstrap-admin" and e["channel"] == "prod" for e in entries)
    times = [e["at"] for e in entries]
    assert times == sorted(times, reverse=True) and len(set(times)) == 4
    registry.send("patch", "/buckets/web/channels/prod", {"version": "v7"}, 404)
    registry.send("patch", "/buckets/web/channels/prod", {"version": "nosuchfp"}, 404)
    registry.send("patch", "/buckets/web/channels/prod", {"name": "other"}, 400)


def test_history_paginates_without_gaps_or_duplicates(registry):
    for fp in ("aaa111", "bbb222"):
        publish(registry, "web", fp)
    registry.send("post", "/buckets/web/channels", {"name": "prod", "version": "v1"}, 201)
    registry.send("post", "/buckets/web/channels", {"name": "prod-eu", "version": "v2"}, 201)  # a name sharing the prefix
    for version in ("v2", "v1", "v2", "v1"):
        registry.send("patch", "/buckets/web/channels/prod", {"version": version})
    full = registry.get("/buckets/web/channels/prod/history?limit=100")
    assert "next_token" not in full and len(full["items"]) == 5
    first = registry.get("/buckets/web/channels/prod/history?limit=2")
    assert len(first["items"]) == 2 and first["next_token"]
    paged = registry.all_pages("/buckets/web/channels/prod/history", limit=2)
    assert paged == full["items"]
    assert [(e["from_version"], e["to_version"]) for e in paged] == [
        ("v2", "v1"), ("v1", "v2"), ("v2", "v1"), ("v1", "v2"), (None, "v1")]
    # A token from another channel's history (or another list) is refused.
    token = registry.get("/buckets/web/channels/latest/history?limit=1")["next_token"]
    assert registry.get(f"/buckets/web/channels/prod/history?limit=1&next_token={token}", status=400)["error"] == "BadRequest"
    token = registry.get("/buckets/web/versions?limit=1")["next_token"]
    registry.get(f"/buckets/web/channels/prod/history?limit=1&next_token={token}", status=400)
    registry.get("/buckets/web/channels/prod/history?limit=0", status=400)


def test_deleting_a_channel_deletes_its_history(registry):
    for fp in ("aaa111", "bbb222"):
        publish(registry, "web", fp)
    registry.send("post", "/buckets/web/channels", {"name": "prod", "version": "v1"}, 201)
    registry.send("post", "/buckets/web/channels", {"name": "prod-eu", "version": "v1"}, 201)
    registry.send("patch", "/buckets/web/channels/prod", {"version": "v2"})
    registry.send("delete", "/buckets/web/channels/prod")
    registry.send("post", "/buckets/web/channels", {"name": "prod"}, 201)
    assert history(registry, "web", "prod") == []
    assert history(registry, "web", "prod-eu") == [("assign", None, "v1")]  # a neighbour keeps its own


def test_revoked_version_cannot_be_assigned(registry):
    for fp in ("aaa111", "bbb222"):
        publish(registry, "web", fp)
    registry.send("post", "/buckets/web/channels", {"name": "prod"}, 201)
    registry.send("post", "/buckets/web/versions/v1/revoke", {"reason": "CVE-2026-0001 in openssl"})
    body = registry.send("patch", "/buckets/web/channels/prod", {"version": "aaa111"}, 409)
    assert "v1" in body["message"] and "revoked" in body["message"] and "CVE-2026-0001" in body["message"]
    body = registry.send("post", "/buckets/web/channels", {"name": "qa", "version": "v1"}, 409)
    assert "CVE-2026-0001" in body["message"]
    channel(registry, "web", "qa", status=404)
    assert channel(registry, "web", "prod")["version"] is None
    assert history(registry, "web", "prod") == []


def test_deleting_a_held_version_is_refused_unless_channels_roll_back(registry):
    for fp in ("aaa111", "bbb222", "ccc333"):
        publish(registry, "web", fp)
    registry.send("post", "/buckets/web/channels", {"name": "prod", "version": "v2"}, 201)
    registry.send("patch", "/buckets/web/channels/prod", {"version": "v3"})
    registry.send("post", "/buckets/web/channels", {"name": "staging", "version": "v3"}, 201)
    body = registry.send("delete", "/buckets/web/versions/v3", status=409)
    assert "prod" in body["message"] and "staging" in body["message"] and "rollback_channels" in body["message"]
    registry.get("/buckets/web/versions/v3")
    assert channel(registry, "web", "latest")["version"] == "v3"

    registry.send("delete", "/buckets/web/versions/v3?rollback_channels=true")
    registry.get("/buckets/web/versions/v3", status=404)
    assert channel(registry, "web", "prod")["version"] == "v2"
    assert channel(registry, "web", "staging")["version"] is None
    assert channel(registry, "web", "latest")["version"] == "v2"
    assert registry.get("/buckets/web")["latest_version"] == "v2"
    assert history(registry, "web", "prod")[0] == ("rollback", "v3", "v2")
    assert history(registry, "web", "staging")[0] == ("rollback", "v3", None)
    assert history(registry, "web", "latest")[0] == ("delete", "v3", "v2")
    assert served(registry, "web", "prod")["external_id"] == "ami-bbb222"
    assert served(registry, "web", "latest")["external_id"] == "ami-bbb222"

    # A version no user channel holds is deleted without the flag; latest moves if it held it.
    registry.send("delete", "/buckets/web/versions/v1")
    assert channel(registry, "web", "latest")["version"] == "v2"
    registry.send("patch", "/buckets/web/channels/prod", {"version": None})
    registry.send("delete", "/buckets/web/versions/v2")
    latest = channel(registry, "web", "latest")
    assert latest["version"] is None and registry.get("/buckets/web").get("latest_version") is None
    assert "not assigned" in served(registry, "web", "latest", status=404)["message"]


# ---- the consumer query -------------------------------------------------------------------

MIXED = (
    {"name": "ubuntu", "builder_type": "amazon-ebs", "artifact_id": "us-east-1:ami-0e1,us-west-2:ami-0w2",
     "custom_data": {"os": "ubuntu", "arch": "amd64"}},
    {"name": "ubuntu", "builder_type": "googlecompute", "artifact_id": "ubuntu-2404-20261125"},
    {"name": "ubuntu", "builder_type": "docker", "artifact_id": "sha256:" + "ab" * 32},
)


def test_consumer_query_answers_with_the_artifact_and_its_provenance(registry):
    publish(registry, "web", "aaa111", *MIXED)
    registry.send("post", "/buckets/web/channels", {"name": "prod", "version": "v1"}, 201)
    answer = served(registry, "web", "prod", "platform=aws&region=us-west-2")
    version = registry.get("/buckets/web/versions/v1")
    (aws_build,) = [b for b in version["builds"] if b["platform"] == "aws"]
    assert answer == {
        "bucket": "web", "channel": "prod", "version": "v1", "fingerprint": "aaa111", "build_id": aws_build["id"],
        "component_type": "amazon-ebs.ubuntu", "platform": "aws", "region": "us-west-2", "external_id": "ami-0w2",
        "labels": {"os": "ubuntu", "arch": "amd64", "fingerprint": "aaa111"}, "build_time": aws_build["build_time"],
        "files": [], "file_count": 0, "created_at": aws_build["created_at"]}
    assert served(registry, "web", "prod", "platform=aws&region=us-east-1")["external_id"] == "ami-0e1"

    # Region-less platforms need no region.
    gce = served(registry, "web", "prod", "platform=gce")
    assert (gce["external_id"], gce["region"], gce["component_type"]) == (
        "ubuntu-2404-20261125", None, "googlecompute.ubuntu")
    docker = served(registry, "web", "prod", "platform=docker")
    assert (docker["external_id"], docker["region"]) == ("sha256:" + "ab" * 32, None)
    # A region passed anyway (a module that always sends one) does not hide a region-less image.
    assert served(registry, "web", "prod", "platform=gce&region=us-west-2")["external_id"] == gce["external_id"]
    assert served(registry, "web", "prod", "platform=docker&region=eu-west-1")["external_id"] == docker["external_id"]
    assert served(registry, "web", "latest", "platform=docker")["external_id"] == docker["external_id"]


def test_consumer_query_region_rules_and_404_messages(registry):
    publish(registry, "web", "aaa111", *MIXED)
    registry.send("post", "/buckets/web/channels", {"name": "prod", "version": "v1"}, 201)
    registry.send("post", "/buckets/web/channels", {"name": "empty"}, 201)

    # AWS in two regions without region=: ambiguous, the answer lists each region once.
    body = served(registry, "web", "prod", "platform=aws", status=400)
    assert body["error"] == "BadRequest" and body["message"].endswith("one of us-east-1, us-west-2")
    publish(registry, "web", "bbb222", {"artifact_id": "us-west-2:ami-0a,us-east-1:ami-0b", "custom_data": {"n": "1"}},
            {"artifact_id": "us-east-1:ami-0c,us-west-2:ami-0d", "custom_data": {"n": "2"}})
    body = served(registry, "web", "latest", "platform=aws", status=400)
    assert body["message"].endswith("one of us-east-1, us-west-2")
    body = served(registry, "web", "prod", "region=us-east-1", status=400)
    assert "platform is required" in body["message"]

    body = served(registry, "web", "prod", "platform=aws&region=eu-west-1", status=404)
    assert "region=eu-west-1" in body["message"]
    assert "aws in us-east-1, us-west-2; docker; gce" in body["message"]
    body = served(registry, "web", "prod", "platform=azure", status=404)
    assert "platform=azure" in body["message"] and "aws in us-east-1, us-west-2" in body["message"]
    body = served(registry, "web", "prod", "platform=aws&region=us-east-1&component_type=amazon-ebs.debian", status=404)
    assert "component_type=amazon-ebs.debian" in body["message"] and "amazon-ebs.ubuntu" in body["message"]
    body = served(registry, "web", "empty", "platform=aws", status=404)
    assert "not assigned" in body["message"]


def test_one_region_is_served_without_region(registry):
    publish(registry, "web", "aaa111", {"artifact_id": "eu-west-1:ami-0eu", "custom_data": {"a": "1"}},
            {"artifact_id": "eu-west-1:ami-0eu2", "custom_data": {"a": "2"}})
    answer = served(registry, "web", "latest", "platform=aws")
    assert answer["region"] == "eu-west-1"


def test_consumer_query_filters_and_documented_tie_break(registry):
    same_time = 1764000000
    publish(registry, "web", "aaa111",
            {"name": "ubuntu-arm", "artifact_id": "us-east-1:ami-0a", "build_time": same_time,
             "custom_data": {"os": "ubuntu", "arch": "arm64"}},
            {"name": "ubuntu", "artifact_id": "us-east-1:ami-0b", "build_time": same_time,
             "custom_data": {"os": "ubuntu", "arch": "amd64"}},
            {"name": "debian", "artifact_id": "us-east-1:ami-0c", "build_time": same_time - 60,
             "custom_data": {"os": "debian", "arch": "amd64"}},
            {"name": "undated", "artifact_id": "us-east-1:ami-0d", "build_time": 0,
             "custom_data": {"os": "ubuntu", "arch": "amd64"}})
    q = "platform=aws&region=us-east-1"
    # Same build_time and ingestion: the alphabetically first component type wins
    # (amazon-ebs.ubuntu before amazon-ebs.ubuntu-arm); an older or undated build loses.
    for _ in range(3):
        assert served(registry, "web", "latest", q)["external_id"] == "ami-0b"
    assert served(registry, "web", "latest", f"{q}&labels=arch:arm64")["external_id"] == "ami-0a"
    assert served(registry, "web", "latest", f"{q}&labels=os:ubuntu,arch:arm64")["external_id"] == "ami-0a"
    assert served(registry, "web", "latest", f"{q}&labels=os:debian")["external_id"] == "ami-0c"
    assert served(registry, "web", "latest", f"{q}&component_type=amazon-ebs.undated")["external_id"] == "ami-0d"
    assert served(registry, "web", "latest", f"{q}&labels=os:debian,arch:arm64", status=404)["error"] == "NotFound"
    assert served(registry, "web", "latest", f"{q}&labels=arch", status=400)["error"] == "BadRequest"

    # Without build_time, the later ingestion wins; within one, the first external ID.
    publish(registry, "api", "bbb222", {"name": "z", "artifact_id": "us-east-1:ami-0z", "build_time": 0},
            {"name": "z", "artifact_id": "us-east-1:ami-0y", "build_time": 0})
    assert served(registry, "api", "latest", q)["external_id"] == "ami-0y"
    newer = manifest({"name": "z", "artifact_id": "us-east-1:ami-0z", "build_time": 0, "custom_data": {"fingerprint": "bbb222"}},
                     {"name": "z", "artifact_id": "us-east-1:ami-0y", "build_time": 0, "custom_data": {"fingerprint": "bbb222"}},
                     {"name": "z", "artifact_id": "us-east-1:ami-0x", "build_time": 0,
                      "custom_data": {"fingerprint": "bbb222", "later": "yes"}})
    registry.upload("api/bbb222.json", newer)
    assert served(registry, "api", "latest", q)["external_id"] == "ami-0x"


def test_builds_added_later_to_a_held_version_are_served(registry):
    aws_only = manifest({"artifact_id": "us-east-1:ami-0e1", "custom_data": {"fingerprint": "aaa111"}})
    registry.upload("web/packer-manifest.json", aws_only)
    registry.send("post", "/buckets/web/channels", {"name": "prod", "version": "v1"}, 201)
    served(registry, "web", "prod", "platform=gce", status=404)
    with_gce = manifest({"artifact_id": "us-east-1:ami-0e1", "custom_data": {"fingerprint": "aaa111"}},
                        {"name": "g", "builder_type": "googlecompute", "artifact_id": "web-image-1",
                         "custom_data": {"fingerprint": "aaa111"}})
    registry.upload("web/packer-manifest.json", with_gce)
    assert registry.get("/buckets/web/versions/v1")["build_count"] == 2
    assert served(registry, "web", "prod", "platform=gce")["external_id"] == "web-image-1"
    assert served(registry, "web", "latest", "platform=gce")["external_id"] == "web-image-1"
    assert history(registry, "web", "prod") == [("assign", None, "v1")]  # a refresh is not a move


def _as_the_previous_release_wrote_it(old: str, new: str) -> None:
    """Every stored `platform` of `new` (builds, artifact index entries, channel copies) back to
    `old`: the registry's data as ingested before it followed the plugins' platform names."""
    def older(value):
        if isinstance(value, dict):
            return {k: old if k == "platform" and v == new else older(v) for k, v in value.items()}
        return [older(v) for v in value] if isinstance(value, list) else value

    table = boto3.resource("dynamodb").Table(TABLE)
    for item in table.scan()["Items"]:  # test set-up only: the registry itself never scans
        if older(item) != item:
            table.put_item(Item=older(item))


def test_a_platforms_old_name_is_an_alias_both_ways(registry):
    """googlecompute builds are `gce` (what the plugin reports to HCP Packer); `gcp`, the old
    name, still finds them, and versions stored under `gcp` answer to `gce`."""
    registry.upload("influx/packer-manifest.json", real_manifest("googlecompute-two-builds-same-run.json"))
    registry.send("post", "/buckets/influx/channels", {"name": "prod", "version": "v1"}, 201)
    image = "influxdb-enterprise-meta-1-8-2-ubuntu-1610532159"  # the newer of the two builds
    assert {b["platform"] for b in registry.get("/buckets/influx/versions/v1")["builds"]} == {"gce"}
    for name in ("gce", "gcp"):
        answer = served(registry, "influx", "prod", f"platform={name}")
        assert (answer["external_id"], answer["platform"]) == (image, "gce")

    _as_the_previous_release_wrote_it("gcp", "gce")
    registry.send("post", "/buckets/influx/channels", {"name": "staging", "version": "v1"}, 201)  # copied from "gcp"
    for channel_name in ("prod", "staging"):
        for name in ("gce", "gcp"):
            answer = served(registry, "influx", channel_name, f"platform={name}")
            assert (answer["external_id"], answer["platform"]) == (image, "gce")
    assert {b["platform"] for b in registry.get("/buckets/influx/versions/v1")["builds"]} == {"gce"}
    assert registry.get(f"/artifacts/{image}")["platform"] == "gce"


def test_consumer_query_is_one_getitem(registry, client):
    publish(registry, "web", "aaa111", *MIXED)
    registry.send("post", "/buckets/web/channels", {"name": "prod", "version": "v1"}, 201)
    served(registry, "web", "prod")  # the client exists now
    calls = []

    def count(event_name, **kwargs):
        calls.append(event_name.split(".")[-1])

    clients = [c for key, c in aws._clients.items() if key[0] == "dynamodb"]
    assert clients
    for c in clients:
        c.meta.events.register("before-call.dynamodb.*", count)
    try:
        assert served(registry, "web", "prod", "platform=aws&region=us-west-2")["external_id"] == "ami-0w2"
        assert calls == ["GetItem"]
        calls.clear()
        served(registry, "web", "prod", "platform=azure", status=404)
        served(registry, "web", "prod", "platform=aws", status=400)
        assert calls == ["GetItem", "GetItem"]
        calls.clear()
        registry.get("/buckets/web/channels/prod")  # and the counter does count
        registry.get("/buckets/web/versions")
        assert calls and "Query" in calls
    finally:
        for c in clients:
            c.meta.events.unregister("before-call.dynamodb.*", count)

