"""Retention policies (issue 14, item 3): set through the API, applied by the scheduled sweep.

The bucket: `base` from a real multi-run manifest (v1…v8), `production` on v1 with a child
built from it through the channel (tests/support.py build_chain), a restricted `staging` on
v3, and children by explicit parent version: `kid` from v4 (active), `gone` from v2 (then
revoked). With `keep_newest: 2`, the policy may act on v2, v5 and v6 only: v1 (production, an
active child), v3 (staging), v4 (an active child), v7 and v8 (the newest two; v8 is `latest`).
"""

from __future__ import annotations

import json

import boto3
import pytest

from chalicelib import storage
from chalicelib.domain.models import CreateChannel, UpdateChannel
from chalicelib.domain.manifest import parse_manifest
from chalicelib.services import channels, lifecycle, retention
from chalicelib.services.recording import record_run
from support import MANIFEST_BUCKET, build_chain, manifest, mint, race, real_manifest, sweep


def kid(registry, bucket: str, parent_version: str, run: str) -> None:
    registry.upload(f"{bucket}/m.json", manifest({"name": bucket, "packer_run_uuid": run,
                                                  "artifact_id": f"us-east-1:ami-{run}",
                                                  "custom_data": {"bucket_name": bucket, "parent_bucket": "base",
                                                                  "parent_version": parent_version}}))


@pytest.fixture
def family(registry):
    build_chain(registry)
    registry.send("post", "/buckets/base/channels", {"name": "staging", "version": "v3", "restricted": True}, 201)
    kid(registry, "kid", "v4", "kid00001")
    kid(registry, "gone", "v2", "gone0001")
    registry.send("post", "/buckets/gone/versions/v1/revoke", {"reason": "not needed"})
    assert registry.get("/buckets/gone/versions/v1")["parents"][0]["version"] == "v2"
    return registry


def statuses(registry, bucket: str = "base") -> dict[str, str]:
    return {v["name"]: v["status"] for v in registry.all_pages(f"/buckets/{bucket}/versions")}


def channel_versions(registry) -> dict[str, str | None]:
    return {c["name"]: c["version"] for c in registry.all_pages("/buckets/base/channels")}


def retention_events(registry, bucket: str = "base") -> list[tuple[str, str]]:
    return sorted((e["action"], e["target"]) for e in registry.all_pages(f"/buckets/{bucket}/events")
                  if e["actor"] == "retention")


def test_revoke_spares_channels_and_active_children(family):
    before_channels = channel_versions(family)
    policy = family.send("put", "/buckets/base/retention", {"keep_newest": 2, "action": "revoke"})
    assert policy["keep_newest"] == 2 and policy["action"] == "revoke" and policy["set_by"] == "bootstrap-admin"
    sweep(family)
    assert statuses(family) == {"v1": "active", "v2": "revoked", "v3": "active", "v4": "active", "v5": "revoked",
                                "v6": "revoked", "v7": "active", "v8": "active"}
    assert channel_versions(family) == before_channels  # production v1, staging v3, latest v8
    assert statuses(family, "child") == {"v1": "active"} and statuses(family, "kid") == {"v1": "active"}
    assert retention_events(family) == [("version.revoked", "v2"), ("version.revoked", "v5"),
                                        ("version.revoked", "v6")]
    revocation = family.get("/buckets/base/versions/v5")["revocation"]
    assert revocation["revoked_by"] == "retention"
    assert revocation["reason"] == "retention policy: not among the newest 2 active versions"
    assert revocation["skip_descendants_revocation"] is True
    # The next sweep finds nothing more to do, and says the pass is over.
    sweep(family)
    assert len(retention_events(family)) == 3
    progress = family.get("/buckets/base/retention")["progress"]
    assert progress["resume_after"] is None and progress["last_pass_finished_at"]


