"""Behaviour of the manifest parser (`chalicelib.domain.manifest.parse_manifest`).

Expectations for the real manifests were read off the files by hand and are written
here as literals; nothing below derives an expected value from the code under test.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, NamedTuple

import pytest

from chalicelib.domain import ids
from chalicelib.domain.manifest import (
    MAX_FILE_NAME,
    MAX_FILE_NAMES,
    MAX_MANIFEST_BYTES,
    ParsedBuild,
    ParsedManifest,
    bucket_from_key,
    content_hash,
    names_no_bucket,
    parse_manifest,
)
from support import real_manifest, real_manifest_names


# --- helpers ---------------------------------------------------------------------------


def entry(**overrides: Any) -> dict[str, Any]:
    """One manifest build entry, Packer style; a value of ... removes the key."""
    base: dict[str, Any] = {
        "name": "ubuntu",
        "builder_type": "amazon-ebs",
        "build_time": 1589498460,
        "files": None,
        "artifact_id": "us-east-1:ami-06cb4e4262072a8ab",
        "packer_run_uuid": "303c8123-a0ee-c4e4-e34a-f2a3ed8e555e",
        "custom_data": None,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not ...}


def manifest(*builds: Any) -> bytes:
    return json.dumps({"builds": list(builds), "last_run_uuid": "x"}).encode()


def parse(*builds: Any, key: str = "ubuntu-base/packer-manifest.json", metadata: dict | None = None) -> ParsedManifest:
    return parse_manifest(manifest(*builds), key, metadata)


def all_builds(parsed: ParsedManifest) -> list[ParsedBuild]:
    return [b for run in parsed.runs for b in run.builds]


def only_build(parsed: ParsedManifest) -> ParsedBuild:
    assert parsed.problems == []
    builds = all_builds(parsed)
    assert len(builds) == 1
    return builds[0]


def only_problem(parsed: ParsedManifest) -> str:
    assert parsed.runs == []
    assert len(parsed.problems) == 1, parsed.problems
    return parsed.problems[0]


# --- 1. every real manifest ----------------------------------------------------------


class Example(NamedTuple):
    external_id: str
    region: str | None
    indexed: bool


class Expect(NamedTuple):
    platforms: set[str]
    regions: set[str | None]
    runs: int
    builds: int
    artifacts: int  # after splitting multi-region artifact_ids
    indexed: int  # artifacts whose external ID is indexed
    examples: tuple[Example, ...]


AWS9 = {
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
}

REAL: dict[str, Expect] = {
    "amazon-ebs-custom-data-arch-pairs.json": Expect(
        {"aws"}, {"us-east-1"}, 13, 26, 26, 26,
        (Example("ami-00c2306f45caf9477", "us-east-1", True), Example("ami-008ad7e7871a96d11", "us-east-1", True)),
    ),
    "amazon-ebs-legacy-no-custom-data.json": Expect(
        {"aws"}, {"eu-west-1"}, 1, 1, 1, 1,
        (Example("ami-fa43559c", "eu-west-1", True),),
    ),
    "amazon-ebs-many-runs-57-builds.json": Expect(
        {"aws"}, {"us-east-1"}, 57, 57, 57, 57,
        (Example("ami-091002a250e4a0589", "us-east-1", True), Example("ami-07a3233b29458e701", "us-east-1", True)),
    ),
    "amazon-ebs-multiregion-multirun-1.json": Expect(
        {"aws"}, {"us-east-1", "us-east-2"}, 8, 8, 16, 16,
        (
            Example("ami-0c2716a13b6c0ff45", "us-east-1", True),
            Example("ami-0e78487b03c33b650", "us-east-2", True),
            Example("ami-044d928a22a2ccc73", "us-east-2", True),
        ),
    ),
    "amazon-ebs-per-region-builds-same-run.json": Expect(
        {"aws"}, {"eu-west-1", "us-west-2", "us-east-1"}, 2, 6, 6, 6,
        (Example("ami-053b9ef51409296a1", "eu-west-1", True), Example("ami-0448157f468870755", "us-west-2", True)),
    ),
    "amazon-ebs-single-1.json": Expect(
        {"aws"}, {"us-east-1"}, 1, 1, 1, 1,
        (Example("ami-06cb4e4262072a8ab", "us-east-1", True),),
    ),
    "azure-arm-custom-data.json": Expect(
        {"azure"}, {None}, 1, 1, 1, 1,
        (
            Example(
                "/subscriptions/93ab47bf-076c-43e0-9d6c-7c34fe77152a/resourceGroups/Clarium-resources/providers/"
                "Microsoft.Compute/images/lab-1634644042",
                None,
                True,
            ),
        ),
    ),
    "azure-arm-managed-image-1.json": Expect(
        {"azure"}, {None}, 1, 1, 1, 1,
        (
            Example(
                "/subscriptions/d0f6eb41-3e86-48da-bc57-893eab20796f/resourceGroups/packer_images/providers/"
                "Microsoft.Compute/images/packer-ubuntu-azure-1638978329",
                None,
                True,
            ),
        ),
    ),
    "azure-arm-managed-image-many-runs.json": Expect(
        {"azure"}, {None}, 27, 27, 27, 27,
        (
            Example(
                "/subscriptions/e44ece60-38be-43b7-a1e5-f580898e8253/resourceGroups/RessourceGroup1/providers/"
                "Microsoft.Compute/images/image_20210302140930",
                None,
                True,
            ),
            Example(
                "/subscriptions/e44ece60-38be-43b7-a1e5-f580898e8253/resourceGroups/resourcegrouptest/providers/"
                "Microsoft.Compute/images/image_20210315152052",
                None,
                True,
            ),
        ),
    ),
    "azure-arm-vhd-url-many-runs.json": Expect(
        {"azure"}, {None}, 12, 12, 12, 12,
        (
            Example(
                "https://teradiciimageseastus.blob.core.windows.net/system/Microsoft.Compute/Images/vhds/"
                "ParsecNvidiaVS2019-osDisk.d9ec8df2-e4d5-442e-a313-2f1745c1206a.vhd",
                None,
                True,
            ),
            Example(
                "https://packerwesteurope.blob.core.windows.net/system/Microsoft.Compute/Images/vhds/"
                "ParsecNvidiaVS2019-osDisk.555b19f7-307d-422d-add8-725199f32b2e.vhd",
                None,
                True,
            ),
        ),
    ),
    # two builds with packer_run_uuid "" are each a run of their own: 3 runs, not 2
    "azure-arm-zero-build-time-empty-run-uuid.json": Expect(
        {"azure"}, {None}, 3, 3, 3, 3,
        (
            Example(
                "/subscriptions/8d7d1594-ccc4-4018-9cae-3a23c5519eff/resourceGroups/nextcloud/providers/"
                "Microsoft.Compute/images/nextcloudDev",
                None,
                True,
            ),
            Example(
                "/subscriptions/8d7d1594-ccc4-4018-9cae-3a23c5519eff/resourceGroups/nextcloud/providers/"
                "Microsoft.Compute/images/nextcloudDev-2021-06-23T204920Z",
                None,
                True,
            ),
        ),
    ),
    "digitalocean-many-runs.json": Expect(
        {"digitalocean"}, {"lon1"}, 12, 12, 12, 12,
        (Example("68784116", "lon1", True), Example("74075140", "lon1", True)),
    ),
    "docker-amazon-ebs-mixed-runs.json": Expect(
        {"docker", "aws"}, {None, "us-east-1"}, 4, 4, 4, 4,
        (
            Example("sha256:38de416cf36ab5006c476009188f10ff9b0f482db0984f4da11235e6740ddb50", None, True),
            Example("ami-0197cb6c5ed3e9d91", "us-east-1", True),
        ),
    ),
    "docker-repo-tag-artifact.json": Expect(
        {"docker"}, {None}, 1, 1, 1, 1,
        (Example("shanumbra/dev:latest", None, True),),
    ),
    "docker-sha256-many-runs.json": Expect(
        {"docker"}, {None}, 11, 12, 12, 12,
        (
            Example("sha256:233bb02b9a37c3413c6b43f674dde83407122daa7d541cb13c39841de3d57791", None, True),
            Example("sha256:a47eca7469aa4feac33c2e61aabec0190d0ac05755046077b54799db265187aa", None, True),
        ),
    ),
    "googlecompute-amazon-ebs-multiregion-custom-data.json": Expect(
        {"gce", "aws"}, {None} | AWS9, 1, 4, 12, 12,
        (
            Example("gold-calyptia-core-20220803131548-us", None, True),
            Example("gold-calyptia-core-20220803131548-asia", None, True),
            Example("ami-03eddcf3359c9ef71", "ap-northeast-1", True),
            Example("ami-081b69387a83364ec", "us-west-2", True),
        ),
    ),
    "googlecompute-two-builds-same-run.json": Expect(
        {"gce"}, {None}, 1, 2, 2, 2,
        (
            Example("influxdb-enterprise-data-1-8-2-ubuntu-1610532159", None, True),
            Example("influxdb-enterprise-meta-1-8-2-ubuntu-1610532159", None, True),
        ),
    ),
    "libvirt-custom-data.json": Expect(
        {"libvirt"}, {None}, 1, 1, 1, 0,
        (
            Example(
                "/var/lib/libvirt/images/packer-provisioner-fedora-backing-store-"
                "7111744d-c535-4bd3-b997-6def24c54738.qcow2",
                None,
                False,
            ),
        ),
    ),
    "nutanix-1.json": Expect(
        {"nutanix"}, {None}, 1, 1, 1, 1,
        (Example("05e3e795-0880-4fc5-a6ec-0eced804767d", None, True),),
    ),
    "openstack-legacy-no-custom-data.json": Expect(
        {"openstack"}, {None}, 4, 4, 4, 4,
        (
            Example("0df75ce9-8b7e-4463-8310-0eb60686b60d", None, True),
            Example("c342f7d7-5e1c-463a-befd-ce921b78a709", None, True),
        ),
    ),
    "oracle-oci-1.json": Expect(
        {"packer.oracle.oci"}, {"uk-london-1"}, 1, 1, 1, 1,
        (
            Example(
                "ocid1.image.oc1.uk-london-1.aaaaaaaafhydgy4jzxvi47pp2cniwlqfhzprm76gzhuvfme6zl2b6hu47vla",
                "uk-london-1",
                True,
            ),
        ),
    ),
    "proxmox-iso-custom-data.json": Expect(
        {"proxmox"}, {None}, 1, 1, 1, 0,
        (Example("900", None, False),),
    ),
    "qemu-1.json": Expect(
        {"qemu"}, {None}, 1, 1, 1, 0,
        (Example("VM", None, False),),
    ),
    "qemu-large-file-size.json": Expect(
        {"qemu"}, {None}, 1, 1, 1, 0,
        (Example("VM", None, False),),
    ),
    "vagrant-windows-path.json": Expect(
        {"vagrant"}, {None}, 1, 1, 1, 0,
        (Example("virtualbox", None, False),),
    ),
    "virtualbox-iso-ovf-vmdk.json": Expect(
        {"virtualbox"}, {None}, 1, 1, 1, 0,
        (Example("VM", None, False),),
    ),
    "vmware-iso-many-files.json": Expect(
        {"vmware"}, {None}, 1, 1, 1, 0,
        (Example("octantnode", None, False),),
    ),
    "vmware-iso-vsphere-iso-legacy-very-large.json": Expect(
        {"vmware", "vsphere"}, {None}, 73, 73, 73, 0,
        (
            Example("eval-win2012r2-standard-ssh", None, False),
            Example("eval-win2016-standard-ssh", None, False),
            Example("example-windows", None, False),
            Example("eval-windows2016-stats-ssh", None, False),
        ),
    ),
    "vsphere-iso-custom-data.json": Expect(
        {"vsphere"}, {None}, 1, 1, 1, 0,
        (Example("RHEL93-Template-Base", None, False),),
    ),
    "yandex-files-dot-size-zero.json": Expect(
        {"yandex"}, {None}, 1, 1, 1, 1,
        (Example("fd8pt8q5ri1ltp0mefl6", None, True),),
    ),
}


def parse_real(name: str, key: str | None = None, metadata: dict | None = None) -> ParsedManifest:
    return parse_manifest(real_manifest(name), key or name, metadata)


def test_table_covers_every_real_manifest() -> None:
    assert set(REAL) == set(real_manifest_names())
    assert len(REAL) == 30


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_manifest(name: str) -> None:
    expect = REAL[name]
    parsed = parse_real(name)  # key at the root: the bucket is the file's stem

    assert parsed.problems == []
    assert parsed.build_count == expect.builds  # none of these files repeats an entry
    builds = all_builds(parsed)
    artifacts = [a for b in builds for a in b.artifacts]
    assert {b.platform for b in builds} == expect.platforms
    assert {a.region for a in artifacts} == expect.regions
    assert len(parsed.runs) == expect.runs
    assert len(builds) == expect.builds
    assert len(artifacts) == expect.artifacts
    assert sum(len(b.indexed_ids) for b in builds) == expect.indexed
    assert {run.bucket for run in parsed.runs} == {name.removesuffix(".json")}
    assert all(run.parent_hint is None for run in parsed.runs)  # no file carries parent keys

    pairs = {(a.external_id, a.region) for a in artifacts}
    indexed = {i for b in builds for i in b.indexed_ids}
    for example in expect.examples:
        assert (example.external_id, example.region) in pairs
        assert (example.external_id in indexed) is example.indexed


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_manifest_runs_are_fingerprinted_by_their_run_uuid(name: str) -> None:
    raw_builds = json.loads(real_manifest(name))["builds"]
    uuids = {b["packer_run_uuid"] for b in raw_builds if b["packer_run_uuid"]}
    parsed = parse_real(name)
    named = {run.fingerprint for run in parsed.runs if not run.fingerprint.startswith("build-")}
    assert named == uuids
    for run in parsed.runs:
        for build in run.builds:
            if not run.fingerprint.startswith("build-"):
                assert build.packer_run_uuid == run.fingerprint


# --- 2. rules ------------------------------------------------------------------------


def test_multi_region_ami_becomes_one_artifact_per_region() -> None:
    build = only_build(parse(entry(artifact_id="us-east-1:ami-0c2716a13b6c0ff45,us-east-2:ami-0e78487b03c33b650")))
    assert [(a.external_id, a.region) for a in build.artifacts] == [
        ("ami-0c2716a13b6c0ff45", "us-east-1"),
        ("ami-0e78487b03c33b650", "us-east-2"),
    ]
    assert build.indexed_ids == ["ami-0c2716a13b6c0ff45", "ami-0e78487b03c33b650"]


@pytest.mark.parametrize(
    "artifact_id",
    ["sha256:38de416cf36ab5006c476009188f10ff9b0f482db0984f4da11235e6740ddb50", "shanumbra/dev:latest"],
)
def test_docker_artifact_keeps_its_colon(artifact_id: str) -> None:
    build = only_build(parse(entry(builder_type="docker", name="docker", artifact_id=artifact_id)))
    assert build.platform == "docker"
    assert [(a.external_id, a.region) for a in build.artifacts] == [(artifact_id, None)]
    assert build.indexed_ids == [artifact_id]


def test_oci_region_from_ocid() -> None:
    ocid = "ocid1.image.oc1.eu-frankfurt-1.aaaaaaaabbbb"
    build = only_build(parse(entry(builder_type="oracle-oci", artifact_id=ocid)))
    assert build.platform == "packer.oracle.oci"
    assert [(a.external_id, a.region) for a in build.artifacts] == [(ocid, "eu-frankfurt-1")]
    assert build.indexed_ids == [ocid]


def test_azure_resource_id_is_region_less() -> None:
    rid = "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/images/img-1"
    build = only_build(parse(entry(builder_type="azure-arm", artifact_id=rid)))
    assert [(a.external_id, a.region) for a in build.artifacts] == [(rid, None)]
    assert build.indexed_ids == [rid]


@pytest.mark.parametrize(
    ("builder_type", "artifact_id", "indexed"),
    [
        ("qemu", "VM", False),
        ("virtualbox-iso", "VM", False),
        ("proxmox-iso", "900", False),
        ("vagrant", "virtualbox", False),
        ("vsphere-iso", "RHEL93-Template-Base", False),
        ("vmware-iso", "octantnode", False),
        ("libvirt", "/var/lib/libvirt/images/disk.qcow2", False),
        ("qemu", "output-qemu/packer-qemu", False),
        ("null", "Null", False),
        ("file", "File", False),
        ("docker", "Container", False),
        ("amazon-ebs", "us-east-1:ami-06cb4e4262072a8ab", True),
        ("docker", "sha256:233bb02b9a37c3413c6b43f674dde83407122daa7d541cb13c39841de3d57791", True),
        ("azure-arm", "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/images/i", True),
        ("googlecompute", "influxdb-enterprise-data-1-8-2-ubuntu-1610532159", True),
    ],
)
def test_which_ids_are_indexed(builder_type: str, artifact_id: str, indexed: bool) -> None:
    build = only_build(parse(entry(builder_type=builder_type, artifact_id=artifact_id)))
    ids = [a.external_id for a in build.artifacts]
    assert len(ids) == 1
    assert build.indexed_ids == (ids if indexed else [])


def test_arch_pairs_stay_two_builds_per_run() -> None:
    parsed = parse_real("amazon-ebs-custom-data-arch-pairs.json")
    assert parsed.problems == []
    assert len(parsed.runs) == 13
    for run in parsed.runs:
        assert len(run.builds) == 2
        assert {b.name for b in run.builds} == {"debian"}
        assert {b.packer_run_uuid for b in run.builds} == {run.fingerprint}
        assert sorted(b.labels["arch"] for b in run.builds) == ["arm64", "x86_64"]
        assert run.builds[0].id != run.builds[1].id
    first = parsed.runs[0]
    assert first.fingerprint == "9a6e3074-e5cf-185d-3666-9ff2ee2da912"
    assert [(b.labels, b.artifacts[0].external_id) for b in first.builds] == [
        ({"arch": "arm64"}, "ami-00c2306f45caf9477"),
        ({"arch": "x86_64"}, "ami-0c56ff441e5f507db"),
    ]


def test_builds_differing_only_in_custom_data_stay_two() -> None:
    parsed = parse(entry(custom_data={"arch": "arm64"}), entry(custom_data={"arch": "x86_64"}))
    assert parsed.problems == []
    assert len(parsed.runs) == 1
    assert sorted(b.labels["arch"] for b in parsed.runs[0].builds) == ["arm64", "x86_64"]


def test_empty_run_uuid_builds_are_each_their_own_run() -> None:
    parsed = parse_real("azure-arm-zero-build-time-empty-run-uuid.json")
    assert parsed.problems == []
    assert len(parsed.runs) == 3
    anonymous = [run for run in parsed.runs if run.fingerprint.startswith("build-")]
    assert len(anonymous) == 2
    for run in anonymous:
        assert re.fullmatch(r"build-[0-9A-Z]{26}", run.fingerprint)
        (build,) = run.builds
        assert run.fingerprint == f"build-{build.id}"
        assert build.packer_run_uuid is None
        assert build.build_time is None  # build_time 0 means unknown
    assert anonymous[0].fingerprint != anonymous[1].fingerprint
    (named,) = [run for run in parsed.runs if not run.fingerprint.startswith("build-")]
    assert named.fingerprint == "59e06814-33d3-b093-b1c9-8d2b245619d7"
    assert named.builds[0].build_time == "2021-06-23T20:55:10Z"


@pytest.mark.parametrize("uuid", ["", "   ", None, ...])
def test_missing_run_uuid_gives_a_content_fingerprint(uuid: Any) -> None:
    parsed = parse(entry(packer_run_uuid=uuid))
    build = only_build(parsed)
    assert parsed.runs[0].fingerprint == f"build-{build.id}"
    assert build.packer_run_uuid is None


@pytest.mark.parametrize(
    ("build_time", "iso"),
    [(1589498460, "2020-05-14T23:21:00Z"), (0, None), (None, None), (..., None),
     (-1, None), (-1589498460, None),  # before 1970: junk
     (32503680000, "3000-01-01T00:00:00Z"), (32503680001, None), (2**62, None)],  # past year 3000: junk
)
def test_build_time(build_time: Any, iso: str | None) -> None:
    assert only_build(parse(entry(build_time=build_time))).build_time == iso


@pytest.mark.parametrize(
    ("custom_data", "metadata", "key", "bucket"),
    [
        ({"bucket_name": "from-custom"}, {"bucket-name": "from-meta"}, "from-key/x.json", "from-custom"),
        ({"bucket_name": "  from-custom  "}, None, "from-key/x.json", "from-custom"),
        (None, {"bucket-name": "from-meta"}, "from-key/x.json", "from-meta"),
        (None, {"Bucket-Name": "from-meta"}, "from-key/x.json", "from-meta"),  # S3 metadata is case-insensitive
        ({"bucket_name": ""}, {"bucket-name": "from-meta"}, "from-key/x.json", "from-meta"),
        (None, None, "from-key/2026-11-25.json", "from-key"),
        (None, None, "from-key/deeper/packer-manifest.json", "from-key"),
        (None, None, "ubuntu-base.json", "ubuntu-base"),
        (None, None, "ubuntu-base", "ubuntu-base"),
        (None, None, "/ubuntu-base.json", "ubuntu-base"),
    ],
)
def test_bucket_name_precedence(custom_data: Any, metadata: dict | None, key: str, bucket: str) -> None:
    parsed = parse(entry(custom_data=custom_data), key=key, metadata=metadata)
    assert parsed.problems == []
    assert [run.bucket for run in parsed.runs] == [bucket]


@pytest.mark.parametrize(
    ("key", "bucket"),
    [
        ("ubuntu-base/2026-11-25.json", "ubuntu-base"),
        ("ubuntu-base.json", "ubuntu-base"),
        ("a/b/c.json", "a"),
        ("archive.tar.gz", "archive.tar"),
        # A manifest's own file name at the root names no bucket (any case, any extension).
        ("packer-manifest.json", ""),
        ("/Packer-Manifest.JSON", ""),
        ("packer_manifest.json", ""),
        ("manifest.json", ""),
        ("packer-manifest", ""),
        # ... but a folder of that name, or another name, is the user's choice.
        ("packer-manifest/x.json", "packer-manifest"),
        ("packer-manifest-2026.json", "packer-manifest-2026"),
        ("ubuntu-base/packer-manifest.json", "ubuntu-base"),
        ("manifest.d/ubuntu", "manifest.d"),
        ("X/packer-manifest.json", "X"),  # only leading slashes are stripped
        ("//Xenial.json", "Xenial"),
    ],
)
def test_bucket_from_key(key: str, bucket: str) -> None:
    assert bucket_from_key(key) == bucket


@pytest.mark.parametrize(
    ("custom_data", "metadata", "fingerprint"),
    [
        ({"fingerprint": "abc123"}, {"fingerprint": "meta-fp"}, "abc123"),
        (None, {"fingerprint": "meta-fp"}, "meta-fp"),
        ({"fingerprint": ""}, {"fingerprint": "meta-fp"}, "meta-fp"),
        (None, None, "303c8123-a0ee-c4e4-e34a-f2a3ed8e555e"),
    ],
)
def test_fingerprint_precedence(custom_data: Any, metadata: dict | None, fingerprint: str) -> None:
    parsed = parse(entry(custom_data=custom_data), metadata=metadata)
    assert parsed.problems == []
    assert [run.fingerprint for run in parsed.runs] == [fingerprint]


def test_metadata_fingerprint_merges_every_run_of_the_object() -> None:
    assert len(parse_real("amazon-ebs-many-runs-57-builds.json").runs) == 57
    parsed = parse_real("amazon-ebs-many-runs-57-builds.json", metadata={"fingerprint": "0f3c2a1"})
    assert parsed.problems == []
    assert len(parsed.runs) == 1
    assert parsed.runs[0].fingerprint == "0f3c2a1"
    assert len(parsed.runs[0].builds) == 57


def test_custom_data_fingerprint_splits_runs_the_uuid_would_merge() -> None:
    parsed = parse(
        entry(artifact_id="us-east-1:ami-1", custom_data={"fingerprint": "sha-a"}),
        entry(artifact_id="us-east-1:ami-2", custom_data={"fingerprint": "sha-b"}),
    )
    assert parsed.problems == []
    assert sorted(run.fingerprint for run in parsed.runs) == ["sha-a", "sha-b"]


def test_same_fingerprint_in_two_buckets_is_two_runs() -> None:
    parsed = parse(
        entry(artifact_id="us-east-1:ami-1", custom_data={"bucket_name": "one"}),
        entry(artifact_id="us-east-1:ami-2", custom_data={"bucket_name": "two"}),
    )
    assert parsed.problems == []
    assert sorted((run.bucket, run.fingerprint) for run in parsed.runs) == [
        ("one", "303c8123-a0ee-c4e4-e34a-f2a3ed8e555e"),
        ("two", "303c8123-a0ee-c4e4-e34a-f2a3ed8e555e"),
    ]


def test_parent_hint_from_custom_data() -> None:
    parsed = parse(
        entry(
            custom_data={
                "parent_bucket": "ubuntu-base",
                "parent_channel": "prod",
                "parent_version": "v4",
                "source_artifact": "ami-0parent",
            }
        )
    )
    build = only_build(parsed)
    hint = parsed.runs[0].parent_hint
    assert hint is not None
    assert (hint.bucket, hint.channel, hint.version, hint.source_artifact) == ("ubuntu-base", "prod", "v4", "ami-0parent")
    assert build.source_artifact == "ami-0parent"


@pytest.mark.parametrize(
    ("custom_data", "source"),
    [
        ({"source_ami": "ami-0aaa"}, "ami-0aaa"),
        ({"source_image": "ubuntu-2204-jammy-v20240501"}, "ubuntu-2204-jammy-v20240501"),
        ({"source_artifact": "ami-0first", "source_ami": "ami-0second"}, "ami-0first"),
        ({"source_artifact": "", "source_ami": "ami-0second"}, "ami-0second"),
    ],
)
def test_source_artifact_aliases(custom_data: dict, source: str) -> None:
    parsed = parse(entry(custom_data=custom_data))
    assert only_build(parsed).source_artifact == source
    hint = parsed.runs[0].parent_hint
    assert hint is not None
    assert (hint.bucket, hint.channel, hint.version, hint.source_artifact) == (None, None, None, source)


def test_parent_hint_from_hyphenated_metadata() -> None:
    metadata = {
        "parent-bucket": "ubuntu-base",
        "parent-channel": "prod",
        "parent-version": "v4",
        "source-artifact": "ami-0parent",
    }
    parsed = parse(entry(), metadata=metadata)
    build = only_build(parsed)
    hint = parsed.runs[0].parent_hint
    assert hint is not None
    assert (hint.bucket, hint.channel, hint.version, hint.source_artifact) == ("ubuntu-base", "prod", "v4", "ami-0parent")
    assert build.source_artifact == "ami-0parent"


def test_custom_data_hint_beats_metadata_field_by_field() -> None:
    parsed = parse(
        entry(custom_data={"parent_bucket": "from-custom", "source_ami": "ami-0custom"}),
        metadata={"parent-bucket": "from-meta", "parent-channel": "beta", "source-artifact": "ami-0meta"},
    )
    hint = parsed.runs[0].parent_hint
    assert hint is not None
    assert (hint.bucket, hint.channel, hint.version, hint.source_artifact) == ("from-custom", "beta", None, "ami-0custom")
    assert only_build(parsed).source_artifact == "ami-0custom"


def test_a_runs_hint_may_come_from_a_later_build() -> None:
    """A run is one version, so it has one parent: the hint of its first build that has one."""
    parsed = parse(entry(name="a"), entry(name="b", custom_data={"parent_bucket": "base", "parent_channel": "prod"}))
    (run,) = parsed.runs
    assert len(run.builds) == 2
    assert run.parent_hint is not None
    assert (run.parent_hint.bucket, run.parent_hint.channel) == ("base", "prod")


def test_when_a_runs_hints_disagree_the_first_wins() -> None:
    parsed = parse(entry(name="a", custom_data={"parent_bucket": "first"}),
                   entry(name="b", custom_data={"parent_bucket": "second"}), entry(name="c"))
    (run,) = parsed.runs
    assert len(run.builds) == 3
    assert run.parent_hint is not None and run.parent_hint.bucket == "first"


def test_no_parent_keys_no_hint() -> None:
    parsed = parse(entry(custom_data={"arch": "arm64"}))
    assert parsed.runs[0].parent_hint is None
    assert only_build(parsed).source_artifact is None


def test_same_manifest_parsed_twice_gives_the_same_build_ids() -> None:
    raw = real_manifest("docker-sha256-many-runs.json")
    first = [b.id for b in all_builds(parse_manifest(raw, "a.json"))]
    second = [b.id for b in all_builds(parse_manifest(raw, "a.json"))]
    assert len(first) == 12
    assert len(set(first)) == 12
    assert first == second


def test_build_id_ignores_key_order_but_not_content() -> None:
    one = entry()
    reordered = dict(reversed(list(one.items())))
    assert list(reordered) != list(one)
    id_one = only_build(parse(one)).id
    assert only_build(parse(reordered)).id == id_one
    assert only_build(parse(entry(build_time=1589498461))).id != id_one
    assert ids.is_ulid(id_one)


@pytest.mark.parametrize("uuid", ["303c8123-a0ee-c4e4-e34a-f2a3ed8e555e", ""])
def test_duplicated_build_entry_is_kept_once(uuid: str) -> None:
    parsed = parse(entry(packer_run_uuid=uuid), entry(packer_run_uuid=uuid))
    assert parsed.problems == []
    assert parsed.build_count == 2
    assert len(parsed.runs) == 1
    assert len(parsed.runs[0].builds) == 1


def test_duplicated_real_manifest_builds_are_kept_once() -> None:
    document = json.loads(real_manifest("amazon-ebs-per-region-builds-same-run.json"))
    document["builds"] = document["builds"] + document["builds"]
    parsed = parse_manifest(json.dumps(document).encode(), "weka.json")
    assert parsed.problems == []
    assert parsed.build_count == 12
    assert len(parsed.runs) == 2
    assert sum(len(run.builds) for run in parsed.runs) == 6


def test_custom_data_becomes_labels_with_non_strings_json_encoded() -> None:
    custom = {"s": "text", "n": 5, "f": 1.5, "flag": True, "nothing": None, "list": [1, "a"], "obj": {"b": 2, "a": 1}}
    labels = only_build(parse(entry(custom_data=custom))).labels
    assert set(labels) == set(custom)
    assert all(isinstance(v, str) for v in labels.values())
    assert labels["s"] == "text"  # strings are not quoted again
    assert labels["n"] == "5"
    assert labels["flag"] == "true"
    assert labels["nothing"] == "null"
    for k, v in custom.items():
        if k != "s":
            assert json.loads(labels[k]) == v
    # Keys sorted, so the same custom_data always gives the same label text.
    assert (labels["obj"], labels["list"]) == ('{"a": 1, "b": 2}', '[1, "a"]')


def test_build_fields_carry_through() -> None:
    build = only_build(parse(entry(name="amazon-ebs", builder_type="amazon-ebs")))
    assert (build.name, build.builder_type, build.platform, build.component_type) == (
        "amazon-ebs",
        "amazon-ebs",
        "aws",
        "amazon-ebs.amazon-ebs",
    )
    assert build.packer_run_uuid == "303c8123-a0ee-c4e4-e34a-f2a3ed8e555e"
    assert build.labels == {}


def test_utf8_bom_is_accepted() -> None:
    parsed = parse_manifest(b"\xef\xbb\xbf" + manifest(entry()), "ubuntu-base.json")
    assert parsed.problems == []
    assert len(all_builds(parsed)) == 1


# --- 3. bad input --------------------------------------------------------------------


NOT_AN_OBJECT = "the manifest must be a JSON object, not "


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"builds": "\xff\xfe"}', "not UTF-8 text: invalid byte at offset 12"),
        (b'{"builds": [', "not valid JSON: Expecting value at line 1 column 13"),
        (b"", "not valid JSON: Expecting value at line 1 column 1"),
        (b"X" * 100, "not valid JSON: Expecting value at line 1 column 1"),  # letters are not brackets
        (b"X" * 50 + b"[" * 100, "JSON nested deeper than 64 levels"),  # ... nor closing ones
        (b"[]", NOT_AN_OBJECT + "list"),
        (b'[{"builds": []}]', NOT_AN_OBJECT + "list"),
        (b'"packer-manifest"', NOT_AN_OBJECT + "string"),
        (b"42", NOT_AN_OBJECT + "number"),
        (b"true", NOT_AN_OBJECT + "boolean"),
        (b"null", NOT_AN_OBJECT + "null"),
        (b'{"last_run_uuid": "x"}', "'builds' is missing: not a Packer manifest"),
        (b'{"builds": {"name": "x"}}', "'builds' is a object, not a list: not a Packer manifest"),
        (b'{"builds": "x"}', "'builds' is a string, not a list: not a Packer manifest"),
        (b'{"builds": []}', "'builds' is empty: nothing to record"),
    ],
)
def test_bad_document_is_one_clear_problem(raw: bytes, message: str) -> None:
    parsed = parse_manifest(raw, "ubuntu-base/x.json")
    assert only_problem(parsed) == message
    assert parsed.build_count == 0


@pytest.mark.parametrize(("build", "kind"), [(5, "number"), (1.5, "number"), ("amazon-ebs", "string"), (None, "null"),
                                            ([], "list"), (True, "boolean")])
def test_a_build_that_is_not_an_object_is_named_by_its_type(build: Any, kind: str) -> None:
    assert only_problem(parse(build)) == f"builds[0]: a build must be an object, not {kind}"


def test_every_invalid_field_of_a_build_is_named() -> None:
    problem = only_problem(parse(entry(builder_type=..., artifact_id=...)))
    assert problem == "builds[0] (ubuntu): builder_type: Field required; artifact_id: Field required"


@pytest.mark.parametrize(
    ("build", "needles"),
    [
        (entry(artifact_id=...), ["builds[0]", "(ubuntu)", "artifact_id", "required"]),
        (entry(builder_type=...), ["builds[0]", "builder_type", "required"]),
        (entry(name=...), ["builds[0]", "name", "required"]),
        (entry(build_time="abc"), ["builds[0]", "(ubuntu)", "build_time: "]),
        (entry(name=5), ["builds[0]", "name: "]),
        (entry(name="   "), ["builds[0]", "name", "empty"]),
        (entry(builder_type=""), ["builds[0]", "builder_type", "empty"]),
        (entry(artifact_id=["us-east-1:ami-1"]), ["builds[0]", "artifact_id"]),
        (entry(custom_data=["arch", "arm64"]), ["builds[0]", "custom_data"]),
        (entry(files="output/disk.vmdk"), ["builds[0]", "files"]),
        (entry(files=[{"size": 1}]), ["builds[0]", "files.0.name"]),
    ],
)
def test_bad_build_is_one_clear_problem(build: Any, needles: list[str]) -> None:
    parsed = parse(build)
    problem = only_problem(parsed)
    for needle in needles:
        assert needle in problem, problem
    assert parsed.build_count == 1


def test_invalid_bucket_name_from_custom_data() -> None:
    problem = only_problem(parse(entry(custom_data={"bucket_name": "bad name!"}), key="/x.json"))
    assert problem == ("builds[0] (ubuntu): bucket name 'bad name!' is not valid (letters, digits, '.', '_', '-'; "
                       "up to 64; set custom_data.bucket_name or the object metadata bucket-name)")


@pytest.mark.parametrize(
    ("key", "metadata", "shown"),
    [
        ("bad name!/x.json", None, "'bad name!'"),
        ("x.json", {"bucket-name": "-leading-dash"}, "'-leading-dash'"),
        ("x.json", {"bucket-name": "a" * 65}, "'" + "a" * 65 + "'"),
        ("", None, "''"),
    ],
)
def test_invalid_bucket_name_from_key_or_metadata(key: str, metadata: dict | None, shown: str) -> None:
    problem = only_problem(parse(entry(), key=key, metadata=metadata))
    assert problem.startswith("builds[0]")
    assert "bucket name" in problem
    assert shown in problem


@pytest.mark.parametrize(
    ("custom_data", "metadata", "shown"),
    [
        ({"fingerprint": "v3"}, None, "'v3'"),
        (None, {"fingerprint": "v12"}, "'v12'"),
        ({"fingerprint": "has space"}, None, "'has space'"),
        ({"fingerprint": "x" * 129}, None, "'" + "x" * 80 + "...'"),  # a long value quoted in part
    ],
)
def test_invalid_fingerprint(custom_data: Any, metadata: dict | None, shown: str) -> None:
    problem = only_problem(parse(entry(custom_data=custom_data), metadata=metadata))
    assert problem.startswith("builds[0]")
    assert "fingerprint" in problem
    assert shown in problem


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 10_000 + b"]" * 10_000,
        b'{"builds": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
        b'{"builds": [{"custom_data": ' + b'{"a": ' * 10_000 + b"1" + b"}" * 10_000 + b"}]}",
        b"[" * 10_000,  # deep and unterminated
    ],
)
def test_deeply_nested_json_does_not_recurse(raw: bytes) -> None:
    problem = only_problem(parse_manifest(raw, "ubuntu-base/x.json"))
    assert "nested" in problem


def nested(levels: int) -> list:
    """A list `levels` brackets deep."""
    value: list = []
    for _ in range(levels - 1):
        value = [value]
    return value


# A build's custom_data sits 4 levels down: {"builds": [{"custom_data": {...}}]}.
@pytest.mark.parametrize(("levels", "problems"), [(60, []), (61, ["JSON nested deeper than 64 levels"])])
def test_exactly_64_levels_of_nesting_are_accepted(levels: int, problems: list[str]) -> None:
    assert parse(entry(custom_data={"deep": nested(levels)})).problems == problems


def test_sibling_containers_do_not_hide_a_deeper_one() -> None:
    siblings = [[], {}, [[]], [], {"a": []}]
    assert parse(entry(custom_data={"before": siblings, "deep": nested(60), "after": siblings})).problems == []
    problem = only_problem(parse(entry(custom_data={"before": siblings, "deep": nested(61)})))
    assert problem == "JSON nested deeper than 64 levels"


def test_an_escaped_quote_does_not_end_a_string() -> None:
    note = '"' + "[" * 100  # in JSON: "\"[[[...": still inside the string
    assert only_build(parse(entry(custom_data={"note": note}))).labels["note"] == note


def test_a_string_ending_in_a_backslash_ends_at_its_quote() -> None:
    custom = {"path": "C:\\", "deep": nested(61)}  # in JSON: "C:\\\\": the brackets after it count
    assert only_problem(parse(entry(custom_data=custom))) == "JSON nested deeper than 64 levels"


def test_nesting_inside_strings_does_not_count() -> None:
    parsed = parse(entry(custom_data={"note": "[" * 10_000 + "{" * 10_000}))
    assert parsed.problems == []
    assert only_build(parsed).labels["note"] == "[" * 10_000 + "{" * 10_000


def test_partially_valid_manifest_keeps_the_good_builds() -> None:
    parsed = parse(
        entry(artifact_id="us-east-1:ami-1"),
        entry(name="broken", artifact_id=...),
        entry(artifact_id="us-east-1:ami-3"),
    )
    assert parsed.build_count == 3
    assert len(parsed.problems) == 1
    problem = parsed.problems[0]
    assert problem.startswith("builds[1]")
    assert "(broken)" in problem
    assert "artifact_id" in problem
    assert sorted(a.external_id for b in all_builds(parsed) for a in b.artifacts) == ["ami-1", "ami-3"]


def test_every_bad_build_is_reported_with_its_own_index() -> None:
    parsed = parse(entry(build_time="abc"), entry(), 7, entry(name=5, artifact_id="us-east-1:ami-2"))
    assert parsed.build_count == 4
    assert len(all_builds(parsed)) == 1
    assert [re.match(r"builds\[(\d+)\]", p).group(1) for p in parsed.problems] == ["0", "2", "3"]
    assert "build_time: " in parsed.problems[0]
    assert "name: " in parsed.problems[2]


def test_oversized_input_is_refused() -> None:
    body = manifest(entry())
    raw = body + b" " * (MAX_MANIFEST_BYTES + 1 - len(body))  # valid JSON, one byte too long
    assert len(raw) == MAX_MANIFEST_BYTES + 1
    problem = only_problem(parse_manifest(raw, "ubuntu-base/x.json"))
    assert str(MAX_MANIFEST_BYTES) in problem
    assert "limit" in problem


def test_input_at_the_size_limit_is_accepted() -> None:
    body = manifest(entry())
    raw = body + b" " * (MAX_MANIFEST_BYTES - len(body))
    assert len(raw) == MAX_MANIFEST_BYTES
    parsed = parse_manifest(raw, "ubuntu-base/x.json")
    assert parsed.problems == []
    assert len(all_builds(parsed)) == 1


@pytest.mark.parametrize("raw", [b'1' + b"0" * 5000, b'{"builds": [{"build_time": 1' + b"0" * 5000 + b"}]}"])
def test_huge_integer_literal_is_a_problem_not_a_crash(raw: bytes) -> None:
    problem = only_problem(parse_manifest(raw, "ubuntu-base/x.json"))
    assert "not valid JSON" in problem


@pytest.mark.parametrize(
    "raw",
    [
        b'{"builds": [{"name": "ubuntu\\ud800", "builder_type": "amazon-ebs", "artifact_id": "us-east-1:ami-1"}]}',
        b'{"builds": [{"name": "ubuntu", "builder_type": "amazon-ebs", "artifact_id": "us-east-1:ami-1", '
        b'"custom_data": {"note": "\\udc80"}}]}',
    ],
)
def test_lone_surrogate_escape_is_a_problem_not_a_crash(raw: bytes) -> None:
    assert re.search(rb'[^\\]\\ud[89a-f][0-9a-f]{2}', raw)  # one backslash: a JSON escape, not text
    parsed = parse_manifest(raw, "ubuntu-base/x.json")
    assert parsed.build_count == 1
    assert len(parsed.problems) == 1
    assert parsed.problems[0].startswith("builds[0] (ubuntu")
    assert parsed.problems[0].endswith("): contains a string that is not valid Unicode (a lone surrogate escape)")


# --- 4. golden values: build IDs are stored keys ----------------------------------------


def test_content_hash_golden_value() -> None:
    """Build IDs (and `build-<hash>` fingerprints) are this hash: changing the canonical form
    (key order, separators, ensure_ascii) would re-key every stored build."""
    value = {"b": [1, "é", None], "a": {"y": 2, "x": "ü"}}
    canonical = '{"a":{"x":"ü","y":2},"b":[1,"é",null]}'  # sorted keys, no spaces, UTF-8 as is
    assert hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16] == "e2617e5bd3b35086"
    assert content_hash(value) == "e2617e5bd3b35086"


def test_build_id_of_a_real_manifest_is_stable() -> None:
    parsed = parse_manifest(real_manifest("qemu-1.json"), "void/packer-manifest.json")
    # A ULID: the build time's milliseconds, then 80 bits of the entry's hash (e2617… above).
    assert only_build(parsed).id == "01EGZ7R6VR6XR2V5E34NZ0G0S0"


# --- 5. files (local builders' outputs) --------------------------------------------------


@pytest.mark.parametrize(
    ("name", "count", "first", "last"),
    [
        ("qemu-1.json", 1, ("output-qemu/packer-qemu", 1048576000), None),
        ("qemu-large-file-size.json", 1, ("sting-ce-quickstart-1.0.0", 5471993856), None),
        ("virtualbox-iso-ovf-vmdk.json", 2, ("output-virtualbox-iso/zeek-ubuntu1804-disk001.vmdk", 3006342144),
         ("output-virtualbox-iso/zeek-ubuntu1804.ovf", 6035)),
        ("vagrant-windows-path.json", 1, ("packer_build_dir\\package.box", 634863172), None),
        ("yandex-files-dot-size-zero.json", 1, (".", 0), None),
        ("vmware-iso-many-files.json", 27, ("output-vmware/disk-1-s001.vmdk", 524288),
         ("output-vmware/octantnode.vmxf", 265)),
        ("amazon-ebs-single-1.json", 0, None, None),  # files: null
    ],
)
def test_real_manifest_files_are_kept(name: str, count: int, first: tuple | None, last: tuple | None) -> None:
    build = only_build(parse_manifest(real_manifest(name), "img/packer-manifest.json"))
    pairs = [(f.name, f.size) for f in build.files]
    assert build.file_count == len(pairs) == count
    assert pairs[:1] == ([first] if first else [])
    if last:
        assert pairs[-1] == last


def test_every_build_of_the_legacy_vmware_manifest_keeps_its_16_files() -> None:
    parsed = parse_manifest(real_manifest("vmware-iso-vsphere-iso-legacy-very-large.json"), "w.json")
    counts = {(b.builder_type, b.file_count, len(b.files)) for b in all_builds(parsed)}
    assert counts == {("vmware-iso", 16, 16), ("vsphere-iso", 0, 0)}


@pytest.mark.parametrize("files", [None, [], ...])
def test_no_files_is_normal(files: Any) -> None:
    build = only_build(parse(entry(files=files)))
    assert (build.files, build.file_count) == ([], 0)


def test_a_file_without_a_size_keeps_its_name() -> None:
    build = only_build(parse(entry(files=[{"name": "a.box"}, {"name": "b.ovf", "size": None}])))
    assert [(f.name, f.size) for f in build.files] == [("a.box", None), ("b.ovf", None)]


@pytest.mark.parametrize(("size", "kept"), [(-1, None), (2**63 - 1, 2**63 - 1), (2**63, None), (10**40, None), (0, 0)])
def test_a_junk_size_becomes_unknown(size: int, kept: int | None) -> None:
    (file,) = only_build(parse(entry(files=[{"name": "disk.vmdk", "size": size}]))).files
    assert file.size == kept


def test_thousands_of_files_keep_the_first_100_and_the_count() -> None:
    files = [{"name": f"output/disk-s{i:04d}.vmdk", "size": i} for i in range(2500)]
    build = only_build(parse(entry(builder_type="vmware-iso", artifact_id="VM", files=files)))
    assert build.file_count == 2500
    assert [(f.name, f.size) for f in build.files] == [(f"output/disk-s{i:04d}.vmdk", i) for i in range(100)]


def test_a_long_file_name_is_cut_at_1024_characters() -> None:
    (file,) = only_build(parse(entry(files=[{"name": "d/" + "x" * 5000, "size": 1}]))).files
    assert len(file.name) == 1024
    assert file.name.startswith("d/xxx") and file.name.endswith("x…")


def test_a_file_name_of_exactly_1024_characters_is_kept_whole() -> None:
    name = "d/" + "x" * (MAX_FILE_NAME - 2)
    (file,) = only_build(parse(entry(files=[{"name": name, "size": 1}]))).files
    assert file.name == name


def test_file_names_filling_the_budget_exactly_are_all_kept() -> None:
    files = [{"name": f"{i:02d}" + "n" * (MAX_FILE_NAME - 2), "size": i} for i in range(MAX_FILE_NAMES // MAX_FILE_NAME)]
    assert sum(len(f["name"]) for f in files) == MAX_FILE_NAMES
    build = only_build(parse(entry(files=files + [{"name": "x", "size": 99}])))
    assert [f.size for f in build.files] == list(range(16))


def test_file_names_are_kept_up_to_16_kib_per_build() -> None:
    """100 names of 1,000 characters would be ~100 KB on the build and on every channel
    copy of its artifacts: the list stops at 16,384 characters of names."""
    files = [{"name": f"{i:03d}" + "n" * 997, "size": i} for i in range(100)]
    build = only_build(parse(entry(files=files)))
    assert build.file_count == 100
    assert [f.size for f in build.files] == list(range(16))  # 16 x 1,000 <= 16,384 < 17 x 1,000


# --- 6. a manifest's own file name at the root, and the builds cap -----------------------


@pytest.mark.parametrize("key", ["packer-manifest.json", "/packer-manifest.json", "PACKER-MANIFEST.json",
                                 "manifest.json", "packer_manifest.json", "packer-manifest"])
def test_a_root_level_manifest_name_is_not_a_bucket(key: str) -> None:
    problem = only_problem(parse(entry(), key=key))
    assert problem.startswith("builds[0] (ubuntu): ")
    assert f"the key {key!r}" in problem and "not a bucket name" in problem
    # ... and it says the three ways to name the bucket.
    assert f"<bucket-name>/{key.lstrip('/')}" in problem
    assert "--metadata bucket-name=<bucket-name>" in problem
    assert "custom_data.bucket_name" in problem


@pytest.mark.parametrize(("key", "names_none"), [
    ("packer-manifest.json", True),
    ("/Manifest.json", True),
    ("X/packer-manifest.json", False),  # a folder named X
    ("manifest.d/ubuntu", False),  # a folder whose name looks like a manifest's
])
def test_names_no_bucket(key: str, names_none: bool) -> None:
    assert names_no_bucket(key) is names_none


def test_a_root_level_manifest_name_says_the_three_ways_to_name_the_bucket() -> None:
    assert only_problem(parse(entry(), key="/packer-manifest.json")) == (
        "builds[0] (ubuntu): the key '/packer-manifest.json' is a manifest's file name at the root of the manifest "
        "bucket, not a bucket name: upload it as <bucket-name>/packer-manifest.json, or set the object metadata "
        "bucket-name (aws s3 cp --metadata bucket-name=<bucket-name>), or custom_data.bucket_name in the Packer template")


def test_a_root_level_manifest_rejects_only_the_builds_that_name_no_bucket() -> None:
    parsed = parse(entry(custom_data={"bucket_name": "web"}), entry(name="db"), key="packer-manifest.json")
    assert [run.bucket for run in parsed.runs] == ["web"]
    (problem,) = parsed.problems
    assert problem.startswith("builds[1] (db): ")


def test_a_root_level_manifest_named_by_metadata_is_accepted() -> None:
    parsed = parse(entry(), key="packer-manifest.json", metadata={"bucket-name": "ubuntu-base"})
    assert parsed.problems == []
    assert [run.bucket for run in parsed.runs] == ["ubuntu-base"]


def test_1000_builds_are_accepted() -> None:
    builds = [entry(artifact_id=f"us-east-1:ami-{i:017x}", packer_run_uuid=f"run-{i}") for i in range(1000)]
    parsed = parse(*builds)
    assert parsed.problems == []
    assert (parsed.build_count, len(parsed.runs)) == (1000, 1000)


def test_more_than_1000_builds_reject_the_whole_manifest() -> None:
    builds = [entry(artifact_id=f"us-east-1:ami-{i:017x}", packer_run_uuid=f"run-{i}") for i in range(1001)]
    parsed = parse(*builds)
    assert only_problem(parsed) == (
        "'builds' has 1001 entries; the limit is 1000 per manifest (upload a fresh manifest per Packer run "
        "rather than one that keeps growing, or split it)")
    assert parsed.build_count == 1001
