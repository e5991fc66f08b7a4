"""What HCP Packer's buckets and versions carry and the registry did not (issue 23, item 2):
ListBuckets items with `latest_version` and `platforms` as GetBucket has them; versions with
`has_descendants` and `parents`; buckets with `parents` and `children` summaries, each with
the ListBucketAncestry request (`href`) that lists them; and what each costs."""

from __future__ import annotations

import pytest

from chalicelib.runtime import aws
from support import Hcp, build_chain, count_calls, ingest, manifest, mint, sweep


@pytest.fixture
def api(registry) -> Hcp:
    return Hcp(registry)


def by_name(answer: dict) -> dict[str, dict]:
    return {b["name"]: b for b in answer["buckets"]}


def test_listed_buckets_carry_their_latest_version_and_platforms(api):
    ingest(api.registry, "base", "r1", "r2")
    api.registry.upload("docs/m.json", manifest({"packer_run_uuid": "d1", "builder_type": "docker",
                                                 "artifact_id": "sha256:" + "a" * 64}))
    api.ok("PUT", "buckets", {"name": "empty"})
    listed = by_name(api.ok("GET", "buckets"))
    for name in ("base", "docs"):
        got = api.ok("GET", f"buckets/{name}")["bucket"]
        latest = {k: v for k, v in got["latest_version"].items() if k != "builds"}
        assert listed[name]["latest_version"] == latest and "builds" not in listed[name]["latest_version"], name
        assert listed[name]["platforms"] == got["platforms"] and got["platforms"], name
    assert listed["base"]["latest_version"]["name"] == "v2" and listed["base"]["platforms"] == ["aws"]
    assert "latest_version" not in listed["empty"] and listed["empty"]["platforms"] == []
    # a viewer is not shown where the restricted `latest` points, in the list as in GetBucket
    viewer = by_name(api.as_token(mint(api.registry, "viewer")).ok("GET", "buckets"))
    assert "latest_version" not in viewer["base"] and viewer["base"]["platforms"] == []


def test_a_page_of_buckets_costs_the_same_whatever_its_size(api):
    for n in range(2):
        ingest(api.registry, f"small-{n}", "r1")
    prefix = api.prefix
    calls = count_calls(aws.client("dynamodb"))
    api.ok("GET", f"{prefix}/buckets")
    two = list(calls)
    for n in range(6):
        ingest(api.registry, f"more-{n}", "r1")
    calls.clear()
    assert len(api.ok("GET", f"{prefix}/buckets")["buckets"]) == 8
    assert calls == two == ["Query", "BatchGetItem"]  # the page, then its latest versions


def test_versions_and_buckets_summarise_their_ancestry(api):
    build_chain(api.registry)
    versions = {v["name"]: v for v in api.ok("GET", "buckets/base/versions")["versions"]}
    assert versions["v1"]["has_descendants"] is True and versions["v8"]["has_descendants"] is False
    assert "parents" not in versions["v1"]  # built on nothing the registry holds
    child = api.ok("GET", "buckets/child")["bucket"]
    version = child["latest_version"]
    assert version["has_descendants"] is True and version["parents"]["status"] == "UP_TO_DATE"
    assert version["parents"]["href"].endswith(
        f"/buckets/child/ancestry?type=ANCESTRY_TYPE_PARENTS&version_fingerprint={version['fingerprint']}")
    (relation,) = api.ok("GET", version["parents"]["href"])["relations"]  # the href answers the relations
    assert relation["parent"]["bucket_name"] == "base" and relation["child"]["bucket_name"] == "child"
    assert child["parents"] == {"href": f"{api.prefix}/buckets/child/ancestry?type=ANCESTRY_TYPE_PARENTS",
                                "status": "UP_TO_DATE"}
    base = api.ok("GET", "buckets/base")["bucket"]
    assert base["children"] == {"href": f"{api.prefix}/buckets/base/ancestry?type=ANCESTRY_TYPE_CHILDREN",
                                "status": "UP_TO_DATE"}
    assert "status" not in base["parents"]  # its latest is built on nothing
    assert "status" not in api.ok("GET", "buckets/grandchild")["bucket"]["children"]  # nothing built on it

    # production moves: the child is out of date, judged at once for the bucket's children, and
    # by the sweep for the child's parents (as the native `ancestry_status`)
    api.registry.send("patch", "/buckets/base/channels/production", {"version": "v2"})
    assert api.ok("GET", "buckets/base")["bucket"]["children"]["status"] == "OUT_OF_DATE"
    sweep(api.registry)
    assert api.ok("GET", "buckets/child")["bucket"]["parents"]["status"] == "OUT_OF_DATE"
    listed = by_name(api.ok("GET", "buckets"))
    assert listed["child"]["parents"]["status"] == "OUT_OF_DATE"
    assert listed["base"]["children"] == {"href": base["children"]["href"]}  # a list page does not judge them
    assert api.ok("GET", f"buckets/child/versions/{version['fingerprint']}")["version"]["parents"]["status"] == \
        "OUT_OF_DATE"
