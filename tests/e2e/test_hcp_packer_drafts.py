"""A real `packer build` (1.16) that fails after "Tracking build" leaves a draft: listed as
abandoned by `make run` once quiet for DRAFT_ABANDONED_AFTER (3 s here), then deleted by a
contributor through either door (issue 21, item 3). Packer is driven as in test_hcp_packer.py:
environment variables only (tests/hcp.py), Packer core's `null` builder, no cloud.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hcp import HcpRegistry, Packer
from product import start_product, wait_for

pytestmark = pytest.mark.timeout(2400)  # the first test of a session may wait for a cold build of the clients

VERSION = "1.16.0"
ABANDONED_AFTER = 3  # seconds

# A `null` source whose provisioner exits 1: Packer has created the version and its build
# ("Tracking build"), marks the build failed and stops; nothing completes the version.
TEMPLATE = """
build {{
  hcp_packer_registry {{
    bucket_name = "{bucket}"
  }}
  sources = ["source.null.app"]
  provisioner "shell-local" {{
    inline = ["{command}"]
  }}
}}

source "null" "app" {{
  communicator = "none"
}}
"""


@pytest.fixture(scope="module")
def hcp_registry():
    """`make run` with abandoned drafts after ABANDONED_AFTER seconds (this module's own)."""
    with start_product("hcp-drafts-e2e-admin-token",
                       extra_env={"DRAFT_ABANDONED_AFTER": f"{ABANDONED_AFTER}s"}) as product:
        yield HcpRegistry(product)


@pytest.fixture
def packer(packers: dict[str, Path], hcp_registry: HcpRegistry, tmp_path: Path) -> Packer:
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    return Packer(VERSION, packers[VERSION], hcp_registry, hcp_registry.principal(), work, home)


def report(packer: Packer) -> dict[str, Any]:
    return packer.native("/compliance/report")


def abandoned(packer: Packer) -> list[tuple[str, str, int, int, str]]:
    """The report's abandoned drafts as (bucket, fingerprint, builds, done builds, author)."""
    found = report(packer)
    listed = [(d["bucket"], d["fingerprint"], d["build_count"], d["done_builds"], d["author"])
              for d in found["abandoned_drafts"]]
    assert found["counts"]["abandoned_drafts"] == len(listed) and not found["abandoned_drafts_truncated"], found
    return listed


def fail_after_tracking(packer: Packer, bucket: str, fingerprint: str) -> None:
    """A build that fails after "Tracking build": its version stays a draft, its build failed."""
    failed = packer.build(TEMPLATE.format(bucket=bucket, command="exit 1"), fingerprint)
    assert failed.returncode != 0 and "Tracking build" in failed.stdout, str(failed)
    version = packer.hcp_version(bucket, fingerprint)
    assert (version["name"], version["status"]) == ("v0", "VERSION_RUNNING"), version
    assert [b["status"] for b in version["builds"]] == ["BUILD_FAILED"], version["builds"]


def test_a_draft_left_by_a_failed_packer_build_is_listed_as_abandoned_and_deleted_through_either_door(
        packer: Packer) -> None:
    bucket = packer.bucket("abandoned")
    fail_after_tracking(packer, bucket, "fp-hcp-door")
    fail_after_tracking(packer, bucket, "fp-native-door")
    author = packer.principal.name

    wait_for("two abandoned drafts", lambda: len(report(packer)["abandoned_drafts"]) == 2,
             ABANDONED_AFTER * 10, packer.registry.product.proc)
    assert abandoned(packer) == [(bucket, "fp-hcp-door", 1, 0, author), (bucket, "fp-native-door", 1, 0, author)]
    listed = report(packer)["abandoned_drafts"][0]
    assert listed["idle_seconds"] >= ABANDONED_AFTER and listed["age_seconds"] >= listed["idle_seconds"], listed

    viewer = packer.registry.token(packer.registry.principal("viewer"))
    status, body = packer.registry.hcp("DELETE", f"/buckets/{bucket}/versions/fp-hcp-door", viewer)
    assert (status, body["code"]) == (403, 7), body
    status, body = packer.registry.hcp("DELETE", f"/buckets/{bucket}/versions/fp-hcp-door", packer.token())
    assert (status, body) == (200, {}), body
    status, body = packer.registry.product.call("DELETE", f"/buckets/{bucket}/versions/fp-native-door",
                                                token=packer.token())
    assert (status, body["status"], body["fingerprint"]) == (200, "running", "fp-native-door"), body

    assert abandoned(packer) == []
    assert packer.native(f"/buckets/{bucket}/versions")["items"] == []
    status, body = packer.registry.hcp("GET", f"/buckets/{bucket}/versions/fp-hcp-door", packer.token())
    assert (status, body["code"]) == (409, 10), body  # GetVersion's miss: Packer starts the version afresh

    rerun = packer.build(TEMPLATE.format(bucket=bucket, command="true"), "fp-hcp-door")

    assert rerun.returncode == 0, str(rerun)
    version = packer.hcp_version(bucket, "fp-hcp-door")
    assert (version["name"], version["status"]) == ("v1", "VERSION_ACTIVE"), version
    assert abandoned(packer) == []
