"""The registry web page: served by the app, and driven in a real headless Chromium.

The browser tests start the runner behind `make run` as a subprocess on free loopback ports,
load a base → child chain through its moto S3 endpoint (as Packer's manifest post-processor
would), move the base's channel, sweep, and then use the page as a person would: sign in,
find the outdated child, read the warning, revoke through the page. Screenshots land in
test-artifacts/browser/ (git-ignored). The README's picture is scripts/screenshot.py's (`make
screenshot`), which launches Chromium and opens tabs as these tests do; it is run here too.

Chromium is Debian's (`scripts/install-browser.sh`); Playwright cannot download browsers
here. Without it these tests skip, except in CI (CI=true), where they fail.
"""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chalicelib.api import web
from product import start_product, wait_for
from scripts.screenshot import CHROMIUM, launch, new_tab
from support import ROOT, real_manifest

ARTIFACTS = ROOT / "test-artifacts" / "browser"
TOKEN = "browser-test-admin-token-0123456789"
MANIFESTS = "packer-manifests"
OUTDATED = ("Outdated: parent base channel production now points at v2; this was built from v1. "
            "(named in the manifest: parent_bucket, parent_channel)")
CHAIN = ("Outdated: parent child v1 is out of date: parent base channel production now points at v2. "
         "(matched from the source artifact ami-0c41d000000000001)")
BASE_AMIS = ("ami-0ba5e0000000000a1", "ami-0ba5e0000000000b1")
ABANDONED_AFTER = 2  # seconds: the runner's DRAFT_ABANDONED_AFTER


# ---- the page's files, through the app (no browser) --------------------------------------

def test_the_page_and_its_assets_are_served_with_their_types(client):
    index = client.http.get("/")
    assert index.status_code == 200
    assert index.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in index.headers["Content-Security-Policy"]
    html = index.body.decode()
    referenced = set(re.findall(r'(?:src|href)="static/([^"]+)"', html))
    assert referenced == {"app.js", "app.css", "favicon.svg"}
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html), "the page must not load anything from elsewhere"
    for asset in referenced:
        response = client.http.get(f"/static/{asset}")
        assert response.status_code == 200, asset
        assert response.headers["Content-Type"] == web.ASSETS[asset]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert client.http.get("/static/app.js").headers["Content-Type"].startswith("text/javascript")


def test_only_shipped_files_are_served(client):
    for name in ("nope.js", "web.py", "..%2Fweb.py", "%2e%2e%2fapp.py", "INDEX.HTML"):
        response = client.http.get(f"/static/{name}")
        assert response.status_code == 404, name
        body = json.loads(response.body)
        assert body["error"] == "NotFound" and "no page asset" in body["message"]


def test_the_allow_list_is_exactly_the_shipped_files():
    shipped = {p.name for p in web.WEB_DIR.iterdir() if p.is_file()}
    assert shipped == set(web.ASSETS)
    # The page's ES modules: each import names a shipped module by a relative URL (so it resolves
    # under static/, behind API Gateway's stage prefix too), and each module is reached from app.js.
    modules = {name for name in web.ASSETS if name.endswith(".js")}
    assert {"app.js", "api.js", "dom.js", "format.js"} <= modules
    imports = {}
    for name in modules:
        source = (web.WEB_DIR / name).read_text(encoding="utf-8")
        assert "import(" not in source, f"{name}: no dynamic imports"
        specifiers = re.findall(r'^\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"', source, re.M | re.S)
        assert all(s.startswith("./") for s in specifiers), (name, specifiers)
        imports[name] = {s[2:] for s in specifiers}
        assert imports[name] <= modules, f"{name} imports files not in the allow-list: {imports[name] - modules}"
    reached, todo = set(), ["app.js"]
    while todo:
        name = todo.pop()
        if name not in reached:
            reached.add(name)
            todo.extend(imports[name])
    assert reached == modules, f"shipped but never loaded: {modules - reached}"


