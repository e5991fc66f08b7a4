"""Abandoned drafts (issue 21, item 3): a version started through the HCP API that never
completes is listed as abandoned in the compliance report once it has had no build activity
for DRAFT_ABANDONED_AFTER, and a contributor deletes it, with its builds, its id and its SBOM
objects, through either door; a late BUILD_DONE still completes it; deleting is never
automatic. The race of a deletion with the completing BUILD_DONE runs on a moto server.
"""

from __future__ import annotations

import json
import re

import pytest

from chalicelib import storage
from chalicelib.api.hcp import resources
from chalicelib.domain.builds import ArtifactIn, BuildChange
from chalicelib.domain.enums import BuildStatus, TemplateType
from chalicelib.domain.models import CreateBucket
from chalicelib.runtime import aws
from chalicelib.services import buckets, drafts, publishing, sboms
from chalicelib.storage import keys, table
from support import ADMIN_TOKEN, MANIFEST_BUCKET, Hcp, compressed_sbom, count_calls, mint, race, sbom_document, sweep
from support import hcp_build_running as running, start_hcp_version as start

RUN = "8a7f2d3c-1111-4222-8333-944455556666"
SBOM = compressed_sbom(sbom_document("rootfs.cdx-1.5.json"))
SPDX = compressed_sbom(sbom_document("rootfs.spdx-2.3.json"))


@pytest.fixture
def api(registry, monkeypatch) -> Hcp:
    monkeypatch.setenv("DRAFT_ABANDONED_AFTER", "1h")
    return Hcp(registry)


def done(api: Hcp, bucket: str, fingerprint: str, build_id: str, ami: str) -> dict:
    return api.ok("PATCH", f"buckets/{bucket}/versions/{fingerprint}/builds/{build_id}", {
        "artifacts": [{"external_identifier": ami, "region": "us-east-1"}], "platform": "aws",
        "packer_run_uuid": RUN, "status": "BUILD_DONE"})["build"]


def sbom_keys(bucket: str, fingerprint: str) -> list[str]:
    """The SBOM objects stored for the version, each SBOM's id (a ULID) written `<id>`."""
    listed = aws.client("s3").list_objects_v2(Bucket=MANIFEST_BUCKET, Prefix=f"_registry/sboms/{bucket}/{fingerprint}/")
    return sorted(re.sub(r"\.[0-9A-Z]{26}\.", ".<id>.", o["Key"]) for o in listed.get("Contents", []))


def stored(prefix: str, name: str, sbom_format: str) -> list[str]:
    """The keys of one SBOM's two objects (the compressed original and the JSON), as sbom_keys writes them."""
    return [f"{prefix}{name}.<id>.{sbom_format}.json", f"{prefix}{name}.<id>.{sbom_format}.json.zst"]


def packages(bucket: str) -> list[dict]:
    """Every package item of the bucket's SBOMs."""
    return list(table.query_all(keys.bucket_pk(bucket), prefix=keys.PACKAGES))


def abandoned(registry, token: str = ADMIN_TOKEN) -> list[tuple[str, str]]:
    """The report's abandoned drafts as (bucket, fingerprint), checked against its count."""
    report = registry.as_token(token).get("/compliance/report")
    listed = [(d["bucket"], d["fingerprint"]) for d in report["abandoned_drafts"]]
    assert report["counts"]["abandoned_drafts"] == len(listed) and not report["abandoned_drafts_truncated"], report
    return listed


def sdk_delete(api: Hcp, bucket: str, fingerprint: str, token: str) -> tuple[int, dict]:
    """DELETE …/buckets/{bucket_name}/versions/{fingerprint} as hcp-sdk-go's DeleteVersion sends
    it (packer_service_client.go): no body, JSON accepted, `rollback_channels` only when set."""
    response = api.registry.client.http.delete(f"{api.prefix}/buckets/{bucket}/versions/{fingerprint}",
                                               headers={"Accept": "application/json",
                                                        "Authorization": f"Bearer {token}"})
    return response.status_code, json.loads(response.body)


# ---- through the HCP door -------------------------------------------------------------------

