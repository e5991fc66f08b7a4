"""No parent is not an unknown parent (issue 21): a build's source artifact that the registry does
not hold is information ("source not tracked"), never a finding; only an explicit parent that
names something missing is `undetermined`. Through S3 events, HTTP and the sweep's schedule event.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import pytest

from chalicelib.runtime import clock
from support import TABLE, manifest, mint, sweep

PUBLIC_AMI = "ami-0123456789abcdef0"  # a public image: never in the registry
BASE_AMI = "ami-0b0b0b0b0b0b0b0b1"


def build(registry: Any, bucket: str, run: str, ami: str, **custom: str) -> None:
    registry.upload(f"{bucket}/{run}.json", manifest({"packer_run_uuid": run, "artifact_id": f"us-east-1:{ami}",
                                                      "custom_data": custom}))


def counts(registry: Any) -> dict[str, int]:
    report = registry.get("/compliance/report")
    return {k: report["counts"][k] for k in ("out_of_date", "parent_revoked", "undetermined", "unresolved_parents")}


NOTHING = {"out_of_date": 0, "parent_revoked": 0, "undetermined": 0, "unresolved_parents": 0}


def later(monkeypatch: pytest.MonkeyPatch, offset: timedelta) -> None:
    monkeypatch.setattr(clock, "now", lambda: datetime.now(timezone.utc) + offset)


def test_an_image_from_a_public_ami_has_no_parent_and_no_finding(registry):
    build(registry, "web", "w1", "ami-0a0a0a0a0a0a0a0a1", source_ami=PUBLIC_AMI)
    version = registry.get("/buckets/web/versions/v1")
    assert version["ancestry_status"] is None and version.get("unresolved") is None
    assert version["parents"] is None and version["ancestry_findings"] is None
    (source,) = version["untracked"]
    assert (source["source_artifact"], source["region"]) == (PUBLIC_AMI, "us-east-1")
    assert source["message"] == f"source not tracked: {PUBLIC_AMI} (us-east-1)"
    assert source["recorded_at"] == version["created_at"]
    ancestry = registry.get("/buckets/web/versions/v1/ancestry")
    assert (ancestry["ancestry_status"], ancestry["parents"]) == (None, [])
    assert [u["message"] for u in ancestry["untracked"]] == [source["message"]]
    assert counts(registry) == NOTHING
    assert registry.get("/compliance/report")["flagged"] == []
    sweep(registry)  # looked for, not found: still nothing to report
    assert counts(registry) == NOTHING and registry.get("/compliance/report")["flagged"] == []
    actions = [e["action"] for e in registry.all_pages("/buckets/web/events")]
    assert not [a for a in actions if a.startswith("descendant.")]


@pytest.mark.parametrize("placeholder", ["null", "<no-defined-source-file>", "", "  ", "None", "VM"])
def test_a_placeholder_source_is_no_hint_at_all(registry, placeholder):
    build(registry, "files", "f1", "ami-0a0a0a0a0a0a0a0a2", source_artifact=placeholder)
    version = registry.get("/buckets/files/versions/v1")
    assert (version["ancestry_status"], version.get("untracked"), version.get("unresolved")) == (None, None, None)
    assert registry.get("/buckets/files/versions/v1/ancestry")["untracked"] == []
    assert counts(registry) == NOTHING


def test_an_explicit_parent_that_does_not_exist_is_undetermined_and_counted(registry):
    build(registry, "app", "a1", "ami-0a0a0a0a0a0a0a0a3", parent_bucket="base", parent_channel="production",
          source_ami=PUBLIC_AMI)
    version = registry.get("/buckets/app/versions/v1")
    assert version["ancestry_status"] == "undetermined"
    assert version["ancestry_findings"] == [{
        "status": "undetermined",
        "message": "parent not found: bucket 'base' has no channel 'production' pointing at a version",
        "how": "named in the manifest: parent_bucket, parent_channel"}]
    assert [u["source_artifact"] for u in version["untracked"]] == [PUBLIC_AMI]  # information beside it
    assert counts(registry) == {**NOTHING, "undetermined": 1, "unresolved_parents": 1}
    (flag,) = registry.get("/compliance/report")["flagged"]
    assert flag["findings"] == version["ancestry_findings"]


def test_a_parent_uploaded_after_its_child_within_the_window_is_linked_by_the_sweep(registry, monkeypatch):
    build(registry, "app", "a1", "ami-0a0a0a0a0a0a0a0a4", source_ami=BASE_AMI)
    later(monkeypatch, timedelta(days=6))  # S3 delivered the parent's manifest late: within 7 days
    build(registry, "base", "b1", BASE_AMI)
    sweep(registry)
    version = registry.get("/buckets/app/versions/v1")
    assert [(p["bucket"], p["version"], p["found_by"], p["source_artifact"]) for p in version["parents"]] == [
        ("base", "v1", "source_artifact", BASE_AMI)]
    assert version["ancestry_status"] == "up_to_date" and version.get("untracked") is None
    assert registry.get("/compliance/report")["last_sweep"]["parents_resolved"][0]["parent"]["how"] == \
        f"matched from the source artifact {BASE_AMI}"
    assert [c["bucket"] for c in registry.get("/buckets/base/versions/v1/ancestry")["children"]] == ["app"]
    # linked as any parent is: a revoked parent is a finding of the child now
    registry.send("post", "/buckets/base/versions/v1/revoke", {"reason": "bad", "skip_descendants_revocation": True})
    sweep(registry)
    assert registry.get("/buckets/app/versions/v1")["ancestry_status"] == "parent_revoked"
    assert counts(registry)["parent_revoked"] == 1


def test_after_the_window_the_sweep_stops_looking_for_good(registry, monkeypatch):
    build(registry, "app", "a1", "ami-0a0a0a0a0a0a0a0a5", source_ami=BASE_AMI)
    later(monkeypatch, timedelta(days=7, seconds=1))
    sweep(registry)  # the window is over: no longer looked for
    assert waiting() == []
    build(registry, "base", "b1", BASE_AMI)
    sweep(registry)
    version = registry.get("/buckets/app/versions/v1")
    assert version["parents"] is None and [u["source_artifact"] for u in version["untracked"]] == [BASE_AMI]
    assert counts(registry) == NOTHING


def test_the_window_is_a_setting(registry, monkeypatch):
    monkeypatch.setenv("UNTRACKED_SOURCE_WINDOW", "1h")
    build(registry, "app", "a1", "ami-0a0a0a0a0a0a0a0a6", source_ami=BASE_AMI)
    later(monkeypatch, timedelta(hours=2))
    build(registry, "base", "b1", BASE_AMI)
    sweep(registry)
    assert registry.get("/buckets/app/versions/v1")["parents"] is None


def _old_release_hints(bucket: str, hints: list[dict[str, Any]]) -> None:
    """Store hints on a version as a release before issue 21 did: every source that matched
    nothing an unresolved hint (the version flagged undetermined and counted already)."""
    boto3.resource("dynamodb").Table(TABLE).update_item(
        Key={"PK": f"BUCKET#{bucket}", "SK": "VERSION#0000000001"},
        UpdateExpression="SET unresolved = :u", ExpressionAttributeValues={":u": hints})


def test_a_registry_upgraded_in_place_stops_counting_untracked_sources(registry):
    for n in range(3):  # flagged and counted, as a release before this one stored them
        build(registry, f"old{n}", "o1", f"ami-0e0e0e0e0e0e0e0e{n}", parent_bucket="gone", parent_version="v1")
        _old_release_hints(f"old{n}", [{"source_artifact": PUBLIC_AMI, "reason": "no artifact (yet)"},
                                       {"source_artifact": "null", "reason": "no artifact (yet)"}])
    build(registry, "kept", "k1", "ami-0e0e0e0e0e0e0e0e9", parent_bucket="gone", parent_version="v1")
    assert counts(registry) == {**NOTHING, "undetermined": 4, "unresolved_parents": 4}
    sweep(registry)
    assert counts(registry) == {**NOTHING, "undetermined": 1, "unresolved_parents": 1}
    assert [f["bucket"] for f in registry.get("/compliance/report")["flagged"]] == ["kept"]
    old = registry.get("/buckets/old0/versions/v1")
    assert (old["ancestry_status"], old.get("unresolved"), old.get("ancestry_findings")) == (None, None, None)
    assert [(u["source_artifact"], u["recorded_at"]) for u in old["untracked"]] == [(PUBLIC_AMI, old["created_at"])]


def test_the_retry_goes_on_where_the_last_run_stopped(registry, monkeypatch):
    from chalicelib.services import compliance
    monkeypatch.setattr(compliance, "UNRESOLVED_PER_RUN", 2)
    for n in range(5):
        build(registry, f"old{n}", "o1", f"ami-0e0e0e0e0e0e0e0e{n}", parent_bucket="gone", parent_version="v1")
        _old_release_hints(f"old{n}", [{"source_artifact": PUBLIC_AMI, "reason": "no artifact (yet)"}])
    for left in (3, 1, 0):
        sweep(registry)
        assert counts(registry)["unresolved_parents"] == left


def test_findings_each_keep_their_own_status_in_every_answer(registry):
    build(registry, "base", "b1", BASE_AMI)
    registry.send("post", "/buckets/base/channels", {"name": "production", "version": "v1"}, 201)
    build(registry, "base", "b2", "ami-0b0b0b0b0b0b0b0b2")
    build(registry, "tools", "t1", "ami-0c0c0c0c0c0c0c0c3")
    build(registry, "app", "a1", "ami-0a0a0a0a0a0a0a0a7", parent_bucket="base", parent_channel="production",
          source_ami="ami-0c0c0c0c0c0c0c0c3")
    registry.send("patch", "/buckets/base/channels/production", {"version": "v2"})
    registry.send("post", "/buckets/tools/versions/v1/revoke", {"reason": "leaky", "skip_descendants_revocation": True})
    sweep(registry)
    expected = [
        {"status": "out_of_date", "message": "parent base channel production now points at v2; this was built from v1",
         "how": "named in the manifest: parent_bucket, parent_channel"},
        {"status": "parent_revoked", "message": "parent tools v1 is revoked (leaky); this version was spared",
         "how": "matched from the source artifact ami-0c0c0c0c0c0c0c0c3"}]
    version = registry.get("/buckets/app/versions/v1")
    assert version["ancestry_status"] == "parent_revoked" and version["ancestry_findings"] == expected
    (flag,) = registry.get("/compliance/report")["flagged"]
    assert flag["findings"] == expected
    changes = [e for e in registry.all_pages("/buckets/app/events") if e["action"].startswith("descendant.")]
    assert changes[0]["detail"]["findings"] == expected  # what EventBridge and webhooks carry
    assert changes[0]["detail"]["viewer_findings"] == [
        {**expected[0], "message": "parent base has a newer version in use than v1, which this was built from"},
        expected[1]]
    viewer = registry.as_token(mint(registry, "viewer"))
    seen = [e for e in viewer.all_pages("/buckets/app/events") if e["action"].startswith("descendant.")]
    assert "findings" not in seen[0]["detail"] and seen[0]["detail"]["viewer_findings"] == \
        changes[0]["detail"]["viewer_findings"]
    assert registry.get("/artifacts/ami-0a0a0a0a0a0a0a0a7")["ancestry_findings"] == expected


def waiting() -> list[str]:
    """The versions whose untracked sources the sweep still looks for (`<bucket>#<number>`)."""
    found = boto3.client("dynamodb").query(TableName=TABLE, KeyConditionExpression="PK = :p",
                                           ExpressionAttributeValues={":p": {"S": "SWEEP#UNTRACKED"}})
    return [item["SK"]["S"] for item in found["Items"]]


def test_a_deleted_version_or_bucket_is_no_longer_looked_for(registry):
    build(registry, "one", "o1", "ami-0a0a0a0a0a0a0a0a9", source_ami=BASE_AMI)
    build(registry, "two", "t1", "ami-0a0a0a0a0a0a0a0aa", source_ami=BASE_AMI)
    build(registry, "two", "t2", "ami-0a0a0a0a0a0a0a0ab", source_ami=BASE_AMI)
    assert waiting() == ["one#0000000001", "two#0000000001", "two#0000000002"]
    registry.send("delete", "/buckets/one/versions/v1")
    assert waiting() == ["two#0000000001", "two#0000000002"]
    registry.send("delete", "/buckets/two")
    assert waiting() == []
