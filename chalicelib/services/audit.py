"""The audit trail and the events that go out.

Every change writes an event item (time, actor, action, target, before/after where it
matters) in the same DynamoDB transaction as the change itself, so no change goes
unrecorded: `event_action()` builds that item, `commit()` runs the transaction and then
publishes the events it carried to Amazon EventBridge (bus `EVENT_BUS_NAME`; without one,
a log line says they were not sent). Publishing is best effort after the commit: the
audit trail in DynamoDB is the record, EventBridge the notification.

Actors: a token's name; `s3:<key>` for ingestion; `sweep` for the schedule; `registry` for
copies it refreshes itself; `bootstrap-admin` for the bootstrap admin token; `anonymous`
where no token identified the caller. Tokens and service principals cannot take these names
(domain/actors.py); a service principal's access token acts under the principal's name.
Beside `actor`, each event has `actor_id`: the token id or the principal's client id, and
for the registry's own actors the actor itself (domain/actors.py).
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..runtime import aws
from ..domain import actors, names, selection
from . import serving
from .. import storage
from ..storage import entities
from ..runtime.clock import now_iso
from ..errors import NotFound
from ..domain.models import AuditEvent
from ..runtime.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

SOURCE = "packer-registry"
Action = dict[str, Any]


def event_action(bucket: str | None, action: str, target: str, actor: str,
                 before: Any = None, after: Any = None, **detail: Any) -> Action:
    """A put of one audit event; `bucket` None files it under the registry-wide trail."""
    at, event_id = now_iso(), secrets.token_hex(6)
    return storage.events.put(entities.Event(id=event_id, time=at, actor=str(actor), actor_id=actors.actor_id(actor),
                                             action=action, bucket=bucket, target=target, before=before, after=after,
                                             detail=detail or None))


def commit(actions: list[Action]) -> None:
    """storage.transact, then publish the audit events among the actions."""
    storage.transact(actions)
    publish(storage.events.in_actions(actions))


def publish(events: list[entities.Event]) -> None:
    """PutEvents in batches of 10; failures are logged, never raised (the change is done)."""
    if not events:
        return
    bus = os.environ.get("EVENT_BUS_NAME")
    if not bus:
        logger.info("events not published: no EVENT_BUS_NAME", extra={"actions": [e.action for e in events]})
        return
    entries: list[PutEventsRequestEntryTypeDef] = [
        {"Source": SOURCE, "DetailType": e.action, "EventBusName": bus,
         "Detail": json.dumps(dataclasses.asdict(e), default=str)}
        for e in events]
    for start in range(0, len(entries), 10):
        try:
            response = aws.client("events").put_events(Entries=entries[start:start + 10])
            if response.get("FailedEntryCount"):
                logger.warning("some events were not published", extra={"failed": response["FailedEntryCount"]})
        except Exception:  # noqa: BLE001 - publishing must not undo a committed change
            logger.exception("publishing events failed")


def list_events(bucket: str | None, limit: int, token: str | None, see_restricted: bool = True,
                filters: Mapping[str, str] | None = None) -> tuple[list[AuditEvent], str | None, bool]:
    """A bucket's events (None: the registry-wide ones), newest first, one Query page:
    `filters` (`created_after`, `created_before`: a key condition; `actor`: a filter on the
    page read, which may then be short: the third value says so).

    For a viewer (`see_restricted` False) the page is filtered (`for_viewers`), so it may
    hold fewer than `limit` events, even none, while `next_token` says more remain.
    """
    problem = names.bad_path_parameter({"bucket": bucket}) if bucket is not None else None  # "" is not None
    if problem:
        raise NotFound(problem)
    filters = filters or {}
    events, next_token = storage.events.events_page(bucket, token, limit, created_after=filters.get("created_after"),
                                                    created_before=filters.get("created_before"),
                                                    actor=filters.get("actor"))
    if not see_restricted and bucket is not None:
        events = for_viewers(bucket, events)
    return [AuditEvent.model_validate(dataclasses.asdict(e)) for e in events], next_token, "actor" in filters


CHANNEL_TARGET = "channel/"
HIDDEN_FROM_VIEWERS = ("latest",)  # managed and restricted: a viewer never learns where it points


def for_viewers(bucket: str, events: list[entities.Event]) -> list[entities.Event]:
    """What a viewer may see of a bucket's events: nothing about a channel that is
    restricted now, about `latest`, or about a channel that no longer exists (whether it
    was restricted is no longer known); no `latest_version` in bucket payloads; and no
    ancestry sentences or findings in full (they name the parent's channel, which may be
    restricted: `viewer_messages` and `viewer_findings` name none); a bulk revocation's filter
    without the labels a viewer never sees.

    Channels are judged as they are now, by one Query of the bucket's channel names and
    flags (a bucket has few channels); it runs only when the page has channel events.
    """
    about_channels = any(e.target.startswith(CHANNEL_TARGET) for e in events)
    public = public_channels(bucket) if about_channels else set()
    shown = []
    for event in events:
        if event.target.startswith(CHANNEL_TARGET) and event.target[len(CHANNEL_TARGET):] not in public:
            continue
        shown.append(dataclasses.replace(event, before=_without(event.before, "latest_version"),
                                         after=_seen_filter(_without(event.after, "latest_version")),
                                         detail=_without(event.detail, "messages", "findings") or None))
    return shown


def public_channels(bucket: str) -> set[str]:
    """The names of the bucket's channels a viewer may see."""
    return {name for name, restricted in storage.channels.restricted_flags(bucket).items()
            if not restricted and name not in HIDDEN_FROM_VIEWERS}


def _seen_filter(payload: Any) -> Any:
    """A bulk revocation's payload (`revocation_job.created`) with its filter as a viewer reads
    the job: without the labels a viewer never sees (`parent_channel`)."""
    if isinstance(payload, dict) and isinstance(payload.get("filter"), dict):
        return {**payload, "filter": selection.shown(payload["filter"], serving.VIEWER_HIDDEN_LABELS)}
    return payload


def _without(payload: Any, *fields: str) -> Any:
    """A payload without `fields`, when it is an object."""
    return {k: v for k, v in payload.items() if k not in fields} if isinstance(payload, dict) else payload