def test_a_draft_abandoned_then_deleted_through_the_hcp_door(api, registry, moved_clock):
    builds = start(api, "web", "fp-crashed", "amazon-ebs.app", "null.tool")
    app = builds["amazon-ebs.app"]["id"]
    assert api.ok("PUT", f"buckets/web/versions/fp-crashed/builds/{app}/sboms",
                  {"compressed_sbom": SBOM, "format": "CYCLONEDX", "name": "os"}) == {}
    assert sbom_keys("web", "fp-crashed") == stored(f"_registry/sboms/web/fp-crashed/{app}/", "os", "cyclonedx")
    assert len(packages("web")) == 12
    draft = api.ok("GET", "buckets/web/versions/fp-crashed")["version"]
    assert abandoned(registry) == []  # active a moment ago

    moved_clock.advance(minutes=61)
    report = registry.get("/compliance/report")
    (listed,) = report["abandoned_drafts"]
    assert {k: v for k, v in listed.items() if not k.endswith("_seconds")} == {
        "bucket": "web", "fingerprint": "fp-crashed", "id": draft["id"], "author": "bootstrap-admin",
        "created_at": draft["created_at"], "last_activity_at": listed["last_activity_at"],
        "build_count": 2, "done_builds": 0}
    assert listed["last_activity_at"] > listed["created_at"]  # the builds' heartbeats count
    assert 61 * 60 <= listed["idle_seconds"] <= listed["age_seconds"] < 63 * 60, listed
    assert report["counts"]["abandoned_drafts"] == 1 and report["abandoned_drafts_truncated"] is False

    viewer = mint(registry, "viewer")
    status, answer = sdk_delete(api, "web", "fp-crashed", viewer)
    assert (status, answer["code"]) == (403, 7), answer
    assert abandoned(registry, viewer) == [("web", "fp-crashed")]  # a viewer sees it, cannot delete it

    status, answer = sdk_delete(api, "web", "fp-crashed", mint(registry, "contributor", "ci"))
    assert (status, answer) == (200, {}), answer
    api.fails("GET", "buckets/web/versions/fp-crashed", status=409, code=10)  # Packer would start afresh
    status, answer = sdk_delete(api, "web", "fp-crashed", ADMIN_TOKEN)
    assert (status, answer["code"]) == (404, 5), answer
    assert abandoned(registry) == []
    assert sbom_keys("web", "fp-crashed") == [] and packages("web") == []
    registry.get(f"/buckets/web/versions/{draft['id']}", status=404)  # its id names nothing now
    assert registry.get("/buckets/web/versions")["items"] == []
    leftovers = list(table.query_all(keys.bucket_pk("web"), prefix=keys.draft_sk("fp-crashed")))
    assert leftovers == [] and table.get(keys.resource_id(draft["id"])) is None
    (event,) = [e for e in registry.get("/buckets/web/events")["items"] if e["action"] == "version.deleted"]
    assert (event["actor"], event["target"]) == ("ci", "fp-crashed")
    assert event["before"] == {"fingerprint": "fp-crashed", "id": draft["id"], "status": "running",
                               "builds": ["amazon-ebs.app", "null.tool"]}


def test_a_heartbeat_or_a_late_build_done_takes_a_draft_off_the_list(api, registry, moved_clock):
    """Abandoned is only a label: activity brings a draft back, and a late BUILD_DONE completes
    it as any other (never deleted automatically, even by sweeps long after)."""
    builds = start(api, "web", "fp-late", "amazon-ebs.app")
    app = builds["amazon-ebs.app"]["id"]
    moved_clock.advance(hours=2)
    sweep(registry)
    assert abandoned(registry) == [("web", "fp-late")]
    running(api, "web", "fp-late", app)  # a heartbeat
    assert abandoned(registry) == []
    moved_clock.advance(days=3)
    for _ in range(2):
        sweep(registry)
    assert abandoned(registry) == [("web", "fp-late")]
    assert api.ok("GET", "buckets/web/versions/fp-late")["version"]["status"] == "VERSION_RUNNING"

    done(api, "web", "fp-late", app, "ami-0123456789abcdef0")

    version = api.ok("GET", "buckets/web/versions/fp-late")["version"]
    assert (version["name"], version["status"]) == ("v1", "VERSION_ACTIVE")
    assert registry.get("/buckets/web/channels/latest")["version"] == "v1"
    assert abandoned(registry) == []


def test_deleting_a_complete_version_deletes_the_sboms_its_builds_name(api, registry):
    """DeleteVersion of a complete version is the native deletion (one rule for both doors);
    the SBOMs its builds name (objects and packages) go with it, as a draft's do."""
    app = start(api, "web", "fp-sbom", "amazon-ebs.app")["amazon-ebs.app"]["id"]
    api.ok("PUT", f"buckets/web/versions/fp-sbom/builds/{app}/sboms",
           {"compressed_sbom": SPDX, "format": "SPDX", "name": "os"})
    done(api, "web", "fp-sbom", app, "ami-0123456789abcdef0")
    assert sbom_keys("web", "fp-sbom") == stored(f"_registry/sboms/web/fp-sbom/{app}/", "os", "spdx")
    assert len(packages("web")) == 11
    version_id = registry.get("/buckets/web/versions/v1")["id"]
    assert table.get(keys.resource_id(version_id))

    status, answer = sdk_delete(api, "web", "fp-sbom", mint(registry, "contributor"))

    assert (status, answer) == (200, {}), answer
    registry.get("/buckets/web/versions/v1", status=404)
    registry.get(f"/buckets/web/versions/{version_id}", status=404)
    assert table.get(keys.resource_id(version_id)) is None  # its id names nothing once it is gone
    assert sbom_keys("web", "fp-sbom") == [] and packages("web") == []