def needs_chromium() -> None:
    """Skip without Debian's Chromium, except in CI (CI=true), where that is a failure."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is not installed: run scripts/install-browser.sh (Debian's chromium)"
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(message)
        pytest.skip(message)


def test_the_screenshot_script_writes_the_readme_picture_of_the_page(tmp_path):
    """`make screenshot` (scripts/screenshot.py, as make runs it): the product with the examples
    loaded, the outdated child's view in Chromium, a PNG at the page's laptop width (to a
    temporary path here; docs/screenshot.png is what it wrote when last run)."""
    needs_chromium()
    output = tmp_path / "screenshot.png"
    done = subprocess.run([sys.executable, "scripts/screenshot.py", str(output)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    png = output.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", png[16:24]) == (1280, 860)


# ---- a running registry with a base → child chain -------------------------------------------

def packer_manifest(run: str, artifact_id: str, name: str = "ubuntu", **custom: str) -> bytes:
    return json.dumps({"builds": [{
        "name": name, "builder_type": "amazon-ebs", "build_time": 1764000000, "files": None,
        "artifact_id": artifact_id, "packer_run_uuid": run, "custom_data": custom}],
        "last_run_uuid": run}).encode()


@pytest.fixture(scope="module")
def registry():
    """`make run`'s runner with: base v1 and v2, production moved v1 → v2, a child built from
    base production when it was v1 (so outdated after the sweep), a grandchild built from the
    child's image, an unrelated bucket, and a rejected upload. Yields (API URL, viewer token)."""
    needs_chromium()
    with start_product(TOKEN, extra_env={"DRAFT_ABANDONED_AFTER": f"{ABANDONED_AFTER}s"}) as product:
        proc, s3 = product.proc, product.s3

        def call(method: str, path: str, payload: Any = None) -> tuple[int, Any]:
            return product.call(method, path, payload, timeout=20)

        def ok(method: str, path: str, payload: Any = None) -> Any:
            status, body = call(method, path, payload)
            assert 200 <= status < 300, (method, path, status, body)
            return body

        def upload(key: str, body: bytes, bucket: str, version: str) -> None:
            s3.put_object(Bucket=MANIFESTS, Key=key, Body=body)
            wait_for(f"{bucket} {version}", lambda: call("GET", f"/buckets/{bucket}/versions/{version}")[0] == 200,
                     20, proc, interval=0.1)

        upload("base/1.json", packer_manifest("base-run-1", f"us-east-1:{BASE_AMIS[0]},eu-west-1:ami-0ba5e0000000000a2",
                                              os="ubuntu", release="24.04"), "base", "v1")
        ok("POST", "/buckets/base/channels", {"name": "production", "version": "v1"})
        upload("child/1.json", packer_manifest("child-run-1", "us-east-1:ami-0c41d000000000001", name="app",
                                              parent_bucket="base", parent_channel="production"), "child", "v1")
        upload("base/2.json", packer_manifest("base-run-2", f"us-east-1:{BASE_AMIS[1]},eu-west-1:ami-0ba5e0000000000b2",
                                              os="ubuntu", release="24.04"), "base", "v2")
        upload("app-server/1.json", packer_manifest("svc-run-1", "us-east-1:ami-0a99000000000001", name="svc",
                                                    source_ami="ami-0c41d000000000001"), "app-server", "v1")
        upload("web-server/1.json", packer_manifest("web-run-1", "us-west-2:ami-0we6000000000001", name="web"),
               "web-server", "v1")
        # A local builder's run (27 files) as web-server v2: the page lists its files.
        upload("web-server/vmware.json", real_manifest("vmware-iso-many-files.json"),
               "web-server", "v2")
        upload("web-server/qemu.json", json.dumps({"builds": [{
            "name": "disks", "builder_type": "qemu", "build_time": 1764000000, "artifact_id": "VM",
            "packer_run_uuid": "qemu-run-1", "custom_data": None,
            "files": [{"name": f"output-qemu/disk-{n:03d}.qcow2", "size": None} for n in range(150)]}]}).encode(),
            "web-server", "v3")
        ok("PATCH", "/buckets/base/channels/production", {"version": "v2"})
        ok("PATCH", "/buckets/base", {"description": "Hardened Ubuntu 24.04 base image",
                                      "labels": {"team": "platform", "os": "ubuntu"}})
        s3.put_object(Bucket=MANIFESTS, Key="junk/packer-manifest.json", Body=b"not json at all")
        wait_for("the junk upload's rejection", lambda: any(
            i["key"] == "junk/packer-manifest.json"
            for i in (call("GET", "/ingestions?status=rejected")[1] or {}).get("items", [])), 20, proc, interval=0.1)
        ok("POST", "/compliance/sweep", {})
        assert ok("GET", "/buckets/child/versions/v1")["ancestry_status"] == "out_of_date"
        viewer = ok("POST", "/tokens", {"name": "reader", "role": "viewer"})["secret"]
        yield product.url, viewer


