"""The consumer query's rules (`chalicelib.services.serving`), without DynamoDB: which channel a caller
sees, when a channel serves anything, which artifact answers and what the errors say.

The channel (a storage entity) and builds below have the shape `channels.serving` writes; tests/test_channels.py
drives the same rules through `GET /buckets/{b}/channels/{c}/artifact`.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.enums import VersionStatus
from chalicelib.domain.platforms import canonical
from chalicelib.errors import BadRequest, Conflict, NotFound
from chalicelib.services.serving import check_servable, choose, parse_labels, revoked_message, visible
from chalicelib.storage.entities import Channel

CHANNEL = Channel(bucket="web", name="prod", created_at="2026-01-02T00:00:00Z", updated_at="2026-01-02T00:00:00Z",
                  version="v3", number=3, fingerprint="run-3", version_status=VersionStatus.ACTIVE)


def build(build_id: str, *artifacts: tuple[str | None, str], platform: str = "aws",
          component_type: str = "amazon-ebs.ubuntu", labels: dict[str, str] | None = None,
          build_time: str | None = "2026-01-01T00:00:00Z", created_at: str = "2026-01-02T00:00:00Z",
          **files: Any) -> dict[str, Any]:
    """One build of a channel's copy: (region, external ID) pairs become its artifacts."""
    return {"build_id": build_id, "component_type": component_type, "platform": platform, "labels": labels or {},
            "build_time": build_time, "created_at": created_at, **files,
            "artifacts": [{"region": region, "external_id": external_id} for region, external_id in artifacts]}


def pick(builds: list[dict[str, Any]], platform: str = "aws", region: str | None = None, **query: Any) -> str:
    """The external ID the consumer query answers with."""
    return choose(CHANNEL, "web", "prod", builds, platform, region, **query)["external_id"]


def refusal(error: type[Exception], builds: list[dict[str, Any]], platform: str = "aws", region: str | None = None,
            **query: Any) -> str:
    with pytest.raises(error) as raised:
        choose(CHANNEL, "web", "prod", builds, platform, region, **query)
    return raised.value.message


# ---- which channel a caller sees ---------------------------------------------------------

def test_a_missing_channel_is_not_found() -> None:
    with pytest.raises(NotFound) as raised:
        visible(None, "web", "prod")
    assert raised.value.message == "bucket 'web' has no channel 'prod'"


def test_a_restricted_channel_does_not_exist_for_who_may_not_see_it() -> None:
    restricted = replace(CHANNEL, restricted=True)
    with pytest.raises(NotFound) as raised:
        visible(restricted, "web", "prod", see_restricted=False)
    assert raised.value.message == "bucket 'web' has no channel 'prod'"
    assert visible(restricted, "web", "prod", see_restricted=True) is restricted


def test_channels_are_visible_unless_the_caller_is_restricted() -> None:
    restricted = replace(CHANNEL, restricted=True)
    assert visible(restricted, "web", "prod") is restricted  # the default is open
    assert visible(CHANNEL, "web", "prod", see_restricted=False) is CHANNEL


# ---- when a channel serves anything ------------------------------------------------------

def test_an_unassigned_channel_serves_nothing() -> None:
    with pytest.raises(NotFound) as raised:
        check_servable(replace(CHANNEL, version=None), "web", "prod")
    assert raised.value.message == "channel 'prod' of bucket 'web' is not assigned to a version"


def test_a_channel_holding_a_revoked_version_is_a_conflict_saying_who_when_and_why() -> None:
    revocation = {"revoked_at": "2026-02-01T00:00:00Z", "revoked_by": "alice", "reason": "CVE-1"}
    with pytest.raises(Conflict) as raised:
        check_servable(replace(CHANNEL, version_status=VersionStatus.REVOKED, revocation=revocation), "web", "prod")
    assert raised.value.message == "channel 'prod' holds v3, revoked at 2026-02-01T00:00:00Z by alice: CVE-1"


def test_a_revoked_version_without_its_record_still_refuses() -> None:
    with pytest.raises(Conflict) as raised:
        check_servable(replace(CHANNEL, version_status=VersionStatus.REVOKED, revocation=None), "web", "prod")
    assert raised.value.message == "channel 'prod' holds v3, revoked at None by None: None"


def test_an_active_version_is_served() -> None:
    assert check_servable(CHANNEL, "web", "prod") is None


@pytest.mark.parametrize(("revocation", "origin"), [
    ({"revocation_type": "inherited", "inherited_from": "base/v1"}, " (inherited from its ancestor base/v1)"),
    ({"revocation_type": "inherited"}, ""),
    ({"revocation_type": "direct", "inherited_from": "base/v1"}, ""),
])
def test_revoked_message_names_the_ancestor_of_an_inherited_revocation(revocation: dict, origin: str) -> None:
    record = {"revoked_at": "T", "revoked_by": "sweep", "reason": "parent revoked", **revocation}
    assert revoked_message("prod", "v3", record) == f"channel 'prod' holds v3, revoked{origin} at T by sweep: parent revoked"


