"""The HCP routes that publish (issue 12, items 3 and 4) as `packer build` drives them
(HCP-API-COMPAT.md §2.2, §8): get/create version, list/create/update builds, SBOMs, and a
channel assigned right after the last build is done. They go through services/publishing.py.
The wire conventions and the read side: test_hcp_api.py."""

from __future__ import annotations

import json
import re
import uuid

import pytest

from support import ADMIN_TOKEN, compressed_sbom, manifest, mint, sbom_document

RM = "/resource-manager/2019-12-10"
ULID = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")
RUN = "8a7f2d3c-1111-4222-8333-944455556666"
METADATA = {"packer": {"version": "1.16.0", "plugins": {}, "os": {"type": "linux"}},
            "vcs": {"type": "git", "details": {"commit": "abc123"}}, "cicd": {}}


class Client:
    """HCP calls with a bearer token under the deployment's project prefix."""

    def __init__(self, registry, token: str = ADMIN_TOKEN) -> None:
        self.registry, self.token = registry, token
        organization = self.ok("GET", f"{RM}/organizations")["organizations"][0]["id"]
        project = self.ok("GET", f"{RM}/projects")["projects"][0]["id"]
        self.prefix = f"/packer/2023-01-01/organizations/{organization}/projects/{project}"

    def call(self, method: str, path: str, body=None) -> tuple[int, dict]:
        url = path if path.startswith("/") else f"{self.prefix}/{path}"
        response = getattr(self.registry.client.http, method.lower())(
            url, headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
            body=json.dumps(body).encode() if body is not None else b"")
        assert response.headers.get("Content-Type") == "application/json"
        return response.status_code, json.loads(response.body)

    def ok(self, method: str, path: str, body=None) -> dict:
        status, answer = self.call(method, path, body)
        assert status == 200, (method, path, status, answer)
        return answer

    def fails(self, method: str, path: str, body=None, *, status: int, code: int) -> dict:
        got, answer = self.call(method, path, body)
        assert (got, answer.get("code")) == (status, code), (method, path, got, answer)
        assert set(answer) == {"code", "message", "details"} and answer["details"] == []
        return answer


@pytest.fixture
def hcp(registry) -> Client:
    return Client(registry)


def start(hcp: Client, bucket: str, fingerprint: str, *components: str, template_type: str = "HCL2") -> dict:
    """Steps 2–5 of a `packer build`: the bucket, the version (created on code 10), its builds."""
    status, answer = hcp.call("GET", f"buckets/{bucket}")
    if status == 404:
        assert answer["code"] == 5
        hcp.ok("PUT", "buckets", {"name": bucket, "description": "images", "labels": {"team": "platform"}})
    hcp.fails("GET", f"buckets/{bucket}/versions/{fingerprint}", status=409, code=10)
    version = hcp.ok("POST", f"buckets/{bucket}/versions", {"fingerprint": fingerprint,
                                                           "template_type": template_type})["version"]
    assert hcp.ok("GET", f"buckets/{bucket}/versions/{fingerprint}/builds")["builds"] == []
    builds = {}
    for component in components:
        build = hcp.ok("POST", f"buckets/{bucket}/versions/{fingerprint}/builds", {
            "artifacts": None, "component_type": component, "packer_run_uuid": RUN, "status": "BUILD_UNSET"})["build"]
        builds[component] = build
    assert hcp.ok("GET", f"enforced_blocks/bucket/{bucket}") == {"enforced_block_detail": []}
    return {"version": version, "builds": builds}


def done(hcp: Client, bucket: str, fingerprint: str, build_id: str, ami: str, **extra) -> dict:
    """Step 10: the build done, with its artifact, labels, metadata and platform."""
    return hcp.ok("PATCH", f"buckets/{bucket}/versions/{fingerprint}/builds/{build_id}", {
        "artifacts": [{"external_identifier": ami, "region": "us-east-1"}], "labels": {"os": "ubuntu"},
        "metadata": METADATA, "packer_run_uuid": RUN, "platform": "aws", "status": "BUILD_DONE",
        "source_external_identifier": "ami-0000000000000base", **extra})["build"]


