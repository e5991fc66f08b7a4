"""The real HCP clients build and run: the groundwork of the HCP-compatible API's tests.

tests/clients/build.sh builds each pinned `packer` (tests/clients/packer-X.Y.Z/) once per session;
after the first run its cache (~/.cache/registry-clients/) makes that a no-op. Each binary must report its
pinned version and run Packer core's `file` and `null` builders with no plugin installed, because
the registry's end-to-end tests publish through those two builders (they export HCP artifacts)
without any cloud. The builds here run with no HCP variable set, so nothing is published yet.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from hcp import PINNED, clean_env

# A cold build (Go modules downloaded, both Packer lines compiled) takes minutes; see
# tests/clients/README.md. Only the first test of the session waits for it.
pytestmark = pytest.mark.timeout(2400)

# Two sources built in parallel by Packer core alone: no `required_plugins`, no plugin directory.
TEMPLATE = """
source "file" "hello" {
  content = "hello from packer"
  target  = "hello.txt"
}

source "null" "noop" {
  communicator = "none"
}

build {
  sources = ["source.file.hello", "source.null.noop"]
}
"""


@pytest.mark.parametrize("version", PINNED)
def test_packer_reports_its_pinned_version(packers: dict[str, Path], version: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [str(packers[version]), "version"],
        env=clean_env(tmp_path), capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == f"Packer v{version}"


@pytest.mark.parametrize("version", PINNED)
def test_packer_core_builds_file_and_null_sources_without_plugins(
    packers: dict[str, Path], version: str, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "smoke.pkr.hcl").write_text(TEMPLATE)
    home = tmp_path / "home"
    home.mkdir()

    done = subprocess.run(
        [str(packers[version]), "build", "-color=false", "smoke.pkr.hcl"],
        cwd=work, env=clean_env(home), capture_output=True, text=True, timeout=120, check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert (work / "hello.txt").read_text() == "hello from packer"
    assert "Builds finished. The artifacts of successful builds are:" in done.stdout
    assert "--> file.hello:" in done.stdout and "--> null.noop:" in done.stdout
    assert not any((home / "plugins").iterdir()), "packer installed a plugin"
