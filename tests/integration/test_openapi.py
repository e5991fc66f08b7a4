"""GET /openapi.json: a valid OpenAPI document that describes every route, and what the
real app answers (successes and errors) conforms to it."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_spec
from referencing import Registry as SchemaRegistry, Resource
from referencing.jsonschema import DRAFT202012

from support import ADMIN_TOKEN, ROOT, manifest, real_manifest, sign
from chalicelib.api import hcp, openapi, roles

DOC_URI = "urn:registry-openapi"
TOKEN_ROUTE = ("POST", "/oauth2/token")
RUN_TASK_ROUTE = ("POST", "/runtasks/hcp-terraform")  # public, but 401 without HCP Terraform's signature


def document() -> dict:
    import app

    return openapi.document(app.app.routes)


def operations() -> dict[tuple[str, str], dict]:
    return {(method.upper(), path): op for path, item in document()["paths"].items() for method, op in item.items()}


def app_routes() -> set[tuple[str, str]]:
    """The native API's routes (the HCP Packer-compatible ones are HashiCorp's API, not described here)."""
    import app

    return {(method, path) for path, methods in app.app.routes.items() for method in methods if not hcp.serves(path)}


# ---- the document itself ----------------------------------------------------------------

def test_document_is_valid_openapi():
    validate_spec(document())
    assert document()["openapi"].startswith("3.")


def test_document_describes_exactly_the_routes_of_the_app():
    assert set(operations()) == app_routes()


def test_a_route_without_a_declaration_or_a_declaration_without_a_route_fails():
    import app

    routes = app.app.routes
    extra = {**routes, "/extra": {"GET": SimpleNamespace(view_name="extra_view")}}
    with pytest.raises(openapi.Undeclared, match=r"GET /extra \(extra_view\)"):
        openapi.build(extra)
    fewer = {path: methods for path, methods in routes.items() if path != "/whoami"}
    with pytest.raises(openapi.Undeclared, match="without a route: \\['whoami'\\]"):
        openapi.build(fewer)


def test_openapi_py_writes_no_schema_by_hand():
    """Bodies' schemas come from the models: openapi.py holds no object schema of its own."""
    source = (ROOT / "chalicelib" / "api" / "openapi.py").read_text()
    for written in ('"type": "object"', '"properties"', '"additionalProperties"', '"anyOf"', "_obj("):
        assert written not in source, written


def test_every_json_answer_is_a_model():
    """Each operation's success answers a model of models.py (by reference), or, for the page
    and its assets only, a string of a non-JSON media type."""
    from pydantic import BaseModel

    from chalicelib.domain import models

    for (method, path), op in operations().items():
        successes = [code for code in op["responses"] if int(code) < 400]
        assert len(successes) == 1 or path.endswith("/revocations"), (method, path)  # a dry run answers 200
        for status in successes:
            content = op["responses"][status]["content"]
            if "application/json" not in content:
                assert path in ("/", "/static/{asset}"), (method, path)
                continue
            name = content["application/json"]["schema"]["$ref"].removeprefix("#/components/schemas/")
            assert issubclass(getattr(models, name), BaseModel), (method, path)


def test_response_models_are_closed_and_complete():
    """What `model_dump()` writes: every field (null when unset) and nothing else, except
    the fields that say they are left out (`next_token`; `filtered` and `note` on a page
    that was not filtered)."""
    schemas = document()["components"]["schemas"]
    for name in ("Bucket", "Version", "Ancestry", "AncestryLink", "Descendants", "ArtifactLookup", "ComplianceCheck",
                 "SweepReport", "ComplianceReport", "AuditEvent", "Identity", "CreatedToken", "Error",
                 "CreatedServicePrincipal", "AccessToken", "OAuthError"):
        schema = schemas[name]
        assert schema["additionalProperties"] is False, name
        assert set(schema["required"]) == set(schema["properties"]) - {"next_token"}, name
    filtered = {"next_token", "filtered", "note"}  # a list that takes filters: FilteredPage
    for name, optional in (("BucketPage", filtered), ("VersionPage", filtered), ("AuditEventPage", filtered),
                           ("ComplianceReport", {"next_token"})):
        assert set(schemas[name]["properties"]) - set(schemas[name]["required"]) == optional, name


