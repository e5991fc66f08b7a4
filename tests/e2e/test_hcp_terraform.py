"""The real terraform-provider-hcp, driven by a real Terraform core, against `make run` (issue 13).

A real `packer build` (the newest pinned Packer) publishes a version first; then, for each pinned
provider (tests/clients/terraform-provider-hcp-X.Y.Z/), `apply` of a configuration with every
HCP Packer resource and data source the provider has, a `plan` that must show no change, an
update in place (the restricted channel opened) and another such `plan`, and `destroy`, which
must leave the registry as it was. The registry's state is read back through the native API
(admin token) and the HCP API. A second configuration checks that a revocation which keeps
Terraform's channel on the version (`disable_rollback_channels`) is no drift (`plan -refresh-only`).

The core is the machine's `terraform`, else OpenTofu built by build.sh (`CLIENTS_OPENTOFU=1`
forces it). No registry is asked for the provider: a CLI configuration (`TF_CLI_CONFIG_FILE`)
points `dev_overrides` at the built provider, so no `terraform init` either. The provider is
configured with environment variables only (HCP-API-COMPAT.md §1.1), `provider "hcp" {}`, no
geography and no organization (it reads it from the project, §1.3). The configuration runs once
as an admin, with bucket IAM (`hcp_packer_bucket_iam_policy` from the `hcp_iam_policy` data
source, `hcp_packer_bucket_iam_binding`: issue 23, items 3 and 4) and the run task, and once as
a contributor without them; the contributor's attempt at those is refused as HCP refuses it.

The pinned provider is 0.111.0: its `hcp_packer_artifact.labels` is an output only (the
`labels` argument came in 0.112.0, which the Go module proxy cannot build here:
tests/clients/README.md), so the labels are checked as the provider reads them.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hcp import PINNED, PROVIDERS, ULID, Clients, HcpRegistry, Packer, Principal
from product import wait_for
from support import real_manifest

# The first test of the session may wait for a cold build of the clients (tests/clients/README.md).
pytestmark = pytest.mark.timeout(2400)

RUN_TIMEOUT = 300  # s per terraform command; each takes a few seconds

BUCKET, FINGERPRINT = "tf-app", "fp-terraform"
# Published by `packer build`: a `file` source (artifact `one.txt` in region `.`) and a `null`
# source (artifact `Null` in region `null`), both with the build labels below.
TEMPLATE = f"""
source "file" "one" {{
  content = "one"
  target  = "one.txt"
}}

source "null" "two" {{
  communicator = "none"
}}

build {{
  hcp_packer_registry {{
    bucket_name  = "{BUCKET}"
    build_labels = {{ "os" = "none", "team" = "terraform" }}
  }}
  sources = ["source.file.one", "source.null.two"]
}}
"""
LABELS = {"os": "none", "team": "terraform"}

# The provider, configured by the environment alone, and the bucket and version a configuration uses.
PREAMBLE = """
terraform {
  required_providers {
    hcp = { source = "hashicorp/hcp" }
  }
}

provider "hcp" {}

variable "bucket" { type = string }
variable "fingerprint" { type = string }
"""

CONFIGURATION = PREAMBLE + """variable "own_bucket" { type = string }
variable "restricted" {
  type    = bool
  default = true
}
# An admin's run manages what only admins may (the run task's key, bucket IAM); a contributor's leaves it out.
variable "admin" {
  type    = bool
  default = true
}
variable "project" { type = string }
variable "reader_id" { type = string }   # a token's id
variable "deployer_id" { type = string } # a service principal's client_id
variable "iam_role" {
  type    = string
  default = "roles/viewer"
}

# A bucket of Terraform's own, with its managed `latest` adopted (CreateChannel answers code 6,
# the provider finds it `managed` in the list) and a channel of its own.
resource "hcp_packer_bucket" "own" {
  name = var.own_bucket
}

