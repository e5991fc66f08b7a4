"""Enforced provisioner blocks through the HCP API (issue 23, item 1): the eleven EnforcedBlock
operations and GetEnforcedBlocksByBucket, which Packer 1.16 reads at build start (the real
`packer build` runs them in tests/e2e/test_hcp_enforced.py; the SDK's models judge the wire in
tests/clients/hcp-sdk-go/enforced_test.go)."""

from __future__ import annotations

import hashlib
import json
import time

import pytest

from chalicelib import storage
from chalicelib.domain.enforced import NewBlock, NewVersion
from chalicelib.domain.models import CreateBucket
from chalicelib.services import buckets, enforced
from support import RFC3339, TABLE, Hcp, count_calls, mint, race, trials

HARDEN = 'provisioner "shell-local" {\n  inline = ["echo hardened"]\n}\n'
AGENT = '{"provisioner": [{"shell-local": {"inline": ["echo agent"]}}]}'
ULID_LENGTH = 26


@pytest.fixture
def api(registry) -> Hcp:
    return Hcp(registry)


def create(api: Hcp, name: str = "hardening", content: str = HARDEN, **extra) -> dict:
    return api.ok("PUT", "enforced_blocks", {"name": name, "block_content": content, **extra})["enforced_block"]


def link(api: Hcp, block: dict, version_id: str, *buckets: str) -> list[dict]:
    return api.ok("POST", f"enforced_blocks/{block['id']}/versions/{version_id}/buckets",
                  {"bucket_names": list(buckets)})["enforced_block_buckets"]


def by_bucket(api: Hcp, bucket: str) -> list[dict]:
    return api.ok("GET", f"enforced_blocks/bucket/{bucket}")["enforced_block_detail"]


def test_a_block_is_created_with_its_first_version_read_listed_and_renamed(api):
    block = create(api, labels={"team": "security"}, version="1.0.0", additional_description="CIS level 1")
    first = block["latest_version"]
    assert len(block["id"]) == ULID_LENGTH and block["name"] == "hardening" and block["labels"] == {"team": "security"}
    assert block["resource_name"].endswith(f"/enforced_block/{block['id']}") and block["location"]["project_id"]
    assert (first["version"], first["block_content"], first["template_type"], first["additional_description"]) == (
        "1.0.0", HARDEN, "HCL2", "CIS level 1")
    assert first["enforced_block_id"] == block["id"] and RFC3339.fullmatch(first["created_at"])
    assert api.ok("GET", f"enforced_blocks/{block['id']}")["enforced_block"] == block

    create(api, "agent", AGENT, template_type="JSON")
    listed = api.ok("GET", "enforced_blocks?pagination.page_size=1")
    assert [b["name"] for b in listed["enforced_blocks"]] == ["agent"] and "latest_version" not in listed[
        "enforced_blocks"][0]
    token = listed["pagination"]["next_page_token"]
    assert [b["name"] for b in api.ok("GET", f"enforced_blocks?pagination.next_page_token={token}")[
        "enforced_blocks"]] == ["hardening"]

    renamed = api.ok("PATCH", f"enforced_blocks/{block['id']}", {"update_mask": "name", "name": "cis hardening"})
    assert renamed["enforced_block"]["name"] == "cis hardening" and renamed["enforced_block"]["labels"] == {
        "team": "security"}
    cleared = api.ok("PATCH", f"enforced_blocks/{block['id']}", {"updateMask": "labels"})["enforced_block"]
    assert "labels" not in cleared and cleared["name"] == "cis hardening"
    create(api, "hardening")  # the old name is free again
    answer = api.fails("PATCH", f"enforced_blocks/{block['id']}", {"update_mask": "name", "name": "agent"},
                       status=409, code=6)
    assert answer["message"] == "An enforced block named agent already exists."
    answer = api.fails("PUT", "enforced_blocks", {"name": "agent", "block_content": HARDEN}, status=409, code=6)
    assert answer["message"] == "An enforced block named agent already exists."


