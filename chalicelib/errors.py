"""Errors the API answers with: each carries its HTTP status and the `error` code in the body
of the native API, and the gRPC code the HCP-compatible API answers with (`grpc`; its HTTP
status there follows grpc-gateway's mapping of that code, api/hcp)."""

from __future__ import annotations

from chalice import ChaliceUnhandledError


class RegistryError(ChaliceUnhandledError):
    """Base of the API's errors; Chalice lets this family through to the error middleware."""

    status = 500
    code = "InternalError"
    grpc = 13  # INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(RegistryError):
    status, code, grpc = 400, "BadRequest", 3  # INVALID_ARGUMENT


class Unauthorized(RegistryError):
    status, code, grpc = 401, "Unauthorized", 16  # UNAUTHENTICATED


class Forbidden(RegistryError):
    status, code, grpc = 403, "Forbidden", 7  # PERMISSION_DENIED


class NotFound(RegistryError):
    status, code, grpc = 404, "NotFound", 5  # NOT_FOUND


class Conflict(RegistryError):
    """The resource's state does not allow the change (a running version, a managed channel…)."""

    status, code, grpc = 409, "Conflict", 9  # FAILED_PRECONDITION


class AlreadyExists(Conflict):
    """What the request would create exists already (a bucket, a channel, a build's component)."""

    grpc = 6  # ALREADY_EXISTS


class Contention(RegistryError):
    """Too many concurrent writers won the race; raised so Lambda retries the event."""

    status, code, grpc = 503, "Contention", 14  # UNAVAILABLE
