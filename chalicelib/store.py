"""DynamoDB access: the only module that knows the table's keys.

Single-table layout (every request path is a GetItem or one Query page):

| item | PK | SK | GSI1 (PK / SK) | GSI2 (PK / SK) |
| --- | --- | --- | --- | --- |
| bucket | `BUCKET#<b>` | `BUCKET` | `BUCKETS` / `<b>` | |
| version | `BUCKET#<b>` | `VERSION#<n:010>` | `VERSIONS#<b>` / `VERSION#<n:010>` | |
| build | `BUCKET#<b>` | `VERSION#<n:010>#BUILD#<id>` | | |
| fingerprint | `BUCKET#<b>` | `FINGERPRINT#<fp>` | | |
| channel | `BUCKET#<b>` | `CHANNEL#<name>` | | `REVOKED_CHANNELS` / `<b>#<name>` (sparse: only while it holds a revoked version) |
| serving copy page (large versions only) | `BUCKET#<b>` | `COPY#<n:010>#<generation:06>#<page:03>` | | |
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
versions); children of a version = Query `begins_with(SK, CHILD#<n:010>#)`; channels that hold a
revoked version = Query GSI2 `REVOKED_CHANNELS`; upcoming scheduled revocations = Query GSI2
`REVOKE_DUE` with `GSI2SK > now`; a large version's serving copy = Query
`begins_with(SK, COPY#<n:010>#<generation>#)`; the sweep reads the `SWEEP#…` partitions, whose
size follows recent changes, not the size of the registry;
a bucket's audit events newest first = reverse Query `EVENTS#<b>`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import random
import time
from collections.abc import Iterator
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from . import aws
from .errors import BadRequest, Unavailable
from .schema import GSI1, GSI1PK, GSI1SK, GSI2, GSI2PK, GSI2SK, PK, SK

TRANSACTION_LIMIT = 100
TRANSACTION_BYTES = 3_500_000  # DynamoDB caps a transaction at 4 MB; the estimate keeps a margin
ITEM_BYTES = 350_000  # DynamoDB caps an item at 400 KB; item_size() estimates, so keep a margin
BATCH_WRITE_LIMIT = 25  # requests per BatchWriteItem call (DynamoDB's cap)
BATCH_WRITE_ATTEMPTS = 8  # calls per batch while DynamoDB leaves some of it unprocessed
BATCH_WRITE_DELAY = 0.05  # seconds; doubles per resend up to 32×, full jitter
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


def copies_prefix(number: int) -> str:
    return f"COPY#{number:010d}#"


def copy_prefix(number: int, generation: int) -> str:
    return f"{copies_prefix(number)}{generation:06d}#"


def copy_key(bucket: str, number: int, generation: int, page: int) -> Item:
    return {PK: f"BUCKET#{bucket}", SK: f"{copy_prefix(number, generation)}{page:03d}"}


REVOKED_CHANNELS = "REVOKED_CHANNELS"


def revoked_channel_index(bucket: str, channel: str) -> Item:
    """Index attributes of a channel that holds a revoked version (the report lists them)."""
    return {GSI2PK: REVOKED_CHANNELS, GSI2SK: f"{bucket}#{channel}"}


REVOKE_DUE = "REVOKE_DUE"


def revoke_due_index(revoke_at: str, bucket: str, number: int) -> Item:
    return {GSI2PK: REVOKE_DUE, GSI2SK: f"{revoke_at}#{bucket}#{number:010d}"}


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
    return item[SK].startswith("VERSION#") and "#BUILD#" in item[SK]


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


def backoff(attempt: int, base: float) -> None:
    """Sleep before retry `attempt` (1, 2, …): full jitter, doubling up to 32 × `base`.
    The one backoff of the registry (retry.py's conflict retries use it too)."""
    time.sleep(random.uniform(0, base * 2 ** min(attempt, 5)))


def delete_many(keys: list[Item]) -> None:
    """Delete items by key, 25 per BatchWriteItem, resending what DynamoDB leaves in
    UnprocessedItems (it does under throttling) after a jittered exponential backoff;
    Unavailable (a 503, or a Lambda retry) if some remain after BATCH_WRITE_ATTEMPTS calls.

    Neither atomic nor conditioned: for the many items a bucket, channel or version takes
    with it, where each delete stands alone and repeating the whole finishes the job. The
    caller deletes in an order a repeat can recompute (what is derived from an item before
    the item) and keeps its last, conditioned step in a transaction after this."""
    unique = list({(k[PK], k[SK]): strip_to_key(k) for k in keys}.values())  # a batch may not name an item twice
    for start in range(0, len(unique), BATCH_WRITE_LIMIT):
        batch = unique[start:start + BATCH_WRITE_LIMIT]
        requests: dict[str, Any] = {table_name(): [{"DeleteRequest": {"Key": serialize(k)}} for k in batch]}
        for attempt in range(BATCH_WRITE_ATTEMPTS):
            if attempt:
                backoff(attempt, BATCH_WRITE_DELAY)
            requests = _call("batch_write_item", RequestItems=requests).get("UnprocessedItems") or {}
            if not requests:
                break
        else:
            left = sum(len(r) for r in requests.values())
            raise Unavailable(f"DynamoDB is busy ({left} deletes left unprocessed after {BATCH_WRITE_ATTEMPTS} "
                              "attempts); try again")


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
    after: str | None = None,
    newest_first: bool = False,
    limit: int | None = None,
    start: Item | None = None,
    projection: str | None = None,
) -> tuple[list[Item], Item | None]:
    """One Query page on the table or an index: (items, LastEvaluatedKey or None).

    The sort key may be narrowed by one of `prefix`, `at_most` (≤) or `after` (>)."""
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
    elif after:
        condition, values[":a"] = condition + " AND #r > :a", after
    kwargs: dict[str, Any] = {
        "TableName": table_name(),
        "KeyConditionExpression": condition,
        "ExpressionAttributeNames": {"#h": hash_key, **({"#r": range_key} if prefix or at_most or after else {})},
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


GUARD = "guard"  # marks an action that only guards the transaction (a check or a claim)


def guard(action: dict[str, Any]) -> dict[str, Any]:
    """Mark an action as a guard: dropped when the transaction writes the same item anyway
    (that write carries its own condition), and kept once when repeated."""
    return {**action, GUARD: True}


def item_size(item: Item) -> int:
    """An upper estimate of an item's stored size in bytes (its JSON length)."""
    return len(json.dumps(item, default=str, separators=(",", ":"), ensure_ascii=False).encode())


def action_size(action: dict[str, Any]) -> int:
    (body,) = (v for k, v in action.items() if k != GUARD)
    return item_size(body.get("Item") or body.get("Key") or {}) + item_size(body.get("ExpressionAttributeValues") or {})


def _action_key(action: dict[str, Any]) -> tuple[str, str]:
    (body,) = (v for k, v in action.items() if k != GUARD)
    key = body.get("Key") or body["Item"]
    return key[PK], key[SK]


def merged(actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """At most one action per item, as DynamoDB requires: guards of an item the transaction
    writes are dropped, repeated guards of one item are kept once."""
    written = {_action_key(a) for a in actions if not a.get(GUARD)}
    guarded: set[tuple[str, str]] = set()
    kept = []
    for action in actions:
        key = _action_key(action)
        if action.get(GUARD):
            if key in written or key in guarded:
                continue
            guarded.add(key)
        kept.append(action)
    return kept


def transact(actions: list[dict[str, Any]]) -> None:
    """TransactWriteItems; a failed condition anywhere raises ConditionFailed.

    Each action is `{"Put": {...}}`, `{"Update": {...}}`, `{"Delete": {...}}` or
    `{"ConditionCheck": {...}}` with plain-Python Item/Key/values, serialised here.
    Callers split their work to fit DynamoDB's limits (TRANSACTION_LIMIT items,
    TRANSACTION_BYTES); going past them is a bug, raised as ValueError before any call.
    """
    actions = merged(actions)
    if not actions:
        return
    if len(actions) > TRANSACTION_LIMIT:
        raise ValueError(f"a transaction holds at most {TRANSACTION_LIMIT} items, not {len(actions)}")
    size = sum(action_size(a) for a in actions)
    if size > TRANSACTION_BYTES:
        raise ValueError(f"a transaction holds at most {TRANSACTION_BYTES} bytes, not about {size}")
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
    (kind, body), = ((k, v) for k, v in action.items() if k != GUARD)
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


def delete_action(key: Item, condition: str | None = None, values: Item | None = None,
                  names: dict[str, str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"Key": key}
    if condition:
        body["ConditionExpression"] = condition
    if values:
        body["ExpressionAttributeValues"] = values
    if names:
        body["ExpressionAttributeNames"] = names
    return {"Delete": body}


def condition_action(key: Item, condition: str, values: Item | None = None,
                     names: dict[str, str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"Key": key, "ConditionExpression": condition}
    if values:
        body["ExpressionAttributeValues"] = values
    if names:
        body["ExpressionAttributeNames"] = names
    return {"ConditionCheck": body}


def rev_clause(rev: int | None) -> tuple[str, str, Item]:
    """(SET clause, condition, values) that bump a version's `rev` from the value read.

    Every change to what a channel copies from a version (status, revocation, builds)
    bumps `rev`, and every write of a channel copy asserts the `rev` it copied, so a copy
    can never be written from a stale read, nor a version change miss a channel that was
    pointed at it meanwhile."""
    if rev is None:
        return "#rev = :rev_next", "attribute_exists(PK) AND attribute_not_exists(#rev)", {":rev_next": 1}
    return "#rev = :rev_next", "#rev = :rev_read", {":rev_next": rev + 1, ":rev_read": rev}


REV_NAMES = {"#rev": "rev"}


def claim_action(bucket: str, number: int, rev: int | None) -> dict[str, Any]:
    """A guard that the version is as read (same `rev`), bumping it: written with every
    channel copy of the version, so a concurrent revocation that did not see this channel
    fails and re-reads."""
    clause, condition, values = rev_clause(rev)
    return guard(update_action(version_key(bucket, number), f"SET {clause}", values, dict(REV_NAMES), condition))


def status_check_action(bucket: str, number: int, status: str) -> dict[str, Any]:
    """A guard that a version still has the status read (e.g. the revoked versions `latest` skipped)."""
    return guard(condition_action(version_key(bucket, number), "#status = :status", {":status": status},
                                  {"#status": "status"}))


def channel_holds_action(bucket: str, channel: str, number: int | None) -> dict[str, Any]:
    """A guard that a channel still holds version `number` (None: nothing, or no channel)."""
    if number is None:
        return guard(condition_action(channel_key(bucket, channel), "attribute_not_exists(#number)",
                                      names={"#number": "number"}))
    return guard(condition_action(channel_key(bucket, channel), "#number = :number", {":number": number},
                                  {"#number": "number"}))


# ---- pagination tokens ------------------------------------------------------------------
#
# A `next_token` is the Query's LastEvaluatedKey, sealed for the list that made it, so that a
# client can neither read it (a viewer's page of channels may stop at a restricted one) nor
# forge, alter or move it to another list (an ExclusiveStartKey outside the list's partition
# or prefix is a ValidationException on DynamoDB). Sealing is a deterministic SIV scheme
# built from the standard library: tag = HMAC-SHA256(mac key, list || key)[:16]; the key is
# XORed with SHAKE-256(encryption key || tag); the token is base64url(tag || ciphertext).
# Both keys are derived from auth.signing_key(). The list is its index, partition, key
# prefix and direction, so a token only opens the list that issued it; anything else is a
# 400. Rotating the signing key ends the tokens in flight (clients start from page one).

TOKEN_TAG_BYTES = 16
BAD_TOKEN = ("next_token does not belong to this list (it is from another list, was altered, or predates the "
             "registry's signing key): request the first page again without it")


def list_page(partition: str, token: str | None, *, index: str | None = None, prefix: str | None = None,
              newest_first: bool = False, limit: int | None = None) -> tuple[list[Item], str | None]:
    """One page of a list clients page through: (items, next_token or None).

    The start comes from `token`, which must have been issued by this very list (else a
    400), and the next token is sealed for it.
    """
    scope = list_scope(partition, index=index, prefix=prefix, newest_first=newest_first)
    start = decode_token(token, scope)
    items, last = query_page(partition, index=index, prefix=prefix, newest_first=newest_first, limit=limit,
                             start=start)
    return items, encode_token(last, scope)


def list_scope(partition: str, *, index: str | None = None, prefix: str | None = None,
               newest_first: bool = False) -> bytes:
    """What identifies a list: the token of one never opens another."""
    return json.dumps([index or "table", partition, prefix or "", newest_first]).encode()


def encode_token(last_key: Item | None, scope: bytes) -> str | None:
    if not last_key:
        return None
    plain = json.dumps(last_key, sort_keys=True, separators=(",", ":")).encode()
    encryption, signing = _token_keys()
    tag = hmac.new(signing, scope + b"\0" + plain, hashlib.sha256).digest()[:TOKEN_TAG_BYTES]
    sealed = tag + _xor(plain, hashlib.shake_256(encryption + tag).digest(len(plain)))
    return base64.urlsafe_b64encode(sealed).decode().rstrip("=")


def decode_token(token: str | None, scope: bytes) -> Item | None:
    """The ExclusiveStartKey inside a `next_token` this list issued; a 400 for anything else."""
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode((token + "=" * (-len(token) % 4)).encode())
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise BadRequest(BAD_TOKEN) from None
    tag, cipher = raw[:TOKEN_TAG_BYTES], raw[TOKEN_TAG_BYTES:]
    encryption, signing = _token_keys()
    plain = _xor(cipher, hashlib.shake_256(encryption + tag).digest(len(cipher)))
    expected = hmac.new(signing, scope + b"\0" + plain, hashlib.sha256).digest()[:TOKEN_TAG_BYTES]
    if not cipher or not hmac.compare_digest(tag, expected):
        raise BadRequest(BAD_TOKEN)
    key = json.loads(plain)  # sealed by encode_token: a dict of key attribute names to strings
    if not (isinstance(key, dict) and PK in key and SK in key):
        raise BadRequest(BAD_TOKEN)
    return key


def _xor(data: bytes, stream: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, stream))


def _token_keys() -> tuple[bytes, bytes]:
    """(encryption key, signing key), derived from the deployment's signing key."""
    from .auth import signing_key  # auth imports this module

    master = signing_key()
    return (hmac.new(master, b"page-token encryption", hashlib.sha256).digest(),
            hmac.new(master, b"page-token signature", hashlib.sha256).digest())
