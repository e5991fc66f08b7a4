"""DynamoDB access: the only module that knows the table's keys.

Single-table layout (every request path is a GetItem or one Query page):

| item | PK | SK | GSI1 (PK / SK) | GSI2 (PK / SK) |
| --- | --- | --- | --- | --- |
| bucket | `BUCKET#<b>` | `BUCKET` | `BUCKETS` / `<b>` | |
| version | `BUCKET#<b>` | `VERSION#<n:010>` | `VERSIONS#<b>` / `VERSION#<n:010>` | |
| build | `BUCKET#<b>` | `VERSION#<n:010>#BUILD#<id>` | | |
| fingerprint | `BUCKET#<b>` | `FINGERPRINT#<fp>` | | |
| channel | `BUCKET#<b>` | `CHANNEL#<name>` | | |
| channel history | `BUCKET#<b>` | `HISTORY#<name>#<time>#<id>` | | |
| artifact index | `ARTIFACT#<external id>` | `BUCKET#<b>#VERSION#<n:010>#BUILD#<id>` | | |
| ingestion | `INGEST#<id>` | `INGEST` | `INGESTIONS` / `<time>#<id>` | `INGESTIONS#<status>` / `<time>#<id>` |
| scheduled revocation (on the version item) | | | | `REVOKE_DUE` / `<revoke_at>#<b>#<n:010>` |
| child edge (under the parent) | `BUCKET#<parent b>` | `CHILD#<parent n:010>#<child b>#<child n:010>` | | |
| sweep marker (a change to look at) | `SWEEP#PENDING` | `<time>#<id>` | | |
| unresolved parent hint | `SWEEP#UNRESOLVED` | `<b>#<n:010>` | | |
| flagged version (outdated, parent revoked, undetermined) | `SWEEP#FLAGGED` | `<b>#<n:010>` | | |
| last sweep's report | `SWEEP#REPORT` | `LAST` | | |
| API token | `TOKEN#<id>` | `TOKEN` | `TOKENS` / `<created>#<id>` | |
| audit event | `EVENTS#<b>` (registry-wide: `EVENTS#`) | `EVENT#<time>#<id>` | | |

Access patterns: list buckets = Query GSI1 `BUCKETS`; get bucket = GetItem; list versions
newest first = reverse Query GSI1 `VERSIONS#<b>`; version with its builds = one Query
`begins_with(SK, VERSION#<n>)`; version by fingerprint = GetItem on the fingerprint item,
then that Query; which version made an artifact = Query `ARTIFACT#<id>`; ingestions newest
first = reverse Query GSI1 `INGESTIONS`, by status GSI2 `INGESTIONS#<status>`; channels of
a bucket = Query `begins_with(SK, CHANNEL#)`; a channel (and the consumer query) = GetItem;
its history newest first = reverse Query `begins_with(SK, HISTORY#<name>#)`; where it pointed
at a moment T = reverse Query `SK BETWEEN HISTORY#<name># AND HISTORY#<name>#<T>~`, Limit 1;
due scheduled revocations = Query GSI2 `REVOKE_DUE` with `GSI2SK <= now` (sparse: only scheduled
versions); children of a version = Query `begins_with(SK, CHILD#<n:010>#)`; the sweep reads
the `SWEEP#…` partitions, whose size follows recent changes, not the size of the registry;
a bucket's audit events newest first = reverse Query `EVENTS#<b>`.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Iterator
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from . import aws
from .errors import BadRequest, Unavailable
from .schema import GSI1, GSI1PK, GSI1SK, GSI2, GSI2PK, GSI2SK, PK, SK

TRANSACTION_LIMIT = 100
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

Item = dict[str, Any]


class ConditionFailed(Exception):
    """A condition in a write or transaction did not hold: someone else got there first."""


def table_name() -> str:
    return os.environ.get("REGISTRY_TABLE", "packer-registry")


# ---- keys -------------------------------------------------------------------------------

def bucket_key(bucket: str) -> Item:
    return {PK: f"BUCKET#{bucket}", SK: "BUCKET"}


def version_sk(number: int) -> str:
    return f"VERSION#{number:010d}"


def version_key(bucket: str, number: int) -> Item:
    return {PK: f"BUCKET#{bucket}", SK: version_sk(number)}


def build_key(bucket: str, number: int, build_id: str) -> Item:
    return {PK: f"BUCKET#{bucket}", SK: f"{version_sk(number)}#BUILD#{build_id}"}


def fingerprint_key(bucket: str, fingerprint: str) -> Item:
    return {PK: f"BUCKET#{bucket}", SK: f"FINGERPRINT#{fingerprint}"}


def artifact_key(external_id: str, bucket: str, number: int, build_id: str) -> Item:
    return {PK: f"ARTIFACT#{external_id}", SK: f"BUCKET#{bucket}#{version_sk(number)}#BUILD#{build_id}"}


def channel_key(bucket: str, name: str) -> Item:
    return {PK: f"BUCKET#{bucket}", SK: f"CHANNEL#{name}"}


def history_prefix(channel: str) -> str:
    return f"HISTORY#{channel}#"


def history_key(bucket: str, channel: str, at: str, entry_id: str) -> Item:
    return {PK: f"BUCKET#{bucket}", SK: f"{history_prefix(channel)}{at}#{entry_id}"}


def revoke_due_index(revoke_at: str, bucket: str, number: int) -> Item:
    return {GSI2PK: "REVOKE_DUE", GSI2SK: f"{revoke_at}#{bucket}#{number:010d}"}


def child_prefix(number: int) -> str:
    return f"CHILD#{number:010d}#"


def child_key(parent_bucket: str, parent_number: int, child_bucket: str, child_number: int) -> Item:
    return {PK: f"BUCKET#{parent_bucket}", SK: f"{child_prefix(parent_number)}{child_bucket}#{child_number:010d}"}


MARKERS, UNRESOLVED, FLAGGED = "SWEEP#PENDING", "SWEEP#UNRESOLVED", "SWEEP#FLAGGED"


def marker_key(at: str, marker_id: str) -> Item:
    return {PK: MARKERS, SK: f"{at}#{marker_id}"}


def unresolved_key(bucket: str, number: int) -> Item:
    return {PK: UNRESOLVED, SK: f"{bucket}#{number:010d}"}


def flagged_key(bucket: str, number: int) -> Item:
    return {PK: FLAGGED, SK: f"{bucket}#{number:010d}"}


def report_key() -> Item:
    return {PK: "SWEEP#REPORT", SK: "LAST"}


EVENT_PREFIX = "EVENT#"


def event_key(bucket: str | None, at: str, event_id: str) -> Item:
    """Outside the bucket's partition, so deleting a bucket keeps its audit trail."""
    return {PK: f"EVENTS#{bucket or ''}", SK: f"{EVENT_PREFIX}{at}#{event_id}"}


