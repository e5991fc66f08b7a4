"""Channels through the HCP API (issue 13, item 1): create, delete and the assignment history,
sharing the native channels' rules (managed `latest`, restricted, history), and the call
sequences of terraform-provider-hcp's `hcp_packer_channel` and `hcp_packer_channel_assignment`
(HCP-API-COMPAT.md §3, §8)."""

from __future__ import annotations

import pytest

from support import RFC3339, Hcp, ingest, mint

MANAGED = "Can't delete managed channel latest, it's controlled by HCP Packer"


@pytest.fixture
def api(registry) -> Hcp:
    return Hcp(registry)


def test_create_a_channel_empty_restricted_or_holding_a_version(api):
    ingest(api.registry, "base", "r1", "r2")
    created = api.ok("POST", "buckets/base/channels", {"name": "production", "version_fingerprint": "r1"})["channel"]
    assert (created["name"], created["managed"], created["restricted"]) == ("production", False, False)
    assert created["version"]["fingerprint"] == "r1" and created["version"]["name"] == "v1"
    assert created["version"]["builds"][0]["artifacts"] and created["author_id"] == "bootstrap-admin"
    assert api.ok("GET", "buckets/base/channels/production")["channel"] == created
    # one registry: the native API shows it, with its history
    assert api.registry.get("/buckets/base/channels/production")["version"] == "v1"
    assert [e["to_version"] for e in api.registry.get("/buckets/base/channels/production/history")["items"]] == ["v1"]

    staging = api.ok("POST", "buckets/base/channels", {"name": "staging", "restricted": True})["channel"]
    assert (staging["restricted"], staging["version"]) == (True, None) and "version" in staging
    assert api.registry.get("/buckets/base/channels/staging")["restricted"] is True


def test_create_refuses_duplicates_latest_and_what_cannot_be_assigned(api):
    ingest(api.registry, "base", "r1", "r2")
    api.ok("POST", "buckets/base/channels", {"name": "production"})
    answer = api.fails("POST", "buckets/base/channels", {"name": "production"}, status=409, code=6)
    assert answer["message"] == "The channel with identifier production already exists."
    answer = api.fails("POST", "buckets/base/channels", {"name": "latest"}, status=409, code=6)
    assert answer["message"] == "The channel with identifier latest already exists."
    answer = api.fails("POST", "buckets/nope/channels", {"name": "production"}, status=404, code=5)
    assert answer["message"] == "The bucket with identifier nope does not exist."
    assert "name" in api.fails("POST", "buckets/base/channels", {"restricted": True}, status=400, code=3)["message"]
    assert "name" in api.fails("POST", "buckets/base/channels", {"name": "Bad Name!"}, status=400, code=3)["message"]
    api.fails("POST", "buckets/base/channels", {"name": "x1", "restricted": "yes"}, status=400, code=3)
    api.fails("POST", "buckets/base/channels", {"name": "canary", "version_fingerprint": "nope"}, status=404, code=5)

    api.registry.send("post", "/buckets/base/versions/v1/revoke", {"reason": "CVE"})
    answer = api.fails("POST", "buckets/base/channels", {"name": "canary", "version_fingerprint": "r1"},
                       status=400, code=9)
    assert "revoked" in answer["message"]
    api.ok("POST", "buckets/base/versions", {"fingerprint": "draft-1"})  # a version still being built
    api.fails("POST", "buckets/base/channels", {"name": "canary", "version_fingerprint": "draft-1"}, status=400, code=9)
    assert "canary" not in [c["name"] for c in api.ok("GET", "buckets/base/channels")["channels"]]


def test_delete_a_channel_and_its_history_but_never_latest(api):
    ingest(api.registry, "base", "r1")
    api.ok("POST", "buckets/base/channels", {"name": "production", "version_fingerprint": "r1"})
    assert api.ok("DELETE", "buckets/base/channels/production") == {}
    api.fails("GET", "buckets/base/channels/production", status=404, code=5)
    api.registry.get("/buckets/base/channels/production", status=404)
    answer = api.fails("DELETE", "buckets/base/channels/production", status=404, code=5)
    assert answer["message"] == "The channel with identifier production does not exist."

    answer = api.fails("DELETE", "buckets/base/channels/latest", status=400, code=3)
    assert answer["message"] == MANAGED
    assert api.ok("GET", "buckets/base/channels/latest")["channel"]["version"]["name"] == "v1"
    # recreated with the same name, it starts a new history
    api.ok("POST", "buckets/base/channels", {"name": "production"})
    assert api.ok("GET", "buckets/base/channels/production/history")["history"] == []


