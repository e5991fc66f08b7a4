"""The audit trail: one item per event, per bucket (registry-wide ones under no bucket)."""

from __future__ import annotations

from typing import Any

from . import keys, table
from .expressions import Action
from .pages import list_page

Record = dict[str, Any]


def put(bucket: str | None, fields: Record) -> Action:
    """An event (`time` and `id` among its fields), written in the transaction of its change."""
    return table.put_action({**keys.event(bucket, fields["time"], fields["id"]), **fields})


def in_actions(actions: list[Action]) -> list[Record]:
    """The events a transaction's actions write (to publish once it committed)."""
    return [keys.fields(a["Put"]["Item"]) for a in actions if "Put" in a and keys.is_event(a["Put"]["Item"])]


def events_page(bucket: str | None, token: str | None, limit: int) -> tuple[list[Record], str | None]:
    """A bucket's events (None: registry-wide ones), newest first, one page."""
    items, next_token = list_page(keys.events_pk(bucket), token, prefix=keys.EVENT_PREFIX, newest_first=True,
                                  limit=limit)
    return [keys.fields(i) for i in items], next_token
