"""Bearer tokens, checked by a Chalice custom authorizer (roles: roles.py).

The authorizer (its own Lambda on AWS, with result caching off so a deleted token stops
working at once) looks the token up and always lets the request through with the caller's
identity, or the reason it has none, in the authorizer context. The API's error middleware
then answers 401/403 in the registry's JSON shape, naming the role a route needs, the
same under `make run`, the test client and API Gateway; and the API function itself makes
no DynamoDB call for authentication (the consumer query stays one GetItem). API Gateway
itself rejects a request with no `Authorization` header before any code runs; its
"gateway responses" are set to the same JSON shape by scripts/deploy.sh (and by
`local.gateway` for Chalice's local gateway under `make run` and the tests).

A credential's bucket bindings (services/access.py) are on its own item: the authorizer
passes them on in its context (`buckets`), so the roles a request has on each bucket cost no
call of their own (domain/access.py).

Secrets are `<id>.<random>` (32 random bytes), stored only as a SHA-256 hash and compared
in constant time. The bootstrap admin token comes from `REGISTRY_ADMIN_TOKEN` (local) or
the SSM SecureString parameter named by `REGISTRY_ADMIN_TOKEN_PARAM` (AWS); the key that
seals page tokens likewise from `REGISTRY_SIGNING_KEY` / `REGISTRY_SIGNING_KEY_PARAM`.
Parameters are cached for `SECRET_MAX_AGE` seconds, so a rotated value is in force on every
container, warm ones too, within 5 minutes.

Service principals (services/principals.py) are the HCP clients' credentials: a
`client_id` and a `client_secret` (stored only as a SHA-256 hash, like a token's secret),
exchanged at `POST /oauth2/token` (api/oauth.py) for an access token that works as a bearer
token on every route, the native API's included, with the principal's name and role. An
access token is `hcp.<client_id>.<expiry>.<mac>`: `expiry` the Unix time it stops working
(`ACCESS_TOKEN_TTL`, one hour, after it was issued: the SDK caches it and asks again 15 s
before), `mac` the unpadded base64url HMAC-SHA256 of `hcp.<client_id>.<expiry>` under a key
derived from `signing_key()`. It is self-verifying, so issuing one writes nothing; checking
one is the MAC and the expiry, then one GetItem of the principal (as for a token), so
deleting the principal stops its access tokens at once. Rotating the signing key ends every
access token in flight; the clients do not retry on a 401 (HCP-API-COMPAT.md §1.2), so
their cached token must be deleted or left to expire.

This module is the authorizer's: it imports no pydantic (the models and the audit trail
are loaded by the management functions that need them), so a cold authorizer stays light.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from ..runtime import aws, clock
from .. import storage
from ..storage import entities
from ..domain.actors import BOOTSTRAP, RESERVED_NAMES, RESERVED_PREFIX, is_reserved
from ..domain.enums import Role
from ..errors import BadRequest, NotFound

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SSMProvider

    from ..domain.models import CreatedToken, CreateToken, Identity, Token

# Actor names the registry itself writes in the audit trail (domain/actors.py): a token or a
# service principal may not take one, case-insensitively, or the trail could not tell who did a change.
_LAST_USED_EVERY = timedelta(minutes=5)  # write last_used_at at most this often per token
SECRET_MAX_AGE = 300  # seconds an SSM parameter is cached: a rotation is in force within 5 minutes
_ssm: SSMProvider | None = None  # Powertools' SSMProvider on the registry's SSM client (its cache lives with it)
_PROCESS_KEY = secrets.token_bytes(32)
ACCESS_TOKEN_TTL = 3600  # seconds an access token from POST /oauth2/token is valid for
ACCESS_PREFIX = "hcp"
CLIENT_ID = re.compile(r"[0-9a-f]{32}")  # services/principals.py makes them
_ACCESS_TOKEN = re.compile(rf"{ACCESS_PREFIX}\.({CLIENT_ID.pattern})\.([0-9]{{1,12}})\.([A-Za-z0-9_-]{{43}})")

# ---- the authorizer ---------------------------------------------------------------------

def identify(header: str | None) -> dict[str, str]:
    """Authorizer context for an `Authorization` header: the caller's name and role, or
    `error` saying why there is none. Never raises for a bad token."""
    match = re.match(r"^\s*Bearer\s+(\S+)\s*$", header or "", re.I)
    if not match:
        return {"error": "send Authorization: Bearer <token>"}
    secret = match.group(1)
    admin = _bootstrap_secret()
    if admin and hmac.compare_digest(secret.encode(), admin.encode()):
        return {"name": BOOTSTRAP, "role": Role.ADMIN, "token_id": BOOTSTRAP}
    if secret.startswith(f"{ACCESS_PREFIX}."):
        return _access_identity(secret)
    token_id, _, _ = secret.partition(".")
    item = storage.credentials.token(token_id) if re.fullmatch(r"[0-9a-f]{16}", token_id) else None
    if not item or not hmac.compare_digest(item.hash, hash_secret(secret)):
        return {"error": "unknown or deleted token"}
    if item.expires_at and item.expires_at <= clock.now_iso():
        return {"error": f"token {item.name!r} expired at {item.expires_at}"}
    _touch(item)
    return {"name": item.name, "role": item.role, "token_id": token_id, **_bindings(item)}


def authorize(auth_request: Any) -> Any:
    """The Chalice authorizer: let every request through, carrying who it is (or why not)."""
    from chalice import AuthResponse  # only the authorizer needs it

    identity = identify(auth_request.token)
    return AuthResponse(routes=["*"], principal_id=identity.get("name", "anonymous"), context=identity)


def _access_identity(token: str) -> dict[str, str]:
    """The identity of a service principal's access token: MAC, expiry, then the principal
    (one GetItem: a deleted principal's tokens stop at once)."""
    match = _ACCESS_TOKEN.fullmatch(token)
    if not match or not hmac.compare_digest(match.group(3), _access_mac(match.group(1), int(match.group(2)))):
        return {"error": "unknown or altered access token"}
    client_id, expiry = match.group(1), int(match.group(2))
    if expiry <= clock.now().timestamp():
        return {"error": f"access token expired at {clock.iso(datetime.fromtimestamp(expiry, timezone.utc))}; "
                         "request a new one at POST /oauth2/token"}
    principal = storage.credentials.service_principal(client_id)
    if principal is None:
        return {"error": "the access token's service principal was deleted"}
    return {"name": principal.name, "role": principal.role, "token_id": client_id, **_bindings(principal)}


def _bindings(credential: entities.Token | entities.ServicePrincipal) -> dict[str, str]:
    """The credential's bucket bindings for the authorizer's context, whose values must be
    strings: `buckets`, as JSON (domain/access.py reads it); nothing when it has none."""
    if not credential.buckets:
        return {}
    return {"buckets": json.dumps(credential.buckets, separators=(",", ":"), sort_keys=True)}


def access_token(client_id: str) -> str:
    """A new access token for a service principal, valid for ACCESS_TOKEN_TTL seconds."""
    expiry = int(clock.now().timestamp()) + ACCESS_TOKEN_TTL
    return f"{ACCESS_PREFIX}.{client_id}.{expiry}.{_access_mac(client_id, expiry)}"


def _access_mac(client_id: str, expiry: int) -> str:
    key = hmac.new(signing_key(), b"hcp access tokens", hashlib.sha256).digest()
    mac = hmac.new(key, f"{ACCESS_PREFIX}.{client_id}.{expiry}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def whoami(context: dict[str, Any] | None) -> Identity:
    from ..domain.access import Access
    from ..domain.models import Identity

    context = context or {}
    bound = Access.of(context).buckets if context.get("role") else {}
    return Identity(name=context.get("name"), role=context.get("role"), token_id=context.get("token_id"),
                    buckets=dict(bound))


def _bootstrap_secret() -> str | None:
    """The bootstrap admin secret: the environment, else SSM (cached for SECRET_MAX_AGE)."""
    return _secret("REGISTRY_ADMIN_TOKEN")


def _secret(variable: str) -> str | None:
    """A secret of the deployment: the environment variable itself, else the SSM
    SecureString named by `<variable>_PARAM` (cached for SECRET_MAX_AGE), else None."""
    if os.environ.get(variable):
        return os.environ[variable]
    parameter = os.environ.get(f"{variable}_PARAM")
    return _parameter(parameter) if parameter else None


def _parameter(name: str) -> str:
    """An SSM SecureString through Powertools Parameters, cached for SECRET_MAX_AGE seconds.

    Imported here, where a parameter is read (on AWS only): a process that reads none (the
    consumer query, `make run`) never loads it, and one that does pays ~6 ms
    once (Logger and Metrics already load Powertools' core). The provider wraps the
    registry's own SSM client (aws.client: its retries, timeouts and endpoint), and a new
    client (aws.reset) starts a new, empty cache."""
    from aws_lambda_powertools.utilities.parameters import SSMProvider

    global _ssm
    client = aws.client("ssm")
    if _ssm is None or _ssm.client is not client:
        _ssm = SSMProvider(boto3_client=client)
    return str(_ssm.get(name, decrypt=True, max_age=SECRET_MAX_AGE))


def signing_key() -> bytes:
    """The key page tokens are sealed with (storage.pages): `REGISTRY_SIGNING_KEY`,
    else the SSM SecureString named by `REGISTRY_SIGNING_KEY_PARAM` (scripts/deploy.sh
    creates it), else derived from the bootstrap admin token, so local runs and tests keep
    their tokens valid as long as that token stays the same. Without any of them, a random
    key of this process: tokens then hold only within one container."""
    explicit = _secret("REGISTRY_SIGNING_KEY")
    if explicit:
        return explicit.encode()
    admin = _bootstrap_secret()
    if admin:
        return hmac.new(admin.encode(), b"packer-registry page tokens", hashlib.sha256).digest()
    return _PROCESS_KEY


def _touch(item: entities.Token) -> None:
    """Record use, at most every few minutes (a write per request would double the cost)."""
    last = item.last_used_at
    if last and datetime.fromisoformat(last.replace("Z", "+00:00")) > clock.now() - _LAST_USED_EVERY:
        return
    storage.credentials.used(item.id, clock.now_iso())


def hash_secret(secret: str) -> str:
    """What is stored of a token's or a service principal's secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def check_name(name: str, kind: str) -> None:
    """400 for a name the audit trail's own actors use (a token's or a service principal's
    name is its actor there)."""
    if is_reserved(name):
        raise BadRequest(f"{kind} name {name!r} is reserved: {', '.join(RESERVED_NAMES)} and names starting "
                         f"with {RESERVED_PREFIX!r} are the registry's own actors in the audit trail")


# ---- token management -------------------------------------------------------------------

def create_token(body: CreateToken, actor: str) -> CreatedToken:
    """Mint a token; the secret is in this answer only. A 409 when a token or a service
    principal holds its name, in any case (services/claims.py)."""
    from .retry import retrying

    check_name(body.name, "token")
    if body.expires_at is not None:
        try:
            expires = datetime.fromisoformat(body.expires_at.replace("Z", "+00:00"))
        except ValueError:
            raise BadRequest(f"expires_at must be an ISO 8601 time, not {body.expires_at!r}") from None
        if expires.tzinfo is None or expires <= clock.now():
            raise BadRequest("expires_at must be in the future, with a time zone")
        body = body.model_copy(update={"expires_at": clock.iso(expires)})
    return retrying(lambda: _mint(body, actor), what=f"creating token {body.name!r}")


def _mint(body: CreateToken, actor: str) -> CreatedToken:
    from . import audit, claims
    from ..domain.models import CreatedToken

    token_id = secrets.token_hex(8)
    secret = f"{token_id}.{secrets.token_urlsafe(32)}"
    created = clock.now_iso()
    item = entities.Token(id=token_id, name=body.name, role=body.role, hash=hash_secret(secret), created_at=created,
                          created_by=actor, expires_at=body.expires_at)
    listed = to_token(item)
    claims.commit(body.name, "token", [*storage.credentials.create(item),
                                       audit.event_action(None, "token.created", f"token/{token_id}", actor,
                                                          after=listed.model_dump(exclude={"created_by"}))])
    return CreatedToken(**listed.model_dump(), secret=secret)


def list_tokens(limit: int, next_token: str | None) -> tuple[list[Token], str | None]:
    items, token = storage.credentials.tokens_page(next_token, limit)
    return [to_token(i) for i in items], token


def delete_token(token_id: str, actor: str) -> Token:
    """Delete a token (freeing its name); re-read and retried when it changed meanwhile, so a
    concurrent delete makes this one a 404."""
    from .retry import retrying

    return retrying(lambda: _delete_token(token_id, actor))


def _delete_token(token_id: str, actor: str) -> Token:
    from . import access, audit

    item = storage.credentials.token(token_id)
    if not item:
        raise NotFound(f"no token {token_id!r}")
    gone = to_token(item)
    audit.commit([*storage.credentials.delete(item),
                  audit.event_action(None, "token.deleted", f"token/{token_id}", actor,
                                     before={"name": gone.name, "role": gone.role}),
                  *access.unbound(item, actor)])
    return gone


def to_token(item: entities.Token) -> Token:
    from ..domain.models import Token

    return Token(id=item.id, name=item.name, role=item.role, created_at=item.created_at, created_by=item.created_by,
                 last_used_at=item.last_used_at, expires_at=item.expires_at)
