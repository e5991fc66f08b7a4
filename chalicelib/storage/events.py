"""The audit trail: one item per event, per bucket (registry-wide ones under no bucket)."""

from __future__ import annotations

from . import keys, table
from .entities import Event
from .expressions import Action
from .pages import list_page


def put(event: Event) -> Action:
    """An event, written in the transaction of its change."""
    return table.put_action(event.to_item())


def in_actions(actions: list[Action]) -> list[Event]:
    """The events a transaction's actions write (to publish once it committed)."""
    return [Event.from_item(a["Put"]["Item"]) for a in actions if "Put" in a and keys.is_event(a["Put"]["Item"])]


def events_page(bucket: str | None, token: str | None, limit: int) -> tuple[list[Event], str | None]:
    """A bucket's events (None: registry-wide ones), newest first, one page."""
    items, next_token = list_page(keys.events_pk(bucket), token, prefix=keys.EVENT_PREFIX, newest_first=True,
                                  limit=limit)
    return [Event.from_item(i) for i in items], next_token
