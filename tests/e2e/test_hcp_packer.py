"""Real `packer build` runs publish to `make run` through the HCP Packer API (issue 12).

Each pinned Packer (tests/clients/: 1.16.0 and the older 1.12.0 line) is pointed at the
registry with environment variables only (hcp.HcpRegistry.env: HCP_API_ADDRESS, HCP_AUTH_URL,
a service principal's HCP_CLIENT_ID/SECRET, ...) and builds templates of Packer core's `file`
and `null` builders, which publish HCP artifacts without any cloud (HCP-API-COMPAT.md §8):

- `file` reports platform `packer.file`, artifact ID the target's base name, region its
  directory (`.` for a bare name), and its `source` file as the source image ID
  (`<no-defined-source-file>` with `content`) (packer builder/file/artifact.go);
- `null` reports platform `null`, artifact ID `Null`, region `null`, source `null`
  (builder/null/artifact_export.go).

Afterwards the native API (admin token) and the HCP API (a principal's token) are read back.
"""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from hcp import BUILD_TIMEOUT, PINNED, ULID, HcpRegistry, Packer
from product import ROOT, wait_for

# The first test of the session may wait for a cold build of the clients (tests/clients/README.md).
pytestmark = pytest.mark.timeout(2400)

def at_least(version: str, minimum: str) -> bool:
    return tuple(map(int, version.split("."))) >= tuple(map(int, minimum.split(".")))


@pytest.fixture
def packer(request: pytest.FixtureRequest, packers: dict[str, Path], hcp_registry: HcpRegistry, tmp_path: Path) -> Packer:
    version = request.param
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    return Packer(version, packers[version], hcp_registry, hcp_registry.principal(), work, home)


ALL = pytest.mark.parametrize("packer", PINNED, indirect=True)
# `hcp_packer_registry { channels = [...] }` exists from Packer 1.15.0 on (HCP-API-COMPAT.md §2).
WITH_CHANNELS = pytest.mark.parametrize("packer", [v for v in PINNED if at_least(v, "1.15.0")], indirect=True)
# Packer fetches the enforced blocks linked to its bucket from 1.16.0 on (HCP-API-COMPAT.md §2.2 step 6).
ENFORCING = pytest.mark.parametrize("packer", [v for v in PINNED if at_least(v, "1.16.0")], indirect=True)


def registry_block(bucket: str, extra: str = "") -> str:
    return f"""
  hcp_packer_registry {{
    bucket_name = "{bucket}"
{extra}
  }}"""


def two_sources(registry: str, file: str = "one", null: str = "two", provisioner: str = "",
                top_level: bool = False) -> str:
    """A template of a `file` source (writing `<file>.txt`) and a `null` source, built in parallel;
    the `hcp_packer_registry` block in the build block, or at the top level (`top_level`, the
    place Packer recommends from 1.12.1 on; the build block's still works, with a warning)."""
    top, inside = (registry, "") if top_level else ("", registry)
    return f"""{top}
source "file" "{file}" {{
  content = "{file}"
  target  = "{file}.txt"
}}

source "null" "{null}" {{
  communicator = "none"
}}

build {{
{inside}
  sources = ["source.file.{file}", "source.null.{null}"]
{provisioner}
}}
"""


def assert_done_builds(version: dict[str, Any], expected: dict[str, tuple[str, list[dict[str, str]]]]) -> None:
    """Each build of the HCP version is BUILD_DONE, belongs to it, and carries the platform and
    artifacts Packer reported: `expected` maps component type to (platform, artifacts)."""
    builds = {build["component_type"]: build for build in version["builds"]}
    assert sorted(builds) == sorted(expected), version["builds"]
    for component, (platform, artifacts) in expected.items():
        build = builds[component]
        assert build["status"] == "BUILD_DONE", build
        assert ULID.match(build["id"]) and build["version_id"] == version["id"], build
        assert build["platform"] == platform, build
        assert [{"external_identifier": a["external_identifier"], "region": a["region"]}
                for a in build["artifacts"]] == artifacts, build