def test_what_a_block_may_hold_is_checked_and_named(api):
    assert "block_content" in api.fails("PUT", "enforced_blocks", {"name": "x"}, status=400, code=3)["message"]
    assert "name" in api.fails("PUT", "enforced_blocks", {"block_content": HARDEN}, status=400, code=3)["message"]
    answer = api.fails("PUT", "enforced_blocks", {"name": "x", "block_content": "echo hi"}, status=400, code=3)
    assert "no provisioner block" in answer["message"]
    answer = api.fails("PUT", "enforced_blocks", {"name": "x", "block_content": HARDEN + "#" * 40_000},
                       status=400, code=3)
    assert "32,768 bytes" in answer["message"]
    assert "name" in api.fails("PUT", "enforced_blocks", {"name": " x", "block_content": HARDEN},
                               status=400, code=3)["message"]
    assert "version" in api.fails("PUT", "enforced_blocks", {"name": "x", "block_content": HARDEN, "version": "a b"},
                                  status=400, code=3)["message"]
    api.fails("PUT", "enforced_blocks", {"name": "x", "block_content": HARDEN, "template_type": "YAML"},
              status=400, code=3)
    block = create(api)
    api.fails("PATCH", f"enforced_blocks/{block['id']}", {"name": "y"}, status=400, code=3)  # no update_mask
    answer = api.fails("PATCH", f"enforced_blocks/{block['id']}", {"update_mask": "name"}, status=400, code=3)
    assert answer["message"] == "name is required"
    answer = api.fails("PATCH", f"enforced_blocks/{block['id']}", {"update_mask": "name,blockContent"},
                       status=400, code=3)
    assert "block_content" in answer["message"] and answer["details"][0]["field_violations"][0]["field"] == \
        "body.update_mask"
    for missing in ("01ARZ3NDEKTSV4RRFFQ69G5FAV", "not-an-id", "a" * 3000):
        answer = api.fails("GET", f"enforced_blocks/{missing}", status=404, code=5)
        assert answer["message"].startswith("The enforced block with identifier")
    api.fails("GET", f"enforced_blocks/{block['id']}/versions/01ARZ3NDEKTSV4RRFFQ69G5FAV/buckets", status=404, code=5)


def test_versions_are_labelled_listed_newest_first_described_and_deleted(api):
    block = create(api)
    path = f"enforced_blocks/{block['id']}/versions"
    second = api.ok("PUT", path, {"block_content": AGENT, "template_type": "JSON"})["enforced_block_version"]
    assert (second["version"], second["template_type"]) == ("2", "JSON")  # unlabelled: its number
    third = api.ok("PUT", path, {"block_content": HARDEN, "version": "v3"})["enforced_block_version"]
    answer = api.fails("PUT", path, {"block_content": HARDEN, "version": "v3"}, status=409, code=6)
    assert answer["message"] == "Version v3 of enforced block hardening already exists."
    details = api.ok("GET", path)["enforced_block_detail"]
    assert [d["version"]["version"] for d in details] == ["v3", "2", "1"]
    assert {(d["id"], d["name"]) for d in details} == {(block["id"], "hardening")}
    assert api.ok("GET", f"enforced_blocks/{block['id']}")["enforced_block"]["latest_version"] == third

    described = api.ok("PATCH", f"{path}/{second['id']}", {"update_mask": "additionalDescription",
                                                           "additional_description": "the agent"})
    assert described["enforced_block_version"]["additional_description"] == "the agent"
    assert described["enforced_block_version"]["block_content"] == AGENT
    api.fails("PATCH", f"{path}/{second['id']}", {"update_mask": "blockContent", "block_content": HARDEN},
              status=400, code=3)  # a version's text never changes

    assert api.ok("DELETE", f"{path}/{third['id']}") == {}
    api.fails("DELETE", f"{path}/{third['id']}", status=404, code=5)
    assert api.ok("GET", f"enforced_blocks/{block['id']}")["enforced_block"]["latest_version"]["id"] == second["id"]
    assert api.ok("PUT", path, {"block_content": HARDEN, "version": "v3"})["enforced_block_version"]["version"] == "v3"


