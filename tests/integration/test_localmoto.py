"""The local moto server (local/moto_server.py): which requests wait for which, what counts as
a change, and moto's transactions patched to keep memory flat with the same answers.

Timing-free: the gate is driven with a stand-in app that blocks until told to go on."""

from __future__ import annotations

import threading
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from local.moto_server import RequestGate, changes_state, patch_moto


def _lock_state_seen_by_the_app(target: str) -> bytes:
    wrapper = RequestGate(lambda environ, start_response: [b"locked" if wrapper.lock.locked() else b"free"])
    return b"".join(wrapper({"HTTP_X_AMZ_TARGET": target} if target else {}, lambda *a: None))


def test_dynamodb_requests_run_alone():
    assert _lock_state_seen_by_the_app("DynamoDB_20120810.TransactWriteItems") == b"locked"


def test_s3_and_sqs_requests_never_wait_for_the_lock():
    assert _lock_state_seen_by_the_app("") == b"free"  # S3: no target header
    assert _lock_state_seen_by_the_app("AmazonSQS.ReceiveMessage") == b"free"


def test_reads_are_not_changes():
    def request(method: str, target: str = "") -> dict[str, str]:
        return {"REQUEST_METHOD": method, **({"HTTP_X_AMZ_TARGET": target} if target else {})}

    for read in (request("GET"), request("HEAD"), request("POST", "DynamoDB_20120810.Query"),
                 request("POST", "DynamoDB_20120810.BatchGetItem"), request("POST", "AmazonSQS.ReceiveMessage")):
        assert not changes_state(read), read
    for write in (request("PUT"), request("DELETE"), request("POST", "DynamoDB_20120810.TransactWriteItems"),
                  request("POST", "DynamoDB_20120810.UpdateItem"), request("POST", "AmazonSQS.DeleteMessage")):
        assert changes_state(write), write


class _Blocking:
    """A WSGI app that records each request and, for those marked `block`, waits for `go`."""

    def __init__(self) -> None:
        self.entered: list[str] = []
        self.inside, self.go = threading.Event(), threading.Event()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        self.entered.append(environ["PATH_INFO"])
        if environ.get("block"):
            self.inside.set()
            self.go.wait()
        return [b"ok"]


def _request(gate: RequestGate, path: str, **extra: Any) -> threading.Thread:
    thread = threading.Thread(target=gate, args=({"PATH_INFO": path, "REQUEST_METHOD": "PUT", **extra},
                                                 lambda *a: None), daemon=True)
    thread.start()
    return thread


def test_a_pause_waits_for_running_requests_and_holds_new_ones():
    app = _Blocking()
    gate = RequestGate(app)
    running = _request(gate, "/running", block=True)
    assert app.inside.wait(10)
    with gate.paused(timeout=0.05) as quiet:
        assert not quiet  # the running request cannot finish: it waits for `go`
    app.go.set()
    running.join(10)
    assert gate.changes == 1

    with gate.paused() as quiet:
        assert quiet
        held = _request(gate, "/held")
        held.join(0.2)
        assert held.is_alive() and app.entered == ["/running"]
    held.join(10)
    assert app.entered == ["/running", "/held"] and gate.changes == 2


def test_a_closed_gate_stays_closed():
    app = _Blocking()
    gate = RequestGate(app)
    assert gate.close(timeout=1)
    held = _request(gate, "/after-the-last-save")
    held.join(0.2)
    assert held.is_alive() and app.entered == []


# ---- moto's transactions, patched --------------------------------------------------------

@pytest.fixture
def table():
    """An in-process moto table with the patches applied."""
    patch_moto()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"},
                                       {"AttributeName": "SK", "KeyType": "RANGE"}],
                            AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"},
                                                  {"AttributeName": "SK", "AttributeType": "S"}])
        client.put_item(TableName="t", Item={"PK": {"S": "a"}, "SK": {"S": "1"}, "n": {"N": "1"}})
        yield client


def _key(pk: str, sk: str = "1") -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def _items(client: Any) -> dict[str, Any]:
    return {i["PK"]["S"]: i for i in client.scan(TableName="t")["Items"]}


def _moto_table() -> Any:
    from moto.backends import get_backend

    return get_backend("dynamodb")["123456789012"]["us-east-1"].tables["t"]


def test_a_cancelled_transaction_changes_nothing_and_says_why(table):
    before, live = _items(table), _moto_table()
    with pytest.raises(ClientError) as caught:
        table.transact_write_items(TransactItems=[
            {"Put": {"TableName": "t", "Item": {**_key("new"), "n": {"N": "9"}}}},
            {"Update": {"TableName": "t", "Key": _key("a"), "UpdateExpression": "SET n = :n",
                        "ExpressionAttributeValues": {":n": {"N": "2"}}}},
            {"Delete": {"TableName": "t", "Key": _key("a", "2")}},
            {"ConditionCheck": {"TableName": "t", "Key": _key("missing"), "ConditionExpression": "attribute_exists(PK)"}},
        ])
    error = caught.value.response
    assert error["Error"]["Code"] == "TransactionCanceledException"
    assert [r["Code"] for r in error["CancellationReasons"]] == ["None", "None", "None", "ConditionalCheckFailed"]
    assert _items(table) == before
    assert _moto_table() is live  # rolled back in place: the table was never copied


