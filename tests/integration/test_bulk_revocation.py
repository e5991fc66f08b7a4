"""Bulk revocation (`POST /buckets/{b}/revocations`, `POST /revocations`, `GET /revocations/{id}`):
selection by each criterion, dry runs that write nothing, jobs applied by the sweep in batches,
and each version revoked exactly as a single revoke would (audit event, channels, cascade)."""

from __future__ import annotations

import boto3
import pytest

from chalicelib.services import revocations
from support import TABLE, build_chain, manifest, mint, sweep

FAR_FUTURE = "2100-01-01T00:00:00Z"


def publish(registry, bucket: str, count: int, start: int = 0, **labels: str) -> None:
    """`count` versions in one manifest (one run each); build labels `labels`, AMI `ami-<bucket index>`."""
    builds = [{"packer_run_uuid": f"{bucket}-run-{i:04d}", "artifact_id": f"us-east-1:{ami(bucket, i)}",
               "custom_data": {"fingerprint": f"{bucket}-{i:04d}", **labels}} for i in range(start, start + count)]
    registry.upload(f"{bucket}/m-{start}.json", manifest(*builds))


def ami(bucket: str, index: int) -> str:
    return f"ami-{sum(map(ord, bucket)):07x}{index:010x}"


def bulk(registry, body: dict, bucket: str | None = "web", status: int = 202, **fields) -> dict:
    path = f"/buckets/{bucket}/revocations" if bucket else "/revocations"
    return registry.send("post", path, {"reason": "bulk", **body, **fields}, status)


def preview(registry, criteria: dict, bucket: str | None = "web", **fields) -> list[tuple[str, str, str]]:
    answer = bulk(registry, {"filter": criteria, "dry_run": True}, bucket, 200, **fields)
    return [(v["bucket"], v["version"], v["action"]) for v in answer["versions"]]


def progress(registry, job: dict) -> dict:
    return registry.get(f"/revocations/{job['id']}")


def statuses(registry, bucket: str) -> dict[str, str]:
    return {v["name"]: v["status"] for v in registry.all_pages(f"/buckets/{bucket}/versions", limit=100)}


def table_items() -> list[dict]:
    """The whole table (a test may Scan; the registry never does)."""
    pages = boto3.client("dynamodb").get_paginator("scan").paginate(TableName=TABLE)
    return sorted((item for page in pages for item in page["Items"]), key=lambda i: (i["PK"]["S"], i["SK"]["S"]))


@pytest.mark.timeout(900)  # 200 versions on moto in-process (patched, conftest): about 30 s, minutes on a loaded machine
def test_two_hundred_versions_are_revoked_over_several_sweeps_with_progress(registry, monkeypatch):
    monkeypatch.setattr(revocations, "BATCH_SIZE", 40)
    monkeypatch.setattr(revocations, "BATCHES_PER_RUN", 1)
    for start in range(0, 200, 50):
        publish(registry, "fleet", 50, start)
    publish(registry, "fleet", 1, 200)  # v201, newer than the filter's date: `latest` stays on it
    cutoff = registry.get("/buckets/fleet/versions/v201")["created_at"]
    job = bulk(registry, {"filter": {"created_before": cutoff}}, "fleet")
    assert (job["status"], job["counts"]["revoked"], job["batches"]) == ("running", 20, 1)  # the request's batch
    seen, sweeps = [job["counts"]["revoked"]], 0
    while progress(registry, job)["status"] != "done":
        sweep(registry)
        sweeps += 1
        now = progress(registry, job)
        assert now["counts"]["revoked"] == min(200, seen[-1] + 40), seen  # one batch per sweep, none twice
        seen.append(now["counts"]["revoked"])
        assert sweeps <= 5
    done = progress(registry, job)
    assert sweeps >= 4
    assert done["counts"] == {"matched": 200, "revoked": 200, "scheduled": 0, "failed": 0,
                              "skipped": {"already_revoked": 0, "running": 0, "not_found": 0}}
    assert done["selection_finished"] and done["finished_at"]
    assert statuses(registry, "fleet") == {**{f"v{n}": "revoked" for n in range(1, 201)}, "v201": "active"}
    events = registry.all_pages("/buckets/fleet/events", limit=100)
    revoked = [e for e in events if e["action"] == "version.revoked"]
    assert len(revoked) == 200 and {e["actor"] for e in revoked} == {"bootstrap-admin"}
    assert len({e["target"] for e in revoked}) == 200
    assert [e["action"] for e in events if e["action"].startswith("revocation_job.")] == [
        "revocation_job.finished", "revocation_job.created"]
    assert registry.get("/buckets/fleet/channels/latest")["version"] == "v201"


