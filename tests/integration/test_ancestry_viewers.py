"""Ancestry for viewers (issue 10, item 4): no sentence or field names a restricted channel
(`latest` included) or where it points; viewers still learn the status, in words."""

import json

from chalicelib.runtime import aws
from chalicelib.storage import keys, table
from support import CHILD_AMI, GRANDCHILD_AMI, count_calls, manifest, mint

BASE_AMI, KID_AMI = "ami-0b0b0b0b0b0b0b0b1", "ami-0e0e0e0e0e0e0e0e1"
SAFE = "parent base has a newer version in use than v1, which this was built from"


def build(registry):
    """base v1, v2; `secret` (restricted) on v1; child built from it, grandchild from the child,
    kid from base v1 by its source AMI (so through `latest`); then secret moves to v2 and v3
    arrives, and a sweep stores what that means."""
    registry.upload("base/m.json", manifest({"packer_run_uuid": "b1", "artifact_id": f"us-east-1:{BASE_AMI}"},
                                            {"packer_run_uuid": "b2", "artifact_id": "us-east-1:ami-0b0b0b0b0b0b0b0b2"}))
    registry.send("post", "/buckets/base/channels", {"name": "secret", "version": "v1", "restricted": True}, 201)
    registry.upload("child/m.json", manifest({
        "name": "app", "packer_run_uuid": "c1", "build_time": 0, "artifact_id": f"us-east-1:{CHILD_AMI}",
        "custom_data": {"bucket_name": "child", "parent_bucket": "base", "parent_channel": "secret"}}))
    registry.upload("grandchild/m.json", manifest({"name": "svc", "packer_run_uuid": "g1",
                                                   "artifact_id": f"us-east-1:{GRANDCHILD_AMI}",
                                                   "custom_data": {"source_ami": CHILD_AMI}}))
    registry.upload("kid/m.json", manifest({"packer_run_uuid": "k1", "artifact_id": f"us-east-1:{KID_AMI}",
                                            "custom_data": {"source_ami": "ami-0b0b0b0b0b0b0b0b2"}}))
    registry.send("patch", "/buckets/base/channels/secret", {"version": "v2"})
    registry.upload("base/m3.json", manifest({"packer_run_uuid": "b3", "artifact_id": "us-east-1:ami-0b0b0b0b0b0b0b0b3"}))
    registry.send("post", "/compliance/sweep")


def reads(viewer):
    """Every read that carries ancestry sentences or links, as the viewer gets them."""
    return {
        "version": viewer.get("/buckets/child/versions/v1"),
        "versions": viewer.get("/buckets/child/versions"),
        "grandchild": viewer.get("/buckets/grandchild/versions/v1"),
        "kid": viewer.get("/buckets/kid/versions/v1"),
        "ancestry": viewer.get("/buckets/child/versions/v1/ancestry"),
        "kid ancestry": viewer.get("/buckets/kid/versions/v1/ancestry"),
        "descendants": viewer.get("/buckets/base/versions/v1/descendants"),
        "report": viewer.get("/compliance/report"),
        "check": viewer.send("post", "/compliance/check", {"artifacts": [BASE_AMI, CHILD_AMI, GRANDCHILD_AMI, KID_AMI]}),
        "artifact": viewer.get(f"/artifacts/{CHILD_AMI}"),
        "artifact by query": viewer.get(f"/artifacts?id={GRANDCHILD_AMI}"),
    }


