"""List filters (issue 14, first step) through the HTTP API: the versions filters applied to
a page as read, and every native list refusing an unknown query parameter or a bad value
with a 400 that names it."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest

from chalicelib.runtime import aws
from support import Hcp, build_chain, count_calls, manifest, mint, real_manifest, sweep

BASE = "/buckets/base/versions"


@pytest.fixture
def base(registry: Any) -> Any:
    """base: 8 versions from a real manifest (v8 newest); v2 and v5 revoked, v7 scheduled for
    revocation; child v1 up to date with base's production channel (v1)."""
    build_chain(registry)
    for name in ("v2", "v5"):
        registry.send("post", f"{BASE}/{name}/revoke", {"reason": "CVE-2026-0042"})
    registry.send("post", f"{BASE}/v7/revoke", {"reason": "end of life", "revoke_in": "30d"})
    return registry


def names(registry: Any, path: str) -> list[str]:
    return [v["name"] for v in registry.all_pages(path)]


def test_status_filters(base: Any) -> None:
    assert names(base, f"{BASE}?status=revoked") == ["v5", "v2"]
    assert names(base, f"{BASE}?status=revocation_scheduled") == ["v7"]
    assert names(base, f"{BASE}?status=active") == ["v8", "v6", "v4", "v3", "v1"]
    assert names(base, f"{BASE}?status=running") == []
    assert names(base, "/buckets/child/versions?ancestry_status=up_to_date") == ["v1"]
    assert names(base, "/buckets/child/versions?ancestry_status=out_of_date") == []


def test_time_filters(base: Any) -> None:
    everything = base.get(f"{BASE}?limit=100")["items"]
    times = {v["name"]: v["created_at"] for v in everything}
    after = quote(times["v4"])
    assert names(base, f"{BASE}?created_after={after}") == ["v8", "v7", "v6", "v5", "v4"]
    assert names(base, f"{BASE}?created_before={after}") == ["v3", "v2", "v1"]
    assert names(base, f"{BASE}?created_after=2000-01-01T00:00:00%2B02:00&created_before=2999-01-01T00:00:00Z") \
        == [f"v{n}" for n in range(8, 0, -1)]
    # combined: revoked and created at or after v4
    assert names(base, f"{BASE}?status=revoked&created_after={after}") == ["v5"]


def test_a_filtered_page_may_be_short_while_next_token_remains(base: Any) -> None:
    """Ancestry status has no index: the page read is filtered."""
    times = {v["name"]: v["created_at"] for v in base.get(f"{BASE}?limit=100")["items"]}
    query = f"{BASE}?created_before={quote(times['v6'])}&limit=3"  # v8, v7, v6 read first: none before v6
    calls = count_calls(aws.client("dynamodb"))
    first = base.get(query)
    assert first["items"] == [] and first["next_token"] and first["filtered"] is True
    assert "fewer than `limit`" in first["note"]
    assert calls == ["Query", "GetItem"]  # one Query page; a token-less empty page checks the bucket exists
    second = base.get(f"{query}&next_token={first['next_token']}")  # v5, v4, v3
    assert [v["name"] for v in second["items"]] == ["v5", "v4", "v3"] and second["next_token"]
    third = base.get(f"{query}&next_token={second['next_token']}")  # v2, v1
    assert [v["name"] for v in third["items"]] == ["v2", "v1"] and "next_token" not in third


def test_status_comes_from_an_index_in_full_pages(base: Any) -> None:
    calls = count_calls(aws.client("dynamodb"))
    first = base.get(f"{BASE}?status=active&limit=2")
    assert [v["name"] for v in first["items"]] == ["v8", "v6"] and "filtered" not in first
    assert calls == ["GetItem", "Query"]  # the bucket (is it indexed?), one page of the status index
    second = base.get(f"{BASE}?status=active&limit=2&next_token={first['next_token']}")
    assert [v["name"] for v in second["items"]] == ["v4", "v3"]
    revoked = base.get(f"{BASE}?status=revoked&limit=1")
    assert [v["name"] for v in revoked["items"]] == ["v5"] and "filtered" not in revoked
    # combined with a filter no index answers: filtered as read
    both = base.get(f"{BASE}?status=active&ancestry_status=up_to_date")
    assert both["items"] == [] and both["filtered"] is True


