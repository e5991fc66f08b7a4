"""Bucket-level access (issue 23, item 3): a token or service principal bound to a bucket as
viewer, contributor or admin holds that role there (the higher of it and its project role);
every route of both doors judges it, lists and lookups show only the buckets it may see, and
the bindings are set through `PUT /buckets/{bucket}/access` or the HCP IAM policy routes,
audited, and go with the credential or the bucket they bind."""

from __future__ import annotations

import json
import re
import string
from typing import Callable

import pytest

import app as application
from chalicelib.api import hcp, roles
from chalicelib.domain.access import allows
from chalicelib.runtime import aws
from support import RM, Hcp, call, count_calls, manifest, mint, race

# The scoped principal: no project role; viewer on alpha, contributor on bravo, nothing on charlie.
HELD = {"alpha": "viewer", "bravo": "contributor", "charlie": "none"}
AMI = {"alpha": "ami-0a1a1a1a1a1a1a1a1", "bravo": "ami-0b1b1b1b1b1b1b1b1", "charlie": "ami-0c1c1c1c1c1c1c1c1",
       "charlie-2": "ami-0c2c2c2c2c2c2c2c2"}
IAM_POLICY = "/2019-12-10/resource-manager/resources/iam-policy"
# The routes without a bucket in their path that a caller with bucket bindings only may call:
# who it is, the organization and project, the registry, and the lists and lookups across
# buckets (which answer only about its buckets). Every other such route needs a project role.
WITHOUT_A_BUCKET = {
    ("GET", "/whoami"), ("GET", "/buckets"), ("GET", "/artifacts/{external_id}"), ("GET", "/artifacts"),
    ("POST", "/compliance/check"), ("GET", "/revocations/{revocation_id}"),
    ("GET", f"{RM}/organizations"), ("GET", f"{RM}/organizations/{{id}}"), ("GET", f"{RM}/projects"),
    ("GET", f"{RM}/projects/{{id}}"), ("GET", "P/registry"), ("GET", "P/buckets"),
    ("POST", "P/_search/external_artifact"), ("GET", IAM_POLICY),
    ("GET", "/iam/2019-12-10/organizations/{organization_id}/principals"),
}
P = "/packer/2023-01-01/organizations/{organization_id}/projects/{project_id}"


def bind(registry, bucket: str, *bindings: tuple[str, list[str]], etag: str | None = None, status: int = 200) -> dict:
    body = {"bindings": [{"role": role, "members": members} for role, members in bindings],
            **({"etag": etag} if etag is not None else {})}
    return registry.send("put", f"/buckets/{bucket}/access", body, status)


def token_id(secret: str) -> str:
    return secret.split(".")[0]


def three_buckets(registry) -> None:
    """alpha and bravo, each v1 on `production`; charlie v1 built on alpha v1 and v2 on bravo
    v1 (their source AMIs), with a channel, a retention policy and a bulk revocation job."""
    for bucket in ("alpha", "bravo"):
        registry.upload(f"{bucket}/m.json", manifest({"packer_run_uuid": f"{bucket}-run",
                                                      "artifact_id": f"us-east-1:{AMI[bucket]}"}))
        registry.send("post", f"/buckets/{bucket}/channels", {"name": "production", "version": "v1"}, 201)
    registry.upload("charlie/m1.json", manifest({"packer_run_uuid": "charlie-run-1",
                                                 "artifact_id": f"us-east-1:{AMI['charlie']}",
                                                 "custom_data": {"source_ami": AMI["alpha"]}}))
    registry.upload("charlie/m2.json", manifest({"packer_run_uuid": "charlie-run-2",
                                                 "artifact_id": f"us-east-1:{AMI['charlie-2']}",
                                                 "custom_data": {"source_ami": AMI["bravo"]}}))
    assert [p["bucket"] for p in registry.get("/buckets/charlie/versions/v1")["parents"]] == ["alpha"]
    assert [p["bucket"] for p in registry.get("/buckets/charlie/versions/v2")["parents"]] == ["bravo"]
    registry.send("post", "/buckets/charlie/channels", {"name": "production", "version": "v1"}, 201)
    registry.send("put", "/buckets/charlie/retention", {"keep_newest": 5, "action": "revoke"})


