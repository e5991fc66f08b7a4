"""Bulk revocation jobs, and the reads that select their versions a batch at a time.

A job is one item, `REVOCATION#<id>`/`JOB`, indexed on GSI2 `REVOCATIONS_PENDING` (sparse:
only until it is done), so the sweep finds the jobs to advance with one Query, never a Scan.
Progress is claimed a batch at a time under a condition on the job's `seq` as read, and
released under the same condition, so two sweeps never apply the same batch.
"""

from __future__ import annotations

from typing import Any

from . import keys, table
from .entities import Draft, RevocationJob, Version
from .errors import ConditionFailed
from .expressions import Action, Change, Filter
from .schema import GSI1, GSI2

Cursor = dict[str, Any]  # where a Query stopped (LastEvaluatedKey), opaque outside storage


def create(job: RevocationJob) -> Action:
    """Put a new job (pending); fails if its id exists."""
    return Change(job.item_key()).absent().put(job.to_item())


def job(job_id: str) -> RevocationJob | None:
    """The job (GetItem, strongly consistent), or None."""
    item = table.get(keys.revocation_job(job_id))
    return RevocationJob.from_item(item) if item else None


def pending(limit: int) -> list[RevocationJob]:
    """Jobs not done yet, oldest first: one Query of the sparse index (eventually
    consistent: re-read a job before acting on it)."""
    items, _ = table.query_page(keys.REVOCATIONS_PENDING, index=GSI2, limit=limit)
    return [RevocationJob.from_item(i) for i in items]


def claim(read: RevocationJob, start: Cursor | None, cursor: Cursor | None, exhausted: bool, status: str,
          now: str) -> RevocationJob | None:
    """Claim the batch from `start` to `cursor` (`exhausted`: nothing after it), if the job is
    still as read (`seq`); the job as it is after, or None when another sweep got there first."""
    change = Change(read.item_key()).bump("seq", read.seq).set("cursor", cursor).set("exhausted", exhausted) \
        .set("claim", {"from": start, "at": now}).set("status", status).set("updated_at", now)
    try:
        return RevocationJob.from_item(change.apply())
    except ConditionFailed:
        return None


def release(claimed: RevocationJob, fields: dict[str, Any], finished: bool) -> Action:
    """Record what a claimed batch did (`fields`: counts, skipped, failures, status…) and drop
    the claim, while the job is still as claimed (`seq`); `finished` takes it off the pending
    index."""
    change = Change(claimed.item_key()).equals("seq", claimed.seq).set_all(fields).remove("claim")
    if finished:
        change.remove(*keys.revocation_pending_index("", ""))
    return change.action()


# ---- selecting versions ---------------------------------------------------------------------

def versions_from(bucket: str, start: Cursor | None, limit: int, created_before: str | None = None
                  ) -> tuple[list[Version], Cursor | None]:
    """At most `limit` of a bucket's versions, oldest first, from `start` (GSI1
    `VERSIONS#<b>`, one Query; drafts, being built, after the numbered ones, as Draft).
    `created_before` filters the items read (the page may be short)."""
    where = Filter().below("created_at", created_before) if created_before else None
    items, last = table.query_page(keys.versions_pk(bucket), index=GSI1, start=start, limit=limit, where=where)
    found = [Draft.from_item(i) if keys.is_draft(i) else Version.from_item(i)
             for i in items]
    return found, last


def next_bucket(after: str | None) -> str | None:
    """The name of the first bucket after `after` (None: the first of all), by name (GSI1
    `BUCKETS`, one Query of one item), or None when there is none."""
    items, _ = table.query_page(keys.BUCKETS, index=GSI1, after=after, limit=1)
    return str(items[0]["bucket"]) if items else None
