"""A real `packer build` (1.16, the first Packer that fetches enforced blocks) against `make run`
runs the provisioner an enforced block links to its bucket, and `-skip-enforcement` skips it
(issue 23, item 1).

The block is made and linked through the HCP API with the contributor's token Packer runs as
(HCP documents enforced provisioners as a contributor's to manage); its `shell-local`
provisioner appends a line to a file outside the working directory, so its effect is
read after each build. Packer appends enforced provisioners to every build of the template
(packer internal/hcp/registry/hcl.go InjectEnforcedProvisioners).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hcp import PINNED, HcpRegistry, Packer

pytestmark = pytest.mark.timeout(2400)  # the first test of the session may wait for a cold build of the clients


def at_least(version: str, minimum: str) -> bool:
    return tuple(map(int, version.split("."))) >= tuple(map(int, minimum.split(".")))


@pytest.fixture
def packer(request: pytest.FixtureRequest, packers: dict[str, Path], hcp_registry: HcpRegistry, tmp_path: Path) -> Packer:
    version = request.param
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    return Packer(version, packers[version], hcp_registry, hcp_registry.principal(), work, home)


ENFORCING = pytest.mark.parametrize("packer", [v for v in PINNED if at_least(v, "1.16.0")], indirect=True)


def template(bucket: str) -> str:
    """A `file` and a `null` source in one build publishing to `bucket`, with no provisioner of its own."""
    return f"""
source "file" "one" {{
  content = "one"
  target  = "one.txt"
}}

source "null" "two" {{
  communicator = "none"
}}

build {{
  hcp_packer_registry {{
    bucket_name = "{bucket}"
  }}
  sources = ["source.file.one", "source.null.two"]
}}
"""


def enforce(packer: Packer, bucket: str, effect: Path) -> dict:
    """A bucket with a block linked whose shell-local provisioner appends a line to `effect` (Packer
    gives an enforced provisioner an empty PACKER_BUILD_NAME, so the line cannot name its build)."""
    registry, token = packer.registry, packer.token()
    assert registry.hcp("PUT", "/buckets", token, {"name": bucket})[0] == 200
    content = f'provisioner "shell-local" {{\n  inline = ["echo enforced >> {effect}"]\n}}\n'
    status, made = registry.hcp("PUT", "/enforced_blocks", token, {"name": f"{bucket}-hardening", "block_content": content,
                                                                  "template_type": "HCL2", "version": "1"})
    assert status == 200, made
    block = made["enforced_block"]
    status, linked = registry.hcp("POST", f"/enforced_blocks/{block['id']}/versions/{block['latest_version']['id']}"
                                          "/buckets", token, {"bucket_names": [bucket]})
    assert status == 200 and len(linked["enforced_block_buckets"]) == 1, linked
    return block


@ENFORCING
def test_a_build_runs_the_buckets_enforced_provisioner_and_skip_enforcement_skips_it(packer: Packer,
                                                                                   tmp_path: Path) -> None:
    bucket, effect = packer.bucket("enforced"), tmp_path / "enforced.log"
    enforce(packer, bucket, effect)

    done = packer.build(template(bucket), "fp-enforced")

    assert done.returncode == 0, str(done)
    assert 'Loaded 1 enforced provisioner(s) from HCP block "' in done.stdout, str(done)
    assert effect.read_text().splitlines() == ["enforced"] * 2, str(done)  # each of the two builds ran it once
    assert packer.native(f"/buckets/{bucket}/versions/v1")["status"] == "active"

    skipped = packer.build(template(bucket), "fp-skipped", name="skipped", flags=("-skip-enforcement",))

    assert skipped.returncode == 0, str(skipped)
    assert "Skipping HCP Packer enforced provisioners" in skipped.stdout, str(skipped)
    assert effect.read_text().splitlines() == ["enforced"] * 2, str(skipped)  # not run again
    assert packer.native(f"/buckets/{bucket}/versions/v2")["status"] == "active"


@ENFORCING
def test_an_unlinked_block_is_no_longer_run(packer: Packer, tmp_path: Path) -> None:
    bucket, effect = packer.bucket("unlinked"), tmp_path / "enforced.log"
    block = enforce(packer, bucket, effect)
    status, answer = packer.registry.hcp(
        "POST", f"/enforced_blocks/{block['id']}/versions/{block['latest_version']['id']}/buckets", packer.token(),
        {"bucket_names": []})
    assert status == 200 and answer["enforced_block_buckets"] == [], answer

    done = packer.build(template(bucket), "fp-unlinked")

    assert done.returncode == 0, str(done)
    assert "enforced provisioner" not in done.stdout and not effect.exists(), str(done)
