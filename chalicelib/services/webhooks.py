"""Signed webhooks: audit events POSTed to URLs admins register (domain/webhooks.py has the
rules: signature, retry schedule, disabling, URLs).

- **Routes** (admin): `POST /webhooks` answers the webhook with its `secret`, this once;
  listing, reading and deleting it never show the secret again, nor do the audit events
  `webhook.created` / `webhook.deleted` / `webhook.disabled` or the delivery history.
- **The secret is stored as is** in the webhook's DynamoDB item (encrypted at rest, as the
  whole table is). Unlike a token, which the registry only compares (a hash suffices), it
  must compute an HMAC with it on every delivery, so it needs the secret itself. Encrypting
  it again under a key the same functions can read (the signing key in SSM) would protect
  only a copy of the table that leaves without that key, and would make rotating the signing
  key silently break every webhook; so it is not done. It is never logged.
- **No cost on the write paths**: every committed change already goes to EventBridge
  (audit.publish). On AWS a rule on that bus sends the registry's events to the SQS queue
  `WEBHOOK_QUEUE` (with a dead-letter queue, deploy/resources.yaml), consumed by the
  `webhook_delivery` function; under `make run` the local runner creates the same bus, rule
  and queue on moto and hands the queue's messages to the same function.
- **Delivery** (`handle()`, one message at a time): an event younger than SETTLE (2 s) is
  queued again until it is that old (one SendMessage), so that every webhook created before it
  is listed by then. Then one Query reads the webhooks (GSI1 `WEBHOOKS`: a small list, read
  per event, no cache, so a webhook created, deleted or disabled is seen at once) and each
  that wants it and existed when it occurred (the event's `time` at or after the webhook's
  `created_at`: an event still queued when a webhook is created is not sent to it) is sent
  the event: a POST of the event as `GET /events` shows it. The delivery id is derived from
  the event and the webhook, so an event the queue delivers twice has the same
  `X-Registry-Delivery` (receivers deduplicate on it). A failed attempt is recorded, and its
  retry is queued as a message of its own with `DelaySeconds` (at most SQS's 900 s: a longer
  wait is queued again until due); the retry reads the webhook again (GetItem), so a deleted
  or disabled webhook gets no more.
- **Sending** (`send()`): through services/outbound.py, under the outbound-address policy
  (domain/addresses.py) with WEBHOOK_ALLOW_PRIVATE: the URL's host is resolved once, every
  address it resolves to is checked, and the connection goes to the checked address (so a DNS
  answer that changes between the check and the connection cannot redirect it). Redirects are
  not followed (a 3xx is a failure).
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import os
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from . import audit, outbound
from .. import storage
from ..domain import ids
from ..domain import webhooks as rules
from ..domain.addresses import Policy
from ..domain.enums import AuditAction
from ..domain.models import AuditEvent, CreatedWebhook, CreateWebhook, Webhook, WebhookDelivery
from ..errors import BadRequest, NotFound
from ..runtime import aws, clock, settings
from ..runtime.observability import logger
from ..storage import ConditionFailed, entities

QUEUE_VARIABLE = "WEBHOOK_QUEUE"
ALLOW_PRIVATE_VARIABLE = "WEBHOOK_ALLOW_PRIVATE"
FIRST_RETRY_VARIABLE = "WEBHOOK_FIRST_RETRY_SECONDS"
TARGET = "webhook/{}"
ID = re.compile(r"^[0-9a-f]{16}$")
TIMEOUT = 5.0  # seconds to connect, and to wait for the answer
MAX_ANSWER = 64 << 10  # bytes of a receiver's answer read (and dropped)
SQS_MAX_DELAY = 900  # seconds: SQS's DelaySeconds limit
RETRY = "retry"  # the `kind` of a queued retry
USER_AGENT = "packer-registry-webhooks"
_queue_urls: dict[tuple[Any, str], str] = {}


# ---- the routes ----------------------------------------------------------------------------

def create_webhook(body: CreateWebhook, actor: str) -> CreatedWebhook:
    """Register a webhook; its secret is in this answer only. A URL whose host is (or now
    resolves to) an address deliveries may not go to is a 400; a name that does not resolve
    yet is accepted (every delivery checks it again)."""
    try:
        parts = rules.check_url(body.url)
        outbound.checked_address(parts.hostname or "", rules.port_of(parts), policy())
    except outbound.Refused as exc:
        raise BadRequest(f"url {parts.hostname!r} may not receive webhooks: {exc}") from None
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    except outbound.Unresolvable:
        pass  # does not resolve now: checked at each delivery
    item = entities.Webhook(id=secrets.token_hex(8), url=body.url, events=list(dict.fromkeys(body.events)),
                            buckets=list(dict.fromkeys(body.buckets)), secret="whsec_" + secrets.token_urlsafe(32),
                            created_at=clock.now_iso(), created_by=actor)
    listed = to_webhook(item)
    audit.commit([storage.webhooks.create(item),
                  audit.event_action(None, AuditAction.WEBHOOK_CREATED, TARGET.format(item.id), actor,
                                     after=_described(listed))])
    return CreatedWebhook(**listed.model_dump(), secret=item.secret)


def list_webhooks(limit: int, next_token: str | None) -> tuple[list[Webhook], str | None]:
    items, token = storage.webhooks.webhooks_page(next_token, limit)
    return [to_webhook(i) for i in items], token


def get_webhook(webhook_id: str) -> Webhook:
    return to_webhook(_find(webhook_id))


def delete_webhook(webhook_id: str, actor: str) -> Webhook:
    """Delete a webhook: no delivery is attempted after this (retries read it first). Its
    delivery history is no longer listed."""
    gone = to_webhook(_find(webhook_id))
    try:
        audit.commit([storage.webhooks.delete(webhook_id),
                      audit.event_action(None, AuditAction.WEBHOOK_DELETED, TARGET.format(webhook_id), actor,
                                         before=_described(gone))])
    except ConditionFailed:  # a concurrent delete went first (and recorded it)
        raise NotFound(f"no webhook {webhook_id!r}") from None
    return gone


def deliveries(webhook_id: str, limit: int, next_token: str | None) -> tuple[list[WebhookDelivery], str | None]:
    """A webhook's delivery attempts, newest first."""
    _find(webhook_id)
    attempts, token = storage.webhooks.attempts_page(webhook_id, next_token, limit)
    return [WebhookDelivery(id=a.delivery_id, event_id=a.event_id, action=a.action, attempt=a.attempt, time=a.at,
                            success=a.success, status_code=a.status_code, error=a.error,
                            next_retry_at=a.next_retry_at) for a in attempts], token


