"""The real HCP clients build and run: the groundwork of the HCP-compatible API's tests.

tests/clients/build.sh builds each pinned `packer` (tests/clients/packer-X.Y.Z/) once per session;
after the first run its cache (~/.cache/registry-clients/) makes that a no-op. Each binary must report its
pinned version and run Packer core's `file` and `null` builders with no plugin installed, because
the registry's end-to-end tests publish through those two builders (they export HCP artifacts)
without any cloud. The builds here run with no HCP variable set, so nothing is published yet.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CLIENTS = REPO / "tests" / "clients"
PINNED = sorted(path.name.removeprefix("packer-") for path in CLIENTS.glob("packer-*") if path.is_dir())

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


@pytest.fixture(scope="session")
def packers() -> dict[str, Path]:
    """The pinned packer binaries by version, built by tests/clients/build.sh if not cached.
    Skipped only where Go is missing: a failed build is an error, never a skip."""
    if shutil.which("go") is None:
        pytest.skip("the go command is not installed: the real packer clients are built from source")
    done = subprocess.run(
        ["bash", str(CLIENTS / "build.sh")], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"tests/clients/build.sh failed:\n{done.stderr[-4000:]}"
    binaries = {Path(line).name.removeprefix("packer-"): Path(line) for line in done.stdout.split()}
    assert sorted(binaries) == PINNED, done.stdout
    return binaries


def clean_env(home: Path) -> dict[str, str]:
    """The environment of a Packer run: no HCP_* variable (so HCP mode stays off), no plugin
    directory but an empty one, its config and cache in `home`, and no checkpoint call out."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(("HCP_", "PACKER_"))}
    env.update(
        HOME=str(home),
        PACKER_CONFIG_DIR=str(home / "config"),
        PACKER_PLUGIN_PATH=str(home / "plugins"),
        PACKER_CACHE_DIR=str(home / "cache"),
        CHECKPOINT_DISABLE="1",
    )
    (home / "plugins").mkdir()
    return env


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