resource "hcp_packer_channel" "own_latest" {
  name        = "latest"
  bucket_name = hcp_packer_bucket.own.name
}

resource "hcp_packer_channel" "own_dev" {
  name        = "dev"
  bucket_name = hcp_packer_bucket.own.name
}

# A restricted channel in Packer's bucket, holding Packer's version.
resource "hcp_packer_channel" "release" {
  name        = "release"
  bucket_name = var.bucket
  restricted  = var.restricted
}

resource "hcp_packer_channel_assignment" "release" {
  bucket_name         = hcp_packer_channel.release.bucket_name
  channel_name        = hcp_packer_channel.release.name
  version_fingerprint = var.fingerprint
}

data "hcp_packer_version" "release" {
  bucket_name  = hcp_packer_channel_assignment.release.bucket_name
  channel_name = hcp_packer_channel_assignment.release.channel_name
}

data "hcp_packer_artifact" "by_channel" {
  bucket_name  = hcp_packer_channel_assignment.release.bucket_name
  channel_name = hcp_packer_channel_assignment.release.channel_name
  platform     = "packer.file"
  region       = "."
}

data "hcp_packer_artifact" "by_fingerprint" {
  bucket_name         = var.bucket
  version_fingerprint = var.fingerprint
  platform            = "null"
  region              = "null"
  component_type      = "null.two"
}

data "hcp_packer_bucket_names" "all" {
  depends_on = [hcp_packer_bucket.own]
}

resource "hcp_packer_run_task" "registry" {
  count = var.admin ? 1 : 0
}

data "hcp_packer_run_task" "registry" {
  count      = var.admin ? 1 : 0
  depends_on = [hcp_packer_run_task.registry]
}

# Bucket IAM: the whole policy of Terraform's own bucket (its members' kinds from the IAM
# service), and one binding on Packer's bucket beside whatever else is bound there.
data "hcp_iam_policy" "own" {
  count = var.admin ? 1 : 0
  bindings = [
    { role = var.iam_role, principals = [var.reader_id] },
    { role = "roles/contributor", principals = [var.deployer_id] },
  ]
}

resource "hcp_packer_bucket_iam_policy" "own" {
  count         = var.admin ? 1 : 0
  resource_name = hcp_packer_bucket.own.resource_name
  policy_data   = data.hcp_iam_policy.own[0].policy_data
}

resource "hcp_packer_bucket_iam_binding" "packer" {
  count         = var.admin ? 1 : 0
  resource_name = "packer/project/${var.project}/bucket/${var.bucket}"
  principal_id  = var.deployer_id
  role          = var.iam_role
}

output "version" {
  value = data.hcp_packer_version.release
}

output "by_channel" {
  value = data.hcp_packer_artifact.by_channel
}

output "by_fingerprint" {
  value = data.hcp_packer_artifact.by_fingerprint
}

output "bucket_names" {
  value = data.hcp_packer_bucket_names.all.names
}

output "own_bucket" {
  value = hcp_packer_bucket.own
}

# Not the whole resources: a channel's updated_at moves when it is assigned, after it was created.
output "channels" {
  value = {
    for key, channel in {
      release    = hcp_packer_channel.release
      own_latest = hcp_packer_channel.own_latest
      own_dev    = hcp_packer_channel.own_dev
    } : key => { id = channel.id, restricted = channel.restricted, managed = channel.managed }
  }
}

output "run_task" {
  value     = one(hcp_packer_run_task.registry[*])
  sensitive = true
}

output "run_task_data" {
  value     = one(data.hcp_packer_run_task.registry[*])
  sensitive = true
}

output "iam" {
  value = var.admin ? { policy_etag = hcp_packer_bucket_iam_policy.own[0].etag, binding_role = hcp_packer_bucket_iam_binding.packer[0].role } : null
}
"""

# What a contributor may not do, in HCP as here: read or regenerate the run task's HMAC key
# (resource and data source), set a bucket's IAM policy or add a binding to it (an admin's:
# the project's, or one bound to the bucket as admin). Each is attempted in one apply (the data
# source waits for a resource that succeeds, so it is read then too).
FORBIDDEN = PREAMBLE + """variable "project" { type = string }
variable "deployer_id" { type = string }

