"""The sweep skips the sparse indexes the counts item says are empty (issue 15), and never
misses work created after it did (domain/sweep_work.py).

Each test first lets sweeps find an index empty and record that, with the clock moved past
the settling minute, then creates work of that kind through the API and checks the next
sweep does it: a scheduled revocation, a bulk revocation job, a retention policy, a channel
left on a revoked version. Without the note the change writes, the sweep would skip the
index and each of them would fail.
"""

from __future__ import annotations

from chalicelib import storage
from chalicelib.runtime import aws
from chalicelib.services import revocations
from support import count_calls, manifest, sweep


def publish(registry, count: int, bucket: str = "w") -> None:
    registry.upload(f"{bucket}/m.json", manifest(*(
        {"packer_run_uuid": f"{bucket}-{i}", "artifact_id": f"us-east-1:ami-{i:017x}",
         "custom_data": {"fingerprint": f"{bucket}-{i}", "team": "core"}} for i in range(count))))


def settle(registry, moved_clock) -> dict:
    """Sweeps until the counts item marks every kind of work idle; the counts item then."""
    sweep(registry)
    moved_clock.advance(minutes=2)  # past the settling minute of any note written so far
    sweep(registry)
    counts = storage.sweep.counts()
    assert counts.idle() == counts.noted(), (counts.idle(), counts.noted())
    return counts


def statuses(registry, bucket: str = "w") -> dict[str, str]:
    return {v["name"]: v["status"] for v in registry.all_pages(f"/buckets/{bucket}/versions")}


def test_a_quiet_registry_sweeps_with_three_calls_and_reports_with_two(registry, moved_clock):
    publish(registry, 2)
    settle(registry, moved_clock)
    calls = count_calls(aws.client("dynamodb"))
    sweep(registry)
    # the counts item, the markers (none) and the report; no sparse index read
    assert list(calls) == ["GetItem", "Query", "PutItem"], list(calls)
    calls.clear()
    report = registry.get("/compliance/report")
    assert (report["channels_serving_revoked"], report["upcoming_revocations"]) == ([], [])
    assert list(calls) == ["BatchGetItem", "Query"], list(calls)  # the report and counts; the flagged page


def test_a_revocation_scheduled_after_idle_sweeps_is_listed_then_applied(registry, moved_clock):
    publish(registry, 2)
    settle(registry, moved_clock)
    registry.send("post", "/buckets/w/versions/v1/revoke", {"reason": "eol", "revoke_in": "1h"})
    sweep(registry)
    upcoming = registry.get("/compliance/report")["last_sweep"]["upcoming_revocations"]
    assert [(u["bucket"], u["version"]) for u in upcoming] == [("w", "v1")]
    moved_clock.advance(hours=2)
    sweep(registry)
    assert statuses(registry) == {"v1": "revoked", "v2": "active"}
    assert registry.get("/compliance/report")["last_sweep"]["revocations_applied"] == ["w/v1"]


def test_a_bulk_revocation_job_created_after_idle_sweeps_is_applied_by_the_next(registry, moved_clock, monkeypatch):
    publish(registry, 3)
    settle(registry, moved_clock)
    monkeypatch.setattr(revocations, "INLINE_BATCHES", 0)  # the request leaves every batch to the sweep
    job = registry.send("post", "/buckets/w/revocations", {"reason": "bulk", "filter": {"labels": {"team": "core"}}},
                        202)
    assert registry.get(f"/revocations/{job['id']}")["status"] == "pending"
    sweep(registry)
    assert registry.get(f"/revocations/{job['id']}")["status"] == "done"
    assert set(statuses(registry).values()) == {"revoked"}


def test_a_retention_policy_set_after_idle_sweeps_is_applied_by_the_next(registry, moved_clock):
    publish(registry, 3)
    settle(registry, moved_clock)
    registry.send("put", "/buckets/w/retention", {"keep_newest": 1, "action": "revoke"})
    sweep(registry)
    assert statuses(registry) == {"v1": "revoked", "v2": "revoked", "v3": "active"}


