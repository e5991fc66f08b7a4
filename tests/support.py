"""Helpers every test tier shares, in one place (no test module imports another; conftest.py
holds the fixtures). Plain functions and constants: nothing beyond the standard library is
imported at module load, so the unit tier imports this module too.

The real manifests live outside the repository, in `../shared/testdata/real-manifests`
(`REAL_MANIFESTS_DIR` names another folder: `make mutate` sets it, since mutmut runs the
tests from a copy of the project in `mutants/`). A missing or empty folder is an error at
collection, never a parametrize that silently yields no cases.
"""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
REAL_MANIFESTS = Path(os.environ.get("REAL_MANIFESTS_DIR") or ROOT.parent / "shared" / "testdata" / "real-manifests")


def real_manifest_names() -> list[str]:
    """The real manifests' file names, sorted; raises when there are none."""
    names = sorted(p.name for p in REAL_MANIFESTS.glob("*.json"))
    if not names:
        raise FileNotFoundError(
            f"no real manifests (*.json) in {REAL_MANIFESTS}: the tests need the shared test data "
            "(../shared/testdata/real-manifests beside the repository, or REAL_MANIFESTS_DIR)")
    return names


def real_manifest(name: str) -> bytes:
    """One real manifest's bytes, as Packer wrote them."""
    return (REAL_MANIFESTS / name).read_bytes()


# Real SBOMs, made by syft from a small directory (tests/fixtures/sboms/README.md).
SBOMS = ROOT / "tests" / "fixtures" / "sboms"


def sbom_document(name: str) -> bytes:
    """One SBOM fixture's bytes, as its generator wrote them."""
    return (SBOMS / name).read_bytes()


def compressed_sbom(raw: bytes) -> str:
    """UploadSbom's `compressed_sbom` for a document: base64 of its zstd, as Packer's hcp-sbom
    provisioner sends it."""
    import base64

    import zstandard

    return base64.b64encode(zstandard.ZstdCompressor().compress(raw)).decode()


# ---- the registry as the integration tests drive it (helpers of the `registry` fixture) ----

# The names the `local` stage of .chalice/config.json sets during each test-client call.
TABLE, MANIFEST_BUCKET = "packer-registry", "packer-manifests"
ADMIN_TOKEN = "test-admin-token-0123456789abcdef0123456789"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def manifest(*builds: dict) -> dict:
    """A manifest of the given builds, each completed with Packer's usual fields."""
    filled = []
    for index, build in enumerate(builds):
        filled.append({"name": "ubuntu", "builder_type": "amazon-ebs", "build_time": 1764000000 + index,
                       "files": None, "artifact_id": f"us-east-1:ami-{index:017x}",
                       "packer_run_uuid": "11111111-2222-3333-4444-555555555555", "custom_data": {}, **build})
    return {"builds": filled, "last_run_uuid": filled[-1]["packer_run_uuid"] if filled else ""}


def mint(registry: Any, role: str, name: str | None = None, **extra: Any) -> str:
    """A new token with `role`, minted by the registry's admin; its secret."""
    body = registry.send("post", "/tokens", {"name": name or f"{role}-token", "role": role, **extra}, 201)
    return body["secret"]


def call(client: Any, method: str, path: str, token: str | None = None, body: Any = None) -> tuple[int, Any]:
    """One request through the Chalice test client as `token` (none: no Authorization header)."""
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    response = getattr(client.http, method.lower())(path, headers=headers,
                                                    **({"body": json.dumps(body)} if method != "GET" else {}))
    return response.status_code, json.loads(response.body) if response.body else None


def sweep(registry: Any) -> None:
    """The compliance sweep, as its schedule event runs it."""
    event = registry.client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event",
                                                     detail={}, resources=[])
    registry.client.lambda_.invoke("sweep", event)


def count_calls(client: Any) -> list[str]:
    """The names of the DynamoDB operations `client` makes from now on (a list that grows)."""
    calls: list[str] = []
    client.meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.append(model.name))
    return calls


# A chain of three buckets: base (real manifest) → child (by channel hint) → grandchild (by source AMI).
CHILD_AMI, GRANDCHILD_AMI = "ami-0c0c0c0c0c0c0c0c1", "ami-0d0d0d0d0d0d0d0d2"