def scoped(registry) -> str:
    """A token with no project role, viewer on alpha and contributor on bravo; its secret."""
    secret = mint(registry, "none", name="scoped")
    bind(registry, "alpha", ("viewer", [token_id(secret)]))
    bind(registry, "bravo", ("contributor", [token_id(secret)]))
    return secret


# ---- item 3's sentence: revoke in B, not in A, nothing of C --------------------------------

def test_a_viewer_on_a_and_contributor_on_b_revokes_in_b_not_in_a_and_sees_nothing_of_c(registry):
    three_buckets(registry)
    secret = scoped(registry)
    client = registry.client

    status, body = call(client, "POST", "/buckets/alpha/versions/v1/revoke", secret, {"reason": "no"})
    assert status == 403 and "needs the contributor role on bucket 'alpha'" in body["message"], body
    status, body = call(client, "POST", "/buckets/bravo/versions/v1/revoke", secret, {"reason": "CVE-1"})
    assert (status, body["status"]) == (200, "revoked"), body
    assert registry.get("/buckets/charlie/versions/v2")["status"] == "revoked"  # the cascade still reaches it

    for path in ("/buckets/charlie", "/buckets/charlie/versions", "/buckets/charlie/channels/production/artifact"
                 "?platform=aws", "/buckets/nonexistent"):  # the same 403 whether the bucket exists or not
        status, body = call(client, "GET", path, secret)
        assert status == 403 and "needs the viewer role on bucket" in body["message"], (path, body)
    listed = call(client, "GET", "/buckets", secret)[1]
    assert [b["name"] for b in listed["items"]] == ["alpha", "bravo"], listed
    assert call(client, "GET", f"/artifacts/{AMI['charlie']}", secret)[0] == 404
    assert call(client, "GET", f"/artifacts/{AMI['alpha']}", secret)[1]["bucket"] == "alpha"
    checked = call(client, "POST", "/compliance/check", secret, {"artifacts": [AMI["charlie"], AMI["alpha"]]})[1]
    assert [r["verdict"] for r in checked["results"]] == ["unknown", "ok"], checked
    assert call(client, "GET", "/buckets/alpha/versions/v1/ancestry", secret)[1]["children"] == []
    tree = call(client, "GET", "/buckets/alpha/versions/v1/descendants", secret)[1]
    assert (tree["count"], tree["root"]["children"]) == (0, []), tree
    assert [c["bucket"] for c in registry.get("/buckets/alpha/versions/v1/ancestry")["children"]] == ["charlie"]
    assert call(client, "GET", "/whoami", secret)[1]["buckets"] == {"alpha": "viewer", "bravo": "contributor"}


def test_every_route_of_both_doors_judges_the_bucket_binding(registry):
    """Each route, with each of alpha (viewer), bravo (contributor) and charlie (nothing) where
    it names a bucket: refused (403) exactly when the role the route needs is not held there,
    and no answer to a request that does not name charlie says anything of it."""
    three_buckets(registry)
    secret = scoped(registry)
    api = Hcp(registry)
    organization, project = (api.ok("GET", f"{RM}/organizations")["organizations"][0]["id"],
                             api.ok("GET", f"{RM}/projects")["projects"][0]["id"])
    prefix = P.format(organization_id=organization, project_id=project)
    versions = {b: registry.get(f"/buckets/{b}/versions/v1") for b in HELD}
    job = registry.send("post", "/buckets/charlie/revocations",
                        {"reason": "old", "filter": {"created_before": "2000-01-01T00:00:00Z"}}, 202)
    # reads first; a bucket's deletion (a contributor's) last, as it takes the bindings with it
    routes = sorted((r for r in served_routes() if r not in roles.PUBLIC),
                    key=lambda r: (r[0] == "DELETE" and r[1].rstrip("}").endswith(("{bucket", "{bucket_name")),
                                   r[0] != "GET", r[1]))
    walked, gone = 0, set()
    for method, template in routes:
        in_bucket = "{bucket}" in template or "{bucket_name}" in template
        deletes_bucket = method == "DELETE" and template.rstrip("}").endswith(("{bucket", "{bucket_name"))
        for bucket in ([b for b in HELD if b not in gone] if in_bucket else [None]):
            version = versions[bucket or "alpha"]
            values = {"bucket": bucket, "bucket_name": bucket, "version": "v1", "fingerprint": version["fingerprint"],
                      "build_id": version["builds"][0]["id"], "channel": "production", "channel_name": "production",
                      "external_id": AMI["charlie"], "revocation_id": job["id"], "organization_id": organization,
                      "project_id": project, "id": organization if "organizations/{id}" in template else project,
                      "token_id": "0123456789abcdef", "client_id": "0" * 32, "webhook_id": "0123456789abcdef",
                      "task_type": "validation"}
            fields = [name for _, name, _, _ in string.Formatter().parse(template) if name]
            path = template.format(**{name: values.get(name, "x") for name in fields})
            query = {"/buckets/{bucket}/channels/{channel}/artifact": "?platform=aws",
                     "/artifacts": f"?id={AMI['charlie']}",
                     IAM_POLICY: f"?resource_name=packer/project/{project}/bucket/alpha"}.get(template, "")
            status, body = call(registry.client, method, path + query, secret, None if method == "GET" else {})
            walked += 1
            if in_bucket:
                refused = not allows(HELD[bucket], roles.required_role(method, template) or "none")
            else:
                refused = (method, template.replace(prefix, "P").replace(P, "P")) not in WITHOUT_A_BUCKET
            assert (status == 403) == refused, (method, path, status, body)
            if deletes_bucket and status == 200:
                gone.add(bucket)  # deleted, bindings and all: no route of either door is walked on it again
            if hcp.serves(template) and status == 403:
                assert body["code"] == 7, body
            if bucket != "charlie":
                assert "charlie" not in json.dumps(body), (method, path, body)
    assert walked > 100


