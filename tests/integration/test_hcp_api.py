"""The HCP Packer 2023-01-01 API (issue 12, items 2, 4 and 5): the organization and project,
buckets, channels and versions as the HCP clients read them, and the wire conventions
(HCP-API-COMPAT.md §4, §8) on every answer, errors included.

The routes that publish (versions by fingerprint, builds, SBOMs) go through
services/publishing.py: test_hcp_publish_routes.py."""

from __future__ import annotations

import json
import re
import threading
import uuid

import pytest

import app as application
from chalicelib.api import hcp
from support import RFC3339, RM, TABLE, Hcp, assert_error_shape, ingest, manifest, mint

ULID = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.fixture
def api(registry) -> Hcp:
    return Hcp(registry)


# The path parameters of the enforced-block routes, naming a block and a version that do not exist.
ENFORCED = {"enforced_block_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "enforced_block_version_id": "01ARZ3NDEKTSV4RRFFQ69G5FAW"}


def hcp_routes() -> list[tuple[str, str]]:
    """The HCP routes a view serves (not the paths and methods unserved.py answers)."""
    from chalicelib.api.hcp import unserved

    return unserved.served()


# ---- the organization and the project (item 2) -----------------------------------------------

def test_one_organization_and_one_project_uuids_kept_across_requests(api):
    organizations = api.ok("GET", f"{RM}/organizations")
    assert len(organizations["organizations"]) == 1
    organization = organizations["organizations"][0]
    assert UUID.fullmatch(organization["id"]) and organization["state"] == "ACTIVE"
    assert RFC3339.fullmatch(organization["created_at"])
    assert api.ok("GET", f"{RM}/organizations/{organization['id']}")["organization"] == organization

    projects = api.ok("GET", f"{RM}/projects?scope.id={organization['id']}&scope.type=ORGANIZATION")["projects"]
    assert len(projects) == 1 and UUID.fullmatch(projects[0]["id"]) and projects[0]["id"] != organization["id"]
    project = api.ok("GET", f"{RM}/projects/{projects[0]['id']}")["project"]
    assert project["parent"] == {"id": organization["id"], "type": "ORGANIZATION"} and project["state"] == "ACTIVE"
    assert api.ok("GET", f"{RM}/projects?scope.id={uuid.uuid4()}&scope.type=ORGANIZATION")["projects"] == []

    from chalicelib.services import identity
    identity._kept = None  # a new process: read back from the table, not generated again
    assert api.ok("GET", f"{RM}/organizations")["organizations"][0]["id"] == organization["id"]
    assert api.ok("GET", f"{RM}/projects")["projects"][0]["id"] == project["id"]
    assert identity.ids() == (organization["id"], project["id"])


def test_the_environment_names_the_organization_and_the_project(api, monkeypatch):
    stored = api.prefix
    organization, project = str(uuid.uuid4()), str(uuid.uuid4())
    monkeypatch.setenv("REGISTRY_ORGANIZATION_ID", organization)
    monkeypatch.setenv("REGISTRY_PROJECT_ID", project)
    assert api.prefix == f"/packer/2023-01-01/organizations/{organization}/projects/{project}"
    assert api.ok("GET", f"{RM}/projects/{project}")["project"]["parent"]["id"] == organization
    assert api.ok("GET", "registry")["registry"]["location"] == {
        "organization_id": organization, "project_id": project, "region": {}}
    api.fails("GET", f"{stored}/registry", status=404, code=5)  # the generated ones are no longer served
    monkeypatch.setenv("REGISTRY_PROJECT_ID", "not-a-uuid")
    answer = api.fails("GET", f"{RM}/organizations", status=500, code=13)
    assert "REGISTRY_PROJECT_ID must be a UUID" in answer["message"]


def test_concurrent_first_requests_agree_on_the_ids(moto_server):
    """Every cold process making the pair at once keeps the one stored first (driven 10 times)."""
    from chalicelib import storage
    from chalicelib.storage import entities, keys, table

    for _ in range(10):
        table.delete(keys.location())
        barrier, kept = threading.Barrier(6), []

        def first_request() -> None:
            candidate = entities.Location(organization_id=str(uuid.uuid4()), project_id=str(uuid.uuid4()),
                                          created_at="2026-01-01T00:00:00.000000Z")
            barrier.wait()
            kept.append(storage.registry.keep_location(candidate))

        threads = [threading.Thread(target=first_request) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert len(kept) == 6 and len({(k.organization_id, k.project_id) for k in kept}) == 1
        assert storage.registry.location() == kept[0]


def test_any_other_organization_or_project_is_a_404(api):
    organization = api.ok("GET", f"{RM}/organizations")["organizations"][0]["id"]
    project = api.ok("GET", f"{RM}/projects")["projects"][0]["id"]
    other = str(uuid.uuid4())
    for method, template in hcp_routes():
        if "{organization_id}" not in template:
            continue
        for org, proj in ((other, project), (organization, other), ("not-a-uuid", project)):
            if proj != project and "{project_id}" not in template:
                continue  # the IAM service's principals are the organization's
            path = template.format(organization_id=org, project_id=proj, bucket_name="base", fingerprint="f1",
                                   build_id="b1", channel_name="latest", task_type="validation", sbom_name="os", **ENFORCED)
            api.fails(method, path, {} if method != "GET" else None, status=404, code=5)
    answer = api.fails("GET", f"{RM}/projects/{other}", status=404, code=5)
    assert other in answer["message"]
    api.fails("GET", f"{RM}/organizations/{other}", status=404, code=5)


def test_the_registry_is_activated_and_enforces_no_blocks(api):
    registry = api.ok("GET", "registry")["registry"]
    assert registry["config"]["activated"] is True and ULID.fullmatch(registry["id"])
    api.ok("PUT", "buckets", {"name": "base"})
    assert api.ok("GET", "enforced_blocks/bucket/base") == {"enforced_block_detail": []}
    api.fails("GET", "enforced_blocks/bucket/nope", status=404, code=5)  # Packer ignores code 5


# ---- buckets -----------------------------------------------------------------------------------

def test_create_get_update_and_delete_a_bucket(api):
    created = api.ok("PUT", "buckets", {"name": "base", "description": "Ubuntu base", "labels": {"os": "ubuntu"}})
    bucket = created["bucket"]
    project = api.ok("GET", f"{RM}/projects")["projects"][0]["id"]
    assert ULID.fullmatch(bucket["id"]) and bucket["name"] == "base" and bucket["version_count"] == "0"
    assert bucket["resource_name"] == f"packer/project/{project}/bucket/base"
    assert bucket["location"]["project_id"] == project and bucket["location"]["organization_id"]
    assert (bucket["description"], bucket["labels"], bucket["platforms"]) == ("Ubuntu base", {"os": "ubuntu"}, [])
    assert api.ok("GET", "buckets/base")["bucket"] == bucket

    answer = api.fails("PUT", "buckets", {"name": "base"}, status=409, code=6)
    assert answer["message"] == "The bucket with identifier base already exists."
    answer = api.fails("GET", "buckets/nope", status=404, code=5)
    assert answer["message"] == "The bucket with identifier nope does not exist."

    # PATCH replaces what the template says (absent labels: none); `platforms: null` is ignored.
    updated = api.ok("PATCH", "buckets/base", {"description": "Ubuntu 24.04 base", "platforms": None})["bucket"]
    assert (updated["description"], updated.get("labels"), updated["id"]) == ("Ubuntu 24.04 base", None, bucket["id"])
    updated = api.ok("PATCH", "buckets/base", {"labels": {"os": "ubuntu", "lts": "yes"}})["bucket"]
    assert (updated.get("description"), updated["labels"]) == (None, {"os": "ubuntu", "lts": "yes"})
    api.fails("PATCH", "buckets/nope", {"description": "x"}, status=404, code=5)

    assert api.ok("DELETE", "buckets/base") == {}
    api.fails("GET", "buckets/base", status=404, code=5)
    api.fails("DELETE", "buckets/base", status=404, code=5)


def test_hcp_packer_bucket_as_terraform_drives_it(api):
    """`hcp_packer_bucket` (HCP-API-COMPAT.md §3): create with the name alone, read what state
    keeps, import by `resource_name`, delete; then a read is an HTTP 404 (dropped from state)
    and a second delete a 404 too (which the provider takes as done)."""
    bucket = api.ok("PUT", "buckets", {"name": "tf-bucket"})["bucket"]
    location = bucket["location"]
    assert bucket["resource_name"] == f"packer/project/{location['project_id']}/bucket/tf-bucket"
    assert UUID.fullmatch(location["organization_id"]) and RFC3339.fullmatch(bucket["created_at"])
    _, _, project, _, name = bucket["resource_name"].split("/")  # what `terraform import` parses
    assert (project, name) == (location["project_id"], "tf-bucket")
    assert api.ok("GET", f"buckets/{name}")["bucket"]["created_at"] == bucket["created_at"]
    assert api.ok("DELETE", "buckets/tf-bucket") == {}
    status, _, _ = api.call("GET", "buckets/tf-bucket")
    assert status == 404
    api.fails("DELETE", "buckets/tf-bucket", status=404, code=5)


def test_a_new_bucket_has_its_managed_latest_channel(api):
    api.ok("PUT", "buckets", {"name": "base"})
    (latest,) = api.ok("GET", "buckets/base/channels")["channels"]
    assert (latest["name"], latest["managed"], latest["restricted"], latest["version"]) == ("latest", True, True, None)
    assert "version" in latest and latest["author_id"] == "HCP Packer" and ULID.fullmatch(latest["id"])
    assert api.ok("GET", "buckets/base/channels/latest")["channel"] == latest
    # the native API shows it too
    assert api.registry.get("/buckets/base/channels/latest")["managed"] is True


def test_buckets_are_listed_by_name_in_pages(api):
    for name in ("delta", "alpha", "echo", "charlie", "bravo"):
        api.ok("PUT", "buckets", {"name": name})
    names, token, pages = [], None, 0
    while True:
        query = "pagination.page_size=2&sorting.order_by=name" + (f"&pagination.next_page_token={token}" if token else "")
        page = api.ok("GET", f"buckets?{query}")
        names += [b["name"] for b in page["buckets"]]
        pages += 1
        token = page["pagination"].get("next_page_token")
        if not token:
            break
    assert names == ["alpha", "bravo", "charlie", "delta", "echo"] and pages == 3
    assert len(api.ok("GET", "buckets")["buckets"]) == 5 and api.ok("GET", "buckets")["pagination"] == {}
    api.fails("GET", "buckets?pagination.page_size=many", status=400, code=3)
    api.fails("GET", "buckets?pagination.next_page_token=forged", status=400, code=3)


def test_a_version_recorded_from_a_manifest_is_read_with_every_field_the_clients_dereference(api):
    ingest(api.registry, "base", "r1", "r2")
    bucket = api.ok("GET", "buckets/base")["bucket"]
    assert bucket["version_count"] == "2" and bucket["platforms"] == ["aws"]
    latest = bucket["latest_version"]
    assert (latest["name"], latest["status"], latest["bucket_name"]) == ("v2", "VERSION_ACTIVE", "base")
    assert ULID.fullmatch(latest["id"]) and latest["fingerprint"] == "r2" and latest["revoke_at"] is None
    assert latest["template_type"] == "TEMPLATE_TYPE_UNSET" and RFC3339.fullmatch(latest["created_at"])
    (build,) = latest["builds"]
    assert (build["version_id"], build["status"], build["platform"]) == (latest["id"], "BUILD_DONE", "aws")
    assert build["component_type"] == "amazon-ebs.ubuntu" and build["packer_run_uuid"] == "r2"
    assert build["labels"] == {"team": "platform"} and RFC3339.fullmatch(build["updated_at"])
    assert sorted((a["region"], a["external_identifier"]) for a in build["artifacts"]) == [
        ("eu-west-1", "ami-r20000000000002"), ("us-east-1", "ami-r20000000000001")]
    assert all(ULID.fullmatch(a["id"]) and RFC3339.fullmatch(a["created_at"]) for a in build["artifacts"])
    assert api.ok("GET", "buckets/base")["bucket"] == bucket  # ids are the same on every read

    channel = api.ok("GET", "buckets/base/channels/latest")["channel"]
    assert channel["version"] == latest and channel["managed"] is True

    versions = api.ok("GET", "buckets/base/versions?pagination.page_size=1")
    assert [v["name"] for v in versions["versions"]] == ["v2"] and versions["pagination"]["next_page_token"]
    assert versions["versions"][0]["id"] == latest["id"] and "builds" not in versions["versions"][0]
    rest = api.ok("GET", f"buckets/base/versions?pagination.next_page_token={versions['pagination']['next_page_token']}")
    assert [v["name"] for v in rest["versions"]] == ["v1"] and rest["pagination"] == {}
    api.fails("GET", "buckets/nope/versions", status=404, code=5)


def test_platforms_are_named_as_the_plugins_report_them_even_for_builds_stored_under_old_names(api):
    api.registry.upload("img/m.json", manifest({"builder_type": "googlecompute", "artifact_id": "ubuntu-2404-v1",
                                                "packer_run_uuid": "g1"}))
    bucket = api.ok("GET", "buckets/img")["bucket"]
    assert bucket["platforms"] == ["gce"] and bucket["latest_version"]["builds"][0]["platform"] == "gce"
    # a build an older release stored as `gcp` reads as `gce`
    import boto3

    from chalicelib.storage import keys
    build_id = bucket["latest_version"]["builds"][0]["id"]
    boto3.client("dynamodb").update_item(
        TableName=TABLE, Key={k: {"S": v} for k, v in keys.build("img", 1, build_id).items()},
        UpdateExpression="SET platform = :old", ExpressionAttributeValues={":old": {"S": "gcp"}})
    assert api.ok("GET", "buckets/img")["bucket"] == bucket
    assert api.ok("GET", "buckets/img/channels/latest")["channel"]["version"]["builds"][0]["platform"] == "gce"


def test_revocation_reads_as_hcp_packer_writes_it(api):
    ingest(api.registry, "base", "r1", "r2")
    api.registry.send("post", "/buckets/base/versions/v2/revoke", {"reason": "CVE-2026-1", "revoke_in": "30d"})
    api.registry.send("post", "/buckets/base/versions/v1/revoke", {"reason": "bad kernel"})
    v2, v1 = api.ok("GET", "buckets/base/versions")["versions"]
    assert (v2["status"], v2["revocation_message"], v2["revocation_type"]) == (
        "VERSION_REVOCATION_SCHEDULED", "CVE-2026-1", "MANUAL")
    assert RFC3339.fullmatch(v2["revoke_at"]) and v2["revocation_author"] == "bootstrap-admin"
    assert (v1["status"], v1["revocation_message"]) == ("VERSION_REVOKED", "bad kernel")
    assert RFC3339.fullmatch(v1["revoke_at"])


# ---- channels ----------------------------------------------------------------------------------

def test_channels_are_listed_with_their_versions(api):
    ingest(api.registry, "base", "r1", "r2")
    api.registry.send("post", "/buckets/base/channels", {"name": "production", "version": "v1"}, 201)
    api.registry.send("post", "/buckets/base/channels", {"name": "staging"}, 201)
    channels = {c["name"]: c for c in api.ok("GET", "buckets/base/channels")["channels"]}
    assert sorted(channels) == ["latest", "production", "staging"]
    assert channels["latest"]["managed"] is True and channels["latest"]["version"]["name"] == "v2"
    assert channels["production"]["version"]["fingerprint"] == "r1" and channels["production"]["managed"] is False
    assert channels["production"]["author_id"] == "bootstrap-admin"
    assert channels["staging"]["version"] is None
    production = api.ok("GET", "buckets/base/channels/production")["channel"]
    assert production["id"] == channels["production"]["id"]
    assert production["version"]["builds"][0]["artifacts"]
    answer = api.fails("GET", "buckets/base/channels/canary", status=404, code=5)
    assert answer["message"] == "The channel with identifier canary does not exist."
    api.fails("GET", "buckets/nope/channels", status=404, code=5)


def test_a_viewer_is_refused_restricted_channels_and_does_not_see_them_listed(api, registry):
    ingest(registry, "base", "r1")
    registry.send("post", "/buckets/base/channels", {"name": "production", "version": "v1"}, 201)
    viewer = api.as_token(mint(registry, "viewer"))
    answer = viewer.fails("GET", "buckets/base/channels/latest", status=404, code=5)  # as if it did not exist
    assert answer["message"] == "The channel with identifier latest does not exist."
    assert [c["name"] for c in viewer.ok("GET", "buckets/base/channels")["channels"]] == ["production"]
    assert viewer.ok("GET", "buckets/base/channels/production")["channel"]["version"]["name"] == "v1"
    bucket = viewer.ok("GET", "buckets/base")["bucket"]
    assert "latest_version" not in bucket and bucket["version_count"] == "1"
    viewer.fails("PATCH", "buckets/base/channels/production", {"update_mask": "restricted"}, status=403, code=7)
    viewer.fails("PUT", "buckets", {"name": "mine"}, status=403, code=7)


def test_update_channel_follows_its_update_mask(api):
    ingest(api.registry, "base", "r1")
    api.registry.send("post", "/buckets/base/channels", {"name": "production", "version": "v1"}, 201)

    answer = api.fails("PATCH", "buckets/base/channels/production", {"restricted": True}, status=400, code=3)
    (detail,) = answer["details"]
    assert detail["@type"] == "type.googleapis.com/google.rpc.BadRequest"
    assert detail["field_violations"][0]["field"] == "body.update_mask"

    channel = api.ok("PATCH", "buckets/base/channels/production", {"update_mask": "restricted", "restricted": True})
    assert channel["channel"]["restricted"] is True and channel["channel"]["version"]["name"] == "v1"
    # camelCase as well; a field the mask names but the body leaves out is its zero: not restricted
    channel = api.ok("PATCH", "buckets/base/channels/production", {"updateMask": "restricted"})["channel"]
    assert channel["restricted"] is False and channel["version"]["name"] == "v1"
    # no fingerprint under the mask: unassigned
    channel = api.ok("PATCH", "buckets/base/channels/production", {"update_mask": "versionFingerprint"})["channel"]
    assert channel["version"] is None
    assert api.registry.get("/buckets/base/channels/production")["version"] is None  # one registry

    answer = api.fails("PATCH", "buckets/base/channels/latest",
                       {"update_mask": "versionFingerprint", "version_fingerprint": "r1"}, status=400, code=9)
    assert answer["message"] == ('Can\'t update channel assignment on channel "latest". '
                                 "This channel is managed by HCP Packer")
    latest = api.ok("PATCH", "buckets/base/channels/latest", {"update_mask": "restricted", "restricted": False})
    assert latest["channel"]["restricted"] is False  # the Terraform provider may open `latest`
    api.fails("PATCH", "buckets/base/channels/canary", {"update_mask": "restricted"}, status=404, code=5)
    api.fails("PATCH", "buckets/base/channels/production", {"update_mask": "description"}, status=400, code=3)


# ---- the wire conventions (item 5) ---------------------------------------------------------------

def test_every_route_wants_a_valid_token_and_answers_401_code_16(api):
    prefix = api.prefix
    routes = hcp_routes()
    assert len(routes) >= 20
    for token in ("not-a-token", "0123456789abcdef.forged"):
        for method, template in routes:
            path = template.format(id="x", bucket_name="base", fingerprint="f1", build_id="b1", channel_name="latest",
                                   task_type="validation", sbom_name="os", **ENFORCED,
                                   organization_id=prefix.split("/")[4], project_id=prefix.split("/")[6])
            answer = api.as_token(token).fails(method, path, {} if method != "GET" else None, status=401, code=16)
            assert "token" in answer["message"]


def test_errors_of_every_kind_are_in_the_hcp_shape(api, monkeypatch):
    api.ok("PUT", "buckets", {"name": "base"})
    # a body that is not JSON, or not an object
    for raw in (b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe"):
        answer = api.fails("PUT", "buckets", raw=raw, status=400, code=3)
        assert "body" in answer["message"]
    # a value the registry refuses (the native rules), a field of the wrong type
    assert "name" in api.fails("PUT", "buckets", {"name": "bad name!"}, status=400, code=3)["message"]
    api.fails("PUT", "buckets", {"name": "ok", "labels": ["a"]}, status=400, code=3)
    # a method the path does not have: grpc-gateway's answer (code 12, HTTP 501) and Allow
    status, answer, headers = api.call("POST", "buckets/base", {})
    assert (status, answer["code"]) == (501, 12) and headers["Allow"] == "DELETE, GET, PATCH"
    assert_error_shape(answer)
    # a name no bucket or channel can have
    api.fails("GET", "buckets/a%2Ab", status=404, code=5)
    api.fails("GET", "buckets/base/channels/Not_A_Channel", status=404, code=5)

    from chalice import BadRequestError

    from chalicelib.api.hcp import resources

    def crash(*args):
        raise RuntimeError("secret internals")
    monkeypatch.setattr(resources, "registry", crash)
    answer = api.fails("GET", "registry", status=500, code=13)
    assert "secret" not in answer["message"] and "Traceback" not in json.dumps(answer)

    def chalice_error(*args):
        raise BadRequestError("chalice's own error")
    monkeypatch.setattr(resources, "registry", chalice_error)
    assert api.fails("GET", "registry", status=400, code=3)["message"] == "chalice's own error"


def test_no_415_and_no_empty_body_failure(api):
    """Any Content-Type is read as JSON (as grpc-gateway does); an empty or null body is {}."""
    for content_type in ("application/json", "application/x-www-form-urlencoded", "text/plain",
                         "application/octet-stream", "application/xml", "application/json; charset=utf-8"):
        name = "b-" + re.sub(r"[^a-z]", "", content_type)[:20]
        created = api.ok("PUT", "buckets", {"name": name}, headers={"Content-Type": content_type})
        assert created["bucket"]["name"] == name, content_type
    assert api.ok("PATCH", f"buckets/{name}", raw=b"")["bucket"]["name"] == name
    assert api.ok("PATCH", f"buckets/{name}", raw=b"null")["bucket"]["name"] == name
    api.fails("PUT", "buckets", raw=b"", status=400, code=3)  # an empty body names no bucket
    # Chalice's check that a route's content types agree on being binary (chalice deploy) passes
    from chalice.deploy.validate import validate_route_content_types

    validate_route_content_types(application.app.routes, application.app.api.binary_types)


def test_publishing_bodies_are_checked_before_anything_is_written(api):
    """What a field must be (an enum value, a list, base64) is a 400 code 3 naming it."""
    api.ok("PUT", "buckets", {"name": "base"})
    versions, builds = "buckets/base/versions", "buckets/base/versions/fp-1/builds"
    answer = api.fails("POST", versions, {"template_type": "HCL2"}, status=400, code=3)
    assert answer["details"][0]["field_violations"][0]["field"] == "body.fingerprint"
    assert "template_type" in api.fails("POST", versions, {"fingerprint": "fp-1", "template_type": "YAML"},
                                        status=400, code=3)["message"]
    for change, field in (({"status": "BUILD_FINISHED"}, "status"), ({"artifacts": "ami-1"}, "artifacts"),
                          ({"artifacts": [{"region": "us-east-1"}]}, "external_identifier"),
                          ({"labels": {"a": 1}}, "labels"), ({"metadata": [1]}, "metadata"),
                          ({"componentType": 7}, "component_type")):
        assert field in api.fails("POST", builds, change, status=400, code=3)["message"], change
        assert field in api.fails("PATCH", f"{builds}/b1", change, status=400, code=3)["message"], change
    sboms = f"{builds}/b1/sboms"
    assert "format" in api.fails("PUT", sboms, {"compressed_sbom": "AAAA", "format": "XML"}, status=400, code=3)["message"]
    assert "base64" in api.fails("PUT", sboms, {"compressed_sbom": "not base64!", "format": "SPDX"},
                                 status=400, code=3)["message"]


def test_unknown_fields_are_ignored_and_camel_case_is_read(api):
    created = api.ok("PUT", "buckets", {"name": "base", "description": "d", "somethingNew": 1, "labels": {"aB": "c"}})
    assert created["bucket"]["labels"] == {"aB": "c"}  # values keep their keys
    api.ok("PUT", "buckets", {"name": "other"})
    assert api.ok("GET", "buckets?pagination.pageSize=1")  # unknown query parameters too


def test_int64_fields_are_strings_and_every_success_is_a_200(api):
    ingest(api.registry, "base", "r1")
    for path in ("buckets", "buckets/base"):
        answer = api.ok("GET", path)
        buckets = answer.get("buckets") or [answer["bucket"]]
        assert all(isinstance(b["version_count"], str) for b in buckets)
    assert api.ok("DELETE", "buckets/base") == {}


def test_the_api_description_leaves_the_hcp_routes_out(client):
    document = json.loads(client.http.get("/openapi.json").body)
    assert not [path for path in document["paths"] if hcp.serves(path)]
    assert "/buckets/{bucket}" in document["paths"]