def test_delete_keeps_the_manifest_objects_in_s3(family):
    family.send("post", "/buckets/base/versions/v5/revoke", {"reason": "bad", "skip_descendants_revocation": True})
    objects = boto3.client("s3").list_objects_v2(Bucket=MANIFEST_BUCKET)["Contents"]
    family.send("put", "/buckets/base/retention", {"keep_newest": 2, "action": "delete"})
    sweep(family)
    # Deleted: v2 (its only child is revoked), v5 (revoked), v6; the rest as the revoke test.
    assert sorted(statuses(family)) == ["v1", "v3", "v4", "v7", "v8"]
    for name in ("v2", "v5", "v6"):
        family.get(f"/buckets/base/versions/{name}", status=404)
    assert retention_events(family) == [("version.deleted", "v2"), ("version.deleted", "v5"),
                                        ("version.deleted", "v6")]
    assert channel_versions(family)["latest"] == "v8"
    s3 = boto3.client("s3")
    assert s3.list_objects_v2(Bucket=MANIFEST_BUCKET)["Contents"] == objects
    assert s3.get_object(Bucket=MANIFEST_BUCKET, Key="base/packer-manifest.json")["Body"].read()


def test_the_preview_says_what_the_sweep_would_do_and_changes_nothing(family):
    family.send("put", "/buckets/base/retention", {"keep_newest": 2, "action": "revoke"})
    before = (statuses(family), channel_versions(family), family.all_pages("/buckets/base/events"))
    first = family.get("/buckets/base/retention/preview?limit=4")
    rest = family.get(f"/buckets/base/retention/preview?limit=4&next_token={first['next_token']}")
    decisions = {d["version"]: d for d in first["versions"] + rest["versions"]}
    assert {n: d["decision"] for n, d in decisions.items()} == {
        "v1": "keep", "v2": "revoke", "v3": "keep", "v4": "keep", "v5": "revoke", "v6": "revoke", "v7": "keep",
        "v8": "keep"}
    # Children are read only for versions nothing else keeps (one Query each).
    assert decisions["v1"]["reasons"] == ["held by channel production"]
    assert decisions["v3"]["reasons"] == ["held by channel staging"]
    assert decisions["v4"]["reasons"] == ["has children that are not revoked: kid/v1"]
    assert decisions["v8"]["reasons"] == ["held by channel latest", "among the newest 2 active versions"]
    assert not first["pass_ends_here"] and rest["pass_ends_here"] and "next_token" not in rest
    assert (statuses(family), channel_versions(family), family.all_pages("/buckets/base/events")) == before
    family.get("/buckets/base/retention/preview?limit=4&next_token=forged", status=400)
    family.get("/buckets/base/retention/preview?dry=1", status=400)


def test_keep_younger_than(registry, moved_clock):
    build_chain(registry)
    moved_clock.advance(days=31)
    kid(registry, "base", "v1", "young001")  # v9 of base, recorded now (its parent: base v1)
    registry.send("put", "/buckets/base/retention", {"keep_younger_than": "30d", "action": "revoke"})
    sweep(registry)
    # Older than 30 days: v2…v8 revoked (v1 is on production and has children); v9 kept.
    assert statuses(registry) == {"v1": "active", **{f"v{n}": "revoked" for n in range(2, 9)}, "v9": "active"}
    assert registry.get("/buckets/base/versions/v2")["revocation"]["reason"] == "retention policy: older than 30d"


def test_the_sweep_is_bounded_and_resumes(registry, monkeypatch):
    monkeypatch.setattr(retention, "ACTIONS_PER_RUN", 2)
    monkeypatch.setattr(retention, "BUCKETS_PER_RUN", 1)
    build_chain(registry)  # base v1…v8, production on v1
    registry.upload("other/m.json", manifest(*({"packer_run_uuid": f"other-{n}", "artifact_id": f"us-east-1:ami-o{n}",
                                                 "custom_data": {"bucket_name": "other"}} for n in range(3))))
    registry.send("put", "/buckets/base/retention", {"keep_newest": 1, "action": "revoke"})
    registry.send("put", "/buckets/other/retention", {"keep_newest": 1, "action": "revoke"})
    revoked = []
    for _ in range(8):  # one bucket a run, two versions a run
        sweep(registry)
        revoked.append((sorted(n for n, s in statuses(registry).items() if s == "revoked"),
                        sorted(n for n, s in statuses(registry, "other").items() if s == "revoked")))
    assert revoked == [(["v2", "v3"], []), (["v2", "v3"], ["v1", "v2"]),
                       (["v2", "v3", "v4", "v5"], ["v1", "v2"]), (["v2", "v3", "v4", "v5"], ["v1", "v2"]),
                       (["v2", "v3", "v4", "v5", "v6", "v7"], ["v1", "v2"]), *[(["v2", "v3", "v4", "v5", "v6", "v7"],
                                                                                ["v1", "v2"])] * 3]
    progress = registry.get("/buckets/base/retention")["progress"]
    assert progress["resume_after"] is None and progress["last_run_acted_on"] == []


