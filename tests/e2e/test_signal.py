"""Signal, not noise (issue 21), through `make run`: real Packer (1.16) publishing `file` and `null`
builds and an image built from a source the registry does not track, manifests uploaded to the moto
S3 with untracked sources, explicit parents that do not exist, and parents that arrive after their
children inside and after the window. The report counts only what a person should act on, the
page shows no banner for noise, and every real finding is still reported.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from chalicelib.runtime import clock
from hcp import HcpRegistry, Packer
from product import Product, start_product, wait_for

pytestmark = pytest.mark.timeout(2400)

TOKEN = "signal-e2e-admin-token-0123456789"
WINDOW = 10  # UNTRACKED_SOURCE_WINDOW, seconds: short enough to wait out once
NEWEST = "1.16.0"
ZERO = {"out_of_date": 0, "parent_revoked": 0, "undetermined": 0, "unresolved_parents": 0}


@pytest.fixture(scope="module")
def hcp_registry() -> Iterator[HcpRegistry]:
    with start_product(TOKEN, extra_env={"UNTRACKED_SOURCE_WINDOW": f"{WINDOW}s"}) as product:
        yield HcpRegistry(product)


@pytest.fixture(scope="module")
def packer(packers: dict[str, Path], hcp_registry: HcpRegistry, tmp_path_factory: pytest.TempPathFactory) -> Packer:
    work, home = tmp_path_factory.mktemp("work"), tmp_path_factory.mktemp("home")
    return Packer(NEWEST, packers[NEWEST], hcp_registry, hcp_registry.principal(), work, home)


def ok(product: Product, method: str, path: str, payload: Any = None) -> Any:
    status, body = product.call(method, path, payload, timeout=20)
    assert 200 <= status < 300, (method, path, status, body)
    return body


def upload(product: Product, bucket: str, run: str, ami: str, **custom: str) -> dict[str, Any]:
    """A one-build manifest uploaded as Packer's post-processor leaves it; its version, once ingested."""
    body = {"builds": [{"name": "image", "builder_type": "amazon-ebs", "build_time": 1764000000, "files": None,
                        "artifact_id": f"us-east-1:{ami}", "packer_run_uuid": run, "custom_data": custom}],
            "last_run_uuid": run}
    product.s3.put_object(Bucket="packer-manifests", Key=f"{bucket}/{run}.json", Body=json.dumps(body).encode())
    wait_for(f"{bucket}/{run}", lambda: product.call("GET", f"/buckets/{bucket}/versions/{run}")[0] == 200,
             30, product.proc, interval=0.1)
    return ok(product, "GET", f"/buckets/{bucket}/versions/{run}")


def report(product: Product) -> dict[str, Any]:
    body = ok(product, "GET", "/compliance/report")
    return {"counts": {k: body["counts"][k] for k in ZERO}, "flagged": body["flagged"],
            "serving_revoked": body["channels_serving_revoked"]}


SOURCES = """
source "file" "written" {{
  content = "made from nothing"
  target  = "written.txt"
}}

source "null" "nothing" {{
  communicator = "none"
}}

source "file" "vendored" {{
  source = "{vendor}"
  target = "vendored.img"
}}

hcp_packer_registry {{
  bucket_name = "{bucket}"
}}

build {{
  sources = ["source.file.written", "source.null.nothing", "source.file.vendored"]
}}
"""


def on_the_page(url: str) -> tuple[str | None, str]:
    """In Chromium: the text of the bucket list's "needs attention" banner (None when there is
    none), and what web v1's page says of its source."""
    from playwright.sync_api import expect
    from scripts.screenshot import signed_in

    with signed_in(url, TOKEN) as tab:
        expect(tab.locator("#bucket-table tbody tr").first).to_be_visible()
        flagged = tab.locator("#flagged-summary")
        banner = flagged.inner_text() if flagged.count() else None
        tab.goto(f"{url}/#bucket=web&version=v1")
        expect(tab.get_by_role("heading", name="web v1", level=1)).to_be_visible()
        assert tab.locator("#ancestry-warnings").count() == 0
        return banner, tab.locator("#untracked-sources").inner_text()


