"""Page tokens are opaque, tamper-proof and bound to their list (issue 10, item 5).

A `next_token` is sealed (encrypted and HMAC-signed with the deployment's key) for the list
that issued it: nothing inside can be read, and a token from another list, an altered or
forged one, or one sealed with another key is a 400 in the JSON error shape, never a 500.
"""

from __future__ import annotations

import base64
import json
import secrets

import boto3

from support import call, manifest, mint


def seed(registry) -> None:
    registry.upload("web/m.json", manifest(*({"packer_run_uuid": f"r{n}"} for n in range(3))))
    for name, restricted in (("aa-secret-chan", True), ("bb-public", False), ("cc-public", False)):
        registry.send("post", "/buckets/web/channels", {"name": name, "version": "v1", "restricted": restricted}, 201)
    registry.send("patch", "/buckets/web/channels/bb-public", {"version": "v2"})


def b64decode(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def test_a_token_reveals_nothing_of_where_the_page_stopped(registry):
    seed(registry)
    viewer = mint(registry, "viewer")
    status, page = call(registry.client, "GET", "/buckets/web/channels?limit=1", viewer)
    assert status == 200 and page["items"] == []  # the first channel is restricted: hidden, yet a page
    raw = b64decode(page["next_token"])
    for secret in (b"secret", b"CHANNEL", b"BUCKET#web", b"aa-", b'"PK"'):
        assert secret not in raw
    status, rest = call(registry.client, "GET", f"/buckets/web/channels?limit=10&next_token={page['next_token']}", viewer)
    assert status == 200 and [c["name"] for c in rest["items"]] == ["bb-public", "cc-public"]


def lists(registry) -> dict[str, str]:
    """Each paginated list of the seeded registry, with a token it issued."""
    paths = ["/buckets", "/buckets/web/versions", "/buckets/web/channels", "/buckets/web/channels/bb-public/history",
             "/buckets/web/events", "/ingestions", "/ingestions?status=accepted", "/tokens", "/events"]
    registry.upload("web2/m.json", manifest(*({"packer_run_uuid": f"s{n}"} for n in range(2))))
    mint(registry, "viewer", name="one")
    mint(registry, "viewer", name="two")
    tokens = {}
    for path in paths:
        sep = "&" if "?" in path else "?"
        tokens[path] = registry.get(f"{path}{sep}limit=1")["next_token"]
    return tokens


def test_a_token_opens_only_the_list_that_issued_it(registry):
    seed(registry)
    tokens = lists(registry)
    for path, token in tokens.items():
        sep = "&" if "?" in path else "?"
        assert registry.get(f"{path}{sep}limit=1&next_token={token}")["items"], path  # its own list: fine
        for other, foreign in tokens.items():
            if other != path:
                body = registry.get(f"{path}{sep}limit=1&next_token={foreign}", status=400)
                assert body["error"] == "BadRequest" and "does not belong" in body["message"], (path, other)
    # the other bucket's list of the same kind, and the flagged list of the report
    registry.get(f"/buckets/web2/versions?next_token={tokens['/buckets/web/versions']}", status=400)
    registry.get(f"/compliance/report?next_token={tokens['/buckets']}", status=400)


def test_the_history_token_is_refused_by_the_channel_list(registry):
    seed(registry)
    token = registry.get("/buckets/web/channels/bb-public/history?limit=1")["next_token"]
    body = registry.get(f"/buckets/web/channels?next_token={token}", status=400)
    assert body["error"] == "BadRequest"


FORGED = [
    "garbage", "%%%", "A", "AAAA", "-_-_", "x" * 4000,
    base64.urlsafe_b64encode(json.dumps({"GSI1PK": "BUCKETS"}).encode()).decode(),  # missing keys (was a 500)
    base64.urlsafe_b64encode(json.dumps({"PK": "BUCKET#web", "SK": "BUCKET"}).encode()).decode(),
    base64.urlsafe_b64encode(json.dumps({"GSI1PK": "BUCKETS", "GSI1SK": "zzz", "PK": "BUCKET#zzz",
                                         "SK": "BUCKET"}).encode()).decode(),  # the old format: plain JSON
]


def test_forged_and_garbled_tokens_are_a_400(registry):
    registry.upload("web/m.json", manifest({"packer_run_uuid": "r1"}))
    admin = registry.headers["Authorization"].removeprefix("Bearer ")
    for token in FORGED:
        for path in ("/buckets", "/buckets/web/channels", "/buckets/web/events", "/buckets/web/versions"):
            status, body = call(registry.client, "GET", f"{path}?next_token={token}", admin)
            assert status == 400 and body["error"] == "BadRequest" and "next_token" in body["message"], (path, body)


def test_an_altered_token_is_a_400(registry):
    seed(registry)
    token = registry.get("/buckets/web/versions?limit=1")["next_token"]
    raw = bytearray(b64decode(token))
    for position in (0, 16, len(raw) - 1):  # the tag, the first and the last byte of the sealed key
        altered = bytearray(raw)
        altered[position] ^= 1
        text = base64.urlsafe_b64encode(bytes(altered)).decode().rstrip("=")
        registry.get(f"/buckets/web/versions?limit=1&next_token={text}", status=400)


def test_a_token_sealed_with_another_key_is_a_400(registry, monkeypatch):
    seed(registry)
    token = registry.get("/buckets/web/versions?limit=1")["next_token"]
    assert registry.get(f"/buckets/web/versions?limit=1&next_token={token}")["items"]
    monkeypatch.setenv("REGISTRY_SIGNING_KEY", "a-new-key")
    registry.get(f"/buckets/web/versions?limit=1&next_token={token}", status=400)
    fresh = registry.get("/buckets/web/versions?limit=1")["next_token"]
    assert registry.get(f"/buckets/web/versions?limit=1&next_token={fresh}")["items"]


def test_the_key_comes_from_the_ssm_parameter_when_one_is_named(registry, monkeypatch):
    registry.upload("web/m.json", manifest(*({"packer_run_uuid": f"r{n}"} for n in range(3))))
    name = f"/packer-registry/test/signing-key-{secrets.token_hex(4)}"
    boto3.client("ssm").put_parameter(Name=name, Type="SecureString", Value=secrets.token_urlsafe(48))
    monkeypatch.setenv("REGISTRY_SIGNING_KEY_PARAM", name)
    token = registry.get("/buckets/web/versions?limit=1")["next_token"]
    assert registry.get(f"/buckets/web/versions?limit=1&next_token={token}")["items"]
    monkeypatch.delenv("REGISTRY_SIGNING_KEY_PARAM")  # back to the key derived from the admin token
    registry.get(f"/buckets/web/versions?limit=1&next_token={token}", status=400)