def test_status_and_role_names_are_written_once():
    """Status and role names are the enums of chalicelib/domain/enums.py: no other module writes
    one as a string. ("revoked" is left out: it is also a finding's kind and a verdict; "none"
    too: it is also a placeholder builders write for an artifact ID.)"""
    from chalicelib.domain import enums

    names = {member.value for kind in (enums.VersionStatus, enums.IngestionStatus, enums.Role, enums.AncestryStatus)
             for member in kind} - {"revoked", "none"}
    written = []
    for path in [ROOT / "app.py", *sorted((ROOT / "chalicelib").rglob("*.py"))]:
        if path.name == "enums.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in names:
                written.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}")
    assert not written


def test_every_path_parameter_is_declared():
    for (method, path), op in operations().items():
        declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
        assert declared == set(re.findall(r"{(\w+)}", path)), (method, path)
        assert all(p["required"] for p in op.get("parameters", []) if p["in"] == "path")


def test_query_parameters_are_declared():
    ops = operations()
    query = {key: {p["name"] for p in op.get("parameters", []) if p["in"] == "query"} for key, op in ops.items()}
    for key in [("GET", "/buckets"), ("GET", "/buckets/{bucket}/versions"), ("GET", "/buckets/{bucket}/channels"),
                ("GET", "/buckets/{bucket}/channels/{channel}/history"), ("GET", "/ingestions"),
                ("GET", "/tokens"), ("GET", "/compliance/report"), ("GET", "/buckets/{bucket}/events"),
                ("GET", "/events")]:
        assert {"limit", "next_token"} <= query[key], key
    assert "status" in query[("GET", "/ingestions")]
    assert query[("GET", "/buckets/{bucket}/channels/{channel}/artifact")] == {
        "platform", "region", "component_type", "labels"}
    assert query[("GET", "/buckets/{bucket}/versions/{version}/descendants")] == {"depth", "next_token"}
    assert query[("DELETE", "/buckets/{bucket}/versions/{version}")] == {"rollback_channels"}
    assert query[("GET", "/artifacts")] == {"id"}


def test_request_bodies_come_from_the_models():
    from chalicelib.domain import models

    ops, schemas = operations(), document()["components"]["schemas"]
    expected = {
        ("POST", "/buckets"): "CreateBucket",
        ("PATCH", "/buckets/{bucket}"): "UpdateBucket",
        ("POST", "/buckets/{bucket}/channels"): "CreateChannel",
        ("PATCH", "/buckets/{bucket}/channels/{channel}"): "UpdateChannel",
        ("POST", "/buckets/{bucket}/versions/{version}/revoke"): "RevokeRequest",
        ("POST", "/buckets/{bucket}/revocations"): "BucketRevocationRequest",
        ("POST", "/revocations"): "RevocationRequest",
        ("PUT", "/buckets/{bucket}/retention"): "RetentionRequest",
        ("PUT", "/buckets/{bucket}/access"): "SetBucketAccess",
        ("POST", "/tokens"): "CreateToken",
        ("POST", "/service-principals"): "CreateServicePrincipal",
        ("POST", "/webhooks"): "CreateWebhook",
        ("POST", "/compliance/check"): "ComplianceCheckRequest",
        RUN_TASK_ROUTE: "RunTaskRequest",
    }
    for key, name in expected.items():
        body = ops[key]["requestBody"]["content"]["application/json"]["schema"]
        assert body == {"$ref": f"#/components/schemas/{name}"}, key
        if issubclass(getattr(models, name), models.Body):  # not the Terraform plan-or-list union
            assert set(schemas[name]["properties"]) == set(getattr(models, name).model_fields), name
            assert schemas[name]["additionalProperties"] is False  # extra="forbid"
    token = ("POST", "/oauth2/token")  # a form, whose unknown parameters are ignored (RFC 6749)
    assert ops[token]["requestBody"]["content"] == {
        "application/x-www-form-urlencoded": {"schema": {"$ref": "#/components/schemas/TokenRequest"}}}
    assert set(schemas["TokenRequest"]["properties"]) == {"grant_type", "audience", "client_id", "client_secret"}
    with_body = {key for key, op in ops.items() if "requestBody" in op}
    assert with_body == set(expected) | {token}


