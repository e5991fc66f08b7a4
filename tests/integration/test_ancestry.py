"""Ancestry: parents resolved at ingestion, link statuses, the tree, artifact look-ups."""

from datetime import datetime, timezone

import pytest

from chalicelib.runtime import clock
from support import CHILD_AMI, build_chain, manifest, real_manifest

def test_parents_are_resolved_explicitly_and_automatically(registry):
    build_chain(registry)
    child = registry.get("/buckets/child/versions/v1")
    (link,) = child["parents"]
    assert {k: link[k] for k in ("bucket", "version", "fingerprint", "channel", "found_by")} == {
        "bucket": "base", "version": "v1", "fingerprint": "d0637d1c-4e19-b903-aae8-a48194c31538",
        "channel": "production", "found_by": "parent_channel"}
    # built (2025-11-24) before production existed: resolved as the channel was on upload, and said so
    assert link["resolved_at"] == "upload"
    assert link["resolution"].startswith("channel production pointed at v1 when this version was recorded (")
    assert link["resolution"].endswith("it had no version at the build time (2025-11-24T16:00:00.000000Z)")
    assert child["ancestry_status"] == "up_to_date"
    grandchild = registry.get("/buckets/grandchild/versions/v1")
    assert [(p["bucket"], p["version"], p["found_by"]) for p in grandchild["parents"]] == [("child", "v1", "source_artifact")]


def test_ancestry_endpoint_shows_parents_and_children(registry):
    build_chain(registry)
    body = registry.get("/buckets/child/versions/v1/ancestry")
    (parent,) = body["parents"]
    assert (parent["status"], parent["channel"]) == ("up_to_date", "production")
    assert [(c["bucket"], c["version"]) for c in body["children"]] == [("grandchild", "v1")]
    base = registry.get("/buckets/base/versions/v1/ancestry")
    assert base["parents"] == [] and base["ancestry_status"] is None
    assert [(c["bucket"], c["version"]) for c in base["children"]] == [("child", "v1")]


def test_moving_the_parent_channel_makes_the_child_out_of_date_live(registry):
    build_chain(registry)
    registry.send("patch", "/buckets/base/channels/production", {"version": "v2"})
    (parent,) = registry.get("/buckets/child/versions/v1/ancestry")["parents"]
    assert parent["status"] == "out_of_date"
    assert parent["message"] == "parent base channel production now points at v2; this was built from v1"


def test_without_a_channel_the_link_follows_latest(registry):
    registry.upload("base/m.json", manifest({"packer_run_uuid": "b1", "artifact_id": "us-east-1:ami-0b0b0b0b0b0b0b0b1"}))
    registry.upload("kid/m.json", manifest({"packer_run_uuid": "k1", "custom_data": {"source_artifact": "ami-0b0b0b0b0b0b0b0b1"}}))
    assert registry.get("/buckets/kid/versions/v1/ancestry")["ancestry_status"] == "up_to_date"
    registry.upload("base/m2.json", manifest({"packer_run_uuid": "b2", "artifact_id": "us-east-1:ami-0b0b0b0b0b0b0b0b2"}))
    body = registry.get("/buckets/kid/versions/v1/ancestry")
    assert body["ancestry_status"] == "out_of_date"
    assert "latest is now v2" in body["parents"][0]["message"]


def test_an_unmatched_explicit_hint_is_undetermined_and_an_unmatched_source_only_untracked(registry):
    registry.upload("orphan/m.json", manifest({"custom_data": {"parent_bucket": "nowhere", "parent_version": "v3",
                                                               "source_ami": "ami-0123456789abcdef0"}}))
    version = registry.get("/buckets/orphan/versions/v1")
    assert version["ancestry_status"] == "undetermined"
    assert [u["bucket"] for u in version["unresolved"]] == ["nowhere"]
    assert [(u["source_artifact"], u["region"], u["message"]) for u in version["untracked"]] == [
        ("ami-0123456789abcdef0", "us-east-1", "source not tracked: ami-0123456789abcdef0 (us-east-1)")]
    body = registry.get("/buckets/orphan/versions/v1/ancestry")
    (link,) = body["parents"]
    assert (link["status"], link["how"]) == ("undetermined", "named in the manifest: parent_bucket, parent_version")
    assert link["message"] == "parent not found: bucket 'nowhere' has no version 'v3'"
    assert [u["message"] for u in body["untracked"]] == ["source not tracked: ami-0123456789abcdef0 (us-east-1)"]


