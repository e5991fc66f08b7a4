"""Storage's own errors: what a caller needs to know of DynamoDB's, in the registry's terms.

They derive from Chalice's `ChaliceUnhandledError` only so that Chalice hands them to the
error middleware (http.handle_errors) instead of answering its own 500; storage itself
knows nothing of HTTP, and the middleware decides each one's status.
"""

from __future__ import annotations

from chalice import ChaliceUnhandledError


class StorageError(ChaliceUnhandledError):
    """Base of storage's errors."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConditionFailed(StorageError):
    """A condition of a write or transaction did not hold: someone else got there first.
    Services re-read and retry (retry.retrying) or say what changed."""


class NotFound(StorageError):
    """An item a change needs is not there."""


class TooLarge(StorageError):
    """An item or transaction is past DynamoDB's limits (400 KB an item, 4 MB or 100 items a
    transaction). Callers size their writes first; this is the backstop."""


class Throttled(StorageError):
    """DynamoDB kept refusing after botocore's own retries (throttling, a transaction in
    progress, an internal error): the client, or Lambda for an event, tries again."""


class BadToken(StorageError):
    """A `next_token` this list did not issue (another list's, altered, or sealed with an
    older signing key)."""
