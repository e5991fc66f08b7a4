"""`packer-registry` end to end: the command run as a subprocess (`python -m cli`, what the
console script calls) against `make run`, with its own HOME and XDG_CONFIG_HOME; a request
recorder on loopback for what it sends; and the wheel `pip install .` builds, installed into a
fresh virtualenv. The pure parts are tests/unit/test_cli_output.py."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import parse_qs, urlparse

import pytest

from product import ROOT, Product, free_ports, start_product
from support import real_manifest

TOKEN = "cli-test-admin-token"
MANIFEST_BUCKET = "packer-manifests"
MULTIRUN = "amazon-ebs-multiregion-multirun-1.json"  # 8 runs: v1 … v8, each in us-east-1 and us-east-2


@pytest.fixture(scope="module")
def product() -> Iterator[Product]:
    with start_product(TOKEN) as running:
        yield running


class Cli:
    """The command with its own home: no stored login unless a test makes one, AWS (for
    `upload`) pointed at the product's moto."""

    def __init__(self, home: Path, product: Product | None) -> None:
        self.home = home
        self.config = home / "config" / "packer-registry" / "config.json"
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("PACKER_REGISTRY_", "AWS_", "XDG_")) and k != "MANIFEST_BUCKET"}
        self.env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / "config"), PYTHONUNBUFFERED="1")
        if product is not None:
            self.env.update(AWS_ACCESS_KEY_ID="local", AWS_SECRET_ACCESS_KEY="local", AWS_DEFAULT_REGION="us-east-1",
                            AWS_ENDPOINT_URL=product.moto_url)

    def __call__(self, *args: str, stdin: str = "", command: list[str] | None = None,
                 **env: str) -> subprocess.CompletedProcess[str]:
        """`python -m cli ARGS` from the repository (this worktree's cli/), or `command`
        from the home (an installed one, which must not find cli/ in the working directory)."""
        return subprocess.run([*(command or [sys.executable, "-m", "cli"]), *args], cwd=self.home if command else ROOT,
                              input=stdin, env={**self.env, **env}, capture_output=True, text=True, timeout=120)

    def json(self, *args: str, **env: str) -> Any:
        run = self(*args, "--json", **env)
        assert run.returncode == 0, run.stderr
        return json.loads(run.stdout)


@pytest.fixture
def cli(tmp_path: Path, product: Product) -> Cli:
    return Cli(tmp_path, product)


@pytest.fixture
def as_admin(product: Product) -> dict[str, str]:
    """The login through the environment, as CI would give it."""
    return {"PACKER_REGISTRY_URL": product.url, "PACKER_REGISTRY_TOKEN": TOKEN}


def upload(cli: Cli, as_admin: dict[str, str], bucket: str, manifest: str = MULTIRUN) -> subprocess.CompletedProcess[str]:
    path = cli.home / manifest
    path.write_bytes(real_manifest(manifest))
    return cli("upload", str(path), "--bucket", bucket, "--wait", **as_admin)


def plan(path: Path, *amis: str) -> str:
    """A `terraform show -json` plan with one aws_instance per AMI (tests/fixtures/terraform-plan.json's shape)."""
    resources = [{"address": f"aws_instance.web{i}", "mode": "managed", "type": "aws_instance", "name": f"web{i}",
                  "provider_name": "registry.terraform.io/hashicorp/aws", "values": {"ami": ami}}
                 for i, ami in enumerate(amis)]
    path.write_text(json.dumps({"format_version": "1.2", "terraform_version": "1.9.5",
                                "planned_values": {"root_module": {"resources": resources}}}))
    return str(path)


# ---- login --------------------------------------------------------------------------------

