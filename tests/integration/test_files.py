"""Local builders' files, a manifest uploaded under its own name, and the builds cap: through
S3 events and HTTP, as a creator's upload and a consumer's query take them."""

from __future__ import annotations

import json

import pytest

from chalicelib.domain.manifest import MAX_BUILDS
from support import manifest, real_manifest

VMWARE_FIRST = {"name": "output-vmware/disk-1-s001.vmdk", "size": 524288}
VMWARE_LAST = {"name": "output-vmware/octantnode.vmxf", "size": 265}


@pytest.mark.parametrize(("path", "platform", "files"), [
    ("qemu-1.json", "qemu", [{"name": "output-qemu/packer-qemu", "size": 1048576000}]),
    ("qemu-large-file-size.json", "qemu", [{"name": "sting-ce-quickstart-1.0.0", "size": 5471993856}]),
    ("virtualbox-iso-ovf-vmdk.json", "virtualbox", [
        {"name": "output-virtualbox-iso/zeek-ubuntu1804-disk001.vmdk", "size": 3006342144},
        {"name": "output-virtualbox-iso/zeek-ubuntu1804.ovf", "size": 6035}]),
    ("yandex-files-dot-size-zero.json", "yandex", [{"name": ".", "size": 0}]),
    ("vagrant-windows-path.json", "vagrant", [{"name": "packer_build_dir\\package.box", "size": 634863172}]),
])
def test_files_are_in_version_details_and_the_consumer_query(registry, path, platform, files):
    registry.upload(f"local/{path}", real_manifest(path))
    (build,) = registry.get("/buckets/local/versions/v1")["builds"]
    assert (build["files"], build["file_count"]) == (files, len(files))
    registry.send("post", "/buckets/local/channels", {"name": "production", "version": "v1"}, status=201)
    served = registry.get(f"/buckets/local/channels/production/artifact?platform={platform}")
    assert (served["files"], served["file_count"]) == (files, len(files))


def test_a_build_with_27_files_keeps_them_all_in_order(registry):
    registry.upload("octant/packer-manifest.json", real_manifest("vmware-iso-many-files.json"))
    (build,) = registry.get("/buckets/octant/versions/v1")["builds"]
    assert build["file_count"] == len(build["files"]) == 27
    assert (build["files"][0], build["files"][-1]) == (VMWARE_FIRST, VMWARE_LAST)
    served = registry.get("/buckets/octant/channels/latest/artifact?platform=vmware")
    assert served["files"] == build["files"] and served["external_id"] == "octantnode"


def test_cloud_builds_have_no_files(registry):
    registry.upload("base/packer-manifest.json", real_manifest("amazon-ebs-single-1.json"))
    (build,) = registry.get("/buckets/base/versions/v1")["builds"]
    assert (build["files"], build["file_count"]) == ([], 0)
    served = registry.get("/buckets/base/channels/latest/artifact?platform=aws&region=us-east-1")
    assert (served["files"], served["file_count"]) == ([], 0)


def test_a_build_listing_thousands_of_files_keeps_100_and_says_how_many(registry):
    files = [{"name": f"output-vmware/disk-s{n:05d}.vmdk", "size": n} for n in range(5000)]
    registry.upload("big-vm/packer-manifest.json",
                    manifest({"name": "vm", "builder_type": "vmware-iso", "artifact_id": "bigvm", "files": files}))
    (record,) = registry.get("/ingestions")["items"]
    assert (record["status"], record["reasons"]) == ("accepted", [])
    (build,) = registry.get("/buckets/big-vm/versions/v1")["builds"]
    assert build["file_count"] == 5000
    assert build["files"] == files[:100]
    served = registry.get("/buckets/big-vm/channels/latest/artifact?platform=vmware")
    assert (served["files"], served["file_count"]) == (files[:100], 5000)