@pytest.fixture(scope="module")
def browser(registry):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        instance = launch(playwright)
        yield instance
        instance.close()


@pytest.fixture
def page(browser, registry, request):
    """A fresh tab (fresh session storage) at laptop width; fails the test on a page script error."""
    tab = new_tab(browser)
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}-last.png"), full_page=True)
    text = tab.inner_text("body")
    tab.context.close()
    assert not errors, f"script errors in the page: {errors}"
    leaked = re.findall(r"\b(?:null|undefined|NaN)\b|\[object Object\]", text)
    assert not leaked, f"the page shows programming values to the person: {leaked}"


def shot(tab, name: str, full_page: bool = True) -> Path:
    path = ARTIFACTS / f"{name}.png"
    tab.screenshot(path=str(path), full_page=full_page)
    return path


# ---- the page in a browser -------------------------------------------------------------------

def test_sign_in_find_the_outdated_child_and_read_why(page, registry):
    from playwright.sync_api import expect

    url, _ = registry
    page.goto(f"{url}/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_hidden()
    page.keyboard.press("Tab")
    expect(page.locator("#skip-link")).to_be_focused()

    # A wrong token is refused in words; the right one signs in (keyboard only).
    page.get_by_label("Bearer token").fill("not-a-token")
    page.get_by_label("Bearer token").press("Enter")
    expect(page.locator("#signin-error")).to_contain_text("not accepted")
    shot(page, "sign-in-refused")
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.get_by_label("Bearer token").fill(TOKEN)
    page.get_by_label("Bearer token").press("Enter")

    # The bucket list: every bucket, the child flagged in words, the base's channels.
    expect(page.get_by_role("heading", name="Buckets", level=1)).to_be_visible()
    rows = page.locator("#bucket-table tbody tr")
    expect(rows).to_have_count(4)
    child = page.locator('tr[data-bucket="child"]')
    expect(child).to_contain_text("1 outdated")
    expect(page.locator('tr[data-bucket="web-server"]')).to_contain_text("No problems")
    expect(page.locator('tr[data-bucket="app-server"]')).to_contain_text("1 outdated")  # down the chain
    expect(page.locator('tr[data-bucket="base"]')).to_contain_text("production → v2")
    expect(page.get_by_text("2 versions need attention (2 outdated)")).to_be_visible()
    expect(page.locator("#flagged-summary li")).to_have_text([f"app-server v1 — {CHAIN}", f"child v1 — {OUTDATED}"])
    assert not [u for u in requested if "/buckets/" in u], requested  # channels and counts came with the list
    page.get_by_label("Search buckets").fill("hardened")
    expect(rows.filter(visible=True)).to_have_count(1)
    expect(page.locator("#bucket-count")).to_contain_text("1 of 4 buckets match")
    shot(page, "buckets-search")
    page.get_by_label("Search buckets").fill("")

    # The child's bucket: its version flagged, with the reason.
    child.get_by_role("link", name="child").click()
    expect(page.get_by_role("heading", name="child", level=1)).to_be_visible()
    expect(page.locator('#versions-table tr[data-version="v1"]')).to_contain_text("Outdated")
    expect(page.locator(".callout.warn")).to_contain_text(OUTDATED)

    # The version: the warning in words, its parent with the live status, its artifacts.
    page.locator('#versions-table tr[data-version="v1"]').get_by_role("link", name="v1").click()
    expect(page.get_by_role("heading", name="child v1", level=1)).to_be_visible()
    expect(page.locator("#ancestry-warnings")).to_have_text(OUTDATED)
    expect(page.locator("#version-status")).to_contain_text("Active")
    expect(page.locator("#version-status")).to_contain_text("Outdated")
    parents = page.locator("#s-parents ~ div tbody tr")
    expect(parents.first).to_contain_text("base v1")
    expect(parents.first).to_contain_text("production")
    expect(page.get_by_text("ami-0c41d000000000001")).to_be_visible()
    expect(page.locator("#s-children ~ div")).to_contain_text("app-server v1")
    assert page.evaluate("document.activeElement.id") == "view-title"  # focus follows navigation
    shot(page, "version-outdated-1280", full_page=False)

    # Channel history, in the base's bucket view.
    page.goto(f"{url}/#bucket=base")
    expect(page.get_by_role("heading", name="base", level=1)).to_be_visible()
    production = page.locator('tr[data-channel="production"]')
    production.get_by_text("Show history").click()
    expect(production.locator(".timeline li")).to_have_count(2)
    expect(production.locator(".timeline li").first).to_contain_text("assigned: v1 → v2")
    expect(page.locator(".labels").first).to_contain_text("platform")
    page.get_by_text("Show recent changes").click()
    expect(page.locator("#activity tbody tr").first).to_be_visible()


def test_a_shared_link_signs_in_opens_the_version_and_drops_the_token(page, registry):
    from playwright.sync_api import expect

    url, _ = registry
    page.goto(f"{url}/#token={TOKEN}&bucket=child&version=v1")
    expect(page.locator("#ancestry-warnings")).to_have_text(OUTDATED)
    assert TOKEN not in page.url
    assert page.url.endswith("#bucket=child&version=v1")
    page.reload()  # the token stays for the tab's session
    expect(page.locator("#ancestry-warnings")).to_have_text(OUTDATED)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_api_errors_are_shown_in_words(page, registry):
    from playwright.sync_api import expect

    url, _ = registry
    page.goto(f"{url}/#token={TOKEN}&bucket=no-such-bucket")
    expect(page.get_by_role("alert").first).to_contain_text("Not found: bucket 'no-such-bucket' does not exist")


def test_ingestions_and_compliance(page, registry):
    from playwright.sync_api import expect

    url, _ = registry
    page.goto(f"{url}/#token={TOKEN}")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Ingestions").click()
    records = page.locator("#ingestions-table tbody tr")
    expect(records).to_have_count(1)
    expect(records.first).to_contain_text("s3://packer-manifests/junk/packer-manifest.json")
    expect(records.first).to_contain_text("Rejected")
    expect(records.first).to_contain_text("JSON")
    shot(page, "ingestions-rejected")
    page.get_by_label("Show", exact=True).select_option("accepted")
    expect(page.locator("#ingestions-table tbody tr")).to_have_count(7)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Compliance").click()
    flagged = page.locator("#flagged-table tbody tr")
    expect(flagged).to_have_count(2)
    expect(flagged.last).to_contain_text("child v1")
    expect(flagged.last).to_contain_text(OUTDATED)
    expect(flagged.first).to_contain_text(CHAIN)
    page.get_by_role("button", name="Run a sweep now").click()
    expect(page.locator("#notice")).to_contain_text("Sweep finished")
    shot(page, "compliance")


def test_a_viewer_is_told_what_the_api_refused(page, registry):
    from playwright.sync_api import expect

    url, viewer = registry
    page.goto(f"{url}/#token={viewer}&bucket=base&version=v2")
    expect(page.get_by_role("heading", name="base v2", level=1)).to_be_visible()
    if page.locator("#revoke-form").count() == 0:  # the API said who the token is (GET /whoami)
        expect(page.get_by_text("Your token is a viewer of this bucket")).to_be_visible()
        return
    page.get_by_label("Reason (required)").fill("trying")
    page.get_by_role("button", name="Revoke v2").click()
    expect(page.locator("#revoke-form .form-error")).to_contain_text("Not allowed")
    expect(page.locator("#revoke-form .form-error")).to_contain_text("needs the contributor role")
    expect(page.locator("#version-status")).to_contain_text("Active")


def test_a_token_bound_to_one_bucket_sees_it_alone_and_is_offered_its_actions(page, registry):
    """A token with no project role, bound as contributor to web-server (issue 23, item 3)."""
    import urllib.request

    from playwright.sync_api import expect

    url, _ = registry

    def admin(method: str, path: str, payload: Any) -> Any:
        request = urllib.request.Request(f"{url}{path}", data=json.dumps(payload).encode(), method=method, headers={
            "Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=20) as response:
            return json.loads(response.read())

    bound = admin("POST", "/tokens", {"name": "web-team", "role": "none"})
    admin("PUT", "/buckets/web-server/access", {"bindings": [{"role": "contributor", "members": [bound["id"]]}]})
    page.goto(f"{url}/#token={bound['secret']}")
    expect(page.get_by_role("link", name="web-server", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="base", exact=True)).to_have_count(0)
    page.goto(f"{url}/#bucket=web-server&version=v1")
    expect(page.get_by_role("heading", name="web-server v1", level=1)).to_be_visible()
    expect(page.locator("#revoke-form")).to_be_visible()


def test_phone_width_is_readable(browser, registry):
    from playwright.sync_api import expect

    url, _ = registry
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True, color_scheme="dark",
                                  locale="en-GB", timezone_id="UTC")
    context.set_default_timeout(8000)
    tab = context.new_page()
    try:
        for fragment, ready in ((f"token={TOKEN}", 'tr[data-bucket="base"] .channel-list'),
                                ("bucket=child&version=v1", "#ancestry-warnings"),
                                ("bucket=base", 'tr[data-channel="production"]')):
            tab.goto(f"{url}/#{fragment}")
            expect(tab.locator(ready).first).to_be_visible()
            overflow = tab.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"#{fragment} scrolls sideways by {overflow}px at 375px"
            tab.screenshot(path=str(ARTIFACTS / f"phone-{fragment.split('=')[0]}-{fragment.count('&')}.png"), full_page=True)
    finally:
        context.close()


def test_a_local_builds_files_are_listed_with_human_sizes(page, registry):
    from playwright.sync_api import expect

    url, _ = registry
    page.goto(f"{url}/#token={TOKEN}&bucket=web-server&version=v2")
    expect(page.get_by_role("heading", name="web-server v2", level=1)).to_be_visible()
    files = page.locator('#s-builds-and-artifacts ~ * td[data-label="Files"] details.files')
    expect(files.locator("summary")).to_have_text("27 files, 3.7 GiB")
    files.locator("summary").click()
    items = files.locator("li")
    expect(items).to_have_count(27)
    expect(items.first).to_have_text("output-vmware/disk-1-s001.vmdk 512 KiB")
    expect(items.filter(has_text="octantnode.ovf")).to_have_text("output-vmware/octantnode.ovf 6.6 KiB")
    expect(items.filter(has_text="octantnode.vmsd")).to_have_text("output-vmware/octantnode.vmsd 0 B")
    expect(items.filter(has_text="octantnode-disk1.vmdk")).to_have_text("output-vmware/octantnode-disk1.vmdk 1.0 GiB")
    assert items.filter(has_text="octantnode-disk1.vmdk").locator(".size").get_attribute("title") == \
        "1,050,037,760 bytes"
    shot(page, "version-files")
    page.set_viewport_size({"width": 375, "height": 740})  # long names wrap rather than scroll sideways
    expect(items.first).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the files scroll sideways by {overflow}px at 375px"

    # A build that listed 150 files: the registry kept 100, and the page says so.
    page.goto(f"{url}/#bucket=web-server&version=v3")
    qemu = page.locator('#s-builds-and-artifacts ~ * td[data-label="Files"] details.files')
    expect(qemu.locator("summary")).to_have_text("150 files")
    qemu.locator("summary").click()
    expect(qemu.locator("li")).to_have_count(100)
    expect(qemu.locator("li").last).to_have_text("output-qemu/disk-099.qcow2 size unknown")
    expect(qemu).to_contain_text("50 more not kept by the registry")


def test_revoke_through_the_page_then_restore(page, registry):
    """Runs last: it changes the chain (and puts it back)."""
    from playwright.sync_api import expect

    url, _ = registry
    page.goto(f"{url}/#token={TOKEN}&bucket=base&version=v1")
    expect(page.locator("#version-status")).to_contain_text("Active")
    expect(page.locator("#s-children ~ div")).to_contain_text("child v1")
    page.get_by_label("Reason (required)").fill("CVE-2026-1234 in openssl")
    expect(page.get_by_label("Also revoke every version built from it")).to_be_checked()
    page.get_by_role("button", name="Revoke v1").click()
    expect(page.locator("#notice")).to_contain_text("base v1 is revoked, with its descendants")
    expect(page.locator("#version-status")).to_contain_text("Revoked")
    expect(page.locator(".callout.bad")).to_contain_text("CVE-2026-1234 in openssl")
    shot(page, "base-v1-revoked")

    # The child inherited it; the page says from where.
    page.get_by_role("link", name="child v1").click()
    expect(page.locator("#version-status")).to_contain_text("Revoked")
    expect(page.locator(".callout.bad")).to_have_count(1)  # the revocation, not a repeat of it as a warning
    expect(page.locator(".callout.bad")).to_contain_text("Inherited from its ancestor base/v1")
    expect(page.get_by_role("button", name="Revoke v1")).to_have_count(0)

    # Restoring the base restores the child too.
    page.get_by_role("link", name="base/v1").click()
    page.get_by_role("button", name="Restore v1").click()
    expect(page.locator("#notice")).to_contain_text("base v1 is restored")
    expect(page.locator("#version-status")).to_contain_text("Active")
    page.goto(f"{url}/#bucket=child&version=v1")
    expect(page.locator("#version-status")).to_contain_text("Active")


def test_channels_serving_a_revoked_version_top_the_page(page, registry):
    """Issue 10, item 12: the bucket list's banner and the compliance view name channels whose
    consumers get a 409 (then the version is restored, so the chain is as it was)."""
    from playwright.sync_api import expect
    import urllib.request

    url, _ = registry

    def call(method: str, path: str, payload: Any = None) -> None:
        request = urllib.request.Request(f"{url}{path}", method=method, data=json.dumps(payload or {}).encode(),
                                         headers={"Authorization": f"Bearer {TOKEN}",
                                                  "Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=20).read()

    call("POST", "/buckets/web-server/channels", {"name": "edge", "version": "v1"})
    call("POST", "/buckets/web-server/versions/v1/revoke", {"reason": "leaked key", "disable_rollback_channels": True})
    try:
        page.goto(f"{url}/#token={TOKEN}")
        expect(page.locator("#serving-revoked-summary li")).to_have_text(
            ["web-server / edge → v1 — revoked: leaked key"])
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Compliance").click()
        expect(page.locator("#serving-revoked-table tbody tr")).to_have_count(1)
        shot(page, "compliance-serving-revoked")
    finally:
        call("POST", "/buckets/web-server/versions/v1/restore")
        call("DELETE", "/buckets/web-server/channels/edge")


def test_an_abandoned_draft_is_listed_then_deleted_through_the_page(page, registry):
    """Issue 21, item 3: a version Packer started through the HCP API and left (its build
    failed) is listed as abandoned on the compliance view; its page offers the deletion, and
    the bucket no longer shows it (the bucket is deleted afterwards: the others are as they were)."""
    from playwright.sync_api import expect
    import time
    import urllib.request

    url, _ = registry

    def call(method: str, path: str, payload: Any = None) -> Any:
        request = urllib.request.Request(f"{url}{path}", method=method,
                                         data=None if payload is None else json.dumps(payload).encode(),
                                         headers={"Authorization": f"Bearer {TOKEN}",
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=20) as response:
            return json.loads(response.read() or b"null")

    organization = call("GET", "/resource-manager/2019-12-10/organizations")["organizations"][0]["id"]
    project = call("GET", "/resource-manager/2019-12-10/projects")["projects"][0]["id"]
    versions = f"/packer/2023-01-01/organizations/{organization}/projects/{project}/buckets/drafts/versions"
    call("POST", "/buckets", {"name": "drafts"})
    try:
        call("POST", versions, {"fingerprint": "fp-crashed-runner"})
        build = call("POST", f"{versions}/fp-crashed-runner/builds", {"component_type": "null.app"})["build"]
        call("PATCH", f"{versions}/fp-crashed-runner/builds/{build['id']}", {"status": "BUILD_FAILED"})
        deadline = time.monotonic() + 10 * ABANDONED_AFTER  # no build activity for DRAFT_ABANDONED_AFTER
        while not call("GET", "/compliance/report")["abandoned_drafts"] and time.monotonic() < deadline:
            time.sleep(0.2)

        page.goto(f"{url}/#token={TOKEN}&view=compliance")
        drafts = page.locator("#abandoned-table tbody tr")
        expect(drafts).to_have_count(1)
        expect(drafts.first).to_contain_text("drafts v0")
        expect(drafts.first).to_contain_text("0 of 1")
        expect(page.locator(".counts .fact").filter(has_text="Abandoned drafts").locator("dd")).to_have_text("1")
        shot(page, "compliance-abandoned-draft")
        drafts.first.get_by_role("link", name="drafts v0").click()
        expect(page.get_by_role("heading", name="drafts v0", level=1)).to_be_visible()
        expect(page.locator(".callout.warn")).to_contain_text("A draft: its builds have not all completed")
        expect(page.locator("#assign-form")).to_have_count(0)
        expect(page.locator("#revoke-form")).to_have_count(0)
        page.get_by_role("button", name="Delete draft").click()
        expect(page.locator("#notice")).to_contain_text("The draft fp-crashed-runner of drafts is deleted.")
        expect(page.get_by_role("heading", name="drafts", level=1)).to_be_visible()
        assert page.url.endswith("#bucket=drafts")
        expect(page.locator("#versions-table tbody tr")).to_have_count(0)
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Compliance").click()
        expect(page.locator("#abandoned-table tbody tr")).to_have_count(0)
        expect(page.get_by_text("No abandoned draft.")).to_be_visible()
    finally:
        call("DELETE", "/buckets/drafts")