def test_a_dry_run_answers_versions_and_descendants_and_writes_nothing(registry):
    build_chain(registry)  # base v1..v8; child v1 built on base v1; grandchild v1 on child v1
    first = registry.get("/buckets/base/versions/v1")["builds"][0]["artifacts"][0]["external_id"]
    before = table_items()
    answer = bulk(registry, {"filter": {"external_ids": [first]}, "dry_run": True}, "base", 200)
    assert table_items() == before
    assert answer["dry_run"] is True and answer["truncated"] is False
    assert answer["descendants"] == [
        {"bucket": "child", "version": "v1", "status": "active", "inherited_from": "base/v1"},
        {"bucket": "grandchild", "version": "v1", "status": "active", "inherited_from": "base/v1"}]
    assert preview(registry, {"created_before": FAR_FUTURE}, "base") == [("base", f"v{n}", "revoke")
                                                                         for n in range(1, 9)]
    spared = bulk(registry, {"filter": {"created_before": FAR_FUTURE}, "dry_run": True}, "base", 200,
                  skip_descendants_revocation=True)
    assert spared["descendants"] == []
    assert table_items() == before


def test_a_dry_run_says_when_it_is_truncated(registry, monkeypatch):
    monkeypatch.setattr(revocations, "PREVIEW_LIMIT", 3)
    publish(registry, "web", 5)
    answer = bulk(registry, {"filter": {"created_before": FAR_FUTURE}, "dry_run": True}, "web", 200)
    assert [v["version"] for v in answer["versions"]] == ["v1", "v2", "v3"] and answer["truncated"] is True


def test_each_criterion_selects_its_versions(registry):
    publish(registry, "web", 2, 0, os="debian", tier="gold")
    publish(registry, "web", 2, 2, os="ubuntu", tier="gold")
    publish(registry, "web", 1, 4, os="debian", tier="silver")
    publish(registry, "api", 1, 0, os="debian", tier="gold")
    third = registry.get("/buckets/web/versions/v3")["created_at"]

    assert preview(registry, {"labels": {"os": "debian"}}) == [("web", "v1", "revoke"), ("web", "v2", "revoke"),
                                                               ("web", "v5", "revoke")]
    assert preview(registry, {"labels": {"os": "debian", "tier": "gold"}}) == [("web", "v1", "revoke"),
                                                                               ("web", "v2", "revoke")]
    assert preview(registry, {"created_before": third}) == [("web", "v1", "revoke"), ("web", "v2", "revoke")]
    assert preview(registry, {"created_before": third, "labels": {"tier": "gold"}}) == [
        ("web", "v1", "revoke"), ("web", "v2", "revoke")]
    assert preview(registry, {"external_ids": [ami("web", 3), ami("api", 0), "ami-unknown"]}) == [
        ("web", "v4", "revoke")]  # api's is another bucket's
    # across buckets: every bucket, or those listed
    assert preview(registry, {"labels": {"os": "debian", "tier": "gold"}}, None) == [
        ("api", "v1", "revoke"), ("web", "v1", "revoke"), ("web", "v2", "revoke")]
    assert preview(registry, {"external_ids": [ami("web", 3), ami("api", 0)]}, None, buckets=["api"]) == [
        ("api", "v1", "revoke")]

    job = bulk(registry, {"filter": {"labels": {"os": "debian", "tier": "gold"}}})  # what it applies is the same
    assert (job["status"], job["counts"]["matched"], job["counts"]["revoked"]) == ("done", 2, 2)
    assert statuses(registry, "web") == {"v1": "revoked", "v2": "revoked", "v3": "active", "v4": "active",
                                         "v5": "active"}
    assert statuses(registry, "api") == {"v1": "active"}


