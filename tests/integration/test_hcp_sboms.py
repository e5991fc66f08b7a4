"""SBOMs and packages through the HCP door (issue 23, item 1): UploadSbom as HCP Packer takes it
(HCP-API-COMPAT.md §8: only while the build runs, none without packages, a ULID name when
unnamed), ListSboms, GetSbom (a URL of the decompressed JSON), ListBuildPackages and
ListBucketPackages from the packages read at upload, what each costs, and what goes when a
version, draft or bucket does. The SBOMs are real ones made by syft (tests/fixtures/sboms/)."""

from __future__ import annotations

import json
import re

import pytest
import requests

from chalicelib.runtime import aws
from chalicelib.services import sboms
from chalicelib.storage import keys, table
from support import MANIFEST_BUCKET, Hcp, compressed_sbom, count_calls, mint, race, sbom_document

RUN = "8a7f2d3c-1111-4222-8333-944455556666"
ULID = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")
NOT_RUNNING = "This build's status isn't Running, so sboms can not be uploaded"
ROOTFS = compressed_sbom(sbom_document("rootfs.cdx-1.5.json"))  # 11 packages and debian 12
APP = compressed_sbom(sbom_document("app.cdx-1.5.json"))  # 3 of them: jinja2, requests, urllib3
PYPI = ["jinja2", "requests", "urllib3"]
ROOTFS_NAMES = sorted(["ca-certificates", "debian", "libc6", "libssl3", "lodash", "minimist", "openssl", "web",
                       "zlib1g", *PYPI])


@pytest.fixture
def api(registry) -> Hcp:
    return Hcp(registry)


class Build:
    """A build of a draft, as `packer build` leaves it while it runs, and its SBOM routes."""

    def __init__(self, api: Hcp, bucket: str, fingerprint: str, component: str = "amazon-ebs.app") -> None:
        self.api, self.bucket, self.fingerprint = api, bucket, fingerprint
        if api.call("GET", f"buckets/{bucket}")[0] == 404:
            api.ok("PUT", "buckets", {"name": bucket})
        if api.call("GET", f"buckets/{bucket}/versions/{fingerprint}")[0] != 200:
            api.ok("POST", f"buckets/{bucket}/versions", {"fingerprint": fingerprint, "template_type": "HCL2"})
        self.id = api.ok("POST", f"buckets/{bucket}/versions/{fingerprint}/builds",
                         {"component_type": component, "packer_run_uuid": RUN, "status": "BUILD_UNSET"})["build"]["id"]
        self.path = f"buckets/{bucket}/versions/{fingerprint}/builds/{self.id}"

    def status(self, status: str, **fields) -> dict:
        return self.api.ok("PATCH", self.path, {"packer_run_uuid": RUN, "status": status, **fields})["build"]

    def running(self) -> Build:
        self.status("BUILD_RUNNING")
        return self

    def done(self, ami: str = "ami-0123456789abcdef0") -> dict:
        return self.status("BUILD_DONE", platform="aws", artifacts=[{"external_identifier": ami, "region": "us-east-1"}])

    def upload(self, compressed: str = ROOTFS, sbom_format: str = "CYCLONEDX", name: str | None = "os") -> dict:
        return self.api.ok("PUT", f"{self.path}/sboms", {"compressed_sbom": compressed, "format": sbom_format,
                                                         **({"name": name} if name else {})})

    def refused(self, compressed: str = ROOTFS, sbom_format: str = "CYCLONEDX", name: str = "os") -> str:
        return self.api.fails("PUT", f"{self.path}/sboms", {"compressed_sbom": compressed, "format": sbom_format,
                                                            "name": name}, status=400, code=3)["message"]

    def sboms(self) -> list[dict]:
        return self.api.ok("GET", f"{self.path}/sboms")["sboms"]

    def packages(self, query: str = "") -> dict:
        return self.api.ok("GET", f"{self.path}/packages{query}")


def bucket_packages(api: Hcp, bucket: str, query: str = "") -> dict:
    return api.ok("GET", f"buckets/{bucket}/packages{query}")


def every_page(get, size: int) -> list[list[dict]]:
    """Every page of a package list, `size` a page."""
    pages, token = [], ""
    while True:
        answer = get(f"?pagination.page_size={size}" + (f"&pagination.next_page_token={token}" if token else ""))
        pages.append(answer["packages"])
        token = answer["pagination"].get("next_page_token")
        if not token:
            return pages


def stored_objects(bucket: str) -> list[str]:
    listed = aws.client("s3").list_objects_v2(Bucket=MANIFEST_BUCKET, Prefix=f"_registry/sboms/{bucket}/")
    return sorted(o["Key"] for o in listed.get("Contents", []))