def test_descendants_tree(registry):
    build_chain(registry)
    tree = registry.get("/buckets/base/versions/v1/descendants")
    assert tree["count"] == 2 and tree["truncated"] is False
    (child,) = tree["root"]["children"]
    assert (child["bucket"], child["version"]) == ("child", "v1")
    assert [(g["bucket"], g["version"]) for g in child["children"]] == [("grandchild", "v1")]
    shallow = registry.get("/buckets/base/versions/v1/descendants?depth=1")
    assert shallow["count"] == 1 and shallow["truncated"] is True
    registry.get("/buckets/base/versions/v1/descendants?depth=0", status=400)


def test_artifact_lookup(registry):
    build_chain(registry)
    body = registry.get(f"/artifacts/{CHILD_AMI}")
    assert (body["bucket"], body["version"], body["status"], body["ancestry_status"]) == ("child", "v1", "active", "up_to_date")
    assert registry.get("/artifacts/ami-0c2716a13b6c0ff45")["bucket"] == "base"  # a multi-region base AMI
    registry.get("/artifacts/ami-00000000000000000", status=404)
    registry.upload("az/m.json", real_manifest("azure-arm-managed-image-1.json"))
    azure_id = registry.get("/buckets/az/versions/v1")["builds"][0]["artifacts"][0]["external_id"]
    assert registry.get(f"/artifacts?id={azure_id}")["bucket"] == "az"


def test_compliance_check_with_a_list(registry):
    build_chain(registry)
    body = registry.send("post", "/compliance/check", {"artifacts": [
        CHILD_AMI, "ami-0c2716a13b6c0ff45", "ami-0e2f8f55e0f1c3d5a", "ami-nope"]})
    verdicts = {r["artifact"]: r["verdict"] for r in body["results"]}
    assert verdicts[CHILD_AMI] == "ok"
    assert verdicts["ami-0c2716a13b6c0ff45"] == "out_of_date"  # base v1: base has v8
    assert verdicts["ami-nope"] == "unknown"
    assert body["passed"] is True


@pytest.mark.parametrize("payload", [[], "x", {"artifacts": "ami-1"}, {"hello": 1}])
def test_compliance_check_rejects_what_is_neither_a_list_nor_a_plan(registry, payload):
    body = registry.send("post", "/compliance/check", payload, 400)
    assert body["error"] == "BadRequest"


def test_a_revoked_parent_says_whether_the_child_was_spared(registry):
    build_chain(registry)
    registry.send("post", "/buckets/base/versions/v1/revoke", {"reason": "bad"})
    (link,) = registry.get("/buckets/child/versions/v1/ancestry")["parents"]
    assert link["message"] == "parent base v1 is revoked (bad); this version is revoked too"
    registry.send("post", "/buckets/base/versions/v1/restore")
    registry.send("post", "/buckets/base/versions/v1/revoke", {"reason": "bad", "skip_descendants_revocation": True})
    (link,) = registry.get("/buckets/child/versions/v1/ancestry")["parents"]
    assert link["message"] == "parent base v1 is revoked (bad); this version was spared"


def test_whoami_names_the_token(registry):
    assert registry.get("/whoami") == {"name": "bootstrap-admin", "role": "admin", "token_id": "bootstrap-admin",
                                       "buckets": {}}


# ---- a parent channel is read at the build time (issue 10, item 10) ---------------------------

def set_clock(monkeypatch, moment: str) -> None:
    """Run the registry's clock from `moment` on (it keeps ticking, so entries stay ordered)."""
    offset = datetime.fromisoformat(moment.replace("Z", "+00:00")) - datetime.now(timezone.utc)
    monkeypatch.setattr(clock, "now", lambda: datetime.now(timezone.utc) + offset)


def epoch(moment: str) -> int:
    return int(datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp())


def app_run(run: str, built: str, ami: str) -> dict:
    return {"name": "app", "packer_run_uuid": run, "build_time": epoch(built), "artifact_id": f"us-east-1:{ami}",
            "custom_data": {"bucket_name": "app", "parent_bucket": "base", "parent_channel": "production"}}


