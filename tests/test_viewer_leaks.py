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
from conftest import manifest
from test_auth import call, mint

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
