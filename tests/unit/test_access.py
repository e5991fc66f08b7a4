"""domain/access.py: roles on the project and on buckets, as every route judges them."""

from __future__ import annotations

import pytest

from chalicelib.domain.access import Access, allows, bound, caller, effective, higher, member_kind, visible
from chalicelib.domain.enums import Role


def test_roles_include_the_ones_before():
    assert [allows(role, Role.VIEWER) for role in Role] == [False, True, True, True]
    assert allows("admin", "contributor") and not allows("viewer", "contributor")
    assert (higher(None, None), higher("viewer", None), higher("admin", "viewer")) == ("none", "viewer", "admin")


def test_a_role_on_a_bucket_is_the_higher_of_the_project_role_and_the_binding():
    caller_ = Access.of({"role": "viewer", "buckets": '{"web":"contributor","api":"viewer"}'})
    assert (caller_.role_in("web"), caller_.role_in("api"), caller_.role_in("other")) == (
        "contributor", "viewer", "viewer")
    assert caller_.may("web", "contributor") and not caller_.may("api", "contributor")
    assert caller_.sees_every_bucket and caller_.may_somewhere("contributor") and not caller_.may_somewhere("admin")


def test_a_credential_with_no_project_role_sees_its_buckets_only():
    caller_ = Access.of({"role": "none", "buckets": '{"web":"viewer","api":"admin"}'})
    assert not caller_.sees_every_bucket and caller_.seen() == ["api", "web"]
    assert not caller_.may("other", "viewer") and caller_.may("api", "admin")
    assert Access.of({"role": "admin"}).buckets == {}


def test_members_are_named_by_id_and_their_kind_follows_from_it():
    assert member_kind("0123456789abcdef") == "token"
    assert member_kind("0" * 32) == "service_principal"
    assert [member_kind(i) for i in ("", "0123456789ABCDEF", "0" * 20, "bootstrap-admin", "g" * 16)] == [None] * 5


def test_a_member_under_two_roles_holds_the_higher():
    assert effective({"viewer": ["a", "b"], "admin": ["a"], "contributor": ["c"]}) == {
        "a": "admin", "b": "viewer", "c": "contributor"}


@pytest.mark.parametrize("held, seen", [(None, True), ("viewer", True), ("none", False)])
def test_outside_a_request_everything_is_visible_and_inside_the_callers_buckets(held, seen):
    assert caller() is None and visible("web")
    with bound(Access(Role(held)) if held else None):
        assert visible("web") is seen
    assert caller() is None
