"""The descendant tree is read breadth first in bounded pages (issue 11, item 4).

One request makes at most `PAGE_QUERIES` child-edge Queries and one BatchGet per level; a
tree larger than that is walked to the end by following `next_token`, and the pages
stitched together (models.Descendants says how) give the tree the unbounded walk gave.
"""

from __future__ import annotations

import copy
from typing import Any

from chalicelib.runtime import aws
from chalicelib.services import ancestry
from support import count_calls, manifest


def build_tree(registry, kids: int, grands: dict[int, int], greats: dict[int, int]) -> None:
    """base v1 → `kids` versions of `kids` (explicit parent_version); `grands`: version of
    `grands` → the kid it was built on (explicit); `greats`: version of `greats` → the grand
    whose artifact it was built from (source artifact). One manifest a bucket, a run a version."""
    registry.upload("base/m.json", manifest({"packer_run_uuid": "b1", "artifact_id": "us-east-1:ami-0b00000000000b001"}))
    for bucket, parents, hint in (("kids", {n: 1 for n in range(1, kids + 1)}, "base"), ("grands", grands, "kids"),
                                  ("greats", greats, "grands")):
        registry.upload(f"{bucket}/m.json", manifest(*(
            {"packer_run_uuid": f"{bucket}{n:03}", "artifact_id": f"us-east-1:{ami(bucket, n)}",
             "custom_data": {"source_ami": ami(hint, parent)} if bucket == "greats" else
             {"parent_bucket": hint, "parent_version": f"v{parent}"}} for n, parent in sorted(parents.items()))))


def ami(bucket: str, n: int) -> str:
    return f"ami-{bucket.encode().hex()[:8]}{n:09x}"


def unbounded(registry, bucket: str, version: str, depth: int) -> tuple:
    """The tree as the old walk read it: every node's children (`…/ancestry`), to `depth`."""
    children = registry.get(f"/buckets/{bucket}/versions/{version}/ancestry")["children"] if depth else []
    return (bucket, version, [unbounded(registry, c["bucket"], c["version"], depth - 1) for c in children])


def cut(tree: tuple, depth: int) -> tuple:
    bucket, version, children = tree
    return (bucket, version, [cut(c, depth - 1) for c in children] if depth else [])


def shape(node: dict[str, Any]) -> tuple:
    return (node["bucket"], node["version"], [shape(c) for c in node["children"]])