# ---- the answer ---------------------------------------------------------------------------

def test_the_answer_carries_the_artifact_and_its_provenance() -> None:
    files = {"files": [{"name": "disk.qcow2", "size": 10}], "file_count": 3}
    builds = [build("b1", ("us-east-1", "ami-1"), labels={"os": "ubuntu"}, **files)]
    assert choose(CHANNEL, "web", "prod", builds, "aws", "us-east-1") == {
        "bucket": "web", "channel": "prod", "version": "v3", "fingerprint": "run-3", "build_id": "b1",
        "component_type": "amazon-ebs.ubuntu", "platform": "aws", "region": "us-east-1", "external_id": "ami-1",
        "labels": {"os": "ubuntu"}, "build_time": "2026-01-01T00:00:00Z", "files": [{"name": "disk.qcow2", "size": 10}],
        "file_count": 3, "created_at": "2026-01-02T00:00:00Z"}


def test_a_cloud_build_has_no_files() -> None:
    answer = choose(CHANNEL, "web", "prod", [build("b1", ("us-east-1", "ami-1"))], "aws", "us-east-1")
    assert (answer["files"], answer["file_count"]) == ([], 0)


def test_the_platform_and_region_pick_the_artifact() -> None:
    builds = [build("b1", ("us-east-1", "ami-1"), ("us-west-2", "ami-2")),
              build("b2", (None, "img-1"), platform="gce", component_type="googlecompute.ubuntu")]
    assert pick(builds, "aws", "us-east-1") == "ami-1"
    assert pick(builds, "aws", "us-west-2") == "ami-2"
    assert pick(builds, "gce") == "img-1"


# (stored, asked): a platform's old name and its plugin's name find each other, both ways.
@pytest.mark.parametrize(("stored", "asked"), [
    ("gce", "gcp"),  # a googlecompute build ingested now, asked for by its old name
    ("gcp", "gce"),  # one ingested before, under the old name, asked for by the new
    ("gcp", "gcp"),
    ("packer.file", "file"),
    ("hcloud", "hetznercloud"),
])
def test_a_platforms_old_name_and_new_name_are_one_platform(stored: str, asked: str) -> None:
    builds = [build("b1", ("us-east-1", "ami-1")), build("b2", (None, "img-1"), platform=stored)]
    answer = choose(CHANNEL, "web", "prod", builds, asked, None)
    assert answer["external_id"] == "img-1"
    assert answer["platform"] == canonical(stored)  # the answer names the platform as it is called now
    assert builds[1]["platform"] == stored  # the copy is not changed


def test_a_platforms_builds_under_both_names_are_one_platforms_builds() -> None:
    builds = [build("old", (None, "img-old"), platform="gcp", build_time="2025-01-01T00:00:00Z"),
              build("new", (None, "img-new"), platform="gce", build_time="2026-01-01T00:00:00Z")]
    assert pick(builds, "gcp") == pick(builds, "gce") == "img-new"
    assert pick(builds[:1], "gce") == "img-old"


def test_a_region_given_for_a_region_less_artifact_does_not_exclude_it() -> None:
    builds = [build("b1", (None, "sha256:abc"), platform="docker", component_type="docker.app")]
    assert pick(builds, "docker", "eu-west-1") == "sha256:abc"


def test_an_artifact_in_exactly_that_region_beats_a_newer_region_less_one() -> None:
    builds = [build("regional", ("us-east-1", "ami-1"), build_time="2026-01-01T00:00:00Z"),
              build("everywhere", (None, "ami-anywhere"), build_time="2026-06-01T00:00:00Z")]
    assert pick(builds, "aws", "us-east-1") == "ami-1"
    assert pick(builds, "aws", "eu-west-1") == "ami-anywhere"  # no artifact there: the region-less one


def test_without_a_region_one_region_is_served() -> None:
    builds = [build("b1", ("us-east-1", "ami-1")), build("b2", ("us-east-1", "ami-2"), build_time=None)]
    assert pick(builds) == "ami-1"


def test_without_a_region_region_less_artifacts_of_several_builds_are_served() -> None:
    builds = [build("old", (None, "img-old"), platform="gce", build_time="2025-01-01T00:00:00Z"),
              build("new", (None, "img-new"), platform="gce", build_time="2026-01-01T00:00:00Z")]
    assert pick(builds, "gce") == "img-new"