def test_an_sbom_put_while_its_draft_is_deleted_is_not_left_behind(api, registry):
    """UploadSbom puts the objects and packages, then names them on its build: a draft deleted
    in between (here right after the first put) leaves what nothing names, which the upload deletes."""
    app = start(api, "web", "fp-gone", "amazon-ebs.app")["amazon-ebs.app"]["id"]
    s3 = aws.client("s3")

    def delete_the_draft(**_) -> None:
        s3.meta.events.unregister("after-call.s3.PutObject", delete_the_draft)
        drafts.delete_draft("web", "fp-gone", "someone")

    s3.meta.events.register("after-call.s3.PutObject", delete_the_draft)
    api.fails("PUT", f"buckets/web/versions/fp-gone/builds/{app}/sboms",
              {"compressed_sbom": SBOM, "format": "CYCLONEDX", "name": "os"}, status=404, code=5)
    assert sbom_keys("web", "fp-gone") == [] and packages("web") == []


# ---- through the native door ----------------------------------------------------------------

def test_a_draft_abandoned_then_deleted_through_the_native_door(api, registry, moved_clock):
    """A native caller names a draft by its fingerprint or its id: `v0` names none of them."""
    start(api, "web", "fp-one", "amazon-ebs.app")
    start(api, "web", "fp-two", "amazon-ebs.app", "null.tool")
    second = api.ok("GET", "buckets/web/versions/fp-two")["version"]
    moved_clock.advance(hours=2)
    assert abandoned(registry) == [("web", "fp-one"), ("web", "fp-two")]

    missing = registry.send("delete", "/buckets/web/versions/v0", status=404)
    assert "fingerprint or id" in missing["message"], missing
    viewer = registry.as_token(mint(registry, "viewer"))
    assert viewer.send("delete", "/buckets/web/versions/fp-one", status=403)["error"] == "Forbidden"
    contributor = registry.as_token(mint(registry, "contributor", "ci"))

    deleted = contributor.send("delete", "/buckets/web/versions/fp-one")
    assert (deleted["name"], deleted["status"], deleted["fingerprint"]) == ("v0", "running", "fp-one")
    assert [b["status"] for b in deleted["builds"]] == ["RUNNING"]
    assert abandoned(registry) == [("web", "fp-two")]
    deleted = contributor.send("delete", f"/buckets/web/versions/{second['id']}")  # by its id
    assert (deleted["fingerprint"], len(deleted["builds"])) == ("fp-two", 2)
    assert abandoned(registry) == []
    registry.get("/buckets/web/versions/fp-two", status=404)
    assert registry.get("/buckets/web/versions")["items"] == []


def test_the_report_lists_abandoned_drafts_oldest_activity_first_after_the_setting(api, registry, moved_clock,
                                                                                   monkeypatch):
    start(api, "a", "fp-old", "null.x")
    moved_clock.advance(minutes=20)
    start(api, "b", "fp-mid", "null.x")
    moved_clock.advance(minutes=20)
    start(api, "a", "fp-new", "null.x")
    moved_clock.advance(minutes=20)
    monkeypatch.setenv("DRAFT_ABANDONED_AFTER", "30m")
    assert abandoned(registry) == [("a", "fp-old"), ("b", "fp-mid")]
    monkeypatch.setenv("DRAFT_ABANDONED_AFTER", "1h30s")
    assert abandoned(registry) == []
    monkeypatch.setenv("DRAFT_ABANDONED_AFTER", "10s")
    assert abandoned(registry) == [("a", "fp-old"), ("b", "fp-mid"), ("a", "fp-new")]
    monkeypatch.setenv("DRAFT_ABANDONED_AFTER", "a day")  # not a duration: the default, 24h
    assert abandoned(registry) == []
    moved_clock.advance(hours=24)
    assert abandoned(registry) == [("a", "fp-old"), ("b", "fp-mid"), ("a", "fp-new")]


def test_the_report_lists_at_most_100_abandoned_drafts(api, registry, moved_clock):
    api.ok("PUT", "buckets", {"name": "many"})
    for n in range(101):
        api.ok("POST", "buckets/many/versions", {"fingerprint": f"fp-{n:03d}"})
    moved_clock.advance(hours=2)
    report = registry.get("/compliance/report")
    assert [d["fingerprint"] for d in report["abandoned_drafts"]] == [f"fp-{n:03d}" for n in range(100)]
    assert (report["counts"]["abandoned_drafts"], report["abandoned_drafts_truncated"]) == (100, True)


