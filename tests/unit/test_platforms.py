"""Builder types → platforms (the names the plugins report to HCP Packer, and the old names as
aliases), artifact_id splitting and which external IDs get indexed."""

from __future__ import annotations

import pytest

from chalicelib.domain.platforms import (
    ALIASES, _PLATFORMS, MAX_ID_BYTES, MAX_PLATFORM_BYTES, canonical, identifies, placeholder, platform_for,
    split_artifact_id, unkeyable,
)

# (builder_type, platform): every builder family the registry knows, plus unknown ones. Where the
# plugin reports to HCP Packer, the platform is the provider name it reports (platforms.py says where).
PLATFORM_TABLE = [
    ("amazon-ebs", "aws"),
    ("amazon-ebssurrogate", "aws"),
    ("amazon-instance", "aws"),
    ("amazon-chroot", "aws"),
    ("amazon-ebsvolume", "aws"),
    ("azure-arm", "azure"),
    ("azure-chroot", "azure"),
    ("googlecompute", "gce"),
    ("docker", "docker"),
    ("vsphere-iso", "vsphere"),
    ("vsphere-clone", "vsphere"),
    ("qemu", "qemu"),
    ("virtualbox-iso", "virtualbox"),
    ("virtualbox-ovf", "virtualbox"),
    ("vmware-iso", "vmware"),
    ("vmware-vmx", "vmware"),
    ("hyperv-iso", "hyperv"),
    ("hyperv-vmcx", "hyperv"),
    ("proxmox-iso", "proxmox"),
    ("proxmox-clone", "proxmox"),
    ("proxmox", "proxmox"),
    ("digitalocean", "digitalocean"),
    ("oracle-oci", "packer.oracle.oci"),
    ("oracle-classic", "packer.oracle.classic"),
    ("hcloud", "hetznercloud"),
    ("linode", "linode"),
    ("scaleway", "scaleway"),
    ("null", "null"),
    ("file", "packer.file"),
    # builder types seen in the real manifests beside the big families
    ("libvirt", "libvirt"),
    ("nutanix", "nutanix"),
    ("openstack", "openstack"),
    ("vagrant", "vagrant"),
    ("yandex", "yandex"),
    # unknown builders keep their own type
    ("my-custom-builder", "my-custom-builder"),
    ("upcloud", "upcloud"),
    # exact names are exact: a family name without its '-' suffix or with a suffix
    # added is not that family
    ("amazon", "amazon"),
    ("dockerx", "dockerx"),
    ("qemu-img", "qemu-img"),
]


@pytest.mark.parametrize(("builder_type", "platform"), PLATFORM_TABLE)
def test_platform_for(builder_type: str, platform: str) -> None:
    assert platform_for(builder_type) == platform


# --- split_artifact_id ---------------------------------------------------------------


def test_multi_region_ami_splits_into_one_artifact_per_region() -> None:
    got = split_artifact_id("aws", "us-east-1:ami-0c2716a13b6c0ff45,us-east-2:ami-0e78487b03c33b650")
    assert [(a.external_id, a.region) for a in got] == [
        ("ami-0c2716a13b6c0ff45", "us-east-1"),
        ("ami-0e78487b03c33b650", "us-east-2"),
    ]


def test_region_prefixed_split_tolerates_spaces_and_empty_parts() -> None:
    got = split_artifact_id("aws", " us-east-1:ami-1 , ,us-west-2:ami-2 ")
    assert [(a.external_id, a.region) for a in got] == [("ami-1", "us-east-1"), ("ami-2", "us-west-2")]


def test_aws_id_without_region_is_one_region_less_artifact() -> None:
    assert [(a.external_id, a.region) for a in split_artifact_id("aws", "ami-1")] == [("ami-1", None)]


@pytest.mark.parametrize(("artifact_id", "split"), [
    ("us-east-1:", [("us-east-1:", None)]),  # no ID after the region: kept whole, region-less
    (":ami-1", [(":ami-1", None)]),  # no region before the ID
    ("us-east-1:ami-1:extra", [("ami-1:extra", "us-east-1")]),  # the region ends at the first colon
    ("", [("", None)]),
    (" , ", [(",", None)]),
])
def test_region_prefixed_ids_missing_a_part_stay_whole(artifact_id: str, split: list) -> None:
    assert [(a.external_id, a.region) for a in split_artifact_id("aws", artifact_id)] == split


