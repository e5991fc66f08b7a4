"""The DynamoDB table's shape: one table, three overloaded global secondary indexes.

The only place that names the key attributes and indexes; the local runner and the
tests create the table from `table_definition()`, and a test checks that
`deploy/resources.yaml` declares the same keys.
"""

from __future__ import annotations

from typing import Any

PK, SK = "PK", "SK"
GSI1, GSI1PK, GSI1SK = "GSI1", "GSI1PK", "GSI1SK"
GSI2, GSI2PK, GSI2SK = "GSI2", "GSI2PK", "GSI2SK"
GSI3, GSI3PK, GSI3SK = "GSI3", "GSI3PK", "GSI3SK"

INDEXES: dict[str, tuple[str, str]] = {GSI1: (GSI1PK, GSI1SK), GSI2: (GSI2PK, GSI2SK), GSI3: (GSI3PK, GSI3SK)}
# DynamoDB's time to live: an item with this attribute (epoch seconds) is deleted after that
# moment (within a few days, free of charge). Only the webhook delivery history carries it.
TTL = "expires_at"


def table_definition(name: str) -> dict[str, Any]:
    """Keyword arguments for `create_table`: on-demand, string keys, GSIs projecting all."""
    attributes = [PK, SK] + [a for pair in INDEXES.values() for a in pair]
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [attribute(a) for a in attributes],
        "KeySchema": [
            {"AttributeName": PK, "KeyType": "HASH"},
            {"AttributeName": SK, "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [index_definition(index) for index in INDEXES],
    }


def attribute(name: str) -> dict[str, str]:
    return {"AttributeName": name, "AttributeType": "S"}


def index_definition(index: str) -> dict[str, Any]:
    """One global secondary index, as `create_table` and `update_table` take it."""
    hash_key, range_key = INDEXES[index]
    return {
        "IndexName": index,
        "KeySchema": [
            {"AttributeName": hash_key, "KeyType": "HASH"},
            {"AttributeName": range_key, "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "ALL"},
    }


def missing_indexes(description: dict[str, Any]) -> list[dict[str, Any]]:
    """`update_table` arguments adding each index a table (as `describe_table` gave it)
    lacks: one index per call, as DynamoDB allows."""
    present = {i["IndexName"] for i in description.get("GlobalSecondaryIndexes") or []}
    return [{"AttributeDefinitions": [attribute(a) for a in INDEXES[index]],
             "GlobalSecondaryIndexUpdates": [{"Create": index_definition(index)}]}
            for index in INDEXES if index not in present]
