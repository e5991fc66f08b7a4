"""Webhook rules, pure: the signature, the retry schedule, when a webhook is disabled, and
which URLs a delivery may go to (services/webhooks.py does the I/O).

- **Signature**: `X-Registry-Signature: sha256=<hex HMAC-SHA256 of the raw body>` under the
  webhook's secret, as GitHub signs its webhooks (`X-Hub-Signature-256`), so receivers'
  existing verification code fits.
- **Retries**: a failed attempt is tried again after RETRY_DELAYS[attempt - 1] seconds: 30 s,
  2 min, 10 min, 1 h, 3 h, then every 6 h, MAX_ATTEMPTS attempts in all (about 28 h, more
  than the day after which a failing webhook is disabled).
- **Disabling**: a failed attempt when the webhook's current streak of failures began more
  than DISABLE_AFTER (24 h) earlier disables it; any success ends the streak.
- **What a webhook hears**: the events that occurred at or after its creation (`heard`), told
  apart by the two times the registry's clock wrote (the event's `time`, the webhook's
  `created_at`), never by when the queue hands an event over: an event still queued when a
  webhook is created happened before it. An event is handed to the webhooks only once SETTLE
  has passed since it occurred (`settled`), by when a webhook created before it has committed
  and is listed.
- **URLs**: only http and https, with a host, without user:password, at most MAX_URL
  characters; the addresses a delivery may go to are the outbound policy's
  (domain/addresses.py), with the setting WEBHOOK_ALLOW_PRIVATE.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from urllib.parse import SplitResult, urlsplit

from .addresses import SCHEMES, port_of  # noqa: F401 - port_of: the webhook URL's port

SIGNATURE_PREFIX = "sha256="
RETRY_DELAYS = (30, 120, 600, 3600, 3 * 3600, 6 * 3600, 6 * 3600, 6 * 3600, 6 * 3600)  # seconds
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
DISABLE_AFTER = timedelta(hours=24)
# How long after an event its fan-out waits: more than a webhook's creation takes from reading the
# clock for its `created_at` to being listed (a transaction, then DynamoDB's index: milliseconds
# to under a second), so a webhook created before an event is never missed for being late.
SETTLE = timedelta(seconds=2)
MAX_URL = 2048


def signature(secret: str, body: bytes) -> str:
    """The `X-Registry-Signature` value of `body`."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signed(secret: str, body: bytes, header: str | None) -> bool:
    """Whether `header` is the signature of `body` (constant time): what a receiver checks."""
    return header is not None and hmac.compare_digest(header, signature(secret, body))


def retry_delay(attempt: int) -> int | None:
    """Seconds to wait after failed attempt number `attempt` (1-based); None: no more attempts."""
    return RETRY_DELAYS[attempt - 1] if 1 <= attempt <= len(RETRY_DELAYS) else None


def should_disable(failing_since: datetime | None, now: datetime) -> bool:
    """A failure now disables the webhook when its streak of failures began a day ago or more."""
    return failing_since is not None and now - failing_since >= DISABLE_AFTER


def check_url(url: str) -> SplitResult:
    """The parts of a webhook URL; ValueError saying what is wrong: http(s) only, a host, no
    user:password (it would be shown in every listing), at most MAX_URL characters."""
    if len(url) > MAX_URL:
        raise ValueError(f"url must be at most {MAX_URL} characters, not {len(url)}")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"url is not a valid URL: {exc}") from None
    if parts.scheme not in SCHEMES:
        raise ValueError(f"url must be http:// or https://, not {parts.scheme or 'no scheme'}")
    if not parts.hostname:
        raise ValueError("url has no host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("url must not hold user:password (send-side credentials are not supported; verify the "
                         "X-Registry-Signature instead)")
    if port == 0:
        raise ValueError("url port must be 1-65535")
    return parts


def wants(enabled: bool, events: list[str], buckets: list[str], action: str, bucket: str | None) -> bool:
    """Whether a webhook subscribed to an event: enabled, the action among its `events`, and
    the event in one of its `buckets` when it names any (registry-wide events, which have no
    bucket, go only to webhooks that name none)."""
    return enabled and action in events and (not buckets or bucket in buckets)


def heard(created_at: datetime, occurred: datetime) -> bool:
    """Whether a webhook created at `created_at` hears an event that occurred at `occurred`:
    only what happened at or after its creation. Equal times count as after: the webhook's own
    `webhook.created` event, stamped once its `created_at` is, reaches it if it subscribed."""
    return occurred >= created_at


def settled(occurred: datetime) -> datetime:
    """When an event that occurred at `occurred` may be handed to the webhooks (see SETTLE)."""
    return occurred + SETTLE
