"""When the sweep may skip a sparse index (domain/sweep_work.py), and how the notes that keep
it honest merge into a transaction that writes the counts item more than once
(storage.table.merged): no DynamoDB."""

from __future__ import annotations

import pytest

from chalicelib.domain import sweep_work
from chalicelib.domain.enums import SweepWork as W
from chalicelib.storage import sweep, table
from chalicelib.storage.entities import Counts

T0 = "2026-01-02T10:00:00.000000Z"
T59 = "2026-01-02T10:00:59.999999Z"
T60 = "2026-01-02T10:01:00.000000Z"


def test_an_index_is_read_unless_its_count_equals_its_idle_mark() -> None:
    noted = {W.SCHEDULED: 3, W.JOBS: 0}
    assert sweep_work.may_find(W.SCHEDULED, noted, {}) is True  # never marked
    assert sweep_work.may_find(W.SCHEDULED, noted, {W.SCHEDULED: 3}) is False
    assert sweep_work.may_find(W.SCHEDULED, noted, {W.SCHEDULED: 2}) is True  # noted since
    assert sweep_work.may_find(W.SCHEDULED, noted, {W.SCHEDULED: 4}) is True  # a mark from ahead: read all the same
    assert sweep_work.may_find(W.JOBS, noted, {W.JOBS: None}) is True
    assert sweep_work.may_find(W.RETENTION, noted, {W.RETENTION: 0}) is False  # never noted counts as 0
    assert sweep_work.to_read(noted, {W.SCHEDULED: 3, W.RETENTION: 0}) == {W.JOBS, W.EXPOSED, W.UNTRACKED, W.DRAFTS,
                                                                          W.VULNS}


def test_marks_are_the_counts_read_for_the_kinds_found_empty_and_changed() -> None:
    noted = {W.SCHEDULED: 3, W.JOBS: 1, W.RETENTION: 2}
    idle = {W.SCHEDULED: 1, W.JOBS: 1}
    assert sweep_work.idle_marks([W.SCHEDULED, W.JOBS, W.EXPOSED], noted, idle, None, T0) == {
        W.SCHEDULED: 3, W.EXPOSED: 0}  # JOBS is marked already; RETENTION was not found empty
    assert sweep_work.idle_marks([], noted, idle, None, T0) == {}
    assert sweep_work.idle_marks([W.EXPOSED], noted, {W.EXPOSED: 0}, None, T0) == {}  # never noted, marked at 0


def test_no_mark_while_the_newest_note_is_younger_than_the_settling_time() -> None:
    assert sweep_work.SETTLE_SECONDS == 60
    noted = {W.SCHEDULED: 1}
    assert sweep_work.idle_marks([W.SCHEDULED], noted, {}, T0, T59) == {}
    assert sweep_work.idle_marks([W.SCHEDULED], noted, {}, T0, T60) == {W.SCHEDULED: 1}
    assert sweep_work.idle_marks([W.SCHEDULED], noted, {}, T60, T0) == {}  # a note from a clock ahead


def test_the_counts_item_reads_its_notes_and_marks_by_kind() -> None:
    counts = Counts.from_item({"work_scheduled": 2, "work_exposed": 5, "idle_scheduled": 2, "work_drafts": 7,
                               "idle_drafts": 6, "work_at": T0})
    assert counts.noted() == {W.SCHEDULED: 2, W.JOBS: 0, W.RETENTION: 0, W.EXPOSED: 5, W.UNTRACKED: 0, W.DRAFTS: 7,
                              W.VULNS: 0}
    assert counts.idle() == {W.SCHEDULED: 2, W.JOBS: None, W.RETENTION: None, W.EXPOSED: None, W.UNTRACKED: None,
                            W.DRAFTS: 6, W.VULNS: None}


def _update(actions: list[dict]) -> dict:
    (action,) = table.merged(actions)
    return action["Update"]


def test_notes_and_counts_of_one_transaction_become_one_update_with_sums() -> None:
    update = _update([sweep.count({"out_of_date": 1}), sweep.note_work(W.EXPOSED, T0),
                      sweep.count({"out_of_date": 1, "parent_revoked": -1}), sweep.note_work(W.EXPOSED, T60)])
    names = update["ExpressionAttributeNames"]
    values = update["ExpressionAttributeValues"]
    adds = dict(clause.split() for clause in update["UpdateExpression"].split("ADD ")[1].split(" SET")[0].split(", "))
    assert {names.get(path, path): values[value] for path, value in adds.items()} == {
        "rev": 2, "out_of_date": 2, "parent_revoked": -1, "work_exposed": 2}
    sets = update["UpdateExpression"].split("SET ")[1].split(", ")
    assert len(sets) == 1 and values[sets[0].split(" = ")[1]] == T60  # the later note's time, as in turn
    assert set(values) == {v for v in values if v in update["UpdateExpression"]}  # no value left unused


def test_two_increments_of_one_attribute_are_refused_not_merged() -> None:
    from chalicelib.storage.expressions import Change

    key = {"PK": "BUCKET#b", "SK": "BUCKET"}
    with pytest.raises(ValueError, match="two updates of one item SET"):
        table.merged([Change(key).increment("n", 1).action(), Change(key).increment("n", 1).action()])
    with pytest.raises(ValueError, match="other than numbers"):
        table.merged([Change(key).add("tags", {"a"}).action(), Change(key).add("tags", {"b"}).action()])


def test_clauses_split_at_top_level_commas_only() -> None:
    assert table._top_level("#a = :v0, #b = if_not_exists(#b, :v1) + :v2, #c = list_append(#c, :v3)") == [
        "#a = :v0", "#b = if_not_exists(#b, :v1) + :v2", "#c = list_append(#c, :v3)"]
