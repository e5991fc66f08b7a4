"""Large versions are stored whole with a true record, or not at all (issue 10, item 2)."""

from __future__ import annotations

import pytest

from support import THROTTLED, Faults, manifest


def custom(n: int, size: int) -> dict:
    return {"bucket_name": "huge", "arch": f"a{n}", "notes": "x" * size}


def test_350_builds_with_kilobytes_of_custom_data_land_whole_and_serve_every_build(registry):
    builds = [{"name": f"src{n:03d}", "packer_run_uuid": "huge-run", "artifact_id": f"us-east-1:ami-{n:017x}",
               "custom_data": custom(n, 1200)} for n in range(350)]
    registry.upload("huge/m.json", manifest(*builds))
    (record,) = registry.get("/ingestions")["items"]
    assert record["status"] == "accepted", record["reasons"]
    version = registry.get("/buckets/huge/versions/v1")
    assert (version["status"], version["build_count"], len(version["builds"])) == ("active", 350, 350)
    assert registry.get("/buckets/huge")["latest_version"] == "v1"
    for n in (0, 349):  # the first and the last build, through the copy pages
        served = registry.get(f"/buckets/huge/channels/latest/artifact?platform=aws&region=us-east-1"
                              f"&component_type=amazon-ebs.src{n:03d}")
        assert served["external_id"] == f"ami-{n:017x}" and served["labels"]["arch"] == f"a{n}"
    registry.send("post", "/buckets/huge/channels", {"name": "prod", "version": "v1"}, 201)
    served = registry.get("/buckets/huge/channels/prod/artifact?platform=aws&region=us-east-1&labels=arch:a348")
    assert served["external_id"] == f"ami-{348:017x}"


def test_one_build_in_95_regions_is_split_over_transactions_and_served_everywhere(registry):
    regions = [f"xx-test-{n}" for n in range(95)]
    artifact = ",".join(f"{region}:ami-{n:017x}" for n, region in enumerate(regions))
    registry.upload("wide/m.json", manifest({"packer_run_uuid": "wide", "artifact_id": artifact}))
    (record,) = registry.get("/ingestions")["items"]
    assert record["status"] == "accepted", record["reasons"]
    for n in (0, 94):
        served = registry.get(f"/buckets/wide/channels/latest/artifact?platform=aws&region={regions[n]}")
        assert served["external_id"] == f"ami-{n:017x}"
        assert registry.get(f"/artifacts/ami-{n:017x}")["version"] == "v1"


@pytest.mark.parametrize("builds, words", [
    ([{"name": "fat", "packer_run_uuid": "r", "custom_data": {"bucket_name": "huge", "blob": "y" * 380_000}}],
     "byte item"),
    ([{"name": f"s{n:03d}", "packer_run_uuid": "r", "artifact_id": f"us-east-1:ami-{n:017x}",
       "custom_data": custom(n, 3000)} for n in range(400)], "serving copy"),
])
def test_a_run_too_large_to_store_is_refused_whole_with_the_reason(registry, builds, words):
    registry.upload("huge/m.json", manifest(*builds))
    (record,) = registry.get("/ingestions")["items"]
    assert record["status"] == "rejected" and words in record["reasons"][0], record["reasons"]
    assert "limit" in record["reasons"][0]
    registry.get("/buckets/huge", status=404)  # nothing at all was written
    registry.get("/buckets/huge/versions", status=404)


def test_an_interrupted_large_version_is_never_served_and_the_retry_completes_it(registry):
    registry.get("/buckets")
    faults = Faults()
    builds = [{"name": f"src{n:03d}", "packer_run_uuid": "big", "artifact_id": f"us-east-1:ami-{n:017x}"}
              for n in range(150)]
    registry.upload("big/m.json", manifest({"packer_run_uuid": "small"}), deliver=True)
    event = registry.upload("big/n.json", manifest(*builds), deliver=False)
    faults.fail("TransactWriteItems", None, None, THROTTLED)  # created, one chunk, then throttled
    with pytest.raises(Exception, match="busy"):
        registry.deliver(event)
    v2 = registry.get("/buckets/big/versions/v2")
    assert v2["status"] == "running" and v2["build_count"] < 150
    assert registry.get("/buckets/big")["latest_version"] == "v1"
    assert registry.get("/buckets/big/channels/latest")["version"] == "v1"
    body = registry.send("post", "/buckets/big/channels", {"name": "prod", "version": "v2"}, 409)
    assert "running" in body["message"]
    registry.deliver(event)  # Lambda's retry finishes the job
    v2 = registry.get("/buckets/big/versions/v2")
    assert (v2["status"], v2["build_count"]) == ("active", 150)
    assert registry.get("/buckets/big/channels/latest")["version"] == "v2"
    (record, _) = registry.get("/ingestions")["items"]
    assert record["status"] == "accepted" and record["versions"][0]["version"] == "v2"


