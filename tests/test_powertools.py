"""Powertools where it fits: SSM secrets cached for 5 minutes (rotation reaches warm
containers), a correlation id on every log line, the standard cold-start metric, and S3
events read through the `S3Event` data class (keys decoded as S3 encodes them)."""

from __future__ import annotations

import io
import json
import secrets
from datetime import datetime
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote_plus

import boto3
import pytest

import app as application
from chalicelib import auth
from chalicelib.observability import logger
from conftest import MANIFEST_BUCKET, manifest

ADMIN_PARAM = "/packer-registry/test/admin-token"
KEY_PARAM = "/packer-registry/test/signing-key"


@pytest.fixture
def later(moved_clock, monkeypatch):
    """The registry's clock and the clock of Powertools' parameter cache, moved forward together."""
    from aws_lambda_powertools.utilities.parameters import base

    class Moved(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:  # type: ignore[override]
            return datetime.now(tz) + moved_clock.offset

    monkeypatch.setattr(base, "datetime", Moved)
    return moved_clock


def put_secret(name: str, value: str) -> None:
    boto3.client("ssm").put_parameter(Name=name, Type="SecureString", Value=value, Overwrite=True)


def status_with(registry, token: str, path: str = "/whoami") -> int:
    return registry.client.http.get(path, headers={"Authorization": f"Bearer {token}"}).status_code


@pytest.fixture
def admin_in_ssm(registry, monkeypatch):
    """The bootstrap admin token in SSM, as on AWS (no REGISTRY_ADMIN_TOKEN in the environment)."""
    old = secrets.token_urlsafe(32)
    put_secret(ADMIN_PARAM, old)
    monkeypatch.delenv("REGISTRY_ADMIN_TOKEN")
    monkeypatch.setenv("REGISTRY_ADMIN_TOKEN_PARAM", ADMIN_PARAM)
    return old


def test_a_rotated_admin_token_is_in_force_within_5_minutes_on_a_warm_container(registry, admin_in_ssm, later):
    old, new = admin_in_ssm, secrets.token_urlsafe(32)
    assert status_with(registry, old) == 200
    put_secret(ADMIN_PARAM, new)
    later.advance(minutes=4)  # still cached: the authorizer does not read SSM on every request
    assert status_with(registry, old) == 200
    later.advance(minutes=1, seconds=1)
    assert status_with(registry, old) == 401
    assert status_with(registry, new) == 200
    assert json.loads(registry.client.http.get("/whoami", headers={"Authorization": f"Bearer {new}"}).body)[
        "name"] == auth.BOOTSTRAP


def test_a_rotated_signing_key_ends_page_tokens_within_5_minutes(registry, monkeypatch, later):
    registry.upload("web/m.json", manifest(*({"packer_run_uuid": f"r{n}"} for n in range(3))))
    put_secret(KEY_PARAM, secrets.token_urlsafe(48))
    monkeypatch.setenv("REGISTRY_SIGNING_KEY_PARAM", KEY_PARAM)
    token = registry.get("/buckets/web/versions?limit=1")["next_token"]
    put_secret(KEY_PARAM, secrets.token_urlsafe(48))
    later.advance(minutes=4)
    assert registry.get(f"/buckets/web/versions?limit=1&next_token={token}")["items"]
    later.advance(minutes=1, seconds=1)
    registry.get(f"/buckets/web/versions?limit=1&next_token={token}", status=400)
    fresh = registry.get("/buckets/web/versions?limit=1")["next_token"]
    assert registry.get(f"/buckets/web/versions?limit=1&next_token={fresh}")["items"]
