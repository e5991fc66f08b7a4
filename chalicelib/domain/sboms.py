"""SBOMs as Packer's `hcp-sbom` provisioner sends them, and the packages they list (pure rules).

An SBOM arrives zstd-compressed (base64 on the wire, decoded by the caller) with its format,
`CYCLONEDX` or `SPDX`: a JSON document, CycloneDX 1.4–1.6 or SPDX 2.x. `read()` decompresses it
within the limits, checks that it is the format it says, and lists its packages, each once:

- CycloneDX: every component, nested ones too, but those that are not software (`file`,
  `data`, `machine-learning-model`, `cryptographic-asset`); `metadata.component` is what the
  SBOM describes (the image), not a package of it.
- SPDX: every package but the ones the document DESCRIBES (`documentDescribes`, or a
  `DESCRIBES` relationship of `SPDXRef-DOCUMENT`) when it has others: a generator such as
  syft describes the scanned image or directory as a package of its own, which holds the
  others. A document that describes each of its packages keeps them all.

A package is its name, version (empty when the SBOM gives none) and purl (`externalRefs` of
type `purl` in SPDX; empty when none), its ecosystem the purl's type (`deb`, `pypi`, `npm`:
empty without a purl). A package listed twice with the same three is kept once.

Refusals (`Refused`, a 400 with gRPC code 3 in the HCP API) name what is wrong and the limit:
not zstd, larger than MAX_DOCUMENT_BYTES once decompressed, not JSON, not the format given,
no package at all (HCP Packer refuses an SBOM without packages too), more than MAX_PACKAGES,
a name, version or purl longer than its limit (they are parts of the registry's keys).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any, Iterator

FORMATS = ("CYCLONEDX", "SPDX")
# Decompressed, a document is parsed in the API's Lambda (512 MB): JSON this large takes a few
# hundred MB as Python objects. 32 MiB holds a whole machine's SBOM without file listings.
MAX_DOCUMENT_BYTES = 32 * 1024 * 1024
# Each package is one item written in the request (BatchWriteItem, 25 a call): 10,000 stay well
# inside API Gateway's 29 s.
MAX_PACKAGES = 10_000
# Name and version are parts of two sort keys (1,024 bytes each), the purl of a partition key.
LIMITS = {"name": 256, "version": 256, "purl": 1024}
CYCLONEDX_VERSIONS = ("1.4", "1.5", "1.6")
NOT_SOFTWARE = frozenset({"file", "data", "machine-learning-model", "cryptographic-asset"})
DOCUMENT = "SPDXRef-DOCUMENT"


class Refused(ValueError):
    """The SBOM cannot be taken: the message says what is wrong and the limit."""


@dataclass(frozen=True)
class PackageIn:
    """A package an SBOM lists."""

    name: str
    version: str
    purl: str

    @property
    def ecosystem(self) -> str:
        """The purl's type (`pkg:<type>/…`), lower case; empty without a purl."""
        return purl_type(self.purl)


@dataclass(frozen=True)
class Document:
    """A decompressed SBOM, as stored for download, and the packages read from it."""

    raw: bytes
    packages: list[PackageIn]


def purl_type(purl: str) -> str:
    if not purl.lower().startswith("pkg:"):
        return ""
    return purl[4:].lstrip("/").split("/", 1)[0].lower()


def read(compressed: bytes, sbom_format: str) -> Document:
    """The document in `compressed` (zstd) and its packages; Refused for anything else."""
    raw = decompress(compressed)
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Refused(f"the SBOM is not JSON ({exc}); only JSON SBOMs are taken, as HCP Packer takes them") from None
    if not isinstance(document, dict):
        raise Refused("the SBOM is not a JSON object")
    found = list(cyclonedx(document) if sbom_format == "CYCLONEDX" else spdx(document))
    packages = list(dict.fromkeys(found))
    if not packages:
        raise Refused(f"the {sbom_format} SBOM lists no packages; an SBOM must list at least one")
    if len(packages) > MAX_PACKAGES:
        raise Refused(f"the SBOM lists {len(packages):,} packages; the limit is {MAX_PACKAGES:,} per SBOM")
    for package in packages:
        _check_sizes(package)
    return Document(raw, packages)


