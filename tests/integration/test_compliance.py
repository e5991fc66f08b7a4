"""The compliance sweep over real chains: outdated flags, inherited revocation, restore, report."""

import json
from pathlib import Path

from chalicelib.runtime import aws

from chalicelib.services import compliance, lifecycle
from support import CHILD_AMI, GRANDCHILD_AMI, build_chain, count_calls, manifest, sweep

PLAN = Path(__file__).parents[1] / "fixtures" / "terraform-plan.json"


def status(registry, bucket, version="v1"):
    body = registry.get(f"/buckets/{bucket}/versions/{version}")
    return body["status"], body.get("ancestry_status")


def test_a_channel_move_flags_the_child_after_a_sweep_and_the_report_says_so(registry):
    build_chain(registry)
    sweep(registry)
    assert status(registry, "child") == ("active", "up_to_date")
    registry.send("patch", "/buckets/base/channels/production", {"version": "v2"})
    assert status(registry, "child") == ("active", "up_to_date")  # stored status moves with the sweep
    sweep(registry)
    child = registry.get("/buckets/child/versions/v1")
    assert child["ancestry_status"] == "out_of_date"
    assert child["ancestry_messages"] == ["parent base channel production now points at v2; this was built from v1"]
    # outdated propagates down the chain, in the same sweep
    chain = "parent child v1 is out of date: parent base channel production now points at v2"
    assert registry.get("/buckets/grandchild/versions/v1")["ancestry_messages"] == [chain]
    report = registry.get("/compliance/report")
    assert report["counts"]["out_of_date"] == 2
    assert [(f["bucket"], f["version"], f["ancestry_status"]) for f in report["flagged"]] == [
        ("child", "v1", "out_of_date"), ("grandchild", "v1", "out_of_date")]
    assert report["flagged"][1]["messages"] == [chain]
    moved = "parent base channel production now points at v2; this was built from v1"
    found = {"status": "out_of_date", "message": moved, "how": "named in the manifest: parent_bucket, parent_channel"}
    down = {"status": "out_of_date", "message": chain, "how": f"matched from the source artifact {CHILD_AMI}"}
    assert report["flagged"][0]["findings"] == [found] and report["flagged"][1]["findings"] == [down]
    assert report["last_sweep"]["ancestry_changes"] == [
        {"bucket": "child", "version": "v1", "from": "up_to_date", "to": "out_of_date", "messages": [moved],
         "findings": [found]},
        {"bucket": "grandchild", "version": "v1", "from": "up_to_date", "to": "out_of_date", "messages": [chain],
         "findings": [down]}]
    registry.send("post", "/buckets/child/versions/v1/revoke", {"reason": "rebuild"})
    assert registry.get("/compliance/report")["flagged"] == []  # revoked (the grandchild by inheritance): off the list
    registry.send("post", "/buckets/child/versions/v1/restore")
    assert [f["bucket"] for f in registry.get("/compliance/report")["flagged"]] == ["child", "grandchild"]  # back on it
    registry.send("patch", "/buckets/base/channels/production", {"version": "v1"})
    sweep(registry)
    assert status(registry, "child") == status(registry, "grandchild") == ("active", "up_to_date")
    assert registry.get("/compliance/report")["flagged"] == []


def test_revocation_cascades_to_every_descendant_by_default(registry):
    build_chain(registry)
    registry.send("post", "/buckets/child/channels", {"name": "production", "version": "v1"}, 201)
    registry.send("post", "/buckets/base/versions/v1/revoke", {"reason": "CVE-2026-0001"})
    for bucket in ("child", "grandchild"):
        version = registry.get(f"/buckets/{bucket}/versions/v1")
        assert version["status"] == "revoked"
        assert version["revocation"]["revocation_type"] == "inherited"
        assert version["revocation"]["inherited_from"] == "base/v1"
        assert version["revocation"]["reason"] == "CVE-2026-0001"
    assert registry.get("/buckets/base/versions/v1")["revocation"]["cascade_pending"] is False
    sweep(registry)
    assert registry.get("/compliance/report")["flagged"] == []  # revoked versions are not "in need of attention"
    # inherited revocations roll channels back like direct ones: child production had nothing else
    assert registry.get("/buckets/child/channels/production")["version"] is None
    body = registry.send("post", "/buckets/child/versions/v1/restore", None, 409)
    assert "base/v1" in body["message"]
    registry.send("post", "/buckets/base/versions/v1/restore")
    assert status(registry, "child")[0] == status(registry, "grandchild")[0] == "active"


