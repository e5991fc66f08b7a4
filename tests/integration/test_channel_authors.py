"""Issue 21 item 5: a channel keeps its author when only its copy of a version is rewritten.

`updated_at`/`updated_by` (HCP's `author_id` and `updated_at`, which Terraform compares) say
who last changed the channel itself: a move or its details. Every path that rewrites a
channel's copy without moving it (a revocation that keeps the channel, a scheduled one and
the sweep applying it, restore, the revocation cascade and its restore, the sweep's repair,
builds added to a held version) must leave them, and the history, as the assignment left
them, while the copy itself does change (the consumer query sees it).
"""

from __future__ import annotations

from typing import Any, Callable

import pytest

from chalicelib.storage import keys, table
from support import Hcp, call, manifest, mint, sweep

PARENT_AMI = "ami-0a0a0a0a0a0a0a0a1"
QUERY = "platform=aws&region=us-east-1"


def publish(registry: Any) -> None:
    """web v1 (one AMI), web v2, and kid v1 built from web v1 (by its source AMI)."""
    registry.upload("web/a.json", manifest({"packer_run_uuid": "w1", "artifact_id": f"us-east-1:{PARENT_AMI}",
                                            "custom_data": {"fingerprint": "aaa111"}}))
    registry.upload("web/b.json", manifest({"packer_run_uuid": "w2", "artifact_id": "us-east-1:ami-0b",
                                            "custom_data": {"fingerprint": "bbb222"}}))
    registry.upload("kid/a.json", manifest({"packer_run_uuid": "k1", "artifact_id": "us-east-1:ami-0c",
                                            "custom_data": {"bucket_name": "kid", "source_ami": PARENT_AMI}}))


def as_assigned(registry: Any, bucket: str) -> dict[str, Any]:
    """`prod` of the bucket as its assignment (by another principal) left it, and its history."""
    return {"channel": {k: registry.get(f"/buckets/{bucket}/channels/prod")[k] for k in ("updated_at", "updated_by")},
            "history": registry.all_pages(f"/buckets/{bucket}/channels/prod/history")}


def revoke(registry: Any, version: str, **body: Any) -> None:
    registry.send("post", f"/buckets/web/versions/{version}/revoke", {"reason": "bad kernel", **body})


KEEP = {"disable_rollback_channels": True}


def revoked_kept(registry: Any, moved_clock: Any) -> tuple[str, int]:
    revoke(registry, "v1", skip_descendants_revocation=True, **KEEP)
    return "web", 409


def scheduled(registry: Any, moved_clock: Any) -> tuple[str, int]:
    revoke(registry, "v1", revoke_in="1d", skip_descendants_revocation=True, **KEEP)
    return "web", 200


def applied_by_the_sweep(registry: Any, moved_clock: Any) -> tuple[str, int]:
    scheduled(registry, moved_clock)
    moved_clock.advance(days=1, seconds=1)
    assert registry.send("post", "/compliance/sweep")["revocations_applied"] == ["web/v1"]
    return "web", 409


def restored(registry: Any, moved_clock: Any) -> tuple[str, int]:
    revoked_kept(registry, moved_clock)
    registry.send("post", "/buckets/web/versions/v1/restore")
    return "web", 200


def inherited(registry: Any, moved_clock: Any) -> tuple[str, int]:
    revoke(registry, "v1", **KEEP)
    assert registry.get("/buckets/kid/versions/v1")["status"] == "revoked"
    return "kid", 409


def inherited_then_restored(registry: Any, moved_clock: Any) -> tuple[str, int]:
    inherited(registry, moved_clock)
    registry.send("post", "/buckets/web/versions/v1/restore")
    assert registry.get("/buckets/kid/versions/v1")["status"] == "active"
    return "kid", 200


def repaired(registry: Any, moved_clock: Any) -> tuple[str, int]:
    """A copy that drifted (what a lost race could once leave), put right by the sweep."""
    revoked_kept(registry, moved_clock)
    table.update(keys.channel("web", "prod"), "SET version_status = :a REMOVE revocation", {":a": "active"})
    assert len(registry.send("post", "/compliance/sweep")["channels_repaired"]) == 1
    return "web", 409


