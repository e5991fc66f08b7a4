"""Versions through the HCP API (issue 13, item 3): UpdateVersion (revoke now or later,
restore) and DeleteVersion through the native lifecycle, with its cascade to descendants and
its rollback of channels; the revocation fields GetVersion carries (MODEL §1.2, §2.4,
HCP-API-COMPAT.md §8). One registry: what one door changes, the other shows."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from support import RFC3339, Hcp, build_chain, child_manifest, ingest, manifest, mint

NOT_REVOKED = "Restoring does not apply. This version is valid and it is not scheduled to be revoked."


@pytest.fixture
def api(registry) -> Hcp:
    return Hcp(registry)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


@pytest.fixture
def family(api):
    """base v1, v2 (r1, r2); production on v1 then v2; child v1 built from base v2."""
    ingest(api.registry, "base", "r1", "r2")
    api.ok("POST", "buckets/base/channels", {"name": "production", "version_fingerprint": "r1"})
    api.ok("PATCH", "buckets/base/channels/production", {"update_mask": "versionFingerprint", "version_fingerprint": "r2"})
    api.registry.upload("child/m.json", child_manifest(parent_bucket="base", parent_version="v2"))
    assert api.registry.get("/buckets/child/versions/v1")["parents"][0]["version"] == "v2"
    return api


def test_revoking_now_cascades_to_children_and_rolls_channels_back(family):
    api = family
    base_v2 = api.ok("GET", "buckets/base/versions/r2")["version"]
    answer = api.ok("PATCH", "buckets/base/versions/r2", {"revoke_at": rfc3339(datetime.now(timezone.utc)),
                                                          "revocation_message": "CVE-2026-1"})
    version = answer["version"]
    assert (version["status"], version["revocation_message"], version["revocation_type"]) == (
        "VERSION_REVOKED", "CVE-2026-1", "MANUAL")
    assert version["revocation_author"] == "bootstrap-admin" and RFC3339.fullmatch(version["revoke_at"])
    assert version["builds"] and "revocation_inherited_from" not in version
    assert answer["operation"]["state"] == "DONE" and answer["operation"]["id"]

    # the native door sees the same: revoked, production and latest rolled back to v1
    assert api.registry.get("/buckets/base/versions/v2")["status"] == "revoked"
    assert api.registry.get("/buckets/base/channels/production")["version"] == "v1"
    assert api.registry.get("/buckets/base/channels/latest")["version"] == "v1"
    child = api.registry.get("/buckets/child/versions/v1")
    assert (child["status"], child["revocation"]["revocation_type"]) == ("revoked", "inherited")
    # and the HCP door too
    assert api.ok("GET", "buckets/base/channels/production")["channel"]["version"]["name"] == "v1"
    history = api.ok("GET", "buckets/base/channels/production/history")["history"]
    assert [e["version"]["name"] for e in history] == ["v1", "v2", "v1"]
    inherited = api.ok("GET", f"buckets/child/versions/{child['fingerprint']}")["version"]
    assert (inherited["status"], inherited["revocation_type"], inherited["revocation_message"]) == (
        "VERSION_REVOKED", "INHERITED", "CVE-2026-1")
    assert inherited["revocation_inherited_from"] == {
        "bucket_name": "base", "version_name": "v2", "version_fingerprint": "r2", "version_id": base_v2["id"]}
    listed = api.ok("GET", "buckets/child/versions")["versions"][0]
    assert listed["revocation_inherited_from"] == inherited["revocation_inherited_from"]

    # a revoked version changes only by being restored; a child under a revoked parent not at all
    assert "revoked" in api.fails("PATCH", "buckets/base/versions/r2", {"revoke_in": "0s"}, status=400, code=9)["message"]
    api.fails("PATCH", "buckets/base/versions/r2", {"complete": True}, status=400, code=9)
    answer = api.fails("PATCH", f"buckets/child/versions/{child['fingerprint']}", {"restore": True}, status=400, code=9)
    assert "base/v2" in answer["message"]


def test_a_past_time_or_0s_revokes_at_once_with_the_flags_the_native_api_takes(family):
    api = family
    answer = api.ok("PATCH", "buckets/base/versions/r2", {"revoke_in": "0s", "disable_rollback_channels": True,
                                                          "skip_descendants_revocation": True})
    assert answer["version"]["status"] == "VERSION_REVOKED"
    production = api.ok("GET", "buckets/base/channels/production")["channel"]
    assert production["version"]["name"] == "v2" and production["version"]["status"] == "VERSION_REVOKED"
    assert api.ok("GET", "buckets/base/channels/latest")["channel"]["version"]["name"] == "v1"  # latest moves anyway
    assert api.registry.get("/buckets/child/versions/v1")["status"] == "active"
    # no message: the registry keeps a reason anyway
    answer = api.ok("PATCH", "buckets/base/versions/r1", {"revoke_at": "2020-01-01T00:00:00+02:00"})["version"]
    assert answer["status"] == "VERSION_REVOKED" and answer["revocation_message"]


def test_a_future_time_schedules_and_restore_cancels(family):
    api = family
    at = datetime.now(timezone.utc) + timedelta(days=3)
    scheduled = api.ok("PATCH", "buckets/base/versions/r2", {"revoke_at": rfc3339(at), "revocation_message": "EOL"})
    version = scheduled["version"]
    assert (version["status"], version["revocation_message"], version["revocation_type"]) == (
        "VERSION_REVOCATION_SCHEDULED", "EOL", "MANUAL")
    assert RFC3339.fullmatch(version["revoke_at"]) and version["revoke_at"][:16] == rfc3339(at)[:16]
    assert api.registry.get("/buckets/base/versions/v2")["status"] == "revocation_scheduled"
    assert api.ok("GET", "buckets/base/channels/production")["channel"]["version"]["name"] == "v2"  # still served

    in_30d = api.ok("PATCH", "buckets/base/versions/r2", {"revoke_in": "30d"})["version"]  # rescheduled
    assert in_30d["status"] == "VERSION_REVOCATION_SCHEDULED" and in_30d["revoke_at"] > version["revoke_at"]
    restored = api.ok("PATCH", "buckets/base/versions/r2", {"restore": True})["version"]
    assert (restored["status"], restored["revoke_at"]) == ("VERSION_ACTIVE", None)
    assert not {"revocation_message", "revocation_type", "revocation_author"} & set(restored)
    assert api.registry.get("/buckets/base/versions/v2")["status"] == "active"


def test_restore_through_hcp_restores_descendants_and_latest_not_user_channels(family):
    api = family
    api.ok("PATCH", "buckets/base/versions/r2", {"revoke_in": "0s", "revocation_message": "CVE"})
    # what hcp-sdk-go sends for the restore: Go's zero time in the revoke_at it leaves unset
    answer = api.ok("PATCH", "buckets/base/versions/r2", {"restore": True, "revoke_at": "0001-01-01T00:00:00.000Z"})
    assert answer["version"]["status"] == "VERSION_ACTIVE" and answer["version"]["revoke_at"] is None
    assert api.registry.get("/buckets/child/versions/v1")["status"] == "active"
    assert api.ok("GET", "buckets/base/channels/latest")["channel"]["version"]["name"] == "v2"
    assert api.ok("GET", "buckets/base/channels/production")["channel"]["version"]["name"] == "v1"
    answer = api.fails("PATCH", "buckets/base/versions/r2", {"restore": True}, status=400, code=9)
    assert answer["message"] == NOT_REVOKED


def test_native_revocation_reads_as_revoked_through_hcp(family):
    api = family
    api.registry.send("post", "/buckets/base/versions/v2/revoke", {"reason": "bad kernel"})
    version = api.ok("GET", "buckets/base/versions/r2")["version"]
    assert (version["status"], version["revocation_message"]) == ("VERSION_REVOKED", "bad kernel")
    assert api.ok("GET", "buckets/base/channels/production")["channel"]["version"]["name"] == "v1"
    child = api.ok("GET", "buckets/child/versions")["versions"][0]
    assert (child["status"], child["revocation_type"]) == ("VERSION_REVOKED", "INHERITED")


def test_update_version_refuses_what_it_cannot_do(api):
    ingest(api.registry, "base", "r1")
    for body, field in (({}, "revoke_at"), ({"restore": True, "revoke_in": "1h"}, "not both"),
                        ({"revoke_in": "soon"}, "revoke_in"), ({"revoke_at": "yesterday"}, "revoke_at"),
                        ({"revoke_in": "1h", "revoke_at": "2030-01-01T00:00:00Z"}, "revoke_at"),
                        ({"restore": "yes"}, "restore"), ({"revoke_in": "0s", "revocation_message": 5}, "message")):
        assert field in api.fails("PATCH", "buckets/base/versions/r1", body, status=400, code=3)["message"], body
    assert api.registry.get("/buckets/base/versions/v1")["status"] == "active"
    assert api.ok("PATCH", "buckets/base/versions/r1", {"complete": True})["version"]["status"] == "VERSION_ACTIVE"
    api.fails("PATCH", "buckets/base/versions/nope", {"revoke_in": "0s"}, status=404, code=5)
    answer = api.fails("PATCH", "buckets/nope/versions/r1", {"revoke_in": "0s"}, status=404, code=5)
    assert answer["message"] == "The bucket with identifier nope does not exist."
    api.ok("POST", "buckets/base/versions", {"fingerprint": "draft-1"})  # still being built
    for body in ({"revoke_in": "0s"}, {"complete": True}, {"restore": True}):
        api.fails("PATCH", "buckets/base/versions/draft-1", body, status=400, code=9)
    viewer = api.as_token(mint(api.registry, "viewer"))
    viewer.fails("PATCH", "buckets/base/versions/r1", {"revoke_in": "0s"}, status=403, code=7)
    viewer.fails("DELETE", "buckets/base/versions/r1", status=403, code=7)


def test_delete_version_follows_the_native_rules(family):
    api = family
    answer = api.fails("DELETE", "buckets/base/versions/r2", status=400, code=9)
    assert answer["message"].startswith("Version is assigned by channels: production. ")
    api.fails("DELETE", "buckets/base/versions/nope", status=404, code=5)
    api.fails("DELETE", "buckets/base/versions/r2?rollback_channels=maybe", status=400, code=3)
    assert api.registry.get("/buckets/base/versions/v2")["status"] == "active"  # nothing gone

    assert api.ok("DELETE", "buckets/base/versions/r2?rollback_channels=true") == {}
    api.fails("GET", "buckets/base/versions/r2", status=409, code=10)  # GetVersion's miss, as Packer expects
    assert api.ok("GET", "buckets/base/channels/production")["channel"]["version"]["name"] == "v1"
    assert api.ok("GET", "buckets/base/channels/latest")["channel"]["version"]["name"] == "v1"
    assert api.ok("GET", "buckets/base")["bucket"]["version_count"] == "1"
    api.registry.get("/buckets/base/versions/v2", status=404)

    # `latest` alone never holds a version back: it moves to the newest one left
    ingest(api.registry, "base", "r3")
    assert api.ok("DELETE", "buckets/base/versions/r3") == {}
    assert api.ok("GET", "buckets/base/channels/latest")["channel"]["version"]["name"] == "v1"
    api.ok("POST", "buckets/base/versions", {"fingerprint": "draft-1"})  # a draft is deleted too (issue 21)
    assert api.ok("DELETE", "buckets/base/versions/draft-1") == {}
    api.fails("GET", "buckets/base/versions/draft-1", status=409, code=10)


# ---- ancestry (ListBucketAncestry, MODEL §1.6) ----------------------------------------------------

def relations(api: Hcp, bucket: str, query: str = "") -> list[tuple]:
    """(parent bucket/version, channel, channel's version now, child bucket/version, status) of each relation."""
    answer = api.ok("GET", f"buckets/{bucket}/ancestry" + (f"?{query}" if query else ""))
    assert answer["total_count"] == len(answer["relations"])
    return [(f"{r['parent']['bucket_name']}/{r['parent']['version_name']}", r["parent"].get("channel_name"),
             (r["parent"].get("channel_version") or {}).get("name"),
             f"{r['child']['bucket_name']}/{r['child']['version_name']}", r["status"]) for r in answer["relations"]]


def test_bucket_ancestry_lists_parents_and_children_with_their_status(api, registry):
    build_chain(registry)  # base v1 on production → child v1 (from production) → grandchild v1 (by its AMI)
    (relation,) = api.ok("GET", "buckets/base/ancestry?type=ANCESTRY_TYPE_CHILDREN")["relations"]
    base_v1 = api.ok("GET", "buckets/base/versions")["versions"][-1]
    child_v1 = api.ok("GET", "buckets/child/versions")["versions"][0]
    assert relation == {
        "parent": {"bucket_name": "base", "version_name": "v1", "version_fingerprint": base_v1["fingerprint"],
                   "version_id": base_v1["id"], "channel_name": "production",
                   "channel_version": {"fingerprint": base_v1["fingerprint"], "id": base_v1["id"], "name": "v1"}},
        "child": {"bucket_name": "child", "version_fingerprint": child_v1["fingerprint"], "version_id": child_v1["id"],
                  "version_name": "v1"},
        "status": "UP_TO_DATE"}
    assert relations(api, "base", "type=ANCESTRY_TYPE_PARENTS") == []  # base was built from nothing known
    # unset type: the latest version's parents, then the children
    assert relations(api, "child") == [("base/v1", "production", "v1", "child/v1", "UP_TO_DATE"),
                                       ("child/v1", None, None, "grandchild/v1", "UP_TO_DATE")]
    assert relations(api, "child", f"type=ANCESTRY_TYPE_PARENTS&version_fingerprint={child_v1['fingerprint']}") == [
        ("base/v1", "production", "v1", "child/v1", "UP_TO_DATE")]

    # production moves on: the child is out of date, one registry
    registry.send("patch", "/buckets/base/channels/production", {"version": "v2"})
    assert relations(api, "base") == [("base/v1", "production", "v2", "child/v1", "OUT_OF_DATE")]
    assert relations(api, "base", "channel_name=production") == relations(api, "base")
    assert relations(api, "base", "channel_name=latest") == []  # not built from `latest`
    # a revoked parent that spared its children: out of date too (HCP Packer has no revoked status)
    registry.send("post", "/buckets/base/versions/v1/revoke", {"reason": "CVE", "skip_descendants_revocation": True})
    assert relations(api, "base")[0][-1] == "OUT_OF_DATE"


def test_bucket_ancestry_children_come_in_pages(api, registry):
    build_chain(registry)
    registry.upload("other/m.json", manifest({"name": "svc", "packer_run_uuid": "other-1", "custom_data": {
        "bucket_name": "other", "parent_bucket": "base", "parent_version": "v3"}}))
    first = api.ok("GET", "buckets/base/ancestry?type=ANCESTRY_TYPE_CHILDREN&pagination.page_size=1")
    assert first["total_count"] == 1 and first["pagination"]["next_page_token"]
    rest = api.ok("GET", "buckets/base/ancestry?type=ANCESTRY_TYPE_CHILDREN&pagination.next_page_token="
                         + first["pagination"]["next_page_token"])
    assert rest["pagination"] == {}
    assert {r["child"]["bucket_name"] for r in first["relations"] + rest["relations"]} == {"child", "other"}
    api.fails("GET", "buckets/base/ancestry?pagination.next_page_token=forged", status=400, code=3)


def test_bucket_ancestry_refuses_what_it_cannot_answer_and_hides_restricted_channels(api, registry):
    build_chain(registry)
    api.fails("GET", "buckets/base/ancestry?type=ANCESTRY_TYPE_COUSINS", status=400, code=3)
    api.fails("GET", "buckets/nope/ancestry", status=404, code=5)
    api.fails("GET", "buckets/base/ancestry?version_fingerprint=nope", status=404, code=5)
    api.fails("GET", "buckets/base/ancestry?channel_name=canary", status=404, code=5)
    api.ok("PUT", "buckets", {"name": "empty"})
    assert relations(api, "empty") == []  # no version yet: no parents, no children

    registry.send("patch", "/buckets/base/channels/production", {"restricted": True})
    viewer = api.as_token(mint(registry, "viewer"))
    assert relations(viewer, "base") == [("base/v1", None, None, "child/v1", "UP_TO_DATE")]
    viewer.fails("GET", "buckets/base/ancestry?channel_name=production", status=404, code=5)  # as an unknown one
    assert relations(api, "base")[0][1] == "production"
