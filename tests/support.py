"""Helpers every test tier shares: pure (stdlib only), so the unit tier can import them.

The real manifests live outside the repository, in `../shared/testdata/real-manifests`
(`REAL_MANIFESTS_DIR` names another folder: `make mutate` sets it, since mutmut runs the
tests from a copy of the project in `mutants/`). A missing or empty folder is an error at
collection, never a parametrize that silently yields no cases.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REAL_MANIFESTS = Path(os.environ.get("REAL_MANIFESTS_DIR") or ROOT.parent / "shared" / "testdata" / "real-manifests")


def real_manifest_names() -> list[str]:
    """The real manifests' file names, sorted; raises when there are none."""
    names = sorted(p.name for p in REAL_MANIFESTS.glob("*.json"))
    if not names:
        raise FileNotFoundError(
            f"no real manifests (*.json) in {REAL_MANIFESTS}: the tests need the shared test data "
            "(../shared/testdata/real-manifests beside the repository, or REAL_MANIFESTS_DIR)")
    return names


def real_manifest(name: str) -> bytes:
    """One real manifest's bytes, as Packer wrote them."""
    return (REAL_MANIFESTS / name).read_bytes()
