"""The command line's pure parts (`cli/`): tables and cells, argument parsing, the query
parameters a command sends, paging, the stored login and its file mode, the upload's key.
The CLI against a running registry is tests/e2e/test_cli.py."""

from __future__ import annotations

import json
import stat
from datetime import datetime, timezone
from typing import Any

import pytest

from cli import config, output, upload
from cli.client import ApiError, Client, _api_error, query_string, quoted
from cli.config import Login, NotLoggedIn
from cli.main import (
    BUCKET_FILTERS, VERSION_FILTERS, build_parser, describe_check, describe_version, lifecycle_line, list_filters, main,
)


# ---- output -------------------------------------------------------------------------------

def test_a_table_pads_columns_to_their_widest_cell_without_trailing_spaces() -> None:
    rows = [{"name": "base", "n": 12, "latest": None}, {"name": "a-much-longer-name", "n": 3, "latest": "v3"}]
    text = output.table(rows, [("NAME", lambda r: r["name"]), ("N", lambda r: r["n"]), ("LATEST", lambda r: r["latest"])])
    assert text.splitlines() == [
        "NAME                N   LATEST",
        "base                12  -",
        "a-much-longer-name  3   v3",
    ]


def test_an_empty_list_prints_its_header_alone() -> None:
    assert output.table([], [("VERSION", lambda v: v), ("STATUS", lambda v: v)]) == "VERSION  STATUS"


@pytest.mark.parametrize(("value", "shown"), [
    (None, "-"), ("", "-"), ([], "-"), ({}, "-"), (True, "yes"), (False, "no"), (0, "0"),
    (["a", None, "b"], "a,-,b"), ({"os": "debian", "arch": "arm64"}, "arch=arm64,os=debian"),
    ("two\nlines\tand  tabs", "two lines and tabs"),
])
def test_cells(value: Any, shown: str) -> None:
    assert output.cell(value) == shown


def test_fields_align_labels_and_leave_out_unset_values() -> None:
    assert output.fields([("Bucket", "base"), ("Reason", None), ("Fingerprint", "f1")]).splitlines() == [
        "Bucket:       base",
        "Fingerprint:  f1",
    ]


@pytest.mark.parametrize(("value", "shown"), [
    ("2026-05-27T10:15:00.123456Z", "2026-05-27 10:15:00Z"),
    ("2026-05-27T10:15:00Z", "2026-05-27 10:15:00Z"),
    ("2026-05-27T10:15:00+00:00", "2026-05-27 10:15:00"),
    (None, None), ("never", "never"),
])
def test_short_times(value: str | None, shown: str | None) -> None:
    assert output.short_time(value) == shown


def test_a_check_says_failed_with_its_counts() -> None:
    verdict = {"passed": False, "counts": {"ok": 1, "out_of_date": 0, "revoked": 2, "unknown": 0}, "results": [
        {"artifact": "ami-1", "verdict": "revoked", "bucket": "base", "version": "v1", "message": "revoked: cve"}]}
    text = describe_check(verdict)
    assert text.splitlines()[1].split() == ["ami-1", "revoked", "base", "v1", "revoked:", "cve"]
    assert text.endswith("FAILED: 1 ok, 2 revoked")
    assert describe_check({"passed": True, "counts": {"ok": 0}, "results": []}).endswith("passed: no image IDs found")


@pytest.mark.parametrize(("version", "line"), [
    ({"bucket": "base", "name": "v2", "status": "revoked", "revocation": {"reason": "CVE-1"}}, "base v2: revoked (CVE-1)"),
    ({"bucket": "base", "name": "v2", "status": "revocation_scheduled",
      "revocation": {"reason": "eol", "revoke_at": "2030-01-01T00:00:00Z"}},
     "base v2: revocation_scheduled for 2030-01-01T00:00:00Z (eol)"),
    ({"bucket": "base", "name": "v2", "status": "active", "revocation": None}, "base v2: active"),
])
def test_lifecycle_lines(version: dict[str, Any], line: str) -> None:
    assert lifecycle_line(version) == line


# ---- arguments ------------------------------------------------------------------------------

def test_json_is_accepted_before_or_after_the_command() -> None:
    parser = build_parser()
    assert parser.parse_args(["--json", "buckets"]).json is True
    assert parser.parse_args(["buckets", "--json"]).json is True
    assert parser.parse_args(["channel", "history", "b", "c", "--json"]).json is True
    assert getattr(parser.parse_args(["buckets"]), "json", False) is False