@ALL
def test_two_parallel_sources_publish_one_complete_version(packer: Packer) -> None:
    bucket, fingerprint = packer.bucket("two"), "fp-two-sources"
    registry = registry_block(bucket, """    description   = "two sources, built together"
    bucket_labels = { "team" = "e2e" }
    build_labels  = { "os" = "none" }""")

    done = packer.build(two_sources(registry), fingerprint)

    assert done.returncode == 0, str(done)
    native = packer.native(f"/buckets/{bucket}/versions/v1")
    assert (native["status"], native["fingerprint"], len(native["builds"])) == ("active", fingerprint, 2), native
    assert packer.native(f"/buckets/{bucket}/channels/latest")["version"] == "v1"
    described = packer.native(f"/buckets/{bucket}")
    assert (described["description"], described["labels"]) == ("two sources, built together", {"team": "e2e"})
    assert (described["version_count"], described["latest_version"]) == (1, "v1"), described

    version = packer.hcp_version(bucket, fingerprint)
    assert (version["name"], version["status"], version["fingerprint"]) == ("v1", "VERSION_ACTIVE", fingerprint)
    assert ULID.match(version["id"]) and version["template_type"] == "HCL2", version
    assert_done_builds(version, {
        "file.one": ("packer.file", [{"external_identifier": "one.txt", "region": "."}]),
        "null.two": ("null", [{"external_identifier": "Null", "region": "null"}]),
    })
    assert all(build["labels"].get("os") == "none" for build in version["builds"]), version["builds"]


@ALL
def test_a_template_without_a_registry_block_publishes_to_HCP_PACKER_BUCKET_NAME(packer: Packer) -> None:
    bucket = packer.bucket("env")

    done = packer.build(two_sources(""), "fp-env", HCP_PACKER_BUCKET_NAME=bucket)

    assert done.returncode == 0, str(done)
    version = packer.hcp_version(bucket, "fp-env")
    assert (version["name"], version["status"], len(version["builds"])) == ("v1", "VERSION_ACTIVE", 2), version


@WITH_CHANNELS
def test_a_configured_channel_gets_the_completed_version(packer: Packer) -> None:
    """The channel exists beforehand (Packer assigns, it never creates); Packer assigns after
    each build's DONE, so the first of two calls may meet an incomplete version (refused, only
    printed by Packer) and the last one, after the version completed, succeeds. The registry
    block is at the top level here, the other tests keep it in the build block (1.12.0 knows
    no other place)."""
    bucket, fingerprint = packer.bucket("chan"), "fp-channel"
    assert packer.registry.product.call("POST", "/buckets", {"name": bucket})[0] == 201
    assert packer.registry.product.call("POST", f"/buckets/{bucket}/channels", {"name": "production"})[0] == 201

    done = packer.build(two_sources(registry_block(bucket, '    channels = ["production"]'), top_level=True),
                        fingerprint)

    assert done.returncode == 0, str(done)
    channel = packer.native(f"/buckets/{bucket}/channels/production")
    assert (channel["version"], channel["fingerprint"]) == ("v1", fingerprint), channel
    status, body = packer.registry.hcp("GET", f"/buckets/{bucket}/channels/production", packer.token())
    assert status == 200 and body["channel"]["version"]["name"] == "v1", (status, body)
    assert body["channel"]["version"]["status"] == "VERSION_ACTIVE", body


# The null source fails while the marker file is missing (shell-local is in Packer core).
# ---- enforced provisioner blocks (issue 23) ------------------------------------------------
#
# A block made and linked through the HCP API with the contributor's token Packer runs as (HCP
# documents enforced provisioners as a contributor's to manage); its `shell-local` provisioner
# appends a line to a file outside the working directory, read after each build. Packer appends
# it to every build of the template (packer internal/hcp/registry/hcl.go) and gives it an empty
# PACKER_BUILD_NAME, so the line cannot name its build.