def token_key(token_id: str) -> Item:
    return {PK: f"TOKEN#{token_id}", SK: "TOKEN"}


def token_index(created_at: str, token_id: str) -> Item:
    return {GSI1PK: "TOKENS", GSI1SK: f"{created_at}#{token_id}"}


def ingestion_key(ingestion_id: str) -> Item:
    return {PK: f"INGEST#{ingestion_id}", SK: "INGEST"}


# ---- item shapes ------------------------------------------------------------------------

def bucket_index(bucket: str) -> Item:
    return {GSI1PK: "BUCKETS", GSI1SK: bucket}


def version_index(bucket: str, number: int) -> Item:
    return {GSI1PK: f"VERSIONS#{bucket}", GSI1SK: version_sk(number)}


def ingestion_index(status: str, received_at: str, ingestion_id: str) -> Item:
    order = f"{received_at}#{ingestion_id}"
    return {GSI1PK: "INGESTIONS", GSI1SK: order, GSI2PK: f"INGESTIONS#{status}", GSI2SK: order}


def is_build(item: Item) -> bool:
    return "#BUILD#" in item[SK]


def strip_to_key(item: Item) -> Item:
    """Just the primary key of an item."""
    return {PK: item[PK], SK: item[SK]}


def strip_keys(item: Item) -> Item:
    """The item's own attributes, without the table's key attributes."""
    return {k: v for k, v in item.items() if k not in (PK, SK, GSI1PK, GSI1SK, GSI2PK, GSI2SK)}


# ---- low-level calls --------------------------------------------------------------------

def serialize(item: Item) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in item.items() if v is not None}