def test_lists_and_lookups_across_buckets_answer_about_the_callers_buckets_only(registry):
    three_buckets(registry)
    secret = scoped(registry)
    api = Hcp(registry).as_token(secret)
    client = registry.client
    names = [b["name"] for b in api.ok("GET", "buckets")["buckets"]]
    assert names == ["alpha", "bravo"]
    first = call(client, "GET", "/buckets?limit=1", secret)[1]
    second = call(client, "GET", f"/buckets?limit=1&next_token={first['next_token']}", secret)[1]
    assert ([b["name"] for b in first["items"]], [b["name"] for b in second["items"]]) == (["alpha"], ["bravo"])
    assert "next_token" not in second
    assert call(client, "GET", f"/buckets?next_token={registry.get('/buckets?limit=1')['next_token']}", secret)[0] \
        == 400  # a token of the whole list opens no other
    assert [b["name"] for b in call(client, "GET", "/buckets?prefix=b", secret)[1]["items"]] == ["bravo"]
    # latest is restricted: seen where the caller contributes (bravo), not where it views (alpha)
    listed = {b["name"]: b["latest_version"] for b in first["items"] + second["items"]}
    assert listed == {"alpha": None, "bravo": "v1"}, listed
    relations = api.ok("GET", "buckets/alpha/ancestry")["relations"]
    assert relations == [], relations
    assert Hcp(registry).ok("GET", "buckets/alpha/ancestry")["relations"]  # an admin sees charlie built on it
    preview = call(client, "POST", "/buckets/bravo/revocations", secret,
                   {"reason": "x", "dry_run": True, "filter": {"created_before": "2100-01-01T00:00:00Z"}})[1]
    assert ([v["version"] for v in preview["versions"]], preview["descendants"]) == (["v1"], []), preview
    status, body = call(client, "POST", "/buckets/bravo/revocations", secret,
                        {"reason": "x", "dry_run": True, "filter": {"parent": {"bucket": "charlie", "version": "v1"}}})
    assert (status, body["message"]) == (404, "filter.parent: bucket 'charlie' has no version 'v1'"), body
    job = registry.send("post", "/buckets/charlie/revocations",
                        {"reason": "x", "filter": {"created_before": "2000-01-01T00:00:00Z"}}, 202)
    assert call(client, "GET", f"/revocations/{job['id']}", secret)[0] == 404


# ---- setting and reading bindings ----------------------------------------------------------

