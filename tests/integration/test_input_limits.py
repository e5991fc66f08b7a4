"""Caps and strict types on request bodies (issue 10, item 6): a clear 400 in the JSON error
shape that names the limit, never a 500 from DynamoDB's item size or a silently coerced value.
Every key built from user input against DynamoDB's key limits (issue 22, item 4): refused with
a 4xx or a reason naming the field and the limit, or safely unmatched; never a 500, never an
ingestion lost."""

from __future__ import annotations

import re

import pytest
from botocore.exceptions import ClientError

from chalicelib.runtime import aws
from support import Faults, Hcp, manifest


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


# ---- keys built from user input (issue 22, item 4) -------------------------------------------

KEY_LIMITS = {"PK": 2048, "GSI1PK": 2048, "GSI2PK": 2048, "GSI3PK": 2048,
              "SK": 1024, "GSI1SK": 1024, "GSI2SK": 1024, "GSI3SK": 1024}
DYNAMODB_TEXT = "One or more parameter values were invalid"  # DynamoDB's own words: never an answer


@pytest.fixture
def dynamodb_limits(registry):
    """DynamoDB's key limits on every request, as DynamoDB enforces them: moto checks them only
    on the items it writes, not on a GetItem's, a BatchGetItem's or a Query's key values, where
    DynamoDB refuses a longer key with a ValidationException as well."""
    def refuse(op: str, limit: int) -> ClientError:
        what = "Size of hashkey has exceeded the maximum size limit of" if limit == 2048 \
            else "Aggregated size of all range keys has exceeded the size limit of"
        return ClientError({"Error": {"Code": "ValidationException", "Message": f"{DYNAMODB_TEXT}: {what} {limit} bytes"}},
                           op)

    def check(values: dict, op: str) -> None:
        for name, value in (values or {}).items():
            if name in KEY_LIMITS and len(value.get("S", "").encode()) > KEY_LIMITS[name]:
                raise refuse(op, KEY_LIMITS[name])

    def assigned(body: dict) -> dict:  # `SET #GSI2PK = :v1`: the key attributes an update writes
        names, values = body.get("ExpressionAttributeNames") or {}, body.get("ExpressionAttributeValues") or {}
        return {names.get(n, n): values[v] for n, v in re.findall(r"(#\w+) = (:\w+)", body.get("UpdateExpression", ""))}

    def before(params: dict, model, **_) -> None:
        op = model.name
        bodies = [params] if op in ("GetItem", "PutItem", "UpdateItem", "DeleteItem") else []
        bodies += [{"Key": k} for r in params.get("RequestItems", {}).values() if isinstance(r, dict) for k in r["Keys"]]
        bodies += [w.get("PutRequest") or w.get("DeleteRequest") for r in params.get("RequestItems", {}).values()
                   if isinstance(r, list) for w in r]
        bodies += [body for t in params.get("TransactItems", []) for body in t.values()]
        for body in bodies:
            check(body.get("Key") or body.get("Item"), op)
            check(assigned(body), op)
        if op == "Query":
            values = params["ExpressionAttributeValues"]
            for placeholder in set(re.findall(r":\w+", params["KeyConditionExpression"])):
                limit = 2048 if placeholder == ":h" else 1024
                if len(values[placeholder].get("S", "").encode()) > limit:
                    raise refuse(op, limit)

    aws.client("dynamodb").meta.events.register("before-parameter-build.dynamodb.*", before)
    return registry


def record(registry, key: str) -> dict:
    (found,) = [i for i in registry.get("/ingestions?limit=100")["items"] if i["key"] == key]
    return found


def test_a_long_artifact_id_is_simply_unknown(dynamodb_limits):
    for path in ("/artifacts/" + "a" * 3000, "/artifacts?id=" + "a" * 3000):
        assert dynamodb_limits.get(path, status=404)["error"] == "NotFound"


def test_a_run_with_an_artifact_id_past_the_cap_is_refused_and_the_rest_of_the_manifest_lands(dynamodb_limits):
    """The cap is on UTF-8 bytes (a Docker tag of 600 two-byte characters is over it); an ID of
    exactly 1,024 bytes is indexed and found."""
    registry = dynamodb_limits
    at_cap, over = "ami-" + "0" * 1020, "ami-" + "0" * 2100
    docker = "registry.example.com/app:" + "é" * 600
    registry.upload("base/m.json", manifest(
        {"packer_run_uuid": "long", "artifact_id": f"us-east-1:ami-0aaaaaaaaaaaaaaa1,eu-west-1:{over}"},
        {"packer_run_uuid": "tagged", "builder_type": "docker", "artifact_id": docker},
        {"packer_run_uuid": "fits", "artifact_id": f"us-east-1:{at_cap}"}))
    ingestion = record(registry, "base/m.json")
    assert ingestion["status"] == "partial" and [v["fingerprint"] for v in ingestion["versions"]] == ["fits"]
    long_reason, docker_reason = ingestion["reasons"]
    assert long_reason.startswith("run long of bucket base: not stored: build amazon-ebs.ubuntu: artifact ID 'ami-000")
    assert "...' is 2,104" in long_reason
    assert "is 2,104 bytes; the limit is 1,024" in long_reason and len(long_reason) < 400
    assert docker_reason.startswith("run tagged of bucket base: not stored: build docker.ubuntu")
    assert "is 1,225 bytes; the limit is 1,024" in docker_reason
    assert [v["fingerprint"] for v in registry.all_pages("/buckets/base/versions")] == ["fits"]
    assert registry.get(f"/artifacts?id={at_cap}")["version"] == "v1"
    for refused in ("ami-0aaaaaaaaaaaaaaa1", over):  # nothing of the refused run was stored
        registry.get(f"/artifacts?id={refused}", status=404)
    registry.deliver(registry.event("base/m.json"))  # a re-delivery changes nothing
    assert record(registry, "base/m.json") == ingestion


