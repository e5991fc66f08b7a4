"""The report's counts are kept by the changes themselves: they always agree with the flagged
versions listed and the versions with unresolved parents, and the report reads them with one
GetItem (no Query of the flagged or unresolved partitions beyond its one page)."""

from __future__ import annotations

import contextlib
from collections import Counter
from typing import Any, Iterator

import boto3

from chalicelib.runtime import aws
from support import TABLE, manifest

BASE_AMI, OTHER_AMI = "ami-0b0b0b0b0b0b0b0b1", "ami-0b0b0b0b0b0b0b0b2"
MISSING = {"parent_bucket": "gone", "parent_version": "v9"}  # an explicit parent that does not exist
FLAG_STATUSES = ("out_of_date", "parent_revoked", "undetermined")


def sweep(registry) -> None:
    event = registry.client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event",
                                                     detail={}, resources=[])
    registry.client.lambda_.invoke("sweep", event)


def build(registry, bucket: str, run: str, ami: str, **custom: str) -> None:
    registry.upload(f"{bucket}/{run}.json", manifest({"packer_run_uuid": run, "artifact_id": f"us-east-1:{ami}",
                                                      "custom_data": custom}))


def flagged(registry) -> Counter:
    """The flagged versions the report lists (every page), by status."""
    found: Counter = Counter()
    token = None
    while True:
        body = registry.get("/compliance/report?limit=2" + (f"&next_token={token}" if token else ""))
        found.update(item["ancestry_status"] for item in body["flagged"])
        token = body.get("next_token")
        if not token:
            return found


def unresolved(registry) -> int:
    """How many versions still have unresolved parent hints (their links say so)."""
    return sum(any(p["found_by"] == "unresolved" for p in registry.get(f"/buckets/{b}/versions/{v['name']}/ancestry")["parents"])
               for b in [b["name"] for b in registry.all_pages("/buckets")]
               for v in registry.all_pages(f"/buckets/{b}/versions"))


def check(registry, **expected: int) -> None:
    """The report's counts equal what it lists, what the versions say, and `expected`."""
    counts = registry.get("/compliance/report")["counts"]
    listed = flagged(registry)
    assert {s: counts[s] for s in FLAG_STATUSES} == {s: listed[s] for s in FLAG_STATUSES}
    assert counts["unresolved_parents"] == unresolved(registry)
    assert {k: counts[k] for k in expected} == expected


def test_counts_follow_ingest_revoke_restore_schedule_and_deletes_without_a_sweep(registry):
    """No sweep runs, so nothing is ever recounted: every number comes from the changes."""
    build(registry, "base", "b1", BASE_AMI)
    build(registry, "lost", "l1", "ami-0c0c0c0c0c0c0c0c1", **MISSING)  # a hint that matches nothing
    build(registry, "lost", "l2", "ami-0c0c0c0c0c0c0c0c2", **MISSING)
    build(registry, "public", "p1", "ami-0c0c0c0c0c0c0c0c3", source_ami="ami-0e0e0e0e0e0e0e0e9")  # untracked: no count
    check(registry, undetermined=2, unresolved_parents=2)
    registry.send("post", "/buckets/base/versions/v1/revoke", {"reason": "bad", "skip_descendants_revocation": True})
    build(registry, "spared", "s1", "ami-0d0d0d0d0d0d0d0d1", source_ami=BASE_AMI)  # built on a revoked, sparing parent
    check(registry, parent_revoked=1, undetermined=2)
    registry.send("post", "/buckets/lost/versions/v1/revoke", {"reason": "gone"})  # off the list, still unresolved
    check(registry, undetermined=1, unresolved_parents=2)
    registry.send("post", "/buckets/lost/versions/v1/restore")  # checked again: back on it
    check(registry, undetermined=2, unresolved_parents=2)
    registry.send("post", "/buckets/spared/versions/v1/revoke", {"reason": "later", "revoke_in": "30d"})
    check(registry, parent_revoked=1)  # scheduled: still in use, still flagged
    registry.send("delete", "/buckets/lost/versions/v2")
    check(registry, undetermined=1, unresolved_parents=1)
    registry.send("delete", "/buckets/spared")
    check(registry, parent_revoked=0, undetermined=1, unresolved_parents=1)
    registry.send("delete", "/buckets/lost")
    check(registry, undetermined=0, unresolved_parents=0)


