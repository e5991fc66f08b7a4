"""Regenerate the README's picture, docs/screenshot.png, from the page as it is now: `make screenshot`.

Starts the product as `make run` does (tests/product.py: the local runner on free loopback
ports, a temporary data directory), loads the manifests of examples/ as the walk-through does
(base's 8 runs with `production` on v1, the child built from it and the grandchild found by
its AMI, then `production` moved to v2 and a sweep, so the child is out of date; the other
examples as buckets of their own), opens the child's version in headless Chromium (Playwright
driving Debian's /usr/bin/chromium: scripts/install-browser.sh) and writes the screenshot.

    python scripts/screenshot.py [OUTPUT]     (default: docs/screenshot.png)

The browser tests (tests/e2e/test_web_browser.py) launch Chromium and open pages with
`launch()` and `new_tab()` from here, so the picture shows the page as they test it.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from product import Product, start_product, wait_for  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
EXAMPLES = ROOT / "examples"
OUTPUT = ROOT / "docs" / "screenshot.png"
TOKEN = "screenshot-admin-token-0123456789"
MANIFESTS = "packer-manifests"  # the local runner's manifest bucket
# (example file, registry bucket, the version to wait for), in the order the walk-through uploads them
UPLOADS = [("amazon-ebs-multiregion-multirun-1.json", "base", "v8"), ("child-app.json", "app", "v1"),
           ("grandchild-svc.json", "svc", "v1"), ("amazon-ebs-single-1.json", "web", "v1"),
           ("qemu-1.json", "void-live", "v1"), ("docker-sha256-many-runs.json", "docker-app", "v11")]


def launch(playwright: Any) -> Any:
    """Headless Chromium (Debian's; Playwright cannot download browsers here)."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)


def new_tab(browser: Any) -> Any:
    """A fresh tab at laptop width, light, in UTC: what the tests and the picture look at."""
    context = browser.new_context(viewport={"width": 1280, "height": 860}, color_scheme="light",
                                  locale="en-GB", timezone_id="UTC")
    context.set_default_timeout(8000)
    return context.new_page()


def load_examples(product: Product) -> None:
    """The walk-through's registry: each example uploaded as Packer's pipeline would and
    ingested, base's production moved from v1 to v2 under the child, then a sweep."""
    def ok(method: str, path: str, payload: Any = None) -> Any:
        status, body = product.call(method, path, payload, timeout=20)
        assert 200 <= status < 300, (method, path, status, body)
        return body

    for name, bucket, version in UPLOADS:
        product.s3.put_object(Bucket=MANIFESTS, Key=f"{bucket}/packer-manifest.json",
                              Body=(EXAMPLES / name).read_bytes())
        wait_for(f"{bucket} {version}", lambda: product.call("GET", f"/buckets/{bucket}/versions/{version}")[0] == 200,
                 30, product.proc, interval=0.1)
        if bucket == "base":
            ok("POST", "/buckets/base/channels", {"name": "production", "version": "v1"})
    ok("PATCH", "/buckets/base/channels/production", {"version": "v2"})
    ok("PATCH", "/buckets/base", {"description": "Nomad and Consul on Ubuntu, in two regions",
                                  "labels": {"team": "platform"}})
    ok("POST", "/compliance/sweep", {})
    assert ok("GET", "/buckets/app/versions/v1")["ancestry_status"] == "out_of_date"


@contextlib.contextmanager
def signed_in(url: str, token: str = TOKEN) -> Iterator[Any]:
    """A tab of a fresh headless Chromium signed in through a `#token=` link, at the bucket list."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            tab = new_tab(browser)
            tab.goto(f"{url}/#token={token}")
            expect(tab.get_by_role("heading", name="Buckets", level=1)).to_be_visible()
            yield tab
        finally:
            browser.close()


def take(url: str, output: Path) -> None:
    """Sign in, open the outdated child version, and save the view."""
    from playwright.sync_api import expect

    with signed_in(url) as tab:
        tab.goto(f"{url}/#bucket=app&version=v1")
        expect(tab.get_by_role("heading", name="app v1", level=1)).to_be_visible()
        expect(tab.locator("#ancestry-warnings")).to_contain_text("Outdated")
        output.parent.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(output))


def main(argv: list[str]) -> int:
    output = Path(argv[1]) if len(argv) > 1 else OUTPUT
    if not CHROMIUM.exists():
        print(f"screenshot: {CHROMIUM} is not installed: run scripts/install-browser.sh", file=sys.stderr)
        return 1
    with start_product(TOKEN) as product:
        load_examples(product)
        take(product.url, output)
    print(f"screenshot: wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