def test_login_stores_url_and_token_for_the_user_alone_and_never_prints_the_token(cli: Cli, product: Product) -> None:
    run = cli("login", product.url + "/", stdin=TOKEN + "\n")
    assert run.returncode == 0, run.stderr
    assert f"Logged in to {product.url} as bootstrap-admin (admin)" in run.stdout
    assert TOKEN not in run.stdout + run.stderr
    assert stat.S_IMODE(cli.config.stat().st_mode) == 0o600
    assert stat.S_IMODE(cli.config.parent.stat().st_mode) == 0o700
    assert json.loads(cli.config.read_text()) == {"url": product.url, "token": TOKEN}

    whoami = cli("whoami")  # the stored login, no environment
    assert whoami.returncode == 0 and whoami.stdout.strip() == f"bootstrap-admin (admin) at {product.url}"
    assert cli.json("buckets") == product.call("GET", "/buckets?limit=100")[1]["items"]

    assert cli("logout").returncode == 0 and not cli.config.exists()
    assert cli("buckets").returncode == 4


def test_a_bad_token_exits_3_with_the_apis_message_and_is_not_stored(cli: Cli, product: Product) -> None:
    message = product.call("GET", "/whoami", token="not-a-token")[1]["message"]
    run = cli("login", product.url, stdin="not-a-token\n")
    assert run.returncode == 3
    assert message in run.stderr and "HTTP 401" in run.stderr and "not-a-token" not in run.stderr
    assert not cli.config.exists()
    assert cli("login", product.url, stdin="\n").returncode == 2  # no token at all


def test_not_logged_in_exits_4_saying_how_to_log_in(cli: Cli) -> None:
    run = cli("versions", "base")
    assert run.returncode == 4 and "packer-registry login" in run.stderr and "PACKER_REGISTRY_TOKEN" in run.stderr
    run = cli("query", "base", "production", "--platform", "aws", PACKER_REGISTRY_URL="http://127.0.0.1:1")
    assert run.returncode == 4 and "no registry token" in run.stderr


def test_the_environment_overrides_the_stored_login(cli: Cli, product: Product) -> None:
    assert cli("login", product.url, stdin=TOKEN).returncode == 0
    bad = product.call("GET", "/buckets", token="expired-or-wrong")[1]["message"]
    run = cli("buckets", PACKER_REGISTRY_TOKEN="expired-or-wrong")
    assert run.returncode == 3 and bad in run.stderr and "expired-or-wrong" not in run.stderr
    (closed,) = free_ports(1)
    run = cli("buckets", PACKER_REGISTRY_URL=f"http://127.0.0.1:{closed}")
    assert run.returncode == 3 and f"cannot reach the registry at http://127.0.0.1:{closed}" in run.stderr
    cli.config.unlink()  # the environment alone is a login
    assert cli("buckets", PACKER_REGISTRY_URL=product.url, PACKER_REGISTRY_TOKEN=TOKEN).returncode == 0


# ---- the registry from the command line ------------------------------------------------------

