"""Buckets: the bucket item (with its summary: version count, latest version, last number,
and its aggregates: versions by status, its channels) and the bucket's partition as a whole.

The aggregates are what the bucket list shows for each bucket, so that the list needs no
request per bucket: each is changed in the transaction that changes what it sums up.
A bucket created before they were kept has no `aggregated_since` and shows none (the
page then asks per bucket, as it used to).
"""

from __future__ import annotations

from typing import Any

from . import keys, table
from .entities import Bucket
from .errors import ConditionFailed
from .expressions import Action, Change, Filter
from .pages import list_page
from .schema import GSI1, PK, SK

Fields = dict[str, Any]  # attributes a write sets

AGGREGATED = "aggregated_since"
INDEXED = "indexed_since"  # its versions are all in the status and platform indexes
_COUNT, _CHANNEL, _RESTRICTED = Bucket.COUNT, Bucket.CHANNEL, Bucket.RESTRICTED


def bucket(name: str, consistent: bool = True) -> Bucket | None:
    """The bucket (GetItem), or None."""
    item = table.get(keys.bucket(name), consistent=consistent)
    return Bucket.from_item(item) if item else None


def buckets_page(token: str | None, limit: int, *, prefix: str | None = None,
                 labels: tuple[tuple[str, str], ...] = ()) -> tuple[list[Bucket], str | None, bool]:
    """Buckets by name (GSI1 `BUCKETS`), one page: those whose name starts with `prefix` (a
    key condition), with all of `labels` (a filter on the page read: it may be short, which
    the third value says)."""
    where = Filter()
    for key, value in labels:
        where.entry("labels", key, value)
    items, next_token = list_page(keys.BUCKETS, token, index=GSI1, prefix=prefix, limit=limit, where=where)
    return [Bucket.from_item(i) for i in items], next_token, where.expression is not None


def after(name: str | None, limit: int) -> list[Bucket]:
    """Buckets by name after `name` (None: from the first), one page of at most `limit`."""
    items, _ = table.query_page(keys.BUCKETS, index=GSI1, after=name, limit=limit)
    return [Bucket.from_item(i) for i in items]


def mark_indexed(name: str, now: str) -> bool:
    """Say that every version of the bucket is in the version indexes; False if the bucket is gone."""
    try:
        Change(keys.bucket(name)).set_if_absent(INDEXED, now).exists().apply()
    except ConditionFailed:
        return False
    return True


def create(new: Bucket) -> Action:
    """Put a new bucket (its aggregates kept from now on); fails if it exists."""
    return Change(new.item_key()).absent().put(new.to_item())


def count(name: str, deltas: dict[str, int]) -> Action:
    """ADD `deltas` (a version status or ancestry flag → difference) to the bucket's counts.
    Unconditioned: the transaction's write of the version asserts what they come from."""
    change = Change(keys.bucket(name))
    for field, delta in deltas.items():
        change.add(_COUNT + field, delta)
    return change.action()


def channel_entry(name: str, channel: str, entry: Fields | None) -> Action:
    """The bucket's copy of one channel (its `version` and `version_status`, written with
    every move or refresh of the channel); None removes it (a deleted channel)."""
    change = Change(keys.bucket(name)).set(_CHANNEL + channel, entry)
    return (change.remove(_RESTRICTED + channel) if entry is None else change).action()


def channel_restricted(name: str, channel: str, restricted: bool, if_unset: bool = False) -> Action:
    """Whether the bucket's copy of a channel is restricted (`if_unset`: only when not yet
    known, for the managed `latest`, restricted until someone says otherwise)."""
    change = Change(keys.bucket(name))
    if if_unset:
        return change.set_if_absent(_RESTRICTED + channel, restricted).action()
    return change.set(_RESTRICTED + channel, restricted).action()


def update(name: str, changes: Fields, now: str) -> Action:
    """Set fields of an existing bucket."""
    return Change(keys.bucket(name)).set_all(changes).set("updated_at", now).exists().action()


def summary(name: str, now: str, latest: str | None | bool = False, count_delta: int = 0) -> Action:
    """The bucket's summary: `latest_version` (a name; None removes it; False leaves it) and
    `version_count` (+ `count_delta`), on an existing bucket."""
    change = Change(keys.bucket(name)).set("updated_at", now)
    if latest is not False:
        change.set("latest_version", latest)
    if count_delta:
        change.increment("version_count", count_delta)
    return change.exists().action()


def numbered(name: str, number: int, previous: int, now: str, latest: str | None, new: bool = False) -> Action:
    """Take version number `number` for the bucket (created with the version if `new`): fails
    unless the last number taken is still `previous` (0: none yet), so two writers never
    take the same number (a bucket from before `last_number` was kept has none, and its
    count is the last number). `latest` also sets `latest_version`."""
    change = (Change(keys.bucket(name)).set("last_number", number).increment("version_count", 1)
              .set("updated_at", now).set_if_absent("created_at", now).set_if_absent("bucket", name)
              .set_if_absent("description", "").set_if_absent("labels", {}).set_all(keys.bucket_index(name)))
    if latest:
        change.set("latest_version", latest)
    if new:
        change.set_if_absent(AGGREGATED, now).set_if_absent(INDEXED, now)
    return change.equals_or_absent("last_number", previous).action()


def delete(name: str) -> Action:
    return Change(keys.bucket(name)).delete()


def empty(name: str) -> None:
    """Delete everything in the bucket's partition but the bucket item and its access policy
    (the bucket's last transaction deletes both), and what its builds leave under their
    artifacts (keys.artifact_items) and its enforced-block links in their blocks
    (enforced.link_leftovers) before them (so a repeat finds them again); in bulk,
    neither atomic nor conditioned (table.delete_many)."""
    from .enforced import link_leftovers

    doomed: list[table.Item] = []
    kept = (keys.bucket(name)[SK], keys.ACCESS)
    for item in table.query_all(keys.bucket_pk(name)):
        doomed += link_leftovers(item)
        if keys.is_build(item):
            doomed += [k for ext in item.get("indexed_ids", [])
                       for k in keys.artifact_items(ext, name, item["number"], item["id"])]
        if item[SK] not in kept:
            doomed.append({PK: item[PK], SK: item[SK]})
    table.delete_many(doomed)