def to_webhook(item: entities.Webhook) -> Webhook:
    return Webhook(id=item.id, url=item.url, events=item.events, buckets=item.buckets, enabled=item.enabled,
                   created_at=item.created_at, created_by=item.created_by, failing_since=item.failing_since,
                   disabled_at=item.disabled_at)


def _described(webhook: Webhook) -> dict[str, Any]:
    """What an audit event says of a webhook (never its secret)."""
    return webhook.model_dump(include={"url", "events", "buckets", "enabled"})


def _find(webhook_id: str) -> entities.Webhook:
    """The webhook, or a 404 (an id this module could not have made is never looked up)."""
    found = storage.webhooks.webhook(webhook_id) if ID.fullmatch(webhook_id) else None
    if found is None:
        raise NotFound(f"no webhook {webhook_id!r}")
    return found


def allow_private() -> bool:
    """WEBHOOK_ALLOW_PRIVATE: may deliveries go to loopback and private addresses? (off unless set)"""
    return settings.flag(ALLOW_PRIVATE_VARIABLE)


def policy() -> Policy:
    """Where deliveries may go: any host, at an address the outbound policy allows."""
    return Policy(allow_private=allow_private(), private_setting=ALLOW_PRIVATE_VARIABLE)


# ---- delivery --------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Delivery:
    """One event for one webhook: what each attempt sends (the same bytes every time)."""

    webhook_id: str
    delivery_id: str
    event_id: str
    action: str
    attempt: int
    body: str