def test_upload_wait_then_read_assign_query_revoke_check_restore(cli: Cli, product: Product,
                                                                 as_admin: dict[str, str]) -> None:
    run = upload(cli, as_admin, "cli-base")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Waiting for the ingestion of s3://packer-manifests/cli-base/packer-manifest-" in run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("accepted: s3://packer-manifests/cli-base/packer-manifest-")
    assert lines[2].split() == ["BUCKET", "VERSION", "NEW", "BUILDS", "ADDED", "FINGERPRINT"]
    assert {line.split()[1] for line in lines[3:]} == {f"v{n}" for n in range(1, 9)}

    # lists, human and --json, all pages or --limit
    assert any(line.split()[:3] == ["cli-base", "8", "v8"] for line in cli("buckets", **as_admin).stdout.splitlines())
    versions = cli.json("versions", "cli-base", **as_admin)
    assert [v["name"] for v in versions] == [f"v{n}" for n in range(8, 0, -1)]
    assert [v["name"] for v in cli.json("versions", "cli-base", "--limit", "3", **as_admin)] == ["v8", "v7", "v6"]
    table = cli("versions", "cli-base", **as_admin).stdout.splitlines()
    assert table[0].split() == ["VERSION", "STATUS", "ANCESTRY", "BUILDS", "CREATED", "FINGERPRINT"]
    assert table[1].split()[:2] == ["v8", "active"] and len(table) == 9

    # show: the API's version, and one row per artifact
    v1 = product.call("GET", "/buckets/cli-base/versions/v1")[1]
    assert cli.json("show", "cli-base", "v1", **as_admin) == v1
    shown = cli("show", "cli-base", "v1", **as_admin).stdout
    amis = {a["region"]: a["external_id"] for b in v1["builds"] for a in b["artifacts"]}
    for region, ami in amis.items():
        assert any(line.split()[2:4] == [region, ami] for line in shown.splitlines()), shown
    assert f"Fingerprint:  {v1['fingerprint']}" in shown

    # channel set creates the channel, then moves it; history; query prints the ID alone
    assert cli("channel", "set", "cli-base", "production", "v1", **as_admin).stdout == "cli-base/production → v1\n"
    assert cli("channel", "set", "cli-base", "production", "v2", **as_admin).returncode == 0
    history = cli.json("channel", "history", "cli-base", "production", **as_admin)
    assert [(h["cause"], h["from_version"], h["to_version"]) for h in history] == \
        [("assign", "v1", "v2"), ("assign", None, "v1")]
    v2_ami = product.call("GET", "/buckets/cli-base/channels/production/artifact?platform=aws&region=us-east-1")[1][
        "external_id"]
    query = ("query", "cli-base", "production", "--platform", "aws", "--region", "us-east-1")
    run = cli(*query, **as_admin)
    assert (run.returncode, run.stdout, run.stderr) == (0, v2_ami + "\n", "")
    assert [c["name"] for c in cli.json("channel", "list", "cli-base", **as_admin)] == ["latest", "production"]

    # revoke: production rolls back to v1; a plan using v2's image fails the check
    run = cli("revoke", "cli-base", "v2", "--reason", "CVE-2026-1234 in openssl", **as_admin)
    assert run.stdout == "cli-base v2: revoked (CVE-2026-1234 in openssl)\n"
    assert cli(*query, **as_admin).stdout == amis["us-east-1"] + "\n"
    failing = plan(cli.home / "plan.json", v2_ami, amis["us-east-1"])
    run = cli("check", failing, **as_admin)
    assert run.returncode == 1, run.stdout + run.stderr
    assert any(line.split()[:4] == [v2_ami, "revoked", "cli-base", "v2"] for line in run.stdout.splitlines())
    assert "FAILED:" in run.stdout and "1 revoked" in run.stdout
    verdict = json.loads(cli("check", "-", "--json", stdin=Path(failing).read_text(), **as_admin).stdout)
    assert verdict["passed"] is False and verdict["counts"]["revoked"] == 1

    # restore: the same plan passes
    assert cli("restore", "cli-base", "v2", **as_admin).stdout == "cli-base v2: active\n"
    run = cli("check", failing, **as_admin)
    assert run.returncode == 0 and "passed:" in run.stdout, run.stdout

    # kept on its channel, a revoked version makes the query exit 1 with the registry's reason
    assert cli("revoke", "cli-base", "v1", "--reason", "bad kernel", "--no-rollback", **as_admin).returncode == 0
    run = cli(*query, **as_admin)
    assert run.returncode == 1 and run.stdout == "" and "bad kernel" in run.stderr and "HTTP 409" in run.stderr

    # a scheduled revocation, cancelled by restore
    run = cli("revoke", "cli-base", "v8", "--reason", "end of life", "--in", "30d", **as_admin)
    assert run.stdout.startswith("cli-base v8: revocation_scheduled for 20") and "(end of life)" in run.stdout
    assert cli.json("restore", "cli-base", "v8", **as_admin)["status"] == "active"

    # unset: nothing to serve, the API's 404 message
    assert cli("channel", "unset", "cli-base", "production", **as_admin).stdout == "cli-base/production → (unassigned)\n"
    run = cli(*query, **as_admin)
    assert run.returncode == 3 and "is not assigned to a version" in run.stderr and "HTTP 404" in run.stderr