def test_bindings_are_set_with_the_etag_read_and_audited(registry):
    registry.send("post", "/buckets", {"name": "web"}, 201)
    ci = registry.send("post", "/tokens", {"name": "ci", "role": "none"}, 201)
    packer = registry.send("post", "/service-principals", {"name": "packer", "role": "viewer"}, 201)
    empty = registry.get("/buckets/web/access")
    assert empty == {"bucket": "web", "bindings": [], "etag": "0", "updated_at": None, "updated_by": None}
    set_ = bind(registry, "web", ("admin", [packer["client_id"]]), ("viewer", [ci["id"], packer["client_id"]]),
                etag="0")
    assert set_["etag"] == "1" and set_["updated_by"] == "bootstrap-admin"
    as_token = {"id": ci["id"], "type": "token", "name": "ci"}
    as_principal = {"id": packer["client_id"], "type": "service_principal", "name": "packer"}
    assert set_["bindings"] == [  # members by id
        {"role": "viewer", "members": sorted([as_token, as_principal], key=lambda m: m["id"])},
        {"role": "admin", "members": [as_principal]}]
    assert registry.get("/buckets/web/access") == set_
    stale = bind(registry, "web", ("viewer", [ci["id"]]), etag="0", status=409)
    assert "changed since etag '0' was read (it is 1 now)" in stale["message"], stale
    assert bind(registry, "web", ("contributor", [ci["id"]]))["etag"] == "2"  # no etag: over whatever is there
    event = registry.get("/buckets/web/events")["items"][0]
    assert (event["action"], event["before"], event["after"]) == (
        "bucket.access_updated", {"bindings": {"viewer": sorted([ci["id"], packer["client_id"]]),
                                               "admin": [packer["client_id"]]}},
        {"bindings": {"contributor": [ci["id"]]}}), event
    assert call(registry.client, "GET", "/whoami", ci["secret"])[1]["buckets"] == {"web": "contributor"}


@pytest.mark.parametrize("bindings, message", [
    ([("viewer", ["0123456789abcdef"])], "no token or service principal has the id '0123456789abcdef'"),
    ([("viewer", ["not-an-id"])], "bindings.0.members.0: String should match pattern"),
    ([("owner", ["0123456789abcdef"])], "bindings.0.role: Input should be 'viewer', 'contributor' or 'admin'"),
    ([("viewer", [f"{n:016x}" for n in range(41)])], "at most 40 members"),
])
def test_a_policy_that_cannot_be_is_a_400_naming_why(registry, bindings, message):
    registry.send("post", "/buckets", {"name": "web"}, 201)
    answer = bind(registry, "web", *bindings, status=400)
    assert message in answer["message"], answer
    assert registry.get("/buckets/web/access")["etag"] == "0"


def test_a_credential_is_bound_to_at_most_40_buckets(registry):
    ci = registry.send("post", "/tokens", {"name": "ci", "role": "none"}, 201)
    for n in range(41):
        registry.send("post", "/buckets", {"name": f"b{n:02d}"}, 201)
        answer = bind(registry, f"b{n:02d}", ("viewer", [ci["id"]]), status=400 if n == 40 else 200)
    assert "bound to at most 40" in answer["message"], answer
    assert len(call(registry.client, "GET", "/whoami", ci["secret"])[1]["buckets"]) == 40


def test_a_missing_bucket_is_a_404_and_only_its_admins_change_a_policy(registry):
    registry.send("post", "/buckets", {"name": "web"}, 201)
    contributor = mint(registry, "contributor", name="contrib")
    keeper = mint(registry, "none", name="keeper")
    assert registry.send("put", "/buckets/nope/access", {"bindings": []}, 404)["error"] == "NotFound"
    status, body = call(registry.client, "PUT", "/buckets/web/access", contributor, {"bindings": []})
    assert status == 403 and "needs the admin role on bucket 'web'" in body["message"], body
    bind(registry, "web", ("admin", [token_id(keeper)]))
    status, body = call(registry.client, "PUT", "/buckets/web/access", keeper,
                        {"bindings": [{"role": "admin", "members": [token_id(keeper)]},
                                      {"role": "viewer", "members": [token_id(contributor)]}]})
    assert status == 200 and body["updated_by"] == "keeper", body
    # a bucket admin deletes the bucket too; not another one, nor anything of the project
    assert call(registry.client, "POST", "/buckets", keeper, {"name": "other"})[0] == 403
    assert call(registry.client, "DELETE", "/buckets/web", keeper)[0] == 200