def handle(message: str) -> None:
    """One message of the webhook queue: an audit event from EventBridge (queued again until
    settled, then delivered to the webhooks that want it) or a queued retry. Raises only when storage or SQS fails, so the
    queue delivers the message again."""
    try:
        parsed = json.loads(message)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and parsed.get("kind") == RETRY:
        retry(parsed)
    elif isinstance(parsed, dict) and parsed.get("source") == audit.SOURCE and isinstance(parsed.get("detail"), dict):
        occurred = _occurred(parsed["detail"])
        if occurred is None:
            logger.warning("webhook queue: dropping an event without a valid time")
        elif rules.settled(occurred) > clock.now():
            _send(message, rules.settled(occurred))
        else:
            fan_out(parsed["detail"], occurred)
    else:
        logger.warning("webhook queue: dropping a message that is neither an event nor a retry")


def fan_out(event: dict[str, Any], occurred: datetime) -> None:
    """Send `event` (an audit event as published, which occurred at `occurred`) to every
    webhook that wants it and existed then."""
    action, bucket = str(event.get("action")), event.get("bucket")
    hooks = [h for h in storage.webhooks.every_webhook()
             if rules.wants(h.enabled, h.events, h.buckets, action, bucket)
             and rules.heard(clock.parse_utc(h.created_at), occurred)]
    if not hooks:
        return
    shown = AuditEvent.model_validate(event)
    body = json.dumps(shown.model_dump(mode="json"), separators=(",", ":"))
    for hook in hooks:
        attempt(hook, Delivery(hook.id, ids.derived(shown.time, shown.id, hook.id), shown.id, action, 1, body))


def retry(message: dict[str, Any]) -> None:
    """A queued retry: queued again while not due, else attempted if its webhook is still there
    and enabled."""
    delivery = Delivery(**message["delivery"])
    due = _parse(message["due"])
    if due is not None and due - clock.now() > timedelta(seconds=1):
        enqueue(delivery, due)
        return
    hook = storage.webhooks.webhook(delivery.webhook_id)
    if hook is None or not hook.enabled:
        logger.info("webhook retry dropped: the webhook is deleted or disabled",
                    extra={"webhook": delivery.webhook_id, "delivery": delivery.delivery_id})
        return
    attempt(hook, delivery)


def attempt(hook: entities.Webhook, delivery: Delivery) -> None:
    """Send one attempt and record it; on failure, queue the retry or disable the webhook."""
    now = clock.now()
    status, error = send(hook, delivery, now)
    record = entities.DeliveryAttempt(webhook_id=hook.id, delivery_id=delivery.delivery_id,
                                      event_id=delivery.event_id, action=delivery.action, attempt=delivery.attempt,
                                      at=clock.iso(now), success=error is None, status_code=status, error=error)
    logger.info("webhook delivery attempted", extra={"webhook": hook.id, "delivery": delivery.delivery_id,
                                                      "attempt": delivery.attempt, "status_code": status,
                                                      "error": error})
    try:
        if error is None:
            storage.transact([storage.webhooks.record(record)]
                             + ([storage.webhooks.recovered(hook.id)] if hook.failing_since else []))
        elif rules.should_disable(_parse(hook.failing_since), now):
            audit.commit([storage.webhooks.record(record), storage.webhooks.disable(hook.id, record.at),
                          audit.event_action(None, AuditAction.WEBHOOK_DISABLED, TARGET.format(hook.id), "registry",
                                             after=_described(to_webhook(hook)), failing_since=hook.failing_since,
                                             last_error=error)])
        else:
            delay = _retry_delay(delivery.attempt)
            due = now + timedelta(seconds=delay) if delay is not None else None
            record.next_retry_at = clock.iso(due) if due else None
            storage.transact([storage.webhooks.record(record), storage.webhooks.failing(hook.id, record.at)])
            if due is not None:
                enqueue(dataclasses.replace(delivery, attempt=delivery.attempt + 1), due)
    except ConditionFailed:  # deleted (or disabled by a concurrent attempt) meanwhile: nothing more to do
        logger.info("webhook gone or disabled while delivering", extra={"webhook": hook.id})


