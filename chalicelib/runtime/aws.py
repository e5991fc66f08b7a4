"""boto3 clients, made on first use and reused across invocations of a warm Lambda.

boto3 reads `AWS_ENDPOINT_URL` (and per-service `AWS_ENDPOINT_URL_DYNAMODB`, ...) itself,
which is how the local runner and the tests point it at moto.

`client("dynamodb")` is typed as boto3-stubs' DynamoDBClient (and so on for each service the
registry uses), so mypy checks every call's parameters; the stubs are a development
dependency only, imported for type checking.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Literal, overload

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_ssm import SSMClient

Service = Literal["dynamodb", "events", "s3", "sqs", "ssm"]
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30)
_clients: dict[tuple[str, ...], Any] = {}


@overload
def client(service: Literal["dynamodb"]) -> DynamoDBClient: ...
@overload
def client(service: Literal["events"]) -> EventBridgeClient: ...
@overload
def client(service: Literal["s3"]) -> S3Client: ...
@overload
def client(service: Literal["sqs"]) -> SQSClient: ...
@overload
def client(service: Literal["ssm"]) -> SSMClient: ...
def client(service: Service) -> Any:
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
