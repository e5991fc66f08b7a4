"""The DynamoDB table's shape: one table, two overloaded global secondary indexes.

The only place that names the key attributes and indexes; the local runner and the
tests create the table from `table_definition()`, and a test checks that
`deploy/resources.yaml` declares the same keys.
"""

from __future__ import annotations

from typing import Any

PK, SK = "PK", "SK"
GSI1, GSI1PK, GSI1SK = "GSI1", "GSI1PK", "GSI1SK"
GSI2, GSI2PK, GSI2SK = "GSI2", "GSI2PK", "GSI2SK"

INDEXES: dict[str, tuple[str, str]] = {GSI1: (GSI1PK, GSI1SK), GSI2: (GSI2PK, GSI2SK)}


def table_definition(name: str) -> dict[str, Any]:
    """Keyword arguments for `create_table`: on-demand, string keys, GSIs projecting all."""
    attributes = [PK, SK] + [a for pair in INDEXES.values() for a in pair]
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in attributes],
        "KeySchema": [
            {"AttributeName": PK, "KeyType": "HASH"},
            {"AttributeName": SK, "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": index,
                "KeySchema": [
                    {"AttributeName": hk, "KeyType": "HASH"},
                    {"AttributeName": rk, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index, (hk, rk) in INDEXES.items()
        ],
    }