def test_the_parent_criterion_selects_the_versions_built_on_it(registry):
    build_chain(registry)
    registry.upload("child/m2.json", manifest({"name": "app", "packer_run_uuid": "child-run-2",
                                               "artifact_id": "us-east-1:ami-0c0c0c0c0c0c0c0c2",
                                               "custom_data": {"bucket_name": "child", "parent_bucket": "base",
                                                               "parent_version": "v2"}}))
    assert preview(registry, {"parent": {"bucket": "base", "version": "v1"}}, None) == [("child", "v1", "revoke")]
    assert preview(registry, {"parent": {"bucket": "base", "version": "v2"}}, "child") == [("child", "v2", "revoke")]
    assert preview(registry, {"parent": {"bucket": "base", "version": "v2"}}, "grandchild") == []
    assert preview(registry, {"parent": {"bucket": "child", "version": "v1"}}, None) == [
        ("grandchild", "v1", "revoke")]
    registry.send("post", "/buckets/base/revocations",
                  {"reason": "r", "filter": {"parent": {"bucket": "base", "version": "v99"}}}, 404)


def test_descendants_inherit_the_revocation_unless_skipped(registry):
    build_chain(registry)
    job = bulk(registry, {"filter": {"created_before": FAR_FUTURE}}, "base")
    assert (job["status"], job["counts"]["revoked"]) == ("done", 8)
    child = registry.get("/buckets/child/versions/v1")
    assert child["status"] == "revoked"
    assert (child["revocation"]["revocation_type"], child["revocation"]["inherited_from"]) == ("inherited", "base/v1")
    assert registry.get("/buckets/grandchild/versions/v1")["status"] == "revoked"


def test_skipping_descendants_leaves_them_active(registry):
    build_chain(registry)
    bulk(registry, {"filter": {"created_before": FAR_FUTURE}, "skip_descendants_revocation": True}, "base")
    sweep(registry)
    assert registry.get("/buckets/base/versions/v1")["status"] == "revoked"
    child = registry.get("/buckets/child/versions/v1")
    assert (child["status"], child["ancestry_status"]) == ("active", "parent_revoked")


def test_a_job_the_sweep_applies_cascades_in_the_same_sweep(registry, monkeypatch):
    monkeypatch.setattr(revocations, "INLINE_BATCHES", 0)  # all of it in the sweep
    build_chain(registry)
    job = bulk(registry, {"filter": {"created_before": FAR_FUTURE}}, "base")
    assert (job["status"], job["counts"]["revoked"]) == ("pending", 0)
    assert registry.get("/buckets/base/versions/v1")["status"] == "active"
    sweep(registry)
    assert progress(registry, job)["status"] == "done"
    assert registry.get("/buckets/grandchild/versions/v1")["revocation"]["inherited_from"] == "base/v1"


def test_a_channel_on_a_revoked_version_rolls_back(registry):
    publish(registry, "web", 1, 0, bad="no")
    publish(registry, "web", 1, 1, bad="yes")
    registry.send("post", "/buckets/web/channels", {"name": "production", "version": "v1"}, 201)
    registry.send("patch", "/buckets/web/channels/production", {"version": "v2"})
    bulk(registry, {"filter": {"labels": {"bad": "yes"}}})
    assert registry.get("/buckets/web/channels/production")["version"] == "v1"
    history = registry.get("/buckets/web/channels/production/history")["items"]
    assert (history[0]["cause"], history[0]["from_version"], history[0]["to_version"]) == ("rollback", "v2", "v1")
    assert registry.get("/buckets/web/channels/latest")["version"] == "v1"


def test_kept_channels_serve_nothing_with_disable_rollback_channels(registry):
    publish(registry, "web", 2)
    registry.send("post", "/buckets/web/channels", {"name": "production", "version": "v2"}, 201)
    bulk(registry, {"filter": {"external_ids": [ami("web", 1)]}, "disable_rollback_channels": True})
    assert registry.get("/buckets/web/channels/production")["version"] == "v2"
    registry.get("/buckets/web/channels/production/artifact?platform=aws&region=us-east-1", status=409)