def running(hcp: Client, bucket: str, fingerprint: str, build_id: str) -> dict:
    return hcp.ok("PATCH", f"buckets/{bucket}/versions/{fingerprint}/builds/{build_id}", {
        "artifacts": None, "packer_run_uuid": RUN, "status": "BUILD_RUNNING"})["build"]


def test_packer_build_publishes_a_version_that_completes_with_its_last_build(hcp):
    started = start(hcp, "web", "fp-1", "amazon-ebs.ubuntu", "amazon-ebs.debian")
    version = started["version"]
    assert (version["name"], version["status"], version["fingerprint"]) == ("v0", "VERSION_RUNNING", "fp-1")
    assert version["template_type"] == "HCL2" and ULID.fullmatch(version["id"]) and version["revoke_at"] is None
    ubuntu, debian = started["builds"]["amazon-ebs.ubuntu"], started["builds"]["amazon-ebs.debian"]
    assert ubuntu["status"] == "BUILD_UNSET" and ULID.fullmatch(ubuntu["id"]) and ubuntu["version_id"] == version["id"]

    # a second CreateBuild of a component is code 6 (Packer tolerates it and skips the build)
    hcp.fails("POST", "buckets/web/versions/fp-1/builds", {"component_type": "amazon-ebs.ubuntu",
                                                          "packer_run_uuid": RUN, "status": "BUILD_UNSET"},
              status=409, code=6)

    for build in (ubuntu, debian):
        assert running(hcp, "web", "fp-1", build["id"])["status"] == "BUILD_RUNNING"
    assert running(hcp, "web", "fp-1", ubuntu["id"])["status"] == "BUILD_RUNNING"  # a heartbeat

    first = done(hcp, "web", "fp-1", ubuntu["id"], "ami-0123456789abcdef0")
    assert first["status"] == "BUILD_DONE" and first["artifacts"][0]["external_identifier"] == "ami-0123456789abcdef0"
    assert first["metadata"] == METADATA and first["labels"]["os"] == "ubuntu" and first["platform"] == "aws"
    # a channel configured in hcp_packer_registry is assigned after every build: refused while incomplete
    hcp.fails("PATCH", "buckets/web/channels/latest", {"update_mask": "versionFingerprint",
                                                       "version_fingerprint": "fp-1"}, status=400, code=9)
    hcp.registry.send("post", "/buckets/web/channels", {"name": "production"}, 201)
    hcp.fails("PATCH", "buckets/web/channels/production", {"update_mask": "versionFingerprint",
                                                           "version_fingerprint": "fp-1"}, status=400, code=9)
    running_version = hcp.ok("GET", "buckets/web/versions/fp-1")["version"]
    assert (running_version["name"], running_version["status"]) == ("v0", "VERSION_RUNNING")
    assert [v["status"] for v in hcp.ok("GET", "buckets/web/versions")["versions"]] == ["VERSION_RUNNING"]

    done(hcp, "web", "fp-1", debian["id"], "ami-0123456789abcdef1")  # the last one: completes the version
    complete = hcp.ok("GET", "buckets/web/versions/fp-1")["version"]
    assert (complete["name"], complete["status"], complete["id"]) == ("v1", "VERSION_ACTIVE", version["id"])
    assert sorted(b["status"] for b in complete["builds"]) == ["BUILD_DONE", "BUILD_DONE"]
    assert all(b["version_id"] == version["id"] for b in complete["builds"])
    production = hcp.ok("PATCH", "buckets/web/channels/production", {
        "update_mask": "versionFingerprint", "version_fingerprint": "fp-1"})["channel"]
    assert production["version"]["name"] == "v1" and production["version"]["builds"]

    bucket = hcp.ok("GET", "buckets/web")["bucket"]
    assert bucket["version_count"] == "1" and bucket["platforms"] == ["aws"]
    assert bucket["latest_version"]["id"] == version["id"]
    latest = hcp.ok("GET", "buckets/web/channels/latest")["channel"]
    assert latest["version"]["fingerprint"] == "fp-1"
    # one registry: the native API and the consumer query see it
    assert hcp.registry.get("/buckets/web/versions/v1")["status"] == "active"
    served = hcp.registry.get("/buckets/web/channels/production/artifact?platform=aws&region=us-east-1")
    assert served["external_id"] in ("ami-0123456789abcdef0", "ami-0123456789abcdef1")


