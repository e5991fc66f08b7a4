"""Signed webhooks (issue 14, item 4): registered over HTTP, fed by the registry's own
EventBridge bus through the webhook queue (the rule and queue the local runner provisions,
local.runner.provision_webhooks), delivered by the `webhook_delivery` function exactly as the
local runner hands it the queue's messages (local.runner.sqs_event) to a receiver on
127.0.0.1 in the test, which checks each signature."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest

from chalicelib.domain.addresses import literal_address
from chalicelib.domain.webhooks import signed
from chalicelib.services import outbound
from chalicelib.services import webhooks as service
from local.runner import provision_webhooks, sqs_event
from support import WebhookReceiver, mint

BUS, QUEUE = "registry-events", "packer-registry-webhooks"  # QUEUE: the `local` stage's WEBHOOK_QUEUE


@pytest.fixture
def receiver():
    with WebhookReceiver() as server:
        yield server


class Hooks:
    """The registry with its webhook wiring: the bus, the rule, the queue, and its consumer."""

    def __init__(self, registry: Any) -> None:
        self.registry = registry
        self.sqs = boto3.client("sqs")
        self.queue = provision_webhooks(BUS, QUEUE)
        self.arn = self.sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]

    def create(self, url: str, events: list[str], **fields: Any) -> dict:
        return self.registry.send("post", "/webhooks", {"url": url, "events": events, **fields}, 201)

    def deliver(self) -> int:
        """One receive of the queue's visible messages (up to 10), each handed to
        `webhook_delivery` as the local runner does; how many there were. (One receive, not a
        drain: a retry queued meanwhile waits for the next call, after the test moved the clock.)"""
        messages = self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10).get("Messages", [])
        for message in messages:
            self.registry.client.lambda_.invoke("webhook_delivery", sqs_event(message, self.arn))
            self.sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=message["ReceiptHandle"])
        return len(messages)

    def history(self, webhook_id: str) -> list[dict]:
        return self.registry.all_pages(f"/webhooks/{webhook_id}/deliveries", limit=1)


@pytest.fixture
def hooks(registry, monkeypatch, moved_clock) -> Hooks:
    monkeypatch.setenv("EVENT_BUS_NAME", BUS)
    monkeypatch.setattr(service, "SQS_MAX_DELAY", 0)  # retries visible at once; the test moves the clock instead
    monkeypatch.setattr(service.rules, "SETTLE", timedelta(0))  # events handed over at once (but see below)
    return Hooks(registry)


def _event(registry: Any, action: str, bucket: str | None = None) -> dict:
    trail = registry.all_pages(f"/buckets/{bucket}/events" if bucket else "/events")
    return next(e for e in trail if e["action"] == action)


def test_a_failed_delivery_is_retried_with_the_same_id_and_a_valid_signature(hooks, receiver, moved_clock):
    created = hooks.create(receiver.url, ["bucket.created", "version.revoked"])
    secret = created["secret"]
    assert created["secret"].startswith("whsec_") and created["enabled"] is True
    receiver.plan = [500]
    hooks.registry.send("post", "/buckets", {"name": "base"}, 201)
    hooks.registry.send("post", "/buckets", {"name": "other-team"}, 201)
    assert hooks.deliver() == 3  # webhook.created (not subscribed) and the two buckets' events
    moved_clock.advance(seconds=31)
    assert hooks.deliver() == 1  # the retry of the failed one
    assert hooks.deliver() == 0

    first, second, third = receiver.received
    assert [r["path"] for r in receiver.received] == ["/hooks/registry?team=platform"] * 3
    for delivery in receiver.received:
        assert delivery["headers"]["Content-Type"] == "application/json"
        assert signed(secret, delivery["body"], delivery["headers"]["X-Registry-Signature"])
        assert delivery["headers"]["X-Registry-Signature"].startswith("sha256=")
        assert int(delivery["headers"]["X-Registry-Timestamp"]) > 0
    failed = json.loads(first["body"])
    retried = [d for d in (second, third) if d["headers"]["X-Registry-Delivery"] == first["headers"][
        "X-Registry-Delivery"]]
    assert len(retried) == 1 and retried[0]["body"] == first["body"]  # the same delivery, the same bytes
    assert (first["headers"]["X-Registry-Attempt"], retried[0]["headers"]["X-Registry-Attempt"]) == ("1", "2")
    assert failed == _event(hooks.registry, "bucket.created", failed["bucket"])  # the event as GET /events shows it
    assert {json.loads(d["body"])["bucket"] for d in receiver.received} == {"base", "other-team"}

    history = hooks.history(created["id"])
    attempts = sorted((h for h in history if h["id"] == first["headers"]["X-Registry-Delivery"]),
                      key=lambda h: h["attempt"])
    assert [(a["attempt"], a["success"], a["status_code"], a["error"]) for a in attempts] == [
        (1, False, 500, "HTTP 500"), (2, True, 200, None)]
    wait = datetime.fromisoformat(attempts[0]["next_retry_at"]) - datetime.fromisoformat(attempts[0]["time"])
    assert wait == timedelta(seconds=30)  # the first retry within a minute
    assert attempts[1]["next_retry_at"] is None
    assert attempts[0]["event_id"] == failed["id"] and attempts[0]["action"] == "bucket.created"
    assert len(history) == 3
    assert hooks.registry.get(f"/webhooks/{created['id']}")["failing_since"] is None  # the success ended the streak
    # Each attempt is kept 30 days: DynamoDB's time to live (deploy/resources.yaml) deletes it then.
    from boto3.dynamodb.conditions import Key

    from chalicelib.storage import keys
    from support import TABLE
    stored = boto3.resource("dynamodb").Table(TABLE).query(
        KeyConditionExpression=Key("PK").eq(keys.delivery_attempt(created["id"], "", "", 0)["PK"]))["Items"]
    kept = {(i["at"], int(i["expires_at"])) for i in stored if "attempt" in i}
    assert len(kept) == 3 and all(
        expires == int((datetime.fromisoformat(at) + timedelta(days=30)).timestamp()) for at, expires in kept)


def test_webhook_first_retry_seconds_replaces_the_first_wait_only(hooks, receiver, moved_clock, monkeypatch):
    """What the `make run` test sets so as not to wait 30 s; the rest of the schedule stands."""
    monkeypatch.setenv("WEBHOOK_FIRST_RETRY_SECONDS", "1")
    created = hooks.create(receiver.url, ["bucket.created"])
    receiver.plan = [500, 500]
    hooks.registry.send("post", "/buckets", {"name": "base"}, 201)
    hooks.deliver()
    moved_clock.advance(seconds=2)
    assert hooks.deliver() == 1  # the retry, due a second after the failure
    attempts = sorted(hooks.history(created["id"]), key=lambda h: h["attempt"])
    waits = [datetime.fromisoformat(a["next_retry_at"]) - datetime.fromisoformat(a["time"]) for a in attempts]
    assert waits == [timedelta(seconds=1), timedelta(seconds=120)]


def test_a_webhook_hears_nothing_that_happened_before_its_creation(hooks, receiver):
    """Events still in the queue when a webhook is created happened before it: not sent to it."""
    hooks.registry.send("post", "/buckets", {"name": "before"}, 201)
    created = hooks.create(receiver.url, ["bucket.created", "webhook.created"])
    hooks.registry.send("post", "/buckets", {"name": "after"}, 201)
    while hooks.deliver():
        pass
    got = [json.loads(r["body"]) for r in receiver.received]
    assert sorted((e["action"], e["target"]) for e in got) == [
        ("bucket.created", "after"), ("webhook.created", f"webhook/{created['id']}")]  # its own creation too
    assert all(e["time"] >= created["created_at"] for e in got)


def test_an_event_is_handed_to_the_webhooks_once_settled(hooks, receiver, moved_clock, monkeypatch):
    """An event younger than SETTLE goes back to the queue (a webhook created just before it may
    not be listed yet); once that old, it is delivered."""
    monkeypatch.setattr(service.rules, "SETTLE", timedelta(seconds=2))
    hooks.create(receiver.url, ["bucket.created"])
    hooks.registry.send("post", "/buckets", {"name": "base"}, 201)
    for _ in range(3):  # each handling queues the events again (visible at once here: SQS_MAX_DELAY is 0)
        assert hooks.deliver() and receiver.received == []
    moved_clock.advance(seconds=1.5)
    assert hooks.deliver() and receiver.received == []  # still too young
    moved_clock.advance(seconds=0.5)
    while hooks.deliver():
        pass
    assert [json.loads(r["body"])["bucket"] for r in receiver.received] == ["base"]


def test_a_delivery_says_who_acted_by_name_and_id_and_never_with_a_secret(hooks, receiver):
    """What EventBridge carries and the webhook receives: `actor` and `actor_id` (issue 22)."""
    secret = mint(hooks.registry, "contributor", name="packer-ci")
    hooks.create(receiver.url, ["bucket.created"])
    hooks.registry.as_token(secret).send("post", "/buckets", {"name": "base"}, 201)
    while hooks.deliver():
        pass
    (got,) = [json.loads(r["body"]) for r in receiver.received]
    assert (got["actor"], got["actor_id"]) == ("packer-ci", secret.split(".")[0])
    assert secret.split(".")[1] not in receiver.received[0]["body"].decode()


def test_only_the_events_and_buckets_a_webhook_names_are_delivered(hooks, receiver):
    hooks.create(receiver.url, ["channel.assigned"], buckets=["app"])
    for name in ("base", "app"):
        hooks.registry.send("post", "/buckets", {"name": name}, 201)
        hooks.registry.send("post", f"/buckets/{name}/channels", {"name": "staging"}, 201)
    hooks.deliver()
    assert receiver.received == []  # bucket.created and channel.created are not subscribed; nothing assigned
    hooks.registry.upload("app/m.json", {"builds": [{
        "name": "b", "builder_type": "amazon-ebs", "build_time": 1764000000, "files": None,
        "artifact_id": "us-east-1:ami-0a0a0a0a0a0a0a0a1", "packer_run_uuid": "r1"}], "last_run_uuid": "r1"})
    hooks.registry.upload("base/m.json", {"builds": [{
        "name": "b", "builder_type": "amazon-ebs", "build_time": 1764000000, "files": None,
        "artifact_id": "us-east-1:ami-0b0b0b0b0b0b0b0b1", "packer_run_uuid": "r2"}], "last_run_uuid": "r2"})
    for name in ("base", "app"):
        hooks.registry.send("patch", f"/buckets/{name}/channels/staging", {"version": "v1"})
    while hooks.deliver():
        pass
    got = [json.loads(r["body"]) for r in receiver.received]
    assert sorted((e["action"], e["bucket"], e["target"]) for e in got) == [
        ("channel.assigned", "app", "channel/latest"), ("channel.assigned", "app", "channel/staging")]


def test_a_webhook_failing_for_a_day_is_disabled(hooks, receiver, moved_clock):
    created = hooks.create(receiver.url, ["bucket.created"])
    receiver.plan = [500] * 10
    hooks.registry.send("post", "/buckets", {"name": "base"}, 201)
    hooks.deliver()
    assert hooks.registry.get(f"/webhooks/{created['id']}")["failing_since"] is not None
    moved_clock.advance(hours=23)
    hooks.deliver()  # attempt 2 fails, 23 h into the streak: still enabled
    assert hooks.registry.get(f"/webhooks/{created['id']}")["enabled"] is True
    moved_clock.advance(hours=2)
    hooks.deliver()  # attempt 3 fails, 25 h into the streak: disabled
    webhook = hooks.registry.get(f"/webhooks/{created['id']}")
    assert (webhook["enabled"], webhook["failing_since"]) == (False, None) and webhook["disabled_at"]
    disabled = _event(hooks.registry, "webhook.disabled")
    assert disabled["target"] == f"webhook/{created['id']}" and disabled["actor"] == "registry"
    assert disabled["detail"]["last_error"] == "HTTP 500"
    history = hooks.history(created["id"])
    assert [(h["attempt"], h["success"]) for h in history] == [(3, False), (2, False), (1, False)]
    assert history[0]["next_retry_at"] is None  # no retry after the one that disabled it

    received = len(receiver.received)
    hooks.registry.send("post", "/buckets", {"name": "later"}, 201)
    while hooks.deliver():
        pass
    assert len(receiver.received) == received == 3  # a disabled webhook gets nothing more


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data/", "http://169.254.170.2/v2/credentials", "https://[fd00:ec2::254]/",
    "http://[::ffff:169.254.169.254]/", "http://[::ffff:a9fe:a9fe]/", "http://[fe80::1]/", "http://0.0.0.0/"])
def test_link_local_and_metadata_addresses_are_refused_at_creation(registry, url):
    answer = registry.send("post", "/webhooks", {"url": url, "events": ["bucket.created"]}, 400)
    assert answer["error"] == "BadRequest" and "may not receive webhooks" in answer["message"], answer
    assert registry.get("/webhooks")["items"] == []


@pytest.mark.parametrize("url, reason", [
    ("http://[64:ff9b::a9fe:a9fe]/", "64:ff9b::a9fe:a9fe (169.254.169.254) is a link-local or cloud metadata address"),
    ("http://[::ffff:0:a9fe:a9fe]/", "::ffff:0:a9fe:a9fe (169.254.169.254) is a link-local or cloud metadata address"),
    ("https://[2002:a9fe:a9fe::1]/", "2002:a9fe:a9fe::1 (169.254.169.254) is a link-local or cloud metadata address"),
    ("http://[64:ff9b:1::a9fe:a9fe]/", "64:ff9b:1::a9fe:a9fe is a local-use NAT64 address (64:ff9b:1::/48)"),
    ("http://[64:ff9b::a00:1]/", "64:ff9b::a00:1 (10.0.0.1) is a loopback or private address (WEBHOOK_ALLOW_PRIVATE "
                                 "is off)")])
def test_ipv6_encodings_of_ipv4_addresses_are_refused_at_creation_naming_the_address_inside(
        registry, monkeypatch, url, reason):
    """NAT64, SIIT and 6to4 addresses are judged by the IPv4 address they carry (issue 22, item 6)."""
    monkeypatch.setattr(service, "allow_private", lambda: False)  # as on AWS (WEBHOOK_ALLOW_PRIVATE unset)
    answer = registry.send("post", "/webhooks", {"url": url, "events": ["bucket.created"]}, 400)
    assert answer["message"].startswith(f"url {urlsplit(url).hostname!r} may not receive webhooks: {reason}"), answer
    assert registry.get("/webhooks")["items"] == []


def test_a_name_resolving_to_the_metadata_address_is_refused_at_creation(registry, monkeypatch):
    monkeypatch.setattr(outbound, "resolve", lambda host, port: [literal_address("169.254.169.254")])
    answer = registry.send("post", "/webhooks", {"url": "https://hooks.example.test/x", "events": ["bucket.created"]},
                           400)
    assert "'hooks.example.test'" in answer["message"] and "169.254.169.254" in answer["message"]


def test_the_address_is_checked_again_at_each_delivery(hooks, receiver, monkeypatch):
    port = receiver.server.server_address[1]
    answers = {"hooks.example.test": "127.0.0.1"}
    monkeypatch.setattr(outbound, "resolve", lambda host, p: [literal_address(answers[host])])
    created = hooks.create(f"http://hooks.example.test:{port}/in", ["bucket.created"])
    hooks.registry.send("post", "/buckets", {"name": "first"}, 201)
    hooks.deliver()
    assert [r["headers"]["Host"] for r in receiver.received] == [f"hooks.example.test:{port}"]  # the name kept
    answers["hooks.example.test"] = "169.254.169.254"  # DNS now points at the metadata service
    hooks.registry.send("post", "/buckets", {"name": "second"}, 201)
    hooks.deliver()
    assert len(receiver.received) == 1
    (refused, delivered) = hooks.history(created["id"])
    assert (refused["success"], refused["status_code"]) == (False, None)
    assert "169.254.169.254 is a link-local or cloud metadata address" in refused["error"]
    assert delivered["success"] is True


@pytest.mark.parametrize("url, words", [
    ("ftp://hooks.example.test/", "http:// or https://"), ("hooks.example.test/in", "http:// or https://"),
    ("http:///path", "no host"), ("https://user:pw@hooks.example.test/", "user:password"),
    ("http://127.0.0.1:99999/", "not a valid URL"), ("http://x/" + "a" * 2100, "at most 2048")])
def test_a_bad_url_is_a_400_naming_the_problem(registry, url, words):
    answer = registry.send("post", "/webhooks", {"url": url, "events": ["bucket.created"]}, 400)
    assert words in answer["message"], answer


def test_loopback_is_refused_unless_private_addresses_are_allowed(registry, monkeypatch):
    monkeypatch.setattr(service, "allow_private", lambda: False)  # as on AWS (WEBHOOK_ALLOW_PRIVATE unset)
    for url in ("http://127.0.0.1:9/", "http://10.0.0.1/", "http://[::1]/"):
        answer = registry.send("post", "/webhooks", {"url": url, "events": ["bucket.created"]}, 400)
        assert "WEBHOOK_ALLOW_PRIVATE is off" in answer["message"]


def test_an_unknown_event_is_a_400_naming_it(registry):
    answer = registry.send("post", "/webhooks", {"url": "http://127.0.0.1:9/", "events": [
        "bucket.created", "version.exploded"]}, 400)
    assert "'version.exploded'" in answer["message"] and "events.1" in answer["message"]
    assert "bucket.created" in answer["message"]  # the list of those that exist
    for body, words in (({"url": "http://127.0.0.1:9/", "events": []}, "events"),
                        ({"url": "http://127.0.0.1:9/", "events": ["bucket.created"], "buckets": ["Bad Name"]},
                         "buckets.0"),
                        ({"url": "http://127.0.0.1:9/", "events": ["bucket.created"], "secret": "mine"}, "secret")):
        assert words in registry.send("post", "/webhooks", body, 400)["message"]


def test_the_secret_is_in_the_creation_answer_only(registry, hooks, receiver):
    created = hooks.create(receiver.url, ["bucket.created"])
    secret = created["secret"]
    hooks.registry.send("post", "/buckets", {"name": "base"}, 201)
    hooks.deliver()
    seen = [registry.get("/webhooks"), registry.get(f"/webhooks/{created['id']}"),
            registry.get(f"/webhooks/{created['id']}/deliveries"), registry.get("/events"),
            registry.send("delete", f"/webhooks/{created['id']}"), registry.get("/events")]
    assert all(secret not in json.dumps(answer) for answer in seen)
    assert [e["action"] for e in registry.get("/events")["items"][:2]] == ["webhook.deleted", "webhook.created"]
    assert registry.get("/webhooks")["items"] == []
    registry.get(f"/webhooks/{created['id']}", status=404)
    registry.get(f"/webhooks/{created['id']}/deliveries", status=404)
    registry.send("delete", f"/webhooks/{created['id']}", status=404)
    registry.get("/webhooks/NOT-AN-ID", status=404)


def test_a_deleted_webhook_gets_no_retry(hooks, receiver, moved_clock):
    created = hooks.create(receiver.url, ["bucket.created"])
    receiver.plan = [503]
    hooks.registry.send("post", "/buckets", {"name": "base"}, 201)
    hooks.deliver()
    hooks.registry.send("delete", f"/webhooks/{created['id']}")
    moved_clock.advance(minutes=1)
    while hooks.deliver():
        pass
    assert len(receiver.received) == 1


def test_webhooks_are_for_admins(registry):
    contributor = registry.as_token(mint(registry, "contributor"))
    for method, path in (("get", "/webhooks"), ("post", "/webhooks"), ("get", "/webhooks/0123456789abcdef"),
                         ("delete", "/webhooks/0123456789abcdef"), ("get", "/webhooks/0123456789abcdef/deliveries")):
        answer = contributor.send(method, path, {"url": "http://127.0.0.1:9/", "events": ["bucket.created"]}
                                  if method == "post" else None, 403)
        assert "admin" in answer["message"]


def test_webhooks_are_listed_page_by_page(registry):
    made = [registry.send("post", "/webhooks", {"url": f"http://127.0.0.1:{9 + n}/", "events": ["bucket.created"]},
                          201)["id"] for n in range(5)]
    listed = registry.all_pages("/webhooks", limit=2)
    assert [w["id"] for w in listed] == made
    assert all("secret" not in w for w in listed)


def test_concurrent_failures_disable_a_webhook_once(moto_server, monkeypatch, moved_clock):
    """Several failed attempts of one webhook at once, a day into its streak (threads against a
    moto server, many trials): it is disabled, and `webhook.disabled` recorded, exactly once."""
    from chalicelib import storage
    from chalicelib.domain.models import CreateWebhook
    from chalicelib.services.webhooks import Delivery
    from support import race

    monkeypatch.setenv("WEBHOOK_QUEUE", QUEUE)
    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE", "true")
    boto3.client("sqs", endpoint_url=moto_server).create_queue(QueueName=QUEUE)
    with WebhookReceiver() as receiver:
        receiver.plan = [500] * 1000
        for trial in range(8):
            hook = service.create_webhook(CreateWebhook(url=receiver.url, events=["bucket.created"]), "test")
            stored = storage.webhooks.webhook(hook.id)
            assert stored is not None
            service.attempt(stored, Delivery(hook.id, f"d{trial}-0", f"e{trial}", "bucket.created", 1, "{}"))
            moved_clock.advance(hours=25)
            stored = storage.webhooks.webhook(hook.id)
            assert stored is not None and stored.failing_since
            errors = race(*(lambda n=n: service.attempt(stored, Delivery(hook.id, f"d{trial}-{n}", f"e{trial}-{n}",
                                                                         "bucket.created", 2, "{}")) for n in range(4)))
            assert errors == []
            assert storage.webhooks.webhook(hook.id).enabled is False  # type: ignore[union-attr]
            events, _ = storage.events.events_page(None, None, 100)
            disabled = [e for e in events if e.action == "webhook.disabled" and e.target == f"webhook/{hook.id}"]
            assert len(disabled) == 1, (trial, len(disabled))


def test_a_webhook_created_while_events_happen_hears_exactly_those_from_its_creation_on(moto_server, monkeypatch):
    """A webhook's creation races events being made and delivered (threads against a moto
    server, many trials; two events queued just before it too). Its creation is held 0.5 s
    between reading the clock for `created_at` and committing, as a throttled or paused writer
    would be, so events made meanwhile are handed over while it is not listed yet. Invariant:
    it receives every event whose time is at or after its `created_at`, and none before."""
    from chalicelib import storage
    from chalicelib.domain.models import CreateBucket, CreateWebhook
    from chalicelib.services import audit, buckets
    from support import race

    for name, value in (("EVENT_BUS_NAME", BUS), ("WEBHOOK_QUEUE", QUEUE), ("WEBHOOK_ALLOW_PRIVATE", "true")):
        monkeypatch.setenv(name, value)
    sqs, queue = boto3.client("sqs"), provision_webhooks(BUS, QUEUE)
    create = storage.webhooks.create
    monkeypatch.setattr(storage.webhooks, "create", lambda item: time.sleep(0.5) or create(item))

    def deliver() -> int:
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        for message in messages:
            service.handle(message["Body"])
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        return len(messages)

    def deliver_for(seconds: float) -> None:
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            deliver() or time.sleep(0.05)

    def queued() -> int:
        counts = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
        return sum(int(counts[f"ApproximateNumberOf{kind}"]) for kind in ("Messages", "MessagesNotVisible",
                                                                            "MessagesDelayed"))

    def make(names: list[str]) -> None:
        for name in names:
            buckets.create_bucket(CreateBucket(name=name), "racer")
            time.sleep(0.1)

    broken = []
    with WebhookReceiver() as receiver:
        for trial in range(5):
            made: dict[str, Any] = {}
            url = f"{receiver.url}&trial={trial}"
            names = [f"t{trial}-{n}" for n in range(12)]
            make(names[:2])  # queued, not yet delivered, when the webhook is created
            assert race(lambda: made.update(hook=service.create_webhook(CreateWebhook(url=url, events=[
                            "bucket.created"]), "test")),
                        lambda: make(names[2:7]), lambda: make(names[7:]), lambda: deliver_for(1.5)) == []
            deadline = time.monotonic() + 30
            while queued() and time.monotonic() < deadline:  # every event settled and handed over
                deliver() or time.sleep(0.2)
            created = datetime.fromisoformat(made["hook"].created_at)
            occurred = {e.id: datetime.fromisoformat(e.time) for name in names
                        for e in audit.list_events(name, 10, None)[0] if e.action == "bucket.created"}
            received = [json.loads(r["body"])["id"] for r in receiver.received if r["path"].endswith(f"trial={trial}")]
            expected = {i for i, at in occurred.items() if at >= created}
            early = sorted(i for i in received if occurred[i] < created)
            missed = sorted(expected - set(received))
            if early or missed or not expected or len(expected) == len(occurred):
                broken.append(f"trial {trial}: {len(early)} from before its creation, {len(missed)} missed "
                              f"of {len(expected)} after it, of {len(occurred)}")
            service.delete_webhook(made["hook"].id, "test")
    assert not broken, broken
