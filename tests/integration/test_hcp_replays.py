"""Replays of what Packer sends (HCP-API-COMPAT.md §2.2, the bodies exactly as the SDK writes
them) for what a real `packer build` cannot reach on demand: the error codes Packer branches on
(5, 6, 9, 10), concurrent DONE reports, and token requests in both credential styles.

Driven through the app's HTTP entry point: chalice.test.Client on an in-process moto, and for the
race Chalice's local gateway (what `make run` serves with, one request per thread) on a moto
server. Packer reads only the body's `code` (the first `code` in the body, by a regex), so each
error is checked there, and its HTTP status as grpc-gateway maps the code (§4).
"""

from __future__ import annotations

import base64
import json
import re
import urllib.parse
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable

import pytest
from chalice.local import LocalGateway, LocalGatewayException

from local.runner import load_config, requests_per_thread
from support import ADMIN, race

RM = "/resource-manager/2019-12-10"
RUN = "6b4f4c30-55a1-4c7e-9d1a-0c3f2b7d9e11"  # the packer_run_uuid of the replayed run
JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
GRANT = {"grant_type": "client_credentials", "audience": "https://api.hashicorp.cloud"}
PACKER_CODE = re.compile(r'[Cc]ode"?:([0-9]+)')  # packer internal/hcp/api/errors.go, on the compact body

# Send(method, path, headers, body) -> (status, headers, body): one HTTP request to the app.
Send = Callable[[str, str, dict[str, str], bytes], tuple[int, dict[str, str], bytes]]