def test_a_project_viewer_bound_as_contributor_contributes_there_only(registry):
    three_buckets(registry)
    viewer = mint(registry, "viewer", name="viewer")
    bind(registry, "bravo", ("contributor", [token_id(viewer)]))
    client = registry.client
    assert call(client, "POST", "/buckets/alpha/versions/v1/revoke", viewer, {"reason": "x"})[0] == 403
    assert call(client, "POST", "/buckets/bravo/versions/v1/revoke", viewer, {"reason": "x"})[0] == 200
    assert call(client, "GET", "/buckets/bravo/channels/latest", viewer)[0] == 200  # restricted: a contributor's
    assert call(client, "GET", "/buckets/alpha/channels/latest", viewer)[0] == 404  # as for any viewer
    assert {b["name"] for b in call(client, "GET", "/buckets", viewer)[1]["items"]} == set(HELD)


def test_a_service_principals_access_tokens_carry_its_bindings(registry):
    from chalicelib.services import auth

    three_buckets(registry)
    packer = registry.send("post", "/service-principals", {"name": "packer", "role": "none"}, 201)
    bind(registry, "bravo", ("contributor", [packer["client_id"]]))
    access_token = auth.access_token(packer["client_id"])
    api = Hcp(registry).as_token(access_token)
    assert [b["name"] for b in api.ok("GET", "buckets")["buckets"]] == ["bravo"]
    api.ok("PATCH", "buckets/bravo", {"description": "by packer"})
    api.fails("GET", "buckets/alpha", status=403, code=7)
    assert call(registry.client, "GET", "/whoami", access_token)[1]["buckets"] == {"bravo": "contributor"}


# ---- bindings go with what they bind -------------------------------------------------------

def test_deleting_a_credential_takes_it_off_every_policy(registry):
    for bucket in ("web", "api"):
        registry.send("post", "/buckets", {"name": bucket}, 201)
    ci = registry.send("post", "/tokens", {"name": "ci", "role": "none"}, 201)
    ops = registry.send("post", "/service-principals", {"name": "ops", "role": "none"}, 201)
    bind(registry, "web", ("viewer", [ci["id"], ops["client_id"]]))
    bind(registry, "api", ("admin", [ci["id"]]))
    registry.send("delete", f"/tokens/{ci['id']}")
    assert registry.get("/buckets/web/access")["bindings"] == [
        {"role": "viewer", "members": [{"id": ops["client_id"], "type": "service_principal", "name": "ops"}]}]
    assert registry.get("/buckets/api/access")["bindings"] == []
    event = registry.get("/buckets/api/events")["items"][0]
    assert (event["action"], event["detail"], event["after"]) == (
        "bucket.access_updated", {"removed": ci["id"]}, {"bindings": {}}), event
    registry.send("delete", f"/service-principals/{ops['client_id']}")
    assert registry.get("/buckets/web/access")["bindings"] == []


def test_a_bucket_made_again_under_a_deleted_ones_name_binds_no_one(registry):
    registry.send("post", "/buckets", {"name": "web"}, 201)
    ci = registry.send("post", "/tokens", {"name": "ci", "role": "none"}, 201)
    bind(registry, "web", ("admin", [ci["id"]]))
    registry.send("delete", "/buckets/web")
    assert call(registry.client, "GET", "/whoami", ci["secret"])[1]["buckets"] == {}
    registry.send("post", "/buckets", {"name": "web"}, 201)
    assert registry.get("/buckets/web/access")["etag"] == "0"
    assert call(registry.client, "GET", "/buckets/web", ci["secret"])[0] == 403


# ---- what it costs ---------------------------------------------------------------------------

def test_bindings_cost_the_consumer_query_no_call(registry):
    """The caller's bindings come with the credential the authorizer reads anyway: a bound
    token's consumer query makes the calls an unbound one does (the token's GetItem, then
    the channel's)."""
    three_buckets(registry)
    bound, plain = scoped(registry), mint(registry, "viewer", name="plain")
    query = "/buckets/alpha/channels/production/artifact?platform=aws&region=us-east-1"
    for secret in (bound, plain):
        assert call(registry.client, "GET", query, secret)[0] == 200  # warm: the token's last use is noted
    made = []
    for secret in (bound, plain):
        calls = count_calls(aws.client("dynamodb"))
        assert call(registry.client, "GET", query, secret)[1]["external_id"] == AMI["alpha"]
        made.append(list(calls))
    assert made == [["GetItem", "GetItem"], ["GetItem", "GetItem"]]