def _retry_delay(attempt: int) -> int | None:
    """The schedule's wait after failed attempt `attempt`, except that WEBHOOK_FIRST_RETRY_SECONDS
    (a whole number of seconds, when set) replaces the first one: for tests that watch a retry
    happen under `make run`, not for production, where the schedule's 30 s stands."""
    first = os.environ.get(FIRST_RETRY_VARIABLE, "")
    if attempt == 1 and first.isdigit():
        return int(first)
    return rules.retry_delay(attempt)


def enqueue(delivery: Delivery, due: datetime) -> None:
    """Queue a retry, visible when due (or after SQS_MAX_DELAY, to be queued again)."""
    _send(json.dumps({"kind": RETRY, "due": clock.iso(due), "delivery": dataclasses.asdict(delivery)}), due)


def _send(body: str, due: datetime) -> None:
    """Put `body` on the webhook queue, visible when due (or after SQS_MAX_DELAY, to be
    looked at again)."""
    wait = max(0, min(SQS_MAX_DELAY, int((due - clock.now()).total_seconds() + 0.999)))
    sqs, url = _queue()
    sqs.send_message(QueueUrl=url, DelaySeconds=wait, MessageBody=body)


def _queue() -> tuple[Any, str]:
    """The SQS client and the webhook queue's URL (looked up once per client)."""
    sqs, name = aws.client("sqs"), os.environ.get(QUEUE_VARIABLE, "")
    if not name:
        raise RuntimeError(f"{QUEUE_VARIABLE} is not set: the webhook queue's name")
    if (sqs, name) not in _queue_urls:
        _queue_urls[(sqs, name)] = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    return sqs, _queue_urls[(sqs, name)]


def _occurred(event: dict[str, Any]) -> datetime | None:
    """When an audit event occurred: its `time`, as the registry's clock wrote it (None if it
    has none that parses)."""
    try:
        return clock.parse_utc(str(event.get("time")))
    except ValueError:
        return None


def _parse(moment: str | None) -> datetime | None:
    return clock.parse_utc(moment) if moment else None


# ---- sending ---------------------------------------------------------------------------------

def send(hook: entities.Webhook, delivery: Delivery, now: datetime) -> tuple[int | None, str | None]:
    """POST the delivery's body to the webhook: (the HTTP status or None, None on success or
    why it failed). Never raises."""
    body = delivery.body.encode()
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
               "X-Registry-Signature": rules.signature(hook.secret, body),
               "X-Registry-Delivery": delivery.delivery_id, "X-Registry-Event": delivery.action,
               "X-Registry-Timestamp": str(int(now.timestamp())), "X-Registry-Attempt": str(delivery.attempt)}
    try:
        rules.check_url(hook.url)
        answer = outbound.request("POST", hook.url, policy(), headers=headers, body=body, timeout=TIMEOUT,
                                  max_bytes=MAX_ANSWER)
    except outbound.Refused as exc:
        return None, f"refused: {exc}"
    except ValueError as exc:
        return None, str(exc)
    except outbound.Unresolvable:
        return None, "the url's host does not resolve"
    except (OSError, http.client.HTTPException) as exc:
        return None, f"{type(exc).__name__}: {exc}"[:300]
    return answer.status, None if 200 <= answer.status < 300 else f"HTTP {answer.status}"