def test_a_future_revoke_in_schedules_every_version(registry):
    publish(registry, "web", 3)
    job = bulk(registry, {"filter": {"created_before": FAR_FUTURE}, "revoke_in": "7d"})
    assert job["counts"]["scheduled"] == 3 and job["revoke_at"]
    assert set(statuses(registry, "web").values()) == {"revocation_scheduled"}
    at = {registry.get(f"/buckets/web/versions/v{n}")["revocation"]["revoke_at"] for n in (1, 2, 3)}
    assert at == {job["revoke_at"]}  # one moment for the whole job, however late a batch runs


def test_versions_already_revoked_are_skipped_even_when_revoked_meanwhile(registry, monkeypatch):
    monkeypatch.setattr(revocations, "INLINE_BATCHES", 0)
    publish(registry, "web", 4)
    registry.send("post", "/buckets/web/versions/v1/revoke", {"reason": "before"})
    job = bulk(registry, {"filter": {"created_before": FAR_FUTURE}})
    registry.send("post", "/buckets/web/versions/v3/revoke", {"reason": "meanwhile"})  # before the sweep applies it
    sweep(registry)
    counts = progress(registry, job)["counts"]
    assert counts == {"matched": 4, "revoked": 2, "scheduled": 0, "failed": 0,
                      "skipped": {"already_revoked": 2, "running": 0, "not_found": 0}}
    assert registry.get("/buckets/web/versions/v3")["revocation"]["reason"] == "meanwhile"


def test_versions_still_being_published_through_the_hcp_api_are_skipped_as_running(registry):
    from support import Hcp

    publish(registry, "web", 1)
    Hcp(registry).ok("POST", "buckets/web/versions", {"fingerprint": "draft-1"})  # a draft: running, no number
    assert preview(registry, {"created_before": FAR_FUTURE}) == [("web", "v1", "revoke"), ("web", "v0", "skip")]
    job = bulk(registry, {"filter": {"created_before": FAR_FUTURE}})
    assert (job["counts"]["revoked"], job["counts"]["skipped"]["running"]) == (1, 1)
    assert registry.get("/buckets/web/versions/draft-1")["status"] == "running"


def test_a_concurrent_single_revoke_does_not_fail_the_job(registry, monkeypatch):
    """The single revoke wins between the job's read and its write: the job counts it as already revoked."""
    from chalicelib.services import lifecycle

    publish(registry, "web", 2)
    real = lifecycle.revoke_number

    def raced(bucket, number, *args, **kwargs):
        if number == 2:
            real(bucket, number, lifecycle.RevokeRequest(reason="raced"), None, "someone")
        return real(bucket, number, *args, **kwargs)
    monkeypatch.setattr(lifecycle, "revoke_number", raced)
    job = bulk(registry, {"filter": {"created_before": FAR_FUTURE}})
    assert (job["counts"]["revoked"], job["counts"]["skipped"]["already_revoked"], job["counts"]["failed"]) == (1, 1, 0)
    assert registry.get("/buckets/web/versions/v2")["revocation"]["reason"] == "raced"


def test_a_claimed_batch_is_applied_once_and_again_only_when_abandoned(registry, monkeypatch, moved_clock):
    from chalicelib import storage
    from chalicelib.runtime.clock import now_iso

    monkeypatch.setattr(revocations, "INLINE_BATCHES", 0)
    publish(registry, "web", 2)
    job = bulk(registry, {"filter": {"created_before": FAR_FUTURE}})
    read = storage.revocations.job(job["id"])
    assert storage.revocations.claim(read, None, None, True, "running", now_iso())  # a run that dies now
    assert storage.revocations.claim(read, None, None, True, "running", now_iso()) is None  # the same read: refused
    sweep(registry)  # the claim is fresh: no sweep applies that batch
    assert (progress(registry, job)["status"], progress(registry, job)["counts"]["revoked"]) == ("running", 0)
    assert set(statuses(registry, "web").values()) == {"active"}
    moved_clock.advance(minutes=16)  # longer than a Lambda runs: abandoned
    sweep(registry)
    assert (progress(registry, job)["status"], progress(registry, job)["counts"]["revoked"]) == ("done", 2)