def child_manifest(**hints: Any) -> dict:
    return manifest({"name": "app", "packer_run_uuid": "child-run-1", "artifact_id": f"us-east-1:{CHILD_AMI}",
                     "custom_data": {"bucket_name": "child", **hints}})


def build_chain(registry: Any) -> None:
    """base (real multi-region, 8 versions) → child (via channel) → grandchild (via source AMI)."""
    registry.upload("base/packer-manifest.json", real_manifest("amazon-ebs-multiregion-multirun-1.json"))
    registry.send("post", "/buckets/base/channels", {"name": "production", "version": "v1"}, 201)
    registry.upload("child/m.json", child_manifest(parent_bucket="base", parent_channel="production"))
    registry.upload("grandchild/m.json", manifest({
        "name": "svc", "packer_run_uuid": "gc-run-1", "artifact_id": f"us-east-1:{GRANDCHILD_AMI}",
        "custom_data": {"source_ami": CHILD_AMI}}))


# ---- the HCP Packer-compatible API as its clients call it --------------------------------------

RM = "/resource-manager/2019-12-10"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")


class Hcp:
    """Calls as the HCP clients make them: a bearer token, JSON bodies, the location's prefix
    (`api` in the HCP tests: `Hcp(registry)`)."""

    def __init__(self, registry: Any, token: str = ADMIN_TOKEN) -> None:
        self.registry, self.token = registry, token

    @property
    def prefix(self) -> str:
        organization = self.ok("GET", f"{RM}/organizations")["organizations"][0]["id"]
        project = self.ok("GET", f"{RM}/projects")["projects"][0]["id"]
        return f"/packer/2023-01-01/organizations/{organization}/projects/{project}"

    def as_token(self, token: str) -> "Hcp":
        return Hcp(self.registry, token)

    def call(self, method: str, path: str, body=None, raw: bytes | None = None,
             headers: dict | None = None) -> tuple[int, dict, dict]:
        """(HTTP status, JSON body, headers); `path` without a leading / is under the project."""
        url = path if path.startswith("/") else f"{self.prefix}/{path}"
        sent = {"Content-Type": "application/json", "Authorization": f"Bearer {self.token}", **(headers or {})}
        payload = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        response = getattr(self.registry.client.http, method.lower())(url, headers=sent, body=payload)
        assert response.headers.get("Content-Type") == "application/json", (method, url, response.headers)
        return response.status_code, json.loads(response.body), response.headers

    def ok(self, method: str, path: str, body=None, **options) -> dict:
        status, answer, _ = self.call(method, path, body, **options)
        assert status == 200, (method, path, status, answer)  # every success is a 200
        return answer

    def fails(self, method: str, path: str, body=None, *, status: int, code: int, **options) -> dict:
        got, answer, _ = self.call(method, path, body, **options)
        assert (got, answer.get("code")) == (status, code), (method, path, got, answer)
        assert_error_shape(answer)
        return answer


def assert_error_shape(answer: dict) -> None:
    """google.rpc.Status: exactly code, message, details (a list); one `code` in the text."""
    assert set(answer) == {"code", "message", "details"}, answer
    assert isinstance(answer["code"], int) and answer["message"] and isinstance(answer["details"], list)
    assert len(re.findall(r'[Cc]ode"?:', json.dumps(answer, separators=(",", ":")))) == 1, answer


PACKER_RUN = "8a7f2d3c-1111-4222-8333-944455556666"  # a `packer build`'s packer_run_uuid


def start_hcp_version(api: Hcp, bucket: str, fingerprint: str, *components: str) -> dict[str, dict]:
    """What `packer build` does up to "Tracking build": the bucket, the version, each build
    running; then it stops (a template error, a crashed runner). The builds by component."""
    if api.call("GET", f"buckets/{bucket}")[0] == 404:
        api.ok("PUT", "buckets", {"name": bucket})
    api.ok("POST", f"buckets/{bucket}/versions", {"fingerprint": fingerprint, "template_type": "HCL2"})
    builds = {}
    for component in components:
        build = api.ok("POST", f"buckets/{bucket}/versions/{fingerprint}/builds",
                       {"component_type": component, "packer_run_uuid": PACKER_RUN, "status": "BUILD_UNSET"})["build"]
        builds[component] = hcp_build_running(api, bucket, fingerprint, build["id"])
    return builds