def through_client(client: Any) -> Send:
    def send(method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        response = client.http.request(method, path, headers=headers, body=body)
        return response.status_code, response.headers, response.body
    return send


def through_gateway(gateway: LocalGateway) -> Send:
    def send(method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        try:
            response = gateway.handle_request(method, path, {k.lower(): v for k, v in headers.items()}, body)
        except LocalGatewayException as exc:  # what API Gateway answers itself (401/403)
            return exc.CODE, dict(exc.headers), exc.body or b""
        raw = response["body"]
        if response.get("isBase64Encoded"):
            raw = base64.b64decode(raw)
        return response["statusCode"], response["headers"], raw if isinstance(raw, bytes) else raw.encode()
    return send


# ---- the bodies Packer sends (§2.2; go-swagger JSON, omitempty fields dropped) -----------

def create_build(component: str) -> dict[str, Any]:
    return {"artifacts": None, "component_type": component, "packer_run_uuid": RUN, "status": "BUILD_UNSET"}


def status_only(status: str) -> dict[str, Any]:
    """RUNNING at the start and on each heartbeat, FAILED or CANCELLED at the end (steps 7, 8, 12)."""
    return {"artifacts": None, "packer_run_uuid": RUN, "status": status}


def build_done(platform: str, external_id: str, region: str, **parent: str) -> dict[str, Any]:
    """Step 10, with the metadata Packer ≥ 1.11 gathers (vcs/cicd null outside a repository or CI)."""
    return {"artifacts": [{"external_identifier": external_id, "region": region}], "labels": {"os": "none"},
            "metadata": {"packer": {"version": "1.16.0", "plugins": None, "os": {"type": "linux", "details": {
                "arch": "amd64", "version": "6.8"}}, "options": {"debug": False, "force": False, "only": None,
                                                                 "except": None, "on-error": "cleanup"}},
                         "vcs": None, "cicd": None},
            "packer_run_uuid": RUN, "platform": platform, "status": "BUILD_DONE", **parent}


def assign(fingerprint: str) -> dict[str, Any]:
    return {"update_mask": "versionFingerprint", "version_fingerprint": fingerprint}


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    raw: bytes

    @property
    def body(self) -> Any:
        return json.loads(self.raw) if self.raw else None

    def __str__(self) -> str:
        return f"{self.status} {self.raw[:500]!r}"


class Packer:
    """Packer's side of the wire: a service principal's token and the HCP Packer routes."""

    def __init__(self, send: Send) -> None:
        self.send = send
        created = self.request("POST", "/service-principals", {"name": "packer-ci", "role": "contributor"}, ADMIN)
        assert created.status in (200, 201), created
        self.client_id, self.client_secret = created.body["client_id"], created.body["client_secret"]
        token = self.token(basic=(self.client_id, self.client_secret))
        assert token.status == 200, token
        self.bearer = {"Authorization": f"Bearer {token.body['access_token']}"}

    @cached_property
    def prefix(self) -> str:
        """The HCP Packer routes' prefix, with the organization and project the resource-manager
        routes name (HCP-API-COMPAT.md §1.3)."""
        (org,) = self.call("GET", f"{RM}/organizations").body["organizations"]
        scope = f"scope.id={org['id']}&scope.type=ORGANIZATION"
        (project,) = self.call("GET", f"{RM}/projects?{scope}").body["projects"]
        return f"/packer/2023-01-01/organizations/{org['id']}/projects/{project['id']}"

    def request(self, method: str, path: str, payload: Any = None, headers: dict[str, str] | None = None) -> Answer:
        body = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()
        return Answer(*self.send(method, path, {**JSON, **(headers or {})} if body else dict(headers or {}), body))

    def token(self, basic: tuple[str, str] | None = None, escape: Callable[[str], str] = urllib.parse.quote_plus,
              form: dict[str, str] | None = None) -> Answer:
        """POST /oauth2/token as golang.org/x/oauth2 sends it: form-encoded; credentials in HTTP
        Basic (each part URL-escaped first, by `escape`) or as form fields."""
        headers = dict(FORM)
        if basic:
            pair = ":".join(escape(part) for part in basic)
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        return Answer(*self.send("POST", "/oauth2/token", headers, urllib.parse.urlencode({**GRANT, **(form or {})}).encode()))

    def call(self, method: str, path: str, payload: Any = None) -> Answer:
        """A route as the principal (`path` absolute, or after the HCP prefix when it starts with /buckets)."""
        full = f"{self.prefix}{path}" if path.startswith(("/buckets", "/enforced_blocks")) else path
        return self.request(method, full, payload, self.bearer)

    def ok(self, method: str, path: str, payload: Any = None) -> Any:
        answer = self.call(method, path, payload)
        assert answer.status == 200, (method, path, str(answer))
        return answer.body

    def new_version(self, bucket: str, fingerprint: str, components: list[str]) -> dict[str, str]:
        """Steps 2-7 for a new bucket: the version and its builds, each RUNNING; build IDs by component."""
        assert_code(self.call("GET", f"/buckets/{bucket}"), 404, 5)
        self.ok("PUT", "/buckets", {"name": bucket})
        assert_code(self.call("GET", f"/buckets/{bucket}/versions/{fingerprint}"), 409, 10)
        self.ok("POST", f"/buckets/{bucket}/versions", {"fingerprint": fingerprint, "template_type": "HCL2"})
        ids = {c: self.ok("POST", f"/buckets/{bucket}/versions/{fingerprint}/builds", create_build(c))["build"]["id"]
               for c in components}
        for build_id in ids.values():
            self.ok("PATCH", f"/buckets/{bucket}/versions/{fingerprint}/builds/{build_id}", status_only("BUILD_RUNNING"))
        return ids

    def version(self, bucket: str, fingerprint: str) -> dict[str, Any]:
        return self.ok("GET", f"/buckets/{bucket}/versions/{fingerprint}")["version"]


def assert_code(answer: Answer, status: int, code: int) -> None:
    """The HCP error shape: HTTP `status`, JSON `{"code", "message", "details": []}`, and `code`
    the first code Packer's regex finds."""
    assert answer.status == status, str(answer)
    assert answer.headers.get("Content-Type", answer.headers.get("content-type", "")).startswith("application/json")
    body = answer.body
    assert isinstance(body, dict) and body.get("code") == code and body.get("message"), str(answer)
    assert body.get("details") == [], str(answer)
    found = PACKER_CODE.search(json.dumps(body, separators=(",", ":")))
    assert found and int(found.group(1)) == code, str(answer)


@pytest.fixture
def packer(client: Any) -> Packer:
    return Packer(through_client(client))


# ---- the codes Packer branches on -------------------------------------------------------

def test_get_bucket_of_a_missing_bucket_is_code_5_so_packer_creates_it(packer):
    assert_code(packer.call("GET", "/buckets/ubuntu"), 404, 5)
    packer.ok("PUT", "/buckets", {"name": "ubuntu", "description": "base image", "labels": {"os": "ubuntu"}})
    bucket = packer.ok("GET", "/buckets/ubuntu")["bucket"]
    assert (bucket["name"], bucket["description"], bucket["labels"]) == ("ubuntu", "base image", {"os": "ubuntu"})


def test_create_bucket_of_an_existing_bucket_is_code_6_so_packer_updates_it(packer):
    """Packer 1.10.1-1.11 creates first and updates on code 6; PATCH replaces description and labels."""
    packer.ok("PUT", "/buckets", {"name": "ubuntu", "description": "first", "labels": {"a": "1"}})
    assert_code(packer.call("PUT", "/buckets", {"name": "ubuntu", "description": "second"}), 409, 6)
    packer.ok("PATCH", "/buckets/ubuntu", {"description": "second", "labels": {"b": "2"}, "platforms": None})
    bucket = packer.ok("GET", "/buckets/ubuntu")["bucket"]
    assert (bucket["description"], bucket["labels"]) == ("second", {"b": "2"})


def test_get_version_of_an_unknown_fingerprint_is_http_409_code_10_so_packer_creates_it(packer):
    packer.ok("PUT", "/buckets", {"name": "ubuntu"})
    assert_code(packer.call("GET", "/buckets/ubuntu/versions/fp-1"), 409, 10)
    version = packer.ok("POST", "/buckets/ubuntu/versions", {"fingerprint": "fp-1", "template_type": "HCL2"})["version"]
    assert (version["name"], version["status"], version["fingerprint"]) == ("v0", "VERSION_RUNNING", "fp-1")
    assert packer.version("ubuntu", "fp-1")["id"] == version["id"]


def test_create_build_of_a_component_that_has_one_is_code_6_so_packer_skips_it(packer):
    ids = packer.new_version("ubuntu", "fp-1", ["file.app"])
    assert_code(packer.call("POST", "/buckets/ubuntu/versions/fp-1/builds", create_build("file.app")), 409, 6)
    (build,) = packer.ok("GET", "/buckets/ubuntu/versions/fp-1/builds")["builds"]
    assert (build["id"], build["status"]) == (ids["file.app"], "BUILD_RUNNING")


def test_update_channel_to_an_incomplete_version_or_on_latest_is_code_9(packer):
    """Packer ≥ 1.15 assigns its channels after each DONE: before the last, the version is
    incomplete (refused, Packer only prints it); `latest` is managed (§8)."""
    ids = packer.new_version("ubuntu", "fp-1", ["file.app", "null.tool"])
    # Packer assigns channels that exist: made with the native API (HCP's CreateChannel is TFP's, not part 1).
    assert packer.request("POST", "/buckets/ubuntu/channels", {"name": "production"}, ADMIN).status == 201
    packer.ok("PATCH", f"/buckets/ubuntu/versions/fp-1/builds/{ids['file.app']}", build_done("packer.file", "app.img", "."))
    assert_code(packer.call("PATCH", "/buckets/ubuntu/channels/production", assign("fp-1")), 400, 9)

    packer.ok("PATCH", f"/buckets/ubuntu/versions/fp-1/builds/{ids['null.tool']}", build_done("null", "Null", "null"))
    channel = packer.ok("PATCH", "/buckets/ubuntu/channels/production", assign("fp-1"))["channel"]
    assert (channel["name"], channel["version"]["name"], channel["version"]["status"]) == ("production", "v1", "VERSION_ACTIVE")
    assert_code(packer.call("PATCH", "/buckets/ubuntu/channels/latest", assign("fp-1")), 400, 9)


def test_a_failed_build_runs_again_under_the_same_fingerprint_and_completes_the_version(packer):
    """The re-run of §2.2: FAILED → RUNNING → DONE; the version completes only then, as v1."""
    ids = packer.new_version("ubuntu", "fp-1", ["file.app", "null.tool"])
    packer.ok("PATCH", f"/buckets/ubuntu/versions/fp-1/builds/{ids['file.app']}", build_done("packer.file", "app.img", "."))
    packer.ok("PATCH", f"/buckets/ubuntu/versions/fp-1/builds/{ids['null.tool']}", status_only("BUILD_FAILED"))
    assert (packer.version("ubuntu", "fp-1")["name"], packer.version("ubuntu", "fp-1")["status"]) == ("v0", "VERSION_RUNNING")

    builds = packer.ok("GET", "/buckets/ubuntu/versions/fp-1/builds")["builds"]  # the re-run reads them
    assert {b["component_type"]: b["status"] for b in builds} == {"file.app": "BUILD_DONE", "null.tool": "BUILD_FAILED"}
    tool = f"/buckets/ubuntu/versions/fp-1/builds/{ids['null.tool']}"
    packer.ok("PATCH", tool, status_only("BUILD_RUNNING"))
    packer.ok("PATCH", tool, status_only("BUILD_RUNNING"))  # a heartbeat
    packer.ok("PATCH", tool, build_done("null", "Null", "null"))
    version = packer.version("ubuntu", "fp-1")
    assert (version["name"], version["status"]) == ("v1", "VERSION_ACTIVE")


# ---- concurrent DONE reports --------------------------------------------------------------

TRIALS, BUILDS = 5, 4


@pytest.fixture
def gateway(moto_server, fresh_app):
    """The app behind Chalice's local gateway, one request per thread as `make run` serves it."""
    requests_per_thread(fresh_app)
    return LocalGateway(fresh_app, load_config())


def test_concurrent_done_reports_complete_the_version_exactly_once(gateway):
    packer = Packer(through_gateway(gateway))
    broken = []
    for trial in range(TRIALS):
        bucket, fingerprint = f"race-{trial}", f"fp-{trial}"
        ids = packer.new_version(bucket, fingerprint, [f"null.b{n}" for n in range(BUILDS)])
        answers: list[Answer] = []

        def report(build_id: str, n: int) -> None:
            answers.append(packer.call("PATCH", f"/buckets/{bucket}/versions/{fingerprint}/builds/{build_id}",
                                       build_done("null", f"Null{n}", "null")))

        assert race(*(lambda i=i, n=n: report(i, n) for n, i in enumerate(ids.values()))) == []
        try:
            assert sorted(a.status for a in answers) == [200] * BUILDS, [str(a) for a in answers]
            version = packer.version(bucket, fingerprint)
            assert (version["name"], version["status"]) == ("v1", "VERSION_ACTIVE"), version
            assert {b["status"] for b in version["builds"]} == {"BUILD_DONE"} and len(version["builds"]) == BUILDS
            native = packer.request("GET", f"/buckets/{bucket}/versions?limit=100", headers=ADMIN).body["items"]
            assert [v["name"] for v in native] == ["v1"], native
            assert packer.request("GET", f"/buckets/{bucket}", headers=ADMIN).body["version_count"] == 1
            assert packer.request("GET", f"/buckets/{bucket}/channels/latest", headers=ADMIN).body["version"] == "v1"
            events = packer.request("GET", f"/buckets/{bucket}/events?limit=100", headers=ADMIN).body["items"]
            assert [e["action"] for e in events].count("version.created") == 1, events
        except AssertionError as exc:
            broken.append(f"trial {trial}: {str(exc).splitlines()[0]}")
    assert not broken, f"{len(broken)} of {TRIALS} trials broke an invariant: {broken}"


# ---- token requests -----------------------------------------------------------------------

def _assert_token(answer: Answer) -> str:
    """The token response the SDK accepts, and §8 saw from HCP: exactly these three fields."""
    assert answer.status == 200, str(answer)
    body = answer.body
    assert sorted(body) == ["access_token", "expires_in", "token_type"], body
    assert body["token_type"] == "Bearer" and body["access_token"] and int(body["expires_in"]) >= 60, body
    return str(body["access_token"])


def test_a_token_is_granted_for_basic_credentials_url_escaped_or_for_form_credentials(packer):
    credentials = (packer.client_id, packer.client_secret)
    every_char = lambda part: "".join(f"%{byte:02X}" for byte in part.encode())  # noqa: E731 - still valid escaping
    tokens = [_assert_token(packer.token(basic=credentials)),
              _assert_token(packer.token(basic=credentials, escape=every_char)),
              _assert_token(packer.token(form={"client_id": credentials[0], "client_secret": credentials[1]}))]
    for token in tokens:
        bearer = {"Authorization": f"Bearer {token}"}
        assert packer.request("GET", f"{packer.prefix}/buckets", headers=bearer).status == 200
        assert packer.request("GET", "/buckets", headers=bearer).status == 200  # the native API too


def test_wrong_credentials_get_no_token_and_echo_nothing(packer):
    for answer in (packer.token(basic=(packer.client_id, "not-the-secret")),
                   packer.token(form={"client_id": packer.client_id, "client_secret": "not-the-secret"}),
                   packer.token(basic=("no-such-client", packer.client_secret))):
        assert answer.status in (400, 401), str(answer)
        assert b"access_token" not in answer.raw and packer.client_secret.encode() not in answer.raw
        assert b"not-the-secret" not in answer.raw


def test_deleting_the_principal_stops_its_tokens_at_once(packer):
    assert packer.call("GET", "/buckets").status == 200
    assert packer.request("DELETE", f"/service-principals/{packer.client_id}", headers=ADMIN).status in (200, 204)
    assert packer.call("GET", "/buckets").status == 401
    assert packer.token(basic=(packer.client_id, packer.client_secret)).status in (400, 401)
