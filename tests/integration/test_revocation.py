"""Revocation (immediate and scheduled), restore and the sweep, through the HTTP API and events."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.runtime import aws

from chalicelib.services import lifecycle
from support import manifest


def publish(registry, bucket: str, *fingerprints: str) -> None:
    """One version per fingerprint, each one AMI `ami-<fingerprint>` in us-east-1."""
    for fp in fingerprints:
        registry.upload(f"{bucket}/{fp}.json", manifest({"artifact_id": f"us-east-1:ami-{fp}",
                                                         "custom_data": {"fingerprint": fp}}))


def channel(registry, name: str, bucket: str = "web") -> dict:
    return registry.get(f"/buckets/{bucket}/channels/{name}")


def history(registry, name: str, bucket: str = "web") -> list[tuple]:
    entries = registry.all_pages(f"/buckets/{bucket}/channels/{name}/history")
    return [(e["cause"], e["from_version"], e["to_version"]) for e in entries]


def served(registry, name: str, bucket: str = "web", status: int = 200) -> dict:
    return registry.get(f"/buckets/{bucket}/channels/{name}/artifact?platform=aws&region=us-east-1", status=status)


def revoke(registry, version: str, bucket: str = "web", status: int = 200, **body) -> dict:
    return registry.send("post", f"/buckets/{bucket}/versions/{version}/revoke", {"reason": "bad", **body}, status)


def restore(registry, version: str, bucket: str = "web", status: int = 200) -> dict:
    return registry.send("post", f"/buckets/{bucket}/versions/{version}/restore", None, status)


def assign(registry, name: str, version: str | None, bucket: str = "web") -> None:
    """Create the channel on its first use in a test, then PATCH it."""
    created = registry.__dict__.setdefault("created_channels", set())
    if (bucket, name) in created:
        registry.send("patch", f"/buckets/{bucket}/channels/{name}", {"version": version})
    else:
        registry.send("post", f"/buckets/{bucket}/channels", {"name": name, "version": version}, 201)
        created.add((bucket, name))


def schedule_event(registry) -> None:
    """What EventBridge delivers to the @app.schedule function."""
    event = registry.client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event",
                                                     detail={}, resources=[])
    registry.client.lambda_.invoke("sweep", event)


def parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


# ---- immediate revocation -----------------------------------------------------------------

def test_immediate_revocation_rolls_channels_back_and_moves_latest(registry):
    publish(registry, "web", "aaa111", "bbb222", "ccc333")
    assign(registry, "prod", "v2")
    assign(registry, "prod", "v3")
    assign(registry, "qa", "v3")
    assign(registry, "old", "v1")
    before = datetime.now(timezone.utc)
    revoked = revoke(registry, "ccc333", reason="CVE-2026-0001 in openssl", skip_descendants_revocation=True)
    assert revoked["status"] == "revoked" and revoked["name"] == "v3"
    revocation = revoked["revocation"]
    assert (revocation["reason"], revocation["revoked_by"], revocation["revocation_type"]) == (
        "CVE-2026-0001 in openssl", "bootstrap-admin", "direct")
    assert revocation["skip_descendants_revocation"] is True and revocation["disable_rollback_channels"] is False
    assert revocation["revoke_at"] is None
    assert before <= parse(revocation["revoked_at"]) <= datetime.now(timezone.utc)
    assert registry.get("/buckets/web/versions/v3")["revocation"] == revocation

    assert channel(registry, "prod")["version"] == "v2"
    assert history(registry, "prod")[0] == ("rollback", "v3", "v2")
    entry = registry.get("/buckets/web/channels/prod/history")["items"][0]
    assert entry["author"] == "bootstrap-admin" and entry["at"] >= revocation["revoked_at"]
    assert channel(registry, "prod")["updated_by"] == "bootstrap-admin"
    assert channel(registry, "qa")["version"] is None  # nothing else in its history
    assert history(registry, "qa") == [("rollback", "v3", None), ("assign", None, "v3")]
    assert channel(registry, "old")["version"] == "v1" and history(registry, "old") == [("assign", None, "v1")]
    assert channel(registry, "latest")["version"] == "v2"
    assert history(registry, "latest")[0] == ("revoke", "v3", "v2")
    assert registry.get("/buckets/web")["latest_version"] == "v2"
    assert served(registry, "prod")["external_id"] == "ami-bbb222"
    assert served(registry, "latest")["external_id"] == "ami-bbb222"

    # Revoking an older version leaves latest alone; revoking again is refused.
    revoke(registry, "v1")
    assert channel(registry, "latest")["version"] == "v2"
    assert channel(registry, "old")["version"] is None
    body = revoke(registry, "v1", status=409)
    assert "already revoked" in body["message"]
    assert "already revoked" in revoke(registry, "v1", revoke_in="1d", status=409)["message"]
    revoke(registry, "v9", status=404)
    revoke(registry, "nosuch", status=404)


def test_rollback_walks_the_channel_history_skipping_revoked_versions(registry):
    publish(registry, "web", "f1", "f2", "f3", "f4", "f5")
    for version in ("v1", "v2", "v3", "v4"):
        assign(registry, "prod", version)
    revoke(registry, "v3")  # not held: prod stays
    assert channel(registry, "prod")["version"] == "v4"
    revoke(registry, "v4")
    assert channel(registry, "prod")["version"] == "v2"  # v3 is skipped
    revoke(registry, "v2")
    assert channel(registry, "prod")["version"] == "v1"
    restore(registry, "v3")  # active again, and in prod's history: the next rollback may use it
    revoke(registry, "v1")
    assert channel(registry, "prod")["version"] == "v3"
    revoke(registry, "v3")
    assert channel(registry, "prod")["version"] is None
    assert history(registry, "prod") == [
        ("rollback", "v3", None), ("rollback", "v1", "v3"), ("rollback", "v2", "v1"), ("rollback", "v4", "v2"),
        ("assign", "v3", "v4"), ("assign", "v2", "v3"), ("assign", "v1", "v2"), ("assign", None, "v1")]
    # latest never saw revoked versions: it holds v5 throughout
    assert channel(registry, "latest")["version"] == "v5"
    revoke(registry, "v5")
    assert channel(registry, "latest")["version"] is None
    assert registry.get("/buckets/web").get("latest_version") is None
    assert "not assigned" in served(registry, "latest", status=404)["message"]
    assert "not assigned" in served(registry, "prod", status=404)["message"]
    restore(registry, "v2")
    assert channel(registry, "latest")["version"] == "v2"
    assert channel(registry, "prod")["version"] is None


def test_a_move_past_more_revoked_versions_than_a_transaction_holds_still_commits(registry, monkeypatch):
    """`latest` and a channel's rollback pass over every newer revoked version; guarding each
    one in the transaction overflowed DynamoDB's 100 items (a 500). Here the limit is 20 (and
    the guarded nearest 4): 16 revoked versions are passed over, and one of them, restored,
    is still found."""
    monkeypatch.setattr("chalicelib.storage.table.TRANSACTION_LIMIT", 20)
    monkeypatch.setattr("chalicelib.services.channels.GUARDED_SKIPS", 4)
    publish(registry, "web", *(f"g{n:02d}" for n in range(1, 19)))
    for n in range(1, 19):
        assign(registry, "prod", f"v{n}")
    for n in range(2, 18):  # neither held by prod (v18) nor by latest (v18)
        revoke(registry, f"v{n}")
    revoke(registry, "v18")  # latest and prod pass over v17..v2 to v1
    assert channel(registry, "latest")["version"] == "v1"
    assert channel(registry, "prod")["version"] == "v1"
    restore(registry, "v3")  # beyond the guarded nearest four: re-read, not guarded
    assert channel(registry, "latest")["version"] == "v3"
    revoke(registry, "v3")
    assert channel(registry, "latest")["version"] == "v1"


def test_disable_rollback_keeps_the_channel_and_the_consumer_query_says_why(registry):
    publish(registry, "web", "aaa111", "bbb222")
    assign(registry, "prod", "v1")
    assign(registry, "prod", "v2")
    revoke(registry, "v2", reason="kernel panic on boot", disable_rollback_channels=True)
    held = channel(registry, "prod")
    assert (held["version"], held["version_status"]) == ("v2", "revoked")
    assert held["revocation"]["reason"] == "kernel panic on boot"
    assert history(registry, "prod") == [("assign", "v1", "v2"), ("assign", None, "v1")]
    body = served(registry, "prod", status=409)
    assert body["error"] == "Conflict"
    assert "v2" in body["message"] and "kernel panic on boot" in body["message"]
    assert held["revocation"]["revoked_at"] in body["message"]
    # latest moves either way
    assert channel(registry, "latest")["version"] == "v1"
    assert served(registry, "latest")["external_id"] == "ami-aaa111"

    # The copy stays true: restoring makes the channel serve again.
    restore(registry, "v2")
    assert channel(registry, "prod")["version_status"] == "active"
    assert channel(registry, "prod")["revocation"] is None
    assert served(registry, "prod")["external_id"] == "ami-bbb222"
    assert channel(registry, "latest")["version"] == "v2"
    assert history(registry, "latest")[:2] == [("restore", "v1", "v2"), ("revoke", "v2", "v1")]


def test_restore_does_not_put_the_version_back_on_channels(registry):
    publish(registry, "web", "aaa111", "bbb222")
    assign(registry, "prod", "v1")
    assign(registry, "prod", "v2")
    revoke(registry, "v2")
    assert channel(registry, "prod")["version"] == "v1"
    restored = restore(registry, "bbb222")
    assert (restored["status"], restored["revocation"]) == ("active", None)
    assert registry.get("/buckets/web/versions/v2")["status"] == "active"
    assert channel(registry, "prod")["version"] == "v1"
    assert channel(registry, "latest")["version"] == "v2"
    assert registry.get("/buckets/web")["latest_version"] == "v2"
    assert served(registry, "latest")["external_id"] == "ami-bbb222"
    assert len(history(registry, "prod")) == 3

    # Restoring an older version does not move latest off a newer one.
    revoke(registry, "v1")
    restore(registry, "v1")
    assert channel(registry, "latest")["version"] == "v2"
    body = restore(registry, "v1", status=409)
    assert "neither revoked nor scheduled" in body["message"]
    restore(registry, "v7", status=404)
    # A restored version can be assigned again.
    assign(registry, "prod", "v2")
    assert served(registry, "prod")["external_id"] == "ami-bbb222"


def test_revoke_request_is_validated(registry):
    publish(registry, "web", "aaa111")
    path = "/buckets/web/versions/v1/revoke"
    for payload, words in [
        ({}, "reason"),
        ({"reason": ""}, "reason"),
        ({"reason": "x" * 501}, "reason"),
        ({"reason": "x", "revoke_at": "2999-01-01T00:00:00Z", "revoke_in": "1d"}, "not both"),
        ({"reason": "x", "revoke_at": "2999-01-01T00:00:00"}, "time zone"),
        ({"reason": "x", "revoke_at": "tomorrow"}, "ISO 8601"),
        ({"reason": "x", "revoke_at": "9999-12-31T23:59:59-01:00"}, "outside the years 1-9999"),
        ({"reason": "x", "revoke_in": "1w"}, "30d, 2h45m"),
        ({"reason": "x", "revoke_in": "45m2h"}, "30d, 2h45m"),
        ({"reason": "x", "revoke_in": ""}, "30d, 2h45m"),
        ({"reason": "x", "revoke_in": "99999999999d"}, "revoke_in"),
        ({"reason": "x", "disable_rollback_channels": "perhaps"}, "disable_rollback_channels"),
        ({"reason": "x", "when": "now"}, "when"),
    ]:
        body = registry.send("post", path, payload, 400)
        assert body["error"] == "BadRequest" and words in body["message"], (payload, body)
    assert registry.get("/buckets/web/versions/v1")["status"] == "active"
    assert revoke(registry, "v1", reason="x" * 500)["revocation"]["reason"] == "x" * 500


@pytest.mark.parametrize("when", [{"revoke_in": "0s"}, {"revoke_at": "2020-01-01T00:00:00Z"},
                                  {"revoke_at": "2020-01-01T02:00:00+02:00"}])
def test_zero_or_past_times_revoke_now(registry, when):
    publish(registry, "web", "aaa111", "bbb222")
    assert revoke(registry, "v2", **when)["status"] == "revoked"
    assert channel(registry, "latest")["version"] == "v1"
    assert registry.send("post", "/compliance/sweep")["revocations_applied"] == []


# ---- scheduled revocation -----------------------------------------------------------------

def test_scheduled_revocation_applies_once_due_and_not_before(registry, moved_clock):
    publish(registry, "web", "aaa111", "bbb222")
    assign(registry, "prod", "v1")
    assign(registry, "prod", "v2")
    asked = datetime.now(timezone.utc)
    scheduled = revoke(registry, "v2", reason="end of support", revoke_in="2h45m")
    assert scheduled["status"] == "revocation_scheduled"
    due = parse(scheduled["revocation"]["revoke_at"])
    assert timedelta(hours=2, minutes=45) <= due - asked < timedelta(hours=2, minutes=46)
    assert scheduled["revocation"]["revoked_at"] is None

    # Fully usable until then: served, kept on channels, assignable.
    assert channel(registry, "prod")["version_status"] == "revocation_scheduled"
    assert served(registry, "prod")["external_id"] == "ami-bbb222"
    assert served(registry, "latest")["external_id"] == "ami-bbb222"
    assign(registry, "canary", "bbb222")
    assert served(registry, "canary")["external_id"] == "ami-bbb222"

    moved_clock.advance(hours=2, minutes=44)
    schedule_event(registry)
    assert registry.get("/buckets/web/versions/v2")["status"] == "revocation_scheduled"
    assert served(registry, "prod")["external_id"] == "ami-bbb222"

    moved_clock.advance(minutes=2)
    schedule_event(registry)
    version = registry.get("/buckets/web/versions/v2")
    assert version["status"] == "revoked"
    assert (version["revocation"]["reason"], version["revocation"]["revoked_by"]) == ("end of support", "bootstrap-admin")
    assert version["revocation"]["revoke_at"] is None
    assert parse(version["revocation"]["revoked_at"]) >= due
    assert channel(registry, "prod")["version"] == "v1"
    assert channel(registry, "canary")["version"] is None
    assert history(registry, "prod")[0] == ("rollback", "v2", "v1")
    assert channel(registry, "latest")["version"] == "v1"
    assert history(registry, "latest")[0] == ("revoke", "v2", "v1")
    assert served(registry, "prod")["external_id"] == "ami-aaa111"

    # Idempotent: a second sweep finds nothing and changes nothing.
    before = history(registry, "prod"), history(registry, "latest")
    schedule_event(registry)
    assert registry.send("post", "/compliance/sweep")["revocations_applied"] == []
    assert (history(registry, "prod"), history(registry, "latest")) == before


def test_rescheduling_replaces_the_date_and_restore_cancels(registry, moved_clock):
    publish(registry, "web", "aaa111", "bbb222")
    first = revoke(registry, "v2", revoke_in="1h")["revocation"]["revoke_at"]
    later = (moved_clock.now() + timedelta(hours=3)).isoformat()
    second = revoke(registry, "v2", reason="moved", revoke_at=later)
    assert second["status"] == "revocation_scheduled"
    assert parse(second["revocation"]["revoke_at"]) == parse(later) != parse(first)
    assert second["revocation"]["reason"] == "moved"

    moved_clock.advance(hours=2)  # past the first date, before the second
    assert registry.send("post", "/compliance/sweep")["revocations_applied"] == []
    assert registry.get("/buckets/web/versions/v2")["status"] == "revocation_scheduled"
    moved_clock.advance(hours=1, minutes=1)
    assert registry.send("post", "/compliance/sweep")["revocations_applied"] == ["web/v2"]
    assert registry.get("/buckets/web/versions/v2")["revocation"]["reason"] == "moved"

    # Restore cancels a scheduled revocation: nothing happens when its time comes.
    revoke(registry, "v1", revoke_in="30d")
    cancelled = restore(registry, "v1")
    assert (cancelled["status"], cancelled["revocation"]) == ("active", None)
    moved_clock.advance(days=31)
    assert registry.send("post", "/compliance/sweep")["revocations_applied"] == []
    assert registry.get("/buckets/web/versions/v1")["status"] == "active"
    assert channel(registry, "latest")["version"] == "v1"

    # A scheduled version can be revoked now, and the schedule is gone with it.
    revoke(registry, "v1", revoke_in="1h")
    revoke(registry, "v1")
    assert channel(registry, "latest")["version"] is None
    moved_clock.advance(hours=2)
    assert registry.send("post", "/compliance/sweep")["revocations_applied"] == []


def test_scheduled_revocation_uses_the_flags_given_when_scheduled(registry, moved_clock):
    publish(registry, "web", "aaa111", "bbb222")
    assign(registry, "prod", "v1")
    assign(registry, "prod", "v2")
    revoke(registry, "v2", reason="later", revoke_in="1d", disable_rollback_channels=True,
           skip_descendants_revocation=True)
    moved_clock.advance(days=1, seconds=1)
    result = registry.send("post", "/compliance/sweep")
    assert result["revocations_applied"] == ["web/v2"]
    assert result["started_at"] <= result["finished_at"]
    revocation = registry.get("/buckets/web/versions/v2")["revocation"]
    assert revocation["disable_rollback_channels"] is True and revocation["skip_descendants_revocation"] is True
    assert channel(registry, "prod")["version"] == "v2"
    body = served(registry, "prod", status=409)
    assert "later" in body["message"] and revocation["revoked_at"] in body["message"]
    assert channel(registry, "latest")["version"] == "v1"


def test_sweep_applies_every_due_revocation_through_the_index_without_scan(registry, moved_clock, monkeypatch):
    publish(registry, "web", "a1", "a2", "a3")
    publish(registry, "api", "b1")
    for version in ("v1", "v2", "v3"):
        revoke(registry, version, revoke_in="1h")
    revoke(registry, "v1", bucket="api", revoke_in="1h")
    revoke(registry, "v1", bucket="api", revoke_in="5h")  # rescheduled: not due yet
    # Small pages, so the sweep must follow them all.
    monkeypatch.setattr(lifecycle, "apply_due", functools.partial(lifecycle.apply_due, page_size=1))
    calls = []

    def count(event_name, params, **kwargs):
        calls.append((event_name.split(".")[-1], params.get("IndexName")))

    clients = [c for key, c in aws._clients.items() if key[0] == "dynamodb"]
    for c in clients:
        c.meta.events.register("before-parameter-build.dynamodb.*", count)
    moved_clock.advance(hours=1, seconds=1)
    try:
        applied = registry.send("post", "/compliance/sweep")["revocations_applied"]
    finally:
        for c in clients:
            c.meta.events.unregister("before-parameter-build.dynamodb.*", count)
    assert sorted(applied) == ["web/v1", "web/v2", "web/v3"]
    assert ("Query", "GSI2") in calls
    assert not [c for c in calls if c[0] == "Scan"]
    assert [v["status"] for v in registry.get("/buckets/web/versions")["items"]] == ["revoked"] * 3
    assert registry.get("/buckets/api/versions/v1")["status"] == "revocation_scheduled"
    assert channel(registry, "latest")["version"] is None
    assert channel(registry, "latest", bucket="api")["version"] == "v1"

    moved_clock.advance(hours=4)
    schedule_event(registry)
    assert registry.get("/buckets/api/versions/v1")["status"] == "revoked"


def test_deleting_a_scheduled_version_drops_its_schedule(registry, moved_clock):
    publish(registry, "web", "aaa111", "bbb222")
    revoke(registry, "v1", revoke_in="1h")
    registry.send("delete", "/buckets/web/versions/v1")
    moved_clock.advance(hours=2)
    assert registry.send("post", "/compliance/sweep")["revocations_applied"] == []
    assert channel(registry, "latest")["version"] == "v2"


def test_revoke_and_restore_requests_never_read_the_pending_markers(registry):
    """Issue 11, item 4: the request gets its cascade's marker back from its own write."""
    registry.upload("base/m.json", manifest({"packer_run_uuid": "b1", "artifact_id": "us-east-1:ami-0b0b0b0b0b0b0b0b1"}))
    registry.upload("kid/m.json", manifest({"packer_run_uuid": "k1", "custom_data": {
        "bucket_name": "kid", "source_ami": "ami-0b0b0b0b0b0b0b0b1"}}))
    queried: list[str] = []

    def record(params, **_):
        queried.append(params.get("KeyConditionExpression", "") + str(params.get("ExpressionAttributeValues")))

    aws.client("dynamodb").meta.events.register("provide-client-params.dynamodb.Query", record)
    registry.send("post", "/buckets/base/versions/v1/revoke", {"reason": "bad"})
    assert registry.get("/buckets/kid/versions/v1")["status"] == "revoked"  # the cascade ran in the request
    registry.send("post", "/buckets/base/versions/v1/restore")
    assert registry.get("/buckets/kid/versions/v1")["status"] == "active"
    assert queried and not [q for q in queried if "SWEEP#PENDING" in q]
