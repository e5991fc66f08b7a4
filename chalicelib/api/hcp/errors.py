"""Errors as the HCP clients read them, and the middleware that makes every answer of an HCP
route one of them.

The body is grpc-gateway's `google.rpc.Status`: `{"code": <gRPC code>, "message": "…",
"details": []}` with `Content-Type: application/json`, and the HTTP status is the one
grpc-gateway gives that code (`HTTP_STATUS`). Packer reads only the body's code (the first
`code` in it, by regex), the Terraform provider mostly the HTTP status; a body of another
shape fails their decoding, so nothing else may leave an HCP route: not Chalice's own
`{"Code", "Message"}` bodies (its 400s, 415s and 500s), not the native `{"error", "message"}`.
A method a path does not have is grpc-gateway's answer too: code 12, HTTP 501.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from chalice import Response
from chalice.app import Request

from .. import roles
from ...domain import access, names
from ...errors import BadRequest, NotFound, RegistryError
from ...runtime.observability import logger
from ...storage import errors as stored

# grpc-gateway's runtime.HTTPStatusFromCode.
HTTP_STATUS = {1: 499, 2: 500, 3: 400, 4: 504, 5: 404, 6: 409, 7: 403, 8: 429, 9: 400, 10: 409, 11: 400,
               12: 501, 13: 500, 14: 503, 15: 500, 16: 401}
# What an error response of another shape (Chalice's own) says, by its HTTP status.
CODE_OF_STATUS = {400: 3, 401: 16, 403: 7, 404: 5, 405: 12, 409: 10, 413: 3, 415: 3, 429: 8, 501: 12, 503: 14,
                  504: 4}
INTERNAL, UNIMPLEMENTED = 13, 12
INTERNAL_MESSAGE = "the registry failed to handle this request; see its logs"
# HCP path parameters the native name rules (names.py) apply to: a value no bucket or
# channel can have is a 404 before any key is built from it.
_NAMED = {"bucket_name": "bucket", "channel_name": "channel"}


class Aborted(RegistryError):
    """gRPC ABORTED: what Packer expects of GetVersion for a fingerprint with no version."""

    status, code, grpc = 409, "Aborted", 10


class InvalidField(BadRequest):
    """A request field that is missing or wrong, with google.rpc.BadRequest's detail naming it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.details = [{"@type": "type.googleapis.com/google.rpc.BadRequest",
                         "field_violations": [{"field": field, "description": message}]}]


def error(code: int, message: str, details: list[dict[str, Any]] | None = None,
          headers: dict[str, str] | None = None, status: int | None = None) -> Response:
    """An HCP error answer: the body has exactly one `code`, and `details` always; the HTTP
    status grpc-gateway gives the code, unless the error names the one HCP Packer was seen
    answering (`hcp_status`, HCP-API-COMPAT.md §8)."""
    return Response(body=json.dumps({"code": code, "message": message, "details": details or []}),
                    status_code=status or HTTP_STATUS.get(code, 500),
                    headers={"Content-Type": "application/json", **(headers or {})})


def method_not_allowed(method: str, allowed: list[str]) -> Response:
    """What grpc-gateway answers for a method the path does not have (code 12)."""
    listed = ", ".join(sorted(allowed))
    return error(UNIMPLEMENTED, f"Method Not Allowed: {method} is not served here; use {listed}",
                 headers={"Allow": listed})


def handle(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """The HCP routes' middleware: a path or method no route serves (unserved.py: 404 code 5,
    501 code 12, before anything else), who the caller is (its bearer token, read here:
    no API Gateway authorizer stands before these routes) and its role (401 code 16, 403
    code 7), the organization and project in the path (404 code 5 for any other), names that
    cannot exist (404 code 5), then the route, every error of which leaves in the HCP shape."""
    from . import unserved

    context = event.context if event.context is not None else {}
    refused = unserved.answer(event.method, context.get("resourcePath", ""), context.get("path", ""))
    if refused is not None:
        return refused
    try:
        context["authorizer"] = _identity(event)
        caller = roles.enforce(context.get("authorizer"), event.method, context.get("resourcePath", ""),
                               event.uri_params)
        _check_path(event.uri_params or {})
        with access.bound(caller):
            response = get_response(event)
    except RegistryError as exc:
        return error(exc.grpc, exc.message, getattr(exc, "details", None), status=getattr(exc, "hcp_status", None))
    except stored.StorageError as exc:
        from ..http import STORAGE_ERRORS

        return error(STORAGE_ERRORS.get(type(exc), (500, "InternalError", INTERNAL))[2], exc.message)
    except Exception:  # defensive: Chalice normally turns these into its own 500 first
        logger.exception("unhandled error")
        return error(INTERNAL, INTERNAL_MESSAGE)
    if response.status_code < 400:
        return response
    return _reshaped(response)


def _identity(event: Request) -> dict[str, str]:
    """The authorizer context the native API's authorizer would give this request: the
    caller's name, role and token id, or why it has none (services/auth.identify)."""
    from ...services import auth

    identity = auth.identify(event.headers.get("authorization") if event.headers else None)
    return {"principalId": identity.get("name", "anonymous"), **identity}


def _check_path(params: dict[str, str]) -> None:
    if "organization_id" in params:
        from ...services import identity

        identity.require(params["organization_id"], params.get("project_id"))
    problem = names.bad_path_parameter({_NAMED[k]: v for k, v in params.items() if k in _NAMED})
    if problem:
        raise NotFound(problem)


def _reshaped(response: Response) -> Response:
    """An error answer Chalice made itself (`{"Code", "Message"}`: a view's ChaliceViewError,
    its 500 for an unhandled exception), in the HCP shape; a 5xx never says more than that
    the registry failed."""
    body = response.body if isinstance(response.body, dict) else {}
    if body.keys() == {"code", "message", "details"}:
        return response
    code = CODE_OF_STATUS.get(response.status_code, INTERNAL if response.status_code >= 500 else 3)
    if response.status_code >= 500 and code == INTERNAL:
        return error(INTERNAL, INTERNAL_MESSAGE)
    return error(code, str(body.get("Message") or body.get("message") or "the request failed"))
