"""The rules for names users choose (`chalicelib.domain.names`), as the HTTP middleware applies them
to every `{bucket}`, `{channel}` and `{version}` path parameter before a route runs."""

from __future__ import annotations

import pytest

from chalicelib.domain import names
from chalicelib.domain.names import BUCKET_NAME_PATTERN, CHANNEL_NAME_PATTERN, VERSION_REF_PATTERN, bad_path_parameter


@pytest.mark.parametrize("params", [
    None,
    {},
    {"bucket": "ubuntu-base"},
    {"bucket": "A.b_c-9", "channel": "prod-2", "version": "v12"},
    {"bucket": "b" * 64, "channel": "c" * 64, "version": "f" * 128},
    {"version": "v999999999"},  # the largest version name
    {"version": "d0637d1c-4e19-b903-aae8-a48194c31538"},  # a fingerprint (a Packer run UUID)
    {"version": "git:1a2b3c+build=7@main"},
    {"external_id": ""},  # not a name rule: checked by its own route
])
def test_names_that_can_exist_pass(params: dict[str, str] | None) -> None:
    assert bad_path_parameter(params) is None


@pytest.mark.parametrize(("params", "message"), [
    ({"bucket": ""}, f"no bucket '': bucket names match {BUCKET_NAME_PATTERN}"),
    ({"bucket": "-web"}, f"no bucket '-web': bucket names match {BUCKET_NAME_PATTERN}"),
    ({"bucket": "b" * 65}, f"no bucket '{'b' * 65}': bucket names match {BUCKET_NAME_PATTERN}"),
    ({"channel": "Prod"}, f"no channel 'Prod': channel names match {CHANNEL_NAME_PATTERN}"),
    ({"version": "v0"}, "no version 'v0': every version still being published through the HCP API is v0 until its "
                        "last build is done; name one by its fingerprint or id"),
    ({"version": "v00"}, f"no version 'v00': version names and fingerprints match {VERSION_REF_PATTERN}"),
    ({"version": "v1234567890"}, f"no version 'v1234567890': version names and fingerprints match {VERSION_REF_PATTERN}"),
    ({"version": "a b"}, f"no version 'a b': version names and fingerprints match {VERSION_REF_PATTERN}"),
])
def test_a_name_that_cannot_exist_is_named_with_the_rule(params: dict[str, str], message: str) -> None:
    assert bad_path_parameter(params) == message


def test_a_missing_value_is_an_empty_name() -> None:
    assert bad_path_parameter({"bucket": None}) == f"no bucket None: bucket names match {BUCKET_NAME_PATTERN}"


def test_the_first_bad_parameter_is_the_one_reported() -> None:
    message = bad_path_parameter({"bucket": "ok", "channel": "Bad", "version": "no way"})
    assert message == f"no channel 'Bad': channel names match {CHANNEL_NAME_PATTERN}"


def test_a_long_bad_value_is_shown_cut_at_80_characters() -> None:
    exactly = "-" + "a" * 79
    assert bad_path_parameter({"channel": exactly}) == f"no channel {exactly!r}: channel names match {CHANNEL_NAME_PATTERN}"
    longer = "-" + "a" * 80
    shown = repr(longer[:80] + "...")
    assert bad_path_parameter({"channel": longer}) == f"no channel {shown}: channel names match {CHANNEL_NAME_PATTERN}"


@pytest.mark.parametrize(("value", "pairs"), [
    ("os:debian", [("os", "debian")]),
    ("os:debian,arch:arm64", [("os", "debian"), ("arch", "arm64")]),
    ("url:http://x:80", [("url", "http://x:80")]),  # a value runs to the next comma, colons and all
    ("empty:", [("empty", "")]),
    (",".join(f"k{n}:v" for n in range(10)), [(f"k{n}", "v") for n in range(10)]),
])
def test_a_labels_filter_is_its_pairs(value: str, pairs: list[tuple[str, str]]) -> None:
    assert names.label_pairs(value) == pairs


@pytest.mark.parametrize("value", ["", "os", ":debian", "os:debian,", "os:debian,arch",
                                   ",".join(f"k{n}:v" for n in range(11))])
def test_what_is_not_a_labels_filter_or_names_more_than_ten_is_none(value: str) -> None:
    assert names.MAX_FILTER_LABELS == 10
    assert names.label_pairs(value) is None