def test_many_builds_with_long_file_names_fit_their_channel_copy(registry):
    """Twelve builds of one run, each listing 200 files with 1,000-character names: kept whole,
    these would be ~2.4 MB on `latest` (DynamoDB refuses items over 400 KB). Each build keeps
    16 KB of names, so the version lands and every build is served."""
    builds = [{"name": f"vm{b:02d}", "builder_type": "qemu", "artifact_id": "VM",
               "files": [{"name": f"{b:02d}/{n:03d}-" + "n" * 993, "size": n} for n in range(200)]}
              for b in range(12)]
    registry.upload("wide/packer-manifest.json", manifest(*builds))
    (record,) = registry.get("/ingestions")["items"]
    assert (record["status"], record["reasons"]) == ("accepted", [])
    version = registry.get("/buckets/wide/versions/v1")
    assert version["build_count"] == 12
    assert {(len(b["files"]), b["file_count"]) for b in version["builds"]} == {(16, 200)}
    served = registry.get("/buckets/wide/channels/latest/artifact?platform=qemu&component_type=qemu.vm11")
    assert served["files"][0]["name"].startswith("11/000-nnn") and served["file_count"] == 200


# ---- a manifest uploaded under its own name at the root ----------------------------------------


@pytest.mark.parametrize("key", ["packer-manifest.json", "Packer-Manifest.json", "manifest.json"])
def test_a_root_level_packer_manifest_is_rejected_with_how_to_name_the_bucket(registry, key):
    registry.upload(key, real_manifest("amazon-ebs-per-region-builds-same-run.json"))
    (record,) = registry.get("/ingestions?status=rejected")["items"]
    assert record["key"] == key and len(record["reasons"]) == 6  # one per build
    assert record["reasons"][0].startswith("builds[0] (weka-eks): ")
    for words in ("not a bucket name", f"<bucket-name>/{key}", "--metadata bucket-name=", "custom_data.bucket_name"):
        assert words in record["reasons"][0], record["reasons"][0]
    assert registry.get("/buckets")["items"] == []
    registry.get("/buckets/packer-manifest", status=404)
    # The rejection is on the registry-wide trail, not on a bucket named after the file.
    assert registry.get("/buckets/packer-manifest/events")["items"] == []
    assert [e["action"] for e in registry.get("/events")["items"]] == ["ingestion.rejected"]


def test_a_root_level_packer_manifest_with_bucket_metadata_is_accepted(registry):
    registry.upload("packer-manifest.json", real_manifest("qemu-1.json"), metadata={"bucket-name": "void"})
    (record,) = registry.get("/ingestions")["items"]
    assert (record["status"], [v["bucket"] for v in record["versions"]]) == ("accepted", ["void"])
    assert [b["name"] for b in registry.get("/buckets")["items"]] == ["void"]


def test_a_root_level_packer_manifest_lands_the_builds_that_name_their_bucket(registry):
    doc = manifest({"name": "web", "custom_data": {"bucket_name": "web"}}, {"name": "db"})
    registry.upload("packer-manifest.json", doc)
    (record,) = registry.get("/ingestions?status=partial")["items"]
    assert len(record["reasons"]) == 1 and record["reasons"][0].startswith("builds[1] (db): ")
    assert [b["name"] for b in registry.get("/buckets")["items"]] == ["web"]


# ---- builds per manifest ---------------------------------------------------------------------


def test_a_manifest_over_the_builds_cap_is_rejected_whole(registry):
    doc = manifest(*({"packer_run_uuid": f"run-{n}", "artifact_id": f"us-east-1:ami-{n:017x}"}
                     for n in range(MAX_BUILDS + 1)))
    registry.upload("huge/packer-manifest.json", doc)
    (record,) = registry.get("/ingestions?status=rejected")["items"]
    assert record["reasons"] == [
        f"'builds' has {MAX_BUILDS + 1} entries; the limit is {MAX_BUILDS} per manifest (upload a fresh manifest "
        "per Packer run rather than one that keeps growing, or split it)"]
    registry.get("/buckets/huge", status=404)
    assert MAX_BUILDS == 1000 and len(json.dumps(doc)) < 1024 * 1024  # well under the 20 MB limit