def package_items(bucket: str) -> list[dict]:
    return list(table.query_all(keys.bucket_pk(bucket), prefix=keys.PACKAGES))


# ---- UploadSbom as HCP Packer takes it --------------------------------------------------------

def test_an_sbom_of_a_running_build_is_stored_and_its_packages_listed(api, registry):
    build = Build(api, "web", "fp-1").running()

    assert build.upload(name=None) == {}

    (sbom,) = build.sboms()
    assert ULID.match(sbom["id"]) and ULID.match(sbom["name"]) and sbom["format"] == "CYCLONEDX", sbom
    listed = build.packages()
    assert [p["name"] for p in listed["packages"]] == ROOTFS_NAMES and listed["pagination"] == {}
    openssl = next(p for p in listed["packages"] if p["name"] == "openssl")
    assert openssl == {"name": "openssl", "version": "3.0.11-1~deb12u2", "sboms": [sbom],
                       "purl": "pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12"}
    assert next(p for p in listed["packages"] if p["name"] == "debian") == {"name": "debian", "version": "12",
                                                                           "sboms": [sbom]}  # no purl: left out
    assert bucket_packages(api, "web")["packages"] == listed["packages"]
    assert len(stored_objects("web")) == 2  # the original as sent and the decompressed JSON

    viewer = api.as_token(mint(registry, "viewer"))  # reads are a viewer's too
    assert viewer.ok("GET", f"{build.path}/sboms")["sboms"] == [sbom]
    assert viewer.ok("GET", f"{build.path}/packages")["packages"] == listed["packages"]
    viewer.fails("PUT", f"{build.path}/sboms", {"compressed_sbom": ROOTFS, "format": "CYCLONEDX"}, status=403, code=7)


@pytest.mark.parametrize("fixture, sbom_format, count", [
    ("rootfs.spdx-2.2.json", "SPDX", 11), ("rootfs.spdx-2.3.json", "SPDX", 11),
    ("rootfs.cdx-1.4.json", "CYCLONEDX", 12), ("rootfs.cdx-1.6.json", "CYCLONEDX", 12)])
def test_each_format_and_version_is_read(api, fixture, sbom_format, count):
    build = Build(api, "web", "fp-formats").running()
    build.upload(compressed_sbom(sbom_document(fixture)), sbom_format, "os")
    names = [p["name"] for p in build.packages()["packages"]]
    assert len(names) == count and "openssl" in names and "test-image" not in names  # SPDX's root: the scan
    assert build.sboms()[0]["format"] == sbom_format


def test_an_sbom_is_refused_unless_its_build_is_running_before_any_rule_of_a_complete_version(api):
    build = Build(api, "web", "fp-2")
    assert build.refused() == NOT_RUNNING  # BUILD_UNSET
    build.running()
    build.status("BUILD_FAILED")
    assert build.refused() == NOT_RUNNING
    build.running().done()
    assert api.ok("GET", "buckets/web/versions/fp-2")["version"]["name"] == "v1"
    assert build.refused() == NOT_RUNNING  # a complete version's build: the same 400, not code 9
    assert build.refused("not base64!") == "compressed_sbom is not base64"  # what the request is comes first
    assert build.sboms() == [] and package_items("web") == [] and stored_objects("web") == []


@pytest.mark.parametrize("document, words", [
    (b'{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": []}', "lists no packages"),
    (b'{"bomFormat": "CycloneDX", "specVersion": "1.5"}', "lists no packages"),
    (b"<?xml version='1.0'?><bom/>", "the SBOM is not JSON"),
    (sbom_document("rootfs.spdx-2.3.json"), "format is CYCLONEDX but the document is SPDX (SPDX-2.3)"),
    (b'{"bomFormat": "CycloneDX", "specVersion": "1.3", "components": [{"name": "a"}]}', "specVersion '1.3'"),
    (json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [
        {"type": "library", "name": "p", "version": "v" * 300}]}).encode(), "its version is 300 bytes; the limit is 256"),
])
def test_a_refused_sbom_says_why_and_changes_nothing_stored(api, document, words):
    """A document that cannot be read is refused (400 code 3) naming what is wrong and the
    limit, before anything is stored: the SBOM the build had under that name stays whole."""
    build = Build(api, "web", "fp-3").running()
    build.upload(APP, name="os")
    before = (build.sboms(), build.packages(), stored_objects("web"), package_items("web"))

    assert words in build.refused(compressed_sbom(document))

    assert (build.sboms(), build.packages(), stored_objects("web"), package_items("web")) == before