def test_without_a_region_several_regions_are_a_400_that_lists_them() -> None:
    builds = [build("b1", ("us-west-2", "ami-2"), ("us-east-1", "ami-1"))]
    assert refusal(BadRequest, builds) == ("platform aws has artifacts in several regions; "
                                           "pass region= one of us-east-1, us-west-2")


def test_without_a_region_a_regional_and_a_region_less_match_are_a_400() -> None:
    builds = [build("b1", ("us-east-1", "ami-1")), build("b2", (None, "ami-anywhere"))]
    assert refusal(BadRequest, builds) == ("platform aws has artifacts in several regions; "
                                           "pass region= one of (none), us-east-1")


def test_component_type_and_labels_narrow_the_builds() -> None:
    builds = [build("a", ("us-east-1", "ami-a"), component_type="amazon-ebs.a", labels={"os": "ubuntu", "arch": "arm64"},
                    build_time="2026-01-01T00:00:00Z"),
              build("b", ("us-east-1", "ami-b"), component_type="amazon-ebs.b", labels={"os": "ubuntu", "arch": "x86"},
                    build_time="2026-03-01T00:00:00Z")]
    assert pick(builds, region="us-east-1") == "ami-b"
    assert pick(builds, region="us-east-1", component_type="amazon-ebs.a") == "ami-a"
    assert pick(builds, region="us-east-1", labels={"arch": "arm64"}) == "ami-a"
    assert pick(builds, region="us-east-1", labels={"os": "ubuntu", "arch": "arm64"}) == "ami-a"
    assert pick(builds, region="us-east-1", labels={"os": "ubuntu"}) == "ami-b"


def test_a_build_without_labels_matches_no_label_filter() -> None:
    unlabelled = build("a", ("us-east-1", "ami-a"))
    del unlabelled["labels"]
    assert refusal(NotFound, [unlabelled], region="us-east-1", labels={"os": "ubuntu"}).startswith(
        "v3 on channel 'prod' has no artifact for platform=aws region=us-east-1 labels=os:ubuntu;")
    assert choose(CHANNEL, "web", "prod", [unlabelled], "aws", "us-east-1")["labels"] == {}


# ---- which of several matches: the documented tie-break ----------------------------------

def test_the_newest_build_wins_and_one_without_a_build_time_loses() -> None:
    builds = [build("undated", ("us-east-1", "ami-undated"), build_time=None, created_at="2026-12-01T00:00:00Z"),
              build("old", ("us-east-1", "ami-old"), build_time="2025-01-01T00:00:00Z"),
              build("new", ("us-east-1", "ami-new"), build_time="2026-01-01T00:00:00Z")]
    assert pick(builds, region="us-east-1") == "ami-new"
    assert pick(builds[:2], region="us-east-1") == "ami-old"


def test_equal_build_times_go_to_the_latest_ingestion() -> None:
    builds = [build("first", ("us-east-1", "ami-first"), created_at="2026-01-02T00:00:00Z"),
              build("second", ("us-east-1", "ami-second"), created_at="2026-01-03T00:00:00Z"),
              build("zero", ("us-east-1", "ami-zero"), created_at="2026-01-01T00:00:00Z")]
    assert pick(builds, region="us-east-1") == "ami-second"


@pytest.mark.parametrize("order", [1, -1])
def test_then_the_first_component_type_external_id_and_build_id(order: int) -> None:
    same = {"build_time": "2026-01-01T00:00:00Z", "created_at": "2026-01-02T00:00:00Z"}
    by_type = [build("b1", ("us-east-1", "ami-1"), component_type="amazon-ebs.b", **same),
               build("b2", ("us-east-1", "ami-2"), component_type="amazon-ebs.a", **same)]
    by_id = [build("b1", ("us-east-1", "ami-2"), **same), build("b2", ("us-east-1", "ami-1"), **same)]
    by_build = [build("b2", ("us-east-1", "ami-x"), **same), build("b1", ("us-east-1", "ami-x"), **same)]
    assert pick(by_type[::order], region="us-east-1") == "ami-2"
    assert pick(by_id[::order], region="us-east-1") == "ami-1"
    answer = choose(CHANNEL, "web", "prod", by_build[::order], "aws", "us-east-1")
    assert answer["build_id"] == "b1"


# ---- what a viewer is told ----------------------------------------------------------------

def test_a_viewer_is_not_told_the_parent_channel() -> None:
    builds = [build("b1", ("us-east-1", "ami-1"), labels={"parent_channel": "secret", "os": "ubuntu"})]
    viewer = choose(CHANNEL, "web", "prod", builds, "aws", "us-east-1", see_restricted=False)
    assert viewer["labels"] == {"os": "ubuntu"}
    assert builds[0]["labels"] == {"parent_channel": "secret", "os": "ubuntu"}  # the copy is not changed
    everyone = {"parent_channel": "secret", "os": "ubuntu"}
    assert choose(CHANNEL, "web", "prod", builds, "aws", "us-east-1", see_restricted=True)["labels"] == everyone
    assert choose(CHANNEL, "web", "prod", builds, "aws", "us-east-1")["labels"] == everyone  # open by default


