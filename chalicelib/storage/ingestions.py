"""Ingestion records: one per S3 object (version), listed newest first, all or by status."""

from __future__ import annotations

from typing import Any

from . import keys
from . import table
from .expressions import Action, Change
from .pages import list_page
from .schema import GSI1, GSI2

Record = dict[str, Any]


def ingestion(ingestion_id: str) -> Record | None:
    item = table.get(keys.ingestion(ingestion_id))
    return keys.fields(item) if item else None


def create(fields: Record) -> Action:
    """Put a new record (`id`, `status`, `received_at` among its fields); fails if it exists
    (a concurrent delivery of the same object finished first)."""
    index = keys.ingestion_index(fields["status"], fields["received_at"], fields["id"])
    return Change(keys.ingestion(fields["id"])).absent().put({**fields, **index})


def ingestions_page(status: str | None, token: str | None, limit: int) -> tuple[list[Record], str | None]:
    """Newest first: all (GSI1 `INGESTIONS`) or one status (GSI2 `INGESTIONS#<status>`)."""
    partition, index = (keys.ingestions_by_status(status), GSI2) if status else (keys.INGESTIONS, GSI1)
    items, next_token = list_page(partition, token, index=index, newest_first=True, limit=limit)
    return [keys.fields(i) for i in items], next_token
