"""Viewers learn nothing by guessing (issue 22, items 2 and 3).

A viewer's every filter, search and lookup that can name a channel answers exactly as it would
if the restricted channel guessed did not exist: the same registry is built twice, once with
the restricted channel the viewer guesses (`secret`) and once with the same channel under
another name, and everything the viewer can ask (native lists with every filter, the consumer
query, bulk revocation jobs, audit events, the HCP door's lookups and list filters) must give
the same answers, page by page. A resolution sentence says the parent version, never where a
restricted channel pointed nor when.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import boto3

from chalicelib.runtime import aws
from chalicelib.storage.schema import table_definition
from support import MANIFEST_BUCKET, TABLE, Hcp, call, count_calls, manifest, mint, sweep

GUESS = "secret"  # what the viewer tries; the twin registry calls its restricted channel something else
TWIN = "hidden"
BASE = "us-east-1:ami-0b0b0b0b0b0b0b0b{}"


def family(registry: Any, hidden: str) -> tuple[str, str]:
    """base v1-v3 (labelled os:debian); `production` (public) and `hidden` (restricted) on v1;
    child v1 built from base's `hidden`, v2 from `production`, v3 from `hidden` (labelled
    os:old); `stable` (public) holds child v1; `hidden` then moves to v2 and a sweep judges it;
    a bulk revocation selecting `parent_channel:<hidden>, os:old` revokes child v3.
    Returns a viewer's secret and the job's id."""
    registry.upload("base/m.json", manifest(*({"packer_run_uuid": f"b{n}", "artifact_id": BASE.format(n),
                                               "custom_data": {"os": "debian"}} for n in (1, 2, 3))))
    registry.send("post", "/buckets/base/channels", {"name": "production", "version": "v1"}, 201)
    registry.send("post", "/buckets/base/channels", {"name": hidden, "version": "v1", "restricted": True}, 201)
    for n, parent, extra in ((1, hidden, {}), (2, "production", {}), (3, hidden, {"os": "old"})):
        registry.upload(f"child/c{n}.json", manifest({
            "name": "app", "packer_run_uuid": f"c{n}", "artifact_id": f"us-east-1:ami-0c0c0c0c0c0c0c0c{n}",
            "custom_data": {"parent_bucket": "base", "parent_channel": parent, **extra}}))
    registry.send("post", "/buckets/child/channels", {"name": "stable", "version": "v1"}, 201)
    registry.send("patch", f"/buckets/base/channels/{hidden}", {"version": "v2"})
    job = registry.send("post", "/buckets/child/revocations", {
        "reason": "old", "filter": {"labels": {"parent_channel": hidden, "os": "old"}}}, 202)
    sweep(registry)
    return mint(registry, "viewer", name="viewer"), job["id"]


def wipe(registry: Any) -> None:
    """An empty registry again: a new table, no manifests."""
    dynamodb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    dynamodb.delete_table(TableName=TABLE)
    dynamodb.create_table(**table_definition(TABLE))
    for item in s3.list_objects_v2(Bucket=MANIFEST_BUCKET).get("Contents", []):
        s3.delete_object(Bucket=MANIFEST_BUCKET, Key=item["Key"])


VOLATILE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?"  # times
                      r"|\b[0-9A-HJKMNP-TV-Z]{26}\b"  # ULIDs (versions, jobs, HCP ids)
                      r"|\b[0-9a-f]{12}\b")  # audit event ids
TOKENS = ("next_token", "next_page_token")


def same(body: Any) -> Any:
    """An answer without what differs between two builds of the same registry (times, ids,
    page tokens: whether there is one is kept)."""
    if isinstance(body, dict):
        return {k: bool(v) if k in TOKENS else same(v) for k, v in body.items()}
    if isinstance(body, (list, tuple)):
        return [same(v) for v in body]
    return VOLATILE.sub("<>", body) if isinstance(body, str) else body


VERSION_QUERIES = (
    f"labels=parent_channel:{GUESS}", f"labels=os:debian,parent_channel:{GUESS}", f"labels=parent_channel:{TWIN}",
    "labels=parent_channel:production", "labels=parent_bucket:base", "labels=os:old",
    f"labels=parent_channel:{GUESS}&status=active", f"labels=parent_channel:{GUESS}&platform=aws",
    f"labels=parent_channel:{GUESS}&ancestry_status=out_of_date", f"channel={GUESS}", "channel=latest",
    f"channel=stable&labels=parent_channel:{GUESS}", "channel=stable", "channel=production",
    "ancestry_status=out_of_date", "status=revoked", "platform=aws", "")


def pages(token: str, registry: Any, path: str) -> list[tuple[int, Any]]:
    """Every page of a native list as `token` reads it, following next_token."""
    answers, next_token = [], ""
    while True:
        status, body = call(registry.client, "GET", path + (f"&next_token={next_token}" if next_token else ""), token)
        answers.append((status, same(body)))
        next_token = body.get("next_token") if status == 200 else None
        if not next_token:
            return answers


def viewer_answers(registry: Any, viewer: str, job: str) -> dict[str, Any]:
    """Everything a viewer may ask that could name or follow a channel, as it answers."""
    seen: dict[str, Any] = {}
    for bucket in ("base", "child"):
        for query in VERSION_QUERIES:
            for limit in (1, 2, 25):
                path = f"/buckets/{bucket}/versions?limit={limit}" + (f"&{query}" if query else "")
                seen[path] = pages(viewer, registry, path)
        for limit in (1, 25):
            path = f"/buckets/{bucket}/events?limit={limit}"
            seen[path] = pages(viewer, registry, path)
    for path in (f"/buckets/child/channels/stable/artifact?platform=aws&labels=parent_channel:{GUESS}",
                 "/buckets/child/channels/stable/artifact?platform=aws&labels=parent_bucket:base",
                 "/buckets/child/channels/stable/artifact?platform=aws",
                 f"/buckets/base/channels/{GUESS}/artifact?platform=aws", f"/buckets/base/channels/{GUESS}",
                 f"/buckets/base/channels/{GUESS}/history", "/buckets/base/channels/latest/history",
                 "/buckets/child/versions/v1", "/buckets/child/versions/v3", "/buckets/child/versions/v1/ancestry",
                 "/buckets/base/versions/v1/descendants", "/buckets/base/versions/v2/descendants",
                 "/revocations/{job}", "/compliance/report", "/buckets/base", "/buckets/child",
                 "/artifacts/ami-0c0c0c0c0c0c0c0c1"):
        seen[path] = same(call(registry.client, "GET", path.format(job=job), viewer))
    hcp = Hcp(registry, viewer)
    for path in ("buckets/child/versions/c1", "buckets/child/versions/c1/builds", f"buckets/base/channels/{GUESS}",
                 f"buckets/base/channels/{GUESS}/history", "buckets/base/channels", "buckets/child/channels/stable",
                 f"buckets/base/ancestry?channel_name={GUESS}", "buckets/base/ancestry?channel_name=production",
                 "buckets/base/ancestry", "buckets/child/ancestry?version_fingerprint=c1"):
        status, body, _ = hcp.call("GET", path)
        seen[f"hcp {path}"] = (status, same(body))
    return seen


def test_a_viewer_answers_the_same_whether_the_restricted_channel_guessed_exists_or_not(registry):
    viewer, job = family(registry, GUESS)
    # the guess is right: a contributor finds what it names (so the twin differs for contributors)
    assert [v["name"] for v in registry.get(f"/buckets/child/versions?labels=parent_channel:{GUESS}")["items"]] \
        == ["v3", "v1"]
    with_secret = viewer_answers(registry, viewer, job)
    wipe(registry)
    viewer, job = family(registry, TWIN)
    assert registry.get(f"/buckets/child/versions?labels=parent_channel:{GUESS}")["items"] == []
    without = viewer_answers(registry, viewer, job)
    differing = {asked: (answer, without[asked]) for asked, answer in with_secret.items() if answer != without[asked]}
    assert not differing, (sorted(differing), differing)


def test_the_parent_channel_label_is_never_shown_to_nor_matched_for_a_viewer(registry):
    """Even when the channel it names is public: whether a label names a restricted channel is
    not the viewer's to learn (the link's `channel` says it for a public one)."""
    family(registry, GUESS)
    viewer = registry.as_token(mint(registry, "viewer", name="looker"))
    assert [b["labels"] for b in registry.get("/buckets/child/versions/v2")["builds"]] == [
        {"parent_bucket": "base", "parent_channel": "production"}]
    version = viewer.get("/buckets/child/versions/v2")
    assert [b["labels"] for b in version["builds"]] == [{"parent_bucket": "base"}]
    assert version["parents"][0]["channel"] == "production"
    assert viewer.get("/buckets/child/versions?labels=parent_channel:production")["items"] == []
    assert [v["name"] for v in viewer.get("/buckets/child/versions?labels=parent_bucket:base")["items"]] \
        == ["v3", "v2", "v1"]
    served = viewer.get("/buckets/child/channels/stable/artifact?platform=aws")
    assert served["labels"] == {"parent_bucket": "base"}
    refused = viewer.get("/buckets/child/channels/stable/artifact?platform=aws&labels=parent_channel:production",
                         status=404)
    assert {**refused, "message": refused["message"].replace("parent_channel", "no_label")} == viewer.get(
        "/buckets/child/channels/stable/artifact?platform=aws&labels=no_label:production", status=404)


def test_a_viewer_is_not_told_where_latest_points_through_the_hcp_ancestry(registry):
    """ListBucketAncestry without a version lists the latest version's parents: not for a viewer
    (`latest` is restricted), who names the version instead."""
    family(registry, GUESS)
    viewer = Hcp(registry, mint(registry, "viewer", name="looker"))
    admin = Hcp(registry)
    children = {(r["child"]["version_name"], r["parent"]["version_name"])
                for r in admin.ok("GET", "buckets/base/ancestry")["relations"]}
    parents = [r for r in admin.ok("GET", "buckets/child/ancestry")["relations"] if r["child"]["bucket_name"] == "child"]
    assert [r["child"]["version_name"] for r in parents] == ["v2"]  # child's latest (v3 is revoked)
    assert viewer.ok("GET", "buckets/child/ancestry")["relations"] == []
    named = viewer.ok("GET", "buckets/child/ancestry?version_fingerprint=c2")["relations"]
    assert [(r["child"]["version_name"], r["parent"]["version_name"]) for r in named] == [("v2", "v1")]
    assert {(r["child"]["version_name"], r["parent"]["version_name"])
            for r in viewer.ok("GET", "buckets/base/ancestry")["relations"]} == children


def resolved(registry: Any, build_time: int) -> tuple[str, Any]:
    """base v1 on the restricted `secret`; child v1 built from it at `build_time`, then
    `secret` moves to v2: (a viewer's secret, the viewer's answers about child v1)."""
    registry.upload("base/m.json", manifest(*({"packer_run_uuid": f"b{n}", "artifact_id": BASE.format(n)}
                                              for n in (1, 2))))
    registry.send("post", "/buckets/base/channels", {"name": GUESS, "version": "v1", "restricted": True}, 201)
    registry.upload("child/m.json", manifest({"name": "app", "packer_run_uuid": "c1", "build_time": build_time,
                                              "custom_data": {"parent_bucket": "base", "parent_channel": GUESS}}))
    registry.send("patch", f"/buckets/base/channels/{GUESS}", {"version": "v2"})
    sweep(registry)
    viewer = mint(registry, "viewer", name="viewer")
    return viewer, {path: same(call(registry.client, "GET", path, viewer))
                    for path in ("/buckets/child/versions/v1", "/buckets/child/versions?limit=5",
                                 "/buckets/child/versions/v1/ancestry", "/compliance/report")}


def test_a_resolution_names_the_parent_version_never_where_a_restricted_channel_pointed(registry):
    """Built while `secret` held v1 (read from its history at the build time) or before it held
    anything (read when the version was recorded): a contributor is told which, a viewer only
    the parent version, the same either way."""
    viewer, at_build = resolved(registry, int(time.time()) + 60)
    link = registry.get("/buckets/child/versions/v1")["parents"][0]
    assert (link["resolved_at"], link["resolution"].split(" (")[0]) == (
        "build_time", f"channel {GUESS} pointed at v1 at the build time")
    seen = registry.as_token(viewer).get("/buckets/child/versions/v1/ancestry")["parents"][0]
    assert (seen["channel"], seen["resolved_at"], seen["resolution"]) == (None, None, "the parent version is base v1")
    wipe(registry)
    viewer, at_upload = resolved(registry, 1764000000)  # long before `secret` was created
    link = registry.get("/buckets/child/versions/v1")["parents"][0]
    assert link["resolved_at"] == "upload" and "it had no version at the build time" in link["resolution"]
    assert at_upload == at_build
    shown = json.dumps(at_upload)
    assert "pointed" not in shown and "had no version" not in shown, shown


def test_a_viewer_reads_a_version_through_the_hcp_door_without_reading_channels(registry):
    """The parent_channel label is hidden from every viewer, so GetVersion needs no channel read."""
    family(registry, GUESS)
    viewer = Hcp(registry, mint(registry, "viewer", name="looker"))
    viewer.prefix  # noqa: B018 - resolve the organization and project before counting
    calls = count_calls(aws.client("dynamodb"))
    version = viewer.ok("GET", "buckets/child/versions/c1")["version"]
    assert [b["labels"] for b in version["builds"]] == [{"parent_bucket": "base"}]
    assert "BatchGetItem" not in calls, calls