def test_a_transaction_naming_one_item_twice_is_refused_whole(table):
    before = _items(table)
    with pytest.raises(ClientError) as caught:
        table.transact_write_items(TransactItems=[
            {"Put": {"TableName": "t", "Item": {**_key("b"), "n": {"N": "1"}}}},
            {"Put": {"TableName": "t", "Item": {**_key("b"), "n": {"N": "2"}}}},
        ])
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert _items(table) == before


def test_a_transaction_that_passes_is_applied_whole(table):
    table.transact_write_items(TransactItems=[
        {"Put": {"TableName": "t", "Item": {**_key("new"), "n": {"N": "9"}}, "ConditionExpression": "attribute_not_exists(PK)"}},
        {"Update": {"TableName": "t", "Key": _key("a"), "UpdateExpression": "SET n = :n", "ConditionExpression": "n = :one",
                    "ExpressionAttributeValues": {":n": {"N": "2"}, ":one": {"N": "1"}}}},
    ])
    items = _items(table)
    assert items["new"]["n"] == {"N": "9"} and items["a"]["n"] == {"N": "2"}


def test_moto_keeps_no_reference_to_items_it_no_longer_holds(table):
    from moto.dynamodb.models.dynamo_type import Item

    for n in range(20):
        table.put_item(TableName="t", Item={**_key("a"), "n": {"N": str(n)}})
    assert len(Item.instances_tracked) == 0  # type: ignore[attr-defined]


def _query_pages(client: Any, condition: str, values: dict[str, Any], forward: bool) -> list[list[str]]:
    """Every page of a Query (two items a page), each as the sort keys in the order answered."""
    pages = client.get_paginator("query").paginate(
        TableName="t", KeyConditionExpression=f"PK = :p AND {condition}", ScanIndexForward=forward,
        ExpressionAttributeValues={":p": {"S": "p"}, **values}, PaginationConfig={"PageSize": 2})
    return [[item["SK"]["S"] for item in page["Items"]] for page in pages]


def test_a_query_answers_what_its_sort_key_condition_selects_page_after_page(table):
    """The patched table Query hands moto only the items the key condition selects (and their
    neighbours): the pages hold exactly those, in order either way, resumed where each stopped,
    and a full page with an item after it says there may be more (an empty page follows), as
    moto and DynamoDB do; other partitions take no part."""
    for sk in ["a#1", "a#2", "a#3", "b#1", "b#2", "c#1", "c#2", "c#3", "d", "z#0", "z#1"]:
        table.put_item(TableName="t", Item={"PK": {"S": "p"}, "SK": {"S": sk}})
    table.put_item(TableName="t", Item={"PK": {"S": "q"}, "SK": {"S": "a#0"}})
    s = lambda value: {"S": value}  # noqa: E731
    for forward in (True, False):
        order = (lambda found: found) if forward else (lambda found: found[::-1])
        found = lambda *args: sum(_query_pages(table, *args, forward), [])  # noqa: E731
        assert found("begins_with(SK, :b)", {":b": s("c#")}) == order(["c#1", "c#2", "c#3"])
        assert found("SK BETWEEN :l AND :h", {":l": s("a#2"), ":h": s("c#1")}) == order(
            ["a#2", "a#3", "b#1", "b#2", "c#1"])
        assert found("SK < :h", {":h": s("b#")}) == order(["a#1", "a#2", "a#3"])
        assert found("SK > :l", {":l": s("c#3")}) == order(["d", "z#0", "z#1"])
        assert _query_pages(table, "SK = :k", {":k": s("d")}, forward) == [["d"]]
        assert _query_pages(table, "begins_with(SK, :b)", {":b": s("b#")}, forward) == [order(["b#1", "b#2"]), []]
    assert _query_pages(table, "SK < :h", {":h": s("a#3")}, False) == [["a#2", "a#1"]]  # nothing after a#1
    assert _query_pages(table, "SK >= :l", {":l": s("d")}, True) == [["d", "z#0"], ["z#1"]]


def test_make_run_adds_an_index_a_kept_table_lacks(tmp_path):
    """A table kept (REGISTRY_DATA_DIR) from a release before the status index: provisioning
    adds the index, and the items written before it are found through it."""
    from chalicelib.runtime import aws
    from chalicelib.storage.schema import table_definition
    from local.runner import Settings, provision

    with mock_aws():
        aws.reset()
        older = table_definition("kept")
        older["GlobalSecondaryIndexes"] = [i for i in older["GlobalSecondaryIndexes"] if i["IndexName"] != "GSI3"]
        older["AttributeDefinitions"] = [a for a in older["AttributeDefinitions"]
                                         if not a["AttributeName"].startswith("GSI3")]
        db = boto3.client("dynamodb")
        db.create_table(**older)
        db.put_item(TableName="kept", Item={"PK": {"S": "BUCKET#b"}, "SK": {"S": "VERSION#0000000001"},
                                            "GSI3PK": {"S": "VERSIONS#b#active"}, "GSI3SK": {"S": "VERSION#0000000001"}})
        settings = Settings(table="kept", data_dir=tmp_path)
        provision(settings)
        provision(settings)  # again: nothing left to add
        indexes = db.describe_table(TableName="kept")["Table"]["GlobalSecondaryIndexes"]
        assert sorted(i["IndexName"] for i in indexes) == ["GSI1", "GSI2", "GSI3"]
        found = db.query(TableName="kept", IndexName="GSI3", KeyConditionExpression="GSI3PK = :s",
                         ExpressionAttributeValues={":s": {"S": "VERSIONS#b#active"}})["Items"]
        assert [i["SK"]["S"] for i in found] == ["VERSION#0000000001"]
        aws.reset()