def test_a_linked_version_is_what_packer_reads_for_the_bucket_one_version_of_a_block_at_a_time(api):
    for name in ("base", "app", "other"):
        api.ok("PUT", "buckets", {"name": name})
    hardening, agent = create(api), create(api, "agent", AGENT, template_type="JSON")
    v1 = hardening["latest_version"]["id"]
    links = link(api, hardening, v1, "base", "app")
    assert [(b["enforced_block_id"], b["enforced_block_version_id"]) for b in links] == [(hardening["id"], v1)] * 2
    buckets = {b["name"]: b["id"] for b in api.ok("GET", "buckets")["buckets"]}
    assert sorted(b["bucket_id"] for b in links) == sorted([buckets["base"], buckets["app"]])
    link(api, agent, agent["latest_version"]["id"], "base")

    details = by_bucket(api, "base")
    assert [(d["id"], d["name"], d["version"]["block_content"]) for d in details] == [
        (hardening["id"], "hardening", HARDEN), (agent["id"], "agent", AGENT)]  # in the order linked
    assert details[0]["version"] == hardening["latest_version"]
    assert by_bucket(api, "other") == []
    answer = api.fails("GET", "enforced_blocks/bucket/nope", status=404, code=5)  # Packer ignores code 5
    assert answer["message"] == "The bucket with identifier nope does not exist."

    v2 = api.ok("PUT", f"enforced_blocks/{hardening['id']}/versions", {"block_content": HARDEN.replace(
        "hardened", "hardened twice")})["enforced_block_version"]
    answer = api.fails("POST", f"enforced_blocks/{hardening['id']}/versions/{v2['id']}/buckets",
                       {"bucket_names": ["app"]}, status=400, code=9)
    assert answer["message"].startswith("Bucket app has version 1 of enforced block hardening linked")
    link(api, hardening, v1, "base")  # the set: app unlinked
    assert by_bucket(api, "app") == []
    link(api, hardening, v2["id"], "app")
    assert by_bucket(api, "app")[0]["version"]["id"] == v2["id"]

    linked = api.ok("GET", f"enforced_blocks/{hardening['id']}/versions/{v1}/buckets")["linked_buckets"]
    assert [(b["bucket"]["name"], b["enforced_block_version_id"]) for b in linked] == [("base", v1)]
    assert linked[0]["bucket"]["id"] == buckets["base"]
    answer = api.fails("POST", f"enforced_blocks/{hardening['id']}/versions/{v1}/buckets",
                       {"bucket_names": ["base", "nope"]}, status=404, code=5)
    assert answer["message"] == "The bucket with identifier nope does not exist."
    api.fails("POST", f"enforced_blocks/{hardening['id']}/versions/{v1}/buckets", {"bucket_names": "base"},
              status=400, code=3)
    assert [d["id"] for d in by_bucket(api, "base")] == [hardening["id"], agent["id"]]  # nothing changed


def test_linked_versions_and_blocks_are_not_deleted_and_unlinking_everywhere_frees_them(api):
    api.ok("PUT", "buckets", {"name": "base"})
    block = create(api)
    v1 = block["latest_version"]["id"]
    link(api, block, v1, "base")
    answer = api.fails("DELETE", f"enforced_blocks/{block['id']}/versions/{v1}", status=400, code=9)
    assert answer["message"].startswith("Version 1 of enforced block hardening is linked to buckets: base.")
    answer = api.fails("DELETE", f"enforced_blocks/{block['id']}", status=400, code=9)
    assert answer["message"].startswith("Enforced block hardening has versions linked to buckets: base.")

    assert api.ok("POST", f"enforced_blocks/{block['id']}/versions/{v1}/buckets", {}) == {
        "enforced_block_buckets": []}  # none: unlinked everywhere
    assert by_bucket(api, "base") == []
    assert api.ok("DELETE", f"enforced_blocks/{block['id']}") == {}
    api.fails("GET", f"enforced_blocks/{block['id']}", status=404, code=5)
    api.fails("GET", f"enforced_blocks/{block['id']}/versions", status=404, code=5)
    api.fails("DELETE", f"enforced_blocks/{block['id']}", status=404, code=5)
    assert api.ok("GET", "enforced_blocks")["enforced_blocks"] == []
    create(api)  # its name is free
    from chalicelib.runtime import aws
    items = aws.client("dynamodb").query(TableName=TABLE, KeyConditionExpression="PK = :p",
                                         ExpressionAttributeValues={":p": {"S": f"ENFORCED#{block['id']}"}})["Items"]
    assert items == []  # its versions, labels and links went with it


def test_renaming_a_block_or_describing_a_version_reaches_the_buckets_it_is_linked_to(api):
    names = [f"b{i}" for i in range(3)]
    for name in names:
        api.ok("PUT", "buckets", {"name": name})
    block = create(api)
    v1 = block["latest_version"]
    link(api, block, v1["id"], *names)
    api.ok("PATCH", f"enforced_blocks/{block['id']}", {"update_mask": "name", "name": "cis"})
    api.ok("PATCH", f"enforced_blocks/{block['id']}/versions/{v1['id']}",
           {"update_mask": "additionalDescription", "additional_description": "level 2"})
    version = api.ok("GET", f"enforced_blocks/{block['id']}")["enforced_block"]["latest_version"]
    for name in names:
        (detail,) = by_bucket(api, name)
        assert (detail["name"], detail["version"]) == ("cis", version)


