"""The rules of a build's life through the HCP API (domain/builds.py), pure."""

from __future__ import annotations

import pytest

from chalicelib.domain.builds import (
    FINGERPRINT, ArtifactIn, BuildChange, Refusal, completes, merged, split_component)
from chalicelib.domain.enums import BuildStatus as S

NOW = "2026-01-01T00:00:00Z"
DONE_BODY = dict(status=S.DONE, platform="aws", artifacts=[ArtifactIn("ami-1", "us-east-1")])


def refused(stored: dict, change: BuildChange) -> Refusal:
    with pytest.raises(Refusal) as caught:
        merged(stored, change, NOW)
    return caught.value


@pytest.mark.parametrize("before, after", [
    (S.UNSET, S.RUNNING), (S.RUNNING, S.RUNNING), (S.FAILED, S.RUNNING), (S.CANCELLED, S.RUNNING),
    (S.RUNNING, S.FAILED), (S.RUNNING, S.CANCELLED), (S.UNSET, S.FAILED), (S.DONE, S.DONE)])
def test_allowed_moves(before, after):
    assert merged({"status": before, "platform": "aws", "artifacts": [{"external_id": "x"}]},
                  BuildChange(status=after), NOW)["status"] == after


@pytest.mark.parametrize("before, after", [(S.DONE, S.RUNNING), (S.DONE, S.FAILED), (S.FAILED, S.DONE),
                                           (S.CANCELLED, S.DONE)])
def test_refused_moves(before, after):
    refusal = refused({"status": before}, BuildChange(status=after, platform="aws",
                                                      artifacts=[ArtifactIn("ami-1", "r")]))
    assert refusal.kind == "state" and before.value in refusal.message and after.value in refusal.message


def test_a_merge_keeps_what_the_change_leaves_out():
    stored = {"status": S.RUNNING, "labels": {"a": "1"}, "packer_run_uuid": "u", "metadata": {"m": 1}}
    fields = merged(stored, BuildChange(status=S.RUNNING), NOW)
    assert fields == {"status": S.RUNNING, "updated_at": NOW}


def test_a_merge_sets_what_the_change_carries():
    fields = merged({"status": S.RUNNING}, BuildChange(
        **DONE_BODY, labels={"os": "debian"}, packer_run_uuid="u", source_external_identifier="ami-0",
        parent_version_id="V", parent_channel_id="C", metadata={"packer": {}}), NOW)
    assert fields == {"status": S.DONE, "updated_at": NOW, "platform": "aws", "parent_version_id": "V",
                      "parent_channel_id": "C", "labels": {"os": "debian"}, "packer_run_uuid": "u",
                      "source_artifact": "ami-0", "metadata": {"packer": {}},
                      "artifacts": [{"external_id": "ami-1", "region": "us-east-1"}]}


@pytest.mark.parametrize("name", ["platform", "parent_version_id", "parent_channel_id"])
def test_set_once_fields_refuse_another_value_but_take_the_same(name):
    stored = {"status": S.RUNNING, "platform": "aws", "parent_version_id": "V", "parent_channel_id": "C"}
    refusal = refused(stored, BuildChange(**{name: "other"}))
    assert refusal.kind == ("exists" if name == "platform" else "parent")
    assert str(refusal) == refusal.message == f"the build's {name} is {stored[name]!r} already: it cannot be set again"
    assert merged(stored, BuildChange(**{name: stored[name]}), NOW)[name] == stored[name]


def test_done_needs_artifacts_and_a_platform():
    """The messages name the status as the HCP API spells it (`BUILD_DONE`): the client shows them."""
    no_artifacts = refused({"status": S.RUNNING}, BuildChange(status=S.DONE, platform="aws"))
    assert (no_artifacts.kind, no_artifacts.message) == (
        "invalid", "a build with no artifacts cannot be set to BUILD_DONE")
    no_platform = refused({"status": S.RUNNING}, BuildChange(status=S.DONE, artifacts=[ArtifactIn("a", "r")]))
    assert (no_platform.kind, no_platform.message) == ("invalid", "a build needs its platform to be set to BUILD_DONE")
    stored = {"status": S.RUNNING, "platform": "aws", "artifacts": [{"external_id": "a", "region": "r"}]}
    assert merged(stored, BuildChange(status=S.DONE), NOW)["status"] == S.DONE


def test_a_parent_channel_needs_its_version():
    refusal = refused({"status": S.RUNNING}, BuildChange(parent_channel_id="C"))
    assert (refusal.kind, refusal.message) == (
        "invalid", "parent_channel_id needs parent_version_id: the version taken from that channel")
    assert merged({"status": S.RUNNING, "parent_version_id": "V"}, BuildChange(parent_channel_id="C"), NOW)


def test_an_absent_status_reads_as_unset():
    assert merged({}, BuildChange(status=S.RUNNING), NOW)["status"] == S.RUNNING
    assert merged({}, BuildChange(), NOW)["status"] == S.UNSET


def test_completion_is_the_last_build_becoming_done():
    assert completes(2, 1, S.RUNNING, S.DONE)
    assert not completes(2, 0, S.RUNNING, S.DONE)
    assert not completes(2, 1, S.DONE, S.DONE)
    assert not completes(2, 1, S.RUNNING, S.FAILED)
    assert completes(1, 0, S.UNSET, S.DONE)


def test_components_split_into_builder_and_source():
    assert split_component("amazon-ebs.ubuntu") == ("amazon-ebs", "ubuntu")
    assert split_component("file.a.b") == ("file", "a.b")
    assert split_component("null") == ("null", "null")


@pytest.mark.parametrize("value, ok", [("a", True), ("01HZY", True), ("a.b-c_d", True), ("x" * 40, True),
                                       ("x" * 41, False), ("-a", False), ("a-", False), ("a b", False),
                                       ("", False), ("a#b", False)])
def test_fingerprints_follow_hcp(value, ok):
    assert bool(FINGERPRINT.fullmatch(value)) is ok


@pytest.mark.parametrize("change, words", [
    (BuildChange(**{**DONE_BODY, "artifacts": [ArtifactIn("ami-1", "r"), ArtifactIn("ami-" + "0" * 1021, "r")]}),
     "artifacts[1].external_identifier is 1,025 bytes; the limit is 1,024"),
    (BuildChange(status=S.RUNNING, platform="p" * 257), "platform is 257 bytes; the limit is 256"),
])
def test_what_cannot_be_part_of_a_key_is_refused_with_its_field(change, words):
    refusal = refused({"status": S.RUNNING}, change)
    assert refusal.kind == "invalid" and refusal.message.startswith(words), refusal.message


def test_a_long_id_the_registry_does_not_index_is_kept():
    change = BuildChange(status=S.DONE, platform="qemu", artifacts=[ArtifactIn("/" + "a" * 3000, "")])
    assert merged({"status": S.RUNNING}, change, NOW)["artifacts"][0]["external_id"] == "/" + "a" * 3000