def test_security_is_bearer_except_on_the_public_routes():
    doc = document()
    assert doc["security"] == [{"bearerAuth": []}]
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {**doc["components"]["securitySchemes"]["bearerAuth"],
                                                                  "type": "http", "scheme": "bearer"}
    for key, op in operations().items():
        if key in roles.PUBLIC:
            assert op["security"] == [], key
            # the token endpoint's 401 is OAuth's invalid_client, the run task's a bad signature:
            # the credentials are in the request
            assert ("401" in op["responses"]) == (key in (TOKEN_ROUTE, RUN_TASK_ROUTE)), key
        else:
            assert "security" not in op, key  # the document-wide bearer requirement applies
            assert "401" in op["responses"], key
        # any caller may lack the role: on the project, or on the bucket (a bucket binding)
        forbidden = key not in roles.PUBLIC and roles.scope(*key) != roles.Scope.IDENTIFIED
        assert ("403" in op["responses"]) == forbidden, key


def test_every_error_response_is_the_error_shape():
    """The API's shape, except at the token endpoint: OAuth 2.0's, which the HCP clients read."""
    for key, op in operations().items():
        model = "OAuthError" if key == TOKEN_ROUTE else "Error"
        for status, response in op["responses"].items():
            if int(status) >= 400:
                error = {"application/json": {"schema": {"$ref": f"#/components/schemas/{model}"}}}
                assert response["content"] == error, (key, status)
    schemas = document()["components"]["schemas"]
    assert schemas["Error"]["required"] == ["error", "message"]
    assert schemas["OAuthError"]["required"] == ["error", "error_description"]
    assert "415" not in operations()[TOKEN_ROUTE]["responses"]


def test_document_is_built_once_and_the_module_imports_light():
    assert document() is document()
    code = ("import sys, chalicelib.api.openapi; "
            "print(sorted(m for m in sys.modules if m.startswith(('pydantic', 'chalice'))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert json.loads(out.replace("'", '"')) == ["chalicelib", "chalicelib.api", "chalicelib.api.openapi"]


def test_served_without_a_token(client):
    response = client.http.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert json.loads(response.body) == json.loads(json.dumps(document()))


# ---- the app's answers against the document ---------------------------------------------

class Conformance:
    """Calls the app through the test client and checks each answer against the document:
    its status is declared for the operation, and its body validates against that status's
    schema. Records which (method, route, status) were seen."""

    def __init__(self, client: Any) -> None:
        self.client = client
        doc = json.loads(json.dumps(document()))
        self.registry = SchemaRegistry().with_resource(DOC_URI, Resource.from_contents(doc, DRAFT202012))
        self.ops = {(m.upper(), p): op for p, item in doc["paths"].items() for m, op in item.items()}
        self.seen: set[tuple[str, str, int]] = set()

    def call(self, method: str, route: str, params: dict[str, str] | None = None, payload: Any = None,
             token: str | None = ADMIN_TOKEN, query: str = "", expect: int | None = None,
             form: str | None = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        """`form`: a form-encoded body instead of JSON; `headers` added over the defaults."""
        path = route
        for name, value in (params or {}).items():
            path = path.replace("{" + name + "}", quote(value, safe=""))
        headers = {"Content-Type": "application/json" if form is None else "application/x-www-form-urlencoded",
                   **({"Authorization": f"Bearer {token}"} if token is not None else {}), **(headers or {})}
        kwargs: dict[str, Any] = {"headers": headers}
        if method in ("POST", "PATCH", "PUT"):
            kwargs["body"] = form if form is not None else json.dumps(payload) if payload is not None else b""
        response = getattr(self.client.http, method.lower())(path + (f"?{query}" if query else ""), **kwargs)
        status = response.status_code
        op = self.ops[(method, route)]
        assert str(status) in op["responses"], (method, path, status, response.body)
        content = op["responses"][str(status)]["content"]
        media = response.headers.get("Content-Type", "").split(";")[0]
        assert media in content, (method, path, status, media)
        raw = response.body.decode() if isinstance(response.body, bytes) else response.body
        body = json.loads(raw) if media == "application/json" else raw
        pointer = "/".join(["#", "paths", route.replace("~", "~0").replace("/", "~1"), method.lower(), "responses",
                            str(status), "content", media.replace("/", "~1"), "schema"])
        validator = Draft202012Validator({"$ref": DOC_URI + pointer}, registry=self.registry)
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        assert not errors, (method, path, status, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]])
        if expect is not None:
            assert status == expect, (method, path, status, body)
        self.seen.add((method, route, status))
        return status, body