def test_version_filters_become_the_issues_query_parameters() -> None:
    args = build_parser().parse_args([
        "versions", "base", "--status", "revoked", "--ancestry-status", "out_of_date", "--platform", "aws",
        "--region", "eu-west-1", "--label", "os:debian", "--label", "arch:arm64",
        "--created-after", "2026-01-01T00:00:00Z", "--created-before", "2026-02-01T00:00:00Z", "--channel", "production"])
    assert list_filters(args, VERSION_FILTERS) == {
        "status": "revoked", "ancestry_status": "out_of_date", "platform": "aws", "region": "eu-west-1",
        "labels": "os:debian,arch:arm64", "created_after": "2026-01-01T00:00:00Z",
        "created_before": "2026-02-01T00:00:00Z", "channel": "production"}
    assert list_filters(build_parser().parse_args(["versions", "base"]), VERSION_FILTERS) == {}
    buckets = build_parser().parse_args(["buckets", "--prefix", "team-", "--label", "owner:web"])
    assert list_filters(buckets, BUCKET_FILTERS) == {"prefix": "team-", "labels": "owner:web"}


@pytest.mark.parametrize("argv", [
    ["versions", "base", "--label", "no-colon"],
    ["versions", "base", "--label", ":value"],
    ["buckets", "--limit", "0"],
    ["revoke", "base", "v1"],  # --reason is required
    ["revoke", "base", "v1", "--reason", "x", "--at", "2030-01-01T00:00:00Z", "--in", "1d"],
    ["query", "base", "production"],  # --platform is required
    ["channel", "set", "base", "production"],
    [],
])
def test_bad_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_revoke_flags() -> None:
    args = build_parser().parse_args(["revoke", "base", "v1", "--reason", "r", "--in", "2h", "--skip-descendants",
                                      "--no-rollback"])
    assert (args.revoke_in, args.at, args.skip_descendants, args.no_rollback) == ("2h", None, True, True)


# ---- requests -------------------------------------------------------------------------------

def test_query_strings_leave_out_what_is_unset_and_encode_the_rest() -> None:
    assert query_string({"limit": 100, "next_token": None, "region": "", "labels": "os:debian,arch:x 1"}) == \
        "?limit=100&labels=os%3Adebian%2Carch%3Ax+1"
    assert query_string({"next_token": None}) == ""
    assert quoted("buckets", "a/b", "versions") == "/buckets/a%2Fb/versions"


class PagedClient(Client):
    """A Client whose requests are answered from `pages` (by next_token) and recorded."""

    def __init__(self, pages: dict[str | None, dict[str, Any]]) -> None:
        super().__init__(Login("http://registry.invalid", "t"))
        self.pages, self.requests = pages, []  # type: list[dict[str, Any]]

    def call(self, method: str, path: str, params: Any = None, body: Any = None) -> Any:
        self.requests.append(dict(params or {}))
        return self.pages[(params or {}).get("next_token")]


PAGES = {None: {"items": [1, 2, 3], "next_token": "p2"}, "p2": {"items": [], "next_token": "p3"},
         "p3": {"items": [4, 5]}}


def test_lists_follow_next_token_through_short_and_empty_pages() -> None:
    client = PagedClient(PAGES)
    assert list(client.items("/x", {"status": "revoked"})) == [1, 2, 3, 4, 5]
    assert [r["next_token"] for r in client.requests] == [None, "p2", "p3"]
    assert all(r["status"] == "revoked" and r["limit"] == 100 for r in client.requests)


def test_limit_stops_at_that_many_items_and_asks_for_no_more() -> None:
    client = PagedClient(PAGES)
    assert list(client.items("/x", limit=2)) == [1, 2]
    assert client.requests == [{"limit": 2, "next_token": None}]
    client = PagedClient(PAGES)
    assert list(client.items("/x", limit=4)) == [1, 2, 3, 4]
    assert [r["limit"] for r in client.requests] == [4, 1, 1]


def test_api_errors_carry_the_apis_message() -> None:
    error = _api_error(401, json.dumps({"error": "Unauthorized", "message": "unknown token"}).encode())
    assert (error.status, error.code, str(error)) == (401, "Unauthorized", "unknown token (HTTP 401 Unauthorized)")
    assert str(_api_error(502, b"<html>Bad Gateway</html>")) == "<html>Bad Gateway</html> (HTTP 502 Error)"
    assert str(ApiError(0, "Unreachable", "cannot reach")) == "cannot reach"


# ---- the stored login -----------------------------------------------------------------------