def test_the_status_index_follows_revocation_restore_and_deletion(base: Any, moved_clock: Any) -> None:
    base.send("post", f"{BASE}/v5/restore")
    assert names(base, f"{BASE}?status=revoked") == ["v2"]
    assert "v5" in names(base, f"{BASE}?status=active")
    base.send("post", f"{BASE}/v8/revoke", {"reason": "bad", "revoke_in": "1h"})
    assert names(base, f"{BASE}?status=revocation_scheduled") == ["v8", "v7"]
    moved_clock.advance(hours=2)
    sweep(base)  # v8 falls due (v7 is 30 days away)
    assert names(base, f"{BASE}?status=revoked") == ["v8", "v2"]
    assert names(base, f"{BASE}?status=revocation_scheduled") == ["v7"]
    base.send("delete", f"{BASE}/v2")
    assert names(base, f"{BASE}?status=revoked") == ["v8"]
    # a cascade: revoking base/v1 revokes child/v1, built on it
    base.send("post", f"{BASE}/v1/revoke", {"reason": "CVE-2026-0043"})
    sweep(base)
    assert names(base, "/buckets/child/versions?status=revoked") == ["v1"]
    assert names(base, "/buckets/child/versions?status=active") == []


def test_a_bucket_from_before_the_index_filters_status_as_read(base: Any) -> None:
    """A bucket created before `indexed_since` existed: its versions may be missing from the
    status index, so its status filter falls back to filtering the page read."""
    aws.client("dynamodb").update_item(TableName="packer-registry", Key={"PK": {"S": "BUCKET#base"},
                                       "SK": {"S": "BUCKET"}}, UpdateExpression="REMOVE indexed_since")
    page = base.get(f"{BASE}?status=revoked&limit=3")
    assert page["items"] == [] and page["filtered"] is True and page["next_token"]
    assert names(base, f"{BASE}?status=revoked") == ["v5", "v2"]


def test_no_filter_answers_as_before(base: Any) -> None:
    page = base.get(f"{BASE}?limit=3")
    assert set(page) == {"items", "next_token"}
    assert [v["name"] for v in page["items"]] == ["v8", "v7", "v6"]
    assert names(base, BASE) == [f"v{n}" for n in range(8, 0, -1)]


def refused(registry: Any, path: str) -> str:
    response = registry.client.http.get(path, headers=registry.headers)
    assert response.status_code == 400, (path, response.status_code, response.body)
    answer = json.loads(response.body)
    assert set(answer) == {"error", "message"} and answer["error"] == "BadRequest", answer
    return str(answer["message"])


@pytest.mark.parametrize("path, route", [
    ("/buckets", "GET /buckets takes limit, next_token, prefix, labels"),
    (BASE, "GET /buckets/{bucket}/versions takes limit, next_token, status, ancestry_status, created_after, "
           "created_before, platform, region, labels, channel"),
    ("/buckets/base/channels", "GET /buckets/{bucket}/channels takes limit, next_token"),
    ("/buckets/base/channels/production/history", "takes limit, next_token"),
    ("/ingestions", "GET /ingestions takes status, limit, next_token, created_after, created_before"),
    ("/buckets/base/events", "takes limit, next_token, created_after, created_before, actor"),
    ("/events", "GET /events takes limit, next_token, created_after, created_before, actor"),
    ("/tokens", "GET /tokens takes limit, next_token"),
    ("/service-principals", "takes limit, next_token"),
    ("/compliance/report", "takes limit, next_token"),
])
def test_an_unknown_query_parameter_is_a_400_naming_it(base: Any, path: str, route: str) -> None:
    message = refused(base, f"{path}?owner=alice")
    assert "unknown query parameter 'owner'" in message and route in message, message