def test_a_channel_left_on_a_revoked_version_after_idle_sweeps_is_reported(registry, moved_clock):
    publish(registry, 2)
    registry.send("post", "/buckets/w/channels", {"name": "prod", "version": "v1"}, 201)
    settle(registry, moved_clock)
    registry.send("post", "/buckets/w/versions/v1/revoke", {"reason": "cve", "disable_rollback_channels": True})
    for answer in (registry.send("post", "/compliance/sweep"), registry.get("/compliance/report")):
        assert [(c["bucket"], c["channel"]) for c in answer["channels_serving_revoked"]] == [("w", "prod")]
    registry.send("patch", "/buckets/w/channels/prod", {"version": "v2"})
    sweep(registry)  # the channel is off the index: the read finds nothing and marks it idle again
    assert registry.get("/compliance/report")["channels_serving_revoked"] == []


def test_revocations_scheduled_while_sweeps_run_are_all_applied(moto_server, moved_clock, monkeypatch):
    """Threads against a moto server: revocations scheduled while sweeps mark indexes idle.
    With no settling time (moto's index is never behind), a sweep that read the counts before
    a scheduling and the index after it, or the other way round, must not leave it unseen: once
    the time has come, the first sweep applies every one of them."""
    import json

    from chalicelib.domain import sweep_work
    from chalicelib.domain.manifest import parse_manifest
    from chalicelib.domain.models import RevokeRequest
    from chalicelib.services import compliance, lifecycle
    from chalicelib.services.recording import record_run
    from support import race

    monkeypatch.setattr(sweep_work, "SETTLE_SECONDS", 0)
    trials, per_trial = 6, 3
    for trial in range(trials):
        bucket = f"race{trial}"
        doc = manifest(*({"packer_run_uuid": f"{bucket}-{n}", "artifact_id": f"us-east-1:ami-{n:017x}",
                          "custom_data": {"bucket_name": bucket}} for n in range(per_trial)))
        for run in parse_manifest(json.dumps(doc).encode(), f"{bucket}/m.json").runs:
            record_run(run, actor="test")
        compliance.sweep()  # the index found empty and marked idle
        schedule = [lambda n=n: lifecycle.revoke(bucket, f"v{n}", RevokeRequest(reason="eol", revoke_in="1h"), "test")
                    for n in range(1, per_trial + 1)]
        assert race(*schedule, compliance.sweep, compliance.sweep) == []
        moved_clock.advance(hours=2)
        compliance.sweep()
        left = [v.name for v in lifecycle.versions.list_versions(bucket, 100, None)[0] if v.status != "revoked"]
        assert left == [], f"trial {trial}: {left} not revoked by the first sweep after they were due"


def test_an_idle_mark_lost_to_a_conflict_leaves_the_sweep_whole_and_is_written_next_run(registry, moved_clock):
    from chalicelib.domain.enums import SweepWork
    from support import Faults

    publish(registry, 1)
    settle(registry, moved_clock)
    registry.send("put", "/buckets/w/retention", {"keep_newest": 5, "action": "revoke"})
    registry.send("delete", "/buckets/w/retention")  # noted, and the index empty again
    moved_clock.advance(minutes=2)
    faults = Faults()
    clash = {"Code": "TransactionConflictException", "Message": "a transaction is writing the item"}
    faults.fail("UpdateItem", *[dict(clash) for _ in range(10)])  # the mark's UpdateItem (botocore may retry)
    before = registry.get("/compliance/report")["last_sweep"]["finished_at"]
    sweep(registry)
    assert registry.get("/compliance/report")["last_sweep"]["finished_at"] > before  # the run saved its report
    counts = storage.sweep.counts()
    assert counts.idle()[SweepWork.RETENTION] != counts.noted()[SweepWork.RETENTION]  # the mark was lost
    faults.plan.clear()
    settle(registry, moved_clock)  # written by the next run
