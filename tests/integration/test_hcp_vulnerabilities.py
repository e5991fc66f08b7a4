"""Vulnerabilities through the HCP door (issue 23, item 1): the sweep (its schedule event)
checks the packages' purls against a fake OSV on loopback (tests/fake_osv.py, answering the
records of tests/fixtures/osv/), and ListBucketVulnerabilities,
ListBucketPackagesWithVulnerabilities and ListBucketPackagesVulnerabilitySummary answer what
it found: ratings from the CVSS vectors, the fixed versions, the builds, packages and channels.
What each read costs, what the step costs and that it costs nothing when nothing is due, that
it is bounded and resumable, that it rechecks after VULN_RECHECK, OSV's pages, an OSV outage,
VULN_SOURCE=off, and a version deleted while its packages are checked."""

from __future__ import annotations

import pytest

from chalicelib.runtime import aws
from chalicelib.services import vulns
from chalicelib.storage import table
from fake_osv import FakeOsv
from support import Hcp, compressed_sbom, count_calls, mint, sbom_document, sweep

ROOTFS = compressed_sbom(sbom_document("rootfs.cdx-1.5.json"))  # 11 packages, 5 of them vulnerable
APP = compressed_sbom(sbom_document("app.cdx-1.5.json"))  # jinja2, requests, urllib3
RUN = "8a7f2d3c-1111-4222-8333-944455556666"

IDS = ["DEBIAN-CVE-2023-5678", "GHSA-34jh-p97f-mpxf", "GHSA-35jh-r3h4-6jhm", "GHSA-h5c8-rqwp-cp95",
       "GHSA-v845-jxx5-vc9f", "GHSA-xvch-5gv4-984h"]
# What each is rated (the newest CVSS vector's base score; Debian's record has none) and the
# version that fixes it for the SBOM's package.
EXPECTED = {
    "DEBIAN-CVE-2023-5678": ("Unknown", None, "3.0.13-1~deb12u1", "openssl"),
    "GHSA-34jh-p97f-mpxf": ("Medium", "MEDIUM", "1.26.19", "urllib3"),  # CVSS 4.0 5.9 (its 3.1 vector: 4.4)
    "GHSA-35jh-r3h4-6jhm": ("High", "HIGH", "4.17.21", "lodash"),  # 7.2
    "GHSA-h5c8-rqwp-cp95": ("Medium", "MEDIUM", "3.1.3", "jinja2"),  # 5.4
    "GHSA-v845-jxx5-vc9f": ("High", "HIGH", "1.26.17", "urllib3"),  # 7.4; 2.0.6 fixes the 2.x line
    "GHSA-xvch-5gv4-984h": ("Critical", "CRITICAL", "1.2.6", "minimist"),  # 9.8; 0.2.4 fixes the 0.x line
}
VULNERABLE = ["jinja2", "lodash", "minimist", "openssl", "urllib3"]


@pytest.fixture
def osv(monkeypatch):
    with FakeOsv() as fake:
        monkeypatch.setenv("OSV_API_URL", fake.url)
        yield fake


@pytest.fixture
def api(registry) -> Hcp:
    return Hcp(registry)


def published(api: Hcp, bucket: str = "web", fingerprint: str = "fp-vuln-1", sbom: str = ROOTFS) -> str:
    """A version whose one build uploaded `sbom` while it ran, then completed (on `latest`):
    the build's id."""
    if api.call("GET", f"buckets/{bucket}")[0] == 404:
        api.ok("PUT", "buckets", {"name": bucket})
    api.ok("POST", f"buckets/{bucket}/versions", {"fingerprint": fingerprint, "template_type": "HCL2"})
    path = f"buckets/{bucket}/versions/{fingerprint}/builds"
    build = api.ok("POST", path, {"component_type": "amazon-ebs.app", "packer_run_uuid": RUN,
                                  "status": "BUILD_RUNNING"})["build"]["id"]
    api.ok("PUT", f"{path}/{build}/sboms", {"compressed_sbom": sbom, "format": "CYCLONEDX", "name": "os"})
    api.ok("PATCH", f"{path}/{build}", {"packer_run_uuid": RUN, "status": "BUILD_DONE", "platform": "aws", "artifacts": [
        {"external_identifier": f"ami-{abs(hash(fingerprint)) % 10**17:017d}", "region": "us-east-1"}]})
    return build