def decompress(compressed: bytes) -> bytes:
    """The zstd frames in `compressed`, decompressed: at most MAX_DOCUMENT_BYTES (read in
    chunks, so that a small bomb never grows past the limit in memory)."""
    import zstandard  # only an upload needs it: a native package, kept off every cold start

    chunks, size = [], 0
    try:
        with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(compressed), read_across_frames=True) as reader:
            while chunk := reader.read(1024 * 1024):
                size += len(chunk)
                if size > MAX_DOCUMENT_BYTES:
                    raise Refused(f"the SBOM is larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MiB decompressed; "
                                  f"the limit is {MAX_DOCUMENT_BYTES:,} bytes")
                chunks.append(chunk)
    except zstandard.ZstdError as exc:
        raise Refused(f"compressed_sbom is not zstd-compressed data ({exc}); Packer's hcp-sbom provisioner "
                      "sends the document compressed with zstd") from None
    if not size:
        raise Refused("the SBOM is empty once decompressed")
    return b"".join(chunks)


def cyclonedx(document: dict[str, Any]) -> Iterator[PackageIn]:
    """The packages of a CycloneDX JSON document (its components, nested ones too)."""
    if document.get("bomFormat") != "CycloneDX":
        raise Refused(f"format is CYCLONEDX but the document is {_kind(document)}")
    spec = document.get("specVersion")
    if spec not in CYCLONEDX_VERSIONS:
        raise Refused(f"CycloneDX specVersion {spec!r} is not taken: {', '.join(CYCLONEDX_VERSIONS)}")
    yield from _components(_listed(document, "components"), "components")


def _components(components: list[Any], where: str) -> Iterator[PackageIn]:
    for index, component in enumerate(components):
        at = f"{where}[{index}]"
        if not isinstance(component, dict):
            raise Refused(f"{at} is not an object")
        if component.get("type") not in NOT_SOFTWARE and component.get("name"):
            yield _package(component, at, "name", "version", component.get("purl"))
        yield from _components(_listed(component, "components", at), f"{at}.components")


def spdx(document: dict[str, Any]) -> Iterator[PackageIn]:
    """The packages of an SPDX 2.x JSON document but what it describes (when it has others)."""
    version = document.get("spdxVersion")
    if not (isinstance(version, str) and version.startswith("SPDX-2.")):
        raise Refused(f"format is SPDX but the document is {_kind(document)}: SPDX 2.x JSON is taken")
    packages = _listed(document, "packages")
    for index, package in enumerate(packages):
        if not isinstance(package, dict):
            raise Refused(f"packages[{index}] is not an object")
    described = _described(document)
    skipped = described if any(p.get("SPDXID") not in described for p in packages) else set()
    for index, package in enumerate(packages):
        if package.get("SPDXID") not in skipped and package.get("name"):
            yield _package(package, f"packages[{index}]", "name", "versionInfo", _spdx_purl(package))


def _kind(document: dict[str, Any]) -> str:
    """What a document seems to be, for a refusal's message."""
    if isinstance(document.get("spdxVersion"), str):
        return f"SPDX ({document['spdxVersion']})"
    if document.get("bomFormat") == "CycloneDX":
        return f"CycloneDX ({document.get('specVersion')})"
    return "neither CycloneDX nor SPDX 2.x JSON"


def _described(document: dict[str, Any]) -> set[str]:
    """The SPDX ids the document DESCRIBES."""
    described = {d for d in document.get("documentDescribes") or [] if isinstance(d, str)}
    for relation in document.get("relationships") or []:
        if isinstance(relation, dict) and relation.get("spdxElementId") == DOCUMENT \
                and relation.get("relationshipType") == "DESCRIBES":
            described.add(str(relation.get("relatedSpdxElement")))
    return described


def _spdx_purl(package: dict[str, Any]) -> Any:
    for ref in package.get("externalRefs") or []:
        if isinstance(ref, dict) and ref.get("referenceType") == "purl":
            return ref.get("referenceLocator")
    return None


def _listed(holder: dict[str, Any], field: str, where: str = "") -> list[Any]:
    value = holder.get(field)
    if value is None:
        return []
    if not isinstance(value, list):
        raise Refused(f"{where + '.' if where else ''}{field} is not a list")
    return value


def _package(entry: dict[str, Any], at: str, name: str, version: str, purl: Any) -> PackageIn:
    values: dict[str, str] = {}
    for field, value in (("name", entry.get(name)), ("version", entry.get(version) or ""), ("purl", purl or "")):
        if not isinstance(value, str):
            raise Refused(f"{at}: {field} is not a string")
        values[field] = "" if field == "version" and value == "NOASSERTION" else value  # SPDX: unknown
    return PackageIn(**values)


def _check_sizes(package: PackageIn) -> None:
    for field, limit in LIMITS.items():
        size = len(getattr(package, field).encode())
        if size > limit:
            raise Refused(f"package {package.name[:80]!r}: its {field} is {size:,} bytes; the limit is {limit:,}")
