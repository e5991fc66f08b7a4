"""Service principals: the client credentials the HCP clients (Packer, the Terraform provider)
send to `POST /oauth2/token` as `HCP_CLIENT_ID` / `HCP_CLIENT_SECRET`, for an access token
(auth.access_token: its format, lifetime and checks are in auth's docstring).

Managed by admins like API tokens: the secret is in the creation answer only, stored as a
SHA-256 hash and compared in constant time; names follow the token-name rules. The client id
is 32 hex digits and the secret 64 characters of base64url (`A-Z a-z 0-9 - _`): both are
unchanged by URL escaping, so a client that escapes them in HTTP Basic (golang/oauth2
does) and one that does not (`curl -u`) send the same thing.
"""

from __future__ import annotations

import hmac
import secrets

from . import access, audit, auth, claims
from .retry import retrying
from .. import storage
from ..domain.models import (AccessToken, CreatedServicePrincipal, CreateServicePrincipal,
                             ServicePrincipal)
from ..errors import NotFound, Unauthorized
from ..runtime import clock
from ..storage import entities

TARGET = "service-principal/{}"


def create_principal(body: CreateServicePrincipal, actor: str) -> CreatedServicePrincipal:
    """Make a service principal; its secret is in this answer only. A 409 when a token or a
    service principal holds its name, in any case (claims.py)."""
    auth.check_name(body.name, "service principal")
    return retrying(lambda: _make(body, actor), what=f"creating service principal {body.name!r}")


def _make(body: CreateServicePrincipal, actor: str) -> CreatedServicePrincipal:
    client_id, secret = secrets.token_hex(16), secrets.token_urlsafe(48)
    item = entities.ServicePrincipal(client_id=client_id, name=body.name, role=body.role,
                                     hash=auth.hash_secret(secret), created_at=clock.now_iso(), created_by=actor)
    listed = to_principal(item)
    claims.commit(body.name, "service principal", [
        *storage.credentials.create(item),
        audit.event_action(None, "service_principal.created", TARGET.format(client_id), actor,
                           after=listed.model_dump(exclude={"created_by"}))])
    return CreatedServicePrincipal(**listed.model_dump(), client_secret=secret)


def list_principals(limit: int, next_token: str | None) -> tuple[list[ServicePrincipal], str | None]:
    items, token = storage.credentials.service_principals_page(next_token, limit)
    return [to_principal(i) for i in items], token


def delete_principal(client_id: str, actor: str) -> ServicePrincipal:
    """Delete a service principal (freeing its name): its access tokens stop working at once
    (auth.identify reads the principal on every request). Re-read and retried when it changed
    meanwhile, so a concurrent delete makes this one a 404."""
    return retrying(lambda: _delete(client_id, actor))


def _delete(client_id: str, actor: str) -> ServicePrincipal:
    item = _find(client_id)
    if item is None:
        raise NotFound(f"no service principal {client_id!r}")
    gone = to_principal(item)
    audit.commit([*storage.credentials.delete(item),
                  audit.event_action(None, "service_principal.deleted", TARGET.format(client_id), actor,
                                     before={"name": gone.name, "role": gone.role}),
                  *access.unbound(item, actor)])
    return gone


def exchange(client_id: str, secret: str) -> AccessToken:
    """The client-credentials grant: an access token for a principal's id and secret; 401
    (never saying which of the two was wrong) otherwise."""
    item = _find(client_id)
    if item is None or not hmac.compare_digest(item.hash, auth.hash_secret(secret)):
        raise Unauthorized("unknown client_id or wrong client_secret")
    return AccessToken(access_token=auth.access_token(client_id), expires_in=auth.ACCESS_TOKEN_TTL)


def to_principal(item: entities.ServicePrincipal) -> ServicePrincipal:
    return ServicePrincipal(client_id=item.client_id, name=item.name, role=item.role, created_at=item.created_at,
                            created_by=item.created_by)


def _find(client_id: str) -> entities.ServicePrincipal | None:
    """The principal, or None: an id this module could not have made is never looked up."""
    return storage.credentials.service_principal(client_id) if auth.CLIENT_ID.fullmatch(client_id) else None
