"""Errors the API answers with: each carries its HTTP status and the `error` code in the body."""

from __future__ import annotations

from chalice import ChaliceUnhandledError


class RegistryError(ChaliceUnhandledError):
    """Base of the API's errors; Chalice lets this family through to the error middleware."""

    status = 500
    code = "InternalError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(RegistryError):
    status, code = 400, "BadRequest"


class Unauthorized(RegistryError):
    status, code = 401, "Unauthorized"


class Forbidden(RegistryError):
    status, code = 403, "Forbidden"


class NotFound(RegistryError):
    status, code = 404, "NotFound"


class Conflict(RegistryError):
    status, code = 409, "Conflict"


class Contention(RegistryError):
    """Too many concurrent writers won the race; raised so Lambda retries the event."""

    status, code = 503, "Contention"
