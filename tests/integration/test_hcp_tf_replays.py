"""Replays of terraform-provider-hcp's call sequences (HCP-API-COMPAT.md §3, bodies as go-swagger
writes them: `restricted: false` and an empty fingerprint omitted) for the paths a real
`terraform apply` reaches only on error or not at will: `latest` adopted after code 6, a
duplicate channel, the list the assignment resource checks before it PATCHes, the data sources
on revoked and scheduled versions, and the run task's key. The provider's reactions quoted are
those of 0.111.0 (`internal/providersdkv2/resource_packer_channel*.go`, `resource_packer_run_task.go`,
`internal/provider/packer/datasources/`); tests/e2e/test_hcp_terraform.py runs the real one.
Reading a bucket after its deletion (HTTP 404, so Terraform drops it from state) is
tests/integration/test_hcp_api.py::test_hcp_packer_bucket_as_terraform_drives_it.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from support import RFC3339, Hcp, ingest, mint

ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
ASSIGN_MASK = "versionFingerprint"


@pytest.fixture
def api(registry) -> Hcp:
    return Hcp(registry)


def channels(api: Hcp, bucket: str) -> dict[str, dict]:
    """ListChannels as the provider reads it for every channel resource: by name."""
    return {channel["name"]: channel for channel in api.ok("GET", f"buckets/{bucket}/channels")["channels"]}


def test_creating_latest_is_code_6_and_the_list_shows_it_managed_so_the_provider_adopts_it(api):
    """resourcePackerChannelCreate: CreateChannel; on body code 6 the list; a `managed` entry is
    adopted with the fields state keeps, an unmanaged one is an error ("use terraform import")."""
    api.ok("PUT", "buckets", {"name": "app"})

    api.fails("POST", "buckets/app/channels", {"name": "latest"}, status=409, code=6)

    latest = channels(api, "app")["latest"]
    assert (latest["managed"], latest["restricted"], latest["author_id"]) == (True, True, "HCP Packer"), latest
    assert ULID.match(latest["id"]) and RFC3339.match(latest["created_at"]) and RFC3339.match(latest["updated_at"])
    # Destroy skips DeleteChannel for a managed channel; were it sent, it is refused (§8).
    api.fails("DELETE", "buckets/app/channels/latest", status=400, code=3)
    assert channels(api, "app")["latest"]["id"] == latest["id"]


def test_a_duplicate_channel_is_code_6_and_listed_unmanaged(api):
    api.ok("PUT", "buckets", {"name": "app"})
    created = api.ok("POST", "buckets/app/channels", {"name": "release", "restricted": True})["channel"]
    assert (created["name"], created["restricted"], created["managed"], created["version"]) == (
        "release", True, False, None), created

    api.fails("POST", "buckets/app/channels", {"name": "release"}, status=409, code=6)

    listed = channels(api, "app")["release"]
    assert (listed["id"], listed["managed"], listed["restricted"]) == (created["id"], False, True), listed
    assert api.ok("DELETE", "buckets/app/channels/release") == {}
    assert sorted(channels(api, "app")) == ["latest"]


def test_the_assignment_resource_reads_the_list_then_patches_and_unassigns(api):
    """resourcePackerChannelAssignmentCreate refuses, client side, a missing channel, a `managed`
    one, and one whose `version` has a vN name, an id or a fingerprint: so a new channel lists
    `version: null`, and `latest` lists `managed: true` although it holds a version. Delete is the
    PATCH with the mask and no fingerprint; the PATCH answer must carry `channel`."""
    ingest(api.registry, "app", "r1", "r2")
    api.ok("POST", "buckets/app/channels", {"name": "release"})
    listed = channels(api, "app")
    assert listed["release"]["version"] is None and "version" in listed["release"], listed["release"]
    assert listed["latest"]["managed"] is True and listed["latest"]["version"]["name"] == "v2", listed["latest"]

    assigned = api.ok("PATCH", "buckets/app/channels/release", {"update_mask": ASSIGN_MASK, "version_fingerprint": "r1"})
    assert assigned["channel"]["version"]["fingerprint"] == "r1", assigned
    assert channels(api, "app")["release"]["version"]["fingerprint"] == "r1"  # Read

    unassigned = api.ok("PATCH", "buckets/app/channels/release", {"update_mask": ASSIGN_MASK})
    assert unassigned["channel"]["version"] is None, unassigned
    assert channels(api, "app")["release"]["version"] is None
    assert api.registry.get("/buckets/app/channels/release")["version"] is None
    # `latest` assigned by hand is refused by the server as well (§8)
    api.fails("PATCH", "buckets/app/channels/latest", {"update_mask": ASSIGN_MASK, "version_fingerprint": "r1"},
              status=400, code=9)


def test_the_data_sources_read_revoke_at_only_when_a_revocation_exists(api):
    """data hcp_packer_version (GetChannel) and hcp_packer_artifact (GetVersion by fingerprint):
    `revoke_at` counts as set when it is not Go's zero time, and "" reads as 1970, so a version
    never revoked has none (null); a revoked or scheduled one has an RFC 3339 time."""
    ingest(api.registry, "app", "r1", "r2", "r3")
    api.ok("POST", "buckets/app/channels", {"name": "release"})
    api.ok("PATCH", "buckets/app/channels/release", {"update_mask": ASSIGN_MASK, "version_fingerprint": "r2"})

    version = api.ok("GET", "buckets/app/channels/release")["channel"]["version"]
    for field in ("id", "name", "fingerprint", "bucket_name", "author_id", "created_at", "updated_at", "status"):
        assert version.get(field), (field, version)
    assert version.get("revoke_at") is None and version["status"] == "VERSION_ACTIVE", version
    by_fingerprint = api.ok("GET", "buckets/app/versions/r2")["version"]
    assert by_fingerprint["fingerprint"] == "r2" and by_fingerprint.get("revoke_at") is None, by_fingerprint
    for build in by_fingerprint["builds"]:
        assert build["platform"] and build["component_type"] and ULID.match(build["id"]), build
        assert build["packer_run_uuid"] and isinstance(build["labels"], dict), build
        for artifact in build["artifacts"]:
            assert ULID.match(artifact["id"]) and RFC3339.match(artifact["created_at"]), artifact
            assert artifact["external_identifier"] and artifact["region"], artifact

    api.registry.send("post", "/buckets/app/versions/v3/revoke", {"reason": "later", "revoke_in": "1h"})
    scheduled = api.ok("GET", "buckets/app/versions/r3")["version"]
    assert scheduled["status"] == "VERSION_REVOCATION_SCHEDULED" and RFC3339.match(scheduled["revoke_at"]), scheduled
    assert parse(scheduled["revoke_at"]) > datetime.now(timezone.utc), scheduled

    api.registry.send("post", "/buckets/app/versions/v2/revoke", {"reason": "CVE", "disable_rollback_channels": True})
    revoked = api.ok("GET", "buckets/app/channels/release")["channel"]["version"]
    assert revoked["status"] == "VERSION_REVOKED" and RFC3339.match(revoked["revoke_at"]), revoked
    assert parse(revoked["revoke_at"]) <= datetime.now(timezone.utc), revoked


def parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def test_the_run_task_resource_reads_the_url_and_key_and_regenerates_with_an_empty_body(api):
    """hcp_packer_run_task: Read is GET validation (`api_url`, `hmac_key`); `regenerate_hmac`
    PATCHes runtasks/hmac with an empty body (go-swagger sends none for a nil body) or `null`."""
    admin = api.as_token(mint(api.registry, "admin"))  # the key is an admin's (issue 22)
    first = admin.ok("GET", "runtasks/validation")
    assert first["api_url"].startswith("http") and first["hmac_key"], first
    assert admin.ok("GET", "runtasks/validation") == first  # Read again: nothing changes

    regenerated = admin.ok("PATCH", "runtasks/hmac", raw=b"")
    assert regenerated["hmac_key"] and regenerated["hmac_key"] != first["hmac_key"], regenerated
    again = admin.ok("PATCH", "runtasks/hmac", raw=b"null")
    assert again["hmac_key"] not in (first["hmac_key"], regenerated["hmac_key"]), again
    assert admin.ok("GET", "runtasks/validation") == {"api_url": first["api_url"], "hmac_key": again["hmac_key"]}