def publishing(registry, fingerprint: str) -> tuple[Hcp, str]:
    """A version being published through the HCP API with one running build: (client, build path)."""
    api = Hcp(registry)
    if api.call("GET", "buckets/base")[0] == 404:
        api.ok("PUT", "buckets", {"name": "base"})
    api.ok("POST", "buckets/base/versions", {"fingerprint": fingerprint, "template_type": "HCL2"})
    build = api.ok("POST", f"buckets/base/versions/{fingerprint}/builds", {
        "component_type": "amazon-ebs.ubuntu", "packer_run_uuid": "8a7f2d3c-1111-4222-8333-944455556666",
        "status": "BUILD_RUNNING"})["build"]
    return api, f"buckets/base/versions/{fingerprint}/builds/{build['id']}"


DONE = {"status": "BUILD_DONE", "platform": "aws",
        "artifacts": [{"external_identifier": "ami-0123456789abcdef0", "region": "us-east-1"}]}


@pytest.mark.parametrize("field, change, words", [
    ("external identifier", {"artifacts": [DONE["artifacts"][0], {"external_identifier": "ami-" + "0" * 2100,
                                                                  "region": "eu-west-1"}]},
     "artifacts[1].external_identifier is 2,104 bytes; the limit is 1,024"),
    ("platform", {"platform": "p" * 300}, "platform is 300 bytes; the limit is 256"),
])
def test_the_hcp_door_refuses_what_no_key_can_hold_in_its_own_words(dynamodb_limits, field, change, words):
    """The build's update is refused (400, code 3) naming the field, not DynamoDB's text when
    the last build completes; the build stays running and a corrected update completes it."""
    api, build = publishing(dynamodb_limits, "fp-" + field.replace(" ", "-"))
    answer = api.fails("PATCH", build, {**DONE, **change}, status=400, code=3)
    assert words in answer["message"] and DYNAMODB_TEXT not in answer["message"], answer
    assert api.ok("GET", build)["build"]["status"] == "BUILD_RUNNING"
    assert api.ok("PATCH", build, DONE)["build"]["status"] == "BUILD_DONE"
    assert dynamodb_limits.get("/buckets/base/versions/v1")["status"] == "active"


LONG = "x" * 2100


@pytest.mark.parametrize("field, build, words", [
    # refused, with a reason naming the field and its limit (the record kept below 400 KB)
    ("bucket name", {"custom_data": {"bucket_name": "b" * 300_000}}, "bucket name 'bbb"),
    ("fingerprint", {"custom_data": {"fingerprint": LONG}}, "1-128"),
    ("platform", {"builder_type": LONG}, "is 2,100 bytes; the limit is 256"),
    ("parent hint of 300 KB", {"custom_data": {"parent_bucket": "p" * 300_000, "parent_version": "v1"}},
     "DynamoDB's 400 KB item limit"),
    # stored: never part of a key, or a hint that names nothing (looked up, found nowhere)
    ("packer_run_uuid", {"packer_run_uuid": LONG, "custom_data": {"fingerprint": "run-1"}}, None),
    ("build name", {"name": LONG}, None),
    ("labels", {"custom_data": {"k" * 2000: "v" * 100_000}}, None),
    ("file names", {"files": [{"name": f"/{i}/" + "f" * 3000, "size": 1} for i in range(5)]}, None),
    ("source_ami", {"custom_data": {"source_ami": "ami-" + LONG}}, None),
    ("parent_bucket", {"custom_data": {"parent_bucket": LONG, "parent_channel": "production"}}, None),
    ("parent_channel", {"custom_data": {"parent_bucket": "base", "parent_channel": LONG}}, None),
    ("parent_version", {"custom_data": {"parent_bucket": "base", "parent_version": LONG}}, None),
])
def test_each_key_a_manifest_names_is_checked_against_dynamodb_limits(dynamodb_limits, field, build, words):
    """A manifest with one long value and a valid run: the ingestion record is always written,
    the valid run always lands, and the long value's run is stored or refused with a reason."""
    registry = dynamodb_limits
    key = f"base/{field.replace(' ', '-')}.json"
    registry.upload(key, manifest({"packer_run_uuid": "run-2"}, {"packer_run_uuid": "run-1", **build}))
    ingestion = record(registry, key)
    if words:
        (reason,) = ingestion["reasons"]
        assert ingestion["status"] == "partial" and words in reason and len(reason) <= 1000, reason
        assert [v["fingerprint"] for v in ingestion["versions"]] == ["run-2"]
    else:
        assert ingestion["status"] == "accepted", ingestion
        assert len(registry.all_pages("/buckets/base/versions")) == 2


