"""What the sweep costs in DynamoDB calls (issue 15): after one channel move, and to finish a
revocation cascade a request started, without reading any descendant twice."""

from chalicelib.runtime import aws
from chalicelib.services import lifecycle
from chalicelib.storage import versions as stored_versions
from support import count_calls, manifest, sweep


def run(n, **custom):
    return manifest({"packer_run_uuid": f"run-{n}", "artifact_id": f"us-east-1:ami-{n:017x}", "custom_data": custom})


def sweep_until_quiet(registry):
    while registry.send("post", "/compliance/sweep")["more_pending"]:
        pass


def test_a_sweep_after_one_channel_move_costs_a_few_calls_and_leaves_no_marker_for_childless_children(registry):
    for n in (1, 2):
        registry.upload("app/m.json", run(n))
    registry.send("post", "/buckets/app/channels", {"name": "production", "version": "v1"}, 201)
    for n in (11, 12, 13):
        registry.upload("svc/m.json", run(n, parent_bucket="app", parent_channel="production"))
    sweep_until_quiet(registry)
    registry.send("patch", "/buckets/app/channels/production", {"version": "v2"})

    calls = count_calls(aws.client("dynamodb"))
    sweep(registry)
    made = list(calls)

    report = registry.get("/compliance/report")["last_sweep"]
    assert [c["to"] for c in report["ancestry_changes"]] == ["out_of_date"] * 3
    assert report["markers_processed"] == 1  # the move's; the children have none of their own
    # counts 1, markers 1, child edges of v1 and v2 2, the children and their links 2, the 3
    # re-checks and the marker's delete in one transaction 1, the report 1 (34, then 18
    # before). Not read: the sparse indexes the counts item says are empty (due and upcoming
    # revocations, bulk jobs, retention policies, channels serving a revoked version), nor
    # app's channels for drift (a move's copy is written from the version it claims).
    assert sorted(made) == sorted(["GetItem", "Query", "Query", "Query", "BatchGetItem", "BatchGetItem",
                                   "TransactWriteItems", "PutItem"]), " ".join(made)


def test_the_sweep_goes_on_where_the_request_stopped_and_reads_no_descendant_twice(registry, monkeypatch):
    registry.upload("base/m.json", run(1))
    for n in range(5):
        registry.upload(f"kid{n}/m.json", run(10 + n, parent_bucket="base", parent_version="v1"))
    for n in range(5):  # a grandchild under each kid
        registry.upload(f"grandkid{n}/m.json", run(20 + n, parent_bucket=f"kid{n}", parent_version="v1"))
    sweep_until_quiet(registry)
    monkeypatch.setattr(lifecycle, "INLINE_CASCADE", 4)
    reads: list[tuple[str, int]] = []
    for name in ("version", "versions", "with_builds"):
        original = getattr(stored_versions, name)

        def spy(*args, _original=original, _name=name, **kwargs):
            reads.extend(args[0] if _name == "versions" else [tuple(args[:2])])
            return _original(*args, **kwargs)
        monkeypatch.setattr(stored_versions, name, spy)

    registry.send("post", "/buckets/base/versions/v1/revoke", {"reason": "bad"})
    assert registry.get("/buckets/base/versions/v1")["revocation"]["cascade_pending"] is True
    sweep(registry)

    descendants = [(f"kid{n}", 1) for n in range(5)] + [(f"grandkid{n}", 1) for n in range(5)]
    assert {ref: reads.count(ref) for ref in descendants} == dict.fromkeys(descendants, 1)
    for bucket, _ in descendants:
        assert registry.get(f"/buckets/{bucket}/versions/v1")["status"] == "revoked"
    assert registry.get("/buckets/base/versions/v1")["revocation"]["cascade_pending"] is False


def test_looking_for_untracked_sources_costs_two_calls_a_sweep_while_any_is_in_its_window(registry, monkeypatch):
    from datetime import datetime, timedelta, timezone

    from chalicelib.runtime import clock

    def at(offset: timedelta) -> None:
        monkeypatch.setattr(clock, "now", lambda: datetime.now(timezone.utc) + offset)

    def swept() -> list[str]:
        calls = count_calls(aws.client("dynamodb"))
        sweep(registry)
        return sorted(calls)

    for n in (1, 2, 3):  # three images from sources the registry does not hold (yet)
        registry.upload(f"kid{n}/m.json", run(n, source_ami=f"ami-{100 + n:017x}"))
    at(timedelta(minutes=2))  # the notes have settled: the empty indexes are marked idle
    sweep(registry)
    # counts 1, markers 1, the waiting versions 1, their sources' newest producers 1, the report 1
    assert swept() == sorted(["GetItem", "Query", "Query", "BatchGetItem", "PutItem"])
    registry.upload("base/m.json", run(101))  # kid1's parent arrives (its `latest` move leaves a marker)
    # the same, the marker (its edges, its delete) and for kid1: the version, its source's index
    # entries, the parent, what its link names, the transaction linking them
    assert swept() == sorted(["GetItem", "Query", "Query", "BatchGetItem", "PutItem", "Query", "DeleteItem",
                              "GetItem", "Query", "GetItem", "BatchGetItem", "TransactWriteItems"])
    assert [p["bucket"] for p in registry.get("/buckets/kid1/versions/v1")["parents"]] == ["base"]
    at(timedelta(days=8))  # the window is over: no longer looked for (one batch delete)
    assert swept() == sorted(["GetItem", "Query", "Query", "BatchWriteItem", "PutItem"])
    assert swept() == sorted(["GetItem", "Query", "Query", "UpdateItem", "PutItem"])  # found none: idle
    assert swept() == sorted(["GetItem", "Query", "PutItem"])  # quiet again: 3 calls
