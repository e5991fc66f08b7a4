"""What makes a run a duplicate of a version (domain/duplicates.py): the same artifacts from
the same Packer run, whichever door recorded each; no DynamoDB."""

from __future__ import annotations

from typing import Any

from chalicelib.domain import duplicates

RUN = "6b4f4c30-55a1-4c7e-9d1a-0c3f2b7d9e11"


def build(component: str, platform: str, *artifacts: tuple[str, str | None], run: str | None = RUN,
          indexed: bool = True) -> dict[str, Any]:
    """A build's attributes as stored: its artifacts (external ID, region), all indexed or none."""
    return {"component_type": component, "platform": platform, "packer_run_uuid": run,
            "artifacts": [{"external_id": e, "region": r} for e, r in artifacts],
            "indexed_ids": [e for e, _ in artifacts] if indexed else []}


# One Packer run of three sources as HCP recorded it: the regions and the file name the plugins report.
PUBLISHED = [build("amazon-ebs.ubuntu", "aws", ("ami-1", "us-east-1"), ("ami-2", "eu-west-1")),
             build("googlecompute.ubuntu", "gce", ("ubuntu-2604", "us-central1-a")),
             build("file.notes", "packer.file", ("notes.txt", "."), indexed=False)]


def test_a_manifest_of_the_same_run_is_held_whatever_each_door_calls_its_artifacts() -> None:
    # The manifest gives no region for GCE, and `File` for the file builder's artifact.
    manifest = [build("amazon-ebs.ubuntu", "aws", ("ami-1", "us-east-1"), ("ami-2", "eu-west-1")),
                build("googlecompute.ubuntu", "gcp", ("ubuntu-2604", None)),  # an old alias of gce
                build("file.notes", "packer.file", ("File", None), indexed=False)]
    assert duplicates.held(manifest, PUBLISHED) == [
        "aws us-east-1 ami-1", "aws eu-west-1 ami-2", "gce ubuntu-2604", "packer.file file.notes"]
    assert duplicates.held(manifest[:1], PUBLISHED) == ["aws us-east-1 ami-1", "aws eu-west-1 ami-2"]  # a part


def test_an_artifact_the_version_lacks_or_has_elsewhere_is_not_held() -> None:
    assert duplicates.held([build("amazon-ebs.ubuntu", "aws", ("ami-1", "us-east-1"), ("ami-3", "us-west-2"))],
                           PUBLISHED) is None  # adds an artifact
    assert duplicates.held([build("amazon-ebs.ubuntu", "aws", ("ami-1", "us-west-2"))], PUBLISHED) is None
    assert duplicates.held([build("docker.app", "docker", ("ami-1", None))], PUBLISHED) is None  # another platform
    assert duplicates.held([build("file.readme", "packer.file", ("File", None), indexed=False)], PUBLISHED) is None


def test_only_the_same_packer_run_makes_the_same_artifact() -> None:
    # A Docker tag or an image name reused by a later run names another image.
    tagged = [build("docker.app", "docker", ("repo/app:latest", None), run="run-1")]
    assert duplicates.held([build("docker.app", "docker", ("repo/app:latest", None), run="run-2")], tagged) is None
    assert duplicates.held([build("file.notes", "packer.file", ("File", None), run="run-2", indexed=False)],
                           PUBLISHED) is None
    assert duplicates.held([build("amazon-ebs.ubuntu", "aws", ("ami-1", "us-east-1"), run=None)],
                           [build("amazon-ebs.ubuntu", "aws", ("ami-1", "us-east-1"), run=None)]) is None
    assert duplicates.held([build("amazon-ebs.ubuntu", "aws")], PUBLISHED) is None  # no artifacts: nothing to hold
    assert duplicates.held([], PUBLISHED) is None


def test_candidates_are_what_the_newest_producers_name_in_the_bucket_else_the_run_items() -> None:
    run = [build("amazon-ebs.ubuntu", "aws", ("ami-1", "us-east-1"), ("ami-2", "eu-west-1")),
           build("file.notes", "packer.file", ("File", None), indexed=False)]
    runs = {RUN: 7}
    assert duplicates.candidates("base", run, {"ami-1": ("base", 3), "ami-2": ("base", 3)}, runs) == {3}
    assert duplicates.candidates("base", run, {"ami-1": ("base", 3), "ami-2": ("base", 4)}, runs) == {3, 4}
    assert duplicates.candidates("base", run, {"ami-1": ("other", 3)}, runs) == {7}  # another bucket's
    assert duplicates.candidates("base", run, {}, {}) == set()
    assert duplicates.candidates("base", run[1:], {}, runs) == {7}


def test_only_runs_that_can_be_part_of_a_key_are_looked_up() -> None:
    builds = [{"packer_run_uuid": RUN}, {"packer_run_uuid": RUN}, {"packer_run_uuid": None}, {},
              {"packer_run_uuid": ""}, {"packer_run_uuid": "x" * 129}, {"packer_run_uuid": "a#b"},
              {"packer_run_uuid": "x" * 128}]
    assert duplicates.run_uuids(builds) == [RUN, "x" * 128]
    assert duplicates.indexed_ids([{"indexed_ids": ["b", "a"]}, {"indexed_ids": ["a"]}, {}]) == ["a", "b"]
