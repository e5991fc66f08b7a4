"""moto in server mode as the local stand-in for DynamoDB, S3 and SQS (local runner and tests only).

Three things on top of moto's own threaded server:

- **One DynamoDB request at a time.** moto's threaded server does not make a DynamoDB
  transaction atomic against concurrent requests (a conflicting request can interleave with,
  or break, a transaction half-way), which real DynamoDB guarantees. Serialising DynamoDB
  requests at the server restores that guarantee while clients stay fully concurrent: races
  between a read and a conditional write still happen, exactly as they do on AWS. S3 and SQS
  requests pass freely.
- **A gate** (`RequestGate`) every request goes through, so the local runner can take a
  consistent copy of moto's state (`paused()`: new requests wait, running ones finish) and
  knows whether anything changed since its last copy (`changes`).
- **Memory that stays flat** (`patch_moto()`): moto 5 backs up a `TransactWriteItems` by
  deep-copying the whole table once per item of the transaction, and remembers every item
  object it ever created (`BaseModel.instances_tracked`, for its dashboard), so the copies are
  never freed: each write made the process bigger by the size of the table. The patch keeps
  an undo log of the items a transaction touches instead, and stops the tracking of DynamoDB
  items and SQS messages. It also answers a table Query from the items its key condition
  selects instead of sorting and weighing the whole table first. moto's answers stay the
  same; only its cost changes.

Nothing here ships to Lambda: the Lambda package holds `app.py` and `chalicelib/` only.
"""

from __future__ import annotations

import copy
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

# Operations that never change moto's state (by X-Amz-Target); everything else counts as a change.
_READS = frozenset({
    "GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems", "DescribeTable", "ListTables",
    "DescribeTimeToLive", "DescribeContinuousBackups", "ListTagsOfResource", "DescribeEndpoints",
    "ReceiveMessage", "GetQueueUrl", "GetQueueAttributes", "ListQueues", "ListQueueTags",
})


def changes_state(environ: dict[str, Any]) -> bool:
    """Whether a request may change moto's state: a JSON-protocol call (DynamoDB, SQS) that is
    not a known read, or an S3 (REST) request other than GET/HEAD/OPTIONS."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return target.rsplit(".", 1)[-1] not in _READS
    return environ.get("REQUEST_METHOD", "") not in ("GET", "HEAD", "OPTIONS")


class RequestGate:
    """WSGI wrapper: each DynamoDB request runs alone, its response read inside the lock; every
    request counts as running until its response is built, so `paused()` sees a quiet moto.

    Only DynamoDB needs the lock (transactions); S3 and SQS requests pass freely, so an SQS
    poll never holds up a DynamoDB call.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app, self.lock = app, threading.Lock()
        self.changes = 0  # requests served so far that may have changed the state
        self._state = threading.Condition()
        self._running = 0
        self._paused = False

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self._state:
            self._state.wait_for(lambda: not self._paused)
            self._running += 1
        try:
            if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):
                with self.lock:
                    return list(self.app(environ, start_response))
            return list(self.app(environ, start_response))
        finally:
            with self._state:
                self._running -= 1
                if changes_state(environ):
                    self.changes += 1
                self._state.notify_all()

    @contextmanager
    def paused(self, timeout: float | None = None) -> Iterator[bool]:
        """Hold new requests back and wait (up to `timeout` s) for running ones to finish; yields
        whether moto is quiet (False: a request was still running when the wait ran out)."""
        with self._state:
            self._state.wait_for(lambda: not self._paused)
            self._paused = True
            quiet = self._state.wait_for(lambda: self._running == 0, timeout=timeout)
        try:
            yield quiet
        finally:
            with self._state:
                self._paused = False
                self._state.notify_all()

    def close(self, timeout: float | None = None) -> bool:
        """Hold every request back from now on (for a final copy of the state): `paused()`
        without the end. Returns whether moto is quiet."""
        with self._state:
            self._state.wait_for(lambda: not self._paused)
            self._paused = True
            return self._state.wait_for(lambda: self._running == 0, timeout=timeout)


