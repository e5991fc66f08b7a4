"""Buckets: the bucket item (with its summary: version count, latest version, last number)
and the bucket's partition as a whole."""

from __future__ import annotations

from typing import Any

from . import keys, table
from .expressions import Action, Change
from .pages import list_page
from .schema import GSI1, PK, SK

Record = dict[str, Any]


def bucket(name: str, consistent: bool = True) -> Record | None:
    """The bucket (GetItem), or None."""
    item = table.get(keys.bucket(name), consistent=consistent)
    return keys.fields(item) if item else None


def buckets_page(token: str | None, limit: int) -> tuple[list[Record], str | None]:
    """Buckets by name (GSI1 `BUCKETS`), one page."""
    items, next_token = list_page(keys.BUCKETS, token, index=GSI1, limit=limit)
    return [keys.fields(i) for i in items], next_token


def create(fields: Record) -> Action:
    """Put a new bucket (`fields["bucket"]` its name); fails if it exists."""
    name = fields["bucket"]
    return Change(keys.bucket(name)).absent().put({**fields, **keys.bucket_index(name)})


def update(name: str, changes: Record, now: str) -> Action:
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


def numbered(name: str, number: int, previous: int, now: str, latest: str | None) -> Action:
    """Take version number `number` for the bucket (created with the version if new): fails
    unless the last number taken is still `previous` (0: none yet), so two writers never
    take the same number (a bucket from before `last_number` was kept has none, and its
    count is the last number). `latest` also sets `latest_version`."""
    change = (Change(keys.bucket(name)).set("last_number", number).increment("version_count", 1)
              .set("updated_at", now).set_if_absent("created_at", now).set_if_absent("bucket", name)
              .set_if_absent("description", "").set_if_absent("labels", {}).set_all(keys.bucket_index(name)))
    if latest:
        change.set("latest_version", latest)
    return change.equals_or_absent("last_number", previous).action()


def delete(name: str) -> Action:
    return Change(keys.bucket(name)).delete()


def empty(name: str) -> None:
    """Delete everything in the bucket's partition but the bucket item, and the artifact
    index entries of its builds before the builds (so a repeat finds them again); in bulk,
    neither atomic nor conditioned (table.delete_many)."""
    doomed: list[table.Item] = []
    for item in table.query_all(keys.bucket_pk(name)):
        if keys.is_build(item):
            doomed += [keys.artifact(ext, name, item["number"], item["id"]) for ext in item.get("indexed_ids", [])]
        if item[SK] != keys.bucket(name)[SK]:
            doomed.append({PK: item[PK], SK: item[SK]})
    table.delete_many(doomed)
