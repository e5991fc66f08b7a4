"""Powertools where it fits: SSM secrets cached for 5 minutes (rotation reaches warm
containers), a correlation id on every log line, the standard cold-start metric, and S3
events read through the `S3Event` data class (keys decoded as S3 encodes them)."""

from __future__ import annotations

import io
import json
import secrets
from datetime import datetime
from typing import Any
from urllib.parse import quote_plus

import boto3
import pytest

import app as application
from chalicelib.services import auth
from chalicelib.runtime.observability import logger, metrics
from support import MANIFEST_BUCKET, manifest

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


# ---- logs and metrics ---------------------------------------------------------------------

class Context:
    """The Lambda context of one invocation of the API function on AWS."""

    function_name = "packer-registry-prod"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:packer-registry-prod"
    memory_limit_in_mb = 512
    log_group_name = "/aws/lambda/packer-registry-prod"
    log_stream_name = "test"

    def __init__(self, request_id: str) -> None:
        self.aws_request_id = request_id

    def get_remaining_time_in_millis(self) -> int:
        return 60000


def api_gateway(method: str, path: str, resource: str, request_id: str, body: Any = None) -> dict:
    """The proxy event API Gateway hands the API function, the authorizer's context on it."""
    return {"resource": resource, "path": path, "httpMethod": method, "headers": {"content-type": "application/json"},
            "multiValueHeaders": {}, "queryStringParameters": None, "multiValueQueryStringParameters": None,
            "pathParameters": None, "stageVariables": None, "isBase64Encoded": False,
            "body": json.dumps(body) if body is not None else None,
            "requestContext": {"resourcePath": resource, "httpMethod": method, "path": f"/api{path}", "stage": "api",
                               "requestId": request_id, "identity": {"sourceIp": "127.0.0.1"},
                               "authorizer": {"name": auth.BOOTSTRAP, "role": "admin", "token_id": auth.BOOTSTRAP,
                                              "principalId": auth.BOOTSTRAP}}}


@pytest.fixture
def log_lines():
    """Reads the registry's JSON log lines (its Powertools Logger's stream) written since the last read."""
    stream = io.StringIO()
    previous = logger.registered_handler.setStream(stream)  # type: ignore[attr-defined]

    def read() -> list[dict]:
        lines = [json.loads(line) for line in stream.getvalue().splitlines()]
        stream.seek(0)
        stream.truncate()
        return lines

    yield read
    logger.registered_handler.setStream(previous)  # type: ignore[attr-defined]


@pytest.fixture
def cold_container(monkeypatch):
    """A container that has not served an invocation yet, with metrics on (as on AWS)."""
    import aws_lambda_powertools.logging.logger as powertools_logger
    from aws_lambda_powertools.metrics.provider import cold_start

    monkeypatch.setattr(cold_start, "is_cold_start", True)
    monkeypatch.setattr(powertools_logger, "is_cold_start", True)
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED")
    metrics.clear_metrics()  # what earlier tests added with metrics off (never flushed then)


def test_every_log_line_of_an_http_request_carries_api_gateways_request_id(client, log_lines):
    for n, request_id in enumerate(("apigw-request-1", "apigw-request-2")):
        event = api_gateway("POST", "/buckets", "/buckets", request_id, {"name": f"base{n}"})
        response = application.app(event, Context(f"lambda-request-{n}"))
        assert response["statusCode"] == 201, response
        lines = log_lines()
        assert lines and {line["correlation_id"] for line in lines} == {request_id}, lines
        assert {line["function_request_id"] for line in lines} == {f"lambda-request-{n}"}


def test_log_lines_of_s3_and_schedule_events_carry_the_lambda_request_id(registry, log_lines):
    registry.upload("web/m.json", manifest({"packer_run_uuid": "r1"}))
    schedule = registry.client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                                        resources=[])
    ingested = log_lines()
    registry.client.lambda_.invoke("sweep", schedule)
    swept = log_lines()
    for lines, message in ((ingested, "manifest ingested"), (swept, "sweep finished")):
        assert message in [line["message"] for line in lines]
        request_ids = {line["function_request_id"] for line in lines}
        assert len(request_ids) == 1 and None not in request_ids
        assert {line["correlation_id"] for line in lines} == request_ids
    assert ingested[0]["correlation_id"] != swept[0]["correlation_id"]


def emf(captured: str) -> list[dict]:
    """The CloudWatch EMF documents among what was printed."""
    return [json.loads(line) for line in captured.splitlines() if line.startswith('{"_aws"')]


def test_the_standard_cold_start_metric_once_per_container_and_metrics_as_before(client, cold_container, log_lines,
                                                                                   capsys):
    for n in range(2):
        event = api_gateway("POST", "/buckets", "/buckets", f"apigw-{n}", {"name": f"base{n}"})
        assert application.app(event, Context(f"lambda-{n}"))["statusCode"] == 201
        assert {line["cold_start"] for line in log_lines()} == {n == 0}
    boto3.client("s3").put_object(Bucket=MANIFEST_BUCKET, Key="web/m.json", Body=json.dumps(manifest({})).encode())
    s3_event = client.events.generate_s3_event(bucket=MANIFEST_BUCKET, key="web/m.json")
    application.ingest_manifest(s3_event, Context("lambda-2"))
    documents = emf(capsys.readouterr().out)
    cold = [d for d in documents if "ColdStart" in d]
    assert len(cold) == 1 and cold[0]["ColdStart"] == [1.0]
    assert cold[0]["function_name"] == Context.function_name and cold[0]["service"] == "packer-registry"
    assert cold[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "PackerRegistry"
    accepted = [d for d in documents if "IngestionsAccepted" in d]
    assert len(accepted) == 1 and accepted[0]["IngestionsAccepted"] == [1.0]


# ---- S3 events ----------------------------------------------------------------------------

def test_keys_arrive_url_encoded_and_only_created_objects_are_ingested(registry):
    key = "web/nightly build+1 (ü) 100%.json"
    registry.upload(key, manifest({"packer_run_uuid": "r1"}), deliver=False)
    created = registry.event(key)
    created["Records"][0]["s3"]["object"]["key"] = quote_plus(key, safe="/")  # as S3 sends it
    assert created["Records"][0]["s3"]["object"]["key"] == "web/nightly+build%2B1+%28%C3%BC%29+100%25.json"
    registry.upload("web/other.json", manifest({"packer_run_uuid": "r2"}), deliver=False)
    removed = registry.event("web/other.json")
    removed["Records"][0].update(eventName="ObjectRemoved:Delete")
    registry.deliver({"Records": removed["Records"] + created["Records"]})
    (ingestion,) = registry.get("/ingestions")["items"]
    assert (ingestion["key"], ingestion["status"]) == (key, "accepted")
    assert [v["name"] for v in registry.get("/buckets/web/versions")["items"]] == ["v1"]