def test_digitalocean_region_prefix_splits() -> None:
    got = split_artifact_id("digitalocean", "lon1:68784116")
    assert [(a.external_id, a.region) for a in got] == [("68784116", "lon1")]


@pytest.mark.parametrize(
    "artifact_id",
    [
        "sha256:233bb02b9a37c3413c6b43f674dde83407122daa7d541cb13c39841de3d57791",
        "shanumbra/dev:latest",
        "registry.example.com:5000/team/image:1.2",
    ],
)
def test_docker_ids_keep_their_colon(artifact_id: str) -> None:
    assert [(a.external_id, a.region) for a in split_artifact_id("docker", artifact_id)] == [(artifact_id, None)]


def test_oci_region_comes_from_the_ocid() -> None:
    ocid = "ocid1.image.oc1.uk-london-1.aaaaaaaafhydgy4jzxvi47pp2cniwlqfhzprm76gzhuvfme6zl2b6hu47vla"
    assert [(a.external_id, a.region) for a in split_artifact_id("packer.oracle.oci", ocid)] == [(ocid, "uk-london-1")]


def test_oci_id_without_region_segment_is_region_less() -> None:
    assert [(a.region) for a in split_artifact_id("packer.oracle.oci", "ocid1.image.oc1..aaaa")] == [None]


@pytest.mark.parametrize(
    "artifact_id",
    [
        "/subscriptions/d0f6eb41-3e86-48da-bc57-893eab20796f/resourceGroups/packer_images/providers/"
        "Microsoft.Compute/images/packer-ubuntu-azure-1638978329",
        "https://packerwesteurope.blob.core.windows.net/system/Microsoft.Compute/Images/vhds/"
        "ParsecNvidiaVS2019-osDisk.555b19f7-307d-422d-add8-725199f32b2e.vhd",
    ],
)
def test_azure_ids_are_region_less_and_whole(artifact_id: str) -> None:
    assert [(a.external_id, a.region) for a in split_artifact_id("azure", artifact_id)] == [(artifact_id, None)]


def test_gce_image_name_is_one_region_less_artifact() -> None:
    got = split_artifact_id("gce", "gold-calyptia-core-20220803131548-us")
    assert [(a.external_id, a.region) for a in got] == [("gold-calyptia-core-20220803131548-us", None)]


# --- identifies ----------------------------------------------------------------------

IDENTIFIES_TABLE = [
    # placeholders and local names: not indexed
    ("qemu", "VM", False),
    ("virtualbox", "VM", False),
    ("proxmox", "900", False),
    ("vagrant", "virtualbox", False),
    ("vsphere", "RHEL93-Template-Base", False),
    ("vmware", "octantnode", False),
    ("libvirt", "/var/lib/libvirt/images/packer-provisioner-fedora-backing-store.qcow2", False),
    ("null", "Null", False),
    ("packer.file", "File", False),
    ("docker", "Container", False),
    ("aws", "", False),
    ("aws", "none", False),
    # real IDs: indexed
    ("aws", "ami-06cb4e4262072a8ab", True),
    ("docker", "sha256:233bb02b9a37c3413c6b43f674dde83407122daa7d541cb13c39841de3d57791", True),
    ("docker", "shanumbra/dev:latest", True),
    ("docker", "ubuntu:22.04", True),  # a tag
    ("docker", "library/ubuntu", True),  # a repository
    ("docker", "myimage", False),  # a bare local name recurs across unrelated builds
    ("docker", "0123456789ab", False),  # a short local image ID: not a digest
    (
        "azure",
        "/subscriptions/93ab47bf-076c-43e0-9d6c-7c34fe77152a/resourceGroups/Clarium-resources/providers/"
        "Microsoft.Compute/images/lab-1634644042",
        True,
    ),
    ("azure", "https://packerwesteurope.blob.core.windows.net/system/x.vhd", True),
    ("azure", "lab-1634644042", False),
    ("gce", "influxdb-enterprise-data-1-8-2-ubuntu-1610532159", True),
    ("packer.oracle.oci", "ocid1.image.oc1.uk-london-1.aaaa", True),
    ("hetznercloud", "186712367", True),
    ("linode", "private/28398921", True),
    # OCIDs and UUIDs name one image whatever the builder (an unknown one keeps its own type)
    ("packer.oracle.classic", "ocid1.image.oc1..aaaa", True),
    ("my-custom-builder", "ocid1.image.oc1..aaaa", True),
    ("my-custom-builder", "05e3e795-0880-4fc5-a6ec-0eced804767d", True),
    ("my-custom-builder", "image-1", False),
    ("digitalocean", "68784116", True),
    ("yandex", "fd8pt8q5ri1ltp0mefl6", True),
    ("nutanix", "05e3e795-0880-4fc5-a6ec-0eced804767d", True),
    ("openstack", "0df75ce9-8b7e-4463-8310-0eb60686b60d", True),
]


