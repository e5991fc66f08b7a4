"""The retention rule (domain/retention.py): which versions a policy acts on, and why the others are kept."""

from datetime import timedelta

import pytest

from chalicelib.domain.retention import Action, Candidate, Policy, decide, duration, ranked_from

CUTOFF = "2026-05-01T00:00:00.000000Z"
OLD, YOUNG = "2026-04-01T00:00:00.000000Z", "2026-05-02T00:00:00.000000Z"


def version(number: int, status: str = "active", created_at: str = OLD, **holds) -> Candidate:
    return Candidate(number=number, name=f"v{number}", status=status, created_at=created_at, **holds)


def acted(decisions) -> list[int]:
    return [d.number for d in decisions if d.act]


def test_keep_newest_counts_only_active_versions():
    # v5, v4 revoked; the 2 newest active are v6 and v3.
    statuses = {1: "active", 2: "active", 3: "active", 4: "revoked", 5: "revoked", 6: "active"}
    newest_active = [n for n in sorted(statuses, reverse=True) if statuses[n] == "active"]
    assert ranked_from(newest_active, 2) == 3
    policy = Policy(Action.REVOKE, keep_newest=2)
    decisions, over = decide(policy, [version(n, s) for n, s in sorted(statuses.items())], 3, None)
    assert acted(decisions) == [1, 2]
    assert over  # v3 is among the newest 2: nothing after it can be revoked
    reasons = {d.number: d.reasons for d in decisions}
    assert reasons[3] == ("among the newest 2 active versions",)
    assert reasons[4] == ("already revoked",)
    assert reasons[1] == ("not among the newest 2 active versions",)


def test_fewer_active_versions_than_keep_newest_keeps_them_all():
    assert ranked_from([3, 2], 5) == 0
    assert ranked_from([], 5) == 0
    assert ranked_from([3, 2], None) is None
    decisions, _ = decide(Policy(Action.REVOKE, keep_newest=5), [version(1), version(2)], 0, None)
    assert acted(decisions) == []


def test_delete_takes_revoked_versions_too_and_keeps_going_past_the_ranked_ones():
    policy = Policy(Action.DELETE, keep_newest=1)
    decisions, over = decide(policy, [version(1, "revoked"), version(2), version(3, "revoked")], 2, None)
    assert acted(decisions) == [1, 3]
    assert not over  # revoked versions after the newest active may still be deleted


def test_keep_younger_than_keeps_young_versions_and_ends_the_pass():
    policy = Policy(Action.REVOKE, keep_younger_than=timedelta(days=30))
    decisions, over = decide(policy, [version(1), version(2, created_at=YOUNG)], None, CUTOFF)
    assert acted(decisions) == [1]
    assert over
    assert decisions[1].reasons == ("younger than 30d",)
    assert decisions[0].reasons == ("older than 30d",)


def test_both_rules_act_only_where_neither_keeps():
    policy = Policy(Action.REVOKE, keep_newest=1, keep_younger_than=timedelta(days=30))
    # v1 old and not newest: revoked; v2 old but the newest active: kept; v3 young: kept.
    decisions, _ = decide(policy, [version(1), version(2), version(3, "revoked", YOUNG)], 2, CUTOFF)
    assert acted(decisions) == [1]
    assert decisions[0].reasons == ("not among the newest 1 active versions and older than 30d",)


@pytest.mark.parametrize("holds, reason", [
    ({"held_by": ("production",)}, "held by channel production"),
    ({"held_by": ("latest", "production")}, "held by channels latest, production"),
    ({"active_children": ("child/v1",)}, "has children that are not revoked: child/v1"),
])
def test_never_a_held_version(holds, reason):
    for action in Action:
        decisions, _ = decide(Policy(action, keep_newest=1), [version(1, **holds), version(2)], 2, None)
        assert acted(decisions) == [] and decisions[0].reasons == (reason,)


@pytest.mark.parametrize("status, reason", [("running", "still running (being built or published)"),
                                            ("revocation_scheduled", "its revocation is scheduled")])
def test_never_running_or_scheduled_versions(status, reason):
    for action in Action:
        decisions, _ = decide(Policy(action, keep_newest=1), [version(1, status), version(2)], 2, None)
        assert acted(decisions) == [] and decisions[0].reasons == (reason,)


def test_revoke_leaves_revoked_versions_and_delete_takes_them():
    decisions, _ = decide(Policy(Action.REVOKE, keep_newest=1), [version(1, "revoked"), version(2)], 2, None)
    assert acted(decisions) == []
    decisions, _ = decide(Policy(Action.DELETE, keep_newest=1), [version(1, "revoked"), version(2)], 2, None)
    assert acted(decisions) == [1]


def test_a_pass_is_not_over_while_everything_read_may_be_acted_on():
    decisions, over = decide(Policy(Action.REVOKE, keep_newest=1), [version(1), version(2)], 5, None)
    assert acted(decisions) == [1, 2] and not over


@pytest.mark.parametrize("text, expected", [("30d", timedelta(days=30)), ("12h", timedelta(hours=12)),
                                            ("1d12h", timedelta(days=1, hours=12)), (" 90m ", timedelta(minutes=90)),
                                            ("3650d", timedelta(days=3650)), ("1h", timedelta(hours=1))])
def test_durations(text, expected):
    assert duration(text) == expected


@pytest.mark.parametrize("text, words", [("", "must look like 30d"), ("30 days", "must look like 30d"),
                                         ("P30D", "must look like 30d"), ("10s", "must look like 30d"),
                                         ("59m", "between 1h and 3650d"), ("3651d", "at most 3650d"),
                                         ("99999999999999d", "at most 3650d"), ("0d", "between 1h and 3650d")])
def test_bad_durations_name_the_field_and_the_limit(text, words):
    with pytest.raises(ValueError, match="keep_younger_than") as error:
        duration(text)
    assert words in str(error.value)


def test_a_decision_carries_the_version_as_read():
    (decision,), over = decide(Policy(Action.DELETE, keep_newest=1), [version(4, "revoked", OLD)], 9, None)
    assert (decision.number, decision.name, decision.status, decision.created_at, decision.act) == (
        4, "v4", "revoked", OLD, True)
    assert over is False
    assert decide(Policy(Action.DELETE, keep_newest=1), [], 9, None) == ([], False)


def test_exactly_keep_newest_active_versions_are_all_kept():
    assert ranked_from([5, 4], 2) == 4
    assert ranked_from([5, 4, 2], 2) == 4


def test_a_version_created_exactly_at_the_cutoff_is_kept():
    policy = Policy(Action.REVOKE, keep_younger_than=timedelta(minutes=90))
    decisions, over = decide(policy, [version(1, created_at=CUTOFF)], None, CUTOFF)
    assert acted(decisions) == [] and over
    assert decisions[0].reasons == ("younger than 1h30m",)


def test_every_active_child_is_named():
    decisions, _ = decide(Policy(Action.REVOKE, keep_newest=1),
                          [version(1, active_children=("a/v1", "b/v2")), version(2)], 2, None)
    assert decisions[0].reasons == ("has children that are not revoked: a/v1, b/v2",)


@pytest.mark.parametrize("age, words", [(timedelta(days=2, hours=3, minutes=4), "older than 2d3h4m"),
                                        (timedelta(hours=1), "older than 1h"),
                                        (timedelta(days=30), "older than 30d")])
def test_ages_are_written_as_the_user_writes_them(age, words):
    decisions, _ = decide(Policy(Action.REVOKE, keep_younger_than=age), [version(1)], None, CUTOFF)
    assert decisions[0].reasons == (words,)