def test_the_size_limits_are_named(api, monkeypatch):
    build = Build(api, "web", "fp-4").running()
    assert build.refused("AAAA").startswith("compressed_sbom is not zstd-compressed data")
    with monkeypatch.context() as patched:
        patched.setattr(sboms, "MAX_COMPRESSED_BYTES", 100)
        message = build.refused(ROOTFS)
    assert message.startswith("the SBOM is 1,") and "compressed; the limit is 100 " in message, message
    bomb = compressed_sbom(b" " * (33 * 1024 * 1024))  # 33 MiB of spaces, a few kB compressed
    assert "larger than 32 MiB decompressed; the limit is 33,554,432 bytes" in build.refused(bomb)
    many = {"bomFormat": "CycloneDX", "specVersion": "1.6",
            "components": [{"type": "library", "name": f"p{n}", "version": "1"} for n in range(10_001)]}
    too_many = build.refused(compressed_sbom(json.dumps(many).encode()))
    assert "lists 10,001 packages; the limit is 10,000 per SBOM" in too_many


def test_an_sbom_uploaded_again_under_its_name_replaces_it(api):
    """A re-run of a failed build sends its SBOM again under the same name: the new one replaces
    the old, objects and packages (only what the new one lists remains)."""
    build = Build(api, "web", "fp-5").running()
    build.upload(ROOTFS, name="os")
    first = build.sboms()[0]["id"]
    build.status("BUILD_FAILED")
    build.running()

    build.upload(APP, name="os")

    (sbom,) = build.sboms()
    assert sbom["name"] == "os" and sbom["id"] != first
    assert [(p["name"], p["sboms"]) for p in build.packages()["packages"]] == [(n, [sbom]) for n in PYPI]
    assert len(package_items("web")) == 3
    assert [k.rsplit("/", 1)[1] for k in stored_objects("web")] == [
        f"os.{sbom['id']}.cyclonedx.json", f"os.{sbom['id']}.cyclonedx.json.zst"]


def test_get_sbom_answers_a_url_of_the_decompressed_json(api):
    build = Build(api, "web", "fp-6").running()
    build.upload(compressed_sbom(sbom_document("rootfs.spdx-2.3.json")), "SPDX", "os-spdx")

    answer = api.ok("GET", f"{build.path}/sboms/os-spdx")

    assert list(answer) == ["download_url"]
    download = requests.get(answer["download_url"], timeout=10)
    assert download.status_code == 200 and download.content == sbom_document("rootfs.spdx-2.3.json")
    assert download.headers["Content-Type"] == "application/json"
    assert download.headers["Content-Disposition"] == 'attachment; filename="os-spdx.json"'
    assert "does not exist" in api.fails("GET", f"{build.path}/sboms/nope", status=404, code=5)["message"]


def test_what_is_missing_is_a_404(api):
    build = Build(api, "web", "fp-7").running()
    for path in (f"buckets/web/versions/fp-7/builds/{'0' * 26}", "buckets/web/versions/nope/builds/x",
                 f"buckets/web/versions/fp-7/builds/{'x' * 1200}"):
        for route in ("sboms", "packages", "sboms/os"):
            api.fails("GET", f"{path}/{route}", status=404, code=5)
        api.fails("PUT", f"{path}/sboms", {"compressed_sbom": ROOTFS, "format": "CYCLONEDX"}, status=404, code=5)
    for route in ("packages", f"versions/fp-7/builds/{build.id}/packages"):
        answer = api.fails("GET", f"buckets/nope/{route}", status=404, code=5)
        assert answer["message"] == "The bucket with identifier nope does not exist."
    assert bucket_packages(api, "web") == {"packages": [], "pagination": {}}  # a bucket without packages


# ---- the package lists ----------------------------------------------------------------------

def test_a_package_two_sboms_list_is_one_row_with_both_and_filters_narrow_the_lists(api):
    build = Build(api, "web", "fp-8").running()
    build.upload(ROOTFS, name="os")
    build.upload(APP, name="app")
    os_sbom, app_sbom = sorted(build.sboms(), key=lambda s: s["name"] != "os")

    rows = build.packages()["packages"]

    assert [p["name"] for p in rows] == ROOTFS_NAMES
    assert {p["name"]: len(p["sboms"]) for p in rows if len(p["sboms"]) > 1} == dict.fromkeys(PYPI, 2)
    assert next(p for p in rows if p["name"] == "jinja2")["sboms"] == sorted([os_sbom, app_sbom], key=lambda s: s["id"])
    assert [p["name"] for p in build.packages("?package_name=requests")["packages"]] == ["requests"]
    assert build.packages("?package_name=request")["packages"] == []  # exact
    assert [p["name"] for p in build.packages("?package_name_starts_with=lib")["packages"]] == ["libc6", "libssl3"]
    assert [p["name"] for p in build.packages("?package_version=3.0.11-1~deb12u2")["packages"]] == [
        "libssl3", "openssl"]
    assert build.packages("?package_name=openssl&package_version=3.0.11")["packages"] == []
    filtered = every_page(lambda q: build.packages(f"{q}&package_version=3.0.11-1~deb12u2"), 2)
    assert [p["name"] for page in filtered for p in page] == ["libssl3", "openssl"] and [] in filtered  # short pages

    other = Build(api, "web", "fp-9").running()  # the bucket's list: every build's packages
    other.upload(APP, name="app")
    listed = bucket_packages(api, "web", "?package_name_starts_with=j")["packages"]
    assert [(p["name"], len(p["sboms"])) for p in listed] == [("jinja2", 3)]