@pytest.mark.parametrize(("platform", "external_id", "expected"), IDENTIFIES_TABLE)
def test_identifies(platform: str, external_id: str, expected: bool) -> None:
    assert identifies(platform, external_id) is expected


@pytest.mark.parametrize("placeholder", ["VM", "vm", "Null", "File", "Container", "None", " VM "])
@pytest.mark.parametrize("platform", ["aws", "gce", "docker", "yandex", "digitalocean", "qemu"])
def test_placeholders_are_never_indexed_whatever_the_platform(platform: str, placeholder: str) -> None:
    assert identifies(platform, placeholder) is False


# --- the old names --------------------------------------------------------------------

@pytest.mark.parametrize(("old", "new"), [
    ("gcp", "gce"),
    ("oci", "packer.oracle.oci"),
    ("oracle-classic", "packer.oracle.classic"),
    ("hcloud", "hetznercloud"),
    ("file", "packer.file"),
])
def test_an_old_name_is_an_alias_of_the_plugins_name(old: str, new: str) -> None:
    assert canonical(old) == new
    assert canonical(new) == new


@pytest.mark.parametrize("name", ["aws", "azure", "docker", "null", "qemu", "my-custom-builder", "GCP", ""])
def test_any_other_name_is_itself(name: str) -> None:
    assert canonical(name) == name


def test_aliases_lead_to_platforms_the_table_gives_and_shadow_none() -> None:
    current = {platform for _, platform in _PLATFORMS}
    assert set(ALIASES.values()) <= current
    assert not set(ALIASES) & current  # an old name never hides a platform that has it now


@pytest.mark.parametrize("value", [None, "", "  ", "null", "NULL", "<no-defined-source-file>", "VM", "file", "none",
                                   "container"])
def test_a_placeholder_source_is_no_source(value: str | None) -> None:
    assert placeholder(value) is True


@pytest.mark.parametrize("value", ["ami-0abc", "ubuntu:24.04", "sha256:0123", "base.qcow2", "./images/base.box",
                                   "nullable", "vm-1"])
def test_a_real_source_is_a_source(value: str) -> None:
    assert placeholder(value) is False


@pytest.mark.parametrize("platform, ids, found", [
    ("aws", ["ami-1", "a" * MAX_ID_BYTES], None),  # at the caps: fine
    ("p" * MAX_PLATFORM_BYTES, [], None),
    ("aws", ["ami-1", "a" * (MAX_ID_BYTES + 1)], (1, "is 1,025 bytes; the limit is 1,024")),
    ("docker", ["repo:" + "é" * 510], (0, "is 1,025 bytes; the limit is 1,024")),  # bytes, not characters
    ("qemu", ["/" + "a" * 5000], None),  # not indexed: never a key, never refused
    ("é" * 129, ["a" * 5000], (None, "is 258 bytes; the limit is 256")),  # the platform first
])
def test_unkeyable_names_what_cannot_be_part_of_a_key(platform: str, ids: list[str], found: tuple | None) -> None:
    assert unkeyable(platform, ids) == found
