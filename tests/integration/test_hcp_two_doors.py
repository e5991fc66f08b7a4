"""One registry, two doors: what the HCP API publishes, the native API shows, and back; parents
arrive as the ids Packer sends, with the native rules (link status, inherited revocation).

Through the HTTP entry points: the HCP routes with the bodies Packer sends
(HCP-API-COMPAT.md §2.2), the native routes with the admin token.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from support import ADMIN, manifest, mint


def _hcp(registry: Any, method: str, path: str, body: Any = None, status: int = 200) -> Any:
    response = getattr(registry.client.http, method)(
        path, body=json.dumps(body) if body is not None else b"",
        headers={"Content-Type": "application/json", **ADMIN})
    assert response.status_code == status, (method, path, response.status_code, response.body)
    return json.loads(response.body)


@pytest.fixture
def hcp(registry: Any) -> Any:
    """The HCP API's project prefix, with helpers to publish a version as Packer does."""
    org = _hcp(registry, "get", "/resource-manager/2019-12-10/organizations")["organizations"][0]["id"]
    project = _hcp(registry, "get", f"/resource-manager/2019-12-10/projects?scope.id={org}"
                                    "&scope.type=ORGANIZATION")["projects"][0]["id"]

    class Hcp:
        prefix = f"/packer/2023-01-01/organizations/{org}/projects/{project}"

        def call(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
            return _hcp(registry, method, self.prefix + path, body, status)

        def publish(self, bucket: str, fingerprint: str, components: list[str], platform: str = "aws",
                    done: list[str] | None = None, run: str = "run-1",
                    made: dict[str, tuple[str, list[dict[str, str]]]] | None = None, **parents: str) -> dict[str, str]:
            """Packer's sequence up to `done` of the components in `done` (default: all), as
            the Packer run `run`; `made` gives a component's platform and artifacts (default:
            `platform` and one AMI named after the fingerprint); the build ids by component."""
            if not self._has(bucket):
                self.call("put", "/buckets", {"name": bucket})
            self.call("post", f"/buckets/{bucket}/versions", {"fingerprint": fingerprint, "template_type": "HCL2"})
            ids = {}
            for component in components:
                build = self.call("post", f"/buckets/{bucket}/versions/{fingerprint}/builds", {
                    "artifacts": None, "component_type": component, "packer_run_uuid": run,
                    "status": "BUILD_UNSET"})["build"]
                ids[component] = build["id"]
            for component in done if done is not None else components:
                path = f"/buckets/{bucket}/versions/{fingerprint}/builds/{ids[component]}"
                self.call("patch", path, {"artifacts": None, "packer_run_uuid": run, "status": "BUILD_RUNNING"})
                its_platform, artifacts = (made or {}).get(component) or (
                    platform, [{"external_identifier": f"ami-{fingerprint}-{component}", "region": "us-east-1"}])
                self.call("patch", path, {
                    "artifacts": artifacts, "labels": {"os": "debian"}, "metadata": {"packer": {"version": "1.16.0"}},
                    "packer_run_uuid": run, "platform": its_platform, "status": "BUILD_DONE", **parents})
            return ids

        def _has(self, bucket: str) -> bool:
            response = registry.client.http.get(f"{self.prefix}/buckets/{bucket}", headers=ADMIN)
            return response.status_code == 200

    return Hcp()


def test_a_published_version_is_complete_in_the_native_api_with_its_hcp_fields(registry, hcp):
    hcp.publish("base", "fp-1", ["amazon-ebs.a", "amazon-ebs.b"])
    version = registry.get("/buckets/base/versions/v1")
    assert version["status"] == "active" and version["fingerprint"] == "fp-1" and version["build_count"] == 2
    assert {b["status"] for b in version["builds"]} == {"DONE"}
    assert registry.get("/buckets/base/channels/latest")["version"] == "v1"
    served = registry.get("/buckets/base/channels/latest/artifact?platform=aws&region=us-east-1")
    assert served["external_id"] in {"ami-fp-1-amazon-ebs.a", "ami-fp-1-amazon-ebs.b"}
    # The same version through the HCP door: named v1, active, found by id natively too.
    hcp_version = hcp.call("get", "/buckets/base/versions/fp-1")["version"]
    assert hcp_version["name"] == "v1" and hcp_version["status"] == "VERSION_ACTIVE"
    assert registry.get(f"/buckets/base/versions/{hcp_version['id']}")["name"] == "v1"
    events = [e["action"] for e in registry.all_pages("/buckets/base/events")]
    assert events.count("version.created") == 1


def test_a_running_version_is_shown_but_never_served_assigned_or_numbered(registry, hcp):
    hcp.publish("base", "fp-1", ["amazon-ebs.a", "amazon-ebs.b"], done=["amazon-ebs.a"])
    shown = registry.get("/buckets/base/versions/fp-1")
    assert shown["status"] == "running" and shown["name"] == "v0"
    assert sorted(b["status"] for b in shown["builds"]) == ["DONE", "UNSET"]
    assert registry.get("/buckets/base/versions")["items"][0]["status"] == "running"
    registry.send("post", "/buckets/base/channels", {"name": "prod", "version": "fp-1"}, status=409)
    registry.send("post", "/buckets/base/versions/fp-1/revoke", {"reason": "no"}, status=409)
    registry.get("/buckets/base/channels/latest/artifact?platform=aws&region=us-east-1", status=404)
    # A manifest ingested meanwhile takes v1: the draft has no number to hold.
    registry.upload("base/packer-manifest.json", manifest({"custom_data": {"fingerprint": "from-s3"}}))
    assert registry.get("/buckets/base/versions/from-s3")["name"] == "v1"


def test_an_ingested_version_reads_through_the_hcp_door_with_what_the_clients_dereference(registry, hcp):
    registry.upload("base/packer-manifest.json", manifest({"custom_data": {"fingerprint": "fp-s3"}}))
    version = hcp.call("get", "/buckets/base/versions/fp-s3")["version"]
    assert version["name"] == "v1" and version["status"] == "VERSION_ACTIVE" and version["id"]
    (build,) = version["builds"]
    assert build["status"] == "BUILD_DONE" and build["version_id"] == version["id"]
    assert build["platform"] == "aws" and build["artifacts"][0]["region"] == "us-east-1"
    assert version.get("revoke_at") is None


def test_parents_arrive_as_ids_and_follow_the_native_rules(registry, hcp):
    hcp.publish("base", "base-1", ["amazon-ebs.a"])
    parent = hcp.call("get", "/buckets/base/channels/latest")["channel"]
    parent_version = parent["version"]
    hcp.publish("app", "app-1", ["amazon-ebs.a"], parent_version_id=parent_version["id"],
                parent_channel_id=parent["id"], source_external_identifier="ami-base-1-amazon-ebs.a")
    ancestry = registry.get("/buckets/app/versions/v1/ancestry")
    (link,) = ancestry["parents"]
    assert (link["bucket"], link["version"], link["channel"], link["found_by"]) == \
        ("base", "v1", "latest", "parent_version")
    assert link["status"] == "up_to_date"
    # The parent revoked: a child published afterwards on it is revoked on arrival.
    registry.send("post", "/buckets/base/versions/v1/revoke", {"reason": "CVE"})
    hcp.publish("app", "app-2", ["amazon-ebs.a"], parent_version_id=parent_version["id"])
    child = registry.get("/buckets/app/versions/v2")
    assert child["status"] == "revoked" and child["revocation"]["inherited_from"] == "base/v1"
    # v1 inherited the revocation too (a descendant of base/v1): `latest` holds neither.
    assert registry.get("/buckets/app/versions/v1")["status"] == "revoked"
    assert registry.get("/buckets/app/channels/latest")["version"] is None


def test_an_unknown_parent_id_is_kept_unresolved_not_guessed(registry, hcp):
    hcp.publish("app", "app-1", ["amazon-ebs.a"], parent_version_id="01ARZ3NDEKTSV4RRFFQ69G5FAV")
    version = registry.get("/buckets/app/versions/v1")
    assert version["parents"] in (None, [])
    assert version["unresolved"][0]["version_id"] == "01ARZ3NDEKTSV4RRFFQ69G5FAV"


def test_a_parent_id_naming_nothing_is_undetermined_saying_packer_reported_it(registry, hcp):
    hcp.publish("app", "app-1", ["amazon-ebs.a"], parent_version_id="01ARZ3NDEKTSV4RRFFQ69G5FAV")
    version = registry.get("/buckets/app/versions/v1")
    assert version["ancestry_status"] == "undetermined"
    assert version["ancestry_findings"] == [{
        "status": "undetermined", "message": "parent not found: no complete version with id "
                                             "'01ARZ3NDEKTSV4RRFFQ69G5FAV' in the registry",
        "how": "reported by Packer through the HCP API: parent_version_id"}]
    assert registry.get("/compliance/report")["counts"]["undetermined"] == 1


def test_a_parent_reported_by_packer_says_so(registry, hcp):
    hcp.publish("base", "base-1", ["amazon-ebs.a"])
    parent = hcp.call("get", "/buckets/base/channels/latest")["channel"]
    hcp.publish("app", "app-1", ["amazon-ebs.a"], parent_version_id=parent["version"]["id"],
                parent_channel_id=parent["id"], source_external_identifier="ami-base-1-amazon-ebs.a")
    (link,) = registry.get("/buckets/app/versions/v1/ancestry")["parents"]
    assert link["how"] == "reported by Packer through the HCP API: parent_version_id, parent_channel_id"
    assert registry.get("/buckets/app/versions/v1")["parents"][0]["how"] == link["how"]


@pytest.mark.parametrize(("platform", "source"), [("null", "null"), ("packer.file", "<no-defined-source-file>"),
                                                  ("aws", "")])
def test_the_null_and_file_builders_placeholder_sources_are_no_parent_hint(registry, hcp, platform, source):
    hcp.publish("local", "local-1", ["null.a"], platform=platform, source_external_identifier=source)
    version = registry.get("/buckets/local/versions/v1")
    assert (version["ancestry_status"], version.get("untracked"), version.get("unresolved")) == (None, None, None)
    assert registry.get("/compliance/report")["counts"] == {**registry.get("/compliance/report")["counts"],
                                                            "undetermined": 0, "unresolved_parents": 0}


def test_an_untracked_source_packer_reports_is_information_in_both_doors(registry, hcp):
    hcp.publish("web", "web-1", ["amazon-ebs.a"], source_external_identifier="ami-0123456789abcdef0")
    version = registry.get("/buckets/web/versions/v1")
    assert version["ancestry_status"] is None and version.get("unresolved") is None
    assert [u["message"] for u in version["untracked"]] == ["source not tracked: ami-0123456789abcdef0 (us-east-1)"]
    assert registry.get("/compliance/report")["counts"]["undetermined"] == 0
    ancestry = hcp.call("get", "/buckets/web/ancestry")
    assert ancestry["relations"] == []
    assert ancestry["untracked_sources"] == [{
        "version_fingerprint": "web-1", "source_external_identifier": "ami-0123456789abcdef0", "region": "us-east-1",
        "message": "source not tracked: ami-0123456789abcdef0 (us-east-1)"}]
    build = hcp.call("get", "/buckets/web/versions/web-1")["version"]["builds"][0]
    assert build["source_external_identifier"] == "ami-0123456789abcdef0"  # as Packer reported it


def test_set_once_fields_answer_as_hcp_packer_was_seen_answering(registry, hcp):
    """§8: another parent id is HTTP 400 code 6, another platform HTTP 409 code 6; the same
    value again is a no-op."""
    hcp.publish("base", "base-1", ["amazon-ebs.a"])
    parent_id = hcp.call("get", "/buckets/base/versions/base-1")["version"]["id"]
    ids = hcp.publish("app", "app-1", ["amazon-ebs.a", "amazon-ebs.b"], done=[])
    path = f"/buckets/app/versions/app-1/builds/{ids['amazon-ebs.a']}"
    hcp.call("patch", path, {"status": "BUILD_RUNNING", "platform": "aws", "parent_version_id": parent_id})
    hcp.call("patch", path, {"status": "BUILD_RUNNING", "platform": "aws", "parent_version_id": parent_id})
    other = hcp.call("patch", path, {"parent_version_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV"}, status=400)
    assert other["code"] == 6 and "parent_version_id" in other["message"]
    assert hcp.call("patch", path, {"platform": "azure"}, status=409)["code"] == 6


def test_deleting_a_bucket_is_a_contributors_through_either_door(registry, hcp):
    """As HCP Packer's Contributor role may (issue 23); a viewer may not, through either door."""
    for bucket in ("doomed", "doomed-too"):
        hcp.call("put", "/buckets", {"name": bucket})
    viewer = {"Authorization": f"Bearer {mint(registry, 'viewer')}"}
    response = registry.client.http.delete(f"{hcp.prefix}/buckets/doomed", headers=viewer)
    assert (response.status_code, json.loads(response.body)["code"]) == (403, 7)
    registry.as_token(viewer["Authorization"].split()[1]).send("delete", "/buckets/doomed", status=403)
    contributor = {"Authorization": f"Bearer {mint(registry, 'contributor')}"}
    response = registry.client.http.delete(f"{hcp.prefix}/buckets/doomed", headers=contributor)
    assert (response.status_code, json.loads(response.body)) == (200, {})
    registry.as_token(contributor["Authorization"].split()[1]).send("delete", "/buckets/doomed-too")
    registry.get("/buckets/doomed", status=404)
    registry.get("/buckets/doomed-too", status=404)


# ---- one Packer run through both doors: one version (domain/duplicates.py) ----------------

RUN = "0b7e2c1a-5d4f-4e3a-9c2b-8f6e1d2c3b4a"
AMI_EAST, AMI_WEST = "ami-0d0e0f0a0b0c0d0e1", "ami-0d0e0f0a0b0c0d0e2"
# One run of two sources as the HCP door gets it (what the plugins report to HCP Packer) ...
HCP_BUILDS = {"amazon-ebs.ubuntu": ("aws", [{"external_identifier": AMI_EAST, "region": "us-east-1"},
                                            {"external_identifier": AMI_WEST, "region": "eu-west-1"}]),
              "file.notes": ("packer.file", [{"external_identifier": "notes.txt", "region": "."}])}


def run_manifest(run: str = RUN, amis: str = f"us-east-1:{AMI_EAST},eu-west-1:{AMI_WEST}") -> dict:
    """... and as its manifest post-processor writes it (the file builder's artifact is `File`)."""
    return manifest({"name": "ubuntu", "builder_type": "amazon-ebs", "artifact_id": amis, "packer_run_uuid": run},
                    {"name": "notes", "builder_type": "file", "artifact_id": "File", "packer_run_uuid": run,
                     "files": [{"name": "notes.txt", "size": 5}]})


def ingestion_of(registry: Any, key: str) -> dict:
    (record,) = [i for i in registry.all_pages("/ingestions") if i["key"] == key]
    return record


def version_names(registry: Any, bucket: str) -> list[str]:
    return sorted(v["name"] for v in registry.all_pages(f"/buckets/{bucket}/versions"))


def actions(registry: Any, bucket: str) -> list[str]:
    return [e["action"] for e in registry.all_pages(f"/buckets/{bucket}/events")]


def test_the_manifest_of_a_run_published_through_hcp_is_recorded_against_its_version(registry, hcp):
    hcp.publish("base", "git-0a1b2c", list(HCP_BUILDS), run=RUN, made=HCP_BUILDS)
    event = registry.upload("base/packer-manifest.json", run_manifest())

    record = ingestion_of(registry, "base/packer-manifest.json")
    assert record["status"] == "duplicate" and record["reasons"] == [], record
    (recorded,) = record["versions"]
    assert {k: v for k, v in recorded.items() if k != "duplicate"} == {
        "bucket": "base", "version": "v1", "fingerprint": RUN, "builds_added": 0, "created": False}
    why = recorded["duplicate"]
    assert why.startswith("duplicate of v1 (fingerprint git-0a1b2c)") and f"same Packer run ({RUN})" in why, why
    assert f"aws us-east-1 {AMI_EAST}" in why and "packer.file file.notes" in why, why
    assert version_names(registry, "base") == ["v1"]
    assert registry.get("/buckets/base/channels/latest")["version"] == "v1"
    assert registry.get("/buckets/base/versions/v1")["build_count"] == 2
    assert actions(registry, "base").count("version.created") == 1 and "ingestion.duplicate" in actions(registry, "base")
    # A re-delivery of the object finds its record; the same manifest under another key is a duplicate again.
    registry.deliver(event)
    registry.upload("base/again.json", run_manifest())
    assert [i["status"] for i in registry.all_pages("/ingestions")] == ["duplicate", "duplicate"]
    assert version_names(registry, "base") == ["v1"]


def test_an_hcp_publish_of_a_run_whose_manifest_came_first_completes_into_its_version(registry, hcp):
    registry.upload("base/packer-manifest.json", run_manifest())
    assert ingestion_of(registry, "base/packer-manifest.json")["status"] == "accepted"
    registry.send("post", "/buckets/base/channels", {"name": "production"}, 201)

    hcp.publish("base", "git-0a1b2c", list(HCP_BUILDS), run=RUN, made=HCP_BUILDS)  # every call answered 200

    # Packer's fingerprint names the version the manifest made, complete: a re-run of
    # `packer build` with it is told so, and a channel is assigned by it.
    version = hcp.call("get", "/buckets/base/versions/git-0a1b2c")["version"]
    assert (version["name"], version["status"], version["fingerprint"]) == ("v1", "VERSION_ACTIVE", RUN), version
    assert sorted(b["component_type"] for b in version["builds"]) == ["amazon-ebs.ubuntu", "file.notes"]
    assert hcp.call("post", "/buckets/base/versions", {"fingerprint": "git-0a1b2c"}, status=409)["code"] == 6
    hcp.call("patch", "/buckets/base/channels/production",
             {"update_mask": "versionFingerprint", "version_fingerprint": "git-0a1b2c"})
    assert registry.get("/buckets/base/channels/production")["version"] == "v1"
    assert version_names(registry, "base") == ["v1"]
    assert registry.get("/buckets/base/versions/git-0a1b2c")["name"] == "v1"
    assert registry.get("/buckets/base/channels/latest")["version"] == "v1"
    assert actions(registry, "base").count("version.created") == 1 and "version.duplicate" in actions(registry, "base")
    # Deleting the version takes the fingerprint with it: the next publish makes a version again.
    registry.send("delete", "/buckets/base/versions/v1?rollback_channels=true")
    assert hcp.call("get", "/buckets/base/versions/git-0a1b2c", status=409)["code"] == 10
    hcp.publish("base", "git-0a1b2c", list(HCP_BUILDS), run=RUN, made=HCP_BUILDS)
    assert hcp.call("get", "/buckets/base/versions/git-0a1b2c")["version"]["name"] == "v2"


def test_a_manifest_of_several_runs_is_judged_run_by_run(registry, hcp):
    hcp.publish("base", "git-0a1b2c", list(HCP_BUILDS), run=RUN, made=HCP_BUILDS)
    both = run_manifest()
    both["builds"] += run_manifest("a-later-run", "us-east-1:ami-0f0f0f0f0f0f0f0f1")["builds"]
    registry.upload("base/packer-manifest.json", both)

    record = ingestion_of(registry, "base/packer-manifest.json")
    assert record["status"] == "accepted", record
    assert [(v["version"], v["fingerprint"], v["created"], bool(v["duplicate"])) for v in record["versions"]] == [
        ("v1", RUN, False, True), ("v2", "a-later-run", True, False)]
    assert version_names(registry, "base") == ["v1", "v2"]
    assert registry.get("/buckets/base/channels/latest")["version"] == "v2"


def test_a_run_whose_artifacts_span_two_versions_or_add_to_one_goes_in_as_before(registry, hcp):
    east, west = {"amazon-ebs.ubuntu": HCP_BUILDS["amazon-ebs.ubuntu"]}, {}
    west["amazon-ebs.ubuntu"] = ("aws", east["amazon-ebs.ubuntu"][1][1:])
    east["amazon-ebs.ubuntu"] = ("aws", east["amazon-ebs.ubuntu"][1][:1])
    hcp.publish("base", "east", ["amazon-ebs.ubuntu"], run=RUN, made=east)
    hcp.publish("base", "west", ["amazon-ebs.ubuntu"], run=RUN, made=west)
    assert version_names(registry, "base") == ["v1", "v2"]

    spanning = manifest({"artifact_id": f"us-east-1:{AMI_EAST},eu-west-1:{AMI_WEST}", "packer_run_uuid": RUN})
    registry.upload("base/spanning.json", spanning)
    adding = manifest({"artifact_id": f"us-east-1:{AMI_EAST},us-west-2:ami-0a0a0a0a0a0a0a0a3", "packer_run_uuid": RUN,
                       "custom_data": {"fingerprint": "adding"}})
    registry.upload("base/adding.json", adding)

    assert [ingestion_of(registry, k)["status"] for k in ("base/spanning.json", "base/adding.json")] == ["accepted"] * 2
    assert version_names(registry, "base") == ["v1", "v2", "v3", "v4"]
    assert registry.get("/buckets/base/channels/latest")["version"] == "v4"


def test_a_local_builders_artifact_is_the_same_only_from_the_same_packer_run(registry, hcp):
    hcp.publish("notes", "git-0a1b2c", ["file.notes"], run=RUN, made=HCP_BUILDS)
    later = manifest({"name": "notes", "builder_type": "file", "artifact_id": "File", "packer_run_uuid": "a-later-run",
                      "files": [{"name": "notes.txt", "size": 5}]})
    registry.upload("notes/later.json", later)  # the same file name, written by another run
    same = manifest({**later["builds"][0], "packer_run_uuid": RUN})
    registry.upload("notes/same.json", same)

    assert ingestion_of(registry, "notes/later.json")["versions"][0]["created"] is True
    assert ingestion_of(registry, "notes/same.json")["versions"][0]["version"] == "v1"
    assert ingestion_of(registry, "notes/same.json")["status"] == "duplicate"
    assert version_names(registry, "notes") == ["v1", "v2"]
