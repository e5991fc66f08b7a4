"""Which artifact IDs a `POST /compliance/check` body asks about.

The body is either an explicit list, `{"artifacts": ["ami-1", ...]}`, or a Terraform plan in
JSON exactly as `terraform show -json plan.out` prints it (or, by the same command, a state:
`terraform show -json` with no plan file). Everything here is pure: no AWS, stdlib only.

Where image IDs are read in a plan
----------------------------------
* `planned_values.root_module`: every resource's `values`, then its `child_modules`,
  recursively (modules nest to any depth).
* `resource_changes[].change.after`: the state each resource will have after apply. A change
  whose actions are only `["delete"]` is skipped (the image is going away, not being deployed),
  and `change.before` is never read (an image being replaced is not one being deployed).
* `values.root_module`: only present in a *state* printed by `terraform show -json`.

Never read: `prior_state` (what is deployed now, including resources this plan deletes),
`configuration` (expressions, not values), and data sources (`mode == "data"`, e.g.
`data.aws_ami`): a data source looks an image up, and the image counts only where a managed
resource uses it, which the walk above already sees.

Which keys are image IDs
------------------------
A value counts when it is a non-empty string under one of `IMAGE_KEYS`, at any depth inside a
resource's values (providers put images in nested blocks, which JSON plans render as lists of
objects: `boot_disk[0].initialize_params[0].image`, `launch_template[0]...`):

* `ami`: aws_instance, aws_spot_instance_request, aws_opsworks_instance, ...
* `image_id`: aws_launch_template, aws_launch_configuration, openstack, alicloud, tencentcloud, ...
* `source_ami`, `source_ami_id`: Packer's source AMI; aws_ami_copy.
* `image`: google_compute_instance(_template) boot disks, google_compute_disk, docker_container,
  digitalocean_droplet, hcloud_server, linode_instance, scaleway, kubernetes containers, ...
* `image_name`: openstack_compute_instance_v2, ...
* `source_image`: google_compute_disk / instance templates (`disk[].source_image`), ...
* `source_image_id`: azurerm_(linux|windows)_virtual_machine(_scale_set), azurerm_image, ...
* `managed_image_id`: Azure image versions / Packer's azure-arm output.
* `id`, but only directly inside an Azure `storage_image_reference` block
  (azurerm_virtual_machine's custom image); `id` anywhere else is the resource's own ID.

Image *families* (`source_image_family`, `family`) are deliberately left out: a family names
whichever image is newest at apply time, not an artifact the registry can judge.

A value is unknown (ignored) when it is null, or when `after_unknown` marks it, or an enclosing
block, `true`. Terraform writes unknown values as null in `after` and `planned_values`, so the
marks only matter for hand-made or future-format plans.

IDs are returned distinct, in first-seen order: `planned_values` (or `values`) first, in the
plan's own order (resources, then child modules), then `resource_changes`.

The run task (services/runtasks.py) needs more than the IDs: which resource uses each image
and what the plan does to it. `image_uses()` walks the same sections with the same rules and
answers (resource address, image, the change's actions) once per address and image, the
actions taken from `resource_changes` (empty when the plan lists no change for it, as in a
state).

Errors are `ValueError` with a message fit for an API client; the caller answers 400.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from .platforms import MAX_ID_BYTES  # no longer one can be in the registry

MAX_ARTIFACTS = 1000

IMAGE_KEYS = frozenset({
    "ami",
    "image_id",
    "source_ami",
    "source_ami_id",
    "image",
    "image_name",
    "source_image",
    "source_image_id",
    "managed_image_id",
})

# Blocks whose `id` attribute is an image ID (rather than the resource's own ID).
IMAGE_REFERENCE_BLOCKS = frozenset({"storage_image_reference"})

PLAN_KEYS = ("planned_values", "resource_changes")

BODY_SHAPE = 'body must be {"artifacts": [...]} or a Terraform plan in JSON (terraform show -json)'
NOT_STRINGS = "artifacts must be a list of non-empty strings"
TOO_MANY = f"at most {MAX_ARTIFACTS} artifacts"


def artifact_ids_from_request(body: Any) -> list[str]:
    """The distinct artifact IDs `body` asks about, in first-seen order.

    Raises ValueError (meant for a 400) when `body` is neither shape, or is a malformed one.
    """
    if not isinstance(body, dict):
        raise ValueError(BODY_SHAPE)
    if "artifacts" in body:
        ids = _explicit(body["artifacts"])
    elif _looks_like_plan(body):
        ids = _distinct(_plan_image_ids(body))
        if len(ids) > MAX_ARTIFACTS:
            raise ValueError(f"{TOO_MANY}: the plan references {len(ids)} distinct images")
    else:
        raise ValueError(BODY_SHAPE)
    too_long = next((i for i in ids if len(i.encode()) > MAX_ID_BYTES), None)
    if too_long is not None:
        raise ValueError(f"an artifact ID is at most {MAX_ID_BYTES} bytes; "
                         f"{too_long[:40]!r}... has {len(too_long.encode())}")
    return ids


# ---- {"artifacts": [...]} ----------------------------------------------------------------

def _explicit(artifacts: Any) -> list[str]:
    if not isinstance(artifacts, list) or not all(isinstance(a, str) and a.strip() for a in artifacts):
        raise ValueError(NOT_STRINGS)
    if len(artifacts) > MAX_ARTIFACTS:
        raise ValueError(f"{TOO_MANY} (got {len(artifacts)})")
    return _distinct(a.strip() for a in artifacts)


# ---- Terraform plans ---------------------------------------------------------------------

@dataclass(frozen=True)
class ImageUse:
    """A managed resource that uses an image: its address (`module.web.aws_instance.app[0]`),
    the image ID, and the plan's actions on it (`["create"]`, `["delete", "create"]` for a
    replacement, `["update"]`, `["no-op"]`; empty when the plan lists no change for it)."""

    address: str
    image: str
    actions: tuple[str, ...] = ()


def image_uses(plan: Any) -> list[ImageUse]:
    """Every (resource, image) a Terraform plan deploys, once, in first-seen order, with the
    plan's actions on the resource. Raises ValueError when `plan` is not a plan."""
    if not isinstance(plan, dict) or not _looks_like_plan(plan):
        raise ValueError("not a Terraform plan in JSON (terraform show -json)")
    actions: dict[tuple[str, str], tuple[str, ...]] = {}
    for use in _plan_image_uses(plan):  # planned_values (no actions) first, then resource_changes
        actions[use.address, use.image] = actions.get((use.address, use.image)) or use.actions
    return [ImageUse(address, image, done) for (address, image), done in actions.items()]


