"""`make run` end to end: the runner as a subprocess, driven only through its S3 endpoint and
HTTP API (and signals): uploads, the API, the sweep, what API Gateway would answer itself,
the data kept across restarts and `kill -9`, the README's walk-through."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from product import ROOT, Product, start_product, wait_for
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
    assert api in banner and moto in banner and TOKEN in banner and str(runner.data_dir) in banner
    assert f"aws --endpoint-url {moto} s3 cp packer-manifest.json s3://{BUCKET}/my-image/packer-manifest.json" in banner
    # the HCP organization and project to export are the ones the HCP API answers as
    organization = runner.call("GET", "/resource-manager/2019-12-10/organizations")[1]["organizations"][0]["id"]
    project = runner.call("GET", "/resource-manager/2019-12-10/projects")[1]["projects"][0]["id"]
    assert f"export HCP_ORGANIZATION_ID={organization} HCP_PROJECT_ID={project}" in banner

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


# ---- what API Gateway answers itself ----------------------------------------------------

@pytest.fixture(scope="module")
def product():
    """One runner for the tests that only read."""
    with start_product(TOKEN) as running:
        yield running


def _raw(product: Product, method: str, path: str, headers: dict[str, str]) -> tuple[int, str, bytes]:
    """(status, content type, body) of one request, whatever its headers."""
    connection = http.client.HTTPConnection("127.0.0.1", int(product.url.rsplit(":", 1)[1]), timeout=20)
    try:
        connection.request(method, path, headers=headers)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("path", ["/bucket", "/buckets/base/version", "/buckets/base/versions/v1/nothing"])
@pytest.mark.parametrize("authorization", [f"Bearer {TOKEN}", "Bearer not-a-token-but-secret", None])
def test_an_unknown_route_is_a_json_404_that_echoes_nothing(product, path, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    status, content_type, body = _raw(product, "GET", path, headers)
    assert status == 404 and content_type.startswith("application/json"), (status, content_type, body)
    error = json.loads(body)
    assert error["error"] == "NotFound" and error["message"]
    assert b"secret" not in body and TOKEN.encode() not in body and b"Authorization" not in body


@pytest.mark.parametrize("method, path, status, code", [
    ("GET", "/packer/2021-04-30/organizations/o/projects/p/images/base", 404, 5),
    ("POST", "/packer/2023-01-01/organizations/o/projects/p/buckets/base/nothing/deeper", 404, 5),
    ("GET", "/resource-manager/2019-12-10/organizations/o/x/y/z", 404, 5),
    ("PUT", "/2019-12-10/resource-manager/resources/iam-policy/x", 404, 5),
    ("POST", "/packer/2023-01-01/organizations/o/projects/p/buckets/base", 501, 12),
    ("GET", "/packer/2023-01-01/organizations/o/projects/p/buckets", 401, 16)])
@pytest.mark.parametrize("authorization", ["Bearer not-a-token-but-secret", None])
def test_the_hcp_prefixes_answer_in_the_hcp_shape(product, method, path, status, code, authorization):
    """Under `/packer/`, `/resource-manager/`, `/2019-12-10/`: another path is 404 code 5 (however
    deep), another method 501 code 12, no valid token 401 code 16 (issue 23), as on AWS."""
    headers = {"Authorization": authorization} if authorization else {}
    got, content_type, body = _raw(product, method, path, headers)
    answer = json.loads(body)
    assert (got, answer.get("code")) == (status, code) and content_type.startswith("application/json"), answer
    assert set(answer) == {"code", "message", "details"} and b"secret" not in body


def test_an_oversized_bearer_header_is_a_json_431_naming_the_limit(product):
    secret = "s" * 100_000
    status, content_type, body = _raw(product, "GET", "/buckets", {"Authorization": f"Bearer {secret}"})
    assert status == 431 and content_type.startswith("application/json"), (status, content_type, body[:200])
    error = json.loads(body)
    assert error["error"] == "RequestHeaderFieldsTooLarge" and "65,536 bytes" in error["message"]
    assert secret[:100].encode() not in body
    assert product.call("GET", "/buckets")[0] == 200  # the server is fine afterwards


# ---- the data kept across restarts --------------------------------------------------------

def _upload_and_wait(running: Product, key: str, manifest: str, version: str) -> None:
    running.s3.put_object(Bucket=BUCKET, Key=key, Body=real_manifest(manifest))
    bucket = key.split("/")[0]
    wait_for(f"{bucket} {version}", lambda: running.call("GET", f"/buckets/{bucket}/versions/{version}")[0] == 200,
             30, running.proc)


def _must(result: tuple[int, Any], status: int) -> Any:
    assert result[0] == status, result
    return result[1]


def _version_names(running: Product, bucket: str) -> list[str]:
    return [v["name"] for v in _must(running.call("GET", f"/buckets/{bucket}/versions?limit=100"), 200)["items"]]


def _reset(data_dir: Path) -> subprocess.CompletedProcess:
    """`make reset` for `data_dir`."""
    return subprocess.run([sys.executable, "-m", "local.data", "reset", str(data_dir)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_ctrl_c_keeps_everything_acknowledged_and_the_admin_token(tmp_path):
    data_dir = tmp_path / "data"
    with start_product(None, data_dir=data_dir) as first:
        token = first.token
        assert f"Data directory:   {data_dir} (new" in first.output()[0]
        _upload_and_wait(first, "base/packer-manifest.json", "amazon-ebs-multiregion-multirun-1.json", "v8")
        _must(first.call("POST", "/buckets/base/channels", {"name": "production", "version": "v3"}), 201)
        viewer = _must(first.call("POST", "/tokens", {"name": "terraform", "role": "viewer"}), 201)["secret"]
        # A second runner, or a reset, on the same directory is refused while this one runs.
        second = subprocess.run([sys.executable, "-m", "local"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                                env={**os.environ, "REGISTRY_DATA_DIR": str(data_dir), "PORT": "1", "MOTO_PORT": "1"})
        assert second.returncode != 0 and "another `make run` is using" in second.stderr
        refused = _reset(data_dir)
        assert refused.returncode != 0 and "stop it first" in refused.stderr
        # The last change is acknowledged just before Ctrl-C.
        _must(first.call("PATCH", "/buckets/base/channels/production", {"version": "v5"}), 200)
        assert first.stop() == 0

    with start_product(None, data_dir=data_dir) as again:
        assert again.token == token  # bookmarked #token= links still work
        assert "restored" in again.output()[0]
        assert _version_names(again, "base") == [f"v{n}" for n in range(8, 0, -1)]
        assert _must(again.call("GET", "/buckets/base/channels/production"), 200)["version"] == "v5"
        assert _must(again.call("GET", "/whoami", token=viewer), 200)["role"] == "viewer"
        assert again.s3.get_object(Bucket=BUCKET, Key="base/packer-manifest.json")["Body"].read() == \
            real_manifest("amazon-ebs-multiregion-multirun-1.json")
        # Uploads after the restart are still ingested (the S3 -> queue wiring came back too).
        _upload_and_wait(again, "app/packer-manifest.json", "amazon-ebs-single-1.json", "v1")

    done = _reset(data_dir)
    assert done.returncode == 0 and not data_dir.exists(), done.stderr


def _saved_at(data_dir: Path) -> float:
    """When the state on disk was copied (the snapshot's header), 0 if none yet."""
    try:
        with (data_dir / "moto-state.pickle").open("rb") as snapshot:
            return json.loads(snapshot.readline())["taken_at"]
    except (OSError, ValueError, KeyError):
        return 0.0


def test_kill_9_loses_at_most_the_last_second(tmp_path):
    data_dir = tmp_path / "data"
    with start_product(TOKEN, data_dir=data_dir) as first:
        _upload_and_wait(first, "base/packer-manifest.json", "amazon-ebs-single-1.json", "v1")
        _must(first.call("POST", "/buckets/base/channels", {"name": "production", "version": "v1"}), 201)
        acknowledged = time.time()
        # One more change, made after the acknowledgement: the copy that follows it is taken
        # after `acknowledged` (a copy of the channel change itself may be taken just before
        # its response is sent, so its time alone cannot show it holds the change).
        first.s3.put_object(Bucket=BUCKET, Key="scratch/after-the-ack", Body=b"x")
        # A copy is taken within about a second of a change, while the runner keeps running.
        wait_for("a copy of the state taken after the change", lambda: _saved_at(data_dir) > acknowledged,
                 30, first.proc)
        first.kill()

    with start_product(TOKEN, data_dir=data_dir) as again:
        assert _must(again.call("GET", "/buckets/base/channels/production"), 200)["version"] == "v1"
        assert _version_names(again, "base") == ["v1"]


def test_sigterm_stops_make_run_within_5_seconds(tmp_path):
    with start_product(TOKEN) as running:
        _upload_and_wait(running, "base/packer-manifest.json", "amazon-ebs-single-1.json", "v1")
        try:
            code = running.stop(signal.SIGTERM, grace=5)
        except subprocess.TimeoutExpired:
            pytest.fail("make run did not exit within 5 s of SIGTERM")
        assert code == 0, running.output()[1][-3000:]


# ---- the README's walk-through ------------------------------------------------------------

def _walk_through(up_to_step: int) -> str:
    """The README walk-through's second shell block, from its start to step `up_to_step`."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Five-minute walk-through"):]
    block = re.findall(r"```sh\n(.*?)```", section, re.S)[1]
    return block[:block.index(f"\n# {up_to_step + 1}. ")]


def _untracked() -> str:
    """The files in the clone that git does not track and does not ignore.

    Listing the directory would also see what tests running beside this one create (the browser
    tests' git-ignored test-artifacts/, .hypothesis/), which is why CI once failed here."""
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT,
                          capture_output=True, text=True, check=True).stdout


# The commands the walk-through's text names (besides .venv/bin, which it puts on PATH itself).
NAMED_TOOLS = ("curl", "jq", "mktemp", "sleep", "rm")


def test_the_readme_walk_through_waits_for_ingestion_and_writes_no_files_in_the_repository(product, tmp_path):
    """Steps 1-5 as written (only the addresses and the token put in), from the repository's
    root, with only the tools its text names on PATH, and only files of the repository."""
    section = (ROOT / "README.md").read_text().split("## Five-minute walk-through")[1].split("\n## ")[0]
    assert "../" not in section, "the walk-through uses files outside the repository"
    script = (_walk_through(5).replace("http://127.0.0.1:8000", product.url)
              .replace("http://127.0.0.1:5000", product.moto_url)
              .replace("<the admin token make run printed>", product.token))
    tools, scratch_root = tmp_path / "bin", tmp_path / "tmp"
    tools.mkdir()
    scratch_root.mkdir()
    for tool in NAMED_TOOLS:
        (tools / tool).symlink_to(shutil.which(tool) or pytest.fail(f"{tool} is not installed"))
    before = _untracked()
    run = subprocess.run([shutil.which("bash") or "/bin/bash", "-c", script], cwd=ROOT, capture_output=True,
                         text=True, timeout=180,
                         env={**os.environ, "TMPDIR": str(scratch_root), "PATH": str(tools)})
    assert run.returncode == 0, run.stderr[-3000:]
    # Step 1 waited for the whole manifest, so step 2 lists all 8 runs; step 3 the rejection.
    assert re.findall(r'^"(v\d+)"$', run.stdout, re.M) == [f"v{n}" for n in range(8, 0, -1)], run.stdout
    assert "accepted" in run.stdout and "rejected" in run.stdout and "exit code 1" in run.stdout
    # Step 5: the child (its bucket named by its custom_data) and the grandchild descend from base v1.
    tree = json.loads(run.stdout[run.stdout.rindex("\n{"):])["root"]
    (child,) = tree["children"]
    assert [(child["bucket"], child["version"]), [(g["bucket"], g["version"]) for g in child["children"]]] == [
        ("app", "v1"), [("svc", "v1")]], tree
    assert _untracked() == before
    (scratch,) = scratch_root.iterdir()
    assert (scratch / "junk.json").exists()
