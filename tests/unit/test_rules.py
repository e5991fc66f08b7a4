"""The domain rules (`chalicelib.domain.rules`), without DynamoDB: where channels go when their version
is revoked or deleted, whom a revocation reaches and with what type, a parent link's status
and finding, what a version being written becomes.

The items below have the shapes the services read (version items, channel items, history
entries); tests/test_revocation.py, test_ancestry.py, test_channels.py and
test_large_versions.py drive the same rules through HTTP and ingestion.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain import rules
from chalicelib.domain.models import RevokeRequest
from chalicelib.domain.rules import (
    ancestor_finding, attention, cascade_reaches, cascades, direct_revocation, fact, first_active, flagged,
    inherited_findings, inherited_revocation, judge_links, link_status, newest_active, number_of,
    revocation_on_arrival, rollback_candidates, stale_cause, stale_finding, status_on_completion,
    status_on_creation, takes_latest,
)

PROPERTIES = settings(max_examples=int(os.environ.get("PROPERTY_EXAMPLES", "200")), deadline=None,
                      derandomize=True, database=None)


def version(number: int, status: str = "active", bucket: str = "base", **fields: Any) -> dict[str, Any]:
    return {"bucket": bucket, "number": number, "name": f"v{number}", "status": status, **fields}


def entry(to_version: str | None) -> dict[str, Any]:
    """A channel history entry (newest first in a history Query)."""
    return {"channel": "prod", "from_version": None, "to_version": to_version, "cause": "assign"}


@dataclass
class Loaded:
    """What channels.target_of loads: the version (and, there, its builds)."""

    version: dict[str, Any]

    @property
    def status(self) -> str | None:
        return self.version.get("status")


class Versions:
    """A consistent read of versions by number, counting the reads."""

    def __init__(self, *items: dict[str, Any]) -> None:
        self.items = {i["number"]: i for i in items}
        self.loads: list[int] = []

    def __call__(self, number: int) -> Loaded:
        self.loads.append(number)
        return Loaded(self.items[number])


def test_a_version_number_comes_from_its_name() -> None:
    assert number_of("v1") == 1
    assert number_of("v120") == 120


# ---- where a channel rolls back to ----------------------------------------------------------

def test_rollback_candidates_are_the_history_newest_first_each_once_without_the_version_left() -> None:
    history = [entry("v5"), entry("v3"), entry(None), entry("v5"), entry("v4"), entry("v3"), entry("v1")]
    assert rollback_candidates(history, {4}) == [5, 3, 1]
    assert rollback_candidates(history, set()) == [5, 3, 4, 1]
    assert rollback_candidates(history, {5, 3, 4, 1}) == []
    assert rollback_candidates([], set()) == []


def test_an_unassigning_history_entry_is_no_candidate() -> None:
    assert rollback_candidates([entry(None), {"to_version": ""}, {"cause": "unassign"}], set()) == []


def test_a_rollback_takes_the_first_version_not_revoked_and_guards_the_revoked_ones_passed() -> None:
    chosen, skipped = first_active([version(5, "revoked"), version(3, "revoked"), version(2), version(1)])
    assert chosen == version(2)
    assert skipped == [5, 3]


def test_a_version_scheduled_for_revocation_is_still_a_rollback_target() -> None:
    chosen, skipped = first_active([version(4, "revocation_scheduled"), version(3)])
    assert chosen == version(4, "revocation_scheduled")
    assert skipped == []


def test_a_rollback_with_every_candidate_revoked_unassigns_the_channel() -> None:
    assert first_active([version(2, "revoked"), version(1, "revoked")]) == (None, [2, 1])
    assert first_active([]) == (None, [])


def test_a_rollback_reads_candidates_only_as_far_as_it_needs() -> None:
    read: list[int] = []

    def candidates() -> Iterator[dict[str, Any]]:
        for item in (version(3, "revoked"), version(2), version(1)):
            read.append(item["number"])
            yield item
    first_active(candidates())
    assert read == [3, 2]


@PROPERTIES
@given(history=st.lists(st.none() | st.integers(1, 12).map(lambda n: f"v{n}"), max_size=20),
       excluding=st.sets(st.integers(1, 12), max_size=3))
def test_rollback_candidates_keep_the_first_sighting_of_each_version(history: list[str | None],
                                                                     excluding: set[int]) -> None:
    found = rollback_candidates([entry(name) for name in history], excluding)
    expected: list[int] = []
    for name in history:
        if name and int(name[1:]) not in excluding and int(name[1:]) not in expected:
            expected.append(int(name[1:]))
    assert found == expected


@PROPERTIES
@given(statuses=st.lists(st.sampled_from(["active", "revoked", "revocation_scheduled"]), max_size=10))
def test_a_rollback_passes_over_exactly_the_revoked_versions_before_its_choice(statuses: list[str]) -> None:
    candidates = [version(len(statuses) - i, s) for i, s in enumerate(statuses)]
    chosen, skipped = first_active(candidates)
    passed = candidates[:candidates.index(chosen)] if chosen else candidates
    assert all(c["status"] == "revoked" for c in passed)
    assert skipped == [c["number"] for c in passed]
    assert chosen is None or chosen["status"] != "revoked"


# ---- which version `latest` follows -----------------------------------------------------------

def test_latest_follows_the_newest_version_neither_revoked_nor_running() -> None:
    load = Versions(version(3), version(2))
    index = [version(5, "revoked"), version(4, "running"), version(3), version(2)]
    target, skipped = newest_active(index, set(), load)
    assert target == Loaded(version(3))
    assert skipped == [5]  # guarded: still revoked; the running v4 needs no guard (it takes latest when complete)
    assert load.loads == [3]  # only the candidate is read again


def test_latest_leaves_out_the_version_it_moves_off_without_reading_or_guarding_it() -> None:
    load = Versions(version(3), version(2))
    target, skipped = newest_active([version(3), version(2)], {3}, load)
    assert target == Loaded(version(2))
    assert (skipped, load.loads) == ([], [2])


def test_latest_judges_a_candidate_again_on_its_consistent_read() -> None:
    # The index is eventually consistent: v3 was revoked (or set running) after it was written.
    for fresh in ("revoked", "running"):
        load = Versions(version(3, fresh), version(2))
        target, skipped = newest_active([version(3), version(2)], set(), load)
        assert target == Loaded(version(2))
        assert skipped == [3]
        assert load.loads == [3, 2]


def test_latest_may_hold_a_version_scheduled_for_revocation() -> None:
    load = Versions(version(2, "revocation_scheduled"))
    assert newest_active([version(2, "revocation_scheduled")], set(), load) == (
        Loaded(version(2, "revocation_scheduled")), [])


def test_latest_without_any_usable_version_is_unassigned() -> None:
    load = Versions()
    assert newest_active([version(2, "revoked"), version(1, "revoked")], set(), load) == (None, [2, 1])
    assert newest_active([version(1, "running")], set(), load) == (None, [])
    assert newest_active([], set(), load) == (None, [])
    assert load.loads == []


def test_latest_reads_the_index_only_as_far_as_it_needs() -> None:
    read: list[int] = []

    def index() -> Iterator[dict[str, Any]]:
        for item in (version(3), version(2)):
            read.append(item["number"])
            yield item
    newest_active(index(), set(), Versions(version(3), version(2)))
    assert read == [3]


@PROPERTIES
@given(data=st.lists(st.tuples(st.sampled_from(["active", "revoked", "running", "revocation_scheduled"]),
                                st.sampled_from(["active", "revoked", "running", "revocation_scheduled"])),
                      max_size=8),
       excluding=st.sets(st.integers(1, 8), max_size=2))
def test_latest_is_the_newest_usable_version_as_read_consistently(data: list[tuple[str, str]],
                                                                  excluding: set[int]) -> None:
    """Each version with its status in the index and as read consistently."""
    numbers = range(len(data), 0, -1)
    index = [version(n, indexed) for n, (indexed, _) in zip(numbers, data)]
    load = Versions(*(version(n, fresh) for n, (_, fresh) in zip(numbers, data)))
    target, skipped = newest_active(index, excluding, load)
    usable = [n for n, (indexed, fresh) in zip(numbers, data) if n not in excluding
              and indexed not in ("revoked", "running") and fresh not in ("revoked", "running")]
    assert (target.version["number"] if target else None) == (usable[0] if usable else None)
    stop = usable[0] if usable else 0
    assert skipped == [n for n, (indexed, _) in zip(numbers, data)
                       if n > stop and n not in excluding and indexed != "running"]


@pytest.mark.parametrize(("number", "latest", "moves"), [
    (1, {}, True),  # a bucket's first usable version
    (3, {"number": 2}, True),
    (2, {"number": 2}, False),
    (2, {"number": 3}, False),
])
def test_a_version_that_becomes_usable_takes_latest_only_when_newer(number: int, latest: dict[str, Any],
                                                                    moves: bool) -> None:
    assert takes_latest(number, latest) is moves


# ---- revocations and how far they reach -----------------------------------------------------

def test_a_revocation_asked_for_is_direct_with_the_requests_flags() -> None:
    request = RevokeRequest(reason="CVE-1", skip_descendants_revocation=True)
    assert direct_revocation(request, "alice") == {
        "reason": "CVE-1", "revoked_by": "alice", "revocation_type": "direct",
        "skip_descendants_revocation": True, "disable_rollback_channels": False}
    scheduled = RevokeRequest(reason="eol", disable_rollback_channels=True)
    assert direct_revocation(scheduled, "bob", "2026-12-01T00:00:00.000000Z") == {
        "reason": "eol", "revoke_at": "2026-12-01T00:00:00.000000Z", "revoked_by": "bob",
        "revocation_type": "direct", "skip_descendants_revocation": False, "disable_rollback_channels": True}


@pytest.mark.parametrize(("revocation", "reaches"), [
    ({"revocation_type": "direct", "skip_descendants_revocation": False}, True),
    ({"revocation_type": "direct"}, True),
    ({"revocation_type": "direct", "skip_descendants_revocation": True}, False),
    ({"revocation_type": "inherited", "skip_descendants_revocation": False}, False),
    ({}, False),
    (None, False),
])
def test_only_a_direct_revocation_that_spares_nobody_cascades(revocation: dict[str, Any] | None,
                                                               reaches: bool) -> None:
    assert cascades(revocation) is reaches


def test_a_revoking_cascade_reaches_every_descendant_not_yet_revoked() -> None:
    assert cascade_reaches(version(2), "revoke", "base/v1")
    assert cascade_reaches(version(2, "revocation_scheduled"), "revoke", "base/v1")
    assert cascade_reaches(version(2, "running"), "revoke", "base/v1")
    # a direct revocation, or one inherited from elsewhere, stands
    assert not cascade_reaches(version(2, "revoked", revocation={"revocation_type": "direct"}), "revoke", "base/v1")
    assert not cascade_reaches(version(2, "revoked", revocation={"inherited_from": "other/v9"}), "revoke", "base/v1")


def test_a_restoring_cascade_reaches_only_what_inherited_from_its_source() -> None:
    mine = version(2, "revoked", revocation={"revocation_type": "inherited", "inherited_from": "base/v1"})
    assert cascade_reaches(mine, "restore", "base/v1")
    assert not cascade_reaches(mine, "restore", "base/v7")
    assert not cascade_reaches(version(2, "revoked", revocation={"revocation_type": "direct"}), "restore", "base/v1")
    assert not cascade_reaches(version(2, "revoked", revocation=None), "restore", "base/v1")
    assert not cascade_reaches(version(2, "active", revocation={"inherited_from": "base/v1"}), "restore", "base/v1")


def test_a_descendant_inherits_the_sources_reason_requester_and_channel_flag() -> None:
    source = version(1, "revoked", revocation={
        "reason": "bad kernel", "revoked_by": "alice", "revocation_type": "direct", "revoked_at": "t",
        "skip_descendants_revocation": False, "disable_rollback_channels": True, "cascade_pending": True})
    assert inherited_revocation(source, "base/v1") == {
        "reason": "bad kernel", "revoked_by": "alice", "revocation_type": "inherited", "inherited_from": "base/v1",
        "skip_descendants_revocation": False, "disable_rollback_channels": True}
    bare = inherited_revocation(version(1, "revoked"), "base/v1")
    assert bare["disable_rollback_channels"] is False
    assert (bare["reason"], bare["revoked_by"]) == (None, None)


def parent_link(number: int, status: str | None, revocation: dict[str, Any] | None = None,
                bucket: str = "base") -> dict[str, Any]:
    """A parent link as resolved at ingestion (with the parent's status as read)."""
    return {"bucket": bucket, "number": number, "version": f"v{number}", "fingerprint": f"run-{number}",
            "channel": None, "found_by": "parent_version", "parent_status": status, "parent_revocation": revocation}


def test_a_version_arriving_under_a_revoked_parent_is_revoked_by_the_registry() -> None:
    parents = [parent_link(1, "active"),
               parent_link(2, "revoked", {"reason": "spared", "skip_descendants_revocation": True}),
               parent_link(3, "revoked", {"reason": "CVE-9", "disable_rollback_channels": True}, bucket="os"),
               parent_link(4, "revoked", {"reason": "later"})]
    assert revocation_on_arrival(parents, "2026-01-01T00:00:00.000000Z") == {
        "reason": "CVE-9", "revoked_at": "2026-01-01T00:00:00.000000Z", "revoked_by": "registry",
        "revocation_type": "inherited", "inherited_from": "os/v3", "skip_descendants_revocation": False,
        "disable_rollback_channels": False}


def test_a_version_arriving_under_usable_or_sparing_parents_is_not_revoked() -> None:
    assert revocation_on_arrival([], "t") is None
    assert revocation_on_arrival([parent_link(1, "active"), parent_link(2, None)], "t") is None
    assert revocation_on_arrival([parent_link(1, "revoked", {"skip_descendants_revocation": True})], "t") is None
    assert revocation_on_arrival([parent_link(1, "revoked")], "t") == {
        "reason": None, "revoked_at": "t", "revoked_by": "registry", "revocation_type": "inherited",
        "inherited_from": "base/v1", "skip_descendants_revocation": False, "disable_rollback_channels": False}


# ---- when a version is complete ---------------------------------------------------------------

@pytest.mark.parametrize(("inherited", "whole", "status"), [
    (None, True, "active"),
    (None, False, "running"),
    ({"revocation_type": "inherited"}, True, "revoked"),
    ({"revocation_type": "inherited"}, False, "revoked"),
])
def test_a_new_version_is_active_when_written_whole(inherited: dict[str, Any] | None, whole: bool,
                                                    status: str) -> None:
    assert status_on_creation(inherited, whole) == status


def test_a_running_version_completes_active_or_revoked_if_a_revocation_reached_it() -> None:
    assert status_on_completion(version(4, "running")) == "active"
    assert status_on_completion(version(4, "running", revocation=None)) == "active"
    assert status_on_completion(version(4, "running", revocation={"revocation_type": "inherited"})) == "revoked"


@pytest.mark.parametrize("status", ["active", "revoked", "revocation_scheduled"])
def test_a_version_no_longer_running_is_not_completed_again(status: str) -> None:
    assert status_on_completion(version(4, status, revocation={"reason": "x"})) is None


# ---- a parent link's status -----------------------------------------------------------------

def stored_link(number: int = 1, channel: str | None = None, bucket: str = "base") -> dict[str, Any]:
    """A parent link as a version stores it."""
    return {"bucket": bucket, "number": number, "version": f"v{number}", "fingerprint": f"run-{number}",
            "channel": channel, "found_by": "parent_channel" if channel else "parent_version"}


def channel(number: int | None, name: str = "prod") -> dict[str, Any]:
    return {"bucket": "base", "name": name, **({"number": number, "version": f"v{number}"} if number else {})}


def test_a_deleted_parent_is_undetermined() -> None:
    assert link_status(stored_link(), None, channel(1)) == (
        "undetermined", {"kind": "deleted", "status": "undetermined", "bucket": "base", "version": "v1"})


def test_a_revoked_parent_says_why_and_whether_this_version_was_spared() -> None:
    parent = version(1, "revoked", revocation={"reason": "CVE-1"})
    assert link_status(stored_link(channel="prod"), parent, None) == ("parent_revoked", {
        "kind": "revoked", "status": "parent_revoked", "bucket": "base", "version": "v1", "reason": "CVE-1",
        "revoked_too": False})
    assert link_status(stored_link(), parent, channel(1, "latest"), revoked=True)[1]["revoked_too"] is True
    assert "reason" not in link_status(stored_link(), version(1, "revoked"), None)[1]


def test_a_channel_link_follows_its_channel() -> None:
    link = stored_link(2, channel="prod")
    assert link_status(link, version(2), channel(2)) == ("up_to_date", {
        "kind": "current", "status": "up_to_date", "bucket": "base", "version": "v2", "channel": "prod"})
    assert link_status(link, version(2), channel(3)) == ("out_of_date", {
        "kind": "moved", "status": "out_of_date", "bucket": "base", "version": "v2", "channel": "prod", "now": "v3"})
    assert link_status(link, version(2), channel(1))[0] == "out_of_date"  # moved back is moved too
    assert link_status(link, version(2), channel(None)) == ("out_of_date", {
        "kind": "moved", "status": "out_of_date", "bucket": "base", "version": "v2", "channel": "prod"})
    assert link_status(link, version(2), None) == ("undetermined", {
        "kind": "channel_deleted", "status": "undetermined", "bucket": "base", "version": "v2", "channel": "prod"})


def test_a_link_without_a_channel_follows_latest() -> None:
    link = stored_link(2)
    assert link_status(link, version(2), channel(3, "latest")) == ("out_of_date", {
        "kind": "moved", "status": "out_of_date", "bucket": "base", "version": "v2", "channel": "latest",
        "managed": True, "now": "v3"})
    newest = ("up_to_date", {"kind": "newest", "status": "up_to_date", "bucket": "base", "version": "v2"})
    assert link_status(link, version(2), channel(2, "latest")) == newest
    assert link_status(link, version(2), channel(1, "latest")) == newest  # latest fell back below it
    assert link_status(link, version(2), channel(None, "latest")) == newest  # latest unassigned
    assert link_status(link, version(2), None) == newest


def test_an_outdated_parent_makes_the_link_outdated_naming_the_cause() -> None:
    cause = fact("moved", "out_of_date", bucket="os", version="v1", channel="prod", now="v2")
    parent = version(2, ancestry_status="out_of_date",
                     ancestry_findings=[fact("newest", "up_to_date", bucket="x", version="v1"), cause])
    expected = ("out_of_date", {"kind": "stale_parent", "status": "out_of_date", "bucket": "base", "version": "v2",
                                "via": [{"bucket": "base", "version": "v2"}], "cause": cause})
    assert link_status(stored_link(2), parent, channel(2, "latest")) == expected
    assert link_status(stored_link(2, channel="prod"), parent, channel(2)) == expected
    # its own move comes first
    assert link_status(stored_link(2, channel="prod"), parent, channel(3))[1]["kind"] == "moved"


def test_a_parent_fine_or_undetermined_itself_keeps_the_link_up_to_date() -> None:
    for status in (None, "up_to_date", "undetermined"):
        parent = version(2, ancestry_status=status, ancestry_findings=[fact("deleted", "undetermined")])
        assert link_status(stored_link(2), parent, None)[0] == "up_to_date"


def test_a_versions_status_is_its_worst_link_unresolved_hints_included() -> None:
    fine = (stored_link(1, bucket="a"), version(1, bucket="a"), None)
    moved = (stored_link(2, channel="prod", bucket="b"), version(2, bucket="b"), channel(3))
    deleted = (stored_link(3, bucket="c"), None, None)
    revoked = (stored_link(4, bucket="d"), version(4, "revoked", bucket="d"), None)
    hint = {"bucket": "e", "channel": "prod", "reason": "no channel", "built_at": "t"}
    assert judge_links([]) == (None, [])
    assert judge_links([fine])[0] == "up_to_date"
    assert judge_links([fine, deleted])[0] == "undetermined"
    assert judge_links([deleted, moved, fine])[0] == "out_of_date"
    assert judge_links([revoked, moved, deleted])[0] == "parent_revoked"
    assert judge_links([moved], [hint])[0] == "out_of_date"
    status, links = judge_links([fine], [hint])
    assert status == "undetermined"
    assert links == [
        {**stored_link(1, bucket="a"), "status": "up_to_date",
         "finding": {"kind": "newest", "status": "up_to_date", "bucket": "a", "version": "v1",
                     "found_by": "parent_version", "origin": "manifest", "named": ["parent_bucket", "parent_version"]}},
        {"bucket": "e", "version": None, "channel": "prod", "source_artifact": None, "found_by": "unresolved",
         "status": "undetermined", "finding": {"kind": "unresolved", "status": "undetermined", "bucket": "e",
                                               "channel": "prod", "reason": "no channel", "found_by": "unresolved",
                                               "origin": "manifest", "named": ["parent_bucket", "parent_channel"]}}]


def test_each_unresolved_hint_is_an_undetermined_link_saying_what_it_named() -> None:
    by_version = {"bucket": "base", "version": "v9", "reason": "bucket 'base' has no version 'v9'"}
    by_artifact = {"source_artifact": "ami-1", "reason": "no artifact 'ami-1' in the registry (yet)"}
    assert judge_links([], [by_version, by_artifact]) == ("undetermined", [
        {"bucket": "base", "version": "v9", "channel": None, "source_artifact": None, "found_by": "unresolved",
         "status": "undetermined", "finding": {"kind": "unresolved", "status": "undetermined", "bucket": "base",
                                               "version": "v9", "reason": by_version["reason"],
                                               "found_by": "unresolved", "origin": "manifest",
                                               "named": ["parent_bucket", "parent_version"]}},
        {"bucket": None, "version": None, "channel": None, "source_artifact": "ami-1", "found_by": "unresolved",
         "status": "undetermined", "finding": {"kind": "unresolved", "status": "undetermined",
                                               "source_artifact": "ami-1", "reason": by_artifact["reason"],
                                               "found_by": "unresolved"}}])


# ---- how a link was found, untracked sources ------------------------------------------------

@pytest.mark.parametrize(("link", "origin", "said"), [
    (stored_link(2), "manifest", "named in the manifest: parent_bucket, parent_version"),
    ({**stored_link(2, channel="prod"), "found_by": "parent_channel"}, "manifest",
     "named in the manifest: parent_bucket, parent_channel"),
    ({**stored_link(2, channel="prod"), "found_by": "parent_version"}, "manifest",
     "named in the manifest: parent_bucket, parent_channel, parent_version"),
    (stored_link(2), "hcp", "reported by Packer through the HCP API: parent_version_id"),
    ({**stored_link(2, channel="prod"), "found_by": "parent_version"}, "hcp",
     "reported by Packer through the HCP API: parent_version_id, parent_channel_id"),
    ({**stored_link(2), "found_by": "source_artifact", "source_artifact": "ami-9"}, "hcp",
     "matched from the source artifact ami-9"),
    ({**stored_link(2), "found_by": "source_artifact"}, "manifest", "matched from a build's source artifact"),
    ({"version_id": "01J", "found_by": "unresolved"}, "manifest",
     "reported by Packer through the HCP API: parent_version_id"),
    ({"bucket": "b", "version": "v3", "found_by": "unresolved"}, "manifest",
     "named in the manifest: parent_bucket, parent_version"),
    ({"source_artifact": "ami-1", "found_by": "unresolved"}, "manifest", "the build's source artifact ami-1"),
])
def test_a_finding_says_how_its_link_was_found(link: dict[str, Any], origin: str, said: str) -> None:
    assert rules.how(rules.provenance(link, origin)) == said
    assert rules.how({**fact("moved", "out_of_date"), **rules.provenance(link, origin)}) == said


def test_a_finding_without_a_link_says_nothing_of_how() -> None:
    assert rules.how(inherited_findings({"inherited_from": "base/v1", "reason": "x"})[0]) is None


def test_each_finding_keeps_its_own_status_beside_the_versions_worst() -> None:
    moved = (stored_link(2, channel="prod", bucket="b"), version(2, bucket="b"), channel(3))
    hint = {"bucket": "e", "version": "v9", "reason": "bucket 'e' has no version 'v9'"}
    worst, links = judge_links([moved], [hint], origin="hcp")
    assert worst == "out_of_date"
    assert [f["status"] for f in attention(links)] == ["out_of_date", "undetermined"]
    assert [rules.how(f) for f in attention(links)] == [
        "reported by Packer through the HCP API: parent_version_id, parent_channel_id",
        "reported by Packer through the HCP API: parent_version_id"]


def test_the_door_a_version_came_through_is_told_by_its_template_type() -> None:
    assert rules.origin("HCL2") == rules.origin("TEMPLATE_TYPE_UNSET") == "hcp"
    assert rules.origin(None) == "manifest"


def test_an_untracked_source_reads_as_information_with_its_region_when_known() -> None:
    assert rules.untracked_note({"source_artifact": "ami-0abc", "region": "us-east-1"}) == \
        "source not tracked: ami-0abc (us-east-1)"
    assert rules.untracked_note({"source_artifact": "ubuntu:24.04"}) == "source not tracked: ubuntu:24.04"


def test_an_untracked_source_is_looked_for_within_its_window_only() -> None:
    at = "2026-12-01T00:00:00.000000Z"
    assert rules.still_matching(at, "2026-12-01T00:00:59.999999Z", 60)
    assert not rules.still_matching(at, "2026-12-01T00:01:00.000000Z", 60)
    assert not rules.still_matching(at, "2026-12-08T00:00:00.000000Z", 7 * 86400)
    assert rules.still_matching(at, "2026-12-07T23:59:59.000000Z", 7 * 86400)


def test_a_revoked_version_judges_its_revoked_parent_as_not_sparing_it() -> None:
    revoked = (stored_link(4), version(4, "revoked"), None)
    assert judge_links([revoked], revoked=True)[1][0]["finding"]["revoked_too"] is True
    assert judge_links([revoked])[1][0]["finding"]["revoked_too"] is False


@PROPERTIES
@given(statuses=st.lists(st.sampled_from(rules.SEVERITY), min_size=1, max_size=6))
def test_the_worst_link_wins_in_any_order(statuses: list[str]) -> None:
    reads: list[tuple[Mapping[str, Any], Mapping[str, Any] | None, Mapping[str, Any] | None]] = []
    for i, status in enumerate(statuses, 1):
        link = stored_link(i, channel="prod", bucket=f"b{i}")
        parent = None if status == "undetermined" else version(i, "revoked" if status == "parent_revoked" else "active",
                                                                bucket=f"b{i}")
        reads.append((link, parent, channel(i + 1 if status == "out_of_date" else i)))
    worst, links = judge_links(reads)
    assert worst == max(statuses, key=rules.SEVERITY.index)
    assert [link["status"] for link in links] == statuses


def test_a_version_stores_the_findings_of_links_needing_attention() -> None:
    links = [{"status": "up_to_date", "finding": {"kind": "newest"}},
             {"status": "out_of_date", "finding": {"kind": "moved"}},
             {"status": "undetermined", "finding": {"kind": "deleted"}}]
    assert attention(links) == [{"kind": "moved"}, {"kind": "deleted"}]
    assert attention([]) == []


@pytest.mark.parametrize(("status", "version_status", "listed"), [
    ("out_of_date", "active", True),
    ("parent_revoked", "revocation_scheduled", True),
    ("undetermined", "running", True),
    ("up_to_date", "active", False),
    (None, "active", False),
    ("out_of_date", "revoked", False),
    ("parent_revoked", "revoked", False),
])
def test_the_report_flags_usable_versions_whose_ancestry_needs_attention(status: str | None, version_status: str,
                                                                         listed: bool) -> None:
    assert flagged(version(1, version_status), status) is listed


def test_a_version_flagged_without_a_status_field_counts_as_usable() -> None:
    assert flagged({"bucket": "base", "number": 1}, "out_of_date") is True


def test_an_inherited_revocation_names_the_ancestor_it_came_from() -> None:
    assert inherited_findings({"inherited_from": "base/v3", "reason": "CVE-2"}) == [
        {"kind": "inherited", "status": "parent_revoked", "bucket": "base", "version": "v3", "reason": "CVE-2"}]
    assert inherited_findings({}) == [{"kind": "inherited", "status": "parent_revoked", "bucket": "", "version": ""}]


# ---- outdated propagates down the chain -------------------------------------------------------

def test_a_version_is_stale_for_its_children_when_stored_outdated_or_parent_revoked() -> None:
    fine = fact("newest", "up_to_date", bucket="a", version="v1")
    moved = fact("moved", "out_of_date", bucket="a", version="v1")
    revoked = fact("revoked", "parent_revoked", bucket="a", version="v1")
    assert stale_cause(version(1, ancestry_status="out_of_date", ancestry_findings=[fine, moved, revoked])) == (
        True, moved)
    assert stale_cause(version(1, ancestry_status="parent_revoked", ancestry_findings=[revoked])) == (True, revoked)
    assert stale_cause(version(1, ancestry_status="out_of_date")) == (True, None)
    assert stale_cause(version(1, ancestry_status="out_of_date", ancestry_findings=[fine])) == (True, None)
    assert stale_cause(version(1, ancestry_status="undetermined", ancestry_findings=[moved])) == (False, None)
    assert stale_cause(version(1)) == (False, None)


def test_a_stale_chain_is_kept_flat_nearest_first_with_the_cause_at_the_end() -> None:
    cause = fact("moved", "out_of_date", bucket="os", version="v1", channel="prod", now="v2")
    inner = stale_finding([version(1, bucket="base")], cause)
    assert inner == {"kind": "stale_parent", "status": "out_of_date", "bucket": "base", "version": "v1",
                     "via": [{"bucket": "base", "version": "v1"}], "cause": cause}
    outer = stale_finding([version(3, bucket="app")], inner)
    assert outer == {"kind": "stale_parent", "status": "out_of_date", "bucket": "app", "version": "v3",
                     "via": [{"bucket": "app", "version": "v3"}, {"bucket": "base", "version": "v1"}],
                     "cause": cause}


def test_a_stale_chain_without_steps_names_its_cause() -> None:
    cause = fact("revoked", "parent_revoked", bucket="os", version="v4", reason="x")
    assert stale_finding([], cause) == {"kind": "stale_parent", "status": "out_of_date", "bucket": "os",
                                        "version": "v4", "via": [], "cause": cause}
    assert stale_finding([], None) == {"kind": "stale_parent", "status": "out_of_date", "via": []}


def test_a_stale_chain_is_capped_at_max_walk_steps() -> None:
    path = [version(n, bucket=f"b{n}") for n in range(1, rules.MAX_WALK + 3)]
    finding = stale_finding(path, None)
    assert len(finding["via"]) == rules.MAX_WALK
    assert finding["via"][-1] == {"bucket": f"b{rules.MAX_WALK}", "version": f"v{rules.MAX_WALK}"}
    nested = stale_finding(path[:2], stale_finding(path[2:], None))
    assert nested["via"] == finding["via"]
    assert len(stale_finding(path[:rules.MAX_WALK], None)["via"]) == rules.MAX_WALK


def test_walking_up_stops_at_a_revoked_or_stale_ancestor() -> None:
    child = version(2, bucket="app")
    revoked = version(1, "revoked", bucket="base", revocation={"reason": "CVE-1"})
    assert ancestor_finding([], revoked) == {
        "kind": "stale_parent", "status": "out_of_date", "bucket": "base", "version": "v1", "via": [],
        "cause": {"kind": "revoked", "status": "parent_revoked", "bucket": "base", "version": "v1", "reason": "CVE-1"}}
    assert ancestor_finding([child], revoked)["via"] == [{"bucket": "app", "version": "v2"}]
    cause = fact("moved", "out_of_date", bucket="os", version="v1")
    stale = version(1, bucket="base", ancestry_status="out_of_date", ancestry_findings=[cause])
    assert ancestor_finding([child], stale) == {
        "kind": "stale_parent", "status": "out_of_date", "bucket": "app", "version": "v2",
        "via": [{"bucket": "app", "version": "v2"}, {"bucket": "base", "version": "v1"}], "cause": cause}
    assert ancestor_finding([child], version(1, bucket="base", ancestry_status="up_to_date")) is None
    # a revoked parent stored as outdated too: the revocation is what counts
    both = {**revoked, "ancestry_status": "out_of_date", "ancestry_findings": [cause]}
    assert ancestor_finding([], both)["cause"]["kind"] == "revoked"


def test_a_finding_leaves_out_empty_facts() -> None:
    assert fact("deleted", "undetermined", bucket="a", version=None, channel="") == {
        "kind": "deleted", "status": "undetermined", "bucket": "a", "channel": ""}


# ---- findings in words ------------------------------------------------------------------------

def only(bucket: str | None, channel: str | None) -> bool:
    """A viewer who may see base's `prod` and nothing else."""
    return (bucket, channel) == ("base", "prod")


MOVED = {"kind": "moved", "status": "out_of_date", "bucket": "base", "version": "v1", "channel": "prod", "now": "v2"}
MOVED_HIDDEN = {**MOVED, "channel": "secret"}
LATEST_MOVED = {**MOVED, "channel": "latest", "managed": True}
REVOKED_TOO = {"kind": "revoked", "bucket": "base", "version": "v1", "reason": "CVE-1", "revoked_too": True}
CHANNEL_GONE = {"kind": "channel_deleted", "bucket": "base", "version": "v1", "channel": "prod"}
CHANNEL_GONE_HIDDEN = {**CHANNEL_GONE, "channel": "secret"}


@pytest.mark.parametrize(("finding", "said"), [
    ({"kind": "deleted", "bucket": "base", "version": "v1"}, "parent base v1 was deleted"),
    ({"kind": "revoked", "bucket": "base", "version": "v1", "reason": "CVE-1"},
     "parent base v1 is revoked (CVE-1); this version was spared"),
    (REVOKED_TOO, "parent base v1 is revoked (CVE-1); this version is revoked too"),
    ({"kind": "inherited", "bucket": "base", "version": "v1", "reason": "CVE-1"},
     "ancestor base v1 is revoked (CVE-1); this version inherited the revocation"),
    (CHANNEL_GONE, "parent base channel prod was deleted; this was built from v1"),
    (CHANNEL_GONE_HIDDEN, "the parent base channel this was built from no longer exists; this was built from v1"),
    (MOVED, "parent base channel prod now points at v2; this was built from v1"),
    ({**MOVED, "now": None}, "parent base channel prod now points at nothing; this was built from v1"),
    (MOVED_HIDDEN, "parent base has a newer version in use than v1, which this was built from"),
    ({**LATEST_MOVED, "channel": "prod"}, "parent base latest is now v2; this was built from v1"),
    ({"kind": "current", "bucket": "base", "version": "v1", "channel": "prod"},
     "parent base channel prod still points at v1"),
    ({"kind": "current", "bucket": "base", "version": "v1", "channel": "secret"},
     "parent base v1 is still the version in use"),
    ({"kind": "newest", "bucket": "base", "version": "v1"}, "parent base v1 is still its newest version"),
    ({"kind": "unresolved", "bucket": "base", "channel": "prod", "reason": "no channel 'prod'"},
     "parent not found: no channel 'prod'"),
    ({"kind": "unresolved", "bucket": "base", "channel": "secret", "reason": "no channel 'secret'"},
     "parent not found: no version of bucket 'base' matches the parent channel named in the manifest"),
    ({"kind": "unresolved", "source_artifact": "ami-1", "reason": "no artifact 'ami-1'"},
     "parent not found: no artifact 'ami-1'"),
    ({"kind": "something new", "message": "a message"}, "a message"),
    ({"kind": "something new", "status": "out_of_date"}, "out_of_date"),
    ({}, ""),
])
def test_each_finding_in_words_for_a_viewer(finding: dict[str, Any], said: str) -> None:
    assert rules.sentence(finding, only) == said


def test_a_contributor_reads_every_channel_named() -> None:
    assert rules.sentence(MOVED_HIDDEN) == "parent base channel secret now points at v2; this was built from v1"
    assert rules.sentence(MOVED_HIDDEN, rules.everything) == rules.sentence(MOVED_HIDDEN)
    assert rules.sentence(MOVED, rules.nothing) == rules.sentence(MOVED_HIDDEN, only)
    assert rules.sentence({**LATEST_MOVED, "channel": "latest"}) == "parent base latest is now v2; this was built from v1"


def test_a_finding_with_an_empty_channel_names_none() -> None:
    assert rules.sentence({**MOVED, "channel": ""}, rules.everything) == (
        "parent base has a newer version in use than v1, which this was built from")


@pytest.mark.parametrize(("finding", "said"), [
    (REVOKED_TOO, "parent base v1 is revoked (CVE-1)"),
    (CHANNEL_GONE, "parent base channel prod was deleted"),
    (CHANNEL_GONE_HIDDEN, "the parent base channel this was built from no longer exists"),
    (MOVED, "parent base channel prod now points at v2"),
    (MOVED_HIDDEN, "parent base has a newer version in use than v1"),
])
def test_a_cause_at_the_end_of_a_chain_is_said_without_what_this_was_built_from(finding: dict[str, Any],
                                                                                said: str) -> None:
    assert rules.sentence(finding, only, short=True) == said


def test_a_stale_chain_in_words_names_each_step_then_the_cause() -> None:
    chain = {"kind": "stale_parent", "via": [{"bucket": "app", "version": "v3"}, {"bucket": "base", "version": "v1"}],
             "cause": MOVED_HIDDEN}
    assert rules.sentence(chain, only) == ("parent app v3 is out of date: parent base v1 is out of date: "
                                           "parent base has a newer version in use than v1")
    assert rules.sentence(chain) == ("parent app v3 is out of date: parent base v1 is out of date: "
                                     "parent base channel secret now points at v2")
    assert rules.sentence({"kind": "stale_parent", "via": [{"bucket": "app", "version": "v3"}]}) == (
        "parent app v3 is out of date: its ancestry needs attention")
    assert rules.sentence({"kind": "stale_parent"}) == "its ancestry needs attention"


def test_how_a_channel_link_was_resolved_in_words() -> None:
    link = {"bucket": "base", "version": "v2", "channel": "prod", "resolved_at": "build_time",
            "resolved_time": "2026-01-01T00:00:00.000000Z"}
    assert rules.resolution(link, only) == "channel prod pointed at v2 at the build time (2026-01-01T00:00:00.000000Z)"
    assert rules.resolution({**link, "channel": "secret"}, only) == "the parent version is base v2"
    assert rules.resolution({**link, "channel": "secret"}) == (
        "channel secret pointed at v2 at the build time (2026-01-01T00:00:00.000000Z)")
    at_upload = {**link, "resolved_at": "upload", "build_time": "2025-12-31T00:00:00.000000Z"}
    assert rules.resolution(at_upload, only) == (
        "channel prod pointed at v2 when this version was recorded (2026-01-01T00:00:00.000000Z); "
        "it had no version at the build time (2025-12-31T00:00:00.000000Z)")
    # a channel the caller may not see: only the parent version, however (and whether) the channel held it
    assert rules.resolution({**at_upload, "channel": "secret"}, only) == "the parent version is base v2"
    assert rules.resolution({**at_upload, "build_time": None, "channel": None}, only) == "the parent version is base v2"
    assert rules.resolution({**at_upload, "channel": "secret", "version": None}, only) is None


def test_a_link_not_resolved_through_a_channel_has_no_resolution() -> None:
    assert rules.resolution({"bucket": "base", "version": "v2", "channel": "prod"}) is None
    assert rules.resolution({"bucket": "base", "version": "v2", "resolved_at": None}) is None


def test_nobody_or_everybody_sees_a_channel() -> None:
    assert rules.everything("base", "prod") is True
    assert rules.nothing("base", "prod") is False


@pytest.mark.parametrize(("link", "origin", "facts"), [
    (stored_link(2), "manifest", {"found_by": "parent_version", "origin": "manifest",
                                  "named": ["parent_bucket", "parent_version"]}),
    ({**stored_link(2, channel="prod"), "found_by": "parent_version"}, "hcp",
     {"found_by": "parent_version", "origin": "hcp", "named": ["parent_version_id", "parent_channel_id"]}),
    ({"version_id": "01J", "found_by": "unresolved"}, None,
     {"found_by": "unresolved", "origin": "hcp", "named": ["parent_version_id"]}),
    ({**stored_link(2), "found_by": "source_artifact", "source_artifact": "ami-9"}, "hcp",
     {"found_by": "source_artifact", "source_artifact": "ami-9"}),
    ({"source_artifact": "ami-1", "found_by": "unresolved"}, "manifest",
     {"found_by": "unresolved", "source_artifact": "ami-1"}),
    ({**stored_link(2), "found_by": "source_artifact"}, "manifest", {"found_by": "source_artifact"}),  # stored before
    # a link that names a bucket is explicit, whatever source its build also had
    ({**stored_link(2), "source_artifact": "ami-1"}, "manifest",
     {"found_by": "parent_version", "origin": "manifest", "named": ["parent_bucket", "parent_version"]}),
])
def test_the_facts_of_how_a_link_was_found(link: dict[str, Any], origin: str | None, facts: dict[str, Any]) -> None:
    assert rules.provenance(link, origin) == facts


def test_an_explicit_finding_says_what_named_it_even_beside_a_source() -> None:
    assert rules.how({"found_by": "parent_version", "origin": "manifest", "named": ["parent_bucket"],
                      "source_artifact": "ami-1"}) == "named in the manifest: parent_bucket"
    assert rules.how({"found_by": "parent_version", "named": ["parent_bucket"]}) is None  # no door: said nothing
