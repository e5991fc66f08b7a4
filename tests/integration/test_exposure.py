"""The biggest risks are in the report, the sweep's findings and the 409 (issue 10, item 12)."""

from __future__ import annotations

from support import manifest


def viewer(registry):
    secret = registry.send("post", "/tokens", {"name": "reader", "role": "viewer"}, 201)["secret"]
    return registry.as_token(secret)


def test_channels_serving_a_revoked_version_are_reported_with_upcoming_revocations(registry, moved_clock):
    registry.upload("base/m.json", manifest(*({"packer_run_uuid": f"r{n}"} for n in range(3))))
    registry.upload("app/m.json", manifest({"packer_run_uuid": "a1", "custom_data": {
        "bucket_name": "app", "parent_bucket": "base", "parent_version": "v1"}}))
    registry.send("post", "/buckets/base/channels", {"name": "production", "version": "v1"}, 201)
    registry.send("post", "/buckets/base/channels", {"name": "secret", "version": "v1", "restricted": True}, 201)
    registry.send("post", "/buckets/app/channels", {"name": "production", "version": "v1"}, 201)
    registry.send("post", "/buckets/base/versions/v3/revoke", {"reason": "eol", "revoke_in": "2d"})
    registry.send("post", "/buckets/base/versions/v1/revoke",
                  {"reason": "CVE-1", "disable_rollback_channels": True})

    report = registry.get("/compliance/report")
    serving = {(c["bucket"], c["channel"]): c for c in report["channels_serving_revoked"]}
    assert set(serving) == {("base", "production"), ("base", "secret"), ("app", "production")}
    assert serving[("app", "production")]["revocation"]["inherited_from"] == "base/v1"
    assert report["counts"]["channels_serving_revoked"] == 3
    assert [(u["bucket"], u["version"], u["reason"]) for u in report["upcoming_revocations"]] == [("base", "v3", "eol")]
    assert report["counts"]["upcoming_revocations"] == 1

    body = registry.get("/buckets/app/channels/production/artifact?platform=aws", status=409)
    assert "inherited from its ancestor base/v1" in body["message"] and "CVE-1" in body["message"]

    sweep = registry.send("post", "/compliance/sweep")
    assert len(sweep["channels_serving_revoked"]) == 3 and len(sweep["upcoming_revocations"]) == 1

    seen_by_viewer = viewer(registry).get("/compliance/report")
    channels = {(c["bucket"], c["channel"]) for c in seen_by_viewer["channels_serving_revoked"]}
    assert channels == {("base", "production"), ("app", "production")}  # not the restricted one
    assert {(c["bucket"], c["channel"]) for c in seen_by_viewer["last_sweep"]["channels_serving_revoked"]} == channels

    registry.send("patch", "/buckets/base/channels/production", {"version": "v2"})
    registry.send("post", "/buckets/base/versions/v1/restore")
    registry.send("post", "/buckets/base/versions/v3/restore")
    after = registry.get("/compliance/report")
    assert (after["channels_serving_revoked"], after["upcoming_revocations"]) == ([], [])


def test_the_sweep_applies_a_due_revocation_and_then_it_is_no_longer_upcoming(registry, moved_clock):
    registry.upload("base/m.json", manifest({"packer_run_uuid": "r1"}, {"packer_run_uuid": "r2"}))
    registry.send("post", "/buckets/base/versions/v1/revoke", {"reason": "eol", "revoke_in": "1h"})
    assert [u["version"] for u in registry.get("/compliance/report")["upcoming_revocations"]] == ["v1"]
    moved_clock.advance(hours=2)
    assert registry.send("post", "/compliance/sweep")["upcoming_revocations"] == []


def test_a_viewer_is_not_told_the_parent_channel_a_build_label_names(registry):
    registry.upload("base/m.json", manifest({"packer_run_uuid": "r1"}))
    registry.send("post", "/buckets/base/channels", {"name": "hidden", "version": "v1", "restricted": True}, 201)
    registry.upload("app/m.json", manifest({"packer_run_uuid": "a1", "custom_data": {
        "bucket_name": "app", "parent_bucket": "base", "parent_channel": "hidden", "os": "linux"}}))
    registry.send("post", "/buckets/app/channels", {"name": "production", "version": "v1"}, 201)
    path = "/buckets/app/channels/production/artifact?platform=aws"
    assert registry.get(path)["labels"]["parent_channel"] == "hidden"
    assert viewer(registry).get(path)["labels"] == {"bucket_name": "app", "parent_bucket": "base", "os": "linux"}
