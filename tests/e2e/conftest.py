"""Fixtures of the end-to-end tier that drive the real HCP clients (tests/hcp.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from hcp import HcpRegistry, build_clients, go_missing
from product import start_product

TOKEN = "hcp-clients-e2e-admin-token"


@pytest.fixture(scope="session")
def packers() -> dict[str, Path]:
    """The pinned packer binaries by version, built by tests/clients/build.sh if not cached.
    Skipped only where Go is missing: a failed build is an error, never a skip."""
    if go_missing():
        pytest.skip("the go command is not installed: the real HCP clients are built from source")
    return build_clients()


@pytest.fixture(scope="module")
def hcp_registry() -> Iterator[HcpRegistry]:
    """One `make run` per module, seen as the HCP clients see it."""
    with start_product(TOKEN) as product:
        yield HcpRegistry(product)