def deserialize(raw: dict[str, Any]) -> Item:
    return {k: _plain(_deserializer.deserialize(v)) for k, v in raw.items()}


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; the registry stores only integers."""
    if hasattr(value, "as_integer_ratio") and not isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, set)):
        return [_plain(v) for v in value]
    return value


def _db() -> Any:
    return aws.client("dynamodb")


# Errors that outlast botocore's own retries: the caller gets a 503 (HTTP) or the event
# handler raises, so Lambda retries it; nothing half-done is left, every write being atomic.
_UNAVAILABLE = {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
                "InternalServerError", "ServiceUnavailable", "TransactionInProgressException"}


def _call(operation: str, **kwargs: Any) -> Any:
    """One DynamoDB call, with its errors in the registry's terms."""
    try:
        return getattr(_db(), operation)(**kwargs)
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        if code == "ConditionalCheckFailedException":
            raise ConditionFailed(str(exc)) from exc
        if code in _UNAVAILABLE:
            raise Unavailable(f"DynamoDB is busy ({code}); try again") from exc
        raise


def get(key: Item, consistent: bool = True) -> Item | None:
    response = _call("get_item", TableName=table_name(), Key=serialize(key), ConsistentRead=consistent)
    return deserialize(response["Item"]) if "Item" in response else None


def get_many(keys: list[Item]) -> list[Item]:
    """BatchGetItem (strongly consistent) in batches of 100, following UnprocessedKeys; order not kept."""
    found: list[Item] = []
    unique = list({(k[PK], k[SK]): k for k in keys}.values())
    for start in range(0, len(unique), 100):
        request = {table_name(): {"Keys": [serialize(k) for k in unique[start:start + 100]], "ConsistentRead": True}}
        while request:
            response = _call("batch_get_item", RequestItems=request)
            found.extend(deserialize(i) for i in response["Responses"].get(table_name(), []))
            request = response.get("UnprocessedKeys") or {}
    return found


def put(item: Item, condition: str | None = None, values: Item | None = None) -> None:
    kwargs: dict[str, Any] = {"TableName": table_name(), "Item": serialize(item)}
    if condition:
        kwargs["ConditionExpression"] = condition
    if values:
        kwargs["ExpressionAttributeValues"] = serialize(values)
    _call("put_item", **kwargs)


def update(
    key: Item,
    expression: str,
    values: Item | None = None,
    names: dict[str, str] | None = None,
    condition: str | None = None,
) -> Item:
    """UpdateItem returning the new item."""
    kwargs: dict[str, Any] = {
        "TableName": table_name(),
        "Key": serialize(key),
        "UpdateExpression": expression,
        "ReturnValues": "ALL_NEW",
    }
    if values:
        kwargs["ExpressionAttributeValues"] = serialize(values)
    if names:
        kwargs["ExpressionAttributeNames"] = names
    if condition:
        kwargs["ConditionExpression"] = condition
    return deserialize(_call("update_item", **kwargs)["Attributes"])


def delete(key: Item, condition: str | None = None) -> None:
    kwargs: dict[str, Any] = {"TableName": table_name(), "Key": serialize(key)}
    if condition:
        kwargs["ConditionExpression"] = condition
    _call("delete_item", **kwargs)


def query_page(
    partition: str,
    *,
    index: str | None = None,
    prefix: str | None = None,
    at_most: str | None = None,
    newest_first: bool = False,
    limit: int | None = None,
    start: Item | None = None,
    projection: str | None = None,
) -> tuple[list[Item], Item | None]:
    """One Query page on the table or an index: (items, LastEvaluatedKey or None)."""
    hash_key, range_key = {None: (PK, SK), GSI1: (GSI1PK, GSI1SK), GSI2: (GSI2PK, GSI2SK)}[index]
    condition, values = "#h = :h", {":h": partition}
    if prefix and at_most:
        # Both: the range [prefix, at_most], which stays inside the prefix when at_most starts with it.
        if not at_most.startswith(prefix):
            raise ValueError(f"at_most {at_most!r} is outside the prefix {prefix!r}")
        condition, values[":p"], values[":u"] = condition + " AND #r BETWEEN :p AND :u", prefix, at_most
    elif prefix:
        condition, values[":p"] = condition + " AND begins_with(#r, :p)", prefix
    elif at_most:
        condition, values[":u"] = condition + " AND #r <= :u", at_most
    kwargs: dict[str, Any] = {
        "TableName": table_name(),
        "KeyConditionExpression": condition,
        "ExpressionAttributeNames": {"#h": hash_key, **({"#r": range_key} if prefix or at_most else {})},
        "ExpressionAttributeValues": serialize(values),
        "ScanIndexForward": not newest_first,
    }
    if index:
        kwargs["IndexName"] = index
    else:
        kwargs["ConsistentRead"] = True
    if limit:
        kwargs["Limit"] = limit
    if start:
        kwargs["ExclusiveStartKey"] = serialize(start)
    if projection:
        kwargs["ProjectionExpression"] = projection
    response = _call("query", **kwargs)
    last = response.get("LastEvaluatedKey")
    return [deserialize(i) for i in response["Items"]], deserialize(last) if last else None