def test_policy_changes_are_audited_and_checked(registry):
    build_chain(registry)
    registry.get("/buckets/base/retention", status=404)
    registry.get("/buckets/nope/retention", status=404)
    registry.send("put", "/buckets/nope/retention", {"keep_newest": 2, "action": "revoke"}, status=404)
    for bad, words in [({}, "action: Field required"), ({"action": "revoke"}, "keep_newest (1-100), keep_younger_than"),
                       ({"keep_newest": 0, "action": "revoke"}, "keep_newest"),
                       ({"keep_newest": 101, "action": "revoke"}, "100"),
                       ({"keep_newest": "3", "action": "revoke"}, "keep_newest"),
                       ({"keep_younger_than": "30 days", "action": "revoke"}, "keep_younger_than must look like 30d"),
                       ({"keep_younger_than": "5000d", "action": "delete"}, "at most 3650d"),
                       ({"keep_newest": 2, "action": "archive"}, "action"),
                       ({"keep_newest": 2, "action": "revoke", "dry_run": True}, "dry_run")]:
        answer = registry.send("put", "/buckets/base/retention", bad, status=400)
        assert answer["error"] == "BadRequest" and words in answer["message"], (bad, answer)
    viewer = registry.as_token(mint(registry, "viewer"))
    viewer.send("put", "/buckets/base/retention", {"keep_newest": 2, "action": "revoke"}, status=403)
    contributor = registry.as_token(mint(registry, "contributor", "ci"))
    contributor.send("put", "/buckets/base/retention", {"keep_newest": 2, "action": "revoke"})
    contributor.send("put", "/buckets/base/retention", {"keep_younger_than": "90d", "action": "delete"})
    assert viewer.get("/buckets/base/retention")["keep_younger_than"] == "90d"
    viewer.get("/buckets/base/retention/preview", status=403)  # its reasons name restricted channels
    assert contributor.get("/buckets/base/retention/preview")["versions"]
    removed = contributor.send("delete", "/buckets/base/retention")
    assert removed["action"] == "delete"
    registry.get("/buckets/base/retention", status=404)
    registry.send("delete", "/buckets/base/retention", status=404)
    events = [(e["action"], e["actor"], e["before"], e["after"]) for e in registry.all_pages("/buckets/base/events")
              if e["action"].startswith("retention.")]
    two = {"keep_newest": 2, "keep_younger_than": None, "action": "revoke"}
    ninety = {"keep_newest": None, "keep_younger_than": "90d", "action": "delete"}
    assert events == [("retention.removed", "ci", ninety, None), ("retention.set", "ci", two, ninety),
                      ("retention.set", "ci", None, two)]


def test_a_deleted_bucket_takes_its_policy(registry):
    build_chain(registry)
    registry.send("put", "/buckets/grandchild/retention", {"keep_newest": 1, "action": "delete"})
    registry.send("delete", "/buckets/grandchild")
    registry.upload("grandchild/m.json", manifest({"packer_run_uuid": "again", "custom_data": {}}))
    registry.get("/buckets/grandchild/retention", status=404)


# ---- races: a version that gets a channel between the sweep's read and its write --------

