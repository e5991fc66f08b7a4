"""What a viewer must never learn, and names that cannot exist: issue 10, items 3 and 4.

A viewer (role `viewer`) never learns what a restricted channel (or the managed `latest`)
is called or where it points, and no path parameter can select a partition it does not
name (the registry-wide audit trail sits under an empty bucket name).
"""

from __future__ import annotations

import json
import re

import pytest

import app as application
from support import call, manifest, mint, sweep

SAMPLE = {"bucket": "base", "version": "v1", "channel": "production", "external_id": "ami-0b0b0b0b0b0b0b0b1",
          "token_id": "0123456789abcdef", "asset": "app.js"}
NAMED = ("bucket", "channel", "version")


def routes_with(param: str) -> list[tuple[str, str]]:
    return [(method, path) for path, methods in application.app.routes.items() for method in methods
            if "{" + param + "}" in path]


@pytest.mark.parametrize("value", ["", "%20", "a*b", "a" * 200, "v0"])
def test_a_path_parameter_that_cannot_name_anything_is_a_404_on_every_route(registry, value):
    registry.upload("base/m.json", manifest({"packer_run_uuid": "b1"}))
    mint(registry, "viewer", name="spy")  # a token.created event in the registry-wide trail
    admin = registry.headers["Authorization"].removeprefix("Bearer ")
    for param in NAMED:
        if value == "v0" and param != "version":
            continue  # v0 is a fine bucket or channel name, only not a version
        for method, template in routes_with(param):
            path = template.format(**{**SAMPLE, param: value})
            if path.endswith("/"):
                continue  # `/buckets/` is the route `/buckets`, not a bucket named ""
            status, body = call(registry.client, method, path, admin, {} if method != "GET" else None)
            assert (status, body.get("error")) == (404, "NotFound"), (method, path, status, body)
            assert "spy" not in json.dumps(body), body


def test_an_empty_bucket_never_selects_the_registry_wide_trail(registry):
    mint(registry, "viewer", name="spy")
    viewer = mint(registry, "viewer", name="viewer")
    status, body = call(registry.client, "GET", "/buckets//events", viewer)
    assert status == 404 and re.search(r"bucket names match", body["message"]), body
    assert registry.get("/events")["items"][0]["action"] == "token.created"  # the admin's own route still works


SECRETS = ("secret-chan", "latest", "flipped", "was-public")


def leaky_registry(registry) -> str:
    """A bucket whose trail mentions restricted, managed, flipped and deleted channels,
    a child built from the restricted one, and a deleted bucket; returns a viewer's secret."""
    registry.upload("base/m.json", manifest(*({"packer_run_uuid": f"r{n}"} for n in range(1, 4))))
    def post(path, body, status=201):
        return registry.send("post", path, body, status)

    def patch(path, body):
        return registry.send("patch", path, body)

    for name, restricted in (("secret-chan", True), ("production", False), ("flipped", False), ("was-public", False)):
        post("/buckets/base/channels", {"name": name, "version": "v1", "restricted": restricted})
        patch(f"/buckets/base/channels/{name}", {"version": "v2"})
    patch("/buckets/base/channels/flipped", {"restricted": True})
    registry.send("delete", "/buckets/base/channels/was-public")
    registry.send("post", "/buckets/base/versions/v3/revoke", {"reason": "bad"})  # latest rolls back to v2
    registry.upload("kid/m.json", manifest({"packer_run_uuid": "k1", "custom_data": {
        "parent_bucket": "base", "parent_channel": "secret-chan"}}))
    patch("/buckets/base/channels/secret-chan", {"version": "v1"})
    sweep(registry)  # kid is now out of date: its event's sentence names base's secret-chan
    registry.upload("gone/m.json", manifest({"packer_run_uuid": "g1"}))
    registry.send("delete", "/buckets/gone")
    return mint(registry, "viewer", name="viewer")


def test_a_viewer_never_learns_a_restricted_channel_from_audit_events(registry):
    viewer = registry.as_token(leaky_registry(registry))
    admin_events = {b: registry.all_pages(f"/buckets/{b}/events") for b in ("base", "kid", "gone")}
    for secret in SECRETS:  # the trail does mention them: the admin sees every event
        assert secret in json.dumps(admin_events["base"]), secret
    assert "secret-chan" in json.dumps(admin_events["kid"])
    assert "latest_version" in json.dumps(admin_events["gone"])
    for bucket in ("base", "kid", "gone"):
        for limit in (1, 3, 25):
            seen = viewer.all_pages(f"/buckets/{bucket}/events", limit=limit)
            text = json.dumps(seen)
            for secret in (*SECRETS, "latest_version"):
                assert secret not in text, (bucket, limit, secret, text)
    shown = {(e["action"], e["target"]) for e in viewer.all_pages("/buckets/base/events")}
    assert {("channel.created", "channel/production"), ("channel.assigned", "channel/production"),
            ("version.revoked", "v3"), ("version.created", "v1")} <= shown
    (deleted,) = [e for e in viewer.all_pages("/buckets/gone/events") if e["action"] == "bucket.deleted"]
    assert deleted["before"] == {"versions": 1}


def test_a_viewer_never_learns_where_latest_points_from_a_bucket(registry):
    registry.upload("base/m.json", manifest({"packer_run_uuid": "r1"}))
    viewer = registry.as_token(mint(registry, "viewer"))
    assert registry.get("/buckets/base")["latest_version"] == "v1"
    assert registry.get("/buckets")["items"][0]["latest_version"] == "v1"
    assert viewer.get("/buckets/base")["latest_version"] is None
    assert viewer.get("/buckets")["items"][0]["latest_version"] is None
    contributor = registry.as_token(mint(registry, "contributor"))
    assert contributor.get("/buckets/base")["latest_version"] == "v1"