def test_the_report_reads_the_drafts_index_only_while_a_draft_may_exist(api, registry, moved_clock):
    """No draft, no Query: the sweep marks the drafts' index idle (domain/sweep_work.py), and a
    new draft notes it again in its own transaction."""
    def report_calls() -> list[str]:
        calls = count_calls(aws.client("dynamodb"))
        registry.get("/compliance/report")
        return list(calls)

    api.ok("PUT", "buckets", {"name": "web"})
    for _ in range(2):
        sweep(registry)
        moved_clock.advance(minutes=2)
    assert report_calls() == ["BatchGetItem", "Query"]  # the counts and last report; the flagged page
    start(api, "web", "fp-1", "null.x")
    assert report_calls() == ["BatchGetItem", "Query", "Query"]  # and the abandoned drafts
    sweep(registry)  # finds the draft: no idle mark
    moved_clock.advance(hours=2)
    sweep(registry)
    assert report_calls() == ["BatchGetItem", "Query", "Query"]
    assert abandoned(registry) == [("web", "fp-1")]
    registry.send("delete", "/buckets/web/versions/fp-1")
    sweep(registry)  # finds none: idle again
    assert report_calls() == ["BatchGetItem", "Query"]


# ---- a deletion racing the completing BUILD_DONE ----------------------------------------------

TRIALS = 16


def test_deleting_a_draft_while_its_last_build_completes_it_never_leaves_half(moto_server):
    """The HCP door's DeleteVersion of a draft races the UpdateBuild that completes it. Either
    the version completed (v1 with its builds, id and SBOM; nothing of the draft left) and the
    deletion, having read the draft, answered 409; or nothing of it is left, SBOM objects
    included: the deletion won (the BUILD_DONE answered 404), or it came after the completion
    and read a complete version, which it deleted as DeleteVersion does. Never a complete
    version deleted by a deletion that read a draft, never half of either."""
    outcomes = []
    for trial in range(TRIALS):
        bucket, fingerprint = f"race{trial}", "fp-race"
        buckets.create(CreateBucket(name=bucket), "test")
        draft = publishing.create_version(bucket, fingerprint, TemplateType.HCL2, "test")
        _, build = publishing.create_build(bucket, fingerprint, BuildChange(
            component_type="amazon-ebs.app", packer_run_uuid=RUN, status=BuildStatus.RUNNING), "test")
        sboms.upload(bucket, fingerprint, build.id, "os", "CYCLONEDX", SBOM, "test")
        finishing = BuildChange(status=BuildStatus.DONE, platform="aws", packer_run_uuid=RUN,
                                artifacts=[ArtifactIn(f"ami-{trial:017x}", "us-east-1")])
        results: dict[str, str] = {}

        def delete() -> None:
            resources.delete_version(bucket, fingerprint, False, "deleter")
            results["delete"] = "ok"

        def complete() -> None:
            publishing.update_build(bucket, fingerprint, build.id, finishing, "packer")
            results["done"] = "ok"

        assert race(delete, complete, tolerated=(400, 404, 409)) == []
        draft_items = list(table.query_all(keys.bucket_pk(bucket), prefix=keys.draft_sk(fingerprint)))
        number = storage.versions.fingerprint_number(bucket, fingerprint)
        id_item = table.get(keys.resource_id(draft.id))
        stored_sboms = sbom_keys(bucket, fingerprint)
        assert draft_items == [], (trial, draft_items)
        if number is None:  # deleted, the draft or the complete version
            assert results.get("delete") == "ok" and (id_item, stored_sboms) == (None, []), (trial, results)
            assert packages(bucket) == [], trial
            assert storage.versions.with_builds(bucket, 1) == (None, []), trial
            outcomes.append("deleted after completing" if "done" in results else "deleted")
        else:
            assert (results, number) == ({"done": "ok"}, 1), trial
            version, recorded = storage.versions.with_builds(bucket, 1)
            assert version and version.id == draft.id and [b.id for b in recorded] == [build.id], trial
            assert id_item and (id_item["fingerprint"], id_item["bucket"]) == (fingerprint, bucket), trial
            assert stored_sboms == stored(f"_registry/sboms/{bucket}/{fingerprint}/{build.id}/", "os", "cyclonedx"), trial
            assert len(packages(bucket)) == 12, trial
            outcomes.append("completed")
    print("outcomes:", {o: outcomes.count(o) for o in set(outcomes)})
