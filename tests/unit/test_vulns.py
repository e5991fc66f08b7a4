"""Vulnerability rules (chalicelib/domain/vulns.py): what is asked of OSV, how a record is
rated, which version fixes a package, and a bucket's rows and summary."""

from __future__ import annotations

from chalicelib.domain import vulns

V3_HIGH = {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H"}  # 7.2
V4_CRITICAL = {"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}  # 9.3
V2_MEDIUM = {"type": "CVSS_V2", "score": "AV:N/AC:L/Au:N/C:P/I:N/A:N"}  # 5.0


def test_a_purl_is_asked_without_its_qualifiers_and_never_without_a_version():
    assert vulns.asked("pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12#sub") == \
        "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4"
    assert vulns.asked("pkg:npm/%40babel/core@7.0.0") == "pkg:npm/%40babel/core@7.0.0"
    assert vulns.asked("pkg:pypi/jinja2") is None and vulns.asked("pkg:npm/%40babel/core") is None


def test_the_newest_cvss_vector_rates_a_record_then_the_sources_own_word():
    assert vulns.rating({"severity": [V3_HIGH, V4_CRITICAL]}) == "CRITICAL"  # 4.0 before 3.x
    assert vulns.rating({"severity": [V2_MEDIUM, V3_HIGH]}) == "HIGH"  # 3.x before 2.0
    assert vulns.rating({"severity": [V2_MEDIUM]}) == "MEDIUM"
    assert vulns.rating({"affected": [{"severity": [V3_HIGH]}]}) == "HIGH"  # the affected package's
    assert vulns.rating({"severity": [{"type": "CVSS_V3", "score": "not a vector"}],
                         "database_specific": {"severity": "MODERATE"}}) == "MEDIUM"
    assert vulns.rating({"affected": [{"ecosystem_specific": {"severity": "IMPORTANT"}}]}) == "HIGH"
    assert vulns.rating({"severity": [{"type": "Ubuntu", "score": "negligible"}]}) == "LOW"
    assert vulns.rating({"affected": [{"database_specific": {"urgency": "low"}}]}) == "UNKNOWN"
    assert vulns.rating({"severity": [{"type": "CVSS_V3",
                                       "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N"}]}) == "LOW"  # 0.0


def test_the_fix_is_the_smallest_fixed_version_above_the_package_s():
    kept = vulns.record({"id": "X", "affected": [
        {"package": {"name": "urllib3", "purl": "pkg:pypi/urllib3"}, "ranges": [{"events": [
            {"introduced": "0"}, {"fixed": "1.26.17"}]}]},
        {"package": {"name": "urllib3", "purl": "pkg:pypi/urllib3"}, "ranges": [{"events": [
            {"introduced": "2.0.0"}, {"fixed": "2.0.6"}]}]},
        {"package": {"name": "requests", "purl": "pkg:pypi/requests"}, "ranges": [{"events": [{"fixed": "9.0"}]}]}]})
    assert vulns.fixed_version(kept, "pkg:pypi/urllib3@1.26.5", "1.26.5") == "1.26.17"
    assert vulns.fixed_version(kept, "pkg:pypi/urllib3@2.0.2?x=1", "2.0.2") == "2.0.6"
    assert vulns.fixed_version(kept, "pkg:pypi/urllib3@3.0", "3.0") == "2.0.6"  # none above: the highest
    assert vulns.fixed_version(kept, "pkg:pypi/idna@1.0", "1.0") is None
    by_name = vulns.record({"id": "Y", "affected": [{"package": {"name": "@babel/core", "ecosystem": "npm"},
                                                     "ranges": [{"events": [{"fixed": "7.23.2"}]}]}]})
    assert vulns.fixed_version(by_name, "pkg:npm/%40babel/core@7.0.0", "7.0.0") == "7.23.2"
    assert vulns.version_key("1.26.9") < vulns.version_key("1.26.17") < vulns.version_key("2.0.6")


def test_a_bucket_s_rows_and_summary_count_each_vulnerability_once():
    def package(name: str, fingerprint: str, build: str, *found: tuple[str, str, str]) -> dict:
        return {"bucket": "web", "fingerprint": fingerprint, "build_id": build, "component_type": "amazon-ebs.app",
                "name": name, "version": "1", "purl": f"pkg:pypi/{name}@1",
                "vulns": [{"id": i, "rating": r, "first_seen_at": seen, "fixed_version": "2"} for i, r, seen in found]}

    rows, summary = vulns.aggregate([
        package("a", "fp1", "b1", ("V-1", "HIGH", "2026-01-02T00:00:00.000000Z"), ("V-2", "LOW", "2026-01-01T00:00:00.000000Z")),
        package("a", "fp2", "b2", ("V-1", "HIGH", "2026-01-01T00:00:00.000000Z")),
    ])
    assert [r["id"] for r in rows] == ["V-1", "V-2"]
    assert rows[0]["first_seen_at"] == "2026-01-01T00:00:00.000000Z" and rows[0]["fixed_version"] == "2"
    assert [b["id"] for b in rows[0]["builds"]] == ["b1", "b2"] and len(rows[0]["packages"]) == 1
    assert {r: t["count"] for r, t in summary["totals"].items()} == {"HIGH": 1, "LOW": 1}
    assert summary["versions"] == {"fp1": {"HIGH": 1, "LOW": 1}, "fp2": {"HIGH": 1}}
    assert vulns.average_age_days(summary["totals"]["HIGH"], "2026-01-11T00:00:00.000000Z") == 10.0