@pytest.mark.parametrize("query, named, allowed", [
    ("status=gone", "status", "active, revoked, revocation_scheduled, running"),
    ("ancestry_status=stale", "ancestry_status", "up_to_date, out_of_date, undetermined, parent_revoked"),
    ("created_after=yesterday", "created_after", "ISO 8601"),
    ("created_before=2026-05-27T10:15:00", "created_before", "time zone"),  # no zone: ambiguous
    ("created_before=9999-12-31T23:59:59-01:00", "created_before", "ISO 8601"),  # after year 9999 in UTC
    ("labels=os", "labels", "key:value pairs separated by commas"),
    ("labels=os:debian,:x", "labels", "key:value pairs"),
    ("labels=" + ",".join(f"k{n}:v" for n in range(11)), "labels", "at most 10"),
    ("channel=Prod_1", "channel", "a name matching"),
    ("platform=" + "x" * 257, "platform", "at most 256 characters"),
])
def test_a_bad_value_is_a_400_naming_it_and_what_is_allowed(base: Any, query: str, named: str, allowed: str) -> None:
    message = refused(base, f"{BASE}?{query}")
    assert f"query parameter {named} must be" in message and allowed in message, message
    assert query.split("=")[1][:80] in message  # the value, as much of it as the message shows


def test_a_bad_ingestion_status_is_named(base: Any) -> None:
    message = refused(base, "/ingestions?status=lost")
    assert "query parameter status must be one of" in message and "'lost'" in message


def test_the_hcp_api_still_ignores_unknown_parameters(base: Any) -> None:
    """grpc-gateway's behaviour, which HCP Packer's clients expect."""
    hcp = Hcp(base)
    assert hcp.ok("GET", "buckets?labels=os:debian&whatever=1")["buckets"]


def test_unknown_parameters_on_single_items_are_left_alone(base: Any) -> None:
    """Only the list routes are declared in this step."""
    assert base.get(f"{BASE}/v1?verbose=1")["name"] == "v1"



# ---- platform, region, build labels, channel ----------------------------------------------

MIXED = "/buckets/mixed/versions"
GCE = "/buckets/gce/versions"


@pytest.fixture
def fleet(registry: Any) -> Any:
    """mixed: 4 versions from a real manifest (one docker run, three amazon-ebs runs, all
    us-east-1); gce: 1 version (googlecompute and amazon-ebs builds, labelled
    calyptia_core_release:0.3.2, in ap-northeast-1/2)."""
    registry.upload("mixed/packer-manifest.json", real_manifest("docker-amazon-ebs-mixed-runs.json"))
    registry.upload("gce/packer-manifest.json", real_manifest("googlecompute-amazon-ebs-multiregion-custom-data.json"))
    return registry


def platforms_of(registry: Any, path: str, name: str) -> set[str]:
    return {b["platform"] for b in registry.get(f"{path}/{name}")["builds"]}


def test_platform_comes_from_the_platform_index_in_full_pages(fleet: Any) -> None:
    everything = names(fleet, MIXED)
    docker = [n for n in everything if platforms_of(fleet, MIXED, n) == {"docker"}]
    assert len(everything) == 4 and len(docker) == 1
    calls = count_calls(aws.client("dynamodb"))
    first = fleet.get(f"{MIXED}?platform=aws&limit=2")
    assert calls == ["GetItem", "Query", "BatchGetItem"]  # the bucket, the index page, its versions
    assert "filtered" not in first and len(first["items"]) == 2 and first["next_token"]
    second = fleet.get(f"{MIXED}?platform=aws&limit=2&next_token={first['next_token']}")
    assert len(second["items"]) == 1 and "next_token" not in second
    aws_versions = [v["name"] for v in first["items"] + second["items"]]
    assert aws_versions == [n for n in everything if n not in docker]  # newest first, as the list
    assert names(fleet, f"{MIXED}?platform=docker") == docker
    assert names(fleet, f"{GCE}?platform=gce") == ["v1"]
    assert names(fleet, f"{GCE}?platform=gcp") == ["v1"]  # the old name finds the same builds
    assert names(fleet, f"{GCE}?platform=azure") == []
    # with another filter: tested on the versions read
    page = fleet.get(f"{MIXED}?platform=docker&status=revoked")
    assert page["items"] == [] and page["filtered"] is True


