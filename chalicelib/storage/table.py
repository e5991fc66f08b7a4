"""The table itself: DynamoDB calls, their errors in storage's terms, and transactions.

The primitives the access-pattern modules of this package build on (they alone import it):
one GetItem, BatchGetItem, Query page, write, bulk delete or TransactWriteItems each, with
values serialised here and DynamoDB's errors raised as storage's own (errors.py).
"""

from __future__ import annotations

import json
import os
import random
import re
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from ..runtime import aws
from .errors import ConditionFailed, Throttled, TooLarge
from .schema import GSI1, GSI1PK, GSI1SK, GSI2, GSI2PK, GSI2SK, GSI3, GSI3PK, GSI3SK, PK, SK

if TYPE_CHECKING:
    from .expressions import Filter

TRANSACTION_LIMIT = 100
TRANSACTION_BYTES = 3_500_000  # DynamoDB caps a transaction at 4 MB; the estimate keeps a margin
ITEM_BYTES = 350_000  # DynamoDB caps an item at 400 KB; item_size() estimates, so keep a margin
BATCH_WRITE_LIMIT = 25  # requests per BatchWriteItem call (DynamoDB's cap)
BATCH_WRITE_ATTEMPTS = 8  # calls per batch while DynamoDB leaves some of it unprocessed
BATCH_WRITE_DELAY = 0.05  # seconds; doubles per resend up to 32×, full jitter
# DynamoDB's limits on a key attribute's value, in UTF-8 bytes: a request naming a longer one
# is refused (ValidationException), so no item has one. Reads of such a key find nothing
# (`keyable`), without asking; a write of one is refused as TooLarge, in the registry's words.
PARTITION_KEY_BYTES, SORT_KEY_BYTES = 2048, 1024
_KEY_LIMITS = {**dict.fromkeys((PK, GSI1PK, GSI2PK, GSI3PK), PARTITION_KEY_BYTES),
               **dict.fromkeys((SK, GSI1SK, GSI2SK, GSI3SK), SORT_KEY_BYTES)}
KEY_TOO_LONG = (f"a value is too long to be part of a key of the registry's table (DynamoDB allows "
                f"{PARTITION_KEY_BYTES:,} bytes in a partition key, {SORT_KEY_BYTES:,} in a sort key)")
ITEM_TOO_LARGE = "a change would make an item larger than DynamoDB's 400 KB item limit"
REQUEST_TOO_LARGE = "a request to DynamoDB was past one of its size limits"
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

Item = dict[str, Any]


def table_name() -> str:
    return os.environ.get("REGISTRY_TABLE", "packer-registry")


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
                "InternalServerError", "ServiceUnavailable", "TransactionInProgressException",
                "TransactionConflictException"}  # a single write to an item a transaction is writing


def keyable(key: Item) -> bool:
    """Whether every key attribute of `key` (a key, an item, or a Query's key values) is
    within DynamoDB's limits: only then may it name an item."""
    return all(len(str(value).encode()) <= _KEY_LIMITS[name] for name, value in key.items() if name in _KEY_LIMITS)


def _oversized(message: str) -> bool:
    """Whether DynamoDB's ValidationException says something is past a size limit."""
    return any(word in message.lower() for word in ("size", "bytes"))


def _too_large(message: str) -> TooLarge:
    """DynamoDB's refusal of a key or an item past its limits, in the registry's words
    (its own text names neither the field nor what to do)."""
    said = message.lower()
    return TooLarge(KEY_TOO_LONG if "key" in said else ITEM_TOO_LARGE if "item size" in said else REQUEST_TOO_LARGE)


def _call(operation: str, **kwargs: Any) -> Any:
    """One DynamoDB call, with its errors in the registry's terms."""
    try:
        return getattr(_db(), operation)(**kwargs)
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        if code == "ConditionalCheckFailedException":
            raise ConditionFailed(str(exc)) from exc
        if code in _UNAVAILABLE:
            raise Throttled(f"DynamoDB is busy ({code}); try again") from exc
        if code == "ValidationException" and _oversized(exc.response["Error"].get("Message", "")):
            raise _too_large(exc.response["Error"].get("Message", "")) from exc
        raise


def get(key: Item, consistent: bool = True) -> Item | None:
    if not keyable(key):
        return None
    response = _call("get_item", TableName=table_name(), Key=serialize(key), ConsistentRead=consistent)
    return deserialize(response["Item"]) if "Item" in response else None


