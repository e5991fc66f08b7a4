"""API tokens and service principals: one item each (its secret only as a hash), each kind
listed by creation time through its own GSI1 partition; and their names, unique across both
kinds, case-insensitively: a name claim item (`NAME#<name in lower case>`) is put, on the
condition that it does not exist, in the transaction that creates the credential, and
deleted in the one that deletes it."""

from __future__ import annotations

import dataclasses

from . import keys, table
from .entities import NameClaim, ServicePrincipal, Token
from .errors import ConditionFailed
from .expressions import Action, Change
from .pages import list_page
from .schema import GSI1, GSI1SK

Credential = Token | ServicePrincipal
# The kinds, as messages name them: each one's entity and list (GSI1 partition).
KINDS: dict[str, tuple[type[Token] | type[ServicePrincipal], str]] = {
    "token": (Token, keys.TOKENS), "service principal": (ServicePrincipal, keys.SERVICE_PRINCIPALS)}


def token(token_id: str) -> Token | None:
    item = table.get(keys.token(token_id), consistent=True)
    return Token.from_item(item) if item else None


def tokens_page(token: str | None, limit: int) -> tuple[list[Token], str | None]:
    items, next_token = list_page(keys.TOKENS, token, index=GSI1, limit=limit)
    return [Token.from_item(i) for i in items], next_token


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


# ---- either kind, and their names ---------------------------------------------------------

def holder_id(credential: Credential) -> str:
    """What a name claim says holds it: the token id, the client id."""
    return credential.id if isinstance(credential, Token) else credential.client_id


def kind(credential: Credential) -> str:
    return "token" if isinstance(credential, Token) else "service principal"


def create(new: Credential) -> list[Action]:
    """Put a new token or service principal holding its name: fails if its id is taken, or
    its name by any credential (in any case)."""
    claimed = dataclasses.replace(new, name_claimed=True)
    return [Change(new.item_key()).absent().put(claimed.to_item()), _claim(new)]


def delete(credential: Credential) -> list[Action]:
    """Delete a credential as read, freeing its name if it holds it; fails if it is gone (a
    concurrent delete: its deletion is recorded once), its claim changed since it was read
    (the sweep claimed its name meanwhile) or its bucket bindings did (storage.access)."""
    actions = [Change(credential.item_key()).exists().holds("name_claimed", credential.name_claimed)
               .holds("access_rev", credential.access_rev).delete()]
    if credential.name_claimed:
        actions.append(Change(keys.credential_name(credential.name)).equals("holder", holder_id(credential)).delete())
    return actions


def name_holder(name: str) -> NameClaim | None:
    """Who holds a name (in any case), if anyone (GetItem)."""
    item = table.get(keys.credential_name(name), consistent=True)
    return NameClaim.from_item(item) if item else None


def _claim(credential: Credential) -> Action:
    claim = NameClaim(name=credential.name, kind=kind(credential), holder=holder_id(credential))
    return Change(claim.item_key()).absent().put(claim.to_item())


# ---- claiming the names of credentials from before names were claimed (services/claims.py) --

def oldest_after(of_kind: str, after: str | None, limit: int) -> tuple[list[Credential], bool]:
    """Up to `limit` credentials of a kind (KINDS) created after the one at `after` (a
    `sort_key`; None: from the first), oldest first; and whether more may remain. One Query
    page of the kind's list."""
    entity, partition = KINDS[of_kind]
    items, last = table.query_page(partition, index=GSI1, after=after, limit=limit)
    return [entity.from_item(i) for i in items], last is not None


def sort_key(credential: Credential) -> str:
    """Its place in its list (the cursor oldest_after goes on from)."""
    return str(credential.index()[GSI1SK])


def claim_existing(credential: Credential) -> list[Action]:
    """Claim the name of a credential that does not hold it yet: fails if the name is held
    (another credential of that name) or the credential changed (deleted, or claimed by a
    concurrent sweep)."""
    return [Change(credential.item_key()).exists().absent("name_claimed").set("name_claimed", True).action(),
            _claim(credential)]


def names_cursor(after: dict[str, str]) -> None:
    """Note on the counts item (which the sweep reads at its start) where claiming names goes
    on: per kind, the `sort_key` of the last credential done."""
    Change(keys.counts()).set("names_after", after).apply()


def mark_names_claimed() -> None:
    """Note on the counts item that every credential's name has been claimed: later sweeps
    skip the step."""
    Change(keys.counts()).set("names_claimed", True).remove("names_after").apply()