def test_a_viewer_learns_the_status_but_not_the_restricted_channel_nor_where_it_points(registry):
    build(registry)
    viewer = registry.as_token(mint(registry, "viewer"))
    seen = reads(viewer)
    for name, body in seen.items():
        text = json.dumps(body)
        assert "secret" not in text and "latest" not in text, (name, text)
    # the statuses are all there, with sentences that name neither the channel nor v2/v3
    child = seen["version"]
    assert child["ancestry_status"] == "out_of_date" and child["ancestry_messages"] == [SAFE]
    assert child["parents"][0]["channel"] is None and child["parents"][0]["found_by"] == "parent_channel"
    assert child["parent_hint"]["bucket"] == "base" and child["parent_hint"]["channel"] is None
    assert "parent_channel" not in child["builds"][0]["labels"]
    assert seen["grandchild"]["ancestry_messages"] == [
        "parent child v1 is out of date: parent base has a newer version in use than v1"]
    assert seen["kid"]["ancestry_messages"] == [
        "parent base has a newer version in use than v2, which this was built from"]
    assert [(p["status"], p["message"]) for p in seen["ancestry"]["parents"]] == [("out_of_date", SAFE)]
    assert seen["ancestry"]["parents"][0]["resolution"] == "the parent version is base v1"  # not where secret was
    assert {(f["bucket"], tuple(f["messages"])) for f in seen["report"]["flagged"]} >= {("child", (SAFE,))}
    assert [c["messages"] for c in seen["report"]["last_sweep"]["ancestry_changes"] if c["bucket"] == "child"] == [[SAFE]]
    verdicts = [(r["verdict"], r["message"]) for r in seen["check"]["results"]]
    assert verdicts == [("out_of_date", "base has a newer version than v1"), ("out_of_date", SAFE),
                        ("out_of_date", "parent child v1 is out of date: parent base has a newer version in use than v1"),
                        ("out_of_date", "parent base has a newer version in use than v2, which this was built from")]
    assert seen["artifact"]["ancestry_messages"] == [SAFE]


def test_contributors_read_the_channel_and_a_channel_made_public_is_named_at_once(registry):
    build(registry)
    viewer = registry.as_token(mint(registry, "viewer"))
    named = "parent base channel secret now points at v2; this was built from v1"
    assert registry.get("/buckets/child/versions/v1")["ancestry_messages"] == [named]
    assert registry.get("/buckets/kid/versions/v1")["ancestry_messages"] == [
        "parent base latest is now v3; this was built from v2"]
    registry.send("patch", "/buckets/base/channels/secret", {"restricted": False})  # no sweep needed
    version = viewer.get("/buckets/child/versions/v1")
    assert version["ancestry_messages"] == [named] and version["parents"][0]["channel"] == "secret"
    assert viewer.get("/compliance/report")["last_sweep"]["ancestry_changes"][0]["messages"] == [named]
    assert viewer.get("/buckets/kid/versions/v1")["ancestry_messages"] == [  # latest is still restricted
        "parent base has a newer version in use than v2, which this was built from"]
    registry.send("patch", "/buckets/base/channels/secret", {"restricted": True})
    assert viewer.get("/buckets/child/versions/v1")["ancestry_messages"] == [SAFE]


def test_get_version_costs_a_contributor_one_call_and_a_viewer_one_more(registry):
    build(registry)
    viewer = registry.as_token(mint(registry, "viewer"))
    calls = count_calls(aws.client("dynamodb"))

    def cost(who, path):
        """The calls answering the request, without the authorizer's look-up of a minted token."""
        calls.clear()
        who.get(path)
        return [c for c in calls if c not in ("GetItem", "UpdateItem")]

    assert cost(registry, "/buckets/child/versions/v1") == ["Query"]
    assert cost(viewer, "/buckets/base/versions/v1") == ["Query"]  # its ancestry names no channel
    assert cost(viewer, "/buckets/child/versions/v1") == ["Query", "BatchGetItem"]


def test_sentences_stored_before_findings_reach_contributors_only(registry):
    """A registry upgraded in place: versions checked before findings were stored hold sentences."""
    build(registry)
    viewer = registry.as_token(mint(registry, "viewer"))
    legacy = ["parent base channel secret now points at v2; this was built from v1"]
    table.update(keys.version("child", 1), "SET ancestry_messages = :m REMOVE ancestry_findings", {":m": legacy})
    assert registry.get("/buckets/child/versions/v1")["ancestry_messages"] == legacy
    assert registry.get(f"/artifacts/{CHILD_AMI}")["ancestry_messages"] == legacy
    assert viewer.get("/buckets/child/versions/v1")["ancestry_messages"] == []
    assert viewer.get(f"/artifacts/{CHILD_AMI}")["ancestry_messages"] == []
    registry.send("patch", "/buckets/base/channels/secret", {"version": "v1"})
    registry.send("post", "/compliance/sweep")  # checked again: findings from now on
    assert viewer.get("/buckets/child/versions/v1")["ancestry_status"] == "up_to_date"
