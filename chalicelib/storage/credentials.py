"""API tokens and service principals: one item each (its secret only as a hash), each kind
listed by creation time through its own GSI1 partition."""

from __future__ import annotations

from . import keys, table
from .entities import ServicePrincipal, Token
from .errors import ConditionFailed
from .expressions import Action, Change
from .pages import list_page
from .schema import GSI1


def token(token_id: str) -> Token | None:
    item = table.get(keys.token(token_id), consistent=True)
    return Token.from_item(item) if item else None


def tokens_page(token: str | None, limit: int) -> tuple[list[Token], str | None]:
    items, next_token = list_page(keys.TOKENS, token, index=GSI1, limit=limit)
    return [Token.from_item(i) for i in items], next_token


def create(new: Token) -> Action:
    """Put a new token; fails if the id is taken."""
    return Change(new.item_key()).absent().put(new.to_item())


def delete(token_id: str) -> Action:
    return Change(keys.token(token_id)).delete()


def used(token_id: str, now: str) -> None:
    """Note when a token was last used; nothing if it was deleted meanwhile."""
    try:
        Change(keys.token(token_id)).set("last_used_at", now).exists().apply()
    except ConditionFailed:
        pass


# ---- service principals -----------------------------------------------------------------

def service_principal(client_id: str) -> ServicePrincipal | None:
    item = table.get(keys.service_principal(client_id), consistent=True)
    return ServicePrincipal.from_item(item) if item else None


def service_principals_page(token: str | None, limit: int) -> tuple[list[ServicePrincipal], str | None]:
    items, next_token = list_page(keys.SERVICE_PRINCIPALS, token, index=GSI1, limit=limit)
    return [ServicePrincipal.from_item(i) for i in items], next_token


def create_service_principal(new: ServicePrincipal) -> Action:
    """Put a new service principal; fails if the client id is taken."""
    return Change(new.item_key()).absent().put(new.to_item())


def delete_service_principal(client_id: str) -> Action:
    """Delete a service principal; fails if it is gone already (a concurrent delete), so its
    deletion is recorded once."""
    return Change(keys.service_principal(client_id)).exists().delete()
