"""Tokens and roles: 401 without a valid token, 403 naming the role, admin-only token management."""

import json
from datetime import timedelta

import pytest

import app as application
from chalicelib.api import hcp
from chalicelib.runtime import clock
from support import ADMIN_TOKEN, call, manifest, mint

PUBLIC = {("GET", "/"), ("GET", "/static/{asset}"), ("GET", "/openapi.json"), ("POST", "/oauth2/token")}
SAMPLE = {"bucket": "base", "version": "v1", "channel": "production", "external_id": "ami-0b0b0b0b0b0b0b0b1",
          "token_id": "0123456789abcdef", "asset": "app.js", "client_id": "0" * 32,
          "webhook_id": "0123456789abcdef", "revocation_id": "01JZZZZZZZZZZZZZZZZZZZZZZZ"}

# (method, path, body, role the issue gives it)
MUTATIONS = [
    ("POST", "/buckets", {"name": "fresh"}, "contributor"),
    ("PATCH", "/buckets/base", {"description": "x"}, "contributor"),
    ("POST", "/buckets/base/channels", {"name": "staging", "version": "v1"}, "contributor"),
    ("PATCH", "/buckets/base/channels/production", {"version": "v1"}, "contributor"),
    ("DELETE", "/buckets/base/channels/production", None, "contributor"),
    ("POST", "/buckets/base/versions/v1/revoke", {"reason": "test"}, "contributor"),
    ("POST", "/buckets/base/versions/v1/restore", None, "contributor"),
    ("DELETE", "/buckets/base/versions/v1?rollback_channels=true", None, "contributor"),
    ("POST", "/compliance/sweep", None, "contributor"),
    ("DELETE", "/buckets/base", None, "contributor"),
    ("POST", "/tokens", {"name": "ci", "role": "viewer"}, "admin"),
    ("GET", "/tokens", None, "admin"),
    ("DELETE", "/tokens/0123456789abcdef", None, "admin"),
    ("POST", "/service-principals", {"name": "packer", "role": "viewer"}, "admin"),
    ("GET", "/service-principals", None, "admin"),
    ("DELETE", f"/service-principals/{'0' * 32}", None, "admin"),
]
READS = ["/buckets", "/buckets/base", "/buckets/base/versions", "/buckets/base/versions/v1",
         "/buckets/base/channels", "/buckets/base/channels/production/artifact?platform=aws&region=us-east-1",
         "/ingestions", "/compliance/report", "/buckets/base/events", "/artifacts/ami-0b0b0b0b0b0b0b0b1"]


def seed(registry):
    registry.upload("base/m.json", manifest({"packer_run_uuid": "b1", "artifact_id": "us-east-1:ami-0b0b0b0b0b0b0b0b1"}))
    registry.send("post", "/buckets/base/channels", {"name": "production", "version": "v1"}, 201)


def test_every_route_but_the_page_answers_401_without_a_token(registry):
    seed(registry)
    routes = [(m, p) for p, methods in application.app.routes.items() for m in methods
              if (m, p) not in PUBLIC and not hcp.serves(p)]  # the HCP routes: test_hcp_api.py
    assert len(routes) > 25
    for method, template in routes:
        path = template.format(**SAMPLE)
        status, body = call(registry.client, method, path)
        assert status == 401, (method, path, status, body)
        assert body["error"] == "Unauthorized" and body["message"]
        status, body = call(registry.client, method, path, token="not-a-token")
        assert (status, body["error"]) == (401, "Unauthorized"), (method, path)


def test_no_route_leaks_whether_a_bucket_exists(registry):
    seed(registry)
    for path in ("/buckets/base", "/buckets/nope"):
        assert call(registry.client, "GET", path, token="wrong")[0] == 401


def test_the_page_and_the_api_description_are_public(client):
    assert client.http.get("/").status_code == 200
    assert client.http.get("/openapi.json").status_code == 200


@pytest.mark.parametrize("method, path, payload, needed", MUTATIONS)
def test_role_matrix(registry, method, path, payload, needed):
    seed(registry)
    tokens = {role: mint(registry, role) for role in ("viewer", "contributor", "admin")}
    for role, token in tokens.items():
        status, body = call(registry.client, method, path, token, payload)
        allowed = ["viewer", "contributor", "admin"].index(role) >= ["viewer", "contributor", "admin"].index(needed)
        if allowed:
            assert status not in (401, 403), (role, method, path, status, body)
        else:
            assert status == 403, (role, method, path, status, body)
            assert body["error"] == "Forbidden" and f"needs the {needed} role" in body["message"]
        seed_again = status < 300 and method == "DELETE"
        if seed_again:  # put back what the allowed call removed, for the next role
            registry.upload("base/m2.json", manifest({"packer_run_uuid": "b1", "artifact_id": "us-east-1:ami-0b0b0b0b0b0b0b0b1"}))
            call(registry.client, "POST", "/buckets/base/channels", ADMIN_TOKEN, {"name": "production", "version": "v1"})


