"""The HCP registry's own routes (issue 23, item 1): CreateRegistry, UpdateRegistry and
DeleteRegistry (`PUT`/`PATCH`/`DELETE P/registry`) with what HCP Packer answers and what a
deactivated or deleted registry means here (services/registry.py), and the run task's settings
(GetRunTaskConfig, UpdateRunTaskConfig: `…/runtasks/config`); the run task honouring them is
in test_runtask.py."""

from __future__ import annotations

import pytest

from chalicelib import storage
from chalicelib.services import registry as settings
from support import Hcp, mint, race


@pytest.fixture
def api(registry) -> Hcp:
    return Hcp(registry)


def test_the_registry_is_there_once_and_its_tier_changes(api):
    registry = api.ok("GET", "registry")["registry"]
    assert registry["config"] == {"activated": True, "feature_tier": "STANDARD",
                                  "tfc_run_task_config": {"on_untracked_image": "UNSET"}}
    answer = api.fails("PUT", "registry", {"feature_tier": "PLUS"}, status=409, code=6)
    assert "already exists" in answer["message"]
    changed = api.ok("PATCH", "registry", {"feature_tier": "PLUS"})
    assert set(changed) == {"registry", "operation"} and changed["operation"]["state"] == "DONE"
    assert changed["registry"]["config"]["feature_tier"] == "PLUS" and changed["registry"]["id"] == registry["id"]
    assert changed["registry"]["updated_at"] > registry["updated_at"]
    # `activated` without its update mask is ignored, as the SDK's model says
    assert api.ok("PATCH", "registry", {"activated": False})["registry"]["config"]["activated"] is True
    api.fails("PATCH", "registry", {"feature_tier": "GOLD"}, status=400, code=3)
    assert api.ok("GET", "registry")["registry"]["config"]["feature_tier"] == "PLUS"


def test_a_deactivated_registry_takes_no_new_buckets_or_versions_through_the_hcp_door(api):
    api.ok("PUT", "buckets", {"name": "base"})
    deactivated = api.ok("PATCH", "registry", {"update_mask": "config.activated", "activated": False})["registry"]
    config = deactivated["config"]
    assert config["activated"] is False and config["billing_deprovision"]["reason"] == "USER_REQUEST"
    assert config["billing_deprovision"]["at"]
    answer = api.fails("PUT", "buckets", {"name": "web"}, status=400, code=9)
    assert "deactivated" in answer["message"]
    api.fails("POST", "buckets/base/versions", {"fingerprint": "fp-1"}, status=400, code=9)
    api.fails("GET", "buckets/web", status=404, code=5)
    # what is stored is read and changed as ever; the native door is not the HCP registry
    assert api.ok("GET", "buckets/base")["bucket"]["name"] == "base"
    api.ok("POST", "buckets/base/channels", {"name": "staging"})
    api.registry.send("post", "/buckets", {"name": "native"}, 201)
    api.ok("PATCH", "registry", {"updateMask": "config.activated", "activated": True})
    assert api.ok("GET", "registry")["registry"]["config"] == {
        "activated": True, "feature_tier": "STANDARD", "tfc_run_task_config": {"on_untracked_image": "UNSET"}}
    api.ok("PUT", "buckets", {"name": "web"})
    api.ok("POST", "buckets/base/versions", {"fingerprint": "fp-1"})
    events = [e for e in api.registry.get("/events")["items"] if e["target"] == "registry"]
    assert [(e["action"], e["after"]["state"]) for e in events][:2] == [("registry.updated", "active"),
                                                                       ("registry.updated", "deactivated")]


def test_the_registry_is_deleted_only_once_empty_and_created_again(api):
    api.ok("PUT", "buckets", {"name": "base"})
    answer = api.fails("DELETE", "registry", status=400, code=9)
    assert "buckets" in answer["message"]
    api.ok("DELETE", "buckets/base")
    deleted = api.ok("DELETE", "registry")["registry"]
    assert deleted["config"]["activated"] is False
    api.fails("GET", "registry", status=404, code=5)
    api.fails("PATCH", "registry", {"feature_tier": "PLUS"}, status=404, code=5)
    api.fails("DELETE", "registry", status=404, code=5)
    api.fails("PUT", "buckets", {"name": "base"}, status=400, code=9)
    created = api.ok("PUT", "registry", {"feature_tier": "PLUS"})["registry"]
    assert created["config"]["activated"] is True and created["config"]["feature_tier"] == "PLUS"
    assert created["id"] != deleted["id"]
    assert api.ok("GET", "registry")["registry"] == created
    api.ok("PUT", "buckets", {"name": "base"})
    actions = [e["action"] for e in api.registry.get("/events")["items"] if e["target"] == "registry"]
    assert actions[:2] == ["registry.created", "registry.deleted"]


def test_the_run_task_settings_are_read_by_anyone_and_changed_by_admins(api):
    assert api.ok("GET", "runtasks/config") == {"on_untracked_image": "UNSET"}
    assert api.ok("PATCH", "runtasks/config", {"on_untracked_image": "FAIL"}) == {"on_untracked_image": "FAIL"}
    viewer = api.as_token(mint(api.registry, "viewer"))
    assert viewer.ok("GET", "runtasks/config") == {"on_untracked_image": "FAIL"}
    assert api.ok("GET", "registry")["registry"]["config"]["tfc_run_task_config"] == {"on_untracked_image": "FAIL"}
    api.fails("PATCH", "runtasks/config", {"on_untracked_image": "BLOCK"}, status=400, code=3)
    assert api.ok("PATCH", "runtasks/config", {}) == {"on_untracked_image": "UNSET"}  # an absent enum is UNSET
    contributor = api.as_token(mint(api.registry, "contributor"))
    for method, path, body in (("PATCH", "runtasks/config", {"on_untracked_image": "WARN"}),
                               ("PUT", "registry", {}), ("PATCH", "registry", {"feature_tier": "PLUS"}),
                               ("DELETE", "registry", None)):
        answer = contributor.fails(method, path, body, status=403, code=7)
        assert "admin" in answer["message"]
    (event,) = [e for e in api.registry.get("/events")["items"] if e["action"] == "runtask.config_updated"][:1]
    assert (event["before"]["on_untracked_image"], event["after"]["on_untracked_image"]) == ("FAIL", "UNSET")


def test_concurrent_changes_of_the_settings_each_apply_once(registry, moto_server):
    """Eight admins change the run task's setting at once (UpdateRunTaskConfig's service, in
    threads), three times over, on a moto server: every change lands exactly once (one `rev`
    and one audit event each), none is lost."""
    def changes() -> list[dict]:
        return [e for e in registry.all_pages("/events") if e["action"] == "runtask.config_updated"]
    for _ in range(3):
        before, counted = storage.registry.settings(), len(changes())
        values = ["FAIL", "WARN"] * 4
        assert race(*(lambda v=v: settings.set_on_untracked_image(v, f"admin-{v}") for v in values)) == []
        after = storage.registry.settings()
        events = changes()
        # a change to the value already stored writes nothing; every other one is counted once
        assert after is not None and after.rev - (before.rev if before else 0) == len(events) - counted > 0
        assert after.on_untracked_image == events[0]["after"]["on_untracked_image"]
