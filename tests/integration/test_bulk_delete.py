"""Bulk deletes (storage.table.delete_many): BatchWriteItem, 25 per call, resending what DynamoDB
leaves unprocessed; used where a bucket, a channel's history, a large version or stale copy
pages go, each finished by its own conditioned transaction."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from chalicelib.runtime import aws
from chalicelib.storage import Throttled, keys as store_keys, table as store
from chalicelib.storage.schema import PK, SK
from support import TABLE, manifest

EVERYTHING = 10**6  # hold back every request of a call


class Unprocessed:
    """DynamoDB leaving part of a BatchWriteItem unprocessed, as it does when throttled: call
    n of the registry's client writes all but the last `plan[n]` delete requests to the table
    and answers those in `UnprocessedItems` (a botocore hook; calls past the plan go through)."""

    def __init__(self, *plan: int) -> None:
        self.plan = list(plan)
        self.sizes: list[int] = []  # requests per call, as sent
        aws.client("dynamodb").meta.events.register("before-call.dynamodb.BatchWriteItem", self._answer)

    def _answer(self, params: dict[str, Any], **_: Any) -> Any:
        ((table, requests),) = json.loads(params["body"])["RequestItems"].items()
        self.sizes.append(len(requests))
        if not self.plan:
            return None
        held = min(self.plan.pop(0), len(requests))
        if len(requests) > held:
            boto3.client("dynamodb").batch_write_item(RequestItems={table: requests[:len(requests) - held]})
        unprocessed = {table: requests[len(requests) - held:]} if held else {}
        return AWSResponse("https://dynamodb", 200, {}, None), {"UnprocessedItems": unprocessed,
                                                                 "ResponseMetadata": {"HTTPStatusCode": 200}}


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch):
    monkeypatch.setattr(store, "BATCH_WRITE_DELAY", 0.001)


def partition(name: str) -> list[str]:
    """Sort keys of every item left in a partition, read straight from the table."""
    pages = boto3.client("dynamodb").get_paginator("query").paginate(
        TableName=TABLE, KeyConditionExpression="PK = :p", ExpressionAttributeValues={":p": {"S": name}})
    return [item["SK"]["S"] for page in pages for item in page["Items"]]


def test_unprocessed_deletes_are_resent_until_none_remain(moto_aws):
    for n in range(60):
        store.put({PK: "TEST#bulk", SK: f"item#{n:02d}"})
    unprocessed = Unprocessed(10, EVERYTHING, 3)
    keys = [{PK: "TEST#bulk", SK: f"item#{n:02d}"} for n in range(60)]
    store.delete_many(keys + keys[:5])  # a key named twice is deleted once
    assert partition("TEST#bulk") == []
    # 25 sent, 10 back; those 10 all back; sent again, 3 back; the 3; then the next 25 and the last 10.
    assert unprocessed.sizes == [25, 10, 10, 3, 25, 10]


def test_deletes_unprocessed_after_every_attempt_are_unavailable(moto_aws):
    store.put({PK: "TEST#bulk", SK: "item"})
    Unprocessed(*[EVERYTHING] * store.BATCH_WRITE_ATTEMPTS)
    with pytest.raises(Throttled, match="1 deletes left unprocessed"):
        store.delete_many([{PK: "TEST#bulk", SK: "item"}])
    store.delete_many([{PK: "TEST#bulk", SK: "item"}])
    assert partition("TEST#bulk") == []


def many_builds(bucket: str, count: int, run: str = "r1") -> dict:
    return manifest(*({"name": f"s{n:03d}", "packer_run_uuid": run, "artifact_id": f"us-east-1:ami-{bucket}{n:012x}",
                       "custom_data": {"bucket_name": bucket}} for n in range(count)))


def test_a_bucket_is_deleted_whole_when_deletes_come_back_unprocessed(registry):
    registry.upload("web/m.json", many_builds("web", 30))
    registry.send("post", "/buckets/web/channels", {"name": "prod", "version": "v1"}, 201)
    Unprocessed(7, 7, EVERYTHING, 1)
    registry.send("delete", "/buckets/web")
    registry.get("/buckets/web", 404)
    assert partition("BUCKET#web") == []
    assert [n for n in range(30) if partition(f"ARTIFACT#ami-web{n:012x}")] == []


def test_a_bucket_delete_still_throttled_is_a_503_and_a_repeat_finishes_it(registry):
    registry.upload("web/m.json", many_builds("web", 30))
    Unprocessed(0, *[EVERYTHING] * store.BATCH_WRITE_ATTEMPTS)  # the second batch never goes through
    assert registry.send("delete", "/buckets/web", status=503)["error"] == "ServiceUnavailable"
    assert registry.get("/buckets/web")["name"] == "web"  # the bucket item goes last
    registry.send("delete", "/buckets/web")
    assert partition("BUCKET#web") == []
    assert [n for n in range(30) if partition(f"ARTIFACT#ami-web{n:012x}")] == []


def test_a_channels_long_history_goes_with_it(registry):
    registry.upload("web/m.json", manifest({"packer_run_uuid": "r1"}, {"packer_run_uuid": "r2"}))
    registry.send("post", "/buckets/web/channels", {"name": "prod", "version": "v1"}, 201)
    for n in range(30):
        registry.send("patch", "/buckets/web/channels/prod", {"version": f"v{2 - n % 2}"})
    assert len(registry.all_pages("/buckets/web/channels/prod/history")) == 31
    Unprocessed(5, EVERYTHING)
    registry.send("delete", "/buckets/web/channels/prod")
    assert [sk for sk in partition("BUCKET#web") if "prod" in sk] == []
    registry.get("/buckets/web/channels/prod", 404)


def test_a_large_version_is_deleted_whole_when_deletes_come_back_unprocessed(registry):
    registry.upload("web/m.json", many_builds("web", 45))  # 45 builds + 45 artifact index entries
    registry.upload("web/n.json", many_builds("web", 1, run="r2"))
    Unprocessed(3, EVERYTHING, 2)
    registry.send("delete", "/buckets/web/versions/v1")
    registry.get("/buckets/web/versions/v1", 404)
    assert [sk for sk in partition("BUCKET#web") if sk.startswith(store_keys.version_sk(1))] == []
    assert [n for n in range(45) if partition(f"ARTIFACT#ami-web{n:012x}")] == [0]  # v2's build has that image
    assert registry.get(f"/artifacts/ami-web{0:012x}")["version"] == "v2"


def test_a_large_version_delete_still_throttled_is_a_503_and_a_repeat_leaves_nothing_behind(registry):
    registry.upload("web/m.json", many_builds("web", 45))
    registry.upload("web/n.json", many_builds("web", 1, run="r2"))
    Unprocessed(0, *[EVERYTHING] * store.BATCH_WRITE_ATTEMPTS)  # the second bulk call never goes through
    registry.send("delete", "/buckets/web/versions/v1", status=503)
    registry.send("delete", "/buckets/web/versions/v1")
    assert [sk for sk in partition("BUCKET#web") if sk.startswith(store_keys.version_sk(1))] == []
    assert [n for n in range(45) if partition(f"ARTIFACT#ami-web{n:012x}")] == [0]


def test_a_refused_large_version_delete_deletes_nothing(registry):
    registry.upload("web/m.json", many_builds("web", 45))
    registry.upload("web/n.json", many_builds("web", 1, run="r2"))
    registry.send("post", "/buckets/web/channels", {"name": "prod", "version": "v1"}, 201)
    before = partition("BUCKET#web")
    assert "prod" in registry.send("delete", "/buckets/web/versions/v1", status=409)["message"]
    assert partition("BUCKET#web") == before
    assert registry.get("/buckets/web/versions/v1")["build_count"] == 45
    assert all(partition(f"ARTIFACT#ami-web{n:012x}") for n in range(45))


def test_copy_pages_left_by_added_builds_are_deleted_when_deletes_come_back_unprocessed(registry):
    def builds(count: int) -> dict:
        return manifest(*({"name": f"s{n:03d}", "packer_run_uuid": "big", "artifact_id": f"us-east-1:ami-{n:017x}",
                           "custom_data": {"bucket_name": "big", "notes": "x" * 6000}} for n in range(count)))

    registry.upload("big/m.json", builds(60))  # a serving copy too large to go inline: copy pages
    first = {sk for sk in partition("BUCKET#big") if sk.startswith("COPY#")}
    assert first
    Unprocessed(1)
    registry.upload("big/n.json", builds(61))  # a build more: new pages, the old ones go
    left = {sk for sk in partition("BUCKET#big") if sk.startswith("COPY#")}
    assert left and not left & first
    served = registry.get("/buckets/big/channels/latest/artifact?platform=aws&region=us-east-1"
                          "&component_type=amazon-ebs.s060")
    assert served["external_id"] == f"ami-{60:017x}"
