"""What the HCP door answers for what it does not serve (issue 23, item 2): another path under
`/packer/`, `/resource-manager/` or `/2019-12-10/` is HTTP 404 code 5, another method HTTP 501
code 12, and a request with no `Authorization` header HTTP 401 code 16, all in the HCP error
shape, never the native one (chalicelib/api/hcp/unserved.py). Through the Chalice test client
(its local gateway, as `make run`'s), and on the API Gateway resource tree Chalice deploys
(its swagger document, walked as API Gateway routes a request)."""

from __future__ import annotations

import json
import re

import pytest

import app as application
from chalicelib.api import hcp
from chalicelib.api.hcp import unserved
from support import ADMIN_TOKEN, Hcp, assert_error_shape

SAMPLE = {"organization_id": "o", "project_id": "p", "bucket_name": "base", "fingerprint": "f1", "build_id": "b1",
          "channel_name": "latest", "task_type": "validation", "id": "x", "sbom_name": "os",
          "enforced_block_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "enforced_block_version_id": "01ARZ3NDEKTSV4RRFFQ69G5FAW"}


@pytest.fixture
def api(registry) -> Hcp:
    return Hcp(registry)


def raw(api: Hcp, method: str, path: str, token: str | None = ADMIN_TOKEN) -> tuple[int, dict, dict]:
    """A request as any HTTP client sends it, with or without a bearer token."""
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    response = getattr(api.registry.client.http, method.lower())(path, headers=headers,
                                                                body=b"{}" if method != "GET" else b"")
    return response.status_code, json.loads(response.body), response.headers


def located(template: str, api: Hcp) -> str:
    organization, project = api.prefix.split("/")[4], api.prefix.split("/")[6]
    return template.format(**{**SAMPLE, "organization_id": organization, "project_id": project})


UNKNOWN = ["/packer", "/packer/2021-04-30", "/packer/2023-01-01", "/packer/2023-01-01/organizations",
           "/resource-manager", "/resource-manager/2019-12-10", "/2019-12-10", "/2019-12-10/resource-manager",
           "/packer/2023-01-01/organizations/{organization_id}/projects/{project_id}/nonsense",
           "/packer/2023-01-01/organizations/{organization_id}/projects/{project_id}/buckets/base/nonsense",
           "/packer/2023-01-01/organizations/{organization_id}/projects/{project_id}/runtasks/config/extra",
           "/packer/2023-01-01/organizations/{organization_id}/projects/{project_id}/buckets/base/versions/f1/x"]


def test_a_path_no_hcp_route_has_is_404_code_5_with_or_without_a_token(api):
    for template in UNKNOWN:
        path = located(template, api)
        for method in unserved.METHODS:
            for token in (ADMIN_TOKEN, None, "not-a-token"):
                status, answer, _ = raw(api, method, path, token)
                assert (status, answer.get("code")) == (404, 5), (method, path, token, status, answer)
                assert_error_shape(answer)
                assert "error" not in answer  # never the native shape


def test_a_method_a_route_does_not_have_is_501_code_12_naming_those_it_has(api):
    served = unserved.served()
    methods_of: dict[str, set[str]] = {}
    for method, path in served:
        methods_of.setdefault(path, set()).add(method)
    assert len(methods_of) >= 20
    for template, methods in methods_of.items():
        for method in set(unserved.METHODS) - methods:
            for token in (ADMIN_TOKEN, None):
                status, answer, headers = raw(api, method, located(template, api), token)
                assert (status, answer["code"]) == (501, 12), (method, template, answer)
                assert_error_shape(answer)
                assert headers["Allow"] == ", ".join(sorted(methods)), (method, template, headers)


def test_no_authorization_header_is_401_code_16_on_every_hcp_route(api):
    for method, template in unserved.served():
        status, answer, _ = raw(api, method, located(template, api), None)
        assert (status, answer["code"]) == (401, 16), (method, template, status, answer)
        assert_error_shape(answer)
        assert "Authorization: Bearer" in answer["message"]


def test_the_native_api_keeps_its_own_shape(api):
    status, answer, _ = raw(api, "GET", "/buckets", None)
    assert (status, answer["error"]) == (401, "Unauthorized") and "code" not in answer
    status, answer, _ = raw(api, "POST", "/buckets/base/versions", ADMIN_TOKEN)
    assert (status, answer["error"]) == (405, "MethodNotAllowed") and "code" not in answer


# ---- on API Gateway: the resource tree Chalice deploys ------------------------------------------

def swagger_paths() -> dict[str, set[str]]:
    """The REST API's resources and their methods, as `chalice deploy` creates them."""
    from chalice.deploy.swagger import SwaggerGenerator

    arn = "arn:aws:lambda:us-east-1:111111111111:function:api"
    deployed = {"api_handler_arn": arn, "api_handler_name": "api",
                "lambda_functions": {"api-registry_auth": {"arn": f"{arn}-registry_auth"}}}
    document = SwaggerGenerator("us-east-1", deployed).generate_swagger(application.app)
    return {path: {m.upper() for m in spec if m != "options"} for path, spec in document["paths"].items()}


def gateway_route(paths: dict[str, set[str]], request_path: str) -> str | None:
    """The resource API Gateway (REST) matches a path to, walking its tree one segment at a
    time: a literal child first, else the one variable child, else a greedy `{proxy+}` child
    (which takes the rest); no going back up. None: no resource (its MISSING_AUTHENTICATION_TOKEN)."""
    children: dict[str, set[str]] = {}  # a resource's path ("" the root) -> its children's segments
    for path in paths:
        parts = path.strip("/").split("/")
        for depth, part in enumerate(parts):
            children.setdefault("".join(f"/{p}" for p in parts[:depth]), set()).add(part)
    node = ""
    segments = request_path.strip("/").split("/")
    for index, segment in enumerate(segments):
        kids = children.get(node, set())
        if segment in kids:
            node = f"{node}/{segment}"
        elif variable := [k for k in kids if k.startswith("{") and not k.endswith("+}")]:
            node = f"{node}/{variable[0]}"
        elif unserved.PROXY in kids:
            return f"{node}/{unserved.PROXY}"
        else:
            return None
        if index == len(segments) - 1:
            return node if node in paths else None
    return None


def test_api_gateway_has_a_resource_and_method_for_every_request_under_the_hcp_prefixes():
    paths = swagger_paths()
    hcp_paths = {p: m for p, m in paths.items() if hcp.serves(p)}
    for path, methods in hcp_paths.items():  # every method everywhere: API Gateway never answers itself
        assert methods == set(unserved.METHODS), (path, methods)
    parents: dict[str, set[str]] = {}
    for path in hcp_paths:  # API Gateway refuses two variable children of one resource
        parent, _, child = path.rpartition("/")
        if child.startswith("{"):
            parents.setdefault(parent, set()).add(child)
    assert not [p for p, kids in parents.items() if len(kids) > 1], parents
    samples = [t.format(**SAMPLE) for t in UNKNOWN] + [
        "/packer/a/b/c/d/e/f/g", "/resource-manager/2019-12-10/projects/p/x/y",
        "/packer/2023-01-01/organizations/o/projects/p/buckets/b/channels/c/history/x/y",
        "/packer/2023-01-01/organizations/o/projects/p/buckets/b/channels/assign/x",
        "/packer/2023-01-01/organizations/o/projects/p/enforced_blocks/bucket/b/x",
        "/2019-12-10/resource-manager/resources/iam-policy/x"]
    served = {re.sub(r"\{[^}]+\}", "{}", p) for _, p in unserved.served()}
    for request_path in samples:
        matched = gateway_route(paths, request_path)
        assert matched is not None and hcp.serves(matched), (request_path, matched)
        assert re.sub(r"\{[^}]+\}", "{}", matched) not in served or matched.endswith(unserved.PROXY), request_path
    # what is served is matched to its own resource
    for method, template in unserved.served():
        assert gateway_route(paths, template.format(**SAMPLE)) == template, template
