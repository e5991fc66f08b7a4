"""Reading SBOMs (domain/sboms.py): real ones made by syft (tests/fixtures/sboms/), the packages
each lists, and every refusal naming what is wrong and the limit."""

from __future__ import annotations

import json

import pytest
import zstandard

from chalicelib.domain import sboms
from chalicelib.domain.sboms import PackageIn, Refused
from support import sbom_document

ROOTFS = {
    ("ca-certificates", "20230311", "pkg:deb/debian/ca-certificates@20230311?arch=all&distro=debian-12"),
    ("jinja2", "2.11.3", "pkg:pypi/jinja2@2.11.3"),
    ("libc6", "2.36-9+deb12u4", "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12&upstream=glibc"),
    ("libssl3", "3.0.11-1~deb12u2",
     "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl"),
    ("lodash", "4.17.20", "pkg:npm/lodash@4.17.20"),
    ("minimist", "1.2.5", "pkg:npm/minimist@1.2.5"),
    ("openssl", "3.0.11-1~deb12u2", "pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12"),
    ("requests", "2.31.0", "pkg:pypi/requests@2.31.0"),
    ("urllib3", "1.26.5", "pkg:pypi/urllib3@1.26.5"),
    ("web", "1.0.0", "pkg:npm/web@1.0.0"),
    ("zlib1g", "1:1.2.13.dfsg-1", "pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64&distro=debian-12&upstream=zlib"),
}
DEBIAN = ("debian", "12", "")  # CycloneDX's operating-system component (SPDX has none)


def zstd(raw: bytes | str) -> bytes:
    return zstandard.ZstdCompressor().compress(raw.encode() if isinstance(raw, str) else raw)


def read(document: dict, sbom_format: str = "CYCLONEDX") -> list[PackageIn]:
    return sboms.read(zstd(json.dumps(document)), sbom_format).packages


def cyclonedx(*components: dict, spec: str = "1.5", **extra) -> dict:
    return {"bomFormat": "CycloneDX", "specVersion": spec, "version": 1, "components": list(components), **extra}