@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_pages_never_split_a_package_that_fits_one(api, size):
    """A package that two SBOMs list is one row: a page ends before it rather than split it
    (unless it alone fills the page, as with a page of one)."""
    build = Build(api, "web", "fp-10").running()
    build.upload(ROOTFS, name="os")
    build.upload(APP, name="app")
    whole = build.packages()["packages"]

    for pages in (every_page(build.packages, size), every_page(lambda q: bucket_packages(api, "web", q), size)):
        assert all(len(page) <= size for page in pages)
        rows = [row for page in pages for row in page]
        if size >= 2:
            assert rows == whole
        else:  # a page of one item: the two SBOMs of jinja2 and the others come on pages of their own
            assert [r["name"] for r in rows] == [n for n in ROOTFS_NAMES for _ in range(2 if n in PYPI else 1)]


def test_each_list_is_one_query_a_page_and_the_upload_costs_what_it_says(api, registry):
    build = Build(api, "web", "fp-11").running()
    calls = count_calls(aws.client("dynamodb"))
    build.upload(ROOTFS, name="os")  # 12 packages
    # the build's read, the packages, its purls queued for the sweep's OSV check, the naming
    assert calls == ["GetItem", "Query", "BatchWriteItem", "BatchWriteItem", "TransactWriteItems"], calls
    for read in (build.packages, lambda: bucket_packages(api, "web"),
                 lambda: build.packages("?package_name=openssl&pagination.page_size=1")):
        calls.clear()
        read()
        assert calls == ["Query"], calls
    calls.clear()
    build.sboms()
    assert calls == ["GetItem", "Query"], calls


# ---- deletion --------------------------------------------------------------------------------

def test_a_deleted_version_or_bucket_takes_its_sboms_with_it(api, registry):
    kept = Build(api, "web", "fp-12").running()
    kept.upload(APP, name="app")
    gone = Build(api, "web", "fp-13").running()
    gone.upload(ROOTFS, name="os")
    gone.done()
    assert len(package_items("web")) == 15 and len(stored_objects("web")) == 4

    api.ok("DELETE", "buckets/web/versions/fp-13")

    assert [p["name"] for p in bucket_packages(api, "web")["packages"]] == PYPI
    assert len(package_items("web")) == 3 and len(stored_objects("web")) == 2

    registry.send("delete", "/buckets/web")

    assert package_items("web") == [] and stored_objects("web") == []


# ---- races (a moto server) --------------------------------------------------------------------

TRIALS = 8


def test_two_sboms_uploaded_at_once_are_both_named(moto_server):
    """Two SBOMs of one build uploaded at once (each names itself on the build in a transaction
    conditioned on the SBOMs read): both are named, both packages listed, every time."""
    from chalicelib.domain.enums import BuildStatus, TemplateType
    from chalicelib.domain.builds import BuildChange
    from chalicelib.domain.models import CreateBucket
    from chalicelib.services import buckets, publishing

    buckets.create(CreateBucket(name="web"), "test")
    for trial in range(TRIALS):
        fingerprint = f"fp-race-{trial}"
        publishing.create_version("web", fingerprint, TemplateType.HCL2, "test")
        _, build = publishing.create_build("web", fingerprint, BuildChange(
            component_type="amazon-ebs.app", packer_run_uuid=RUN, status=BuildStatus.RUNNING), "test")

        assert race(lambda: sboms.upload("web", fingerprint, build.id, "os", "CYCLONEDX", ROOTFS, "a"),
                    lambda: sboms.upload("web", fingerprint, build.id, "app", "CYCLONEDX", APP, "b")) == []

        assert sorted(s["name"] for s in sboms.list_sboms("web", fingerprint, build.id)) == ["app", "os"], trial
        found, _ = sboms.build_packages("web", fingerprint, build.id, None, 100)
        assert len(found) == 15, trial