def test_history_lists_the_assignments_newest_first_in_pages(api):
    ingest(api.registry, "base", "r1", "r2")
    api.ok("POST", "buckets/base/channels", {"name": "production", "version_fingerprint": "r1"})
    api.ok("PATCH", "buckets/base/channels/production", {"update_mask": "versionFingerprint", "version_fingerprint": "r2"})
    api.ok("PATCH", "buckets/base/channels/production", {"update_mask": "versionFingerprint"})  # unassigned

    answer = api.ok("GET", "buckets/base/channels/production/history")
    assert answer["count"] == 3 and answer["pagination"] == {}
    assert [e["version"] and e["version"]["fingerprint"] for e in answer["history"]] == [None, "r2", "r1"]
    assert {e["author_id"] for e in answer["history"]} == {"bootstrap-admin"}
    assert all(RFC3339.fullmatch(e["assigned_at"]) for e in answer["history"])
    assigned = answer["history"][1]["version"]
    assert (assigned["name"], assigned["status"], assigned["revoke_at"]) == ("v2", "VERSION_ACTIVE", None)

    first = api.ok("GET", "buckets/base/channels/production/history?pagination.page_size=2")
    assert first["count"] == 2 and first["pagination"]["next_page_token"]
    rest = api.ok("GET", "buckets/base/channels/production/history?pagination.next_page_token="
                         + first["pagination"]["next_page_token"])
    assert [e["version"]["name"] for e in rest["history"]] == ["v1"] and rest["pagination"] == {}
    api.fails("GET", "buckets/base/channels/production/history?pagination.next_page_token=forged", status=400, code=3)

    latest = api.ok("GET", "buckets/base/channels/latest/history")["history"]
    assert [(e["version"]["name"], e["author_id"]) for e in latest] == [("v2", "HCP Packer"), ("v1", "HCP Packer")]
    answer = api.fails("GET", "buckets/base/channels/canary/history", status=404, code=5)
    assert answer["message"] == "The channel with identifier canary does not exist."


def test_a_viewer_reads_no_restricted_history_and_changes_no_channel(api, registry):
    ingest(registry, "base", "r1")
    api.ok("POST", "buckets/base/channels", {"name": "production", "version_fingerprint": "r1"})
    api.ok("POST", "buckets/base/channels", {"name": "secret", "restricted": True, "version_fingerprint": "r1"})
    viewer = api.as_token(mint(registry, "viewer"))
    for channel in ("latest", "secret", "unknown"):  # a restricted channel does not exist for a viewer
        assert viewer.fails("GET", f"buckets/base/channels/{channel}/history", status=404, code=5)["message"] \
            == f"The channel with identifier {channel} does not exist."
        viewer.fails("GET", f"buckets/base/channels/{channel}", status=404, code=5)
    assert [e["version"]["name"] for e in viewer.ok("GET", "buckets/base/channels/production/history")["history"]] \
        == ["v1"]
    assert [c["name"] for c in viewer.ok("GET", "buckets/base/channels")["channels"]] == ["production"]
    viewer.fails("POST", "buckets/base/channels", {"name": "mine"}, status=403, code=7)
    viewer.fails("DELETE", "buckets/base/channels/production", status=403, code=7)


# ---- terraform-provider-hcp's call sequences (HCP-API-COMPAT.md §3) ----------------------------

def test_hcp_packer_channel_create_update_adopt_latest_and_delete(api):
    """`hcp_packer_channel`: create (restricted), update (`restricted` under the mask, false
    omitted), read from the list, adopt `latest` after code 6, delete (skipped for managed)."""
    api.ok("PUT", "buckets", {"name": "base"})
    created = api.ok("POST", "buckets/base/channels", {"name": "prod", "restricted": True})["channel"]
    assert created["restricted"] is True and created["managed"] is False and created["id"]
    updated = api.ok("PATCH", "buckets/base/channels/prod", {"update_mask": "restricted"})["channel"]
    assert updated["restricted"] is False and updated["id"] == created["id"]
    listed = {c["name"]: c for c in api.ok("GET", "buckets/base/channels")["channels"]}
    assert listed["prod"]["restricted"] is False and listed["prod"]["created_at"] == created["created_at"]

    # adopting `latest`: code 6, then the list, then a PATCH of its restriction
    assert api.fails("POST", "buckets/base/channels", {"name": "latest"}, status=409, code=6)
    latest = next(c for c in api.ok("GET", "buckets/base/channels")["channels"] if c["name"] == "latest")
    assert latest["managed"] is True
    opened = api.ok("PATCH", "buckets/base/channels/latest", {"update_mask": "restricted"})["channel"]
    assert opened["restricted"] is False and opened["id"] == latest["id"]

    assert api.ok("DELETE", "buckets/base/channels/prod") == {}
    assert [c["name"] for c in api.ok("GET", "buckets/base/channels")["channels"]] == ["latest"]


def test_hcp_packer_channel_assignment_assigns_reads_and_unassigns(api):
    """`hcp_packer_channel_assignment`: list, PATCH the fingerprint (the answer must carry
    `channel`), read `channels[].version.fingerprint`, delete = PATCH without it."""
    ingest(api.registry, "base", "r1", "r2")
    api.ok("POST", "buckets/base/channels", {"name": "prod"})
    listed = {c["name"]: c for c in api.ok("GET", "buckets/base/channels")["channels"]}
    assert listed["prod"]["version"] is None and listed["prod"]["managed"] is False
    answer = api.ok("PATCH", "buckets/base/channels/prod",
                    {"update_mask": "versionFingerprint", "version_fingerprint": "r1"})
    assert answer["channel"]["version"]["fingerprint"] == "r1"
    listed = {c["name"]: c for c in api.ok("GET", "buckets/base/channels")["channels"]}
    assert listed["prod"]["version"]["fingerprint"] == "r1" and listed["latest"]["version"]["fingerprint"] == "r2"
    answer = api.ok("PATCH", "buckets/base/channels/prod", {"update_mask": "versionFingerprint"})
    assert answer["channel"]["version"] is None
    assert api.registry.get("/buckets/base/channels/prod")["version"] is None