def spdx(*packages: dict, **extra) -> dict:
    return {"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "packages": list(packages), **extra}


@pytest.mark.parametrize("fixture, sbom_format, expected, ecosystems", [
    ("rootfs.spdx-2.2.json", "SPDX", ROOTFS, {"deb", "pypi", "npm"}),
    ("rootfs.spdx-2.3.json", "SPDX", ROOTFS, {"deb", "pypi", "npm"}),
    ("rootfs.cdx-1.4.json", "CYCLONEDX", ROOTFS | {DEBIAN}, {"deb", "pypi", "npm", ""}),
    ("rootfs.cdx-1.5.json", "CYCLONEDX", ROOTFS | {DEBIAN}, {"deb", "pypi", "npm", ""}),
    ("rootfs.cdx-1.6.json", "CYCLONEDX", ROOTFS | {DEBIAN}, {"deb", "pypi", "npm", ""}),
    ("app.cdx-1.5.json", "CYCLONEDX", {p for p in ROOTFS if p[2].startswith("pkg:pypi/")}, {"pypi"}),
])
def test_a_real_sbom_lists_its_packages(fixture, sbom_format, expected, ecosystems):
    raw = sbom_document(fixture)
    document = sboms.read(zstd(raw), sbom_format)
    assert document.raw == raw  # stored for download as the generator wrote it
    assert {(p.name, p.version, p.purl) for p in document.packages} == expected
    assert len(document.packages) == len(expected)
    assert {p.ecosystem for p in document.packages} == ecosystems


def test_spdx_leaves_out_what_the_document_describes_unless_it_describes_every_package():
    root = {"SPDXID": "SPDXRef-image", "name": "image", "versionInfo": "1"}
    lib = {"SPDXID": "SPDXRef-lib", "name": "lib", "versionInfo": "NOASSERTION",
           "externalRefs": [{"referenceCategory": "SECURITY", "referenceType": "cpe23Type", "referenceLocator": "x"},
                            {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                             "referenceLocator": "pkg:golang/example.com/lib@v1"}]}
    assert read(spdx(root, lib, documentDescribes=["SPDXRef-image"]), "SPDX") == [
        PackageIn("lib", "", "pkg:golang/example.com/lib@v1")]  # NOASSERTION: no version
    described = {"relationships": [{"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES",
                                    "relatedSpdxElement": "SPDXRef-image"}]}
    assert [p.name for p in read(spdx(root, lib, **described), "SPDX")] == ["lib"]
    every = ["SPDXRef-image", "SPDXRef-lib"]
    assert [p.name for p in read(spdx(root, lib, documentDescribes=every), "SPDX")] == ["image", "lib"]
    assert read(spdx(root, lib), "SPDX")[1].ecosystem == "golang"


def test_cyclonedx_reads_nested_components_once_and_leaves_out_files_and_the_subject():
    document = cyclonedx(
        {"type": "application", "name": "app", "version": "2", "purl": "pkg:npm/app@2",
         "components": [{"type": "library", "name": "left-pad", "version": "1.3.0", "purl": "pkg:npm/left-pad@1.3.0"},
                        {"type": "file", "name": "/etc/passwd"}]},
        {"type": "library", "name": "left-pad", "version": "1.3.0", "purl": "pkg:npm/left-pad@1.3.0"},
        {"type": "data", "name": "training-set"}, {"type": "library", "name": "unversioned"},
        metadata={"component": {"type": "container", "name": "the-image", "version": "7"}})
    assert read(document) == [PackageIn("app", "2", "pkg:npm/app@2"),
                              PackageIn("left-pad", "1.3.0", "pkg:npm/left-pad@1.3.0"), PackageIn("unversioned", "", "")]


@pytest.mark.parametrize("compressed, words", [
    (b"{\"bomFormat\": \"CycloneDX\"}", "not zstd-compressed"),
    (zstd(b"<bom xmlns='http://cyclonedx.org/schema/bom/1.5'/>"), "not JSON"),
    (zstd(b"[1, 2]"), "not a JSON object"),
    (zstd(json.dumps(spdx({"SPDXID": "SPDXRef-a", "name": "a"}))),
     "format is CYCLONEDX but the document is SPDX (SPDX-2.3)"),
    (zstd(json.dumps(cyclonedx(spec="1.3"))), "specVersion '1.3' is not taken: 1.4, 1.5, 1.6"),
    (zstd(json.dumps(cyclonedx())), "the CYCLONEDX SBOM lists no packages"),
    (zstd(json.dumps(cyclonedx({"type": "file", "name": "/bin/sh"}))), "lists no packages"),
    (zstd(json.dumps(cyclonedx(components="none"))), "components is not a list"),
    (zstd(json.dumps(cyclonedx({"type": "library", "name": 7}))), "components[0]: name is not a string"),
    (zstd(json.dumps(cyclonedx({"type": "library", "name": "x" * 257}))), "its name is 257 bytes; the limit is 256"),
    (zstd(json.dumps(cyclonedx({"type": "library", "name": "x", "purl": "pkg:npm/x@" + "1" * 1100}))),
     "its purl is 1,110 bytes; the limit is 1,024"),
    (zstd(b""), "empty once decompressed"),
])
def test_what_cannot_be_read_is_refused_saying_why(compressed, words):
    with pytest.raises(Refused) as refused:
        sboms.read(compressed, "CYCLONEDX")
    assert words in str(refused.value)


def test_an_spdx_upload_must_be_spdx_2():
    with pytest.raises(Refused, match="format is SPDX but the document is CycloneDX"):
        read(cyclonedx({"type": "library", "name": "a"}), "SPDX")
    with pytest.raises(Refused, match=r"SPDX \(SPDX-3.0\): SPDX 2.x JSON is taken"):
        read({**spdx({"SPDXID": "a", "name": "a"}), "spdxVersion": "SPDX-3.0"}, "SPDX")


def test_the_limits_are_on_the_decompressed_size_and_the_package_count(monkeypatch):
    monkeypatch.setattr(sboms, "MAX_DOCUMENT_BYTES", 4 * 1024 * 1024)
    with pytest.raises(Refused, match=r"larger than 4 MiB decompressed; the limit is 4,194,304 bytes"):
        sboms.read(zstd(b" " * (4 * 1024 * 1024 + 1)), "SPDX")  # a bomb: 4 MiB from a few hundred bytes
    monkeypatch.setattr(sboms, "MAX_PACKAGES", 3)
    four = cyclonedx(*({"type": "library", "name": f"p{n}"} for n in range(4)))
    with pytest.raises(Refused, match="lists 4 packages; the limit is 3 per SBOM"):
        read(four)
    assert len(read(cyclonedx(*({"type": "library", "name": "same"} for _ in range(9))))) == 1  # one package
