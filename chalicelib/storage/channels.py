"""Channels (each carrying its copy of the version it holds) and their history."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from . import keys, table
from .entities import Channel, HistoryEntry
from .expressions import Action, Change
from .pages import list_page
from .schema import GSI2, SK

Fields = dict[str, Any]  # attributes a write sets
_NOT_CHECKED = object()


# ---- reads ------------------------------------------------------------------------------

def channel(bucket: str, name: str) -> Channel | None:
    """A channel (GetItem): the consumer query's one read."""
    item = table.get(keys.channel(bucket, name))
    return Channel.from_item(item) if item else None


def of_bucket(bucket: str) -> list[Channel]:
    """All channels of a bucket (one Query page in practice: channels are few)."""
    return [Channel.from_item(i) for i in table.query_all(keys.bucket_pk(bucket), prefix=keys.CHANNELS)]


def channels_page(bucket: str, token: str | None, limit: int) -> tuple[list[Channel], str | None]:
    items, next_token = list_page(keys.bucket_pk(bucket), token, prefix=keys.CHANNELS, limit=limit)
    return [Channel.from_item(i) for i in items], next_token


def restricted_flags(bucket: str) -> dict[str, bool]:
    """Each channel's name and whether it is restricted (a projection of the channel Query)."""
    items = table.query_all(keys.bucket_pk(bucket), prefix=keys.CHANNELS, projection=f"{SK}, restricted")
    return {item[SK][len(keys.CHANNELS):]: bool(item.get("restricted")) for item in items}


def holding_revoked(limit: int) -> tuple[list[Channel], bool]:
    """Channels that hold a revoked version (the sparse GSI2 `REVOKED_CHANNELS`), one page of
    at most `limit`: (channels, more remain)."""
    items, last = table.query_page(keys.REVOKED_CHANNELS, index=GSI2, limit=limit)
    return [Channel.from_item(i) for i in items], last is not None


def history_page(bucket: str, channel: str, token: str | None, limit: int) -> tuple[list[HistoryEntry], str | None]:
    """The channel's history, newest first, one page."""
    items, next_token = list_page(keys.bucket_pk(bucket), token, prefix=keys.history_prefix(channel),
                                  newest_first=True, limit=limit)
    return [HistoryEntry.from_item(i) for i in items], next_token


def history_newest_first(bucket: str, channel: str) -> Iterator[HistoryEntry]:
    for item in table.query_all(keys.bucket_pk(bucket), prefix=keys.history_prefix(channel), newest_first=True):
        yield HistoryEntry.from_item(item)


def history_at(bucket: str, channel: str, at: str) -> HistoryEntry | None:
    """The channel's history entry in force at `at` (ISO, as `clock.iso` writes it): the newest
    entry at or before that moment, or None. One Query, newest first, Limit 1."""
    prefix = keys.history_prefix(channel)
    items, _ = table.query_page(keys.bucket_pk(bucket), prefix=prefix, at_most=f"{prefix}{at}~",
                                newest_first=True, limit=1)
    return HistoryEntry.from_item(items[0]) if items else None


# ---- writes -----------------------------------------------------------------------------

def create(new: Channel) -> Action:
    """Put a new channel; fails if it exists."""
    return Change(new.item_key()).absent().put(new.to_item())


def point(bucket: str, name: str, fields: Fields, *, held_revoked: bool, expect: Any = _NOT_CHECKED,
          defaults: Fields | None = None) -> Action:
    """Set a channel's fields (None removes one): its copy of a version and who moved it.

    `held_revoked` keeps it on the index of channels serving a revoked version. `expect` is
    the version number it must still hold (None: none); left out, it is not checked.
    `defaults` creates the channel when missing (the managed `latest`), with these fields
    set only where absent; without, the channel must exist.
    """
    change = Change(keys.channel(bucket, name)).set_all(fields)
    index = keys.revoked_channel_index(bucket, name)
    if held_revoked:
        change.set_all(index)
    else:
        change.remove(*index)
    for field, value in (defaults or {}).items():
        change.set_if_absent(field, value)
    if defaults is None:
        change.exists()
    if expect is not _NOT_CHECKED:
        change.holds("number", expect)
    return change.action()


def update(bucket: str, name: str, fields: Fields) -> Action:
    """Set fields of an existing channel (its description, restricted flag)."""
    return Change(keys.channel(bucket, name)).set_all(fields).exists().action()


def holds(bucket: str, name: str, number: int | None) -> Action:
    """A guard that a channel still holds version `number` (None: nothing, or no channel)."""
    return table.guard(Change(keys.channel(bucket, name)).holds("number", number).check())


def delete(bucket: str, name: str) -> Action:
    return Change(keys.channel(bucket, name)).delete()


def put_history(entry: HistoryEntry) -> Action:
    return table.put_action(entry.to_item())


def delete_history(bucket: str, channel: str) -> None:
    """Delete a channel's whole history, in bulk (before the channel itself)."""
    items = table.query_all(keys.bucket_pk(bucket), prefix=keys.history_prefix(channel), projection="PK, SK")
    table.delete_many([keys.primary(i) for i in items])


def channels(refs: list[tuple[str, str]]) -> list[Channel]:
    """Channels by (bucket, name), one BatchGet per 100; missing ones left out."""
    return [Channel.from_item(i) for i in table.get_many([keys.channel(b, c) for b, c in refs])] if refs else []