def test_a_bucket_deleted_takes_its_links_with_it(api):
    api.ok("PUT", "buckets", {"name": "base"})
    block = create(api)
    v1 = block["latest_version"]["id"]
    link(api, block, v1, "base")
    assert api.ok("DELETE", "buckets/base") == {}
    assert api.ok("GET", f"enforced_blocks/{block['id']}/versions/{v1}/buckets")["linked_buckets"] == []
    assert api.ok("DELETE", f"enforced_blocks/{block['id']}/versions/{v1}") == {}  # no longer linked
    api.ok("PUT", "buckets", {"name": "base"})  # the same name again: nothing enforced
    assert by_bucket(api, "base") == []


def test_packer_reads_a_buckets_blocks_in_one_query(api):
    from chalicelib.runtime import aws

    api.ok("PUT", "buckets", {"name": "base"})
    for name in ("one", "two", "three"):
        block = create(api, name)
        link(api, block, block["latest_version"]["id"], "base")
    path = f"{api.prefix}/enforced_blocks/bucket/base"
    calls = count_calls(aws.client("dynamodb"))
    assert len(api.ok("GET", path)["enforced_block_detail"]) == 3
    assert calls == ["Query"]


def test_viewers_read_contributors_manage(api):
    api.ok("PUT", "buckets", {"name": "base"})
    block = create(api)
    viewer = api.as_token(mint(api.registry, "viewer"))
    contributor = api.as_token(mint(api.registry, "contributor", name="builder"))
    assert viewer.ok("GET", f"enforced_blocks/{block['id']}")["enforced_block"]["name"] == "hardening"
    viewer.ok("GET", "enforced_blocks")
    viewer.ok("GET", "enforced_blocks/bucket/base")
    viewer.fails("PUT", "enforced_blocks", {"name": "x", "block_content": HARDEN}, status=403, code=7)
    viewer.fails("POST", f"enforced_blocks/{block['id']}/versions/{block['latest_version']['id']}/buckets",
                 {"bucket_names": ["base"]}, status=403, code=7)
    viewer.fails("DELETE", f"enforced_blocks/{block['id']}", status=403, code=7)
    made = contributor.ok("PUT", "enforced_blocks", {"name": "agent", "block_content": AGENT})["enforced_block"]
    link(contributor, made, made["latest_version"]["id"], "base")
    assert contributor.ok("DELETE", f"enforced_blocks/{block['id']}") == {}


def test_every_change_is_in_the_audit_trail_without_the_blocks_text(api):
    api.ok("PUT", "buckets", {"name": "base"})
    block = create(api)
    v1 = block["latest_version"]["id"]
    v2 = api.ok("PUT", f"enforced_blocks/{block['id']}/versions", {"block_content": AGENT})["enforced_block_version"]
    api.ok("PATCH", f"enforced_blocks/{block['id']}", {"update_mask": "name", "name": "cis"})
    api.ok("PATCH", f"enforced_blocks/{block['id']}/versions/{v1}", {"update_mask": "additionalDescription",
                                                                     "additional_description": "x"})
    link(api, block, v1, "base")
    link(api, block, v1)
    api.ok("DELETE", f"enforced_blocks/{block['id']}/versions/{v2['id']}")
    api.ok("DELETE", f"enforced_blocks/{block['id']}")
    registry_wide = api.registry.get("/events")["items"]
    assert [e["action"] for e in registry_wide if e["target"].startswith("enforced_block/")] == [
        "enforced_block.deleted", "enforced_block.version_deleted", "enforced_block.version_updated",
        "enforced_block.updated", "enforced_block.version_created", "enforced_block.created"]
    created = registry_wide[-1] if registry_wide[-1]["action"] == "enforced_block.created" else next(
        e for e in registry_wide if e["action"] == "enforced_block.created")
    assert created["after"]["content_sha256"] == hashlib.sha256(HARDEN.encode()).hexdigest()
    assert "echo hardened" not in json.dumps(registry_wide) and created["actor"] == "bootstrap-admin"
    trail = api.registry.get("/buckets/base/events")["items"]
    assert [(e["action"], e["target"]) for e in trail if e["action"].startswith("enforced_block.")] == [
        ("enforced_block.unlinked", f"enforced_block/{block['id']}"),
        ("enforced_block.linked", f"enforced_block/{block['id']}")]


