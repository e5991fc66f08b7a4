"""Webhooks (one item each, listed by creation time through GSI1 `WEBHOOKS`) and their
delivery history (one item per attempt, in the webhook's partition, by time)."""

from __future__ import annotations

from datetime import datetime, timedelta

from . import keys, table
from .entities import DeliveryAttempt, Webhook
from .expressions import Action, Change
from .pages import list_page
from .schema import GSI1, TTL


def webhook(webhook_id: str) -> Webhook | None:
    item = table.get(keys.webhook(webhook_id), consistent=True)
    return Webhook.from_item(item) if item else None


def webhooks_page(token: str | None, limit: int) -> tuple[list[Webhook], str | None]:
    items, next_token = list_page(keys.WEBHOOKS, token, index=GSI1, limit=limit)
    return [Webhook.from_item(i) for i in items], next_token


def every_webhook() -> list[Webhook]:
    """All webhooks, for the delivery function (never a request path): Query pages of GSI1
    `WEBHOOKS`, one page for up to a few thousand webhooks."""
    return [Webhook.from_item(i) for i in table.query_all(keys.WEBHOOKS, index=GSI1)]


def create(new: Webhook) -> Action:
    """Put a new webhook; fails if the id is taken."""
    return Change(new.item_key()).absent().put(new.to_item())


def delete(webhook_id: str) -> Action:
    """Delete a webhook; fails if it is gone already (a concurrent delete), so its deletion
    is recorded once."""
    return Change(keys.webhook(webhook_id)).exists().delete()


def failing(webhook_id: str, since: str) -> Action:
    """Note a failed attempt: the streak of failures began at `since` unless it began earlier."""
    return Change(keys.webhook(webhook_id)).set_if_absent("failing_since", since).exists().action()


def recovered(webhook_id: str) -> Action:
    """A successful attempt ends the streak of failures."""
    return Change(keys.webhook(webhook_id)).remove("failing_since").exists().action()


def disable(webhook_id: str, at: str) -> Action:
    """Disable an enabled webhook (fails if it is disabled or gone already, so it is disabled,
    and recorded, once)."""
    return (Change(keys.webhook(webhook_id)).set("enabled", False).set("disabled_at", at)
            .remove("failing_since").equals("enabled", True).action())


HISTORY_DAYS = 30


def record(attempt: DeliveryAttempt) -> Action:
    """One attempt in the delivery history, kept HISTORY_DAYS (DynamoDB's time to live deletes
    it then: the history of a webhook that fires on every event would grow without end)."""
    expires = datetime.fromisoformat(attempt.at) + timedelta(days=HISTORY_DAYS)
    return table.put_action({**attempt.to_item(), TTL: int(expires.timestamp())})


def attempts_page(webhook_id: str, token: str | None, limit: int) -> tuple[list[DeliveryAttempt], str | None]:
    """A webhook's delivery attempts, newest first, one page."""
    items, next_token = list_page(keys.webhook_pk(webhook_id), token, prefix=keys.DELIVERY_PREFIX,
                                  newest_first=True, limit=limit)
    return [DeliveryAttempt.from_item(i) for i in items], next_token
