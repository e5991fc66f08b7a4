"""The webhook rules (chalicelib/domain/webhooks.py): signature, retry schedule, disabling,
URLs; and the audit action list webhooks subscribe to (the addresses: test_addresses.py)."""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from chalicelib.domain import webhooks as rules
from chalicelib.domain.enums import AuditAction, IngestionStatus

ROOT = Path(__file__).resolve().parents[2]


def test_the_signature_is_the_hex_hmac_sha256_of_the_body():
    body = b'{"action":"version.revoked"}'
    expected = "sha256=" + hmac.new(b"whsec_k", body, hashlib.sha256).hexdigest()
    assert rules.signature("whsec_k", body) == expected
    assert rules.signed("whsec_k", body, expected)
    assert not rules.signed("whsec_other", body, expected)
    assert not rules.signed("whsec_k", body + b" ", expected)
    assert not rules.signed("whsec_k", body, None)


def test_retries_start_within_a_minute_grow_and_outlast_a_day():
    delays = [rules.retry_delay(n) for n in range(1, rules.MAX_ATTEMPTS)]
    assert delays[0] is not None and delays[0] <= 60
    assert delays == sorted(delays)
    assert sum(d for d in delays if d) > rules.DISABLE_AFTER.total_seconds()  # a failing webhook is disabled first
    assert rules.retry_delay(rules.MAX_ATTEMPTS) is None
    assert rules.retry_delay(0) is None


def test_a_failure_disables_once_the_streak_is_a_day_old():
    now = datetime(2026, 5, 1, 12, tzinfo=timezone.utc)
    assert not rules.should_disable(None, now)
    assert not rules.should_disable(now - timedelta(hours=23, minutes=59), now)
    assert rules.should_disable(now - timedelta(hours=24), now)


@pytest.mark.parametrize("url, port", [("https://hooks.example.com/x?y=1", 443), ("http://h.example:8080/", 8080),
                                       ("http://[::1]:9/", 9), ("HTTP://Example.com", 80)])
def test_good_urls(url, port):
    assert rules.port_of(rules.check_url(url)) == port


def test_a_url_may_have_2048_characters():
    url = "https://h.example/" + "x" * (2048 - len("https://h.example/"))
    assert rules.check_url(url).hostname == "h.example"


CREDENTIALS = ("url must not hold user:password (send-side credentials are not supported; verify the "
               "X-Registry-Signature instead)")


@pytest.mark.parametrize("url, message", [
    ("ftp://h/", "url must be http:// or https://, not ftp"),
    ("file:///etc/passwd", "url must be http:// or https://, not file"),
    ("//h/x", "url must be http:// or https://, not no scheme"),
    ("http://", "url has no host"), ("http://u:p@h/", CREDENTIALS), ("http://u@h/", CREDENTIALS),
    ("http://h:0/", "url port must be 1-65535"),
    ("http://h/" + "x" * 2040, "url must be at most 2048 characters, not 2049")])
def test_bad_urls_say_why(url, message):
    """The message is the 400's: it names the field and what is allowed."""
    with pytest.raises(ValueError) as caught:
        rules.check_url(url)
    assert str(caught.value) == message


@pytest.mark.parametrize("url", ["http://h:70000/", "http://[::1/"])
def test_unparsable_urls_say_so(url):
    with pytest.raises(ValueError, match=r"^url is not a valid URL: "):
        rules.check_url(url)


def test_what_a_webhook_wants():
    assert rules.wants(True, ["bucket.created"], [], "bucket.created", "base")
    assert rules.wants(True, ["token.created"], [], "token.created", None)
    assert not rules.wants(False, ["bucket.created"], [], "bucket.created", "base")
    assert not rules.wants(True, ["bucket.created"], [], "bucket.deleted", "base")
    assert rules.wants(True, ["bucket.created"], ["base"], "bucket.created", "base")
    assert not rules.wants(True, ["bucket.created"], ["app"], "bucket.created", "base")
    assert not rules.wants(True, ["token.created"], ["app"], "token.created", None)


def test_a_webhook_hears_what_occurred_at_or_after_its_creation():
    created = datetime(2026, 5, 1, 12, 0, 0, 250000, tzinfo=timezone.utc)
    assert rules.heard(created, created)  # the same instant: after (its own webhook.created event)
    assert rules.heard(created, created + timedelta(microseconds=1))
    assert not rules.heard(created, created - timedelta(microseconds=1))
    assert rules.settled(created) == created + timedelta(seconds=2) == created + rules.SETTLE


def test_every_action_the_services_record_is_an_audit_action():
    """A webhook can subscribe only to AuditAction's members: an action written anywhere else
    would be one nobody can subscribe to."""
    written: set[str] = set()
    for path in (ROOT / "chalicelib").rglob("*.py"):
        source = path.read_text()
        for call in re.finditer(r"event_action\(([^()]|\([^()]*\))*\)", source, re.S):
            written.update(re.findall(r'"([a-z_]+\.[a-z_]+)"', call.group(0)))
        for table in re.finditer(r"_(?:STATUS|MOVE)_EVENTS[^=]*=\s*\{[^}]*\}", source, re.S):
            written.update(re.findall(r'"([a-z_]+\.[a-z_]+)"', table.group(0)))
    written.update(f"ingestion.{status}" for status in IngestionStatus)
    assert written > {"bucket.created", "version.revoked", "channel.rolled_back", "descendant.outdated"}
    assert written - set(AuditAction) == set()