def get_many(keys: list[Item]) -> list[Item]:
    """BatchGetItem (strongly consistent) in batches of 100, following UnprocessedKeys; order not kept."""
    found: list[Item] = []
    unique = list({(k[PK], k[SK]): k for k in keys if keyable(k)}.values())
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
    """Delete items by key, in BatchWriteItem calls (_write_many).

    Neither atomic nor conditioned: for the many items a bucket, channel or version takes
    with it, where each delete stands alone and repeating the whole finishes the job. The
    caller deletes in an order a repeat can recompute (what is derived from an item before
    the item) and keeps its last, conditioned step in a transaction after this."""
    unique = {(k[PK], k[SK]): {PK: k[PK], SK: k[SK]} for k in keys}  # a batch may not name an item twice
    _write_many([{"DeleteRequest": {"Key": serialize(k)}} for k in unique.values()], "deletes")


def put_many(items: list[Item]) -> None:
    """Put items (new ones, or ones that may be overwritten whole), in BatchWriteItem calls
    (_write_many): neither atomic nor conditioned, so putting the same items again is harmless."""
    unique = {(i[PK], i[SK]): i for i in items}
    _write_many([{"PutRequest": {"Item": serialize(i)}} for i in unique.values()], "puts")


def _write_many(requests: list[dict[str, Any]], what: str) -> None:
    """BatchWriteItem of `requests` (PutRequests or DeleteRequests, serialised: `what` says which),
    25 a call, resending what DynamoDB leaves in UnprocessedItems (it does under throttling) after a
    jittered exponential backoff; Throttled (a 503, or a Lambda retry) if some remain after
    BATCH_WRITE_ATTEMPTS calls."""
    for start in range(0, len(requests), BATCH_WRITE_LIMIT):
        pending: dict[str, Any] = {table_name(): requests[start:start + BATCH_WRITE_LIMIT]}
        for attempt in range(BATCH_WRITE_ATTEMPTS):
            if attempt:
                backoff(attempt, BATCH_WRITE_DELAY)
            pending = _call("batch_write_item", RequestItems=pending).get("UnprocessedItems") or {}
            if not pending:
                break
        else:
            left = sum(len(r) for r in pending.values())
            raise Throttled(f"DynamoDB is busy ({left} {what} left unprocessed after {BATCH_WRITE_ATTEMPTS} "
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
    between: tuple[str, str] | None = None,
    newest_first: bool = False,
    limit: int | None = None,
    start: Item | None = None,
    projection: str | None = None,
    where: Filter | None = None,
) -> tuple[list[Item], Item | None]:
    """One Query page on the table or an index: (items, LastEvaluatedKey or None).

    The sort key may be narrowed by one of `prefix`, `at_most` (≤), `after` (>) or
    `between` (low ≤ key ≤ high). `where` filters the page read (`limit` items at most are
    read, fewer may come back)."""
    hash_key, range_key = {None: (PK, SK), GSI1: (GSI1PK, GSI1SK), GSI2: (GSI2PK, GSI2SK), GSI3: (GSI3PK, GSI3SK)}[index]
    if not keyable({hash_key: partition, range_key: prefix or ""}):
        return [], None
    condition, values = "#h = :h", {":h": partition}
    if between:
        condition, values[":p"], values[":u"] = condition + " AND #r BETWEEN :p AND :u", *between
    elif prefix and at_most:
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
        "ExpressionAttributeNames": {"#h": hash_key, **({"#r": range_key} if prefix or at_most or after or between
                                                         else {})},
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
    if where is not None and where.expression:
        kwargs["FilterExpression"] = where.expression
        kwargs["ExpressionAttributeNames"].update(where.names)
        kwargs["ExpressionAttributeValues"].update(serialize(where.values))
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
    writes are dropped, repeated guards of one item are kept once, and Updates of one item
    become one (e.g. the bucket's summary and its counts, written by different rules)."""
    written = {_action_key(a) for a in actions if not a.get(GUARD)}
    guarded: set[tuple[str, str]] = set()
    updates: dict[tuple[str, str], int] = {}
    kept: list[dict[str, Any]] = []
    for action in actions:
        key = _action_key(action)
        if action.get(GUARD):
            if key in written or key in guarded:
                continue
            guarded.add(key)
        elif "Update" in action and key in updates:
            kept[updates[key]] = _merge_updates(kept[updates[key]], action)
            continue
        elif "Update" in action:
            updates[key] = len(kept)
        kept.append(action)
    return kept


_VERBS = re.compile(r"(?:^| )(SET|REMOVE|ADD|DELETE) ")
_PATH = re.compile(r"^\s*([^\s=]+)")
_VALUE = re.compile(r":\w+")


def _top_level(text: str) -> list[str]:
    """The clauses of one verb's part (`#a = :v0, #b = if_not_exists(#b, :v1)`): split at
    the commas outside parentheses."""
    found, depth, start = [], 0, 0
    for at, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            found.append(text[start:at].strip())
            start = at + 1
    return [*found, text[start:].strip()]


def _join(verb: str, clause: str, kept: dict[str, str], values: dict[str, Any]) -> None:
    """Add one clause to those of its verb, as applying the updates in turn would: a second
    ADD of a number to one path is summed into the first, a second SET of one path replaces
    the first, a second REMOVE of it is dropped (DynamoDB refuses two clauses on one path)."""
    path = _PATH.match(clause).group(1)  # type: ignore[union-attr]  # every clause starts with its path
    if path in kept and verb == "ADD":
        first, second = kept[path].split()[1], clause.split()[1]
        if isinstance(values[first], int) and isinstance(values[second], int):
            values[first] += values.pop(second)
            return
        raise ValueError(f"two updates of one item ADD to {path} other than numbers")
    if path in kept and (verb not in ("SET", "REMOVE") or path in clause.partition("=")[2]):
        raise ValueError(f"two updates of one item {verb} {path}")  # e.g. two increments: not merged
    kept[path] = clause


def _merge_updates(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """One Update doing both: clauses joined per verb, conditions joined by AND, the second's
    value placeholders renamed apart (name placeholders are the attribute's own name)."""
    a, b = first["Update"], second["Update"]
    values = dict(a.get("ExpressionAttributeValues") or {})
    renamed: dict[str, str] = {}
    for placeholder, value in (b.get("ExpressionAttributeValues") or {}).items():
        renamed[placeholder] = f":m{len(values)}"
        while renamed[placeholder] in values:
            renamed[placeholder] += "_"
        values[renamed[placeholder]] = value

    def rename(text: str) -> str:
        return _VALUE.sub(lambda m: renamed.get(m.group(0), m.group(0)), text)

    names = {**(a.get("ExpressionAttributeNames") or {})}
    for placeholder, name in (b.get("ExpressionAttributeNames") or {}).items():
        if names.setdefault(placeholder, name) != name:
            raise ValueError(f"two updates of one item name {placeholder} differently")
    clauses: dict[str, dict[str, str]] = {}  # verb → the path each clause writes → the clause
    for expression in (a["UpdateExpression"], rename(b["UpdateExpression"])):
        parts = _VERBS.split(expression)[1:]
        for verb, text in zip(parts[::2], parts[1::2]):
            for clause in _top_level(text):
                _join(verb, clause, clauses.setdefault(verb, {}), values)
    conditions = [c for c in (a.get("ConditionExpression"), b.get("ConditionExpression") and
                              rename(b["ConditionExpression"])) if c]
    body: dict[str, Any] = {"Key": a["Key"],
                            "UpdateExpression": " ".join(f"{v} {', '.join(c.values())}" for v, c in clauses.items())}
    used = set(_VALUE.findall(" ".join([body["UpdateExpression"], *conditions])))
    values = {k: v for k, v in values.items() if k in used}  # a replaced SET's value is gone
    if values:
        body["ExpressionAttributeValues"] = values
    if names:
        body["ExpressionAttributeNames"] = names
    if conditions:
        body["ConditionExpression"] = " AND ".join(conditions)  # each an AND of atoms (expressions.Change)
    return {"Update": body}


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
                raise Throttled(f"DynamoDB is busy ({reasons}); try again") from exc
            if "ValidationError" in reasons and _oversized(error.get("Message", "")):
                raise _too_large(error.get("Message", "")) from exc
        raise


def _wire(action: dict[str, Any]) -> dict[str, Any]:
    (kind, body), = ((k, v) for k, v in action.items() if k != GUARD)
    wired = {"TableName": table_name(), **body}
    for field in ("Item", "Key", "ExpressionAttributeValues"):
        if field in wired:
            wired[field] = serialize(wired[field])
    return {kind: wired}


def action(kind: str, target: Item, *, expression: str | None = None, condition: str | None = None,
           values: Item | None = None, names: dict[str, str] | None = None) -> dict[str, Any]:
    """A transaction action: `kind` is Put (`target` the item), Update, Delete or
    ConditionCheck (`target` the key); empty parts are left out, as DynamoDB requires."""
    body: dict[str, Any] = {"Item" if kind == "Put" else "Key": target}
    for field, part in (("UpdateExpression", expression), ("ConditionExpression", condition),
                        ("ExpressionAttributeValues", values), ("ExpressionAttributeNames", names)):
        if part:
            body[field] = part
    return {kind: body}


def put_action(item: Item) -> dict[str, Any]:
    """An unconditioned Put (of an item whose key is new or may be overwritten)."""
    return action("Put", item)


def delete_action(key: Item) -> dict[str, Any]:
    """An unconditioned Delete."""
    return action("Delete", key)