def test_noise_is_information_and_real_findings_are_still_reported(hcp_registry: HcpRegistry, packer: Packer,
                                                                   tmp_path: Path) -> None:
    product = hcp_registry.product
    # A child whose parent's manifest comes only after the window (looked for, then no more).
    late = upload(product, "late-child", "late-1", "ami-0aa0000000000001", source_ami="ami-0bb0000000000001")

    # Packer: a `file` build from content, a `null` build (both report placeholder sources) and a
    # `file` build copying a vendor's image the registry has never seen.
    (packer.work / "vendor-base.img").write_text("a vendor's image")
    built = packer.build(SOURCES.format(vendor="vendor-base.img", bucket="local-images"), "fp-local")
    assert built.returncode == 0, str(built)
    local = ok(product, "GET", "/buckets/local-images/versions/v1")
    assert (local["ancestry_status"], local.get("unresolved")) == (None, None), local
    assert [u["message"] for u in local["untracked"]] == ["source not tracked: vendor-base.img"], local

    # Manifests: an image from a public AMI; a child whose parent arrives a moment later (within
    # the window): the sweep links it.
    upload(product, "web", "web-1", "ami-0cc0000000000001", source_ami="ami-0123456789abcdef0")
    upload(product, "early-child", "early-1", "ami-0dd0000000000001", source_ami="ami-0ee0000000000001")
    upload(product, "early-base", "eb-1", "ami-0ee0000000000001")
    ok(product, "POST", "/compliance/sweep", {})
    early = ok(product, "GET", "/buckets/early-child/versions/v1")
    assert [(p["bucket"], p["how"]) for p in early["parents"]] == [
        ("early-base", "matched from the source artifact ami-0ee0000000000001")], early
    assert early["ancestry_status"] == "up_to_date"

    # Only noise so far: nothing counted, nothing flagged, no banner on the page.
    assert report(product) == {"counts": ZERO, "flagged": [], "serving_revoked": []}
    banner, source = on_the_page(product.url)
    assert banner is None
    assert "Source not tracked: ami-0123456789abcdef0 (us-east-1)." in source

    # Real findings: an explicit parent that does not exist, a moved parent channel, a revoked parent.
    missing = upload(product, "orphan", "orphan-1", "ami-0ff0000000000001", parent_bucket="gone", parent_version="v3")
    assert missing["ancestry_findings"] == [{
        "status": "undetermined", "message": "parent not found: bucket 'gone' has no version 'v3'",
        "how": "named in the manifest: parent_bucket, parent_version"}]
    upload(product, "base", "base-1", "ami-0110000000000001")
    ok(product, "POST", "/buckets/base/channels", {"name": "production", "version": "v1"})
    upload(product, "base", "base-2", "ami-0110000000000002")
    upload(product, "app", "app-1", "ami-0220000000000001", parent_bucket="base", parent_channel="production")
    upload(product, "tools", "tools-1", "ami-0330000000000001")
    upload(product, "agent", "agent-1", "ami-0440000000000001", source_ami="ami-0330000000000001")
    ok(product, "PATCH", "/buckets/base/channels/production", {"version": "v2"})
    ok(product, "POST", "/buckets/tools/versions/v1/revoke", {"reason": "leaky", "skip_descendants_revocation": True})

    # The late child's window is over: the sweep stops looking, and its parent then changes nothing.
    until = clock.parse_utc(late["untracked"][0]["recorded_at"]).timestamp() + WINDOW + 1
    time.sleep(max(0.0, until - time.time()))
    ok(product, "POST", "/compliance/sweep", {})
    upload(product, "late-base", "lb-1", "ami-0bb0000000000001")
    ok(product, "POST", "/compliance/sweep", {})
    late = ok(product, "GET", "/buckets/late-child/versions/v1")
    assert (late["parents"], late["ancestry_status"]) == (None, None), late
    assert [u["source_artifact"] for u in late["untracked"]] == ["ami-0bb0000000000001"]

    found = report(product)
    assert found["counts"] == {"out_of_date": 1, "parent_revoked": 1, "undetermined": 1, "unresolved_parents": 1}
    assert sorted((f["bucket"], f["ancestry_status"], [g["how"] for g in f["findings"]]) for f in found["flagged"]) == [
        ("agent", "parent_revoked", ["matched from the source artifact ami-0330000000000001"]),
        ("app", "out_of_date", ["named in the manifest: parent_bucket, parent_channel"]),
        ("orphan", "undetermined", ["named in the manifest: parent_bucket, parent_version"])]
    shown, _ = on_the_page(product.url)
    assert shown is not None and "orphan v1" in shown and "web" not in shown and "local-images" not in shown
