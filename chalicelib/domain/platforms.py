"""Builder types → platforms, and how each platform's `artifact_id` splits into artifacts.

One table answers both questions, so a new builder is one line here.

A platform is the provider name the builder's plugin reports to HCP Packer (the
`par.artifact.metadata` state of its artifact: `registryimage.WithProvider(...)`, else the
builder ID), so a build ingested from a manifest and the same build published by `packer`
through the HCP API name the same platform (`googlecompute` → `gce`, the `file` builder →
`packer.file`). Builders whose plugin reports nothing to HCP Packer (qemu, virtualbox, vmware,
hyperv, proxmox, ...) keep their family's name. The names this registry used before it
followed the plugins stay valid as aliases (`ALIASES`, `canonical`): the consumer query
accepts them, and builds stored under them answer to the new name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

# (builder-type prefix or exact name, platform). Longest prefix wins; a type ending in
# '-' matches every builder of that family (amazon-ebs, amazon-chroot, ...). Where the plugin
# reports to HCP Packer, the platform is the name it reports, checked in its source:
# hashicorp/packer-plugin-{amazon,azure,googlecompute,docker,vsphere,openstack,oracle},
# digitalocean/, hetznercloud/, linode/, scaleway/packer-plugin-*; hashicorp/packer builder/{file,null}.
_PLATFORMS: list[tuple[str, str]] = [
    ("amazon-", "aws"),
    ("azure-", "azure"),
    ("googlecompute", "gce"),
    ("docker", "docker"),
    ("vsphere-", "vsphere"),
    ("vmware-", "vmware"),
    ("qemu", "qemu"),
    ("virtualbox-", "virtualbox"),
    ("hyperv-", "hyperv"),
    ("proxmox-", "proxmox"),
    ("proxmox", "proxmox"),
    ("digitalocean", "digitalocean"),
    ("oracle-oci", "packer.oracle.oci"),
    ("oracle-classic", "packer.oracle.classic"),
    ("openstack", "openstack"),
    ("nutanix", "nutanix"),
    ("yandex", "yandex"),
    ("libvirt", "libvirt"),
    ("vagrant", "vagrant"),
    ("hcloud", "hetznercloud"),
    ("linode", "linode"),
    ("alicloud-", "alicloud"),
    ("tencentcloud-", "tencentcloud"),
    ("scaleway", "scaleway"),
    ("parallels-", "parallels"),
    ("lxd", "lxd"),
    ("lxc", "lxc"),
    ("null", "null"),
    ("file", "packer.file"),
]

# Names this registry gave platforms before it followed the plugins → the plugins' names.
ALIASES: dict[str, str] = {"gcp": "gce", "oci": "packer.oracle.oci", "oracle-classic": "packer.oracle.classic",
                           "hcloud": "hetznercloud", "file": "packer.file"}
# Platforms whose artifact_id is `region:id[,region:id...]`.
_REGION_PREFIXED = {"aws", "digitalocean", "alicloud", "tencentcloud"}
# Platforms whose IDs name one image across the provider (indexed for ancestry look-ups).
_GLOBAL_IDS = {"aws", "gce", "docker", "packer.oracle.oci", "digitalocean", "yandex", "alicloud", "tencentcloud",
               "hetznercloud", "linode"}
# Values builders write when there is no real ID (as an artifact or as a build's source):
# Packer's `null` builder reports `null`, its `file` builder `<no-defined-source-file>`.
_PLACEHOLDERS = {"", "vm", "null", "file", "container", "none", "<no-defined-source-file>"}
# What may be part of a key: an artifact ID the registry indexes (the artifact index's
# partition key; DynamoDB allows 2,048 bytes in one) and a platform (part of the platform
# index's sort key: 1,024), in UTF-8 bytes. The one cap of both doors (a longer one refuses its run or build
# update: unkeyable) and of the compliance check's IDs (a longer one cannot be in the registry).
MAX_ID_BYTES = 1024
MAX_PLATFORM_BYTES = 256
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_OCID_REGION = re.compile(r"^ocid1\.[a-z]+\.[a-z0-9]+\.([a-z0-9-]+)\.")


class SplitArtifact(NamedTuple):
    external_id: str
    region: str | None


def platform_for(builder_type: str) -> str:
    """The platform of a builder type; an unknown builder keeps its own type."""
    best = ""
    platform = builder_type
    for prefix, name in _PLATFORMS:
        matches = builder_type.startswith(prefix) if prefix.endswith("-") else builder_type == prefix
        if matches and len(prefix) > len(best):
            best, platform = prefix, name
    return platform


def canonical(platform: str) -> str:
    """A platform's current name: an old name (`gcp`) gives the plugin's (`gce`), any other
    name itself. Both sides of a comparison go through it, so a query by either name finds
    builds stored under either."""
    return ALIASES.get(platform, platform)


def split_artifact_id(platform: str, artifact_id: str) -> list[SplitArtifact]:
    """One artifact per region: `us-east-1:ami-1,us-west-2:ami-2` gives two.

    Docker's `repo:tag` and `sha256:…` keep their colon; an OCI image takes its region
    from the OCID; everything else is one region-less artifact.
    """
    artifact_id = artifact_id.strip()
    if platform in _REGION_PREFIXED:
        parts = [p.strip() for p in artifact_id.split(",") if p.strip()]
        out = []
        for part in parts:
            region, sep, ident = part.partition(":")
            out.append(SplitArtifact(ident, region) if sep and region and ident else SplitArtifact(part, None))
        return out or [SplitArtifact(artifact_id, None)]
    if platform == "packer.oracle.oci":
        match = _OCID_REGION.match(artifact_id)
        return [SplitArtifact(artifact_id, match.group(1) if match else None)]
    return [SplitArtifact(artifact_id, None)]


def placeholder(value: str | None) -> bool:
    """Whether an ID a builder reported stands for nothing: missing, blank, or a placeholder
    (`VM`, `Null`, `File`, `<no-defined-source-file>`, any case). Never an artifact to index,
    never a parent to look for."""
    return value is None or value.strip().lower() in _PLACEHOLDERS


def unkeyable(platform: str, external_ids: Sequence[str]) -> tuple[int | None, str] | None:
    """What of a build cannot be part of a key, and why ("is 2,104 bytes; the limit is
    1,024"): (None, why) for its platform, (i, why) for `external_ids[i]` when the registry
    would index it; None when everything can. Both doors refuse such a build."""
    for index, value, limit in ((None, platform, MAX_PLATFORM_BYTES),
                                *((i, e, MAX_ID_BYTES) for i, e in enumerate(external_ids) if identifies(platform, e))):
        size = len(value.encode())
        if size > limit:
            return index, f"is {size:,} bytes; the limit is {limit:,}"
    return None


def identifies(platform: str, external_id: str) -> bool:
    """Whether an external ID names one image, so a child build can be traced to it.

    Placeholders (`VM`, `Null`, `File`), template names, local paths and bare numbers
    such as a Proxmox VM ID are not indexed: they recur across unrelated builds.
    """
    if placeholder(external_id):
        return False
    if _UUID.match(external_id) or external_id.startswith("ocid1."):
        return True
    if platform == "azure":
        return external_id.startswith(("/subscriptions/", "https://"))
    if platform == "docker":
        return external_id.startswith("sha256:") or ":" in external_id or "/" in external_id
    return platform in _GLOBAL_IDS