def _bucket(name: str, count: int) -> None:
    doc = manifest(*({"packer_run_uuid": f"{name}-r{n}", "artifact_id": f"us-east-1:ami-{n:017x}",
                      "custom_data": {"bucket_name": name}} for n in range(1, count + 1)))
    for run in parse_manifest(json.dumps(doc).encode(), f"{name}/m.json").runs:
        record_run(run, actor="test")


@pytest.mark.parametrize("action", ["delete", "revoke"])
def test_a_version_assigned_while_the_sweep_acts_is_left_alone(moto_server, action):
    """The sweep acts on v1…v3 of a bucket (keep_newest 1) while `pin` is assigned v2, both
    released together: after each trial, if the assignment succeeded, `pin` holds v2 and v2 is
    still there and active. (The interleavings that matter are forced below, on every run.)"""
    from chalicelib.domain.models import RetentionRequest

    broken = []
    for trial in range(12):
        bucket = f"r{action[0]}{trial}"
        _bucket(bucket, 4)
        channels.create_channel(bucket, CreateChannel(name="pin"), "test")
        retention.put_policy(bucket, RetentionRequest(keep_newest=1, action=action), "test")
        assigned = []

        def assign() -> None:
            channels.update_channel(bucket, "pin", UpdateChannel(version="v2"), "racer")
            assigned.append(True)

        assert race(retention.apply_policies, assign, tolerated=(404, 409, 503)) == []
        pin = channels.get_channel(bucket, "pin")
        found = {v.name: v.status for v in storage.retention.oldest_first(bucket, None, 10)[0]}
        if assigned and (pin.version != "v2" or found.get("v2") != "active"):
            broken.append(f"{bucket}: pin on {pin.version}, v2 {found.get('v2')}")
    assert not broken, broken


def test_lifecycle_refusal_runs_on_what_the_commit_reads(moto_aws):
    """The refusal the retention sweep passes sees a channel assigned after the sweep's read."""
    _bucket("rf", 3)
    seen = []

    def refuse(version, holding):
        seen.append([c.name for c in holding])
        if any(c.name == "pin" for c in holding):
            raise lifecycle.Conflict("held")

    channels.create_channel("rf", CreateChannel(name="pin", version="v1"), "test")
    with pytest.raises(lifecycle.Conflict):
        lifecycle.delete_version("rf", "v1", rollback_channels=False, actor="retention", refuse=refuse)
    with pytest.raises(lifecycle.Conflict):
        lifecycle.revoke_unless("rf", 1, {"reason": "r", "revoked_by": "retention", "revocation_type": "direct",
                                          "skip_descendants_revocation": True}, "retention", refuse)
    assert seen == [["pin"], ["pin"]]
    assert lifecycle.versions.get_version("rf", "v1").status == "active"


# ---- the same interleavings, made to happen on every run --------------------------------

def _pinned_family(registry, action: str) -> None:
    build_chain(registry)  # base v1…v8; production on v1
    registry.send("post", "/buckets/base/channels", {"name": "pin"}, 201)
    registry.send("put", "/buckets/base/retention", {"keep_newest": 1, "action": action})


@pytest.mark.parametrize("action", ["delete", "revoke"])
def test_a_channel_set_between_the_sweeps_read_and_its_write(registry, monkeypatch, action):
    """`pin` is assigned v3 after the sweep decided to act on v3, before it acts: v3 stays."""
    _pinned_family(registry, action)
    act = retention._act

    def assign_first(policy, decision):
        if decision.name == "v3":
            channels.update_channel("base", "pin", UpdateChannel(version="v3"), "racer")
        return act(policy, decision)

    monkeypatch.setattr(retention, "_act", assign_first)
    sweep(registry)
    assert channel_versions(registry)["pin"] == "v3" and statuses(registry)["v3"] == "active"
    assert sorted(n for n, s in statuses(registry).items() if s == "active") == ["v1", "v3", "v8"]