def test_region_and_build_labels(fleet: Any) -> None:
    assert names(fleet, f"{GCE}?region=ap-northeast-2") == ["v1"]
    assert names(fleet, f"{GCE}?region=eu-west-1") == []
    aws_versions = names(fleet, f"{MIXED}?platform=aws")
    assert names(fleet, f"{MIXED}?region=us-east-1") == aws_versions  # a docker image has no region
    assert names(fleet, f"{GCE}?labels=calyptia_core_release:0.3.2") == ["v1"]
    assert names(fleet, f"{GCE}?labels=calyptia_core_release:0.3.3") == []
    assert names(fleet, f"{GCE}?labels=calyptia_core_release:0.3.2,os:debian") == []  # all must match
    fleet.upload("labelled/m.json", manifest(
        {"packer_run_uuid": "run-1", "custom_data": {"os": "debian", "arch": "arm64"}},
        {"packer_run_uuid": "run-1", "custom_data": {"os": "debian", "arch": "amd64"}, "name": "amd"},
        {"packer_run_uuid": "run-2", "custom_data": {"os": "ubuntu", "arch": "amd64"}},
        {"packer_run_uuid": "run-3", "custom_data": {"os": "debian"}}))
    labelled = "/buckets/labelled/versions"
    assert names(fleet, f"{labelled}?labels=os:debian") == ["v3", "v1"]
    assert names(fleet, f"{labelled}?labels=os:debian,arch:amd64") == ["v1"]  # each pair on some build
    assert names(fleet, f"{labelled}?labels=arch:arm64,arch:amd64") == ["v1"]
    page = fleet.get(f"{labelled}?labels=os:ubuntu&limit=1")  # v3 read: not ubuntu
    assert page["items"] == [] and page["filtered"] is True and page["next_token"]


def test_builds_added_later_join_the_summary_and_the_platform_index(fleet: Any) -> None:
    docker = names(fleet, f"{MIXED}?platform=docker")[0]
    fingerprint = fleet.get(f"{MIXED}/{docker}")["fingerprint"]
    fleet.upload("mixed/later.json", manifest({
        "packer_run_uuid": fingerprint, "builder_type": "googlecompute", "name": "gce-image",
        "artifact_id": "app-image-20260101", "custom_data": {"added": "later"}}))
    assert platforms_of(fleet, MIXED, docker) == {"docker", "gce"}
    assert names(fleet, f"{MIXED}?platform=gce") == [docker]
    assert names(fleet, f"{MIXED}?labels=added:later") == [docker]


def test_deleting_a_version_deletes_its_platform_entries(fleet: Any) -> None:
    docker = names(fleet, f"{MIXED}?platform=docker")[0]
    fleet.send("delete", f"{MIXED}/{docker}")
    assert names(fleet, f"{MIXED}?platform=docker") == []
    left = aws.client("dynamodb").query(
        TableName="packer-registry", KeyConditionExpression="PK = :pk AND begins_with(SK, :p)",
        ExpressionAttributeValues={":pk": {"S": "BUCKET#mixed"}, ":p": {"S": "PLATFORM#docker#"}})
    assert left["Items"] == []