def _looks_like_plan(body: dict[str, Any]) -> bool:
    return any(key in body for key in PLAN_KEYS) or ("format_version" in body and "terraform_version" in body)


def _plan_image_ids(plan: dict[str, Any]) -> Iterator[str]:
    return (use.image for use in _plan_image_uses(plan))


def _plan_image_uses(plan: dict[str, Any]) -> Iterator[ImageUse]:
    for section in ("planned_values", "values"):
        if plan.get(section) is not None:
            values = _expect(plan[section], dict, section)
            if values.get("root_module") is not None:
                yield from _module_image_uses(_expect(values["root_module"], dict, f"{section}.root_module"), section)
    for change in _expect(plan.get("resource_changes") or [], list, "resource_changes"):
        yield from _change_image_uses(_expect(change, dict, "each of resource_changes"))


def _module_image_uses(root: dict[str, Any], where: str) -> Iterator[ImageUse]:
    """Resources of `root`, then of its child modules, depth first, without recursion."""
    stack = [root]
    while stack:
        module = stack.pop()
        for resource in _expect(module.get("resources") or [], list, f"{where} resources"):
            resource = _expect(resource, dict, f"each of {where} resources")
            if resource.get("mode") != "data":
                address = _address(resource)
                yield from (ImageUse(address, image) for image in _image_values(resource.get("values"), None))
        children = _expect(module.get("child_modules") or [], list, f"{where} child_modules")
        stack.extend(_expect(child, dict, f"each of {where} child_modules") for child in reversed(children))


def _change_image_uses(resource: dict[str, Any]) -> Iterator[ImageUse]:
    if resource.get("mode") == "data":
        return
    change = _expect(resource.get("change") or {}, dict, "resource_changes[].change")
    actions = _expect(change.get("actions") or [], list, "resource_changes[].change.actions")
    if actions and all(action == "delete" for action in actions):
        return
    address, done = _address(resource), tuple(str(action) for action in actions)
    yield from (ImageUse(address, image, done) for image in _image_values(change.get("after"), change.get("after_unknown")))


def _address(resource: dict[str, Any]) -> str:
    """The resource's address as Terraform prints it (type.name when a hand-made plan has none)."""
    address = resource.get("address")
    if isinstance(address, str) and address:
        return address
    return ".".join(str(resource.get(part) or "?") for part in ("type", "name"))


def _image_values(values: Any, unknown: Any) -> Iterator[str]:
    """Strings under IMAGE_KEYS anywhere in `values`, skipping what `unknown` marks unknown.

    `unknown` mirrors `values` (after_unknown): `true` at an unknown value or block.
    Iterative, in document order, so a hostile nesting depth cannot blow the stack.
    """
    # (key the value sits under, name of the block holding that key, value, its unknown marks)
    stack: list[tuple[str | None, str | None, Any, Any]] = [(None, None, values, unknown)]
    while stack:
        key, block, value, marks = stack.pop()
        if marks is True or value is None:
            continue
        if isinstance(value, str):
            if key is not None and _is_image_key(block, key) and value.strip():
                yield value.strip()
        elif isinstance(value, dict):
            marks = marks if isinstance(marks, dict) else {}
            stack.extend(reversed([(k, key, v, marks.get(k)) for k, v in value.items()]))
        elif isinstance(value, list):
            marks = marks if isinstance(marks, list) else []
            # A block list's items keep the block's name (storage_image_reference[0].id counts);
            # a list of plain strings is not an image ID, whatever its key.
            stack.extend(reversed([(key if isinstance(item, (dict, list)) else None, block, item,
                                    marks[i] if i < len(marks) else None) for i, item in enumerate(value)]))


def _is_image_key(parent: str | None, key: str) -> bool:
    return key in IMAGE_KEYS or (key == "id" and parent in IMAGE_REFERENCE_BLOCKS)


# ---- helpers -----------------------------------------------------------------------------

def _expect(value: Any, kind: type, what: str) -> Any:
    if not isinstance(value, kind):
        noun = "an object" if kind is dict else "a list"
        raise ValueError(f"not a valid Terraform plan: {what} must be {noun}")
    return value


def _distinct(ids: Any) -> list[str]:
    return list(dict.fromkeys(ids))