def test_a_complete_version_is_not_built_again(hcp):
    started = start(hcp, "web", "fp-2", "null.ci")
    build = started["builds"]["null.ci"]
    running(hcp, "web", "fp-2", build["id"])
    done(hcp, "web", "fp-2", build["id"], "ami-0fedcba987654321")
    version = hcp.ok("GET", "buckets/web/versions/fp-2")["version"]
    assert version["name"] == "v1"  # Packer stops here: "the version … is complete"
    hcp.fails("POST", "buckets/web/versions/fp-2/builds", {"component_type": "null.other", "status": "BUILD_UNSET"},
              status=400, code=9)
    hcp.fails("POST", "buckets/web/versions", {"fingerprint": "fp-2", "template_type": "HCL2"}, status=409, code=6)


def test_a_failed_build_runs_again_with_the_same_fingerprint(hcp):
    started = start(hcp, "web", "fp-3", "file.out")
    build = started["builds"]["file.out"]
    running(hcp, "web", "fp-3", build["id"])
    failed = hcp.ok("PATCH", f"buckets/web/versions/fp-3/builds/{build['id']}", {
        "artifacts": None, "packer_run_uuid": RUN, "status": "BUILD_FAILED"})["build"]
    assert failed["status"] == "BUILD_FAILED"
    # the re-run: GetVersion finds it (v0), ListBuilds shows the failed build, which goes RUNNING again
    assert hcp.ok("GET", "buckets/web/versions/fp-3")["version"]["name"] == "v0"
    (listed,) = hcp.ok("GET", "buckets/web/versions/fp-3/builds")["builds"]
    assert (listed["id"], listed["status"], listed["component_type"]) == (build["id"], "BUILD_FAILED", "file.out")
    assert running(hcp, "web", "fp-3", build["id"])["status"] == "BUILD_RUNNING"
    again = hcp.ok("GET", f"buckets/web/versions/fp-3/builds/{build['id']}")["build"]
    assert again["status"] == "BUILD_RUNNING" and again["version_id"] == started["version"]["id"]
    done(hcp, "web", "fp-3", build["id"], "file://out/disk.img")
    assert hcp.ok("GET", "buckets/web/versions/fp-3")["version"]["status"] == "VERSION_ACTIVE"


def test_build_bodies_in_camel_case_and_patch_merges(hcp):
    started = start(hcp, "web", "fp-4", "amazon-ebs.ubuntu")
    build = started["builds"]["amazon-ebs.ubuntu"]
    path = f"buckets/web/versions/fp-4/builds/{build['id']}"
    hcp.ok("PATCH", path, {"status": "BUILD_RUNNING", "packerRunUuid": RUN, "labels": {"stage": "one"}})
    merged = hcp.ok("PATCH", path, {"status": "BUILD_RUNNING", "artifacts": None})["build"]
    assert merged["labels"] == {"stage": "one"} and merged["packer_run_uuid"] == RUN
    finished = hcp.ok("PATCH", path, {"status": "BUILD_DONE", "platform": "aws", "artifacts": [
        {"externalIdentifier": "ami-0aaaaaaaaaaaaaaa1", "region": "us-east-1"}]})["build"]
    assert finished["artifacts"][0]["external_identifier"] == "ami-0aaaaaaaaaaaaaaa1"


def test_an_sbom_is_uploaded_while_its_build_runs(hcp):
    started = start(hcp, "web", "fp-5", "amazon-ebs.ubuntu")
    build = started["builds"]["amazon-ebs.ubuntu"]
    running(hcp, "web", "fp-5", build["id"])
    sbom = compressed_sbom(sbom_document("rootfs.cdx-1.6.json"))
    assert hcp.ok("PUT", f"buckets/web/versions/fp-5/builds/{build['id']}/sboms",
                  {"compressed_sbom": sbom, "format": "CYCLONEDX", "name": "os"}) == {}


