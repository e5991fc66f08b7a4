"""Retention policies: one item per bucket that has one, in the bucket's partition (deleted
with the bucket), listed by a sparse GSI1 entry (`RETENTION` / `<b>`) so the sweep finds
them without a Scan (the sweep's place among the buckets is on the counts item: sweep.py);
and the reads of a bucket's versions the sweep and the preview need."""

from __future__ import annotations

from . import keys, table
from .entities import RetentionPolicy, Version
from ..domain.enums import VersionStatus
from .errors import ConditionFailed
from .expressions import Action, Change
from .pages import list_page
from .schema import GSI1, GSI1SK


def policy(bucket: str) -> RetentionPolicy | None:
    """The bucket's policy (GetItem), or None."""
    item = table.get(keys.retention(bucket))
    return RetentionPolicy.from_item(item) if item else None


def put(new: RetentionPolicy, previous: RetentionPolicy | None) -> list[Action]:
    """Set the policy, replacing `previous` as read (None: there was none), on an existing bucket."""
    change = Change(new.item_key())
    change = change.equals("id", previous.id) if previous else change.absent()
    return [change.put(new.to_item()), table.guard(Change(keys.bucket(new.bucket)).exists().check())]


def remove(previous: RetentionPolicy) -> Action:
    """Delete the policy as read."""
    return Change(previous.item_key()).equals("id", previous.id).delete()


def record_progress(policy_: RetentionPolicy, **fields: object) -> bool:
    """Store the sweep's progress on the policy it read; False (nothing written) when the
    policy was replaced or removed meanwhile."""
    change = Change(policy_.item_key()).equals("id", policy_.id)
    for field, value in fields.items():
        change.set(field, value)
    try:
        change.apply()
    except ConditionFailed:
        return False
    return True


def policies_after(bucket: str | None, limit: int) -> list[RetentionPolicy]:
    """Up to `limit` policies of the buckets named after `bucket` (None: from the first), by
    bucket name: one Query of the sparse GSI1 `RETENTION`."""
    items, _ = table.query_page(keys.RETENTION, index=GSI1, after=bucket, limit=limit)
    return [RetentionPolicy.from_item(i) for i in items]


def save_cursor(after_bucket: str) -> None:
    """Note the last bucket handled on the counts item (`retention_after`), which the sweep
    reads at its start anyway (storage.sweep.counts): no item, nor read, of its own. Touches
    no count, nor `rev`."""
    Change(keys.counts()).set("retention_after", after_bucket).apply()


def oldest_first(bucket: str, after: int | None, limit: int) -> tuple[list[Version], bool]:
    """Up to `limit` versions of the bucket after version number `after` (None: from the
    oldest), oldest first (GSI1 `VERSIONS#<b>`; HCP drafts come after every numbered
    version): (versions, more remain)."""
    start = keys.version_sk(after) if after is not None else None
    items, last = table.query_page(keys.versions_pk(bucket), index=GSI1, after=start, limit=limit)
    numbered = _numbered(items)
    return numbered, last is not None and len(numbered) == len(items)


def oldest_first_page(bucket: str, token: str | None, limit: int) -> tuple[list[Version], str | None]:
    """One page of the bucket's versions oldest first, for clients (sealed `next_token`);
    drafts, which have no number yet, end the list."""
    items, next_token = list_page(keys.versions_pk(bucket), token, index=GSI1, limit=limit)
    numbered = _numbered(items)
    return numbered, next_token if len(numbered) == len(items) else None


def _numbered(items: list[table.Item]) -> list[Version]:
    """The versions among index items, up to the first draft (drafts sort after every
    numbered version: keys.draft_index)."""
    drafts = keys.draft_index(bucket="", fingerprint="")[GSI1SK]
    found = []
    for item in items:
        if str(item[GSI1SK]).startswith(drafts):
            break
        found.append(Version.from_item(item))
    return found


def active_newest_first(bucket: str, wanted: int, read_at_most: int) -> tuple[list[int], bool]:
    """The numbers of the bucket's newest active versions, newest first, until `wanted` are
    found or `read_at_most` versions were read (Query pages of 100): (numbers, whether the
    read stopped before it could tell)."""
    found: list[int] = []
    start = None
    read = 0
    while len(found) < wanted:
        if read >= read_at_most:
            return found, True
        items, start = table.query_page(keys.versions_pk(bucket), index=GSI1, newest_first=True,
                                        limit=min(100, read_at_most - read), start=start)
        read += len(items)
        found += [i["number"] for i in items if i.get("status") == VersionStatus.ACTIVE and "number" in i]
        if not start:
            break
    return found[:wanted], False