resource "terraform_data" "start" {}

resource "hcp_packer_run_task" "registry" {}

data "hcp_packer_run_task" "registry" {
  depends_on = [terraform_data.start]
}

resource "hcp_packer_bucket_iam_policy" "packer" {
  resource_name = "packer/project/${var.project}/bucket/${var.bucket}"
  policy_data = jsonencode({ bindings = [{ role_id = "roles/viewer",
  members = [{ member_id = var.deployer_id, member_type = "SERVICE_PRINCIPAL" }] }] })
}

resource "hcp_packer_bucket_iam_binding" "packer" {
  resource_name = "packer/project/${var.project}/bucket/${var.bucket}"
  principal_id  = var.deployer_id
  role          = "roles/viewer"
}
"""


@dataclass
class Terraform:
    """A Terraform core with one pinned provider, in a working directory of its own."""

    core: Path
    env: dict[str, str]
    work: Path
    log: Path

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.core), *args], cwd=self.work, env=self.env, capture_output=True,
                              text=True, timeout=RUN_TIMEOUT, check=False)

    def must(self, *args: str) -> str:
        done = self.run(*args)
        assert done.returncode == 0, self.explain(done)
        return done.stdout

    def must_not_change(self) -> None:
        """`plan -detailed-exitcode` answers 0: state, configuration and registry agree (2: a change)."""
        done = self.run("plan", "-detailed-exitcode", "-no-color")
        assert done.returncode == 0, self.explain(done)

    def must_not_drift(self) -> None:
        """`plan -refresh-only -detailed-exitcode` answers 0: nothing changed outside Terraform
        (2: drift, such as a channel's author_id or updated_at rewritten by someone else)."""
        done = self.run("plan", "-refresh-only", "-detailed-exitcode", "-no-color")
        assert done.returncode == 0, self.explain(done)

    def explain(self, done: subprocess.CompletedProcess[str]) -> str:
        """A failed command's output and the log lines that name HTTP calls or errors."""
        lines = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        wanted = [line for line in lines if any(word in line for word in ("HTTP", "/packer/", "rror", "panic"))]
        return (f"{' '.join(done.args)} exited {done.returncode}\n{done.stdout[-6000:]}\n{done.stderr[-6000:]}"
                "\n--- log ---\n" + "\n".join(wanted[-60:]))

    def outputs(self) -> dict[str, Any]:
        return {name: output["value"] for name, output in json.loads(self.must("output", "-json")).items()}


def cli_configuration(provider_dir: Path) -> str:
    """dev_overrides: `hashicorp/hcp` is the built provider; nothing is asked of a registry."""
    return f"""
provider_installation {{
  dev_overrides {{
    "hashicorp/hcp" = "{provider_dir}"
  }}
  direct {{}}
}}
"""


@pytest.fixture(scope="module")
def published(clients: Clients, hcp_registry: HcpRegistry, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Packer's version (GetVersion through the HCP API) in BUCKET, published by a real build."""
    newest = PINNED[-1]
    work, home = tmp_path_factory.mktemp("packer-work"), tmp_path_factory.mktemp("packer-home")
    packer = Packer(newest, clients.packers[newest], hcp_registry, hcp_registry.principal(), work, home)
    done = packer.build(TEMPLATE, FINGERPRINT)
    assert done.returncode == 0, str(done)
    version = packer.hcp_version(BUCKET, FINGERPRINT)
    assert (version["name"], version["status"]) == ("v1", "VERSION_ACTIVE"), version
    return version


def configured(role: str, provider: str, clients: Clients, registry: HcpRegistry, tmp_path: Path) -> Terraform:
    """A Terraform with one pinned provider whose principal has `role` on the project, and the
    members its bucket IAM binds (a token and a service principal, made with the admin token)."""
    home, work = tmp_path / "home", tmp_path / "work"
    work.mkdir()
    principal = registry.principal(role)
    (work / "main.tf").write_text(CONFIGURATION)
    cli_config = tmp_path / "dev.tfrc"
    cli_config.write_text(cli_configuration(clients.providers[provider]))
    log = tmp_path / "terraform.log"
    env = {name: value for name, value in registry.env(principal, home).items() if not name.startswith("TF_")}
    del env["HCP_ORGANIZATION_ID"]  # the provider ignores it and reads the organization from the project
    status, reader = registry.product.call("POST", "/tokens", {"name": f"reader-{principal.name}", "role": "none"})
    assert status == 201, reader
    env.update(HCP_SKIP_STATUS_CHECK="true", TF_CLI_CONFIG_FILE=str(cli_config), TF_IN_AUTOMATION="1",
               TF_INPUT="0", TF_LOG="DEBUG", TF_LOG_PATH=str(log), TF_VAR_bucket=BUCKET,
               TF_VAR_fingerprint=FINGERPRINT, TF_VAR_admin=str(role == "admin").lower(),
               TF_VAR_own_bucket=f"tf-own-{role}-{provider.replace('.', '-')}", TF_VAR_project=registry.location[1],
               TF_VAR_reader_id=reader["id"], TF_VAR_deployer_id=registry.principal("none").client_id)
    return Terraform(clients.core, env, work, log)


@pytest.fixture(params=PROVIDERS)
def terraform(request: pytest.FixtureRequest, clients: Clients, hcp_registry: HcpRegistry, tmp_path: Path) -> Terraform:
    """An admin's Terraform."""
    return configured("admin", request.param, clients, hcp_registry, tmp_path)


@pytest.fixture(params=PROVIDERS)
def contributor(request: pytest.FixtureRequest, clients: Clients, hcp_registry: HcpRegistry,
                tmp_path: Path) -> Terraform:
    """A contributor's Terraform, as Packer's pipelines and most teams run it."""
    return configured("contributor", request.param, clients, hcp_registry, tmp_path)


def registry_state(registry: HcpRegistry) -> dict[str, Any]:
    """What apply changes and destroy must restore, read natively: the buckets, and Packer's
    bucket's versions and channels (each channel's version and restriction)."""
    product = registry.product
    status, buckets = product.call("GET", "/buckets")
    assert status == 200, buckets
    status, versions = product.call("GET", f"/buckets/{BUCKET}/versions")
    assert status == 200, versions
    status, channels = product.call("GET", f"/buckets/{BUCKET}/channels")
    assert status == 200, channels
    return {
        "buckets": sorted(bucket["name"] for bucket in buckets["items"]),
        "versions": sorted((v["name"], v["fingerprint"], v["status"]) for v in versions["items"]),
        "channels": sorted((c["name"], c["version"], c["restricted"], c["managed"]) for c in channels["items"]),
    }


def bound(registry: HcpRegistry, bucket: str) -> dict[str, list[str]]:
    """A bucket's bindings as the native API lists them: role → member ids."""
    status, policy = registry.product.call("GET", f"/buckets/{bucket}/access")
    assert status == 200, policy
    return {b["role"]: [m["id"] for m in b["members"]] for b in policy["bindings"]}


def test_apply_plan_destroy_with_every_packer_resource_and_data_source(
        terraform: Terraform, published: dict[str, Any], hcp_registry: HcpRegistry) -> None:
    before = registry_state(hcp_registry)
    own = terraform.env["TF_VAR_own_bucket"]

    terraform.must("apply", "-auto-approve", "-no-color")

    out = terraform.outputs()
    builds = {build["component_type"]: build for build in published["builds"]}
    version = out["version"]
    assert (version["id"], version["name"], version["fingerprint"], version["bucket_name"]) == (
        published["id"], "v1", FINGERPRINT, BUCKET), version
    # Go's zero time: the registry sent no revoke_at (an empty string would read as 1970, §4).
    assert version["revoke_at"].startswith("0001-01-01"), version

    by_channel = out["by_channel"]
    assert (by_channel["external_identifier"], by_channel["region"], by_channel["platform"]) == (
        "one.txt", ".", "packer.file"), by_channel
    assert (by_channel["component_type"], by_channel["build_id"], by_channel["version_fingerprint"]) == (
        "file.one", builds["file.one"]["id"], FINGERPRINT), by_channel
    assert by_channel["labels"] == LABELS and by_channel["revoke_at"] is None, by_channel
    assert ULID.match(by_channel["id"]) and by_channel["created_at"], by_channel
    by_fingerprint = out["by_fingerprint"]
    assert (by_fingerprint["external_identifier"], by_fingerprint["build_id"], by_fingerprint["channel_name"]) == (
        "Null", builds["null.two"]["id"], None), by_fingerprint
    assert by_fingerprint["labels"] == LABELS, by_fingerprint

    assert {BUCKET, own} <= set(out["bucket_names"]), out["bucket_names"]
    assert out["bucket_names"] == sorted(out["bucket_names"]), out["bucket_names"]
    org, project = hcp_registry.location
    bucket = out["own_bucket"]
    assert (bucket["resource_name"], bucket["organization_id"], bucket["project_id"]) == (
        f"packer/project/{project}/bucket/{own}", org, project), bucket

    channels = out["channels"]
    assert (channels["release"]["restricted"], channels["release"]["managed"]) == (True, False), channels
    assert (channels["own_latest"]["managed"], channels["own_dev"]["managed"]) == (True, False), channels
    assert all(ULID.match(channel["id"]) for channel in channels.values()), channels

    token = hcp_registry.token(Principal("", terraform.env["HCP_CLIENT_ID"], terraform.env["HCP_CLIENT_SECRET"]))
    status, validation = hcp_registry.hcp("GET", "/runtasks/validation", token)
    assert status == 200, validation
    run_task = out["run_task"]
    assert (run_task["endpoint_url"], run_task["hmac_key"]) == (validation["api_url"], validation["hmac_key"]), (
        run_task, validation)
    assert run_task["endpoint_url"].startswith("http") and run_task["hmac_key"], run_task
    data_source = out["run_task_data"]
    assert (data_source["endpoint_url"], data_source["hmac_key"]) == (run_task["endpoint_url"], run_task["hmac_key"])

    release = hcp_registry.product.call("GET", f"/buckets/{BUCKET}/channels/release")
    assert release[0] == 200 and (release[1]["version"], release[1]["fingerprint"], release[1]["restricted"]) == (
        "v1", FINGERPRINT, True), release
    status, listed = hcp_registry.hcp("GET", f"/buckets/{own}/channels", token)
    assert status == 200, listed
    assert sorted((c["name"], c["managed"]) for c in listed["channels"]) == [("dev", False), ("latest", True)], listed

    assert bound(hcp_registry, own) == {"viewer": [terraform.env["TF_VAR_reader_id"]],
                                        "contributor": [terraform.env["TF_VAR_deployer_id"]]}
    assert bound(hcp_registry, BUCKET) == {"viewer": [terraform.env["TF_VAR_deployer_id"]]}
    assert out["iam"]["binding_role"] == "roles/viewer" and out["iam"]["policy_etag"], out["iam"]

    terraform.must_not_change()

    # An update in place: PATCH {"update_mask": "restricted"}, false omitted; the assignment stays;
    # the policy and the binding give the admin role instead.
    terraform.env.update(TF_VAR_restricted="false", TF_VAR_iam_role="roles/admin")
    terraform.must("apply", "-auto-approve", "-no-color")

    release = hcp_registry.product.call("GET", f"/buckets/{BUCKET}/channels/release")
    assert release[0] == 200 and (release[1]["version"], release[1]["restricted"]) == ("v1", False), release
    assert terraform.outputs()["channels"]["release"]["restricted"] is False
    assert bound(hcp_registry, own) == {"contributor": [terraform.env["TF_VAR_deployer_id"]],
                                        "admin": [terraform.env["TF_VAR_reader_id"]]}
    assert bound(hcp_registry, BUCKET) == {"admin": [terraform.env["TF_VAR_deployer_id"]]}
    terraform.must_not_change()

    terraform.must("destroy", "-auto-approve", "-no-color")

    assert registry_state(hcp_registry) == before
    assert bound(hcp_registry, BUCKET) == {}
    assert hcp_registry.product.call("GET", f"/buckets/{BUCKET}/channels/release")[0] == 404
    assert hcp_registry.product.call("GET", f"/buckets/{own}")[0] == 404
    assert hcp_registry.product.call("GET", f"/buckets/{BUCKET}/channels/latest")[1]["version"] == "v1"


def test_a_contributor_manages_all_but_what_hcp_leaves_to_admins(
        contributor: Terraform, published: dict[str, Any], hcp_registry: HcpRegistry) -> None:
    """The configuration without the admin's part (the run task, bucket IAM), applied, planned
    with no change, updated in place, planned again and destroyed by a contributor; then what
    only admins may do, each refused (HTTP 403, code 7) naming the admin role."""
    before = registry_state(hcp_registry)
    own = contributor.env["TF_VAR_own_bucket"]
    contributor.must("apply", "-auto-approve", "-no-color")
    out = contributor.outputs()
    assert (out["version"]["fingerprint"], out["by_channel"]["external_identifier"]) == (FINGERPRINT, "one.txt"), out
    assert {BUCKET, own} <= set(out["bucket_names"]) and out["own_bucket"]["name"] == own, out
    assert "iam" not in out and out["channels"]["release"]["restricted"] is True, out  # null: not an output
    contributor.must_not_change()
    contributor.env["TF_VAR_restricted"] = "false"
    contributor.must("apply", "-auto-approve", "-no-color")
    assert hcp_registry.product.call("GET", f"/buckets/{BUCKET}/channels/release")[1]["restricted"] is False
    contributor.must_not_change()
    destroy_as_contributor(contributor, hcp_registry, own)
    assert registry_state(hcp_registry) == before

    (contributor.work / "main.tf").write_text(FORBIDDEN)
    done = contributor.run("apply", "-auto-approve", "-no-color")
    assert done.returncode == 1, contributor.explain(done)
    for address in ("hcp_packer_run_task.registry", "data.hcp_packer_run_task.registry",
                    "hcp_packer_bucket_iam_policy.packer", "hcp_packer_bucket_iam_binding.packer"):
        assert f"with {address}," in done.stderr, (address, contributor.explain(done))
    assert done.stderr.count("needs the admin role") >= 4, contributor.explain(done)
    assert contributor.must("state", "list").split() == ["terraform_data.start"]  # nothing else was made
    assert bound(hcp_registry, BUCKET) == {}


def destroy_as_contributor(terraform: Terraform, registry: HcpRegistry, own: str) -> None:
    """`terraform destroy` by a contributor. HCP's contributors delete buckets (issue 23, item
    2, another part of it); while the registry leaves that to admins (roles.py), the bucket is
    the one refusal: an admin deletes it, and a second destroy finds it gone (a 404 takes it
    out of the state)."""
    from chalicelib.api import roles

    if roles.required_role("DELETE", "/buckets/{bucket}") != "admin":
        terraform.must("destroy", "-auto-approve", "-no-color")
        return
    done = terraform.run("destroy", "-auto-approve", "-no-color")
    assert done.returncode == 1 and "Error deleting bucket" in done.stderr, terraform.explain(done)
    assert "needs the admin role" in done.stderr, terraform.explain(done)
    assert registry.product.call("DELETE", f"/buckets/{own}")[0] == 200
    terraform.must("destroy", "-auto-approve", "-no-color")


def test_the_core_is_the_one_chosen(clients: Clients) -> None:
    """`terraform` where the machine has one, else (or with CLIENTS_OPENTOFU=1) the pinned OpenTofu."""
    done = subprocess.run([str(clients.core), "version", "-json"], capture_output=True, text=True,
                          env={**os.environ, "TF_CLI_CONFIG_FILE": os.devnull}, timeout=60, check=True)
    reported = json.loads(done.stdout)
    if clients.core.name.startswith("opentofu-"):
        assert reported["terraform_version"] == clients.core.name.removeprefix("opentofu-"), reported
    else:
        assert clients.core.name == "terraform" and reported["terraform_version"], reported


# Issue 21 item 5: a channel Terraform assigned, whose version is then revoked by someone else
# with disable_rollback_channels, keeps its author_id and updated_at (it did not move).
KEPT_BUCKET = "tf-kept"
KEPT_CONFIGURATION = PREAMBLE + """
resource "hcp_packer_channel" "kept" {
  name        = "kept"
  bucket_name = var.bucket
}

resource "hcp_packer_channel_assignment" "kept" {
  bucket_name         = hcp_packer_channel.kept.bucket_name
  channel_name        = hcp_packer_channel.kept.name
  version_fingerprint = var.fingerprint
}
"""


def ingested(registry: HcpRegistry, bucket: str) -> dict[str, Any]:
    """A real manifest uploaded as `bucket`'s v1, once the registry has recorded it."""
    product = registry.product
    product.s3.put_object(Bucket="packer-manifests", Key=f"{bucket}/packer-manifest.json",
                          Body=real_manifest("amazon-ebs-single-1.json"))

    def recorded() -> Any:
        status, version = product.call("GET", f"/buckets/{bucket}/versions/v1")
        return version if status == 200 else None
    return wait_for(f"{bucket} v1", recorded, 60, product.proc)


def test_a_revocation_that_keeps_the_channel_is_no_drift(terraform: Terraform, hcp_registry: HcpRegistry) -> None:
    version = ingested(hcp_registry, KEPT_BUCKET)
    (terraform.work / "main.tf").write_text(KEPT_CONFIGURATION)
    terraform.env.update(TF_VAR_bucket=KEPT_BUCKET, TF_VAR_fingerprint=version["fingerprint"])
    terraform.must("apply", "-auto-approve", "-no-color")
    # The assignment (its own resource) moved the channel after the channel resource read it:
    # take that in, so what follows starts from state that agrees with the registry.
    terraform.must("apply", "-refresh-only", "-auto-approve", "-no-color")
    terraform.must_not_drift()
    assigned = hcp_registry.product.call("GET", f"/buckets/{KEPT_BUCKET}/channels/kept")[1]

    status, revoked = hcp_registry.product.call(  # by the admin token: another author than Terraform's principal
        "POST", f"/buckets/{KEPT_BUCKET}/versions/v1/revoke", {"reason": "bad kernel", "disable_rollback_channels": True})
    assert status == 200 and revoked["status"] == "revoked", revoked
    kept = hcp_registry.product.call("GET", f"/buckets/{KEPT_BUCKET}/channels/kept")[1]
    assert (kept["version"], kept["version_status"]) == ("v1", "revoked"), kept
    assert assigned["updated_by"] != "bootstrap-admin", assigned  # Terraform's principal assigned it
    assert (kept["updated_by"], kept["updated_at"]) == (assigned["updated_by"], assigned["updated_at"]), kept

    terraform.must_not_drift()
    terraform.must_not_change()
    terraform.must("destroy", "-auto-approve", "-no-color")
    assert hcp_registry.product.call("GET", f"/buckets/{KEPT_BUCKET}/channels/kept")[0] == 404