def enforce(packer: Packer, bucket: str, effect: Path) -> dict[str, Any]:
    """A bucket with a block linked whose shell-local provisioner appends `enforced` to `effect`."""
    registry, token = packer.registry, packer.token()
    assert registry.hcp("PUT", "/buckets", token, {"name": bucket})[0] == 200
    content = f'provisioner "shell-local" {{\n  inline = ["echo enforced >> {effect}"]\n}}\n'
    status, made = registry.hcp("PUT", "/enforced_blocks", token, {"name": f"{bucket}-hardening", "block_content": content,
                                                                  "template_type": "HCL2", "version": "1"})
    assert status == 200, made
    block = made["enforced_block"]
    status, linked = registry.hcp("POST", f"/enforced_blocks/{block['id']}/versions/{block['latest_version']['id']}"
                                          "/buckets", token, {"bucket_names": [bucket]})
    assert status == 200 and len(linked["enforced_block_buckets"]) == 1, linked
    return block


@ENFORCING
def test_a_build_runs_the_buckets_enforced_provisioner_and_skip_enforcement_skips_it(packer: Packer,
                                                                                   tmp_path: Path) -> None:
    bucket, effect = packer.bucket("enforced"), tmp_path / "enforced.log"
    enforce(packer, bucket, effect)

    done = packer.build(two_sources(registry_block(bucket)), "fp-enforced")

    assert done.returncode == 0, str(done)
    assert 'Loaded 1 enforced provisioner(s) from HCP block "' in done.stdout, str(done)
    assert effect.read_text().splitlines() == ["enforced"] * 2, str(done)  # each of the two builds ran it once
    assert packer.native(f"/buckets/{bucket}/versions/v1")["status"] == "active"

    skipped = packer.build(two_sources(registry_block(bucket)), "fp-skipped", name="skipped",
                           flags=("-skip-enforcement",))

    assert skipped.returncode == 0, str(skipped)
    assert "Skipping HCP Packer enforced provisioners" in skipped.stdout, str(skipped)
    assert effect.read_text().splitlines() == ["enforced"] * 2, str(skipped)  # not run again
    assert packer.native(f"/buckets/{bucket}/versions/v2")["status"] == "active"


@ENFORCING
def test_an_unlinked_enforced_block_is_no_longer_run(packer: Packer, tmp_path: Path) -> None:
    bucket, effect = packer.bucket("unlinked"), tmp_path / "enforced.log"
    block = enforce(packer, bucket, effect)
    status, answer = packer.registry.hcp(
        "POST", f"/enforced_blocks/{block['id']}/versions/{block['latest_version']['id']}/buckets", packer.token(),
        {"bucket_names": []})
    assert status == 200 and answer["enforced_block_buckets"] == [], answer

    done = packer.build(two_sources(registry_block(bucket)), "fp-unlinked")

    assert done.returncode == 0, str(done)
    assert "enforced provisioner" not in done.stdout and not effect.exists(), str(done)


FLAKY = """
  provisioner "shell-local" {{
    only   = ["null.flaky"]
    inline = ["test -f {marker}"]
  }}"""


@ALL
def test_a_failed_build_leaves_the_version_running_until_a_rerun_completes_it(packer: Packer) -> None:
    bucket, fingerprint = packer.bucket("rerun"), "fp-rerun"
    marker = packer.work / "flaky-may-pass"
    template = two_sources(registry_block(bucket), "ok", "flaky", FLAKY.format(marker=marker))

    failed = packer.build(template, fingerprint)

    assert failed.returncode != 0, str(failed)
    version = packer.hcp_version(bucket, fingerprint)
    assert (version["name"], version["status"]) == ("v0", "VERSION_RUNNING"), version
    statuses = {build["component_type"]: build["status"] for build in version["builds"]}
    assert statuses == {"file.ok": "BUILD_DONE", "null.flaky": "BUILD_FAILED"}, version["builds"]
    assert packer.native(f"/buckets/{bucket}/versions/{fingerprint}")["status"] == "running"
    got, latest = packer.registry.product.call("GET", f"/buckets/{bucket}/channels/latest")
    assert got == 404 or latest["version"] is None, (got, latest)
    packer.native(f"/buckets/{bucket}/versions/v1", status=404)

    marker.touch()
    rerun = packer.build(template, fingerprint)

    assert rerun.returncode == 0, str(rerun)
    version = packer.hcp_version(bucket, fingerprint)
    assert (version["name"], version["status"]) == ("v1", "VERSION_ACTIVE"), version
    assert_done_builds(version, {
        "file.ok": ("packer.file", [{"external_identifier": "ok.txt", "region": "."}]),
        "null.flaky": ("null", [{"external_identifier": "Null", "region": "null"}]),
    })
    assert packer.native(f"/buckets/{bucket}/channels/latest")["version"] == "v1"

    again = packer.build(template, "fp-rerun-next")

    assert again.returncode == 0, str(again)
    assert packer.hcp_version(bucket, "fp-rerun-next")["name"] == "v2"  # gapless: the failed run took no number
    names = [v["name"] for v in packer.native(f"/buckets/{bucket}/versions")["items"]]
    assert sorted(names) == ["v1", "v2"], names


