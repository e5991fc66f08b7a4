"""The audit trail and the events that go out.

Every change writes an event item (time, actor, action, target, before/after where it
matters) in the same DynamoDB transaction as the change itself, so no change goes
unrecorded: `event_action()` builds that item, `commit()` runs the transaction and then
publishes the events it carried to Amazon EventBridge (bus `EVENT_BUS_NAME`; without one,
a log line says they were not sent). Publishing is best effort after the commit: the
audit trail in DynamoDB is the record, EventBridge the notification.

Actors: a token's name; `s3:<key>` for ingestion; `sweep` for the schedule.
"""

from __future__ import annotations

import json
import os
import secrets
from typing import Any

from . import aws, names, store
from .clock import now_iso
from .errors import NotFound
from .observability import logger

SOURCE = "packer-registry"
Action = dict[str, Any]


def event_action(bucket: str | None, action: str, target: str, actor: str,
                 before: Any = None, after: Any = None, **detail: Any) -> Action:
    """A put of one audit event; `bucket` None files it under the registry-wide trail."""
    at, event_id = now_iso(), secrets.token_hex(6)
    item = {**store.event_key(bucket, at, event_id), "id": event_id, "time": at, "actor": actor,
            "action": action, "bucket": bucket, "target": target, "before": before, "after": after,
            "detail": detail or None}
    return store.put_action(item)


def commit(actions: list[Action]) -> None:
    """store.transact, then publish the audit events among the actions."""
    store.transact(actions)
    publish([store.strip_keys(a["Put"]["Item"]) for a in actions if _is_event(a)])


def _is_event(action: Action) -> bool:
    put = action.get("Put")
    return bool(put) and str(put["Item"].get(store.SK, "")).startswith(store.EVENT_PREFIX)


def publish(events: list[dict[str, Any]]) -> None:
    """PutEvents in batches of 10; failures are logged, never raised (the change is done)."""
    if not events:
        return
    bus = os.environ.get("EVENT_BUS_NAME")
    if not bus:
        logger.info("events not published: no EVENT_BUS_NAME", extra={"actions": [e["action"] for e in events]})
        return
    entries = [{"Source": SOURCE, "DetailType": e["action"], "EventBusName": bus,
                "Detail": json.dumps(e, default=str)} for e in events]
    for start in range(0, len(entries), 10):
        try:
            response = aws.client("events").put_events(Entries=entries[start:start + 10])
            if response.get("FailedEntryCount"):
                logger.warning("some events were not published", extra={"failed": response["FailedEntryCount"]})
        except Exception:  # noqa: BLE001 - publishing must not undo a committed change
            logger.exception("publishing events failed")


def list_events(bucket: str | None, limit: int, token: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """A bucket's events (None: the registry-wide ones), newest first, one Query page."""
    if bucket is not None and names.bad_path_parameter({"bucket": bucket}):  # "" is not None
        raise NotFound(names.bad_path_parameter({"bucket": bucket}) or "")
    partition = store.event_key(bucket, "", "")[store.PK]
    items, next_token = store.list_page(partition, token, prefix=store.EVENT_PREFIX, newest_first=True, limit=limit)
    return [store.strip_keys(i) for i in items], next_token