def hcp_build_running(api: Hcp, bucket: str, fingerprint: str, build_id: str) -> dict:
    return api.ok("PATCH", f"buckets/{bucket}/versions/{fingerprint}/builds/{build_id}",
                  {"packer_run_uuid": PACKER_RUN, "status": "BUILD_RUNNING"})["build"]


def ingest(registry: Any, bucket: str, *runs: str) -> None:
    """Versions recorded from manifests: one per run, each one AMI in us-east-1 and one in eu-west-1."""
    for run in runs:
        registry.upload(f"{bucket}/{run}.json", manifest({
            "packer_run_uuid": run, "artifact_id": f"us-east-1:ami-{run}0000000000001,eu-west-1:ami-{run}0000000000002",
            "custom_data": {"team": "platform"}}))


# ---- faults and races -------------------------------------------------------------------

THROTTLED = {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}


def conflict() -> dict:
    """A transaction cancelled by a conflict on its first item."""
    return {"Code": "TransactionCanceledException", "Message": "conflict",
            "reasons": [{"Code": "TransactionConflict"}, {"Code": "None"}]}


class Faults:
    """Make chosen DynamoDB calls fail before they reach the table (a botocore hook)."""

    def __init__(self) -> None:
        from chalicelib.runtime import aws

        self.plan: dict[str, list[dict | None]] = {}
        aws.client("dynamodb").meta.events.register("before-call.dynamodb.*", self._maybe_fail)

    def fail(self, operation: str, *errors: dict | None) -> None:
        """The next calls of `operation` fail with these errors in turn (None: let one through)."""
        self.plan.setdefault(operation, []).extend(errors)

    def _maybe_fail(self, model: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        queue = self.plan.get(model.name)
        if not queue:
            return None
        error = queue.pop(0)
        if error is None:  # a call let through
            return None
        response = AWSResponse("https://dynamodb", 400, {}, None)
        return response, {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400},
                          **({"CancellationReasons": error.pop("reasons")} if "reasons" in error else {})}


def race(*steps: Any, tolerated: tuple[int, ...] = (409, 503)) -> list[BaseException]:
    """Run the steps in threads released together at a barrier; return the errors they raised,
    except registry errors with a `tolerated` status (a 409 or 503 is a legitimate outcome of
    a race, anything else is not)."""
    from chalicelib.errors import RegistryError

    barrier, errors = threading.Barrier(len(steps)), []

    def run(step: Any) -> None:
        try:
            barrier.wait(timeout=30)
            step()
        except RegistryError as exc:
            if exc.status not in tolerated:
                errors.append(exc)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted by the caller
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s,)) for s in steps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def trials(setup_and_race: Any, prefix: str, count: int = 16) -> None:
    """Run `count` trials of a race, each on fresh names (`<prefix><n>`, given to
    `setup_and_race`); fail with how many broke an invariant (an AssertionError of the trial)."""
    broken = []
    for trial in range(count):
        try:
            setup_and_race(f"{prefix}{trial}")
        except AssertionError as exc:
            broken.append(str(exc).splitlines()[0])
    assert not broken, f"{len(broken)} of {count} trials broke an invariant: {broken}"


# ---- HCP Terraform, for the run task ------------------------------------------------------

def sign(key: str, body: bytes) -> str:
    """X-TFC-Task-Signature as HCP Terraform computes it: hex HMAC-SHA512 of the raw body."""
    import hashlib
    import hmac

    return hmac.new(key.encode(), body, hashlib.sha512).hexdigest()