def ids_listed(api: Hcp, bucket: str = "web", query: str = "") -> list[str]:
    return [v["vulnerability"]["identifier"] for v in api.ok("GET", f"buckets/{bucket}/vulnerabilities{query}")[
        "vulnerabilities"]]


def test_the_sweep_finds_the_packages_vulnerabilities_and_the_three_lists_answer_them(api, registry, osv):
    build = published(api)
    assert ids_listed(api) == []  # nothing checked yet
    sweep(registry)
    answer = api.ok("GET", "buckets/web/vulnerabilities")
    assert [v["vulnerability"]["identifier"] for v in answer["vulnerabilities"]] == IDS  # the 404 one is left out
    for row in answer["vulnerabilities"]:
        found = row["vulnerability"]
        criticality, severity, fixed, package = EXPECTED[found["identifier"]]
        assert (found["criticality"], found.get("severity"), found["fixed_version"]) == (criticality, severity, fixed)
        assert found["first_seen_at"] and found["published_at"] and found["description"]
        assert row["impacted_builds"] == [{"id": build, "name": "amazon-ebs.app"}]
        assert [p["name"] for p in row["impacted_packages"]] == [package]
        assert [c["name"] for c in row["impacted_channels"]] == ["latest"]
    assert answer["vulnerabilities"][3]["vulnerability"]["refers_to"] == "CVE-2024-22195"

    packages = api.ok("GET", "buckets/web/packages/with-vulnerabilities")["packages"]
    assert [p["name"] for p in packages] == VULNERABLE
    urllib3 = packages[-1]
    assert (urllib3["build_id"], urllib3["build_name"], urllib3["channel_name"]) == (build, "amazon-ebs.app",
                                                                                      "latest")
    assert urllib3["purl"] == "pkg:pypi/urllib3@1.26.5" and [s["name"] for s in urllib3["sboms"]] == ["os"]
    details = urllib3["vuln_details"][0]
    assert details["last_scanned_at"]
    assert [(v["identifier"], v["fixed_version"]) for v in details["vulnerabilities"]] == [
        ("GHSA-v845-jxx5-vc9f", "1.26.17"), ("GHSA-34jh-p97f-mpxf", "1.26.19")]  # most severe first

    summary = api.ok("GET", "buckets/web/packages/vulnerability-summary")
    assert [(t["criticality"], t["vulnerability_count"]) for t in summary["total_by_criticality"]] == [
        ("Critical", "1"), ("High", "2"), ("Medium", "2"), ("Unknown", "1")]
    assert all(t["first_seen_at"] and t["average_age_days_for_criticality"] >= 0
               for t in summary["total_by_criticality"])
    assert [(p["package_name"], p["criticality"], p["vulnerability_count"])
            for p in summary["packages_by_criticality"]][:3] == [
        ("minimist", "Critical", "1"), ("lodash", "High", "1"), ("urllib3", "High", "1")]
    assert [(c["channel_name"], c["criticality"], c["vulnerability_count"])
            for c in summary["channels_by_criticality"]] == [
        ("latest", "Critical", "1"), ("latest", "High", "2"), ("latest", "Medium", "2"), ("latest", "Unknown", "1")]
    channel_id = api.ok("GET", "buckets/web/channels/latest")["channel"]["id"]
    assert {c["channel_id"] for c in summary["channels_by_criticality"]} == {channel_id}

    # One querybatch for the SBOM's 11 purls, one GET per record (the 404 included).
    assert len(osv.asked("POST", "/v1/querybatch")) == 1
    asked = [q["package"]["purl"] for q in osv.asked("POST")[0]["body"]["queries"]]
    assert "pkg:deb/debian/openssl@3.0.11-1~deb12u2" in asked and len(asked) == 11  # qualifiers left out
    assert sorted(r["path"] for r in osv.asked("GET")) == sorted(f"/v1/vulns/{i}" for i in [*IDS, "GHSA-0000-gone-0000"])