class SerializedMotoServer(ThreadedMotoServer):
    """moto's threaded server behind a `RequestGate`, with `patch_moto()` applied."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        patch_moto()
        self.gate = RequestGate(DomainDispatcherApplication(create_backend_app))

    def _server_entry(self) -> None:
        self._server = make_server(self._ip_address, self._port, self.gate, True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()


# ---- moto, patched to keep memory flat -------------------------------------------------------

class _TablesByReference(threading.local):
    """`copy` as moto's DynamoDB models see it: while a patched transaction runs in this
    thread, the "backup" of a table is the live table itself (its undo log does the rollback);
    every other copy is a real one."""

    in_transaction = False

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        from moto.dynamodb.models.table import Table

        if self.in_transaction and isinstance(value, Table):
            return value
        return copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def patch_moto() -> None:
    """Apply the three patches described in the module docstring; idempotent."""
    import moto.dynamodb.models as models
    from moto.core.common_models import BaseModel
    from moto.dynamodb.models.dynamo_type import Item
    from moto.dynamodb.models.table import Table
    from moto.sqs.models import Message

    if getattr(models.DynamoDBBackend.transact_write_items, "_local", False):
        return
    tables_by_reference = _TablesByReference()
    models.copy = tables_by_reference  # type: ignore[assignment]
    models.DynamoDBBackend.transact_write_items = _with_undo_log(
        models.DynamoDBBackend.transact_write_items, tables_by_reference)
    Table.query = _from_partition(Table.query)
    BaseModel.__new__ = _untracked((Item, Message), BaseModel.__new__)  # type: ignore[method-assign]


def _untracked(classes: tuple[type, ...], original: Callable[..., Any]) -> Any:
    """`BaseModel.__new__`, except that instances of `classes` (DynamoDB items, SQS messages:
    one or more per request) are not added to moto's `instances_tracked` lists, which keep
    every instance ever made alive. (Replacing the lists would not last: moto empties them
    by assigning new ones on every reset.)"""

    def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:
        if issubclass(cls, classes):
            return object.__new__(cls)
        return original(cls, *args, **kwargs)

    return staticmethod(__new__)


def _with_undo_log(original: Callable[..., Any], tables: _TablesByReference) -> Callable[..., Any]:
    """moto's transaction, with its whole-table backups replaced by an undo log of the items
    it touches, taken once before it starts and replayed backwards if it fails. Conditions,
    cancellation reasons and all-or-nothing stay moto's own. (Stream records of a failed
    transaction are not undone: the registry's table has no stream.)"""

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> Any:
        undo = [entry for action in transact_items if (entry := _before(self, action)) is not None]
        tables.in_transaction = True
        try:
            return original(self, transact_items)
        except BaseException:
            for table, hash_value, range_value, item in reversed(undo):
                _restore(table, hash_value, range_value, item)
            raise
        finally:
            tables.in_transaction = False

    transact_write_items._local = True  # type: ignore[attr-defined]
    return transact_write_items


def _before(backend: Any, action: dict[str, Any]) -> tuple[Any, Any, Any, Any] | None:
    """(table, hash key, range key, a copy of the item or None) for one transaction action;
    None when the action names no item moto could write (moto rejects it itself)."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    op = next(iter(action.values()), None)
    if not isinstance(op, dict):
        return None
    try:
        table = backend.get_table(op.get("TableName"))
    except Exception:
        return None
    key = op.get("Item") if "Item" in op else op.get("Key")
    if not isinstance(key, dict) or table.hash_key_attr not in key:
        return None
    if table.range_key_attr and table.range_key_attr not in key:
        return None
    try:
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        return table, hash_value, range_value, copy.deepcopy(table.get_item(hash_value, range_value))
    except Exception:
        return None


def _restore(table: Any, hash_value: Any, range_value: Any, item: Any) -> None:
    """Put one item back as it was (None: it did not exist)."""
    if range_value is None:
        if item is None:
            table.items.pop(hash_value, None)
        else:
            table.items[hash_value] = item
        return
    partition = table.items[hash_value]
    if item is None:
        partition.pop(range_value, None)
        if not partition:
            del table.items[hash_value]
    else:
        partition[range_value] = item


def _from_partition(original: Callable[..., Any]) -> Callable[..., Any]:
    """moto answers every table Query by sorting the whole table, then keeping the asked
    partition, and weighs (`Item.size()`, for its 1 MB page) each item it passes over, those
    outside the sort key condition too; hand it only the asked partition's items that the sort
    key condition (`begins_with`, `BETWEEN`, `<`, ...) selects, a contiguous run in key order,
    with the item just before and just after that run. The answer is the same: moto ends a page
    that is full with a LastEvaluatedKey when any item follows it (as DynamoDB does when the
    Limit is reached), and that neighbour is what follows the last selected one. Index queries
    are left as they are."""

    def query(self: Any, hash_key: Any, range_comparison: Any = None, range_objs: Any = (), *args: Any,
              **kwargs: Any) -> Any:
        index_name = args[4] if len(args) > 4 else kwargs.get("index_name")
        if index_name or hash_key is None or not self.range_key_attr:
            return original(self, hash_key, range_comparison, range_objs, *args, **kwargs)
        partition = list(self.items[hash_key].values()) if hash_key in self.items else []
        if range_comparison:
            partition = _selected_and_neighbours(partition, range_comparison, range_objs)
        self.all_items = lambda: partition  # shadows the method for this one call
        try:
            return original(self, hash_key, range_comparison, range_objs, *args, **kwargs)
        finally:
            del self.all_items

    query._local = True  # type: ignore[attr-defined]
    return query


def _selected_and_neighbours(items: list[Any], comparison: str, bounds: list[Any]) -> list[Any]:
    """The items whose sort key meets the condition (as DynamoType.compare decides, less its
    per-item cost: a string key is its own value), in key order, with one item either side."""
    from moto.dynamodb.comparisons import get_comparison_func

    def value(item: Any) -> Any:
        return item.range_key.value if item.range_key.type == "S" else item.range_key.cast_value

    test, limits = get_comparison_func(comparison), [bound.cast_value for bound in bounds]
    ordered = sorted(((value(item), item) for item in items), key=lambda pair: pair[0])
    selected = [n for n, (key, _) in enumerate(ordered) if test(key, *limits)]
    return [item for _, item in ordered[max(selected[0] - 1, 0):selected[-1] + 2]] if selected else []