class FakeHcpTerraform:
    """A small HCP Terraform on a free loopback port (a context manager) for the run task.

    It serves `plan` (a Terraform plan JSON) at /plan to the run's bearer token only, or with
    `redirect` answers /plan with a 307 to /archive/plan as HCP Terraform does (the archive
    URL needs no token), or to `redirect` itself when it is a URL; `plan_status` makes /plan
    fail and `callback_status` the callback. It records every request it gets (`requests`:
    method, path, headers, JSON body), the callback PATCHes at /callback included. It listens
    on `host` (another loopback address, 127.0.0.2, plays a host the run task must not reach)."""

    TOKEN = "run-access-token-0123456789abcdef"

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.plan: Any = None
        self.redirect: bool | str = False
        self.plan_status = 200
        self.callback_status = 200
        self.requests: list[dict[str, Any]] = []
        self._server: Any = None

    def __enter__(self) -> "FakeHcpTerraform":
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
                raw = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", "Content-Length": str(len(raw)),
                                    **(headers or {})}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(raw)

            def _record(self) -> dict[str, Any]:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                request = {"method": self.command, "path": self.path, "headers": dict(self.headers),
                           "body": json.loads(raw) if raw else None}
                fake.requests.append(request)
                return request

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                request = self._record()
                if self.path == "/plan" and fake.redirect:
                    target = fake.redirect if isinstance(fake.redirect, str) else f"{fake.url}/archive/plan"
                    return self._answer(307, headers={"Location": target})
                if self.path == "/plan" and request["headers"].get("Authorization") != f"Bearer {fake.TOKEN}":
                    return self._answer(401, {"errors": [{"status": "401", "title": "unauthorized"}]})
                if self.path in ("/plan", "/archive/plan"):
                    return self._answer(fake.plan_status, fake.plan if fake.plan_status == 200 else None)
                return self._answer(404)

            def do_PATCH(self) -> None:  # noqa: N802
                self._record()
                self._answer(fake.callback_status if self.path == "/callback" else 404, {})

            def do_POST(self) -> None:  # noqa: N802
                self._record()
                self._answer(404)

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        threading.Thread(target=self._server.serve_forever, name="fake-hcp-terraform", daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def callbacks(self) -> list[dict[str, Any]]:
        """The task results PATCHed to /callback, in order (their JSON bodies)."""
        return [r["body"] for r in self.requests if r["method"] == "PATCH" and r["path"] == "/callback"]

    def run_task_request(self, **fields: Any) -> bytes:
        """A post-plan run-task request as HCP Terraform sends it (its field names), as bytes."""
        return json.dumps({
            "payload_version": 1, "stage": "post_plan", "access_token": self.TOKEN, "capabilities": {"outcomes": True},
            "configuration_version_id": "cv-1", "is_speculative": False, "organization_name": "acme",
            "plan_json_api_url": f"{self.url}/plan", "run_app_url": "https://app.terraform.io/app/acme/web/runs/run-1",
            "run_created_at": "2025-11-27T12:00:00.000Z", "run_created_by": "someone", "run_id": "run-1",
            "run_message": "Queued manually", "task_result_callback_url": f"{self.url}/callback",
            "task_result_enforcement_level": "mandatory", "task_result_id": "taskrs-1", "workspace_app_url": "",
            "workspace_id": "ws-1", "workspace_name": "web", "workspace_working_directory": "", **fields,
        }).encode()


def terraform_plan(*resources: tuple[str, str, list[str]], data_source: str | None = None) -> dict:
    """A Terraform plan (`terraform show -json`) of (address, AMI, actions) resources; with
    `data_source`, a data.hcp_packer_artifact that resolved that AMI (the instances get the value)."""
    def kind(address: str) -> dict:
        type_, name = address.split(".")[-2:]
        return {"address": address, "mode": "managed", "type": type_, "name": name}

    planned = [{**kind(a), "values": {"ami": ami, "instance_type": "t3.micro"}} for a, ami, _ in resources]
    if data_source:
        planned.append({"address": "data.hcp_packer_artifact.base", "mode": "data", "type": "hcp_packer_artifact",
                        "name": "base", "values": {"external_identifier": data_source, "platform": "aws"}})
    return {"format_version": "1.2", "terraform_version": "1.9.5",
            "planned_values": {"root_module": {"resources": planned}},
            "resource_changes": [{**kind(a), "change": {"actions": actions, "before": None,
                                                        "after": {"ami": ami}, "after_unknown": {}}}
                                 for a, ami, actions in resources]}


class WebhookReceiver:
    """A webhook receiver on a free loopback port (a context manager): answers each POST with
    the next status of `plan` (then 200) and keeps what it received (headers, body, path)."""

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.plan: list[int] = []
        self.received: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append({"headers": dict(self.headers), "body": body, "path": self.path})
                status = receiver.plan.pop(0) if receiver.plan else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/registry?team=platform"

    def __enter__(self) -> "WebhookReceiver":
        threading.Thread(target=self.server.serve_forever, name="webhook-receiver", daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
