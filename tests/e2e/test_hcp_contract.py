"""The Go contract tests (tests/clients/hcp-sdk-go/*_test.go) against `make run`: the
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

from fake_osv import FakeOsv
from hcp import SDK_MODULE, HcpRegistry, go_env
from product import start_product, wait_for
from support import real_manifest

# The first case may wait for a cold build of the clients and of the test binary.
pytestmark = pytest.mark.timeout(2400)

# Every `*_test.go` of the module (one file per group of operations).
GO_TESTS = sorted(name for path in SDK_MODULE.glob("*_test.go")
                  for name in re.findall(r"^func (Test\w+)\(t \*testing\.T\)", path.read_text(), re.MULTILINE))


@pytest.fixture(scope="session")
def contract_binary(packers: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The compiled contract tests (`packers` first: build.sh warms the SDK's packages)."""
    binary = tmp_path_factory.mktemp("contract") / "contract.test"
    done = subprocess.run(["go", "test", "-c", "-trimpath", "-o", str(binary), "."], cwd=SDK_MODULE,
                          env={**os.environ, **go_env()}, capture_output=True, text=True, timeout=1800, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return binary


@pytest.fixture(scope="module")
def hcp_registry():
    """`make run` as conftest.py's hcp_registry starts it, but asking a fake OSV on loopback
    (tests/fake_osv.py) for the packages' vulnerabilities (vulnerabilities_test.go)."""
    with FakeOsv() as osv, start_product("hcp-clients-e2e-admin-token", extra_env={"OSV_API_URL": osv.url}) as product:
        yield HcpRegistry(product)


def test_every_go_test_is_a_case_here(contract_binary: Path) -> None:
    listed = subprocess.run([str(contract_binary), "-test.list", "."], capture_output=True, text=True,
                            timeout=60, check=True).stdout.split()
    assert sorted(listed) == sorted(GO_TESTS) and GO_TESTS


# A version ingested from a real manifest, read back by the Go tests through the HCP API: the
# bucket (the key's first segment), the run's fingerprint, and its one artifact as HCP names it.
INGESTED = {"HCP_TEST_INGESTED_BUCKET": "ingested-base", "HCP_TEST_INGESTED_FINGERPRINT":
            "303c8123-a0ee-c4e4-e34a-f2a3ed8e555e", "HCP_TEST_INGESTED_PLATFORM": "aws",
            "HCP_TEST_INGESTED_REGION": "us-east-1", "HCP_TEST_INGESTED_ARTIFACT": "ami-06cb4e4262072a8ab"}


@pytest.fixture(scope="module")
def ingested(hcp_registry: HcpRegistry) -> dict[str, str]:
    """amazon-ebs-single-1.json uploaded to make run's S3, once its v1 is recorded."""
    product, bucket = hcp_registry.product, INGESTED["HCP_TEST_INGESTED_BUCKET"]
    product.s3.put_object(Bucket="packer-manifests", Key=f"{bucket}/packer-manifest.json",
                          Body=real_manifest("amazon-ebs-single-1.json"))
    wait_for(f"{bucket} v1", lambda: product.call("GET", f"/buckets/{bucket}/versions/v1")[0] == 200, 30, product.proc)
    return INGESTED


# Go tests that manage the registry or the run task, or set a bucket's IAM policy (its admins'),
# which take an admin (roles.py); the others run as the contributor Packer runs as (who deletes
# buckets, as HCP Packer's Contributor does).
AS_ADMIN = {"TestTheRegistryIsUpdatedDeactivatedAndNotDeletedWhileItHoldsBuckets", "TestTheRunTaskSettingsURLAndKey",
            "TestABucketIamPolicyIsReadSetAndGuardedByItsEtag"}


@pytest.mark.parametrize("name", GO_TESTS)
def test_sdk_contract(name: str, contract_binary: Path, hcp_registry: HcpRegistry, ingested: dict[str, str],
                      tmp_path: Path) -> None:
    principal = hcp_registry.principal("admin" if name in AS_ADMIN else "contributor")
    env = hcp_registry.env(principal, tmp_path, HCP_TEST_PRINCIPAL_NAME=principal.name, **ingested)
    done = subprocess.run([str(contract_binary), "-test.run", f"^{name}$", "-test.v", "-test.count=1"],
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0 and f"--- PASS: {name}" in done.stdout, done.stdout + done.stderr
