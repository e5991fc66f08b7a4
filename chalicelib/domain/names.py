"""The rules for names users choose: buckets, channels, version references.

Plain `re`, no pydantic: the HTTP middleware checks every `{bucket}`, `{channel}` and
`{version}` path parameter against these before a route runs (a cold consumer query must
not import pydantic), and models.py builds its request types from the same patterns.
"""

from __future__ import annotations

import re

# A bucket name: letters, digits, '.', '_' and '-', starting with a letter or digit.
# The same rule applies to names taken from manifests and to POST /buckets.
BUCKET_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
CHANNEL_NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
# A fingerprint: what a run is known by (git SHA, run UUID, explicit value); URL-safe,
# and never of the form `vN`, which names a version.
FINGERPRINT_PATTERN = r"^(?!v[0-9]+$)[A-Za-z0-9._:+=@-]{1,128}$"
VERSION_NAME = re.compile(r"^v([1-9][0-9]{0,8})$")
# A reference to a version: its name (`v3`) or its fingerprint.
VERSION_REF_PATTERN = rf"^(?:{VERSION_NAME.pattern[1:-1]}|{FINGERPRINT_PATTERN[1:-1]})$"

# Path parameter -> (pattern, what follows the pattern), for the middleware and /openapi.json.
PATH_PARAMETERS: dict[str, tuple[str, str]] = {
    "bucket": (BUCKET_NAME_PATTERN, "bucket names"),
    "channel": (CHANNEL_NAME_PATTERN, "channel names"),
    "version": (VERSION_REF_PATTERN, "version names and fingerprints"),
}
_COMPILED = {name: re.compile(pattern) for name, (pattern, _) in PATH_PARAMETERS.items()}
DRAFT_NAME = "v0"  # what every version being published through the HCP API is called: it names none of them


def bad_path_parameter(params: dict[str, str] | None) -> str | None:
    """Why the path parameters name nothing that can exist (a 404 message), or None.

    Checked once for every route, so an empty or malformed name never reaches a key
    (`GET /buckets//events` would otherwise read the registry-wide audit partition).
    """
    for name, value in (params or {}).items():
        pattern = _COMPILED.get(name)
        if pattern is not None and not pattern.fullmatch(value or ""):
            rule, who = PATH_PARAMETERS[name]
            if name == "version" and value == DRAFT_NAME:
                return (f"no version {DRAFT_NAME!r}: every version still being published through the HCP API is "
                        f"{DRAFT_NAME} until its last build is done; name one by its fingerprint or id")
            return f"no {name} {shown(value) if value else value!r}: {who} match {rule}"
    return None


def shown(value: str, at_most: int = 80) -> str:
    """A value as a message quotes it: its first `at_most` characters, then `...`."""
    return value if len(value) <= at_most else value[:at_most] + "..."


MAX_FILTER_LABELS = 10  # `labels=` pairs a list filter takes


def label_pairs(value: str) -> list[tuple[str, str]] | None:
    """A `labels` filter (`key:value,key:value`: each key non-empty, a value up to its first
    comma, so it may hold `:`) as its pairs; None when it is not one or names more than
    MAX_FILTER_LABELS."""
    pairs = []
    for part in value.split(","):
        key, sep, label = part.partition(":")
        if not sep or not key:
            return None
        pairs.append((key, label))
    return pairs if len(pairs) <= MAX_FILTER_LABELS else None