def test_skip_descendants_spares_them_as_parent_revoked(registry):
    build_chain(registry)
    registry.send("post", "/buckets/base/versions/v1/revoke", {"reason": "bad", "skip_descendants_revocation": True})
    assert status(registry, "child")[0] == "active"
    sweep(registry)
    assert status(registry, "child") == ("active", "parent_revoked")
    assert registry.get("/compliance/report")["counts"]["parent_revoked"] == 1
    # its own parent is not revoked, but has a revoked parent: outdated, saying why
    grandchild = registry.get("/buckets/grandchild/versions/v1")
    assert (grandchild["ancestry_status"], grandchild["ancestry_messages"]) == (
        "out_of_date", ["parent child v1 is out of date: parent base v1 is revoked (bad)"])


def test_an_explicit_revocation_outranks_an_inherited_one(registry):
    build_chain(registry)
    registry.send("post", "/buckets/grandchild/versions/v1/revoke", {"reason": "own reason"})
    registry.send("post", "/buckets/base/versions/v1/revoke", {"reason": "base reason"})
    grandchild = registry.get("/buckets/grandchild/versions/v1")["revocation"]
    assert (grandchild["revocation_type"], grandchild["reason"]) == ("direct", "own reason")
    registry.send("post", "/buckets/base/versions/v1/restore")
    assert status(registry, "child")[0] == "active"
    assert status(registry, "grandchild")[0] == "revoked"  # not inherited from base: stays


def test_a_child_ingested_from_a_revoked_parent_is_revoked_on_arrival(registry):
    registry.upload("base/m.json", manifest({"packer_run_uuid": "b1", "artifact_id": "us-east-1:ami-0b0b0b0b0b0b0b0b1"}))
    registry.send("post", "/buckets/base/versions/v1/revoke", {"reason": "compromised"})
    registry.upload("late/m.json", manifest({"packer_run_uuid": "l1", "custom_data": {"source_ami": "ami-0b0b0b0b0b0b0b0b1"}}))
    late = registry.get("/buckets/late/versions/v1")
    assert late["status"] == "revoked" and late["revocation"]["inherited_from"] == "base/v1"
    registry.get("/buckets/late/channels/latest", status=404)  # latest never pointed at it


def test_large_trees_finish_in_the_sweep(registry, monkeypatch):
    registry.upload("base/m.json", manifest({"packer_run_uuid": "b1", "artifact_id": "us-east-1:ami-0b0b0b0b0b0b0b0b1"}))
    for n in range(5):
        registry.upload(f"kid{n}/m.json", manifest({"packer_run_uuid": f"k{n}", "artifact_id": f"us-east-1:ami-0a0a0a0a0a0a0a0{n:02d}",
                                                    "custom_data": {"source_ami": "ami-0b0b0b0b0b0b0b0b1"}}))
    monkeypatch.setattr(lifecycle, "INLINE_CASCADE", 2)
    registry.send("post", "/buckets/base/versions/v1/revoke", {"reason": "bad"})
    base = registry.get("/buckets/base/versions/v1")
    assert base["revocation"]["cascade_pending"] is True
    assert sum(status(registry, f"kid{n}")[0] == "revoked" for n in range(5)) == 2
    sweep(registry)
    assert all(status(registry, f"kid{n}")[0] == "revoked" for n in range(5))
    assert registry.get("/buckets/base/versions/v1")["revocation"]["cascade_pending"] is False
    assert registry.get("/compliance/report")["last_sweep"]["cascades"][0]["finished"] is True


def test_disable_rollback_on_the_base_blocks_the_consumer_query_on_the_whole_chain(registry):
    build_chain(registry)
    registry.send("post", "/buckets/child/channels", {"name": "production", "version": "v1"}, 201)
    registry.send("post", "/buckets/grandchild/channels", {"name": "production", "version": "v1"}, 201)
    registry.send("post", "/buckets/base/versions/v1/revoke", {"reason": "bad", "disable_rollback_channels": True})
    for bucket in ("base", "child", "grandchild"):
        body = registry.get(f"/buckets/{bucket}/channels/production/artifact?platform=aws&region=us-east-1", status=409)
        assert "bad" in body["message"]


