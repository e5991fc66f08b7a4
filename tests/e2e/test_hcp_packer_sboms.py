"""A real `packer build` uploads SBOMs with Packer's `hcp-sbom` provisioner to `make run`, whose
packages are then listed through ListBuildPackages (issue 23, item 1).

The provisioner downloads the SBOM file from the machine Packer built through its communicator,
so the build needs a machine: Packer core's `null` builder connected over SSH to test-sshd, a
test-only SSH/SFTP server on loopback (tests/clients/test-sshd/, built by build.sh), which serves
this machine's files: the "machine" holds the SBOM fixtures (tests/fixtures/sboms/, made by syft).
Packer is driven as in test_hcp_packer.py: HCP_* variables only, a contributor principal.
"""

from __future__ import annotations

import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from hcp import PINNED, Clients, HcpRegistry, Packer
from support import SBOMS

pytestmark = pytest.mark.timeout(2400)  # the first test of a session may wait for a cold build of the clients

TEMPLATE = """
source "null" "machine" {{
  ssh_host                 = "127.0.0.1"
  ssh_port                 = {port}
  ssh_username             = "packer"
  ssh_private_key_file     = "{key}"
  ssh_file_transfer_method = "sftp"
}}

build {{
  hcp_packer_registry {{
    bucket_name = "{bucket}"
  }}
  sources = ["source.null.machine"]

  provisioner "hcp-sbom" {{
    source    = "{sboms}/rootfs.spdx-2.3.json"
    sbom_name = "rootfs"
  }}

  provisioner "hcp-sbom" {{
    source = "{sboms}/app.cdx-1.5.json"
  }}
}}
"""


@pytest.fixture(scope="module")
def machine(clients: Clients, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """test-sshd on a free loopback port, taking one new ed25519 key: (port, the private key file)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    folder = tmp_path_factory.mktemp("machine")
    key = Ed25519PrivateKey.generate()
    (folder / "id_ed25519").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()))
    (folder / "id_ed25519").chmod(0o600)
    (folder / "id_ed25519.pub").write_bytes(key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH))
    server = subprocess.Popen([str(clients.sshd), "-authorized-key", str(folder / "id_ed25519.pub")],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        address = server.stdout.readline().strip() if server.stdout else ""
        assert address.startswith("127.0.0.1:"), f"test-sshd did not start: {address!r}"
        yield int(address.rsplit(":", 1)[1]), folder / "id_ed25519"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def packer(request: pytest.FixtureRequest, packers: dict[str, Path], hcp_registry: HcpRegistry, tmp_path: Path) -> Packer:
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    return Packer(request.param, packers[request.param], hcp_registry, hcp_registry.principal(), work, home)


@pytest.mark.parametrize("packer", PINNED, indirect=True)
def test_the_hcp_sbom_provisioner_uploads_sboms_whose_packages_are_listed(packer: Packer, machine) -> None:
    port, key = machine
    bucket, fingerprint = packer.bucket("sboms"), "fp-sboms"

    done = packer.build(TEMPLATE.format(port=port, key=key, bucket=bucket, sboms=SBOMS), fingerprint)

    assert done.returncode == 0, str(done)
    assert "Build will continue without SBOM" not in done.stdout + done.stderr, str(done)
    version = packer.hcp_version(bucket, fingerprint)
    assert (version["name"], version["status"]) == ("v1", "VERSION_ACTIVE"), version
    (build,) = version["builds"]
    path = f"/buckets/{bucket}/versions/{fingerprint}/builds/{build['id']}"
    token = packer.token()

    status, listed = packer.registry.hcp("GET", f"{path}/sboms", token)
    assert status == 200, listed
    sboms = {s["name"]: s for s in listed["sboms"]}
    assert len(sboms) == 2 and sboms["rootfs"]["format"] == "SPDX", listed
    (unnamed,) = [s for name, s in sboms.items() if name != "rootfs"]
    assert unnamed["format"] == "CYCLONEDX" and len(unnamed["name"]) == 26, unnamed  # a ULID

    status, packages = packer.registry.hcp("GET", f"{path}/packages?pagination.page_size=100", token)
    assert status == 200, packages
    rows = {p["name"]: sorted(s["name"] for s in p["sboms"]) for p in packages["packages"]}
    assert sorted(rows) == ["ca-certificates", "jinja2", "libc6", "libssl3", "lodash", "minimist", "openssl",
                            "requests", "urllib3", "web", "zlib1g"], rows
    assert rows["requests"] == sorted(["rootfs", unnamed["name"]]) and rows["openssl"] == ["rootfs"], rows

    status, answer = packer.registry.hcp("GET", f"{path}/sboms/rootfs", token)
    assert status == 200 and list(answer) == ["download_url"], answer
    with urllib.request.urlopen(answer["download_url"], timeout=10) as download:  # make run's S3 (moto)
        assert download.read() == (SBOMS / "rootfs.spdx-2.3.json").read_bytes()