def test_versions_a_channel_has_held(base: Any) -> None:
    for version in ("v3", "v6", "v3"):
        base.send("patch", "/buckets/base/channels/production", {"version": version})
    assert names(base, f"{BASE}?channel=production&limit=10") == ["v3", "v6", "v1"]  # newest move first, once a page
    calls = count_calls(aws.client("dynamodb"))
    first = base.get(f"{BASE}?channel=production&limit=2")  # moves to v3, v6
    assert calls == ["Query", "BatchGetItem"]  # a page of the channel's history, its versions
    assert [v["name"] for v in first["items"]] == ["v3", "v6"] and first["filtered"] is True
    second = base.get(f"{BASE}?channel=production&limit=2&next_token={first['next_token']}")  # moves to v3, v1
    assert [v["name"] for v in second["items"]] == ["v3", "v1"]  # once a page: v3 was taken twice
    third = base.get(f"{BASE}?channel=production&limit=2&next_token={second['next_token']}")
    assert third["items"] == [] and "next_token" not in third
    assert names(base, f"{BASE}?channel=production&created_after={quote(base.get(f'{BASE}/v4')['created_at'])}") \
        == ["v6"]
    assert names(base, f"{BASE}?channel=latest") == [f"v{n}" for n in range(8, 0, -1)]
    base.get(f"{BASE}?channel=staging", status=404)


def test_a_viewer_cannot_list_what_a_restricted_channel_held(base: Any) -> None:
    viewer = base.as_token(mint(base, "viewer"))
    assert viewer.get(f"{BASE}?channel=production")["items"]
    viewer.get(f"{BASE}?channel=latest", status=404)  # managed and restricted


# ---- buckets, the audit trail, ingestions ---------------------------------------------------

def test_buckets_by_name_prefix_and_labels(registry: Any) -> None:
    for name, labels in (("team-a-web", {"team": "a", "tier": "web"}), ("team-a-db", {"team": "a", "tier": "db"}),
                         ("team-b-web", {"team": "b", "tier": "web"}), ("legacy", {"tier.level": "web"})):
        registry.send("post", "/buckets", {"name": name, "labels": labels}, 201)
    calls = count_calls(aws.client("dynamodb"))
    first = registry.get("/buckets?prefix=team-a&limit=1")
    assert calls == ["Query"] and "filtered" not in first  # a key condition: full pages
    assert [b["name"] for b in first["items"]] == ["team-a-db"]
    assert [b["name"] for b in registry.all_pages("/buckets?prefix=team-a")] == ["team-a-db", "team-a-web"]
    assert [b["name"] for b in registry.all_pages("/buckets?labels=tier:web")] == ["team-a-web", "team-b-web"]
    assert [b["name"] for b in registry.all_pages("/buckets?labels=tier.level:web")] == ["legacy"]  # a dot is a key
    assert [b["name"] for b in registry.all_pages("/buckets?prefix=team&labels=team:a,tier:web")] == ["team-a-web"]
    page = registry.get("/buckets?labels=team:b&limit=2")  # legacy, team-a-db read
    assert page["items"] == [] and page["filtered"] is True and page["next_token"]


