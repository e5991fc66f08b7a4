"""HTTP plumbing shared by the routes: JSON bodies in, JSON out, errors in one shape."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from chalice import Chalice, Response
from chalice.app import Request

from ..domain import access, names
from ..domain.access import Access
from ..domain.actors import Actor
from . import hcp, queries, roles
from .hcp import errors as hcp_errors
from ..domain.enums import Role
from ..errors import BadRequest, NotFound, RegistryError
from ..storage import errors as stored
from ..runtime.observability import logger

if TYPE_CHECKING:
    from pydantic import BaseModel

M = TypeVar("M", bound="BaseModel")  # a request model; pydantic itself is imported only to validate a body
DEFAULT_LIMIT, MAX_LIMIT = queries.DEFAULT_LIMIT, queries.MAX_LIMIT
MAX_PROBLEMS = 10  # a body with thousands of bad fields gets a short answer


def respond(payload: Any, status: int = 200) -> Response:
    if hasattr(payload, "model_dump"):
        payload = payload.model_dump(mode="json")
    return Response(body=json.dumps(payload), status_code=status, headers={"Content-Type": "application/json"})


def error(status: int, code: str, message: str) -> Response:
    """An error in the shape of models.Error, written without pydantic (the consumer query's
    404 and 409 import none)."""
    return respond({"error": code, "message": message}, status)


def page(items: Sequence[BaseModel], next_token: str | None, filtered: bool = False) -> Response:
    """One page of a list: models.Page (`next_token` only while more remain; `filtered` and
    its note only when filters were applied to the page read)."""
    from ..domain.models import FILTERED_NOTE, FilteredPage, Page

    if filtered:
        return respond(FilteredPage(items=list(items), next_token=next_token or "", filtered=True,
                                    note=FILTERED_NOTE))
    return respond(Page(items=list(items), next_token=next_token or ""))


def filters(request: Request) -> dict[str, str]:
    """The query parameters other than the page's (`limit`, `next_token`), as checked by the
    middleware against the route's declaration (queries.py); times as stored (UTC, clock.iso)."""
    from ..runtime import clock

    found = {}
    for name, value in query(request).items():
        if name in ("limit", "next_token") or not value:
            continue
        moment = queries.moment(value) if name in queries.TIMES else None
        found[name] = clock.iso(moment) if moment else value
    return found


def json_body(request: Request) -> Any:
    """The parsed JSON body ({} when empty); 400 when it is not JSON."""
    raw = request.raw_body or b""
    try:
        return json.loads(raw) if raw.strip() else {}
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadRequest("the request body is not valid JSON") from None


def body(request: Request, model: type[M]) -> M:
    """Validate the JSON body against a model; 400 with every problem otherwise."""
    return validated(json_body(request), model)


def validated(data: Any, model: type[M]) -> M:
    """`data` as the request model; 400 with every problem otherwise."""
    from pydantic import ValidationError

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = sorted(exc.errors(), key=lambda e: len(e["loc"]))  # "at most 50 labels" before each label
        problems = "; ".join(f"{'.'.join(str(p)[:80] for p in e['loc']) or 'body'}: {e['msg']}"
                             for e in errors[:MAX_PROBLEMS])
        more = f"; and {len(errors) - MAX_PROBLEMS} more problems" if len(errors) > MAX_PROBLEMS else ""
        raise BadRequest(f"invalid request body: {problems}{more}") from None


def current_request(app: Chalice) -> Request:
    """The request a route is answering. Chalice types `app.current_request` as optional (it is
    None between requests); a route always has one."""
    request = app.current_request
    if request is None:
        raise RuntimeError("no current request: called outside a route")
    return request


def query(request: Request) -> Mapping[str, str]:
    """The query string's parameters (a repeated one's last value); empty without a query string."""
    return request.query_params or {}


def list_params(request: Request) -> tuple[int, str | None]:
    """`limit` (1-100, default 25) and `next_token` from the query string."""
    params = query(request)
    raw = params.get("limit", str(DEFAULT_LIMIT))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadRequest(f"limit must be a whole number from 1 to {MAX_LIMIT}, not {raw!r}")
    return int(raw), params.get("next_token") or None


def int_param(request: Request, name: str, default: int) -> int:
    raw = query(request).get(name, str(default))
    if not raw.isdigit():
        raise BadRequest(f"{name} must be a whole number, not {raw!r}")
    return int(raw)


def required(request: Request, name: str) -> str:
    value = query(request).get(name)
    if not value:
        raise BadRequest(f"query parameter {name} is required")
    return value


def flag(request: Request, name: str) -> bool:
    raw = query(request).get(name, "false").lower()
    if raw not in ("true", "false", "1", "0"):
        raise BadRequest(f"{name} must be true or false, not {raw!r}")
    return raw in ("true", "1")


PUBLIC_URL_VARIABLE = "REGISTRY_PUBLIC_URL"