@pytest.fixture
def api(registry):
    conformance = Conformance(registry.client)
    conformance.upload = registry.upload  # type: ignore[attr-defined]
    return conformance


B, V, C = "/buckets/{bucket}", "/buckets/{bucket}/versions/{version}", "/buckets/{bucket}/channels/{channel}"


def run_task_key(client: Any) -> str:
    """The run task's HMAC key, as the HCP API answers it."""
    def get(path: str) -> Any:
        return json.loads(client.http.get(path, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).body)

    organization = get("/resource-manager/2019-12-10/organizations")["organizations"][0]["id"]
    project = get("/resource-manager/2019-12-10/projects")["projects"][0]["id"]
    return get(f"/packer/2023-01-01/organizations/{organization}/projects/{project}/runtasks/validation")["hmac_key"]


def test_answers_of_a_whole_workflow_conform(api):
    api.upload("base-image/packer-manifest.json", real_manifest("amazon-ebs-single-1.json"))
    api.upload("base-image/second.json", manifest({"custom_data": {"fingerprint": "second"}}))
    api.upload("app/packer-manifest.json", manifest({"artifact_id": "us-east-1:ami-0000000000000000a",
                                                     "custom_data": {"parent_bucket": "base-image",
                                                                     "parent_channel": "stable"}}))
    api.upload("orphan/packer-manifest.json", manifest({"artifact_id": "us-east-1:ami-0000000000000000b",
                                                        "custom_data": {"source_ami": "ami-unknown"}}))
    api.upload("junk/packer-manifest.json", b"{not json")
    base, v1 = {"bucket": "base-image"}, {"bucket": "base-image", "version": "v1"}

    _, page = api.call("GET", "/buckets", query="limit=1", expect=200)
    assert page["next_token"]
    api.call("GET", "/buckets", query=f"limit=1&next_token={page['next_token']}", expect=200)
    api.call("POST", "/buckets", payload={"name": "empty", "description": "d", "labels": {"os": "x"}}, expect=201)
    api.call("PATCH", B, {"bucket": "empty"}, payload={"labels": {"team": "a"}}, expect=200)
    api.call("GET", B, base, expect=200)
    api.call("GET", f"{B}/versions", base, expect=200)
    for filters in ("status=active", "platform=aws", "region=us-east-1", "labels=os:x", "channel=latest"):
        _, filtered = api.call("GET", f"{B}/versions", base, query=filters, expect=200)
    assert filtered["filtered"] is True  # channel: a filtered page, which the document describes too
    _, filtered = api.call("GET", "/buckets", query="prefix=e&labels=os:x", expect=200)
    assert filtered["filtered"] is True
    _, version = api.call("GET", V, v1, expect=200)
    assert version["builds"]
    api.call("GET", V, {"bucket": "base-image", "version": "second"}, expect=200)

    _, created = api.call("POST", f"{B}/channels", base, payload={"name": "stable", "version": "v1"}, expect=201)
    assert created["version"] == "v1"
    api.call("PATCH", C, {**base, "channel": "stable"}, payload={"description": "the stable one"}, expect=200)
    api.call("GET", f"{B}/channels", base, expect=200)
    api.call("GET", C, {**base, "channel": "latest"}, expect=200)
    api.call("GET", f"{C}/history", {**base, "channel": "stable"}, expect=200)
    _, served = api.call("GET", f"{C}/artifact", {**base, "channel": "stable"}, query="platform=aws&region=us-east-1",
                         expect=200)
    api.call("GET", "/artifacts/{external_id}", {"external_id": served["external_id"]}, expect=200)
    api.call("GET", "/artifacts", query=f"id={served['external_id']}", expect=200)
    api.call("POST", "/compliance/check", payload={"artifacts": [served["external_id"], "ami-nope"]}, expect=200)
    plan = json.loads((ROOT / "tests/fixtures/terraform-plan.json").read_text())
    api.call("POST", "/compliance/check", payload=plan, expect=200)

    # app was built on base-image's stable channel; moving it makes app out of date.
    api.upload("app/packer-manifest.json", manifest({"artifact_id": "us-east-1:ami-0000000000000000a",
                                                     "custom_data": {"parent_bucket": "base-image",
                                                                     "parent_channel": "stable"}}))
    api.call("PATCH", C, {**base, "channel": "stable"}, payload={"version": "v2"}, expect=200)
    _, swept = api.call("POST", "/compliance/sweep", expect=200)
    # app's hint found no version on stable when app was recorded; the sweep resolves it now
    assert [(r["bucket"], r["parent"]["version"]) for r in swept["parents_resolved"]] == [("app", "v2")]
    _, report = api.call("GET", "/compliance/report", expect=200)
    assert report["last_sweep"] == swept
    api.call("GET", "/compliance/report", query="limit=1", expect=200)
    api.call("GET", f"{V}/ancestry", {"bucket": "app", "version": "v1"}, expect=200)
    api.call("GET", f"{V}/ancestry", {"bucket": "orphan", "version": "v1"}, expect=200)
    api.call("GET", f"{V}/descendants", {"bucket": "base-image", "version": "v1"}, query="depth=3", expect=200)

    # revocation: scheduled, restored, now (with the cascade to app), the consumer query's 409
    api.call("POST", f"{V}/revoke", {"bucket": "base-image", "version": "v2"}, payload={"reason": "later",
                                                                                        "revoke_in": "2d"}, expect=200)
    api.call("POST", f"{V}/restore", {"bucket": "base-image", "version": "v2"}, expect=200)
    api.call("POST", f"{V}/revoke", {"bucket": "base-image", "version": "v2"},
             payload={"reason": "CVE", "disable_rollback_channels": True}, expect=200)
    api.call("GET", f"{C}/artifact", {**base, "channel": "stable"}, query="platform=aws", expect=409)
    _, report = api.call("GET", "/compliance/report", expect=200)
    assert [(c["channel"], c["revocation"]["reason"]) for c in report["channels_serving_revoked"]] == [("stable", "CVE")]
    _, tree = api.call("GET", f"{V}/descendants", {"bucket": "base-image", "version": "v2"}, expect=200)
    assert tree["root"]["revocation"]["revocation_type"] == "direct"
    api.call("GET", f"{V}/descendants", {"bucket": "base-image", "version": "v2"}, expect=200)
    api.call("GET", "/artifacts/{external_id}", {"external_id": "ami-0000000000000000a"}, expect=200)
    api.call("POST", "/compliance/check", payload={"artifacts": ["ami-0000000000000000a"]}, expect=200)
    api.call("POST", f"{V}/revoke", {"bucket": "base-image", "version": "v2"}, payload={"reason": "again"},
             expect=409)
    api.call("DELETE", V, {"bucket": "base-image", "version": "v2"}, expect=409)
    api.call("DELETE", V, {"bucket": "base-image", "version": "v2"}, query="rollback_channels=true", expect=200)
    api.call("DELETE", C, {**base, "channel": "stable"}, expect=200)
    api.call("DELETE", C, {**base, "channel": "latest"}, expect=409)

    # bulk revocation: a dry run (200), a job (202) and its progress
    orphan, old = {"bucket": "orphan"}, {"reason": "old", "filter": {"created_before": "2100-01-01T00:00:00Z"}}
    _, preview = api.call("POST", f"{B}/revocations", orphan, payload={**old, "dry_run": True}, expect=200)
    assert [v["version"] for v in preview["versions"]] == ["v1"]
    _, job = api.call("POST", f"{B}/revocations", orphan, payload=old, expect=202)
    api.call("GET", "/revocations/{revocation_id}", {"revocation_id": job["id"]}, expect=200)
    api.call("POST", "/revocations", payload={"reason": "r", "buckets": ["orphan"],
                                              "filter": {"external_ids": ["ami-nope"]}}, expect=202)
    # a retention policy: set, read, previewed, applied by a sweep, removed
    api.call("PUT", f"{B}/retention", base, payload={"keep_newest": 1, "action": "revoke"}, expect=200)
    api.call("PUT", f"{B}/retention", base, payload={"action": "revoke"}, expect=400)
    api.call("GET", f"{B}/retention", base, expect=200)
    _, preview = api.call("GET", f"{B}/retention/preview", base, query="limit=1", expect=200)
    assert preview["versions"]
    api.call("POST", "/compliance/sweep", expect=200)
    api.call("DELETE", f"{B}/retention", base, expect=200)
    api.call("GET", f"{B}/retention", base, expect=404)
    api.call("GET", f"{B}/retention/preview", base, expect=404)

    api.call("GET", "/ingestions", expect=200)
    api.call("GET", "/ingestions", query="status=rejected", expect=200)
    _, events = api.call("GET", f"{B}/events", base, expect=200)
    assert events["items"]
    api.call("GET", f"{B}/events", base, query="limit=2", expect=200)
    api.call("GET", "/events", expect=200)
    _, filtered = api.call("GET", f"{B}/events", base, query="actor=nobody&created_after=2000-01-01T00:00:00Z",
                           expect=200)
    assert filtered["filtered"] is True
    api.call("GET", "/ingestions", query="created_before=2999-01-01T00:00:00Z", expect=200)
    _, me = api.call("GET", "/whoami", expect=200)
    assert me["role"] == "admin"
    _, token = api.call("POST", "/tokens", payload={"name": "viewer-1", "role": "viewer"}, expect=201)
    api.call("GET", "/tokens", expect=200)
    _, policy = api.call("GET", f"{B}/access", base, expect=200)
    api.call("PUT", f"{B}/access", base, payload={"bindings": [{"role": "admin", "members": [token["id"]]}],
                                                  "etag": policy["etag"]}, expect=200)
    api.call("PUT", f"{B}/access", base, payload={"bindings": [], "etag": policy["etag"]}, expect=409)
    api.call("GET", f"{B}/access", base, token=token["secret"], expect=200)
    api.call("GET", "/buckets", token=token["secret"], expect=200)
    api.call("POST", "/buckets", payload={"name": "nope"}, token=token["secret"], expect=403)
    api.call("DELETE", "/tokens/{token_id}", {"token_id": token["id"]}, expect=200)
    api.call("GET", "/buckets", token=token["secret"], expect=401)
    _, principal = api.call("POST", "/service-principals", payload={"name": "packer", "role": "viewer"}, expect=201)
    api.call("GET", "/service-principals", expect=200)
    credentials = f"client_id={principal['client_id']}&client_secret={principal['client_secret']}"
    _, issued = api.call("POST", "/oauth2/token", token=None, form=f"grant_type=client_credentials&{credentials}",
                         expect=200)
    api.call("GET", "/buckets", token=issued["access_token"], expect=200)
    api.call("DELETE", "/service-principals/{client_id}", {"client_id": principal["client_id"]}, expect=200)
    _, hook = api.call("POST", "/webhooks", payload={"url": "http://127.0.0.1:9/", "events": ["bucket.created"]},
                       expect=201)
    api.call("GET", "/webhooks", expect=200)
    api.call("GET", "/webhooks/{webhook_id}", {"webhook_id": hook["id"]}, expect=200)
    api.call("GET", "/webhooks/{webhook_id}/deliveries", {"webhook_id": hook["id"]}, expect=200)
    api.call("DELETE", "/webhooks/{webhook_id}", {"webhook_id": hook["id"]}, expect=200)
    api.call("DELETE", B, {"bucket": "empty"}, expect=200)
    api.call("GET", "/", token=None, expect=200)
    api.call("GET", "/openapi.json", token=None, expect=200)
    api.call("GET", "/static/{asset}", {"asset": "favicon.svg"}, token=None, expect=200)
    api.call("GET", "/static/{asset}", {"asset": "nope.exe"}, token=None, expect=404)
    verification = json.dumps({"payload_version": 1, "access_token": "test-token", "stage": "test"})
    api.call("POST", "/runtasks/hcp-terraform", token=None, payload=json.loads(verification), expect=200,
             headers={"X-TFC-Task-Signature": sign(run_task_key(api.client), verification.encode())})
    succeeded = {(method, route) for method, route, status in api.seen if status < 300}
    assert succeeded == set(api.ops), set(api.ops) - succeeded