@pytest.mark.parametrize("together", [True, False], ids=["one manifest", "two manifests"])
def test_children_built_before_and_after_a_channel_move_record_the_parent_they_were_built_from(
        registry, monkeypatch, together):
    set_clock(monkeypatch, "2025-11-24T10:00:00Z")
    registry.upload("base/m.json", manifest({"packer_run_uuid": "b1", "artifact_id": "us-east-1:ami-0b0b0b0b0b0b0b0b1"},
                                            {"packer_run_uuid": "b2", "artifact_id": "us-east-1:ami-0b0b0b0b0b0b0b0b2"}))
    registry.send("post", "/buckets/base/channels", {"name": "production", "version": "v1"}, 201)
    set_clock(monkeypatch, "2025-11-24T12:00:00Z")
    registry.send("patch", "/buckets/base/channels/production", {"version": "v2"})
    set_clock(monkeypatch, "2025-11-24T14:00:00Z")  # both uploaded after the move
    before = app_run("run-before", "2025-11-24T11:00:00Z", "ami-0a0a0a0a0a0a0a0a1")
    after = app_run("run-after", "2025-11-24T13:00:00Z", "ami-0a0a0a0a0a0a0a0a2")
    if together:
        registry.upload("app/m.json", manifest(before, after))
    else:
        registry.upload("app/before.json", manifest(before))
        registry.upload("app/after.json", manifest(after))

    (old,) = registry.get("/buckets/app/versions/run-before")["parents"]
    (new,) = registry.get("/buckets/app/versions/run-after")["parents"]
    assert (old["version"], old["resolved_at"]) == ("v1", "build_time")
    assert old["resolution"] == "channel production pointed at v1 at the build time (2025-11-24T11:00:00.000000Z)"
    assert (new["version"], new["resolved_at"]) == ("v2", "build_time")
    (link,) = registry.get("/buckets/app/versions/run-before/ancestry")["parents"]
    assert (link["status"], link["message"]) == (
        "out_of_date", "parent base channel production now points at v2; this was built from v1")
    assert registry.get("/buckets/base/versions/v1/descendants")["root"]["children"][0]["fingerprint"] == "run-before"

    registry.send("post", "/buckets/base/versions/v1/revoke", {"reason": "CVE-2026-0042"})
    revoked = registry.get("/buckets/app/versions/run-before")
    assert (revoked["status"], revoked["revocation"]["inherited_from"]) == ("revoked", "base/v1")
    assert registry.get("/buckets/app/versions/run-after")["status"] == "active"


def test_without_a_build_time_the_channel_is_read_at_upload_and_the_link_says_so(registry):
    registry.upload("base/m.json", manifest({"packer_run_uuid": "b1", "artifact_id": "us-east-1:ami-0b0b0b0b0b0b0b0b1"}))
    registry.send("post", "/buckets/base/channels", {"name": "production", "version": "v1"}, 201)
    registry.upload("app/m.json", manifest({**app_run("r1", "2025-11-24T11:00:00Z", "ami-0a0a0a0a0a0a0a0a1"),
                                            "build_time": 0}))  # Packer writes 0 when it does not know
    (link,) = registry.get("/buckets/app/versions/v1")["parents"]
    assert (link["version"], link["resolved_at"]) == ("v1", "upload")
    assert link["resolution"].startswith("channel production pointed at v1 when this version was recorded (")
    assert link["resolution"].endswith("); the manifest gives no build_time")


def test_a_channel_hint_unresolved_at_first_is_retried_with_its_build_time(registry, monkeypatch):
    set_clock(monkeypatch, "2025-11-24T10:00:00Z")
    registry.upload("base/m.json", manifest({"packer_run_uuid": "b1", "artifact_id": "us-east-1:ami-0b0b0b0b0b0b0b0b1"},
                                            {"packer_run_uuid": "b2", "artifact_id": "us-east-1:ami-0b0b0b0b0b0b0b0b2"}))
    registry.upload("app/m.json", manifest(app_run("r1", "2025-11-24T09:30:00Z", "ami-0a0a0a0a0a0a0a0a1")))
    assert registry.get("/buckets/app/versions/v1")["ancestry_status"] == "undetermined"  # no production yet
    registry.send("post", "/buckets/base/channels", {"name": "production", "version": "v1"}, 201)
    set_clock(monkeypatch, "2025-11-24T12:00:00Z")
    registry.send("patch", "/buckets/base/channels/production", {"version": "v2"})
    registry.send("post", "/compliance/sweep")
    (link,) = registry.get("/buckets/app/versions/v1")["parents"]
    # production had no version at the build time: the version it holds when the sweep finds it
    assert (link["version"], link["resolved_at"]) == ("v2", "upload")
    assert link["resolution"].endswith("; it had no version at the build time (2025-11-24T09:30:00.000000Z)")