# ---- fail closed -----------------------------------------------------------------------------

def test_a_route_without_a_rule_is_refused_to_everyone(registry):
    from chalicelib.errors import Forbidden

    admin = {"name": "bootstrap-admin", "role": "admin", "token_id": "bootstrap-admin"}
    with pytest.raises(Forbidden, match="has no access rule"):
        roles.enforce(admin, "GET", "/somewhere/new")
    served = [r for r in served_routes() if r not in roles.PUBLIC]
    assert [r for r in served if roles.scope(*r) is None] == []


def served_routes() -> list[tuple[str, str]]:
    """(method, path template) of every route a view serves: the native API's and the HCP API's
    (not the routes that only answer what no HCP route serves: api/hcp/unserved.py)."""
    from chalicelib.api import hcp
    from chalicelib.api.hcp import unserved

    native = [(m, p) for p, methods in application.app.routes.items() for m in methods if not hcp.serves(p)]
    return sorted({*native, *unserved.served()})


# ---- the HCP door: the resource manager's IAM policy, the IAM service's principals -----------

def test_the_hcp_iam_policy_of_a_bucket(registry):
    api = Hcp(registry)
    api.ok("PUT", "buckets", {"name": "web"})
    project = api.ok("GET", f"{RM}/projects")["projects"][0]["id"]
    resource = f"packer/project/{project}/bucket/web"
    ci = registry.send("post", "/tokens", {"name": "ci", "role": "none"}, 201)
    packer = registry.send("post", "/service-principals", {"name": "packer", "role": "contributor"}, 201)
    got = api.ok("GET", f"{IAM_POLICY}?resource_name={resource}")
    assert got == {"policy": {"bindings": [], "etag": "0"}}
    policy = {"bindings": [{"role_id": "roles/viewer", "members": [{"member_id": ci["id"], "member_type": "USER"}]},
                           {"role_id": "roles/admin", "members": [{"member_id": packer["client_id"],
                                                                   "member_type": "SERVICE_PRINCIPAL"}]}],
              "etag": "0"}
    answer = api.ok("PUT", IAM_POLICY, {"resource_name": resource, "policy": policy})
    assert answer == {"policy": {**policy, "etag": "1"}}
    assert api.ok("GET", f"{IAM_POLICY}?resource_name={resource}") == answer
    assert registry.get("/buckets/web/access")["etag"] == "1"
    api.fails("PUT", IAM_POLICY, {"resource_name": resource, "policy": policy}, status=409, code=10)  # stale
    group = {"bindings": [{"role_id": "roles/viewer", "members": [{"member_id": ci["id"], "member_type": "GROUP"}]}]}
    api.fails("PUT", IAM_POLICY, {"resource_name": resource, "policy": group}, status=400, code=3)
    wrong = {"bindings": [{"role_id": "roles/owner", "members": [{"member_id": ci["id"]}]}]}
    api.fails("PUT", IAM_POLICY, {"resource_name": resource, "policy": wrong}, status=400, code=3)
    api.fails("GET", f"{IAM_POLICY}?resource_name=packer/project/{project}/bucket/nope", status=404, code=5)
    api.fails("GET", f"{IAM_POLICY}?resource_name=project/{project}", status=404, code=5)
    api.fails("GET", IAM_POLICY, status=400, code=3)

    principals = api.ok("GET", f"/iam/2019-12-10/organizations/{organization(api)}/principals"
                                f"?principal_ids={ci['id']}&principal_ids={packer['client_id']}&view=PRINCIPAL_VIEW_BASIC")
    assert [(p["id"], p["type"]) for p in principals["principals"]] == [
        (ci["id"], "PRINCIPAL_TYPE_USER"), (packer["client_id"], "PRINCIPAL_TYPE_SERVICE")]
    assert principals["principals"][1]["service"]["name"] == "packer"
    api.fails("GET", f"/iam/2019-12-10/organizations/{organization(api)}/principals"
                      "?principal_ids=0123456789abcdef", status=404, code=5)


def organization(api: Hcp) -> str:
    return api.ok("GET", f"{RM}/organizations")["organizations"][0]["id"]


