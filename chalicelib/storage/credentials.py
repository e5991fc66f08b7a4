"""API tokens: one item each (its secret only as a hash), listed by creation time."""

from __future__ import annotations

from typing import Any

from . import keys, table
from .errors import ConditionFailed
from .expressions import Action, Change
from .pages import list_page
from .schema import GSI1

Record = dict[str, Any]


def token(token_id: str) -> Record | None:
    item = table.get(keys.token(token_id), consistent=True)
    return keys.fields(item) if item else None


def tokens_page(token: str | None, limit: int) -> tuple[list[Record], str | None]:
    items, next_token = list_page(keys.TOKENS, token, index=GSI1, limit=limit)
    return [keys.fields(i) for i in items], next_token


def create(fields: Record) -> Action:
    """Put a new token (`id`, `created_at` among its fields); fails if the id is taken."""
    return Change(keys.token(fields["id"])).absent().put({**fields, **keys.token_index(fields["created_at"],
                                                                                       fields["id"])})


def delete(token_id: str) -> Action:
    return Change(keys.token(token_id)).delete()


def used(token_id: str, now: str) -> None:
    """Note when a token was last used; nothing if it was deleted meanwhile."""
    try:
        Change(keys.token(token_id)).set("last_used_at", now).exists().apply()
    except ConditionFailed:
        pass