def test_revoke_bulk_dry_run_then_wait(cli: Cli, product: Product, as_admin: dict[str, str]) -> None:
    assert upload(cli, as_admin, "cli-bulk").returncode == 0
    run = cli("revoke-bulk", "cli-bulk", "--reason", "old", "--created-before", "2100-01-01T00:00:00Z", "--dry-run",
              **as_admin)
    assert run.returncode == 0, run.stderr
    assert [line.split()[:4] for line in run.stdout.splitlines()[1:]] == [
        ["cli-bulk", f"v{n}", "active", "revoke"] for n in range(1, 9)]
    job = cli.json("revoke-bulk", "cli-bulk", "--reason", "old", "--created-before", "2100-01-01T00:00:00Z",
                   "--wait", **as_admin)
    assert (job["status"], job["counts"]["revoked"]) == ("done", 8)
    run = cli("revocation", job["id"], **as_admin)
    assert "Status:" in run.stdout and "done" in run.stdout and run.returncode == 0
    run = cli("revoke-bulk", "cli-bulk", "--reason", "old", **as_admin)  # no criterion: the registry's 400
    assert run.returncode == 3 and "filter must name at least one" in run.stderr
    assert cli("revoke-bulk", "--reason", "x", "--parent", "nope", **as_admin).returncode == 2


def test_channel_set_names_what_is_missing(cli: Cli, product: Product, as_admin: dict[str, str]) -> None:
    run = cli("channel", "set", "no-such-bucket", "production", "v1", **as_admin)
    assert run.returncode == 3 and "bucket 'no-such-bucket'" in run.stderr
    assert upload(cli, as_admin, "cli-set", "amazon-ebs-single-1.json").returncode == 0
    assert cli("channel", "set", "cli-set", "staging", "v1", **as_admin).returncode == 0
    run = cli("channel", "set", "cli-set", "staging", "v9", **as_admin)  # the channel exists, the version does not
    assert run.returncode == 3 and "no version" in run.stderr and "'v9'" in run.stderr, run.stderr


# ---- every error path: the API's own message, a non-zero exit, no traceback ------------------

REFUSING = "cli-err"  # v1 … v8; production on v1, v2 revoked, `kept` holding the revoked v4
BAD_TOKEN = "not-a-token"
EMPTY_PLAN, MANIFEST = "<empty plan>", "<manifest>"  # files each run writes in its home
FILES = {EMPTY_PLAN: lambda: b"{}", MANIFEST: lambda: real_manifest("amazon-ebs-single-1.json")}
LATER = ("--created-before", "2100-01-01T00:00:00Z")


