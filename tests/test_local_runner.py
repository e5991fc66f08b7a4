"""`make run` end to end: the runner as a subprocess, driven only through its S3 endpoint and HTTP API."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[1]
REAL_MANIFESTS = Path(__file__).resolve().parents[2] / "shared/testdata/real-manifests"
TOKEN = "local-runner-test-token"
BUCKET = "packer-manifests"


def free_ports(count: int) -> list[int]:
    """Distinct free loopback ports (all probes held open together so none repeats)."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def wait_for(what: str, check: Callable[[], Any], timeout: float, proc: subprocess.Popen) -> Any:
    """Poll `check` until it returns something truthy; fail fast if the runner died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"runner exited with {proc.returncode} while waiting for {what}")
        result = check()
        if result:
            return result
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def get_json(url: str) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except (urllib.error.URLError, ConnectionError):
        return 0, None


@pytest.fixture
def runner():
    """The runner started as `make run` starts it; output in files so a full pipe never blocks it."""
    port, moto_port = free_ports(2)
    env = {k: v for k, v in os.environ.items()
           if k not in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_S3")}
    env.update(PORT=str(port), MOTO_PORT=str(moto_port), SWEEP_INTERVAL="1", REGISTRY_ADMIN_TOKEN=TOKEN,
               PYTHONUNBUFFERED="1")
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, "-m", "chalicelib.local"], cwd=ROOT, env=env,
                                stdout=out, stderr=err, text=True)

        def output() -> tuple[str, str]:
            out.seek(0), err.seek(0)
            return out.read(), err.read()

        try:
            wait_for("'Registry ready'", lambda: "Registry ready" in output()[0], 60, proc)
            yield proc, port, moto_port, output
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_make_run_ingests_uploads_serves_api_and_sweeps(runner):
    proc, port, moto_port, output = runner
    api, moto = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{moto_port}"
    banner = output()[0]
    assert api in banner and moto in banner and TOKEN in banner
    assert f"aws --endpoint-url {moto} s3 cp packer-manifest.json s3://{BUCKET}/my-image/packer-manifest.json" in banner

    s3 = boto3.client("s3", endpoint_url=moto, region_name="us-east-1")
    s3.put_object(Bucket=BUCKET, Key="base-image/packer-manifest.json",
                  Body=(REAL_MANIFESTS / "amazon-ebs-single-1.json").read_bytes())
    s3.put_object(Bucket=BUCKET, Key="junk/packer-manifest.json", Body=b"\x00not a manifest{")

    def version() -> Any:
        status, body = get_json(f"{api}/buckets/base-image/versions/v1")
        return body if status == 200 else None

    body = wait_for("base-image v1", version, 15, proc)
    artifacts = {(a["region"], a["external_id"]) for b in body["builds"] for a in b["artifacts"]}
    assert ("us-east-1", "ami-06cb4e4262072a8ab") in artifacts

    def rejected() -> Any:
        status, body = get_json(f"{api}/ingestions?status=rejected")
        items = body["items"] if status == 200 else []
        return next((i for i in items if i["key"] == "junk/packer-manifest.json"), None)

    record = wait_for("the junk upload's rejection", rejected, 15, proc)
    assert record["status"] == "rejected" and record["reasons"]

    wait_for("a scheduled sweep", lambda: "scheduled sweep completed" in output()[1], 10, proc)

    proc.send_signal(signal.SIGINT)
    try:
        code = proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail("runner did not stop within 10 s of SIGINT")
    stdout, stderr = output()
    assert code == 0, stderr[-3000:]
    assert "Traceback" not in stderr, stderr[-3000:]
