"""The registry itself: the HCP organization and project the deployment is, and the HMAC key
of its HCP Terraform run task (one item each)."""

from __future__ import annotations

from . import keys, table
from .entities import Location, RunTaskKey
from .expressions import Action, Change


def location() -> Location | None:
    """The stored organization and project (GetItem), or None before the first HCP request."""
    item = table.get(keys.location())
    return Location.from_item(item) if item else None


def keep_location(new: Location) -> Location:
    """Store `new` unless a location is stored already; either way, the one stored (one
    UpdateItem with if_not_exists per field, so concurrent first requests all get the same)."""
    return Location.from_item(_keep(new).apply())


def run_task_key() -> RunTaskKey | None:
    """The run task's HMAC key (GetItem), or None before the first request for it."""
    item = table.get(keys.run_task())
    return RunTaskKey.from_item(item) if item else None


def keep_run_task_key(new: RunTaskKey) -> RunTaskKey:
    """Store `new` unless a key is stored already; either way, the one stored (so concurrent
    first requests all answer the same key)."""
    return RunTaskKey.from_item(_keep(new).apply())


def replace_run_task_key(new: RunTaskKey) -> Action:
    """An Update action that makes `new` the key (the old one stops at once)."""
    return Change(keys.run_task()).set_all(new.attributes()).action()


def _keep(new: Location | RunTaskKey) -> Change:
    """An UpdateItem that sets each field of `new` only where the stored item has none."""
    change = Change(new.item_key())
    for field, value in new.attributes().items():
        change.set_if_absent(field, value)
    return change
