"""`POST /oauth2/token`: the OAuth 2.0 client-credentials grant (RFC 6749 §4.4) as the HCP
clients send it (HCP-API-COMPAT.md §1.2), in front of services/principals.py.

The request is form-encoded, `grant_type=client_credentials&audience=...` (`audience` and any
other parameter are ignored); the client authenticates with HTTP Basic
`base64(urlescape(client_id):urlescape(client_secret))` (golang/oauth2's first attempt; both
halves are unescaped here) or with `client_id` / `client_secret` form fields (its second).
A JSON object body is accepted too, and a body without a Content-Type is read as a form; any
other Content-Type is a 400, never Chalice's 415 (the route takes every media type).
An `Authorization` header of another scheme (a bearer token) is ignored.

Success is HTTP 200 with exactly `{"access_token", "token_type": "Bearer", "expires_in"}`;
errors are OAuth's `{"error", "error_description"}` (golang/oauth2 reads `error`): 400
`invalid_request` (unreadable body or header, a repeated parameter, credentials sent twice
and differing), 400 `unsupported_grant_type`, 401 `invalid_client` (missing or wrong
credentials). No answer repeats a credential.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from chalice import Response
from chalice.app import Request

from ..errors import Unauthorized
from .http import respond

GRANT = "client_credentials"
MAX_FIELDS = 20  # a client-credentials request has at most 5
FORM, JSON_MEDIA = "application/x-www-form-urlencoded", "application/json"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}  # RFC 6749 §5.1


class TokenRefused(Exception):
    """An answer in OAuth's error shape."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


def token(request: Request) -> Response:
    """The token endpoint's answer to `request`."""
    try:
        response = respond(_grant(request))
    except TokenRefused as exc:
        response = respond({"error": exc.error, "error_description": exc.description}, exc.status)
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = 'Basic realm="packer-registry"'
    response.headers.update(NO_STORE)
    return response


def _grant(request: Request) -> Any:
    """The AccessToken for the request's client credentials; TokenRefused otherwise."""
    from ..services import principals

    fields = _fields(request)
    grant = fields.get("grant_type")
    if not grant:
        raise TokenRefused(400, "invalid_request", "grant_type is required: send grant_type=client_credentials")
    if grant != GRANT:
        raise TokenRefused(400, "unsupported_grant_type", "only grant_type=client_credentials is supported")
    try:
        return principals.exchange(*_credentials(request.headers.get("authorization"), fields))
    except Unauthorized as exc:
        raise TokenRefused(401, "invalid_client", exc.message) from None


def _fields(request: Request) -> Mapping[str, str]:
    """The body's parameters: a form (or, tolerated, a JSON object of strings)."""
    media = (request.headers.get("content-type") or FORM).split(";")[0].strip().lower()
    raw = request.raw_body or b""
    try:
        text = raw.decode() if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise TokenRefused(400, "invalid_request", "the body is not UTF-8") from None
    if media == JSON_MEDIA:
        return _json_fields(text)
    if media != FORM:
        raise TokenRefused(400, "invalid_request", f"send the parameters as {FORM}")
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError:
        raise TokenRefused(400, "invalid_request", f"the form has more than {MAX_FIELDS} parameters") from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name in fields:
            raise TokenRefused(400, "invalid_request", f"parameter {name[:40]!r} is repeated")
        fields[name] = value
    return fields


def _json_fields(text: str) -> Mapping[str, str]:
    try:
        data: Any = json.loads(text) if text.strip() else {}
    except (ValueError, RecursionError):
        raise TokenRefused(400, "invalid_request", "the body is not valid JSON") from None
    if not isinstance(data, dict) or len(data) > MAX_FIELDS:
        raise TokenRefused(400, "invalid_request", f"the body must be an object of at most {MAX_FIELDS} parameters")
    return {name: value for name, value in data.items() if isinstance(value, str)}


def _credentials(authorization: str | None, fields: Mapping[str, str]) -> tuple[str, str]:
    """(client_id, client_secret), from HTTP Basic or else the form."""
    in_form = (fields.get("client_id"), fields.get("client_secret"))
    scheme, _, encoded = (authorization or "").strip().partition(" ")
    if scheme.lower() != "basic":
        if not in_form[0] or not in_form[1]:
            raise TokenRefused(401, "invalid_client", "send client_id and client_secret, in HTTP Basic or as form "
                                                    "fields")
        return in_form[0], in_form[1]
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise TokenRefused(400, "invalid_request", "the Basic credentials are not base64 of client_id:client_secret") \
            from None
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise TokenRefused(400, "invalid_request", "the Basic credentials are not base64 of client_id:client_secret")
    client_id, secret = unquote_plus(client_id), unquote_plus(secret)
    if any(in_form) and in_form != (client_id, secret):
        raise TokenRefused(400, "invalid_request", "the credentials in HTTP Basic and in the form differ")
    return client_id, secret
