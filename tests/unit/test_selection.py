"""domain/selection.py: which versions a bulk revocation's filter selects (pure)."""

from __future__ import annotations

from chalicelib.domain import selection

VERSION = {"created_at": "2026-03-01T00:00:00.000000Z", "status": "active",
           "parents": [{"bucket": "base", "number": 3}], "build_labels": ["os:debian", "os:ubuntu", "tier:gold"]}
BUILDS = [{"labels": {"os": "debian", "tier": "gold"}, "indexed_ids": ["ami-1"]},
          {"labels": {"os": "ubuntu"}, "indexed_ids": ["ami-2", "ami-3"]}]


def test_every_criterion_given_must_hold():
    assert selection.matches(VERSION, BUILDS, {"created_before": "2026-03-01T00:00:00.000001Z"})
    assert not selection.matches(VERSION, BUILDS, {"created_before": "2026-03-01T00:00:00.000000Z"})  # strictly
    assert selection.matches(VERSION, BUILDS, {"labels": {"os": "debian", "tier": "gold"}})
    assert selection.matches(VERSION, BUILDS, {"labels": {"os": "ubuntu", "tier": "gold"}})  # builds taken together
    assert not selection.matches(VERSION, BUILDS, {"labels": {"os": "arch"}})
    assert not selection.matches({**VERSION, "build_labels": None}, BUILDS, {"labels": {"os": "debian"}})
    assert selection.matches({**VERSION, "build_labels": ["os:debian"]}, BUILDS, {"labels": {"os": "debian"}})  # all
    assert selection.matches(VERSION, BUILDS, {"parent": {"bucket": "base", "version": "v3"}})
    assert not selection.matches(VERSION, BUILDS, {"parent": {"bucket": "base", "version": "v4"}})
    assert not selection.matches(VERSION, BUILDS, {"parent": {"bucket": "other", "version": "v3"}})
    assert selection.matches(VERSION, BUILDS, {"external_ids": ["ami-9", "ami-3"]})
    assert not selection.matches(VERSION, BUILDS, {"external_ids": ["ami-9"]})
    assert not selection.matches(VERSION, BUILDS, {"labels": {"os": "debian"}, "external_ids": ["ami-9"]})
    assert not selection.matches({**VERSION, "parents": None}, [], {"parent": {"bucket": "base", "version": "v3"}})


def test_a_filter_as_a_caller_reads_it_leaves_out_the_hidden_labels():
    both = {"labels": {"parent_channel": "secret", "os": "debian"}, "created_before": "2026-03-01T00:00:00.000000Z"}
    assert selection.shown(both, {"parent_channel"}) == {**both, "labels": {"os": "debian"}}
    assert selection.shown(both, set()) == both
    assert selection.shown({"labels": {"parent_channel": "secret"}}, {"parent_channel"}) == {"labels": None}
    assert selection.shown({"parent": {"bucket": "base", "version": "v3"}}, {"parent_channel"}) == {
        "parent": {"bucket": "base", "version": "v3"}}


def test_the_source_is_the_narrowest_index_named():
    assert selection.source({"parent": {"bucket": "b", "version": "v1"}, "external_ids": ["x"]}) == "parent"
    assert selection.source({"external_ids": ["x"], "labels": {"a": "b"}}) == "external_ids"
    assert selection.source({"labels": {"a": "b"}}) == "buckets"
    assert selection.named({"labels": {}, "external_ids": [], "created_before": None}) == []
    assert selection.named({"external_ids": ["x"], "created_before": "2026-01-01T00:00:00Z", "other": 1}) == [
        "created_before", "external_ids"]
    assert selection.needs_builds({"external_ids": ["x"]}) and not selection.needs_builds({"labels": {"a": "b"}})


def test_skip_reasons():
    assert selection.skip_reason(None) == "not_found"
    assert selection.skip_reason({"status": "revoked"}) == "already_revoked"
    assert selection.skip_reason({"status": "running"}) == "running"
    assert selection.skip_reason({"status": "active"}) is None
    assert selection.skip_reason({"status": "revocation_scheduled"}) is None
