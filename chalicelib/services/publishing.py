"""Publishing through the HCP API: a version built by `packer build`, build by build.

(Being written: the signatures below are the interface the HCP routes call.)
"""

from __future__ import annotations

from ..domain.builds import BuildChange
from ..domain.enums import TemplateType
from ..storage import entities


def get_version(bucket: str, fingerprint: str) -> tuple[entities.Version, list[entities.Build]]:
    """The version with this fingerprint (a draft, number 0 and named `v0`, while its builds
    run; then the numbered one) and its builds. NotFound when there is none."""
    raise NotImplementedError


def create_version(bucket: str, fingerprint: str, template_type: TemplateType, actor: str) -> entities.Version:
    """A new draft. NotFound without the bucket; AlreadyExists when the fingerprint has a
    version (running or complete); BadRequest for a fingerprint HCP refuses."""
    raise NotImplementedError


def list_builds(bucket: str, fingerprint: str) -> list[entities.Build]:
    raise NotImplementedError


def get_build(bucket: str, fingerprint: str, build_id: str) -> entities.Build:
    raise NotImplementedError


def create_build(bucket: str, fingerprint: str, change: BuildChange, actor: str) -> entities.Build:
    """AlreadyExists when the version has a build of that component; Conflict (gRPC 9) when
    the version is complete."""
    raise NotImplementedError


def update_build(bucket: str, fingerprint: str, build_id: str, change: BuildChange, actor: str) -> entities.Build:
    """Merge the change; the last build to become done completes the version in this call."""
    raise NotImplementedError


def upload_sbom(bucket: str, fingerprint: str, build_id: str, name: str | None, sbom_format: str,
                compressed: bytes, actor: str) -> None:
    raise NotImplementedError