def test_unresolved_parents_are_retried_by_the_sweep(registry):
    registry.upload("kid/m.json", manifest({"packer_run_uuid": "k1",
                                            "custom_data": {"parent_bucket": "base", "parent_version": "v1"}}))
    assert status(registry, "kid") == ("active", "undetermined")
    assert registry.get("/compliance/report")["counts"]["unresolved_parents"] == 1
    registry.upload("base/m.json", manifest({"packer_run_uuid": "b1", "artifact_id": "us-east-1:ami-0b0b0b0b0b0b0b0b1"}))
    sweep(registry)
    kid = registry.get("/buckets/kid/versions/v1")
    assert [(p["bucket"], p["version"]) for p in kid["parents"]] == [("base", "v1")]
    assert kid["ancestry_status"] == "up_to_date" and kid.get("unresolved") is None
    assert registry.get("/compliance/report")["counts"]["unresolved_parents"] == 0
    assert [c["bucket"] for c in registry.get("/buckets/base/versions/v1/ancestry")["children"]] == ["kid"]


def test_an_untracked_source_is_matched_by_the_sweep_when_its_parent_comes_later(registry):
    registry.upload("kid/m.json", manifest({"packer_run_uuid": "k1", "custom_data": {"source_ami": "ami-0b0b0b0b0b0b0b0b1"}}))
    assert status(registry, "kid") == ("active", None)
    assert registry.get("/compliance/report")["counts"]["unresolved_parents"] == 0
    registry.upload("base/m.json", manifest({"packer_run_uuid": "b1", "artifact_id": "us-east-1:ami-0b0b0b0b0b0b0b0b1"}))
    sweep(registry)
    kid = registry.get("/buckets/kid/versions/v1")
    assert [(p["bucket"], p["version"], p["how"]) for p in kid["parents"]] == [
        ("base", "v1", "matched from the source artifact ami-0b0b0b0b0b0b0b0b1")]
    assert kid["ancestry_status"] == "up_to_date" and kid.get("untracked") is None
    assert [c["bucket"] for c in registry.get("/buckets/base/versions/v1/ancestry")["children"]] == ["kid"]


def test_compliance_check_of_a_terraform_plan(registry):
    build_chain(registry)  # base holds ami-0c2716a13b6c0ff45 (v1) and ami-0fd3c3509d9df9905 (v2)
    registry.send("post", "/buckets/base/versions/v2/revoke", {"reason": "broken", "skip_descendants_revocation": True})
    body = registry.send("post", "/compliance/check", json.loads(PLAN.read_text()))
    verdicts = {r["artifact"]: r["verdict"] for r in body["results"]}
    assert verdicts["ami-0c2716a13b6c0ff45"] == "out_of_date"
    assert verdicts["ami-0fd3c3509d9df9905"] == "revoked"
    assert verdicts["gold-calyptia-core-20220803131548-us"] == "unknown"
    assert body["passed"] is False and body["counts"]["revoked"] == 1


def test_the_sweep_costs_the_same_however_many_quiet_versions(registry):
    """Quiet versions cost the sweep nothing: only markers and indexes are read."""
    def sweep_calls(quiet: int) -> int:
        registry.upload(f"quiet{quiet}/m.json", manifest(*({"packer_run_uuid": f"q{quiet}-{n}"} for n in range(quiet))))
        sweep(registry)  # clears the markers the uploads left
        calls = count_calls(aws.client("dynamodb"))
        sweep(registry)
        return len(calls)

    assert sweep_calls(5) == sweep_calls(60)


# ---- outdated propagates down the chain (issue 10, item 11) -----------------------------------

def sweep_until_quiet(registry):
    while registry.send("post", "/compliance/sweep")["more_pending"]:
        pass


def test_the_check_never_calls_a_grandchild_ok_while_its_parent_is_out_of_date(registry, monkeypatch):
    build_chain(registry)
    sweep_until_quiet(registry)
    registry.send("patch", "/buckets/base/channels/production", {"version": "v2"})
    monkeypatch.setattr(compliance, "MARKERS_PER_RUN", 1)  # this sweep reaches the child, not the grandchild
    assert registry.send("post", "/compliance/sweep")["more_pending"] is True
    assert status(registry, "child")[1] == "out_of_date" and status(registry, "grandchild")[1] == "up_to_date"
    chain = "parent child v1 is out of date: parent base channel production now points at v2"
    results = registry.send("post", "/compliance/check", {"artifacts": [CHILD_AMI, GRANDCHILD_AMI]})["results"]
    assert [(r["verdict"], r["message"]) for r in results] == [
        ("out_of_date", "parent base channel production now points at v2; this was built from v1"),
        ("out_of_date", chain)]
    sweep(registry)  # the next run carries it down
    assert registry.get("/buckets/grandchild/versions/v1")["ancestry_messages"] == [chain]