PARENT = """
source "file" "base" {{
  content = "the parent image"
  target  = "parent.img"
}}

build {{
{registry}
  sources = ["source.file.base"]
}}
"""

# The child's `file` source copies the parent's artifact: the file builder reports its `source`
# as the source image ID, which Packer looks up among the hcp-packer-artifact data sources'
# external identifiers to send the parent's version ID (and channel ID) with the build's DONE
# (packer internal/hcp/registry/types.bucket.go markBuildComplete, ds_config.go).
CHILD_BUILD = """
source "file" "app" {{
  source = data.hcp-packer-artifact.parent.external_identifier
  target = "child.img"
}}

build {{
{registry}
  sources = ["source.file.app"]
}}
"""

# The parent's artifact found through `latest`.
CHILD = """
data "hcp-packer-artifact" "parent" {{
  bucket_name  = "{parent}"
  channel_name = "latest"
  platform     = "packer.file"
  region       = "."
}}
""" + CHILD_BUILD


def parent_links(ancestry: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """A version's parents as (bucket, version, fingerprint, found_by, channel), from the native ancestry."""
    return [(link["bucket"], link["version"], link["fingerprint"], link["found_by"], link["channel"])
            for link in ancestry["parents"]]


@ALL
def test_a_child_built_from_the_parents_artifact_records_the_parent_version(packer: Packer) -> None:
    parent, child = packer.bucket("parent"), packer.bucket("child")
    built = packer.build(PARENT.format(registry=registry_block(parent)), "fp-parent", name="parent")
    assert built.returncode == 0, str(built)
    parent_version = packer.hcp_version(parent, "fp-parent")

    done = packer.build(CHILD.format(parent=parent, registry=registry_block(child)), "fp-child", name="child")

    assert done.returncode == 0, str(done)
    assert (packer.work / "child.img").read_text() == "the parent image"
    version = packer.hcp_version(child, "fp-child")
    assert version["name"] == "v1", version
    (build,) = version["builds"]
    assert build["source_external_identifier"] == "parent.img", build
    ancestry = packer.native(f"/buckets/{child}/versions/v1/ancestry")
    # Found by the IDs Packer sent (parent_version_id, parent_channel_id of `latest`), not guessed.
    parents = parent_links(ancestry)
    assert parents == [(parent, "v1", "fp-parent", "parent_version", "latest")], ancestry
    children = packer.native(f"/buckets/{parent}/versions/v1/ancestry")["children"]
    assert [(c["bucket"], c["version"]) for c in children] == [(child, "v1")], children
    assert parent_version["id"] and ULID.match(parent_version["id"])


# The child reads the parent's channel with `hcp-packer-version` and the artifact by that
# version's fingerprint: the artifact data source then has no channel, and Packer takes the
# parent's channel ID from the version data source of the same version ID (packer
# internal/hcp/registry/ds_config.go withDatasourceConfiguration).
CHILD_BY_VERSION = """
data "hcp-packer-version" "parent" {{
  bucket_name  = "{parent}"
  channel_name = "{channel}"
}}

data "hcp-packer-artifact" "parent" {{
  bucket_name         = "{parent}"
  version_fingerprint = data.hcp-packer-version.parent.fingerprint
  platform            = "packer.file"
  region              = "."
}}
""" + CHILD_BUILD


@ALL
def test_a_child_reading_a_channel_with_hcp_packer_version_records_that_channel(packer: Packer) -> None:
    parent, child = packer.bucket("vparent"), packer.bucket("vchild")
    built = packer.build(PARENT.format(registry=registry_block(parent)), "fp-vparent", name="parent")
    assert built.returncode == 0, str(built)
    assert packer.registry.product.call("POST", f"/buckets/{parent}/channels",
                                        {"name": "release", "version": "v1"})[0] == 201
    built = packer.build(PARENT.format(registry=registry_block(parent)), "fp-vparent-2", name="parent")
    assert built.returncode == 0, str(built)  # v2 on latest: only `release` leads to v1

    done = packer.build(CHILD_BY_VERSION.format(parent=parent, channel="release", registry=registry_block(child)),
                        "fp-vchild", name="child")

    assert done.returncode == 0, str(done)
    (build,) = packer.hcp_version(child, "fp-vchild")["builds"]
    assert build["source_external_identifier"] == "parent.img", build
    ancestry = packer.native(f"/buckets/{child}/versions/v1/ancestry")
    parents = parent_links(ancestry)
    assert parents == [(parent, "v1", "fp-vparent", "parent_version", "release")], ancestry


# ---- one Packer run through both doors: the HCP API and its packer-manifest.json on S3 -----

MANIFEST = """
  post-processor "manifest" {
    output = "packer-manifest.json"
  }"""


def written_manifest(packer: Packer) -> dict[str, Any] | None:
    """The packer-manifest.json the manifest post-processor wrote, once it is whole."""
    try:
        return json.loads((packer.work / "packer-manifest.json").read_text())
    except (OSError, ValueError):
        return None


def ingest_manifest(packer: Packer, key: str) -> dict[str, Any]:
    """Upload the run's packer-manifest.json to `make run`'s manifest bucket at `key`, as a
    pipeline would; its ingestion record, once written."""
    product = packer.registry.product
    product.s3.put_object(Bucket="packer-manifests", Key=key, Body=(packer.work / "packer-manifest.json").read_bytes())

    def record() -> dict[str, Any] | None:
        body = product.call("GET", "/ingestions?limit=50")[1] or {}
        return next((i for i in body.get("items", []) if i["key"] == key), None)

    return wait_for(f"the ingestion record of {key}", record, 60, product.proc)


def one_version(packer: Packer, bucket: str) -> None:
    """The bucket has one version, v1, and `latest` holds it."""
    names = [v["name"] for v in packer.native(f"/buckets/{bucket}/versions")["items"]]
    assert names == ["v1"], names
    assert packer.native(f"/buckets/{bucket}/channels/latest")["version"] == "v1"


@ALL
def test_the_manifest_of_a_run_published_through_hcp_adds_no_version(packer: Packer) -> None:
    bucket, fingerprint = packer.bucket("doors"), "fp-both-doors"

    done = packer.build(two_sources(registry_block(bucket), provisioner=MANIFEST), fingerprint)

    assert done.returncode == 0, str(done)
    written = written_manifest(packer)
    assert written and len(written["builds"]) == 2, written
    record = ingest_manifest(packer, f"{bucket}/packer-manifest.json")
    assert (record["status"], record["reasons"]) == ("duplicate", []), record
    (recorded,) = record["versions"]
    assert (recorded["version"], recorded["created"], recorded["builds_added"], recorded["fingerprint"]) == (
        "v1", False, 0, written["last_run_uuid"]), recorded
    why = recorded["duplicate"]
    assert why.startswith(f"duplicate of v1 (fingerprint {fingerprint})"), why
    assert "packer.file file.one" in why and "null null.two" in why and written["last_run_uuid"] in why, why
    one_version(packer, bucket)


# The manifest is written and the build then holds (shell-local, after the manifest in one
# chain) until the test has ingested it: Packer reports the build done only after its
# post-processors, so the manifest's version exists before the HCP completion.
HELD_AFTER_MANIFEST = """
source "file" "one" {{
  content = "one"
  target  = "one.txt"
}}

build {{
{registry}
  sources = ["source.file.one"]
  post-processors {{
    post-processor "manifest" {{
      output = "packer-manifest.json"
    }}
    post-processor "shell-local" {{
      inline = ["while [ ! -f {release} ]; do sleep 0.2; done"]
    }}
  }}
}}
"""


@ALL
def test_an_hcp_publish_after_its_runs_manifest_completes_into_the_manifests_version(packer: Packer) -> None:
    bucket, fingerprint = packer.bucket("first"), "fp-manifest-first"
    release = packer.work / "release"
    template = HELD_AFTER_MANIFEST.format(registry=registry_block(bucket), release=release)

    with ThreadPoolExecutor(1) as pool:
        building = pool.submit(packer.build, template, fingerprint)
        try:
            written = wait_for("the manifest post-processor", lambda: written_manifest(packer), BUILD_TIMEOUT,
                               packer.registry.product.proc)
            record = ingest_manifest(packer, f"{bucket}/packer-manifest.json")
        finally:
            release.touch()
        done = building.result(timeout=BUILD_TIMEOUT)

    assert (record["status"], record["versions"][0]["created"]) == ("accepted", True), record
    assert done.returncode == 0, str(done)
    version = packer.hcp_version(bucket, fingerprint)
    assert (version["name"], version["status"], version["fingerprint"]) == (
        "v1", "VERSION_ACTIVE", written["last_run_uuid"]), version
    one_version(packer, bucket)
    events = [e["action"] for e in packer.native(f"/buckets/{bucket}/events")["items"]]
    assert events.count("version.created") == 1 and "version.duplicate" in events, events


NEWEST = max(PINNED, key=lambda version: tuple(map(int, version.split("."))))


def readme_packer_templates() -> list[str]:
    """The README's Packer templates: its `hcl` blocks that have a `build` block."""
    blocks = re.findall(r"```hcl\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    return [block for block in blocks if re.search(r"^build \{", block, re.M)]


@pytest.mark.parametrize("packer", [NEWEST], indirect=True)
def test_the_readme_packer_templates_build_without_a_deprecation_warning(packer: Packer) -> None:
    """Each Packer template of the README, built as it is by the newest pinned Packer: it
    publishes, and Packer warns of nothing deprecated (a registry block in `build` would be)."""
    templates = readme_packer_templates()
    assert templates, "no Packer template found in the README"
    for number, template in enumerate(templates):
        done = packer.build(template, f"fp-readme-{number}", name=f"readme-{number}")
        assert done.returncode == 0, str(done)
        assert "deprecat" not in (done.stdout + done.stderr).lower(), str(done)
    hello = packer.native("/buckets/hello/versions/v1")  # what the README says its template makes
    assert [build["platform"] for build in hello["builds"]] == ["packer.file"], hello


@pytest.mark.parametrize("packer", [NEWEST], indirect=True)
def test_a_principal_bound_to_one_bucket_publishes_there_and_nowhere_else(packer: Packer) -> None:
    """A service principal with no project role, bound to one bucket as contributor (issue 23,
    item 3): its `packer build` publishes there, and is refused by any other bucket."""
    registry = packer.registry
    mine, other = packer.bucket("bound"), packer.bucket("unbound")
    for name in (mine, other):
        assert registry.product.call("POST", "/buckets", {"name": name})[0] == 201
    principal = registry.principal("none")
    status, policy = registry.product.call("PUT", f"/buckets/{mine}/access", {
        "bindings": [{"role": "contributor", "members": [principal.client_id]}]})
    assert status == 200, policy
    bound = Packer(packer.version, packer.binary, registry, principal, packer.work, packer.home)

    done = bound.build(two_sources(registry_block(mine)), "fp-bound")

    assert done.returncode == 0, str(done)
    version = packer.native(f"/buckets/{mine}/versions/v1")
    assert (version["status"], version["fingerprint"]) == ("active", "fp-bound"), version
    refused = bound.build(two_sources(registry_block(other)), "fp-unbound", name="other")
    assert refused.returncode != 0 and "needs the viewer role on bucket" in refused.stdout + refused.stderr, str(refused)
    assert packer.native(f"/buckets/{other}/versions")["items"] == []