def test_a_viewer_reads_everything_and_runs_the_consumer_query_and_the_check(registry):
    seed(registry)
    viewer = mint(registry, "viewer")
    for path in READS:
        status, body = call(registry.client, "GET", path, viewer)
        assert status == 200, (path, status, body)
    status, body = call(registry.client, "POST", "/compliance/check", viewer, {"artifacts": ["ami-0b0b0b0b0b0b0b0b1"]})
    assert status == 200 and body["results"][0]["verdict"] == "ok"


def test_restricted_channels_do_not_exist_for_viewers(registry):
    seed(registry)
    registry.send("post", "/buckets/base/channels", {"name": "canary", "version": "v1", "restricted": True}, 201)
    viewer, contributor = mint(registry, "viewer"), mint(registry, "contributor")
    for name in ("canary", "latest"):  # latest is restricted by default
        for path in (f"/buckets/base/channels/{name}", f"/buckets/base/channels/{name}/history",
                     f"/buckets/base/channels/{name}/artifact?platform=aws&region=us-east-1"):
            assert call(registry.client, "GET", path, viewer)[0] == 404, path
            assert call(registry.client, "GET", path, contributor)[0] == 200, path
    listed = call(registry.client, "GET", "/buckets/base/channels", viewer)[1]
    assert [c["name"] for c in listed["items"]] == ["production"]
    listed = call(registry.client, "GET", "/buckets/base/channels", contributor)[1]
    assert sorted(c["name"] for c in listed["items"]) == ["canary", "latest", "production"]


def test_expired_and_deleted_tokens_stop_working(registry, monkeypatch):
    seed(registry)
    soon = clock.iso(clock.now() + timedelta(hours=1))
    expiring = mint(registry, "viewer", name="short-lived", expires_at=soon)
    assert call(registry.client, "GET", "/buckets", expiring)[0] == 200
    real_now, later = clock.now, clock.now() + timedelta(hours=2)
    monkeypatch.setattr(clock, "now", lambda: later)
    status, body = call(registry.client, "GET", "/buckets", expiring)
    assert status == 401 and "expired" in body["message"]
    monkeypatch.setattr(clock, "now", real_now)
    doomed = registry.send("post", "/tokens", {"name": "doomed", "role": "contributor"}, 201)
    assert call(registry.client, "GET", "/buckets", doomed["secret"])[0] == 200
    registry.send("delete", f"/tokens/{doomed['id']}")
    status, body = call(registry.client, "GET", "/buckets", doomed["secret"])
    assert status == 401 and "unknown or deleted" in body["message"]


def test_token_secrets_are_shown_once_and_never_listed_or_logged(registry, capsys):
    created = registry.send("post", "/tokens", {"name": "packer-ci", "role": "contributor"}, 201)
    secret = created["secret"]
    assert secret.startswith(created["id"] + ".") and len(secret) > 40
    listing = registry.get("/tokens")
    assert [t["name"] for t in listing["items"]] == ["packer-ci"]
    assert set(listing["items"][0]) == {"id", "name", "role", "created_at", "created_by", "last_used_at", "expires_at"}
    call(registry.client, "GET", "/buckets", secret)
    assert registry.get("/tokens")["items"][0]["last_used_at"] is not None
    out = capsys.readouterr()
    assert secret not in out.out + out.err
    assert secret.split(".", 1)[1] not in json.dumps(registry.get("/tokens"))


@pytest.mark.parametrize("payload", [{"name": "x", "role": "root"}, {"name": "bad name", "role": "viewer"},
                                     {"name": "x", "role": "viewer", "expires_at": "2001-01-01T00:00:00Z"},
                                     {"name": "x", "role": "viewer", "expires_at": "tomorrow"}])
def test_bad_token_requests_are_400(registry, payload):
    assert registry.send("post", "/tokens", payload, 400)["error"] == "BadRequest"


def test_changes_are_attributed_to_the_token_name(registry):
    seed(registry)
    contributor = mint(registry, "contributor", name="release-bot")
    status, _ = call(registry.client, "PATCH", "/buckets/base/channels/production", contributor, {"description": "prod"})
    assert status == 200
    assert registry.get("/buckets/base/channels/production")["updated_by"] == "release-bot"


@pytest.mark.parametrize("name", ["bootstrap-admin", "Bootstrap-Admin", "sweep", "SWEEP", "registry", "Registry",
                                  "anonymous", "s3:base-manifest.json", "S3:anything", "s3:"])
def test_the_registrys_own_actor_names_cannot_be_minted(registry, name):
    body = registry.send("post", "/tokens", {"name": name, "role": "admin"}, 400)
    assert body["error"] == "BadRequest" and "reserved" in body["message"]
    for reserved in ("bootstrap-admin", "sweep", "registry", "s3:"):
        assert reserved in body["message"]
    assert registry.get("/tokens")["items"] == []


def test_names_that_only_resemble_the_reserved_ones_are_fine(registry):
    for name in ("sweeper", "registry-bot", "s3-uploader", "admin"):
        registry.send("post", "/tokens", {"name": name, "role": "viewer"}, 201)