def test_a_version_revoked_by_inheritance_stores_parent_revoked_and_is_rechecked_on_restore(registry):
    build_chain(registry)
    registry.send("post", "/buckets/base/versions/v1/revoke", {"reason": "CVE-2026-0001"})
    for bucket in ("child", "grandchild"):
        version = registry.get(f"/buckets/{bucket}/versions/v1")
        assert (version["status"], version["ancestry_status"]) == ("revoked", "parent_revoked")
        assert version["ancestry_messages"] == [
            "ancestor base v1 is revoked (CVE-2026-0001); this version inherited the revocation"]
    listed = registry.get("/buckets/child/versions")["items"][0]
    assert (listed["status"], listed["ancestry_status"]) == ("revoked", "parent_revoked")
    children = registry.get("/buckets/base/versions/v1/ancestry")["children"]
    assert [(c["status"], c["ancestry_status"]) for c in children] == [("revoked", "parent_revoked")]
    registry.send("post", "/buckets/base/versions/v1/restore")
    for bucket in ("child", "grandchild"):  # checked again as they come back, not left "parent revoked"
        version = registry.get(f"/buckets/{bucket}/versions/v1")
        live = registry.get(f"/buckets/{bucket}/versions/v1/ancestry")["ancestry_status"]
        assert version["status"] == "active" and version["ancestry_status"] == live != "parent_revoked"


# ---- the check reads in batches (issue 15) ------------------------------------------------------

def test_the_check_reads_each_artifact_s_newest_producer_in_a_batch_and_queries_only_the_unknown(registry):
    from support import ingest

    ingest(registry, "fleet", *(f"{n:02d}" for n in range(6)))  # v1..v6, two AMIs each
    known = [f"ami-{n:02d}000000000000{r}" for n in range(6) for r in (1, 2)]
    calls = count_calls(aws.client("dynamodb"))
    body = registry.send("post", "/compliance/check", {"artifacts": [*known, "ami-0123456789abcdef0"]})
    assert [r["verdict"] for r in body["results"]] == ["out_of_date"] * 10 + ["ok"] * 2 + ["unknown"]
    # newest producers (one BatchGet), versions and bucket (one), the unknown ID's index entries (one Query)
    assert sorted(calls) == ["BatchGetItem", "BatchGetItem", "Query"]


def test_the_check_falls_back_to_the_index_when_the_newest_producer_is_missing_or_gone(registry):
    """Artifacts recorded before the newest-producer items existed, and an artifact whose
    newest producer was deleted while an older version that made it remains."""
    shared = "ami-0500000000000000a"
    registry.upload("old/m.json", manifest({"packer_run_uuid": "old-run", "artifact_id": f"us-east-1:{shared}"}))
    registry.upload("new/m.json", manifest({"packer_run_uuid": "new-run", "artifact_id": f"us-east-1:{shared}"}))
    registry.upload("legacy/m.json", manifest({"packer_run_uuid": "legacy-run",
                                               "artifact_id": "us-east-1:ami-0600000000000000b"}))
    registry.send("post", "/buckets/old/versions/v1/revoke", {"reason": "CVE-2026-0002"})
    table = aws.client("dynamodb")
    table.delete_item(TableName="packer-registry",  # as a registry from before issue 15 stored it
                      Key={"PK": {"S": "ARTIFACT#ami-0600000000000000b"}, "SK": {"S": "NEWEST"}})
    check = {"artifacts": [shared, "ami-0600000000000000b"]}
    assert [(r["bucket"], r["verdict"]) for r in registry.send("post", "/compliance/check", check)["results"]] == [
        ("new", "ok"), ("legacy", "ok")]
    registry.send("delete", "/buckets/new/versions/v1")
    assert [(r.get("bucket"), r["verdict"]) for r in registry.send("post", "/compliance/check", check)["results"]] \
        == [("old", "revoked"), ("legacy", "ok")]
