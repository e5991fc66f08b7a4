"""Which artifact IDs a /compliance/check body names: an explicit list or a Terraform JSON plan."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from chalicelib.domain.plans import MAX_ARTIFACTS, artifact_ids_from_request

PLAN_PATH = Path(__file__).parents[1] / "fixtures" / "terraform-plan.json"

WEB_AMI = "ami-0c2716a13b6c0ff45"
APP_AMI = "ami-0fd3c3509d9df9905"
GCE_IMAGE = "gold-calyptia-core-20220803131548-us"
AZURE_IMAGE = ("/subscriptions/8d7d1594-ccc4-4018-9cae-3a23c5519eff/resourceGroups/nextcloud"
               "/providers/Microsoft.Compute/images/nextcloudDev")
DOCKER_IMAGE = "sha256:38de416cf36ab5006c476009188f10ff9b0f482db0984f4da11235e6740ddb50"

# Terraform sorts each module's resources by address and puts child modules after them, so
# module.gke's image comes last.
FIXTURE_IDS = [WEB_AMI, APP_AMI, AZURE_IMAGE, DOCKER_IMAGE, GCE_IMAGE]

DELETED_AMI = "ami-00000000000000000"                # aws_instance.legacy: actions ["delete"]
REPLACED_LT_AMI = "ami-05f1e0c3b4a5d6e7f"            # aws_launch_template.app: change.before
REPLACED_DOCKER_IMAGE = "sha256:2a7b3f64e1c15db2c9a1b0e8d74f6a3c5e92d108b7f4c6a3e5d1b9f0c2a84e67"


@pytest.fixture
def plan() -> dict:
    return json.loads(PLAN_PATH.read_text())


def resource(address: str, values: dict, mode: str = "managed") -> dict:
    kind, name = address.rsplit(".", 2)[-2:]
    return {"address": address, "mode": mode, "type": kind, "name": name,
            "provider_name": "registry.terraform.io/hashicorp/aws", "schema_version": 0,
            "values": values, "sensitive_values": {}}


def change(address: str, actions: list[str], after: dict | None, after_unknown: dict | None = None,
           before: dict | None = None, mode: str = "managed") -> dict:
    kind, name = address.rsplit(".", 2)[-2:]
    return {"address": address, "mode": mode, "type": kind, "name": name,
            "provider_name": "registry.terraform.io/hashicorp/aws",
            "change": {"actions": actions, "before": before, "after": after,
                       "after_unknown": after_unknown or {}, "before_sensitive": False, "after_sensitive": {}}}


def a_plan(resources: list | None = None, changes: list | None = None, child_modules: list | None = None) -> dict:
    root: dict = {"resources": resources or []}
    if child_modules:
        root["child_modules"] = child_modules
    body: dict = {"format_version": "1.2", "terraform_version": "1.9.5", "planned_values": {"root_module": root}}
    if changes is not None:
        body["resource_changes"] = changes
    return body


# ---- the hand-written `terraform show -json` fixture ----------------------------------

def test_fixture_yields_the_five_deployed_images_in_order(plan):
    assert artifact_ids_from_request(plan) == FIXTURE_IDS


def test_fixture_ignores_deleted_replaced_and_unknown_images(plan):
    text = PLAN_PATH.read_text()
    # The fixture does carry them (prior_state, change.before), so their absence means something.
    for present in (DELETED_AMI, REPLACED_LT_AMI, REPLACED_DOCKER_IMAGE):
        assert present in text
    canary = next(c for c in plan["resource_changes"] if c["address"] == "aws_instance.canary")
    assert canary["change"]["after"]["ami"] is None and canary["change"]["after_unknown"]["ami"] is True

    ids = artifact_ids_from_request(plan)

    assert DELETED_AMI not in ids
    assert REPLACED_LT_AMI not in ids
    assert REPLACED_DOCKER_IMAGE not in ids
    assert None not in ids and "" not in ids


def test_planned_values_alone_yield_every_image(plan):
    del plan["resource_changes"]
    assert artifact_ids_from_request(plan) == FIXTURE_IDS


def test_resource_changes_alone_yield_every_image(plan):
    del plan["planned_values"]
    # resource_changes are sorted by address, and module.gke... sorts last as well.
    assert artifact_ids_from_request(plan) == FIXTURE_IDS


def test_images_only_in_resource_changes_are_collected_after_planned_values():
    body = a_plan(resources=[resource("aws_instance.a", {"ami": "ami-a"})],
                  changes=[change("aws_instance.b", ["create"], {"ami": "ami-b"})])
    assert artifact_ids_from_request(body) == ["ami-a", "ami-b"]


# ---- what counts in a plan -------------------------------------------------------------

def test_delete_only_changes_are_skipped_but_replacements_are_not():
    body = a_plan(changes=[
        change("aws_instance.gone", ["delete"], {"ami": "ami-gone"}),  # after is never set, but be safe
        change("aws_instance.swap", ["delete", "create"], {"ami": "ami-new"}, before={"ami": "ami-old"}),
        change("aws_instance.swap2", ["create", "delete"], {"ami": "ami-new2"}),
        change("aws_instance.same", ["no-op"], {"ami": "ami-running"}, before={"ami": "ami-running"}),
    ])
    assert artifact_ids_from_request(body) == ["ami-new", "ami-new2", "ami-running"]


def two_disks(first: str, second: str) -> dict:
    return {"boot_disk": [{"initialize_params": [{"image": first}]}, {"initialize_params": [{"image": second}]}]}


def test_values_marked_unknown_are_skipped_at_any_depth():
    body = a_plan(changes=[
        change("aws_instance.a", ["create"], {"ami": "ami-placeholder"}, {"ami": True}),
        change("google_compute_instance.b", ["create"],
               {"boot_disk": [{"initialize_params": [{"image": "img-placeholder"}]}]},
               {"boot_disk": [{"initialize_params": True}]}),
        change("google_compute_instance.c", ["create"],
               two_disks("img-1", "img-2"),
               {"boot_disk": [{"initialize_params": [{"image": True}]}, {}]}),
        change("google_compute_instance.d", ["create"],
               two_disks("img-3", "img-4"),
               {"boot_disk": [True, {}]}),
        change("aws_instance.e", ["create"], {"ami": "ami-known"}, {"ami": False, "id": True}),
    ])
    assert artifact_ids_from_request(body) == ["img-2", "img-4", "ami-known"]


def test_every_image_key_is_collected_at_any_depth():
    body = a_plan(resources=[
        resource("aws_instance.a", {"ami": "i-ami"}),
        resource("aws_launch_template.b", {"image_id": "i-image-id"}),
        resource("aws_ami_copy.c", {"source_ami_id": "i-source-ami-id"}),
        resource("x_builder.d", {"source_ami": "i-source-ami"}),
        resource("docker_container.e", {"image": "i-image"}),
        resource("openstack_compute_instance_v2.f", {"image_name": "i-image-name"}),
        resource("google_compute_instance_template.g", {"disk": [{"source_image": "i-source-image"}]}),
        resource("azurerm_linux_virtual_machine_scale_set.h", {"source_image_id": "i-source-image-id"}),
        resource("azurerm_shared_image_version.i", {"managed_image_id": "i-managed-image-id"}),
        resource("azurerm_virtual_machine.j", {"id": "own-id", "storage_image_reference": [
            {"id": "i-storage-ref-id", "publisher": "", "offer": "", "sku": "", "version": ""}]}),
        resource("aws_autoscaling_group.k", {"id": "asg", "mixed_instances_policy": [{"launch_template": [
            {"override": [{"launch_template_specification": [{"image_id": "i-deep"}]}]}]}]}),
    ])
    assert artifact_ids_from_request(body) == [
        "i-ami", "i-image-id", "i-source-ami-id", "i-source-ami", "i-image", "i-image-name", "i-source-image",
        "i-source-image-id", "i-managed-image-id", "i-storage-ref-id", "i-deep"]


def test_images_come_out_in_document_order_within_a_resource():
    body = a_plan(resources=[resource("aws_instance.a", {
        "launch_template": [{"image_id": "ami-1"}], "ami": "ami-2", "z": [{"image": "img-3"}, {"image": "img-4"}],
        "image_id": "ami-5"})])
    assert artifact_ids_from_request(body) == ["ami-1", "ami-2", "img-3", "img-4", "ami-5"]


def test_families_ids_elsewhere_blocks_and_non_strings_are_not_images():
    body = a_plan(resources=[
        resource("google_compute_instance_template.a", {
            "id": "projects/p/global/instanceTemplates/a",
            "disk": [{"source_image_family": "debian-12", "family": "ubuntu-2204-lts"}],
            "source_image_reference": [{"publisher": "Canonical", "offer": "ubuntu", "sku": "22_04-lts"}],
            "launch_template": [{"id": "lt-0123", "name": "app"}],
        }),
        resource("x_thing.b", {"ami": None, "image": "", "image_id": "   ", "source_image": 42,
                               "image_name": True, "managed_image_id": ["ami-in-a-list"]}),
    ])
    assert artifact_ids_from_request(body) == []


def test_data_sources_are_lookups_not_deployments():
    body = a_plan(
        resources=[resource("data.aws_ami.latest", {"id": "ami-looked-up", "image_id": "ami-looked-up"}, mode="data"),
                   resource("aws_instance.a", {"ami": "ami-used"})],
        changes=[change("data.aws_ami.deferred", ["read"], {"image_id": "ami-deferred"}, mode="data")])
    assert artifact_ids_from_request(body) == ["ami-used"]


def test_child_modules_are_walked_three_levels_deep_in_order():
    body = a_plan(
        resources=[resource("aws_instance.root", {"ami": "ami-root"})],
        child_modules=[
            {"address": "module.a", "resources": [resource("module.a.aws_instance.x", {"ami": "ami-a"})],
             "child_modules": [
                 {"address": "module.a.module.b",
                  "resources": [resource("module.a.module.b.aws_instance.x", {"ami": "ami-ab"})],
                  "child_modules": [
                      {"address": "module.a.module.b.module.c",
                       "resources": [resource("module.a.module.b.module.c.aws_instance.x", {"ami": "ami-abc"})]}]}]},
            {"address": "module.z", "resources": [resource("module.z.aws_instance.x", {"ami": "ami-z"})]},
        ])
    assert artifact_ids_from_request(body) == ["ami-root", "ami-a", "ami-ab", "ami-abc", "ami-z"]


def test_duplicates_collapse_in_first_seen_order():
    body = a_plan(
        resources=[resource("aws_instance.a", {"ami": "ami-1"}), resource("aws_instance.b", {"ami": "ami-2"}),
                   resource("aws_instance.c", {"ami": "ami-1", "launch_template": [{"image_id": "ami-2"}]})],
        changes=[change("aws_instance.a", ["create"], {"ami": "ami-1"}),
                 change("aws_instance.d", ["create"], {"ami": "ami-3"})])
    assert artifact_ids_from_request(body) == ["ami-1", "ami-2", "ami-3"]
    assert artifact_ids_from_request({"artifacts": ["ami-2", "ami-1", "ami-2", " ami-1 "]}) == ["ami-2", "ami-1"]


def test_a_state_from_terraform_show_json_is_read_too():
    state = {"format_version": "1.0", "terraform_version": "1.9.5",
             "values": {"root_module": {"resources": [resource("aws_instance.a", {"ami": "ami-deployed"})],
                                        "child_modules": [{"address": "module.m", "resources": [
                                            resource("module.m.aws_instance.b", {"ami": "ami-in-module"})]}]}}}
    assert artifact_ids_from_request(state) == ["ami-deployed", "ami-in-module"]


def test_a_plan_with_no_images_or_changes_yields_nothing():
    assert artifact_ids_from_request({"format_version": "1.2", "terraform_version": "1.9.5",
                                      "planned_values": {"root_module": {}}}) == []
    assert artifact_ids_from_request({"resource_changes": []}) == []


def test_hostile_nesting_does_not_blow_the_stack():
    deep: dict = {"ami": "ami-bottom"}
    for _ in range(5000):
        deep = {"block": [deep]}
    body = a_plan(resources=[resource("aws_instance.deep", deep)])
    assert artifact_ids_from_request(body) == ["ami-bottom"]


def test_a_plan_naming_too_many_images_is_refused():
    many = [resource(f"aws_instance.i{n}", {"ami": f"ami-{n:05d}"}) for n in range(MAX_ARTIFACTS + 1)]
    with pytest.raises(ValueError, match="at most 1000 artifacts"):
        artifact_ids_from_request(a_plan(resources=many))
    assert len(artifact_ids_from_request(a_plan(resources=many[:MAX_ARTIFACTS] + many[:5]))) == MAX_ARTIFACTS


# ---- {"artifacts": [...]} ----------------------------------------------------------------

def test_explicit_artifacts_pass_through_in_order():
    ids = ["ami-2", "ami-1", AZURE_IMAGE, GCE_IMAGE]
    assert artifact_ids_from_request({"artifacts": ids}) == ids
    assert artifact_ids_from_request({"artifacts": []}) == []
    assert artifact_ids_from_request({"artifacts": ["x"] * MAX_ARTIFACTS}) == ["x"]


def test_explicit_artifacts_win_over_plan_keys(plan):
    assert artifact_ids_from_request({**plan, "artifacts": ["ami-only"]}) == ["ami-only"]


SHAPE = r'body must be \{"artifacts": \[\.\.\.\]\} or a Terraform plan in JSON \(terraform show -json\)'
STRINGS = "artifacts must be a list of non-empty strings"


@pytest.mark.parametrize("body, message", [
    (None, SHAPE),
    ("ami-1", SHAPE),
    (["ami-1", "ami-2"], SHAPE),
    (json.dumps({"artifacts": ["ami-1"]}), SHAPE),
    ({}, SHAPE),
    ({"images": ["ami-1"]}, SHAPE),
    ({"format_version": "1.2"}, SHAPE),
    ({"terraform_version": "1.9.5", "resources": []}, SHAPE),
    ({"artifacts": "ami-1"}, STRINGS),
    ({"artifacts": {"ami-1": True}}, STRINGS),
    ({"artifacts": None}, STRINGS),
    ({"artifacts": ["ami-1", ""]}, STRINGS),
    ({"artifacts": ["ami-1", "   "]}, STRINGS),
    ({"artifacts": ["ami-1", 7]}, STRINGS),
    ({"artifacts": ["ami-1", None]}, STRINGS),
    ({"artifacts": [["ami-1"]]}, STRINGS),
    ({"artifacts": ["ami-1"] * (MAX_ARTIFACTS + 1)}, r"at most 1000 artifacts \(got 1001\)"),
    ({"planned_values": ["not", "an", "object"]}, "not a valid Terraform plan: planned_values must be an object"),
    ({"planned_values": {"root_module": {"resources": {"a": 1}}}}, "not a valid Terraform plan"),
    ({"planned_values": {"root_module": {"child_modules": ["x"]}}}, "not a valid Terraform plan"),
    ({"resource_changes": {"aws_instance.a": {}}}, "not a valid Terraform plan: resource_changes must be a list"),
    ({"resource_changes": ["aws_instance.a"]}, "not a valid Terraform plan"),
    ({"resource_changes": [{"change": "create"}]}, "not a valid Terraform plan"),
])
def test_bad_bodies_are_refused_with_a_clear_message(body, message):
    with pytest.raises(ValueError, match=message):
        artifact_ids_from_request(body)


INVALID = "not a valid Terraform plan: "


STATE = {"format_version": "1.0", "terraform_version": "1.9.5"}  # `terraform show -json` of a state


@pytest.mark.parametrize("body, message", [
    ({"planned_values": {"root_module": []}}, "planned_values.root_module must be an object"),
    ({**STATE, "values": {"root_module": "x"}}, "values.root_module must be an object"),
    ({"planned_values": {"root_module": {"resources": {"a": 1}}}}, "planned_values resources must be a list"),
    ({**STATE, "values": {"root_module": {"resources": {"a": 1}}}}, "values resources must be a list"),
    ({"planned_values": {"root_module": {"resources": ["x"]}}}, "each of planned_values resources must be an object"),
    ({"planned_values": {"root_module": {"child_modules": {"a": 1}}}}, "planned_values child_modules must be a list"),
    ({**STATE, "values": {"root_module": {"child_modules": [{"child_modules": "x"}]}}},
     "values child_modules must be a list"),
    ({"planned_values": {"root_module": {"child_modules": [1]}}}, "each of planned_values child_modules must be an object"),
    ({"resource_changes": {"a": 1}}, "resource_changes must be a list"),
    ({"resource_changes": ["aws_instance.a"]}, "each of resource_changes must be an object"),
    ({"resource_changes": [{"change": "create"}]}, "resource_changes[].change must be an object"),
    ({"resource_changes": [{"change": {"actions": "create"}}]}, "resource_changes[].change.actions must be a list"),
])
def test_a_malformed_plan_names_where(body, message):
    with pytest.raises(ValueError) as raised:
        artifact_ids_from_request(body)
    assert str(raised.value) == INVALID + message


def test_an_artifact_id_is_at_most_1024_bytes():
    longest = "ami-" + "é" * 510  # 4 + 2 x 510 = 1,024 bytes
    assert artifact_ids_from_request({"artifacts": [longest]}) == [longest]
    too_long = longest + "x"
    for body in ({"artifacts": ["ami-1", too_long]}, a_plan(resources=[resource("aws_instance.a", {"ami": too_long})])):
        with pytest.raises(ValueError) as raised:
            artifact_ids_from_request(body)
        assert str(raised.value) == f"an artifact ID is at most 1024 bytes; {too_long[:40]!r}... has 1025"


def test_the_fixture_is_not_mutated(plan):
    before = copy.deepcopy(plan)
    artifact_ids_from_request(plan)
    assert plan == before