@pytest.mark.parametrize("body, problem", [
    ({"filter": {}}, "filter must name at least one of created_before, labels, parent, external_ids"),
    ({"filter": {"labels": {}, "external_ids": []}}, "filter must name at least one"),
    ({}, "filter: Field required"),
    ({"filter": {"created_before": "yesterday"}}, "filter.created_before must be an ISO 8601 time"),
    ({"filter": {"created_before": "2026-01-01T00:00:00"}}, "filter.created_before needs a time zone"),
    ({"filter": {"labels": {"a": "b"}}, "revoke_in": "soon"}, "revoke_in must look like"),
    ({"filter": {"labels": {"a": "b"}}, "buckets": ["web"]}, "buckets: Extra inputs are not permitted"),
    ({"filter": {"external_ids": ["x"] * 101}}, "at most 100 external_ids"),
])
def test_bad_requests_are_refused_naming_the_problem(registry, body, problem):
    publish(registry, "web", 1)
    answer = registry.send("post", "/buckets/web/revocations", {"reason": "r", **body}, 400)
    assert answer["error"] == "BadRequest" and problem in answer["message"]
    assert not any(e["action"].startswith("revocation_job") for e in registry.get("/buckets/web/events")["items"])


def test_who_may_start_and_read_a_job(registry):
    publish(registry, "web", 1)
    viewer, contributor = mint(registry, "viewer"), mint(registry, "contributor")
    body = {"reason": "r", "filter": {"created_before": FAR_FUTURE}, "dry_run": True}
    registry.as_token(viewer).send("post", "/buckets/web/revocations", body, 403)
    registry.as_token(contributor).send("post", "/buckets/web/revocations", body, 200)
    registry.as_token(contributor).send("post", "/revocations", body, 403)
    registry.send("post", "/buckets/nope/revocations", body, 404)
    in_bucket = bulk(registry, {"filter": {"created_before": FAR_FUTURE}})
    across = bulk(registry, {"filter": {"created_before": FAR_FUTURE}}, None)
    assert registry.as_token(viewer).get(f"/revocations/{in_bucket['id']}")["status"] == "done"
    registry.as_token(viewer).get(f"/revocations/{across['id']}", status=404)
    assert registry.get(f"/revocations/{across['id']}")["bucket"] is None
    registry.get("/revocations/01JZZZZZZZZZZZZZZZZZZZZZZZ", status=404)
    registry.get("/revocations/not-an-id", status=404)


def test_concurrent_sweeps_apply_each_batch_once(moto_server, monkeypatch):
    """Sweeps racing on one job (threads against a moto server, released together): every
    version is revoked once, counted once, with one audit event; no batch is applied twice
    (a second application would count its versions again, as already revoked)."""
    import json

    from chalicelib import storage
    from chalicelib.domain.manifest import parse_manifest
    from chalicelib.domain.models import BucketRevocationRequest
    from chalicelib.services.recording import record_run
    from support import race

    monkeypatch.setattr(revocations, "INLINE_BATCHES", 0)
    monkeypatch.setattr(revocations, "BATCH_SIZE", 3)
    monkeypatch.setattr(revocations, "BATCHES_PER_RUN", 100)
    for trial in range(4):
        bucket = f"race{trial}"
        document = manifest(*({"packer_run_uuid": f"{bucket}-r{n}", "artifact_id": f"us-east-1:{ami(bucket, n)}",
                               "custom_data": {"bucket_name": bucket}} for n in range(12)))
        for run in parse_manifest(json.dumps(document).encode(), f"{bucket}/m.json").runs:
            record_run(run, actor="test")
        request = BucketRevocationRequest.model_validate({"reason": "race", "filter": {"created_before": FAR_FUTURE}})
        job, _ = revocations.start_in_bucket(bucket, request, "racer")
        assert race(*(revocations.advance for _ in range(4))) == []
        for _ in range(10):  # what the racers left (each stops where another holds a batch)
            revocations.advance()
        done = revocations.get_job(job.id, True)
        assert done.status == "done", trial
        assert (done.counts.matched, done.counts.revoked, done.counts.skipped.already_revoked,
                done.counts.failed) == (12, 12, 0, 0), trial
        events, _ = storage.events.events_page(bucket, None, 100)
        assert sum(e.action == "version.revoked" for e in events) == 12, trial