def test_error_answers_conform(api):
    api.upload("base-image/packer-manifest.json", real_manifest("amazon-ebs-single-1.json"))
    base = {"bucket": "base-image"}
    api.call("GET", "/buckets", token=None, expect=401)
    api.call("GET", "/buckets", token="not-a-token", expect=401)
    api.call("GET", "/buckets", query="limit=0", expect=400)
    api.call("GET", "/buckets", query="next_token=garbage", expect=400)
    api.call("POST", "/buckets", payload={"name": "-bad"}, expect=400)
    api.call("POST", "/buckets", payload={"name": "base-image"}, expect=409)
    api.call("GET", B, {"bucket": "missing"}, expect=404)
    api.call("PATCH", B, {"bucket": "missing"}, payload={}, expect=404)
    api.call("GET", f"{B}/versions", {"bucket": "missing"}, expect=404)
    api.call("GET", V, {**base, "version": "v99"}, expect=404)
    api.call("DELETE", V, {**base, "version": "v1"}, query="rollback_channels=maybe", expect=400)
    api.call("POST", f"{V}/revoke", {**base, "version": "v1"}, payload={"reason": ""}, expect=400)
    api.call("POST", f"{V}/revoke", {**base, "version": "v1"}, payload={"reason": "x", "revoke_in": "soon"},
             expect=400)
    api.call("POST", f"{V}/restore", {**base, "version": "v1"}, expect=409)
    api.call("GET", f"{V}/descendants", {**base, "version": "v1"}, query="depth=0", expect=400)
    api.call("POST", f"{B}/channels", base, payload={"name": "latest"}, expect=409)
    api.call("POST", f"{B}/channels", {"bucket": "missing"}, payload={"name": "x"}, expect=404)
    api.call("PATCH", f"{C}", {**base, "channel": "latest"}, payload={"version": "v1"}, expect=409)
    api.call("GET", f"{C}/history", {**base, "channel": "missing"}, expect=404)
    api.call("GET", f"{C}/artifact", {**base, "channel": "latest"}, expect=400)
    api.call("GET", f"{C}/artifact", {**base, "channel": "latest"}, query="platform=gcp", expect=404)
    api.call("GET", f"{C}/artifact", {**base, "channel": "latest"}, query="platform=aws&labels=nocolon", expect=400)
    api.call("GET", "/artifacts/{external_id}", {"external_id": "ami-missing"}, expect=404)
    api.call("GET", "/artifacts", expect=400)
    api.call("POST", "/compliance/check", payload=[1, 2], expect=400)
    api.call("POST", "/compliance/check", payload={"artifacts": [""]}, expect=400)
    api.call("GET", "/ingestions", query="status=odd", expect=400)
    api.call("POST", "/tokens", payload={"name": "x", "role": "root"}, expect=400)
    api.call("DELETE", "/tokens/{token_id}", {"token_id": "0123456789abcdef"}, expect=404)
    api.call("POST", "/service-principals", payload={"name": "registry", "role": "viewer"}, expect=400)
    api.call("DELETE", "/service-principals/{client_id}", {"client_id": "0" * 32}, expect=404)
    api.call("POST", "/oauth2/token", token=None, form="grant_type=password", expect=400)
    api.call("POST", "/oauth2/token", token=None, form="grant_type=client_credentials&client_id=x&client_secret=y",
             expect=401)
    api.call("POST", "/oauth2/token", token=None, form="grant_type=client_credentials",
             headers={"Content-Type": "text/plain"}, expect=400)
    api.call("POST", "/runtasks/hcp-terraform", token=None, payload={"access_token": "x"}, expect=401)
    not_a_request = json.dumps({"stage": "post_plan"})  # signed, but no access_token
    api.call("POST", "/runtasks/hcp-terraform", token=None, payload=json.loads(not_a_request), expect=400,
             headers={"X-TFC-Task-Signature": sign(run_task_key(api.client), not_a_request.encode())})


# ---- defects found while fuzzing, fixed -----------------------------------------------

@pytest.mark.parametrize("path", ["/buckets", "/"])
def test_an_undeclared_method_is_405(client, path):
    response = client.http.put(path, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, body=b"{}")
    assert response.status_code == 405, (response.status_code, response.body)
    assert set(json.loads(response.body)) == {"error", "message"}


def test_an_empty_token_expiry_is_refused(registry):
    registry.send("post", "/tokens", {"name": "no-expiry", "role": "viewer", "expires_at": ""}, status=400)


@pytest.mark.parametrize("actions", [True, 5])
def test_a_plan_with_non_list_actions_is_a_400(registry, actions):
    plan = {"resource_changes": [{"mode": "managed", "change": {"actions": actions, "after": {"ami": "ami-1"}}}]}
    registry.send("post", "/compliance/check", plan, status=400)