def walk(registry, path: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Every page of `path`, stitched as models.Descendants says: (the whole tree, the pages)."""
    pages: list[dict[str, Any]] = [registry.get(path)]
    root = copy.deepcopy(pages[0]["root"])  # the pages stay as they came
    nodes: dict[tuple[str, str], dict[str, Any]] = {}

    def keep(node: dict[str, Any]) -> None:
        assert (node["bucket"], node["version"]) not in nodes, "a node returned twice"
        nodes[(node["bucket"], node["version"])] = node
        for child in node["children"]:
            keep(child)

    keep(root)
    while pages[-1].get("next_token"):
        page = registry.get(f"{path}&next_token={pages[-1]['next_token']}")
        assert shape({**page["root"], "children": []}) == shape({**root, "children": []})
        for child in page["root"]["children"]:
            root["children"].append(child)
            keep(child)
        for more in page["continued"]:
            parent = nodes[(more["bucket"], more["version"])]
            for child in more["children"]:
                parent["children"].append(child)
                keep(child)
        pages.append(page)
    return root, pages


# 28 kids, 6 grands (under kids v1-v3 and v26-v28), 2 greats (under grands v1 and v4): 36
# descendants on 3 levels; 37 nodes to expand (their child edges), 25 a page.
KIDS, GRANDS, GREATS = 28, {1: 1, 2: 2, 3: 3, 4: 26, 5: 27, 6: 28}, {1: 1, 2: 4}


def test_a_tree_larger_than_a_page_is_walked_whole_within_the_cap_of_calls_a_request(registry):
    build_tree(registry, KIDS, GRANDS, GREATS)
    calls = count_calls(aws.client("dynamodb"))

    def checked(path: str) -> Any:
        """A page, checked against the cap: at most PAGE_QUERIES Queries of child edges, one
        BatchGet per level (3 here), the root's GetItem (the authorizer's look-up is one too)."""
        calls.clear()
        page = get(path)
        assert calls.count("Query") <= ancestry.PAGE_QUERIES, calls
        assert calls.count("BatchGetItem") <= 3 and set(calls) <= {"Query", "BatchGetItem", "GetItem"}, calls
        return page

    get, registry.get = registry.get, checked
    tree, pages = walk(registry, "/buckets/base/versions/v1/descendants?depth=5")
    registry.get = get
    assert len(pages) == 2 and pages[0]["continued"] == []
    assert {(c["bucket"], c["version"]) for c in pages[1]["continued"]} == {
        ("kids", "v26"), ("kids", "v27"), ("kids", "v28"), ("grands", "v1")}
    whole = unbounded(registry, "base", "v1", 5)
    assert shape(tree) == whole
    assert [p["count"] for p in pages] == [KIDS + 3, 3 + len(GREATS)]
    assert [p["truncated"] for p in pages] == [True, False] and "next_token" not in pages[-1]
    kid = tree["children"][0]
    assert (kid["bucket"], kid["status"], kid["ancestry_status"]) == ("kids", "active", "up_to_date")

    # depth applies across pages: to depth 2 the greats are left out, and every page says so
    tree, pages = walk(registry, "/buckets/base/versions/v1/descendants?depth=2")
    assert shape(tree) == cut(whole, 2)
    assert len(pages) == 2 and all(p["truncated"] for p in pages)
    _, pages = walk(registry, "/buckets/kids/versions/v2/descendants?depth=1")  # grands v2 has no child
    assert (len(pages), pages[0]["count"], pages[0]["truncated"]) == (1, 1, False)

    # a walk's token opens only that walk
    token = registry.get("/buckets/base/versions/v1/descendants?depth=5")["next_token"]
    list_token = registry.get("/buckets/kids/versions?limit=1")["next_token"]
    for path in ("/buckets/base/versions/v1/descendants?depth=5&next_token=" + list_token,
                 "/buckets/base/versions/v1/descendants?depth=4&next_token=" + token,  # another depth
                 "/buckets/kids/versions/v1/descendants?depth=5&next_token=" + token,  # another root
                 "/buckets/base/versions/v1/descendants?depth=5&next_token=" + token[:-2],
                 "/buckets/kids/versions?next_token=" + token):
        error = registry.get(path, status=400)
        assert error["error"] == "BadRequest" and "next_token" in error["message"], path


def test_cut_edges_resume_where_the_query_stopped_and_a_full_frontier_says_truncated(registry, monkeypatch):
    """A node's children cut by a Query's Limit (the page's node budget) continue on the next
    page, the root's too; and what would make the token too long is left out, said."""
    build_tree(registry, 10, {1: 1, 2: 10}, {})
    expected = unbounded(registry, "base", "v1", 5)
    with monkeypatch.context() as small:
        small.setattr(ancestry, "PAGE_NODES", 4)
        small.setattr(ancestry, "PAGE_QUERIES", 3)
        tree, pages = walk(registry, "/buckets/base/versions/v1/descendants?depth=5")
    assert [len(p["root"]["children"]) for p in pages[:3]] == [4, 4, 2] and pages[2]["continued"]
    assert all(p["count"] <= 4 for p in pages)
    assert shape(tree) == expected
    monkeypatch.setattr(ancestry, "MAX_TOKEN", 100)  # room for two kids waiting
    tree, pages = walk(registry, "/buckets/base/versions/v1/descendants?depth=5")
    assert (len(pages), pages[0]["count"], pages[0]["truncated"]) == (1, 11, True)
    assert [c["version"] for c in tree["children"]] == [f"v{n}" for n in range(1, 11)]
    assert tree["children"][9]["children"] == []  # grands v2, under kids v10, is left out


def test_a_version_built_from_two_versions_of_a_level_is_listed_once_across_pages(registry, monkeypatch):
    build_tree(registry, 10, {1: 1, 2: 10}, {})
    registry.upload("twice/m.json", manifest({"packer_run_uuid": "t1", "artifact_id": "us-east-1:ami-0f0000000000000f1",
                                              "custom_data": {"parent_bucket": "kids", "parent_version": "v1",
                                                              "source_ami": ami("kids", 10)}}))
    assert len(registry.get("/buckets/twice/versions/v1")["parents"]) == 2
    monkeypatch.setattr(ancestry, "PAGE_QUERIES", 2)  # kids v1 and v10 are expanded on different pages
    tree, pages = walk(registry, "/buckets/base/versions/v1/descendants?depth=5")  # each node once, or it fails
    assert len(pages) > 2
    assert [(k["version"], [(g["bucket"], g["version"]) for g in k["children"]]) for k in tree["children"]
            if k["children"]] == [("v1", [("grands", "v1"), ("twice", "v1")]), ("v10", [("grands", "v2")])]