def check_time_range(registry: Any, path: str, field: str) -> str:
    """`created_after`/`created_before` on a list whose sort key starts with the time: one
    Query a page, full pages, exactly the items in the range. The middle time used."""
    times = sorted(i[field] for i in registry.all_pages(path))
    middle = times[len(times) // 2]
    calls = count_calls(aws.client("dynamodb"))
    after = registry.get(f"{path}?created_after={quote(middle)}&limit=100")
    assert calls == ["Query"] and "filtered" not in after  # a key condition: BETWEEN on the sort key
    assert sorted(i[field] for i in after["items"]) == [t for t in times if t >= middle]
    before = registry.all_pages(f"{path}?created_before={quote(middle)}", limit=2)
    assert sorted(i[field] for i in before) == [t for t in times if t < middle]
    return middle


def test_events_by_time_range_and_actor(base: Any) -> None:
    check_time_range(base, "/buckets/base/events", "time")
    events = base.all_pages("/buckets/base/events")
    actors = {e["actor"] for e in events}
    assert len(actors) > 1
    for actor in actors:
        mine = base.all_pages(f"/buckets/base/events?actor={quote(actor)}", limit=3)
        assert [e["id"] for e in mine] == [e["id"] for e in events if e["actor"] == actor]
    assert base.get("/events?created_after=2999-01-01T00:00:00Z")["items"] == []


def test_ingestions_by_time_range(base: Any) -> None:
    middle = check_time_range(base, "/ingestions", "received_at")
    times = sorted(i["received_at"] for i in base.all_pages("/ingestions"))
    later = base.all_pages(f"/ingestions?created_after={quote(middle)}&status=accepted", limit=1)
    assert sorted(i["received_at"] for i in later) == [t for t in times if t >= middle]


# ---- versions from before the indexes -----------------------------------------------------

def as_before_the_indexes(bucket: str) -> None:
    """What a release before the version indexes left: versions without status index keys or
    builds' summary, no platform entries, a bucket without `indexed_since`, no backfill yet."""
    db, table = aws.client("dynamodb"), "packer-registry"
    items = db.query(TableName=table, KeyConditionExpression="PK = :pk",
                     ExpressionAttributeValues={":pk": {"S": f"BUCKET#{bucket}"}})["Items"]
    for item in items:
        key = {"PK": item["PK"], "SK": item["SK"]}
        if item["SK"]["S"].startswith("PLATFORM#"):
            db.delete_item(TableName=table, Key=key)
        elif item["SK"]["S"].startswith("VERSION#") and "#BUILD#" not in item["SK"]["S"]:
            db.update_item(TableName=table, Key=key,
                           UpdateExpression="REMOVE GSI3PK, GSI3SK, platforms, regions, build_labels")
    db.update_item(TableName=table, Key={"PK": {"S": f"BUCKET#{bucket}"}, "SK": {"S": "BUCKET"}},
                   UpdateExpression="REMOVE indexed_since")
    db.delete_item(TableName=table, Key={"PK": {"S": "SWEEP#BACKFILL"}, "SK": {"S": "INDEXES"}})


def test_the_sweep_backfills_versions_from_before_the_indexes(fleet: Any, monkeypatch: Any) -> None:
    from chalicelib.services import indexing

    everything = names(fleet, MIXED)
    as_before_the_indexes("mixed")
    # until backfilled: status filters the page read, platform finds nothing recorded before
    page = fleet.get(f"{MIXED}?status=active&limit=2")
    assert page["filtered"] is True and len(page["items"]) == 2
    assert names(fleet, f"{MIXED}?platform=docker") == []
    monkeypatch.setattr(indexing, "BACKFILL_PER_RUN", 3)
    sweep(fleet)  # v1-v3 (gce was created indexed: skipped)
    fleet.send("post", f"{MIXED}/v4/revoke", {"reason": "CVE-2026-0044"})  # a status change writes its own keys
    fleet.send("post", f"{MIXED}/v1/revoke", {"reason": "CVE-2026-0044"})
    assert "filtered" in fleet.get(f"{MIXED}?status=revoked")  # not yet: the bucket is not marked
    sweep(fleet)  # v4, the end of the bucket: marked
    assert names(fleet, f"{MIXED}?status=revoked") == ["v4", "v1"]
    page = fleet.get(f"{MIXED}?status=active&limit=2")
    assert "filtered" not in page and [v["name"] for v in page["items"]] == ["v3", "v2"]
    docker = [n for n in everything if platforms_of(fleet, MIXED, n) == {"docker"}]
    assert names(fleet, f"{MIXED}?platform=docker") == docker
    assert names(fleet, f"{MIXED}?region=us-east-1") == [n for n in everything if n not in docker]
    calls = count_calls(aws.client("dynamodb"))
    sweep(fleet)
    assert calls.count("GetItem") >= 1 and "TransactWriteItems" not in calls  # done: nothing more to write
