"""Ingestion records: one per S3 object (version), listed newest first, all or by status."""

from __future__ import annotations

from . import keys
from . import table
from .entities import Ingestion
from .expressions import Action, Change
from .pages import list_page
from .schema import GSI1, GSI2


def ingestion(ingestion_id: str) -> Ingestion | None:
    item = table.get(keys.ingestion(ingestion_id))
    return Ingestion.from_item(item) if item else None


def create(record: Ingestion) -> Action:
    """Put a new record; fails if it exists (a concurrent delivery of the same object
    finished first)."""
    return Change(record.item_key()).absent().put(record.to_item())


def ingestions_page(status: str | None, token: str | None, limit: int, *, created_after: str | None = None,
                    created_before: str | None = None) -> tuple[list[Ingestion], str | None]:
    """Newest first: all (GSI1 `INGESTIONS`) or one status (GSI2 `INGESTIONS#<status>`),
    received at or after `created_after` and before `created_before` (a key condition: the
    index's sort key starts with the time)."""
    partition, index = (keys.ingestions_by_status(status), GSI2) if status else (keys.INGESTIONS, GSI1)
    items, next_token = list_page(partition, token, index=index, newest_first=True, limit=limit,
                                  between=keys.ingestions_between(created_after, created_before))
    return [Ingestion.from_item(i) for i in items], next_token