def builds_added(registry: Any, moved_clock: Any) -> tuple[str, int]:
    registry.upload("web/a.json", manifest(
        {"packer_run_uuid": "w1", "artifact_id": f"us-east-1:{PARENT_AMI}", "custom_data": {"fingerprint": "aaa111"}},
        {"name": "g", "packer_run_uuid": "w1", "builder_type": "googlecompute", "artifact_id": "web-image-1",
         "custom_data": {"fingerprint": "aaa111"}}))
    assert registry.get("/buckets/web/channels/prod/artifact?platform=gce")["external_id"] == "web-image-1"
    return "web", 200


def assigned_again(registry: Any, moved_clock: Any) -> tuple[str, int]:
    """Assigning the version the channel holds, with no detail: no change of the channel."""
    registry.send("patch", "/buckets/web/channels/prod", {"version": "v1"})
    return "web", 200


PATHS: list[Callable[[Any, Any], tuple[str, int]]] = [
    revoked_kept, scheduled, applied_by_the_sweep, restored, inherited, inherited_then_restored, repaired,
    builds_added, assigned_again]


@pytest.mark.parametrize("path", PATHS, ids=[p.__name__ for p in PATHS])
def test_rewriting_a_channels_copy_keeps_its_author_and_history(registry, moved_clock, path) -> None:
    publish(registry)
    bot = mint(registry, "contributor", name="release-bot")
    for bucket in ("web", "kid"):
        assert call(registry.client, "POST", f"/buckets/{bucket}/channels", bot, {"name": "prod", "version": "v1"})[0] \
            == 201
    sweep(registry)  # the assignments' markers, so the sweeps below see only what the path leaves
    before = {bucket: as_assigned(registry, bucket) for bucket in ("web", "kid")}
    assert before["web"]["channel"]["updated_by"] == "release-bot"
    moved_clock.advance(seconds=5)  # a stamp written now would differ

    bucket, status = path(registry, moved_clock)  # as the admin (or the sweep, or ingestion)

    assert as_assigned(registry, bucket) == before[bucket]
    held = registry.get(f"/buckets/{bucket}/channels/prod")
    assert held["version"] == "v1" and held["version_status"] == registry.get(f"/buckets/{bucket}/versions/v1")["status"]
    registry.get(f"/buckets/{bucket}/channels/prod/artifact?{QUERY}", status=status)  # the copy was rewritten
    hcp = Hcp(registry).ok("GET", f"buckets/{bucket}/channels/prod")["channel"]
    assert (hcp["author_id"], hcp["updated_at"]) == ("release-bot", before[bucket]["channel"]["updated_at"]), hcp


def test_a_real_move_and_a_change_of_details_still_name_their_author(registry, moved_clock) -> None:
    """What does stamp the channel: a move (assignment, rollback) and its details."""
    publish(registry)
    bot = mint(registry, "contributor", name="release-bot")
    assert call(registry.client, "POST", "/buckets/web/channels", bot, {"name": "prod", "version": "v1"})[0] == 201
    assert call(registry.client, "PATCH", "/buckets/web/channels/prod", bot, {"version": "v2"})[0] == 200
    first = registry.get("/buckets/web/channels/prod")
    moved_clock.advance(seconds=5)
    revoke(registry, "v2", skip_descendants_revocation=True)  # rolls back to v1: a move, by the admin
    rolled = registry.get("/buckets/web/channels/prod")
    assert (rolled["version"], rolled["updated_by"]) == ("v1", "bootstrap-admin") and rolled["updated_at"] > first[
        "updated_at"]
    moved_clock.advance(seconds=5)
    assert call(registry.client, "PATCH", "/buckets/web/channels/prod", bot, {"version": "v1", "description": "x"})[0] \
        == 200
    described = registry.get("/buckets/web/channels/prod")
    assert described["updated_by"] == "release-bot" and described["updated_at"] > rolled["updated_at"]
