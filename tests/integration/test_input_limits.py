"""Caps and strict types on request bodies (issue 10, item 6): a clear 400 in the JSON error
shape that names the limit, never a 500 from DynamoDB's item size or a silently coerced value."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from chalicelib.runtime import aws
from support import manifest


def bad(registry, method: str, path: str, payload, *words: str) -> str:
    body = registry.send(method, path, payload, 400)
    assert set(body) == {"error", "message"} and body["error"] == "BadRequest", body
    for word in words:
        assert word in body["message"], (word, body["message"])
    return body["message"]


def test_bucket_labels_are_capped_in_count_and_length(registry):
    most = {f"{i:03d}" + "k" * 125: "v" * 256 for i in range(50)}  # every cap reached exactly
    registry.send("post", "/buckets", {"name": "base", "labels": most}, 201)
    registry.send("patch", "/buckets/base", {"labels": {k: "w" * 256 for k in most}})
    (updated,) = [e for e in registry.all_pages("/buckets/base/events") if e["action"] == "bucket.updated"]
    assert len(updated["before"]["labels"]) == len(updated["after"]["labels"]) == 50  # the event holds both
    assert registry.get("/buckets/base")["labels"] == {k: "w" * 256 for k in most}

    for method, path in (("post", "/buckets"), ("patch", "/buckets/base")):
        name = {"name": "other"} if method == "post" else {}
        bad(registry, method, path, {**name, "labels": {f"k{i}": "v" * 1024 for i in range(500)}}, "labels", "50")
        bad(registry, method, path, {**name, "labels": {**dict(list(most.items())[:49]), "x": "y", "z": "y"}}, "50")
        bad(registry, method, path, {**name, "labels": {"k" * 129: "v"}}, "labels", "128")
        bad(registry, method, path, {**name, "labels": {"k": "v" * 257}}, "labels.k", "256")
        bad(registry, method, path, {**name, "labels": {"": "v"}}, "labels")
        bad(registry, method, path, {**name, "description": "d" * 1025}, "description", "1024")
    assert registry.get("/buckets/base")["labels"] == {k: "w" * 256 for k in most}  # nothing changed


def test_an_error_lists_a_few_problems_not_thousands(registry):
    message = bad(registry, "post", "/buckets", {"name": "x", "labels": {"k" * 129 + str(i): "v" * 300 for i in range(50)}})
    assert len(message) < 3000 and "more problems" in message


NOT_BOOLEANS = ["true", "false", 1, 0, "yes", "no", "", None, [], {}]


@pytest.mark.parametrize("value", NOT_BOOLEANS)
def test_booleans_are_json_true_or_false_only(registry, value):
    registry.upload("base/m.json", manifest({"packer_run_uuid": "r1"}, {"packer_run_uuid": "r2"}))
    registry.send("post", "/buckets/base/channels", {"name": "production", "version": "v1"}, 201)
    if value is not None:  # null is "leave as is" where a field is optional
        bad(registry, "post", "/buckets/base/channels", {"name": "canary", "restricted": value}, "restricted", "boolean")
        bad(registry, "patch", "/buckets/base/channels/production", {"restricted": value}, "restricted", "boolean")
    for flag in ("skip_descendants_revocation", "disable_rollback_channels"):
        bad(registry, "post", "/buckets/base/versions/v1/revoke", {"reason": "x", flag: value}, flag, "boolean")
    assert registry.get("/buckets/base/versions/v1")["status"] == "active"
    assert registry.get("/buckets/base/channels/production")["restricted"] is False
    created = registry.send("post", "/buckets/base/channels", {"name": "canary", "restricted": True}, 201)
    assert created["restricted"] is True


def test_other_free_text_fields_are_capped(registry):
    registry.upload("base/m.json", manifest({"packer_run_uuid": "r1"}))
    registry.send("post", "/buckets/base/channels", {"name": "production", "version": "v1"}, 201)
    bad(registry, "post", "/buckets/base/channels", {"name": "c", "version": "f" * 3000}, "version")
    bad(registry, "patch", "/buckets/base/channels/production", {"version": "v1" + "x" * 3000}, "version")
    bad(registry, "patch", "/buckets/base/channels/production", {"description": "d" * 1025}, "description", "1024")
    bad(registry, "post", "/buckets/base/versions/v1/revoke", {"reason": "r" * 501}, "reason", "500")
    bad(registry, "post", "/buckets/base/versions/v1/revoke", {"reason": "x", "revoke_in": "1" * 100 + "d"}, "revoke_in", "64")
    bad(registry, "post", "/buckets/base/versions/v1/revoke", {"reason": "x", "revoke_at": "2" * 100}, "revoke_at", "64")
    bad(registry, "post", "/tokens", {"name": "ci", "role": "viewer", "expires_at": "2" * 100}, "expires_at", "64")
    bad(registry, "post", "/compliance/check", {"artifacts": ["ami-" + "0" * 2000]}, "1024")
    assert registry.get("/buckets/base/versions/v1")["status"] == "active"


def refuse_long_partition_keys() -> None:
    """Make DynamoDB calls refuse a partition key over 2,048 bytes as DynamoDB does (moto does not)."""
    def check(params, **_):
        value = params.get("ExpressionAttributeValues", {}).get(":h", {}).get("S", "")
        if len(value.encode()) > 2048:
            raise ClientError({"Error": {"Code": "ValidationException",
                                         "Message": "Hash primary key values must be under 2048 bytes"}}, "Query")
    aws.client("dynamodb").meta.events.register("before-parameter-build.dynamodb.Query", check)


def test_a_long_artifact_id_is_simply_unknown(registry):
    refuse_long_partition_keys()
    for path in ("/artifacts/" + "a" * 3000, "/artifacts?id=" + "a" * 3000):
        assert registry.get(path, status=404)["error"] == "NotFound"