def test_a_large_version_completing_never_moves_latest_back(registry):
    """v1 large and interrupted, v2 small lands, then v1 completes: latest stays on v2."""
    registry.get("/buckets")
    faults = Faults()
    builds = [{"name": f"src{n:03d}", "packer_run_uuid": "big", "artifact_id": f"us-east-1:ami-{n:017x}"}
              for n in range(150)]
    event = registry.upload("late/n.json", manifest(*builds), deliver=False)
    faults.fail("TransactWriteItems", None, THROTTLED)
    with pytest.raises(Exception, match="busy"):
        registry.deliver(event)
    registry.upload("late/m.json", manifest({"packer_run_uuid": "small"}))
    registry.deliver(event)
    assert registry.get("/buckets/late/versions/v1")["status"] == "active"
    assert registry.get("/buckets/late/channels/latest")["version"] == "v2"


def test_event_names_and_counts_follow_what_happened(registry):
    """Item 13: `latest` losing its version is channel.unassigned; a bucket made by ingestion
    has bucket.created; version_count follows deletions."""
    registry.upload("ev/m.json", manifest(*({"packer_run_uuid": f"r{n}"} for n in range(3))))
    actions = [e["action"] for e in registry.all_pages("/buckets/ev/events")]
    assert actions.count("bucket.created") == 1
    for name in ("v3", "v2", "v1"):
        registry.send("delete", f"/buckets/ev/versions/{name}")
    assert registry.get("/buckets/ev")["version_count"] == 0
    events = registry.all_pages("/buckets/ev/events")
    latest = [(e["action"], e.get("before"), e.get("after")) for e in events if e["target"] == "channel/latest"]
    assert latest[0] == ("channel.unassigned", "v1", None)
    registry.upload("ev/n.json", manifest({"packer_run_uuid": "r9"}))
    bucket = registry.get("/buckets/ev")
    assert (bucket["version_count"], bucket["latest_version"]) == (1, "v4")


def test_deleting_a_held_large_version_is_refused_before_anything_goes(registry):
    builds = [{"name": f"src{n:03d}", "packer_run_uuid": "big", "artifact_id": f"us-east-1:ami-{n:017x}"}
              for n in range(150)]
    registry.upload("del/m.json", manifest(*builds))
    registry.send("post", "/buckets/del/channels", {"name": "prod", "version": "v1"}, 201)
    body = registry.send("delete", "/buckets/del/versions/v1", status=409)
    assert "prod" in body["message"]
    assert registry.get("/buckets/del/versions/v1")["build_count"] == len(registry.get("/buckets/del/versions/v1")["builds"]) == 150
    registry.send("delete", "/buckets/del/versions/v1?rollback_channels=true")
    registry.get("/buckets/del/versions/v1", status=404)
    assert registry.get("/buckets/del/channels/prod")["version"] is None


def test_no_channel_takes_a_large_version_while_its_deletion_removes_it(registry, monkeypatch):
    """A large version loses its first items in bulk before the final transaction; a channel
    assigned in that gap would serve a version with builds missing. The deletion marks it
    first, so the assignment made in the gap is refused and the deletion finishes."""
    builds = [{"name": f"src{n:03d}", "packer_run_uuid": "big", "artifact_id": f"us-east-1:ami-{n:017x}"}
              for n in range(150)]
    registry.upload("gap/m.json", manifest(*builds))
    registry.send("post", "/buckets/gap/channels", {"name": "prod"}, 201)
    from chalicelib import storage
    bulk_delete = storage.versions.delete_now
    answers = []

    def assign_in_the_gap(keys):
        answers.append(registry.send("patch", "/buckets/gap/channels/prod", {"version": "v1"}, status=409))
        bulk_delete(keys)
    monkeypatch.setattr(storage.versions, "delete_now", assign_in_the_gap)
    registry.send("delete", "/buckets/gap/versions/v1")
    assert "being deleted" in answers[0]["message"]
    registry.get("/buckets/gap/versions/v1", status=404)
    assert registry.get("/buckets/gap/channels/prod")["version"] is None