@pytest.fixture(scope="module")
def refusing(product: Product, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """REFUSING's state, and a token per role (`bad`: one the registry does not know)."""
    home = tmp_path_factory.mktemp("cli-errors")
    admin = {"PACKER_REGISTRY_URL": product.url, "PACKER_REGISTRY_TOKEN": TOKEN}
    assert upload(Cli(home, product), admin, REFUSING).returncode == 0
    for change in ((f"/buckets/{REFUSING}/channels", {"name": "production", "version": "v1"}),
                   (f"/buckets/{REFUSING}/channels", {"name": "kept", "version": "v4"}),
                   (f"/buckets/{REFUSING}/versions/v4/revoke", {"reason": "bad kernel", "disable_rollback_channels": True}),
                   (f"/buckets/{REFUSING}/versions/v2/revoke", {"reason": "CVE-2026-9999"})):
        assert product.call("POST", *change)[0] in (200, 201), change
    tokens = {"admin": TOKEN, "bad": BAD_TOKEN}
    for role in ("viewer", "contributor"):
        status, minted = product.call("POST", "/tokens", {"name": f"cli-{role}", "role": role})
        assert status == 201, minted
        tokens[role] = minted["secret"]
    return tokens


def run_as(cli: Cli, product: Product, token: str, argv: tuple[str, ...], stdin: str = "") -> subprocess.CompletedProcess[str]:
    """The command as `token`, its placeholder files written in the run's home."""
    args = [str(cli.home / "file.json") if a in FILES else a for a in argv]
    for placeholder, content in FILES.items():
        if placeholder in argv:
            (cli.home / "file.json").write_bytes(content())
    return cli(*args, stdin=stdin, PACKER_REGISTRY_URL=product.url, PACKER_REGISTRY_TOKEN=token)


def assert_reported(run: subprocess.CompletedProcess[str], status: int, answer: Any, code: int = 3) -> None:
    """The API's own message and status on stderr, nothing on stdout, the exit code, no traceback."""
    assert (run.returncode, run.stdout) == (code, ""), run.stdout + run.stderr
    assert f"{answer['message']} (HTTP {status} {answer['error']})" in run.stderr, (answer, run.stderr)
    assert "Traceback" not in run.stderr and BAD_TOKEN not in run.stderr, run.stderr


# Every command that calls the API (`upload` only with --wait), with a token the registry does not know.
CALLING = [("login", "{url}"), ("whoami",), ("buckets",), ("versions", REFUSING), ("show", REFUSING, "v1"),
           ("channel", "list", REFUSING), ("channel", "set", REFUSING, "production", "v3"),
           ("channel", "unset", REFUSING, "production"), ("channel", "history", REFUSING, "production"),
           ("revoke", REFUSING, "v3", "--reason", "x"), ("revoke-bulk", REFUSING, "--reason", "x", *LATER),
           ("revocation", "01JX0000000000000000000000"), ("restore", REFUSING, "v2"),
           ("query", REFUSING, "production", "--platform", "aws", "--region", "us-east-1"), ("check", EMPTY_PLAN),
           ("upload", MANIFEST, "--bucket", "cli-err-upload", "--wait")]


@pytest.mark.parametrize("argv", CALLING, ids=[" ".join(a[:2]) for a in CALLING])
def test_every_command_with_a_bad_token_prints_the_401(cli: Cli, product: Product, refusing: dict[str, str],
                                                      argv: tuple[str, ...]) -> None:
    status, answer = product.call("GET", "/whoami", token=BAD_TOKEN)
    assert status == 401
    argv = tuple(a.format(url=product.url) for a in argv)
    assert_reported(run_as(cli, product, BAD_TOKEN, argv, stdin=BAD_TOKEN + "\n"), 401, answer)


# (role, command, the request whose answer it must print, that answer's status)
REFUSED = [
    # 403: a viewer changes nothing; bulk revocation across buckets is an admin's
    ("viewer", ("channel", "set", REFUSING, "production", "v3"),
     ("PATCH", f"/buckets/{REFUSING}/channels/production", {"version": "v3"}), 403),
    ("viewer", ("channel", "set", REFUSING, "new", "v3"), ("PATCH", f"/buckets/{REFUSING}/channels/new", {"version": "v3"}),
     403),
    ("viewer", ("channel", "unset", REFUSING, "production"),
     ("PATCH", f"/buckets/{REFUSING}/channels/production", {"version": None}), 403),
    ("viewer", ("revoke", REFUSING, "v3", "--reason", "x"), ("POST", f"/buckets/{REFUSING}/versions/v3/revoke",
                                                            {"reason": "x"}), 403),
    ("viewer", ("restore", REFUSING, "v2"), ("POST", f"/buckets/{REFUSING}/versions/v2/restore", None), 403),
    ("viewer", ("revoke-bulk", REFUSING, "--reason", "x", *LATER),
     ("POST", f"/buckets/{REFUSING}/revocations", {"reason": "x", "filter": {"created_before": LATER[1]}}), 403),
    ("contributor", ("revoke-bulk", "--reason", "x", *LATER),
     ("POST", "/revocations", {"reason": "x", "filter": {"created_before": LATER[1]}}), 403),
    # 404: what is missing, named
    ("admin", ("versions", "nobucket"), ("GET", "/buckets/nobucket/versions", None), 404),
    ("admin", ("show", REFUSING, "v99"), ("GET", f"/buckets/{REFUSING}/versions/v99", None), 404),
    ("admin", ("channel", "list", "nobucket"), ("GET", "/buckets/nobucket/channels", None), 404),
    ("admin", ("channel", "set", "nobucket", "production", "v1"),
     ("POST", "/buckets/nobucket/channels", {"name": "production", "version": "v1"}), 404),
    ("admin", ("channel", "set", REFUSING, "production", "v99"),
     ("PATCH", f"/buckets/{REFUSING}/channels/production", {"version": "v99"}), 404),
    ("admin", ("channel", "set", REFUSING, "new", "v99"),
     ("POST", f"/buckets/{REFUSING}/channels", {"name": "new", "version": "v99"}), 404),
    ("admin", ("channel", "unset", REFUSING, "nochannel"),
     ("PATCH", f"/buckets/{REFUSING}/channels/nochannel", {"version": None}), 404),
    ("admin", ("channel", "history", REFUSING, "nochannel"), ("GET", f"/buckets/{REFUSING}/channels/nochannel/history",
                                                               None), 404),
    ("viewer", ("channel", "history", REFUSING, "latest"), ("GET", f"/buckets/{REFUSING}/channels/latest/history",
                                                             None), 404),  # restricted: not there for a viewer
    ("admin", ("revoke", REFUSING, "v99", "--reason", "x"), ("POST", f"/buckets/{REFUSING}/versions/v99/revoke",
                                                             {"reason": "x"}), 404),
    ("admin", ("restore", REFUSING, "v99"), ("POST", f"/buckets/{REFUSING}/versions/v99/restore", None), 404),
    ("admin", ("revocation", "nope"), ("GET", "/revocations/nope", None), 404),
    ("admin", ("revoke-bulk", "nobucket", "--reason", "x", *LATER),
     ("POST", "/buckets/nobucket/revocations", {"reason": "x", "filter": {"created_before": LATER[1]}}), 404),
    ("admin", ("query", REFUSING, "nochannel", "--platform", "aws"),
     ("GET", f"/buckets/{REFUSING}/channels/nochannel/artifact?platform=aws", None), 404),
    # 409: the state refuses it
    ("admin", ("channel", "set", REFUSING, "production", "v2"),
     ("PATCH", f"/buckets/{REFUSING}/channels/production", {"version": "v2"}), 409),
    ("admin", ("channel", "set", REFUSING, "staging", "v2"),  # a new channel: "v2 is revoked", never "no channel"
     ("POST", f"/buckets/{REFUSING}/channels", {"name": "staging", "version": "v2"}), 409),
    ("admin", ("channel", "set", REFUSING, "latest", "v3"),
     ("PATCH", f"/buckets/{REFUSING}/channels/latest", {"version": "v3"}), 409),
    ("admin", ("channel", "unset", REFUSING, "latest"),
     ("PATCH", f"/buckets/{REFUSING}/channels/latest", {"version": None}), 409),
    ("admin", ("revoke", REFUSING, "v2", "--reason", "x"), ("POST", f"/buckets/{REFUSING}/versions/v2/revoke",
                                                            {"reason": "x"}), 409),
    ("admin", ("restore", REFUSING, "v3"), ("POST", f"/buckets/{REFUSING}/versions/v3/restore", None), 409),
    ("admin", ("query", REFUSING, "kept", "--platform", "aws", "--region", "us-east-1"),  # exit 1: the answer is no
     ("GET", f"/buckets/{REFUSING}/channels/kept/artifact?platform=aws&region=us-east-1", None), 409),
    # 400: what is wrong with the request, and the limit
    ("admin", ("versions", REFUSING, "--status", "bogus"), ("GET", f"/buckets/{REFUSING}/versions?status=bogus", None),
     400),
    ("admin", ("channel", "set", REFUSING, "Bad_Name", "v3"),
     ("POST", f"/buckets/{REFUSING}/channels", {"name": "Bad_Name", "version": "v3"}), 400),
    ("admin", ("revoke", REFUSING, "v3", "--reason", "x", "--in", "soon"),
     ("POST", f"/buckets/{REFUSING}/versions/v3/revoke", {"reason": "x", "revoke_in": "soon"}), 400),
    ("admin", ("revoke", REFUSING, "v3", "--reason", "x", "--at", "yesterday"),
     ("POST", f"/buckets/{REFUSING}/versions/v3/revoke", {"reason": "x", "revoke_at": "yesterday"}), 400),
    ("admin", ("revoke-bulk", REFUSING, "--reason", "x"),
     ("POST", f"/buckets/{REFUSING}/revocations", {"reason": "x", "filter": {}}), 400),
    ("admin", ("query", REFUSING, "production", "--platform", "aws"),  # several regions: which one?
     ("GET", f"/buckets/{REFUSING}/channels/production/artifact?platform=aws", None), 400),
    ("admin", ("check", EMPTY_PLAN), ("POST", "/compliance/check", {}), 400),
]


@pytest.mark.parametrize("role, argv, request_, status", REFUSED,
                         ids=[f"{status}-{role}-{' '.join(argv[:4])}" for role, argv, _, status in REFUSED])
def test_every_refusal_prints_the_apis_own_message(cli: Cli, product: Product, refusing: dict[str, str], role: str,
                                                   argv: tuple[str, ...], request_: tuple[str, str, Any],
                                                   status: int) -> None:
    method, path, body = request_
    got, answer = product.call(method, path, body, token=refusing[role])  # refused: it changes nothing
    assert got == status, answer
    run = run_as(cli, product, refusing[role], argv)
    assert_reported(run, status, answer, code=1 if argv[0] == "query" and status == 409 else 3)


def test_a_rejected_upload_exits_1_with_the_reasons(cli: Cli, as_admin: dict[str, str]) -> None:
    junk = cli.home / "junk.json"
    junk.write_text("not json")
    run = cli("upload", str(junk), "--bucket", "cli-junk", "--wait", **as_admin)
    assert run.returncode == 1, run.stdout + run.stderr
    assert run.stdout.startswith("rejected: s3://packer-manifests/cli-junk/") and "\nWhy:\n  - " in run.stdout
    record = json.loads(cli("upload", str(junk), "--bucket", "cli-junk", "--wait", "--json", **as_admin).stdout)
    assert record["status"] == "rejected" and record["reasons"]


def test_upload_without_wait_needs_no_login_and_without_a_bucket_is_a_usage_error(cli: Cli, product: Product) -> None:
    manifest = cli.home / "packer-manifest.json"
    manifest.write_bytes(real_manifest("amazon-ebs-single-1.json"))
    run = cli("upload", str(manifest))
    assert run.returncode == 2 and "--bucket" in run.stderr
    run = cli("upload", str(manifest), "--bucket", "cli-nowait", "--json")
    assert run.returncode == 0, run.stderr
    uploaded = json.loads(run.stdout)
    head = product.s3.head_object(Bucket=MANIFEST_BUCKET, Key=uploaded["key"])
    assert head["ETag"].strip('"') == uploaded["etag"] and uploaded["key"].startswith("cli-nowait/packer-manifest-")


def test_upload_wait_gives_up_after_its_timeout_with_exit_5(cli: Cli, product: Product,
                                                          as_admin: dict[str, str]) -> None:
    product.s3.create_bucket(Bucket="not-watched")  # no S3 trigger: no ingestion record will come
    manifest = cli.home / "packer-manifest.json"
    manifest.write_bytes(real_manifest("amazon-ebs-single-1.json"))
    run = cli("upload", str(manifest), "--bucket", "cli-timeout", "--manifest-bucket", "not-watched", "--wait",
              "--timeout", "2", **as_admin)
    assert run.returncode == 5, run.stdout + run.stderr
    assert "no ingestion record for s3://not-watched/cli-timeout/packer-manifest-" in run.stderr


def test_version_filters_reach_the_registry(cli: Cli, product: Product, as_admin: dict[str, str]) -> None:
    """Passed through as query parameters; a registry that filters answers only matches
    (one that predates filters answers everything: the CLI needs no change either way)."""
    assert upload(cli, as_admin, "cli-filter", "amazon-ebs-per-region-builds-same-run.json").returncode == 0
    assert upload(cli, as_admin, "cli-filter").returncode == 0
    assert cli("revoke", "cli-filter", "v2", "--reason", "test", **as_admin).returncode == 0
    everything = cli.json("versions", "cli-filter", **as_admin)
    revoked = cli.json("versions", "cli-filter", "--status", "revoked", **as_admin)
    assert "v2" in [v["name"] for v in revoked]
    assert len(revoked) == len(everything) or {v["status"] for v in revoked} == {"revoked"}
    # this registry filters: by status and platform from its indexes, the others on the page read
    assert [v["name"] for v in revoked] == ["v2"]
    assert [v["name"] for v in cli.json("versions", "cli-filter", "--platform", "aws", **as_admin)] \
        == [v["name"] for v in everything]
    assert cli.json("versions", "cli-filter", "--platform", "docker", "--label", "os:none", **as_admin) == []
    assert [b["name"] for b in cli.json("buckets", "--prefix", "cli-filt", **as_admin)] == ["cli-filter"]
    assert cli.json("buckets", "--prefix", "cli-filt", "--label", "team:nobody", **as_admin) == []


# ---- what it sends --------------------------------------------------------------------------

class Recorder(BaseHTTPRequestHandler):
    """Answers every GET with a page (two pages in all) and records the request."""

    requests: list[tuple[str, dict[str, list[str]], str | None]] = []

    def do_GET(self) -> None:
        url = urlparse(self.path)
        params = parse_qs(url.query)
        self.requests.append((url.path, params, self.headers.get("Authorization")))
        page: dict[str, Any] = {"items": [{"name": "v2", "status": "revoked", "ancestry_status": None, "build_count": 1,
                                           "created_at": "2026-05-27T10:15:00Z", "fingerprint": "f2"}]}
        if "next_token" not in params:
            page["next_token"] = "page-2"
        body = json.dumps(page).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_versions_sends_each_filter_and_follows_next_token(tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        cli = Cli(tmp_path, None)
        run = cli("versions", "my bucket", "--status", "revoked", "--platform", "aws", "--region", "eu-west-1",
                  "--label", "os:debian", "--label", "arch:arm64", "--created-after", "2026-01-01T00:00:00Z",
                  "--created-before", "2026-02-01T00:00:00+01:00", "--channel", "production",
                  "--ancestry-status", "out_of_date", "--json",
                  PACKER_REGISTRY_URL=f"http://127.0.0.1:{server.server_address[1]}/stage/",
                  PACKER_REGISTRY_TOKEN="recorded")
    finally:
        server.shutdown()
    assert run.returncode == 0, run.stderr
    assert [v["name"] for v in json.loads(run.stdout)] == ["v2", "v2"]
    (first, params, auth), (second, more, _) = Recorder.requests
    assert first == second == "/stage/buckets/my%20bucket/versions" and auth == "Bearer recorded"
    assert params == {"status": ["revoked"], "platform": ["aws"], "region": ["eu-west-1"],
                      "labels": ["os:debian,arch:arm64"], "created_after": ["2026-01-01T00:00:00Z"],
                      "created_before": ["2026-02-01T00:00:00+01:00"], "channel": ["production"],
                      "ancestry_status": ["out_of_date"], "limit": ["100"]}
    assert more == {**params, "next_token": ["page-2"]}


# ---- pip install . ----------------------------------------------------------------------------

def test_pip_install_gives_the_packer_registry_command(tmp_path: Path, product: Product) -> None:
    """The wheel `pip install .` builds holds cli/ alone and installs `packer-registry`.
    Built offline (the venv's setuptools) from a copy of what the build reads, so nothing is
    written into the repository."""
    source, wheels, venv = tmp_path / "source", tmp_path / "wheels", tmp_path / "venv"
    shutil.copytree(ROOT / "cli", source / "cli", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", source)
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                            str(source), "-w", str(wheels)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("packer_registry-*.whl")
    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"cli"}
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
                              "--quiet", "--no-deps", "--no-index", str(wheel)],
                             capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    command = [str(venv / "bin" / "packer-registry")]
    cli = Cli(tmp_path, None)
    assert cli("--help", command=command).returncode == 0
    assert cli("buckets", command=command).returncode == 4
    run = cli("whoami", command=command, PACKER_REGISTRY_URL=product.url, PACKER_REGISTRY_TOKEN=TOKEN)
    assert run.returncode == 0 and "bootstrap-admin (admin)" in run.stdout, run.stderr
