"""boto3 clients, made on first use and reused across invocations of a warm Lambda.

boto3 reads `AWS_ENDPOINT_URL` (and per-service `AWS_ENDPOINT_URL_DYNAMODB`, ...) itself,
which is how the local runner and the tests point it at moto.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30)
_clients: dict[tuple[str, ...], Any] = {}


def client(service: str) -> Any:
    """A client for `service`, cached per endpoint and region (both read now, not at import)."""
    key = (
        service,
        os.environ.get("AWS_ENDPOINT_URL", ""),
        os.environ.get(f"AWS_ENDPOINT_URL_{service.upper()}", ""),
        os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION", ""),
    )
    if key not in _clients:
        _clients[key] = boto3.session.Session().client(service, config=_CONFIG)
    return _clients[key]


def reset() -> None:
    """Forget cached clients (tests start a fresh moto for each case)."""
    _clients.clear()
