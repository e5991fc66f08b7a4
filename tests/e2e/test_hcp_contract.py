"""The Go contract tests (tests/clients/hcp-sdk-go/contract_test.go) against `make run`: the
HCP Packer routes of HCP-API-COMPAT.md §5 called with hcp-sdk-go's generated clients, whose
deserializers judge the wire format.

The test binary is compiled once per session (`go test -c`, Go's caches in the clients' cache
folder, the committed go.mod/go.sum as they are); each Go test is one case here, run with the
environment a Packer user sets (a fresh service principal, HOME a temporary folder so the SDK's
token cache starts empty).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from hcp import SDK_MODULE, HcpRegistry, go_env

# The first case may wait for a cold build of the clients and of the test binary.
pytestmark = pytest.mark.timeout(2400)

CONTRACT = SDK_MODULE / "contract_test.go"
GO_TESTS = re.findall(r"^func (Test\w+)\(t \*testing\.T\)", CONTRACT.read_text(), re.MULTILINE)


@pytest.fixture(scope="session")
def contract_binary(packers: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The compiled contract tests (`packers` first: build.sh warms the SDK's packages)."""
    binary = tmp_path_factory.mktemp("contract") / "contract.test"
    done = subprocess.run(["go", "test", "-c", "-trimpath", "-o", str(binary), "."], cwd=SDK_MODULE,
                          env={**os.environ, **go_env()}, capture_output=True, text=True, timeout=1800, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return binary


def test_every_go_test_is_a_case_here(contract_binary: Path) -> None:
    listed = subprocess.run([str(contract_binary), "-test.list", "."], capture_output=True, text=True,
                            timeout=60, check=True).stdout.split()
    assert sorted(listed) == sorted(GO_TESTS) and GO_TESTS


@pytest.mark.parametrize("name", GO_TESTS)
def test_sdk_contract(name: str, contract_binary: Path, hcp_registry: HcpRegistry, tmp_path: Path) -> None:
    principal = hcp_registry.principal()
    env = hcp_registry.env(principal, tmp_path, HCP_TEST_PRINCIPAL_NAME=principal.name)
    done = subprocess.run([str(contract_binary), "-test.run", f"^{name}$", "-test.v", "-test.count=1"],
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0 and f"--- PASS: {name}" in done.stdout, done.stdout + done.stderr
