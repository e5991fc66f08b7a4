"""The audit trail: one item per event, per bucket (registry-wide ones under no bucket)."""

from __future__ import annotations

from . import keys, table
from .entities import Event
from .expressions import Action, Filter
from .pages import list_page


def put(event: Event) -> Action:
    """An event, written in the transaction of its change."""
    return table.put_action(event.to_item())


def in_actions(actions: list[Action]) -> list[Event]:
    """The events a transaction's actions write (to publish once it committed)."""
    return [Event.from_item(a["Put"]["Item"]) for a in actions if "Put" in a and keys.is_event(a["Put"]["Item"])]


def events_page(bucket: str | None, token: str | None, limit: int, *, created_after: str | None = None,
                created_before: str | None = None, actor: str | None = None) -> tuple[list[Event], str | None]:
    """A bucket's events (None: registry-wide ones), newest first, one page: those at or
    after `created_after` and before `created_before` (a key condition: the sort key starts
    with the time), by `actor` (a filter on the page read: it may be short)."""
    where = Filter()
    if actor:
        where.equals("actor", actor)
    items, next_token = list_page(keys.events_pk(bucket), token, prefix=keys.EVENT_PREFIX, newest_first=True,
                                  between=keys.events_between(created_after, created_before)
                                  if created_after or created_before else None,
                                  limit=limit, where=where)
    return [Event.from_item(i) for i in items], next_token