@pytest.fixture
def home(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for variable in (config.URL_VARIABLE, config.TOKEN_VARIABLE):
        monkeypatch.delenv(variable, raising=False)
    return tmp_path


def test_a_login_is_saved_for_the_user_alone_and_read_back(home: Any) -> None:
    path = config.save(Login("http://127.0.0.1:8000", "secret-token"))
    assert path == home / "config" / "packer-registry" / "config.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert config.current() == Login("http://127.0.0.1:8000", "secret-token")
    assert "secret-token" not in repr(config.current())


def test_the_environment_overrides_each_stored_value(home: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    config.save(Login("http://stored:1", "stored-token"))
    monkeypatch.setenv(config.TOKEN_VARIABLE, "env-token")
    assert config.current() == Login("http://stored:1", "env-token")
    monkeypatch.setenv(config.URL_VARIABLE, "http://env:2/api/")
    assert config.current() == Login("http://env:2/api", "env-token")


def test_without_url_or_token_nobody_is_logged_in(home: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(NotLoggedIn, match="no registry URL and token"):
        config.current()
    monkeypatch.setenv(config.URL_VARIABLE, "http://env:2")
    with pytest.raises(NotLoggedIn, match="no registry token"):
        config.current()
    assert main(["buckets"]) == 4


def test_no_home_config_falls_back_to_dot_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert config.config_path() == tmp_path / ".config" / "packer-registry" / "config.json"


# ---- upload ---------------------------------------------------------------------------------

def test_an_upload_key_names_the_bucket_first_and_the_time_after() -> None:
    when = datetime(2026, 5, 27, 10, 15, 0, 123456, tzinfo=timezone.utc)
    assert upload.manifest_key("base", when) == "base/packer-manifest-20260527T101500.123456Z.json"


@pytest.mark.parametrize(("manifest", "bucket"), [
    ({"builds": [{"custom_data": {"bucket_name": "web"}}, {"custom_data": {"bucket_name": "web"}}]}, "web"),
    ({"builds": [{"custom_data": {"bucket_name": "web"}}, {"custom_data": {"bucket_name": "db"}}]}, None),
    ({"builds": [{"custom_data": {"bucket_name": "web"}}, {"custom_data": None}]}, None),
    ({"builds": [{"custom_data": {"bucket_name": 7}}]}, None),
    ({"builds": []}, None),
    ({"builds": None}, None),
    ([], None),
])
def test_the_bucket_a_manifest_names(manifest: Any, bucket: str | None) -> None:
    assert upload.bucket_named_in(json.dumps(manifest).encode()) == bucket
    assert upload.bucket_named_in(b"not json") is None


def test_an_ingestion_says_why_a_run_was_recorded_against_a_version_it_duplicates() -> None:
    record = {"status": "duplicate", "s3_bucket": "packer-manifests", "key": "base/m.json", "reasons": [],
              "versions": [{"bucket": "base", "version": "v1", "created": False, "builds_added": 0,
                            "fingerprint": "run-1", "duplicate": "duplicate of v1 (fingerprint git-0a1b): …"}]}
    lines = upload.describe_ingestion(record).splitlines()
    assert lines[0] == "duplicate: s3://packer-manifests/base/m.json"
    assert lines[-2:] == ["Why:", "  - base: duplicate of v1 (fingerprint git-0a1b): …"]


def test_a_version_shows_each_finding_with_its_own_status_and_how_and_its_untracked_sources() -> None:
    version = {"bucket": "app", "name": "v1", "fingerprint": "fp", "status": "active", "created_at": "t",
               "ancestry_status": "out_of_date", "builds": [],
               "ancestry_findings": [
                   {"status": "out_of_date", "message": "parent base channel production now points at v2; "
                    "this was built from v1", "how": "named in the manifest: parent_bucket, parent_channel"},
                   {"status": "undetermined", "message": "parent not found: bucket 'gone' has no version 'v3'",
                    "how": None}],
               "untracked": [{"source_artifact": "ami-1", "region": "us-east-1", "recorded_at": "t",
                              "message": "source not tracked: ami-1 (us-east-1)"}]}
    lines = describe_version(version).splitlines()
    assert "  out of date: parent base channel production now points at v2; this was built from v1 " \
           "(named in the manifest: parent_bucket, parent_channel)" in lines
    assert "  undetermined: parent not found: bucket 'gone' has no version 'v3'" in lines
    assert "  source not tracked: ami-1 (us-east-1) — information, not a finding" in lines