def test_counts_follow_the_sweep_moves_cascades_and_resolutions(registry):
    build(registry, "base", "b1", BASE_AMI)
    build(registry, "base", "b2", OTHER_AMI)
    registry.send("post", "/buckets/base/channels", {"name": "production", "version": "v1"}, 201)
    build(registry, "kid", "k1", "ami-0a0a0a0a0a0a0a0a1", parent_bucket="base", parent_channel="production")
    build(registry, "grandkid", "g1", "ami-0a0a0a0a0a0a0a0a2", source_ami="ami-0a0a0a0a0a0a0a0a1")
    build(registry, "late", "t1", "ami-0a0a0a0a0a0a0a0a3", parent_bucket="base", parent_version="v3")  # not yet in
    sweep(registry)
    check(registry, out_of_date=0, undetermined=1, unresolved_parents=1)
    registry.send("patch", "/buckets/base/channels/production", {"version": "v2"})
    build(registry, "base", "b3", "ami-0f0f0f0f0f0f0f0f1")  # late's parent arrives
    sweep(registry)
    check(registry, out_of_date=2, undetermined=0, unresolved_parents=0)
    registry.send("post", "/buckets/base/versions/v1/revoke", {"reason": "bad"})  # cascades to kid and grandkid
    sweep(registry)
    check(registry, out_of_date=0, parent_revoked=0)
    registry.send("post", "/buckets/base/versions/v1/restore")  # the cascade restores them: checked again
    sweep(registry)
    check(registry, out_of_date=2)
    registry.send("patch", "/buckets/base/channels/production", {"version": "v1"})
    sweep(registry)
    check(registry, out_of_date=0, parent_revoked=0, undetermined=0, unresolved_parents=0)


def test_a_registry_from_before_the_counts_is_counted_once_by_the_sweep(registry):
    build(registry, "lost", "l1", "ami-0c0c0c0c0c0c0c0c1", **MISSING)
    boto3.client("dynamodb").delete_item(TableName=TABLE, Key={"PK": {"S": "SWEEP#COUNTS"}, "SK": {"S": "CURRENT"}})
    assert registry.get("/compliance/report")["counts"]["undetermined"] == 0  # not counted yet
    sweep(registry)
    check(registry, undetermined=1, unresolved_parents=1)
    registry.send("delete", "/buckets/lost/versions/v1")
    check(registry, undetermined=0, unresolved_parents=0)


@contextlib.contextmanager
def dynamodb_calls() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Every DynamoDB call the registry's own client makes inside the block: (operation, params)."""
    calls: list[tuple[str, dict[str, Any]]] = []

    def hook(model: Any, params: dict[str, Any], **_: Any) -> None:
        calls.append((model.name, params))

    events = aws.client("dynamodb").meta.events
    events.register("provide-client-params.dynamodb.*", hook)
    try:
        yield calls
    finally:
        events.unregister("provide-client-params.dynamodb.*", hook)


def test_the_report_reads_its_counts_and_last_report_with_one_batch_get(registry):
    for n in range(6):
        build(registry, f"lost{n}", "l1", f"ami-0c0c0c0c0c0c0c0c{n}", **MISSING)
    with dynamodb_calls() as calls:
        body = registry.get("/compliance/report?limit=2")
    assert body["counts"]["undetermined"] == 6 and len(body["flagged"]) == 2
    partitions = [(op, str(params.get("ExpressionAttributeValues", {}).get(":h", {}).get("S"))) for op, params in calls]
    assert [p for p in partitions if p[1].startswith("SWEEP#")] == [("Query", "SWEEP#FLAGGED")]  # its one page
    batches = [sorted(k["PK"]["S"] for keys in params["RequestItems"].values() for k in keys["Keys"])
               for op, params in calls if op == "BatchGetItem"]
    assert batches[0] == ["SWEEP#COUNTS", "SWEEP#REPORT"], batches  # the counts, beside the last report
    assert [op for op, _ in calls].count("GetItem") == 0