def test_a_viewer_never_matches_the_parent_channel_label() -> None:
    """As if no build carried it: the same 404 as for a label nobody has."""
    builds = [build("b1", ("us-east-1", "ami-1"), labels={"parent_channel": "secret", "os": "ubuntu"})]
    assert pick(builds, region="us-east-1", labels={"parent_channel": "secret"}) == "ami-1"
    with pytest.raises(NotFound) as refused:
        choose(CHANNEL, "web", "prod", builds, "aws", "us-east-1", labels={"parent_channel": "secret"},
               see_restricted=False)
    with pytest.raises(NotFound) as unknown:
        choose(CHANNEL, "web", "prod", builds, "aws", "us-east-1", labels={"no_label": "secret"}, see_restricted=False)
    assert str(refused.value).replace("parent_channel", "no_label") == str(unknown.value)


# ---- what a 404 says -----------------------------------------------------------------------

MIXED = [build("b1", ("us-east-1", "ami-1"), ("us-west-2", "ami-2"), component_type="amazon-ebs.ubuntu"),
         build("b2", (None, "ami-anywhere"), component_type="amazon-ebs.debian"),
         build("b3", (None, "img-1"), platform="gcp", component_type="googlecompute.ubuntu"),  # the old name
         build("b4", ("lon1", "123"), platform="digitalocean", component_type="digitalocean.web")]


def test_no_artifact_for_the_platform_lists_what_the_channel_has() -> None:
    assert refusal(NotFound, MIXED, "azure") == (
        "v3 on channel 'prod' has no artifact for platform=azure; it has: "
        "aws in us-east-1, us-west-2 and region-less; digitalocean in lon1; gce")


def test_no_artifact_in_the_region_says_the_region_asked_for() -> None:
    assert refusal(NotFound, MIXED[2:], "digitalocean", "nyc3") == (
        "v3 on channel 'prod' has no artifact for platform=digitalocean region=nyc3; it has: "
        "digitalocean in lon1; gce")


def test_a_component_type_filter_lists_the_platforms_component_types() -> None:
    assert refusal(NotFound, MIXED, "aws", "us-east-1", component_type="amazon-ebs.centos") == (
        "v3 on channel 'prod' has no artifact for platform=aws region=us-east-1 component_type=amazon-ebs.centos; "
        "it has: aws in us-east-1, us-west-2 and region-less; digitalocean in lon1; gce "
        "(component types for aws: amazon-ebs.debian, amazon-ebs.ubuntu)")


def test_a_label_filter_lists_the_platforms_component_types_too() -> None:
    assert refusal(NotFound, MIXED, "gcp", labels={"os": "debian", "arch": "arm64"}) == (
        "v3 on channel 'prod' has no artifact for platform=gce labels=os:debian,arch:arm64; it has: "
        "aws in us-east-1, us-west-2 and region-less; digitalocean in lon1; gce "
        "(component types for gce: googlecompute.ubuntu)")


def test_a_version_without_artifacts_says_so() -> None:
    assert refusal(NotFound, [], "aws", "us-east-1") == (
        "v3 on channel 'prod' has no artifact for platform=aws region=us-east-1; it has: no artifacts")


# ---- what answering costs a cold Lambda -------------------------------------------------------

def test_the_consumer_query_loads_no_pydantic() -> None:
    """The platform aliases come from domain.platforms, which needs only the stdlib."""
    code = "import sys, chalicelib.services.serving; print(sorted(m for m in sys.modules if m.startswith('pydantic')))"
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# ---- the labels query parameter -----------------------------------------------------------

@pytest.mark.parametrize(("raw", "labels"), [
    (None, {}),
    ("", {}),
    ("os:ubuntu", {"os": "ubuntu"}),
    ("os:ubuntu,arch:arm64", {"os": "ubuntu", "arch": "arm64"}),
    (" os : ubuntu , arch:arm64 ", {"os": "ubuntu", "arch": "arm64"}),
    ("os:", {"os": ""}),
    ("url:https://x", {"url": "https://x"}),
])
def test_parse_labels(raw: str | None, labels: dict[str, str]) -> None:
    assert parse_labels(raw) == labels


@pytest.mark.parametrize("raw", ["os", ":ubuntu", " :ubuntu", "os:ubuntu,", "os:ubuntu,arch"])
def test_malformed_labels_are_a_400_quoting_them(raw: str) -> None:
    with pytest.raises(BadRequest) as raised:
        parse_labels(raw)
    assert raised.value.message == f"labels must look like key:value,key:value, not {raw!r}"
