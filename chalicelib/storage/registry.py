"""The registry itself: the HCP organization and project the deployment is (one item)."""

from __future__ import annotations

from . import keys, table
from .entities import Location
from .expressions import Change


def location() -> Location | None:
    """The stored organization and project (GetItem), or None before the first HCP request."""
    item = table.get(keys.location())
    return Location.from_item(item) if item else None


def keep_location(new: Location) -> Location:
    """Store `new` unless a location is stored already; either way, the one stored (one
    UpdateItem with if_not_exists per field, so concurrent first requests all get the same)."""
    change = Change(keys.location())
    for field, value in new.attributes().items():
        change.set_if_absent(field, value)
    return Location.from_item(change.apply())
