"""The registry itself: the HCP organization and project the deployment is, the HMAC key of
its HCP Terraform run task, and the HCP registry's settings (one item each)."""

from __future__ import annotations

from . import keys, table
from .entities import Location, RegistrySettings, RunTaskKey
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


def settings() -> RegistrySettings | None:
    """The HCP registry's settings (GetItem), or None while they were never changed."""
    item = table.get(keys.registry_settings())
    return RegistrySettings.from_item(item) if item else None


def put_settings(new: RegistrySettings, before: RegistrySettings | None) -> Action:
    """A Put of the settings on the condition that they are still as read (`before`, by its
    `rev`; None: never written), so of two concurrent changes one fails."""
    change = Change(keys.registry_settings())
    return (change.absent() if before is None else change.equals("rev", before.rev)).put(new.to_item())


def _keep(new: Location | RunTaskKey) -> Change:
    """An UpdateItem that sets each field of `new` only where the stored item has none."""
    change = Change(new.item_key())
    for field, value in new.attributes().items():
        change.set_if_absent(field, value)
    return change