def test_a_long_manifest_key_lands(dynamodb_limits):
    key = "base/" + "k" * 1000 + ".json"  # S3 keys are at most 1,024 bytes
    dynamodb_limits.upload(key, manifest({"packer_run_uuid": "run-1"}))
    assert record(dynamodb_limits, key)["status"] == "accepted"


@pytest.mark.parametrize("method, path, body, status", [
    ("get", f"/buckets/{LONG}", None, 404),
    ("get", f"/buckets/base/channels/{LONG}", None, 404),
    ("get", f"/buckets/base/versions/{LONG}", None, 404),
    ("post", "/buckets", {"name": LONG}, 400),
    ("post", "/buckets/base/channels", {"name": LONG}, 400),
    ("post", "/tokens", {"name": LONG, "role": "viewer"}, 400),
    ("post", "/service-principals", {"name": LONG, "role": "viewer"}, 400),
    ("delete", f"/tokens/{LONG}", None, 404),
    ("delete", f"/service-principals/{LONG}", None, 404),
    ("get", f"/webhooks/{LONG}", None, 404),
    ("get", f"/revocations/{LONG}", None, 404),
    ("post", "/buckets/base/revocations", {"reason": "x", "filter": {"external_ids": [LONG]}}, 400),
    ("post", "/revocations", {"reason": "x", "dry_run": True, "filter": {"external_ids": ["😀" * 512]}}, 200),
])
def test_each_key_a_request_names_is_checked_against_dynamodb_limits(dynamodb_limits, method, path, body, status):
    """Never DynamoDB's refusal: a name no key can hold names nothing (404) or is refused (400);
    a filter that no key can hold selects nothing."""
    registry = dynamodb_limits
    registry.upload("base/m.json", manifest({"packer_run_uuid": "run-1"}))
    answer = registry.send(method, path, body, status) if method != "get" else registry.get(path, status)
    assert DYNAMODB_TEXT not in str(answer), answer
    if status == 200:
        assert answer["versions"] == [], answer


@pytest.mark.parametrize("field, change", [
    ("source_external_identifier", {"source_external_identifier": "ami-" + LONG}),
    ("parent_version_id", {"parent_version_id": LONG}),
    ("packer_run_uuid", {"packer_run_uuid": LONG}),
])
def test_hcp_hints_that_no_key_can_hold_are_looked_up_safely(dynamodb_limits, field, change):
    """A parent named by what no key can hold is found nowhere: the version completes, its
    parent unresolved or its source untracked, as for any parent the registry does not hold."""
    api, build = publishing(dynamodb_limits, "fp-" + field.replace("_", "-"))
    assert api.ok("PATCH", build, {**DONE, **change})["build"]["status"] == "BUILD_DONE"
    assert dynamodb_limits.get("/buckets/base/versions/v1")["status"] == "active"


def test_hcp_ids_no_key_can_hold_name_nothing(dynamodb_limits):
    """A fingerprint, organization, project or build id, an SBOM name: answered as any that
    names nothing (a fingerprint without a version is code 10 in HCP Packer), or refused."""
    api, build = publishing(dynamodb_limits, "fp-1")
    for path, status, code in ((f"buckets/base/versions/{LONG}", 409, 10),
                               (f"buckets/base/versions/{LONG}/builds", 409, 10),
                               (f"buckets/base/versions/fp-1/builds/{LONG}", 404, 5),
                               (f"/resource-manager/2019-12-10/organizations/{LONG}", 404, 5),
                               (f"/resource-manager/2019-12-10/projects/{LONG}", 404, 5)):
        assert DYNAMODB_TEXT not in api.fails("GET", path, status=status, code=code)["message"]
    answer = api.fails("PUT", f"{build}/sboms", {"name": LONG, "format": "SPDX", "compressed_sbom": "AAAA"},
                       status=400, code=3)
    assert "SBOM name" in answer["message"] and "1 to 40" in answer["message"]


@pytest.mark.parametrize("refusal, words", [
    ("Size of hashkey has exceeded the maximum size limit of2048 bytes", "too long to be part of a key"),
    ("Item size has exceeded the maximum allowed size", "400 KB item limit"),
])
def test_a_size_dynamodb_refuses_is_answered_in_the_registrys_words(registry, refusal, words):
    """The backstop behind every check: whatever still reaches DynamoDB past a limit is a 400
    that says which limit, never DynamoDB's text."""
    Faults().fail("TransactWriteItems", {"Code": "ValidationException", "Message": f"{DYNAMODB_TEXT}: {refusal}"})
    message = bad(registry, "post", "/buckets", {"name": "base"}, words)
    assert DYNAMODB_TEXT not in message
