"""`make run` end to end: the runner as a subprocess, driven only through its S3 endpoint and HTTP API."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from product import start_product, wait_for
from support import real_manifest

TOKEN = "local-runner-test-token"
BUCKET = "packer-manifests"


@pytest.fixture
def runner():
    """The runner started as `make run` starts it, sweeping every second."""
    with start_product(TOKEN, sweep_interval="1") as product:
        yield product


def test_make_run_ingests_uploads_serves_api_and_sweeps(runner):
    proc, api, moto, output = runner.proc, runner.url, runner.moto_url, runner.output
    banner = output()[0]
    assert api in banner and moto in banner and TOKEN in banner
    assert f"aws --endpoint-url {moto} s3 cp packer-manifest.json s3://{BUCKET}/my-image/packer-manifest.json" in banner

    s3 = runner.s3
    s3.put_object(Bucket=BUCKET, Key="base-image/packer-manifest.json",
                  Body=real_manifest("amazon-ebs-single-1.json"))
    s3.put_object(Bucket=BUCKET, Key="junk/packer-manifest.json", Body=b"\x00not a manifest{")

    def version() -> Any:
        status, body = runner.call("GET", "/buckets/base-image/versions/v1", timeout=5)
        return body if status == 200 else None

    body = wait_for("base-image v1", version, 15, proc)
    artifacts = {(a["region"], a["external_id"]) for b in body["builds"] for a in b["artifacts"]}
    assert ("us-east-1", "ami-06cb4e4262072a8ab") in artifacts

    def rejected() -> Any:
        status, body = runner.call("GET", "/ingestions?status=rejected", timeout=5)
        items = body["items"] if status == 200 else []
        return next((i for i in items if i["key"] == "junk/packer-manifest.json"), None)

    record = wait_for("the junk upload's rejection", rejected, 15, proc)
    assert record["status"] == "rejected" and record["reasons"]

    wait_for("a scheduled sweep", lambda: "scheduled sweep completed" in output()[1], 10, proc)

    try:
        code = runner.stop()  # SIGINT, as Ctrl-C
    except subprocess.TimeoutExpired:
        pytest.fail("runner did not stop within 10 s of SIGINT")
    stdout, stderr = output()
    assert code == 0, stderr[-3000:]
    assert "Traceback" not in stderr, stderr[-3000:]