def test_the_lists_filter_and_answer_for_what_they_are_asked(api, registry, osv):
    published(api)
    sweep(registry)
    assert ids_listed(api, query="?criticality=CRITICAL&criticality=High") == [
        "GHSA-35jh-r3h4-6jhm", "GHSA-v845-jxx5-vc9f", "GHSA-xvch-5gv4-984h"]
    assert ids_listed(api, query="?identifier_starts_with=GHSA-3") == ["GHSA-34jh-p97f-mpxf", "GHSA-35jh-r3h4-6jhm"]
    assert ids_listed(api, query="?identifier=GHSA-xvch-5gv4-984h") == ["GHSA-xvch-5gv4-984h"]
    packages = api.ok("GET", "buckets/web/packages/with-vulnerabilities?criticality=medium")["packages"]
    assert [(p["name"], [v["identifier"] for v in p["vuln_details"][0]["vulnerabilities"]]) for p in packages] == [
        ("jinja2", ["GHSA-h5c8-rqwp-cp95"]), ("urllib3", ["GHSA-34jh-p97f-mpxf"])]
    named = api.ok("GET", "buckets/web/packages/with-vulnerabilities?package_name=minimist")["packages"]
    assert [p["name"] for p in named] == ["minimist"]
    pages = [api.ok("GET", "buckets/web/vulnerabilities?pagination.page_size=4")]
    pages.append(api.ok("GET", "buckets/web/vulnerabilities?pagination.page_size=4&pagination.next_page_token="
                        + pages[0]["pagination"]["next_page_token"]))
    assert [v["vulnerability"]["identifier"] for p in pages for v in p["vulnerabilities"]] == IDS
    answer = api.fails("GET", "buckets/web/vulnerabilities?criticality=SEVERE", status=400, code=3)
    assert "criticality must be among Critical, High, Medium, Low, Unknown" in answer["message"]
    for path in ("vulnerabilities", "packages/with-vulnerabilities", "packages/vulnerability-summary"):
        missing = api.fails("GET", f"buckets/nowhere/{path}", status=404, code=5)
        assert missing["message"] == "The bucket with identifier nowhere does not exist."
    api.ok("PUT", "buckets", {"name": "empty"})  # a bucket without vulnerabilities: empty answers
    assert api.ok("GET", "buckets/empty/packages/vulnerability-summary") == {
        "total_by_criticality": [], "packages_by_criticality": [], "channels_by_criticality": []}


def test_a_viewer_sees_no_restricted_channel(api, registry, osv):
    published(api)
    api.ok("POST", "buckets/web/channels", {"name": "production", "version_fingerprint": "fp-vuln-1",
                                             "restricted": False})
    api.ok("PATCH", "buckets/web/channels/latest", {"restricted": True, "update_mask": "restricted"})
    sweep(registry)
    viewer = api.as_token(mint(registry, "viewer"))
    for who, channels in ((api, ["latest", "production"]), (viewer, ["production"])):
        rows = who.ok("GET", "buckets/web/vulnerabilities")["vulnerabilities"]
        assert {tuple(c["name"] for c in r["impacted_channels"]) for r in rows} == {tuple(channels)}
        packages = who.ok("GET", "buckets/web/packages/with-vulnerabilities")["packages"]
        assert [p["channel_name"] for p in packages if p["name"] == "lodash"] == channels  # a row per channel
        summary = who.ok("GET", "buckets/web/packages/vulnerability-summary")["channels_by_criticality"]
        assert sorted({c["channel_name"] for c in summary}) == channels


def test_each_list_is_one_query_a_page_and_the_channels_query(api, registry, osv):
    published(api)
    sweep(registry)
    calls = count_calls(aws.client("dynamodb"))
    for path in ("vulnerabilities", "packages/with-vulnerabilities"):
        calls.clear()
        api.ok("GET", f"buckets/web/{path}")
        assert calls == ["Query", "Query"], path  # the page, and the bucket's channels
    calls.clear()
    api.ok("GET", "buckets/web/packages/vulnerability-summary")
    assert calls == ["GetItem", "Query"]  # the summary, and the bucket's channels


def test_the_step_costs_nothing_when_nothing_is_due_and_rechecks_after_vuln_recheck(api, registry, osv,
                                                                                     moved_clock, monkeypatch):
    published(api)
    sweep(registry)
    moved_clock.advance(minutes=2)  # the note settled: an empty read of the queue marks it idle
    sweep(registry)
    calls = count_calls(aws.client("dynamodb"))
    sweep(registry)
    with_step = list(calls)
    monkeypatch.setenv("VULN_SOURCE", "off")
    calls.clear()
    sweep(registry)
    assert with_step == calls  # the step made no call at all
    monkeypatch.delenv("VULN_SOURCE")
    assert len(osv.asked("POST")) == 1

    monkeypatch.setenv("VULN_RECHECK", "12h")
    moved_clock.advance(hours=12, minutes=1)
    gets = len(osv.asked("GET"))
    sweep(registry)
    assert len(osv.asked("POST")) == 2  # rechecked: asked again
    assert len(osv.asked("GET")) == gets  # records not modified since are not read again (nor the 404)
    assert ids_listed(api) == IDS