def test_too_many_link_changes_at_once_are_refused_naming_the_limit(api):
    from chalicelib.domain.enforced import MAX_LINK_CHANGES

    names = [f"b{i:02d}" for i in range(MAX_LINK_CHANGES + 1)]
    for name in names:
        api.ok("PUT", "buckets", {"name": name})
    block = create(api)
    v1 = block["latest_version"]["id"]
    answer = api.fails("POST", f"enforced_blocks/{block['id']}/versions/{v1}/buckets", {"bucket_names": names},
                       status=400, code=3)
    assert f"at most {MAX_LINK_CHANGES}" in answer["message"]
    assert len(link(api, block, v1, *names[:MAX_LINK_CHANGES])) == MAX_LINK_CHANGES
    assert len(link(api, block, v1, *names)) == MAX_LINK_CHANGES + 1
    linked = api.ok("GET", f"enforced_blocks/{block['id']}/versions/{v1}/buckets?pagination.page_size=10")
    assert len(linked["linked_buckets"]) == 10 and linked["pagination"]["next_page_token"]


# ---- races, driven many times against a moto server (support.race) ---------------------------

LOSING = (404, 409, 503)  # a race's loser: gone, refused, or contention


def setup(name: str, *bucket_names: str) -> tuple[str, str]:
    """Buckets and a block named `name` (its id and first version's id), through the services."""
    for bucket in bucket_names:
        buckets.create(CreateBucket(name=bucket), "test")
    block, version = enforced.create_block(NewBlock(name=name, block_content=HARDEN), "test")
    return block.id, version.id


def assert_links_consistent(bucket: str) -> None:
    """Every link on the bucket names a block and version that exist, copies them as they are,
    and has its other half in the block; a bucket holds at most one version of a block."""
    for found in storage.enforced.bucket_links(bucket):
        block, version = storage.enforced.block_and_version(found.block_id, found.version_id)
        assert block is not None and not block.deleting and version is not None, (bucket, found.block_id)
        assert (found.block_name, found.block_version()) == (block.name, version), (bucket, found.block_name)
        assert [m.bucket for m in storage.enforced.mirrors(block.id, version.id)].count(bucket) == 1


def test_linking_a_version_while_it_is_deleted_never_leaves_a_link_to_nothing(moto_server):
    def trial(name: str) -> None:
        block, version = setup(name, f"{name}-b")
        lag = int(name[1:]) * 0.004  # the deletion starts a little later each trial: a link lands in its reads
        assert race(lambda: enforced.manage_links(block, version, [f"{name}-b"], "racer"),
                    lambda: time.sleep(lag) or enforced.delete_version(block, version, "racer"),
                    tolerated=LOSING) == []
        assert_links_consistent(f"{name}-b")
        linked = storage.enforced.bucket_links(f"{name}-b")
        assert bool(linked) == (storage.enforced.block_and_version(block, version)[1] is not None), name

    trials(trial, "t", count=12)


def test_linking_while_the_block_is_deleted_leaves_either_the_link_or_nothing(moto_server):
    def trial(name: str) -> None:
        block, version = setup(name, f"{name}-b")
        lag = int(name[1:]) * 0.004  # as above
        assert race(lambda: enforced.manage_links(block, version, [f"{name}-b"], "racer"),
                    lambda: time.sleep(lag) or enforced.delete_block(block, "racer"), tolerated=LOSING) == []
        assert_links_consistent(f"{name}-b")
        gone = storage.enforced.block(block) is None
        assert gone != bool(storage.enforced.bucket_links(f"{name}-b")), name

    trials(trial, "t", count=12)


def test_two_versions_of_a_block_linked_to_one_bucket_at_once_one_wins(moto_server):
    def trial(name: str) -> None:
        block, first = setup(name, f"{name}-b")
        second = enforced.create_version(block, NewVersion(block_content=HARDEN), "test").id
        assert race(lambda: enforced.manage_links(block, first, [f"{name}-b"], "racer"),
                    lambda: enforced.manage_links(block, second, [f"{name}-b"], "racer"), tolerated=LOSING) == []
        assert len(storage.enforced.bucket_links(f"{name}-b")) == 1, name
        assert len(storage.enforced.mirrors(block, None)) == 1, name
        assert_links_consistent(f"{name}-b")

    trials(trial, "t", count=12)


def test_renaming_and_describing_while_linking_leave_current_copies(moto_server):
    def trial(name: str) -> None:
        block, version = setup(name, f"{name}-a", f"{name}-b")
        enforced.manage_links(block, version, [f"{name}-a"], "test")
        change = enforced.BlockChange(name=f"{name}-renamed")
        assert race(lambda: enforced.manage_links(block, version, [f"{name}-a", f"{name}-b"], "racer"),
                    lambda: enforced.update_block(block, {"name"}, change, "racer"),
                    lambda: enforced.update_version(block, version, "described", "racer"), tolerated=LOSING) == []
        for bucket in (f"{name}-a", f"{name}-b"):
            assert_links_consistent(bucket)

    trials(trial, "t", count=12)