def test_through_the_hcp_door_a_contributor_cannot_set_a_policy_and_a_bucket_admin_can(registry):
    api = Hcp(registry)
    api.ok("PUT", "buckets", {"name": "web"})
    project = api.ok("GET", f"{RM}/projects")["projects"][0]["id"]
    resource = f"packer/project/{project}/bucket/web"
    contributor, keeper = mint(registry, "contributor", name="contrib"), mint(registry, "none", name="keeper")
    empty = {"resource_name": resource, "policy": {"bindings": []}}
    answer = api.as_token(contributor).fails("PUT", IAM_POLICY, empty, status=403, code=7)
    assert "needs the admin role" in answer["message"], answer
    assert api.as_token(contributor).ok("GET", f"{IAM_POLICY}?resource_name={resource}")["policy"]["etag"] == "0"
    api.as_token(keeper).fails("GET", f"{IAM_POLICY}?resource_name={resource}", status=403, code=7)
    bind(registry, "web", ("admin", [token_id(keeper)]))
    mine = {"bindings": [{"role_id": "roles/admin", "members": [{"member_id": token_id(keeper)}]}]}
    assert api.as_token(keeper).ok("PUT", IAM_POLICY, {"resource_name": resource, "policy": mine})["policy"]["etag"] \
        == "2"
    # a bucket's admin is no one's admin elsewhere: the project's routes still answer 403
    api.as_token(keeper).fails("PUT", "buckets", {"name": "other"}, status=403, code=7)
    assert re.fullmatch(r"[0-9a-f]{16}", token_id(keeper))


# ---- races: a policy and its members' items never disagree ---------------------------------

TRIALS = 24


def assert_both_sides_agree() -> None:
    """Every credential's `buckets` is what the policies bind it to, every member of a policy
    exists, and so does every policy's bucket (read whole: a test may Scan, the registry never does)."""
    from chalicelib.domain.access import effective
    from chalicelib.storage import table

    pages = aws.client("dynamodb").get_paginator("scan").paginate(TableName=table.table_name())
    items = [table.deserialize(i) for page in pages for i in page["Items"]]
    held: dict[str, dict[str, str]] = {}
    for item in items:
        if item["SK"] == "ACCESS":
            for member, role in effective(item["roles"]).items():
                held.setdefault(member, {})[item["bucket"]] = role
    credentials = {item.get("id") or item.get("client_id"): item.get("buckets") or {}
                   for item in items if item["SK"] in ("TOKEN", "PRINCIPAL")}
    existing = {item["bucket"] for item in items if item["SK"] == "BUCKET"}
    assert {item["bucket"] for item in items if item["SK"] == "ACCESS"} <= existing
    assert set(held) <= set(credentials), (held, credentials)
    assert {member: bound for member, bound in credentials.items() if bound} == held


def test_policies_credentials_and_buckets_changed_at_once_never_disagree(moto_server):
    """Four policies each binding one token and one service principal, set together while the
    token is deleted and one of the buckets too: whatever wins, both sides agree (24 trials on
    a moto server, threads released together)."""
    from chalicelib.domain.models import CreateBucket, CreateServicePrincipal, CreateToken
    from chalicelib.services import access, auth, buckets, principals

    for trial in range(TRIALS):
        names = [f"b{trial}-{n}" for n in range(4)]
        for name in names:
            buckets.create(CreateBucket(name=name), "test")
        ci = auth.create_token(CreateToken(name=f"ci{trial}", role="none"), "test")
        ops = principals.create_principal(CreateServicePrincipal(name=f"ops{trial}", role="none"), "test")
        access.set_policy(names[0], {"viewer": [ci.id, ops.client_id]}, None, "test")

        def bind_both(bucket: str, role: str) -> Callable[[], object]:
            return lambda: access.set_policy(bucket, {role: [ci.id, ops.client_id]}, None, "test")
        errors = race(*(bind_both(name, role) for name, role in zip(names, ("admin", "viewer", "contributor", "admin"))),
                      lambda: auth.delete_token(ci.id, "test"),
                      lambda: buckets.delete_bucket(names[1], "test"),
                      tolerated=(400, 404, 409, 503))  # a member or a bucket deleted first
        assert errors == [], errors
        assert_both_sides_agree()