def public_url(request: Request) -> str:
    """The API's base URL as its callers reach it (no trailing slash): `REGISTRY_PUBLIC_URL`
    when set (say, behind a proxy that rewrites the host), else this request's scheme
    (`X-Forwarded-Proto`, which API Gateway sets; plain http without it, as under `make run`),
    its `Host` and the path before the route (API Gateway's stage, `/api`, on its own
    execute-api URL; nothing on a custom domain)."""
    configured = os.environ.get(PUBLIC_URL_VARIABLE, "").strip()
    if configured:
        return configured.rstrip("/")
    headers: Mapping[str, str] = request.headers or {}
    scheme = (headers.get("x-forwarded-proto") or "http").split(",")[0].strip().lower()
    context = request.context or {}
    route = context.get("resourcePath", "")
    for name, value in (request.uri_params or {}).items():
        route = route.replace(f"{{{name}}}", value)
    path = context.get("path") or route
    prefix = path[:-len(route)] if route and path.endswith(route) else ""
    return f"{scheme if scheme in ('http', 'https') else 'http'}://{headers.get('host', 'localhost')}{prefix}"


def actor(request: Request) -> str:
    """Who is making the change, for history and audit: the caller's name, carrying its
    token id or client id (domain/actors.py); `anonymous` when no token identified it."""
    authorizer = (request.context or {}).get("authorizer", {})
    name, token_id = authorizer.get("principalId"), authorizer.get("token_id")
    return Actor(name, token_id) if name and token_id else "anonymous"


def is_admin(request: Request) -> bool:
    """Whether the caller is an admin of the project."""
    role = (request.context or {}).get("authorizer", {}).get("role")
    return bool(role) and roles.allows(role, Role.ADMIN)


def sees_restricted(request: Request) -> bool:
    """Whether the caller may see restricted channels: a contributor (or admin) on the path's
    bucket, its project role or its binding there; on a route without a bucket, on the project."""
    identity = (request.context or {}).get("authorizer", {})
    if not identity.get("role"):
        return False
    caller = Access.of(identity)
    params = request.uri_params or {}
    bucket = next((params[name] for name in roles.BUCKET_PARAMETERS if name in params), None)
    return roles.allows(caller.role_in(bucket) if bucket else caller.role, Role.CONTRIBUTOR)


def guard(routes: dict[str, dict[str, Any]]) -> Callable[[Request, Callable[[Request], Response]], Response]:
    """The HTTP middleware: the HCP API's paths go to their own (hcp.errors.handle: their
    error shape, what they do not serve, their authentication); on a native route a method
    it does not have is a 405 (before any role check, since no authorizer ran for it), then
    handle_errors, with its query parameters checked against its declaration (queries.py)
    once the caller's role is."""
    def middleware(event: Request, get_response: Callable[[Request], Response]) -> Response:
        path = (event.context or {}).get("resourcePath", "")
        if hcp.serves(path):
            return hcp_errors.handle(event, get_response)
        if event.method not in routes.get(path, {}):
            allowed = ", ".join(sorted(routes.get(path, {})))
            return error(405, "MethodNotAllowed", f"{event.method} is not allowed here; use {allowed}")
        view = routes[path][event.method].view_name

        def checked(request: Request) -> Response:
            queries.check(view, request.method, path, query(request))
            return get_response(request)
        return handle_errors(event, checked)
    return middleware


def handle_errors(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """Check the caller's role for the route (roles.enforce) and that every `{bucket}`,
    `{channel}` and `{version}` path parameter is a possible name (else 404: an empty or
    odd one never reaches a key), then make sure every error leaves as `{"error",
    "message"}`: registry errors with their status, Chalice's own (`{"Code", "Message"}`)
    reshaped, nothing with a stack trace."""
    try:
        context = event.context or {}
        caller = roles.enforce(context.get("authorizer"), event.method, context.get("resourcePath", ""),
                               event.uri_params)
        problem = names.bad_path_parameter(event.uri_params)
        if problem:
            raise NotFound(problem)
        with access.bound(caller):
            response = get_response(event)
    except RegistryError as exc:
        return error(exc.status, exc.code, exc.message)
    except stored.StorageError as exc:
        return error(*STORAGE_ERRORS.get(type(exc), (500, "InternalError", 13))[:2], exc.message)
    except Exception:  # defensive: Chalice normally turns these into its own 500 first
        logger.exception("unhandled error")
        return error(500, "InternalError", INTERNAL)
    if response.status_code >= 400 and isinstance(response.body, dict) and "Code" in response.body:
        code = str(response.body["Code"])
        if response.status_code >= 500:
            return error(response.status_code, "InternalError", INTERNAL)
        return error(response.status_code, code.removesuffix("Error") or code, str(response.body.get("Message", "")))
    return response


# Storage's errors as HTTP (status, native code, gRPC code for the HCP API): a lost race that
# no retry absorbed is a conflict, DynamoDB still refusing after its retries is a 503 (try
# again), a page token from elsewhere is the caller's.
STORAGE_ERRORS: dict[type[stored.StorageError], tuple[int, str, int]] = {
    stored.Throttled: (503, "ServiceUnavailable", 14), stored.ConditionFailed: (409, "Conflict", 10),
    stored.BadToken: (400, "BadRequest", 3), stored.NotFound: (404, "NotFound", 5),
    stored.TooLarge: (400, "BadRequest", 3),
}
INTERNAL = "the registry failed to handle this request; see its logs"