def test_oversized_answers_come_in_osv_pages_and_the_step_resumes_where_it_stopped(api, registry, osv,
                                                                                  monkeypatch):
    osv.page_size = 1  # OSV cuts each query's answer: urllib3's and minimist's come in two pages
    monkeypatch.setattr(vulns, "RECORDS_PER_RUN", 3)
    published(api)
    sweep(registry)
    batches = osv.asked("POST", "/v1/querybatch")
    assert len(batches) == 2 and {q["package"]["purl"] for q in batches[1]["body"]["queries"]} == {
        "pkg:pypi/urllib3@1.26.5", "pkg:npm/minimist@1.2.5"}
    assert all(q.get("page_token") for q in batches[1]["body"]["queries"])
    assert len(osv.asked("GET")) == 3  # the bound
    first = ids_listed(api)
    assert 0 < len(first) < len(IDS)
    for _ in range(3):
        sweep(registry)
    assert ids_listed(api) == IDS
    assert sorted(r["path"] for r in osv.asked("GET")) == sorted(f"/v1/vulns/{i}" for i in [*IDS, "GHSA-0000-gone-0000"])


def test_an_osv_outage_leaves_the_work_queued_and_off_asks_nothing(api, registry, osv, monkeypatch):
    published(api)
    monkeypatch.setenv("VULN_SOURCE", "off")
    sweep(registry)
    assert osv.requests == [] and ids_listed(api) == []
    monkeypatch.delenv("VULN_SOURCE")
    osv.status = 503
    sweep(registry)
    assert ids_listed(api) == []
    osv.status = None
    sweep(registry)
    assert ids_listed(api) == IDS


def test_a_second_build_and_a_deleted_version_change_the_rows(api, registry, osv, moved_clock):
    published(api)
    other = published(api, fingerprint="fp-vuln-2", sbom=APP)  # jinja2, requests, urllib3: checked already
    sweep(registry)
    jinja = next(v for v in api.ok("GET", "buckets/web/vulnerabilities")["vulnerabilities"]
                 if v["vulnerability"]["identifier"] == "GHSA-h5c8-rqwp-cp95")
    assert len(jinja["impacted_builds"]) == 2 and [c["name"] for c in jinja["impacted_channels"]] == ["latest"]
    api.ok("DELETE", "buckets/web/versions/fp-vuln-1")
    moved_clock.advance(minutes=2)  # the changed bucket settles: its index shows the deletion
    sweep(registry)
    rows = api.ok("GET", "buckets/web/vulnerabilities")["vulnerabilities"]
    assert [r["vulnerability"]["identifier"] for r in rows] == [
        "GHSA-34jh-p97f-mpxf", "GHSA-h5c8-rqwp-cp95", "GHSA-v845-jxx5-vc9f"]
    assert {b["id"] for r in rows for b in r["impacted_builds"]} == {other}
    assert [p["name"] for p in api.ok("GET", "buckets/web/packages/with-vulnerabilities")["packages"]] == [
        "jinja2", "urllib3"]


def test_findings_never_bring_back_the_packages_of_a_version_deleted_meanwhile(api, registry, osv, monkeypatch):
    """The version is deleted after the sweep read its packages and before it writes their
    findings (the deletion runs inside the sweep's read): the findings are written on the
    package items, conditioned on them, so none comes back and no row names the version."""
    from chalicelib import storage

    published(api)
    read = storage.vulns.holders

    def deleted_meanwhile(purl: str) -> list:
        found = read(purl)
        if api.call("GET", "buckets/web/versions/fp-vuln-1")[0] == 200:
            api.ok("DELETE", "buckets/web/versions/fp-vuln-1")
        return found

    monkeypatch.setattr(storage.vulns, "holders", deleted_meanwhile)
    sweep(registry)
    assert list(table.query_all("BUCKET#web", prefix="PACKAGE#")) == []
    assert api.ok("GET", "buckets/web/packages/with-vulnerabilities")["packages"] == []
    assert ids_listed(api) == []
