"""Fixtures: moto in-process for most tests, the app through chalice.test.Client, a moto server.
The plain helpers the tests share (manifest(), race(), the constants) are in support.py."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from chalice.test import Client
from moto import mock_aws

from chalicelib.runtime import aws
from chalicelib.storage.schema import table_definition
from local.gateway import local_gateway_responses
from support import ADMIN_TOKEN, MANIFEST_BUCKET, ROOT, TABLE


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under pytest-xdist with `--dist loadscope` (what `make test` runs): each end-to-end module
    is one unit of work, run whole on one worker, so its module-scoped product, browser or
    package starts once; every other test is a unit of its own, so the tiers spread evenly
    (their fixtures are per test, or per worker like the moto server). xdist's own
    `loadgroup` would do this with marks, but does not group under pytest 9.2
    (pytest-dev/pytest-xdist#1386). Other `--dist` modes are left as xdist makes them."""
    from pathlib import PurePosixPath

    from xdist.scheduler import LoadScopeScheduling

    if config.getvalue("dist") != "loadscope":
        return None

    class TierScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if PurePosixPath(module).parent.name == "e2e" else nodeid

    return TierScheduling(config, log)


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch):
    """Fake credentials and a region before any client exists; never real AWS."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("REGISTRY_TABLE", TABLE)
    monkeypatch.setenv("MANIFEST_BUCKET", MANIFEST_BUCKET)
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    monkeypatch.setenv("REGISTRY_ADMIN_TOKEN", ADMIN_TOKEN)
    local_gateway_responses()
    aws.reset()
    yield
    aws.reset()


@pytest.fixture
def moto_aws():
    """An empty in-process moto with the registry table and the manifest bucket, patched as the
    moto server of `make run` and of the `moto_server` fixture is (local/moto_server.py
    `patch_moto`: the same answers, without copying the whole table for every item of a
    transaction). Applied here, each test sees the same moto whichever ran before it in its
    worker (the patch is process-wide and lasts once a moto server has started)."""
    from local.moto_server import patch_moto

    patch_moto()
    with mock_aws():
        boto3.client("dynamodb").create_table(**table_definition(TABLE))
        boto3.client("s3").create_bucket(Bucket=MANIFEST_BUCKET)
        yield


@pytest.fixture
def client(moto_aws):
    with Client(__import__("app").app, stage_name="local", project_dir=str(ROOT)) as test_client:
        yield test_client


class Registry:
    """What a test does as a user would: upload manifests (with their S3 event) and call the API."""

    def __init__(self, client: Client, token: str = ADMIN_TOKEN) -> None:
        self.client = client
        self.s3 = boto3.client("s3")
        self.headers = {"Authorization": f"Bearer {token}"}

    def as_token(self, token: str) -> "Registry":
        """The same registry, called with another bearer token."""
        return Registry(self.client, token)

    def upload(self, key: str, manifest: Any, metadata: dict[str, str] | None = None, deliver: bool = True) -> dict:
        raw = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
        self.s3.put_object(Bucket=MANIFEST_BUCKET, Key=key, Body=raw, Metadata=metadata or {})
        event = self.event(key)
        if deliver:
            self.deliver(event)
        return event

    def event(self, key: str) -> dict:
        """The S3 notification for the object as it is now (real ETag and size)."""
        head = self.s3.head_object(Bucket=MANIFEST_BUCKET, Key=key)
        event = self.client.events.generate_s3_event(bucket=MANIFEST_BUCKET, key=key)
        event["Records"][0]["s3"]["object"].update(eTag=head["ETag"].strip('"'), size=head["ContentLength"])
        return event

    def deliver(self, event: dict) -> None:
        self.client.lambda_.invoke("ingest_manifest", event)

    def get(self, path: str, status: int = 200) -> Any:
        response = self.client.http.get(path, headers=self.headers)
        assert response.status_code == status, (path, response.status_code, response.body)
        return json.loads(response.body)

    def send(self, method: str, path: str, payload: Any = None, status: int = 200) -> Any:
        response = getattr(self.client.http, method)(
            path, body=json.dumps(payload) if payload is not None else b"",
            headers={"Content-Type": "application/json", **self.headers})
        assert response.status_code == status, (method, path, response.status_code, response.body)
        return json.loads(response.body) if response.body else None

    def all_pages(self, path: str, limit: int = 25) -> list:
        items, token = [], None
        while True:
            sep = "&" if "?" in path else "?"
            url = f"{path}{sep}limit={limit}" + (f"&next_token={token}" if token else "")
            body = self.get(url)
            items += body["items"]
            token = body.get("next_token")
            if not token:
                return items


@pytest.fixture
def fresh_app():
    """The app object, its original class back afterwards (`local.runner.requests_per_thread`,
    which tests that serve it on threads apply, changes its class)."""
    import app as application

    original = type(application.app)
    yield application.app
    application.app.__class__ = original


@pytest.fixture
def registry(client) -> Registry:
    return Registry(client)


@pytest.fixture(scope="session")
def moto_server_url():
    """A real moto HTTP server on a free loopback port, shared by the tests that need one (one
    per xdist worker: each worker is its own session)."""
    from local.moto_server import SerializedMotoServer
    from product import free_ports

    [port] = free_ports(1)
    server = SerializedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def moto_server(moto_server_url, monkeypatch):
    """boto3 pointed at the moto server (fresh state), with the table and bucket created."""
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{moto_server_url}/moto-api/reset", method="POST")).read()
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server_url)
    aws.reset()
    aws.client("dynamodb").create_table(**table_definition(TABLE))
    aws.client("s3").create_bucket(Bucket=MANIFEST_BUCKET)
    yield moto_server_url
    aws.reset()


@pytest.fixture
def moved_clock(monkeypatch):
    """The registry's clock, running with real time but movable forward."""
    from datetime import datetime, timedelta, timezone

    from chalicelib.runtime import clock

    class Clock:
        offset = timedelta(0)

        def advance(self, **delta: float) -> None:
            self.offset += timedelta(**delta)

        def now(self) -> datetime:
            return datetime.now(timezone.utc) + self.offset

    fake = Clock()
    monkeypatch.setattr(clock, "now", fake.now)
    return fake


# ---- the real HCP clients (end-to-end tier; tests/hcp.py) -------------------------------

@pytest.fixture(scope="session")
def clients():
    """The pinned clients (tests/hcp.py Clients), built by tests/clients/build.sh if not cached.
    Skipped only where Go is missing: a failed build is an error, never a skip."""
    from hcp import build_clients, go_missing

    if go_missing():
        pytest.skip("the go command is not installed: the real HCP clients are built from source")
    return build_clients()


@pytest.fixture(scope="session")
def packers(clients):
    """The pinned packer binaries by version."""
    return clients.packers


@pytest.fixture(scope="module")
def hcp_registry():
    """One `make run` per module, seen as the HCP clients see it (tests/hcp.py HcpRegistry)."""
    from hcp import HcpRegistry
    from product import start_product

    with start_product("hcp-clients-e2e-admin-token") as product:
        yield HcpRegistry(product)
