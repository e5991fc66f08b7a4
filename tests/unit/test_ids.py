"""ULIDs (chalicelib/domain/ids.py): the encoding, the derived ids' golden values, new().

A derived id is stored and found again by deriving it once more (a re-delivered manifest gets
the same ids), so the golden values below must never change: a different derivation would
give every record ingested after an upgrade a second id.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from chalicelib.domain import ids

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # no I, L, O, U


def decoded(ulid: str) -> tuple[int, int]:
    """(milliseconds, 80-bit tail) of a ULID, decoded here independently of ids.py."""
    value = 0
    for digit in ulid:
        value = value * 32 + CROCKFORD.index(digit)
    return value >> 80, value & (2 ** 80 - 1)


def hash_tail(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256("\x1f".join(parts).encode()).digest()[:10], "big")


def millis(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def test_golden_ids():
    assert ids.bucket_id("base", "2026-03-01T12:00:00.123Z") == "01KJMMA2KVG97Z6YKWHHAV75FN"
    assert ids.channel_id("base", "prod", "2026-03-01T12:00:00.123456Z") == "01KJMMA2KVAG7E5VEZH8N2VMG5"
    assert ids.artifact_id("01J0000000000000000000000B", "ami-0c2716a13b6c0ff45", "us-east-1") == \
        "0000000000Y9KQ4J54Y8PAR94B"
    assert ids.legacy_version_id("base", "01HZY", "2026-03-01T12:00:00Z") == "01KJMMA2G0CHXFNX85Q2Y2XDD1"


def test_a_derived_id_is_the_time_then_80_bits_of_the_parts_hash():
    at = "2026-03-01T12:00:00.001+00:00"  # an odd millisecond: the lowest bit is kept
    ulid = ids.derived(at, "a", "b")
    assert decoded(ulid) == (millis(at), hash_tail("a", "b"))
    assert ids.derived(at.replace("+00:00", "Z"), "a", "b") == ulid == "01KJMMA2G1Y16DSVCQ6TK9V9GG"
    assert ids.derived(at, "ab") != ulid  # the parts are separated, not concatenated
    assert decoded(ids.bucket_id("base", at)) == (millis(at), hash_tail("bucket", "base"))
    assert decoded(ids.channel_id("base", "prod", at)) == (millis(at), hash_tail("channel", "base", "prod"))
    assert decoded(ids.legacy_version_id("b", "f", at)) == (millis(at), hash_tail("version", "b", "f"))


def test_an_artifact_id_has_no_time_and_no_region_is_an_empty_one():
    ulid = ids.artifact_id("B", "ami-1", None)
    assert decoded(ulid) == (0, hash_tail("artifact", "B", "ami-1", ""))
    assert ulid == ids.artifact_id("B", "ami-1", "") == ids.derived(None, "artifact", "B", "ami-1", "")
    assert ulid != ids.artifact_id("B", "ami-1", "us-east-1")


def test_the_time_is_48_bits():
    """A time before 1970 wraps within the 48 bits, so the first digit stays 0-7 (a ULID is 128 bits)."""
    ulid = ids.derived("1969-12-31T23:59:59Z", "x")
    assert ulid == "7ZZZZZZZ0R5NRHCGNQ4TR480B2" and ids.is_ulid(ulid)
    assert decoded(ulid) == (2 ** 48 - 1000, hash_tail("x"))


def test_new_is_now_and_80_random_bits(monkeypatch):
    asked = []
    now_ns = int(datetime(2026, 3, 1, 12, tzinfo=timezone.utc).timestamp()) * 10 ** 9 + 123_999_999
    monkeypatch.setattr(ids, "time", SimpleNamespace(time_ns=lambda: now_ns))
    monkeypatch.setattr(ids, "secrets", SimpleNamespace(randbits=lambda n: asked.append(n) or 2 ** 80 - 3))
    ulid = ids.new()
    assert asked == [80]
    assert decoded(ulid) == (now_ns // 10 ** 6, 2 ** 80 - 3)
    assert ulid == "01KJMMA2KVZZZZZZZZZZZZZZZX"


def test_new_ids_are_ulids_and_differ():
    made = {ids.new() for _ in range(50)}
    assert len(made) == 50 and all(ids.is_ulid(u) for u in made)


@pytest.mark.parametrize("value, ok", [
    ("01KJMMA2KVG97Z6YKWHHAV75FN", True), ("7ZZZZZZZZZZZZZZZZZZZZZZZZZ", True), ("00000000000000000000000000", True),
    ("8ZZZZZZZZZZZZZZZZZZZZZZZZZ", False),  # more than 128 bits
    ("01KJMMA2KVG97Z6YKWHHAV75F", False), ("01KJMMA2KVG97Z6YKWHHAV75FNN", False),
    ("01KJMMA2KVG97Z6YKWHHAV75FI", False), ("01KJMMA2KVG97Z6YKWHHAV75FL", False),
    ("01KJMMA2KVG97Z6YKWHHAV75FO", False), ("01KJMMA2KVG97Z6YKWHHAV75FU", False),
    ("01kjmma2kvg97z6ykwhhav75fn", False), ("01KJMMA2KVG97Z6YKWHHAV75FN\n", False), ("", False)])
def test_is_ulid(value, ok):
    assert ids.is_ulid(value) is ok