@pytest.mark.parametrize("action", ["delete", "revoke"])
def test_a_channel_set_between_the_paths_read_and_its_commit(registry, monkeypatch, action):
    """`pin` is assigned v3 right after the revoke or delete read v3's holders (none): the
    transaction's condition on v3's `rev` fails, the retry reads `pin` and leaves v3."""
    _pinned_family(registry, action)
    holding = channels.holding
    assigned = []

    def assign_after_reading(bucket, number):
        found = holding(bucket, number)
        if number == 3 and not assigned:
            channels.update_channel("base", "pin", UpdateChannel(version="v3"), "racer")
            assigned.append(True)
        return found

    monkeypatch.setattr(channels, "holding", assign_after_reading)
    sweep(registry)
    assert assigned
    assert channel_versions(registry)["pin"] == "v3" and statuses(registry)["v3"] == "active"
    assert sorted(n for n, s in statuses(registry).items() if s == "active") == ["v1", "v3", "v8"]


@pytest.mark.parametrize("action", ["delete", "revoke"])
def test_a_child_recorded_between_the_paths_read_and_its_commit(registry, monkeypatch, action):
    """A child of v3 is recorded right after the revoke or delete read v3's children (none):
    recording the child bumps v3's `rev`, so the transaction fails, the retry sees the child
    and leaves v3."""
    _pinned_family(registry, action)
    make = retention._refusal
    recorded = []

    def then_a_child(policy, decision):
        refuse = make(policy, decision)

        def check(version, holding):
            refuse(version, holding)
            if version.number == 3 and not recorded:
                doc = manifest({"name": "late", "packer_run_uuid": "late0001", "artifact_id": "us-east-1:ami-late",
                                "custom_data": {"bucket_name": "late", "parent_bucket": "base",
                                                "parent_version": "v3"}})
                (run,) = parse_manifest(json.dumps(doc).encode(), "late/m.json").runs
                record_run(run, actor="racer")
                recorded.append(True)
        return check

    monkeypatch.setattr(retention, "_refusal", then_a_child)
    sweep(registry)
    assert recorded and statuses(registry, "late") == {"v1": "active"}
    assert statuses(registry)["v3"] == "active"
    late = registry.get("/buckets/late/versions/v1")
    assert late["parents"][0]["version"] == "v3" and late["ancestry_status"] == "out_of_date"  # latest is v8


def test_a_running_hcp_draft_is_left_alone(registry):
    """A version being published through the HCP API (a draft, without a number) is neither
    listed by the preview nor touched by the sweep."""
    from support import Hcp

    registry.upload("base/packer-manifest.json", real_manifest("amazon-ebs-multiregion-multirun-1.json"))
    Hcp(registry).ok("POST", "buckets/base/versions", {"fingerprint": "draft-0001", "template_type": "HCL2"})
    registry.send("put", "/buckets/base/retention", {"keep_newest": 1, "action": "delete"})
    preview = registry.get("/buckets/base/retention/preview?limit=100")
    assert [d["version"] for d in preview["versions"]] == [f"v{n}" for n in range(1, 9)]
    sweep(registry)
    assert [(v["name"], v["status"]) for v in registry.all_pages("/buckets/base/versions")] == [
        ("v0", "running"), ("v8", "active")]
    assert registry.get("/buckets/base/retention")["progress"]["resume_after"] is None


def test_a_failing_bucket_is_left_for_the_next_run(registry, monkeypatch):
    """DynamoDB still throttling one bucket's retention: the sweep's other steps go on, and
    the next run applies the policy."""
    from chalicelib import storage as storage_

    build_chain(registry)
    registry.send("put", "/buckets/base/retention", {"keep_newest": 6, "action": "revoke"})
    apply = retention._apply
    monkeypatch.setattr(retention, "_apply", lambda policy: (_ for _ in ()).throw(storage_.Throttled("busy")))
    assert registry.send("post", "/compliance/sweep")["finished_at"]
    assert statuses(registry)["v1"] == "active" and "revoked" not in statuses(registry).values()
    monkeypatch.setattr(retention, "_apply", apply)
    sweep(registry)
    # v1 is on production; v3…v8 are the newest 6 active versions.
    assert statuses(registry) == {"v1": "active", "v2": "revoked", **{f"v{n}": "active" for n in range(3, 9)}}