def query_all(partition: str, **kwargs: Any) -> Iterator[Item]:
    """Every item of a Query, following LastEvaluatedKey page by page."""
    start = None
    while True:
        items, start = query_page(partition, start=start, **kwargs)
        yield from items
        if not start:
            return


def history_at(bucket: str, channel: str, at: str) -> Item | None:
    """The channel's history entry in force at `at` (ISO, as `clock.iso` writes it): the newest
    entry at or before that moment, or None. One Query, newest first, Limit 1."""
    prefix = history_prefix(channel)
    items, _ = query_page(bucket_key(bucket)[PK], prefix=prefix, at_most=f"{prefix}{at}~", newest_first=True,
                          limit=1)
    return items[0] if items else None


def transact(actions: list[dict[str, Any]]) -> None:
    """TransactWriteItems; a failed condition anywhere raises ConditionFailed.

    Each action is `{"Put": {...}}`, `{"Update": {...}}`, `{"Delete": {...}}` or
    `{"ConditionCheck": {...}}` with plain-Python Item/Key/values, serialised here.
    """
    if not actions:
        return
    if len(actions) > TRANSACTION_LIMIT:
        raise ValueError(f"a transaction holds at most {TRANSACTION_LIMIT} items, not {len(actions)}")
    try:
        _call("transact_write_items", TransactItems=[_wire(a) for a in actions])
    except ClientError as exc:
        error = exc.response["Error"]
        if error["Code"] == "TransactionCanceledException":
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if "ConditionalCheckFailed" in reasons or "TransactionConflict" in reasons:
                raise ConditionFailed(f"transaction cancelled: {reasons}") from exc
            if {"ThrottlingError", "ProvisionedThroughputExceeded"} & set(reasons):
                raise Unavailable(f"DynamoDB is busy ({reasons}); try again") from exc
        raise


def _wire(action: dict[str, Any]) -> dict[str, Any]:
    (kind, body), = action.items()
    wired = {"TableName": table_name(), **body}
    for field in ("Item", "Key", "ExpressionAttributeValues"):
        if field in wired:
            wired[field] = serialize(wired[field])
    return {kind: wired}


def put_action(item: Item, condition: str | None = None, values: Item | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"Item": item}
    if condition:
        body["ConditionExpression"] = condition
    if values:
        body["ExpressionAttributeValues"] = values
    return {"Put": body}


def update_action(
    key: Item, expression: str, values: Item | None = None, names: dict[str, str] | None = None,
    condition: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"Key": key, "UpdateExpression": expression}
    if values:
        body["ExpressionAttributeValues"] = values
    if names:
        body["ExpressionAttributeNames"] = names
    if condition:
        body["ConditionExpression"] = condition
    return {"Update": body}


def delete_action(key: Item, condition: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"Key": key}
    if condition:
        body["ConditionExpression"] = condition
    return {"Delete": body}


def condition_action(key: Item, condition: str, values: Item | None = None,
                     names: dict[str, str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"Key": key, "ConditionExpression": condition}
    if values:
        body["ExpressionAttributeValues"] = values
    if names:
        body["ExpressionAttributeNames"] = names
    return {"ConditionCheck": body}


# ---- pagination tokens ------------------------------------------------------------------

def encode_token(last_key: Item | None) -> str | None:
    if not last_key:
        return None
    raw = json.dumps(last_key, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str | None, expected: Item) -> Item | None:
    """The ExclusiveStartKey inside a `next_token`, checked to belong to this very list."""
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise BadRequest("next_token is not a token this API issued") from None
    valid = (
        isinstance(key, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in key.items())
        and all(key.get(k) == v for k, v in expected.items())
        and PK in key and SK in key
    )
    if not valid:
        raise BadRequest("next_token does not belong to this list")
    return key