def test_a_version_recorded_from_a_manifest_is_found_by_fingerprint_and_assigned(hcp):
    hcp.registry.upload("base/m.json", manifest({"packer_run_uuid": "run-1", "artifact_id": "us-east-1:ami-0b0b0b0b0b0b0b0b1"}))
    version = hcp.ok("GET", "buckets/base/versions/run-1")["version"]
    assert (version["name"], version["status"], version["template_type"]) == ("v1", "VERSION_ACTIVE",
                                                                               "TEMPLATE_TYPE_UNSET")
    (build,) = version["builds"]
    assert build["version_id"] == version["id"] and build["status"] == "BUILD_DONE"
    hcp.fails("GET", "buckets/base/versions/nope", status=409, code=10)
    hcp.fails("GET", "buckets/nope/versions/run-1", status=404, code=5)

    hcp.registry.send("post", "/buckets/base/channels", {"name": "production"}, 201)
    channel = hcp.ok("PATCH", "buckets/base/channels/production", {
        "update_mask": "versionFingerprint,restricted", "version_fingerprint": "run-1", "restricted": True})["channel"]
    assert (channel["version"]["id"], channel["restricted"]) == (version["id"], True)
    hcp.fails("PATCH", "buckets/base/channels/production", {
        "update_mask": "versionFingerprint", "version_fingerprint": "nope"}, status=404, code=5)
    hcp.registry.send("post", "/buckets/base/versions/v1/revoke", {"reason": "bad", "disable_rollback_channels": True})
    hcp.registry.send("patch", "/buckets/base/channels/production", {"version": None})
    hcp.fails("PATCH", "buckets/base/channels/production", {
        "update_mask": "versionFingerprint", "version_fingerprint": "run-1"}, status=400, code=9)


def test_a_viewer_reads_versions_and_builds_but_cannot_publish(hcp, registry):
    start(hcp, "web", "fp-6", "null.ci")
    viewer = Client(registry, mint(registry, "viewer"))
    assert viewer.ok("GET", "buckets/web/versions/fp-6")["version"]["name"] == "v0"
    assert viewer.ok("GET", "buckets/web/versions/fp-6/builds")["builds"][0]["status"] == "BUILD_UNSET"
    viewer.fails("POST", "buckets/web/versions", {"fingerprint": "fp-7"}, status=403, code=7)


def test_a_version_of_a_missing_bucket_is_a_404(hcp):
    hcp.fails("POST", "buckets/nope/versions", {"fingerprint": str(uuid.uuid4())}, status=404, code=5)


def test_a_published_version_is_found_by_the_list_filters(hcp):
    """Completion (recording.record_draft) writes what the filters read: the status index,
    the platform index and the builds' summary; the draft is listed as running meanwhile."""
    started = start(hcp, "web", "fp-1", "amazon-ebs.ubuntu", "amazon-ebs.debian")
    ubuntu, debian = started["builds"]["amazon-ebs.ubuntu"], started["builds"]["amazon-ebs.debian"]
    versions = "/buckets/web/versions"
    (draft,) = hcp.registry.get(f"{versions}?status=running")["items"]
    assert draft["status"] == "running" and draft["fingerprint"] == "fp-1"
    done(hcp, "web", "fp-1", ubuntu["id"], "ami-0123456789abcdef0")
    done(hcp, "web", "fp-1", debian["id"], "ami-0123456789abcdef1", labels={"os": "debian"})
    assert hcp.registry.get(f"{versions}?status=running")["items"] == []
    for query in ("status=active", "platform=aws", "region=us-east-1", "labels=os:ubuntu,os:debian"):
        page = hcp.registry.get(f"{versions}?{query}")
        assert [v["name"] for v in page["items"]] == ["v1"], query
    assert hcp.registry.get(f"{versions}?platform=azure")["items"] == []
