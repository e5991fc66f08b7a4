"""`make bench`: what each operation costs in DynamoDB calls, the cold start against its
floor, the size of the Lambda package, `make run`'s memory under writes, and (for the
record) throughput on moto.

Everything is measured, nothing estimated:
- DynamoDB calls are counted with a botocore `before-call.dynamodb.*` hook on the registry's
  own client (`chalicelib.runtime.aws.client("dynamodb")`): one count per API call, a BatchGetItem or
  TransactWriteItems counting once. Operations go through the entry points users hit: the
  chalice test client's HTTP gateway (authorizer included; the bootstrap admin token makes
  no DynamoDB call) and `lambda_.invoke` for the S3 ingestion and the scheduled sweep, on
  moto in-process, each scenario in a fresh registry. Two of moto's costs that grow with
  the table (a whole-table copy per transaction action, a whole-table sort per Query) are
  replaced by equivalent cheaper ones (`local.moto_server.patch_moto`, what `make run` uses)
  so a registry of 1,000 versions builds in seconds; that changes moto's speed, never the
  calls counted.
- The quiet sweeps: `base` (its `production` channel) with N child versions over N/10
  buckets, each built from base's production; `app` (its `production` channel) with 3
  children in `svc`. After sweeps clear the markers, app's production moves once and ONE
  sweep is counted: it re-checks those 3 children, and should not care about the N others.
- Revoking: root/v1 with 10 children (`mid`) and 40 grandchildren (4 per child, over
  `leaf-0` … `leaf-9`); the request is counted, then the sweep(s) that finish the cascade.
- The compliance check: a Terraform plan of 500 instances, each a distinct AMI of the
  registry (50 versions of 10 regions each, over 10 buckets, half of them children of
  `base`'s production channel), checked once by `POST /compliance/check`.
- The bucket list: `GET /buckets?limit=25` over 30 buckets, each with versions and a channel
  (the page carries every bucket's aggregates).
- The HCP API publish of a 2-build version, as `packer build` drives it through the routes
  (chalice's test client, the admin token): GetVersion (a miss), CreateVersion, 2 CreateBuild,
  2 UpdateBuild RUNNING, 2 UpdateBuild DONE, the last one completing the version; the calls
  of each request are recorded, and the completing one is the target.
- The cold start is a fresh Python process importing `app` and answering one consumer query
  through the API handler (`app.app(event, context)`, the authorizer context already on the
  request, as API Gateway delivers it) over a fresh process importing boto3 and making the
  same GetItem, both against one moto server on loopback: median wall time of 15 interleaved
  runs each, each timed until its answer is out (both end with `os._exit`: a Lambda
  container is frozen after the response, never torn down in its time, so the teardown of
  the interpreter's modules is no part of a cold start). The app runs from deployment.zip unpacked, as Lambda runs it: its read-only
  /var/task is emulated with PYTHONDONTWRITEBYTECODE=1, so the only bytecode it finds is what
  the package ships; boto3 comes from the environment, as the Lambda runtime provides it.
- The package is what `scripts/package.sh prod <dir>` (`make package`) writes.
- `make run`'s memory: the runner started as tests/product.py starts it (a subprocess on free
  ports, its own temporary data directory), one bucket with v1 and v2, then `production`
  moved between them by PATCH over HTTP; VmRSS from /proc/<pid>/status after 10 moves and
  after 1,000. moto's state grows by the history and audit items of each move (a few MB);
  anything more is a leak.

Prints a Markdown table (figure, previous run's value from bench/results.json when there is
one, target, PASS/MISS), writes bench/results.json with the commit, time and machine,
and exits 1 when a target is missed. Each target has a stable key in results.json
(`targets.<key>`), its label (which may carry measured times) beside it, so runs compare.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results.json"
TABLE, MANIFEST_BUCKET = "packer-registry", "packer-manifests"
ADMIN_TOKEN = "bench-admin-token-0123456789abcdef0123456789"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
COLD_RUNS = 15  # interleaved pairs: on a machine shared with other work a run varies by ±30 %
BASE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
    "REGISTRY_TABLE": TABLE, "MANIFEST_BUCKET": MANIFEST_BUCKET, "POWERTOOLS_METRICS_DISABLED": "true",
    "REGISTRY_ADMIN_TOKEN": ADMIN_TOKEN, "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true", "LOG_LEVEL": "WARNING",
}

# Fake credentials and a region before any client exists; never real AWS.
for _name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_S3",
              "AWS_SESSION_TOKEN", "AWS_REGION"):
    os.environ.pop(_name, None)
os.environ.update(BASE_ENV)
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402
from chalice.test import Client  # noqa: E402
from moto import mock_aws  # noqa: E402

import app as registry_app  # noqa: E402
from chalicelib.runtime import aws  # noqa: E402
from chalicelib.storage.schema import table_definition  # noqa: E402
from local.gateway import local_gateway_responses  # noqa: E402
from local.moto_server import patch_moto  # noqa: E402

local_gateway_responses()


# moto made fast enough for a registry of 1,000 versions: the local runner's patches (an undo
# log instead of a whole-table copy per transaction item, a Query answered from its partition).
patch_moto()


# ---- counting ---------------------------------------------------------------------------

class Counter:
    """Counts DynamoDB API calls made through the registry's (cached) client."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.client = aws.client("dynamodb")
        self.client.meta.events.register("before-call.dynamodb.*", self._hook)

    def _hook(self, event_name: str = "", **_: Any) -> None:
        self.calls.append(event_name.rsplit(".", 1)[-1])

    @contextlib.contextmanager
    def measure(self) -> Iterator[list[str]]:
        """The calls made inside the block, by operation name."""
        start, seen = len(self.calls), []
        yield seen
        if aws.client("dynamodb") is not self.client:  # a second client would escape the count
            raise RuntimeError("the registry made another DynamoDB client: the count would be incomplete")
        seen.extend(self.calls[start:])


# ---- a registry driven as users drive it ------------------------------------------------

class Registry:
    def __init__(self, client: Client) -> None:
        self.client = client
        self.s3 = boto3.client("s3")
        self.counter = Counter()

    def upload(self, key: str, document: dict[str, Any]) -> dict[str, Any]:
        """Put a manifest in the manifest bucket; return its S3 event (real ETag and size)."""
        body = json.dumps(document).encode()
        self.s3.put_object(Bucket=MANIFEST_BUCKET, Key=key, Body=body)
        head = self.s3.head_object(Bucket=MANIFEST_BUCKET, Key=key)
        event = self.client.events.generate_s3_event(bucket=MANIFEST_BUCKET, key=key)
        event["Records"][0]["s3"]["object"].update(eTag=head["ETag"].strip('"'), size=head["ContentLength"])
        return event

    def deliver(self, event: dict[str, Any]) -> None:
        self.client.lambda_.invoke("ingest_manifest", event)

    def ingest(self, key: str, document: dict[str, Any]) -> dict[str, Any]:
        self.deliver(self.upload(key, document))
        return self.last_ingestion()

    def last_ingestion(self, status: str = "accepted") -> dict[str, Any]:
        (item,) = self.get("/ingestions?limit=1")["items"]
        if item["status"] != status:
            raise RuntimeError(f"bench manifest {item['status']}, not {status}: {item['reasons']}")
        return item

    def get(self, path: str, status: int = 200) -> Any:
        response = self.client.http.get(path, headers=ADMIN)
        if response.status_code != status:
            raise RuntimeError(f"GET {path}: {response.status_code} {response.body!r}")
        return json.loads(response.body)

    def send(self, method: str, path: str, payload: Any = None, status: int = 200) -> Any:
        response = getattr(self.client.http, method)(
            path, body=json.dumps(payload) if payload is not None else b"",
            headers={"Content-Type": "application/json", **ADMIN})
        if response.status_code != status:
            raise RuntimeError(f"{method.upper()} {path}: {response.status_code} {response.body!r}")
        return json.loads(response.body) if response.body else None

    def run_sweep(self) -> None:
        """The scheduled sweep, as EventBridge invokes it (what the sweep rows count)."""
        event = self.client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event",
                                                     detail={}, resources=[])
        self.client.lambda_.invoke("sweep", event)

    def sweep(self) -> dict[str, Any]:
        """Run the sweep, then read what it did (GET /compliance/report)."""
        self.run_sweep()
        return self.get("/compliance/report")["last_sweep"]

    def sweep_until_quiet(self, at_most: int = 20) -> int:
        for runs in range(1, at_most + 1):
            if self.sweep()["markers_processed"] == 0:
                return runs
        raise RuntimeError(f"markers still pending after {at_most} sweeps")

    def count(self, operation: Callable[[], Any]) -> tuple[int, list[str], Any]:
        with self.counter.measure() as calls:
            result = operation()
        return len(calls), calls, result


@contextlib.contextmanager
def fresh_registry() -> Iterator[Registry]:
    """An empty in-process moto with the table and the manifest bucket, and the app's test client."""
    with mock_aws():
        aws.reset()
        boto3.client("dynamodb").create_table(**table_definition(TABLE))
        boto3.client("s3").create_bucket(Bucket=MANIFEST_BUCKET)
        try:
            with Client(registry_app.app, stage_name="local", project_dir=str(ROOT)) as client:
                yield Registry(client)
        finally:
            aws.reset()


# ---- manifests --------------------------------------------------------------------------

_ami = iter(range(1, 10**9))


def ami() -> str:
    return f"ami-{next(_ami):017x}"


def build(name: str, run: str, regions: tuple[str, ...] = ("us-east-1", "us-west-2"), **custom: Any) -> dict:
    """One Packer amazon-ebs build as the manifest post-processor writes it."""
    return {"name": name, "builder_type": "amazon-ebs", "build_time": 1764000000, "files": None,
            "artifact_id": ",".join(f"{r}:{ami()}" for r in regions), "packer_run_uuid": run,
            "custom_data": custom}


def manifest(builds: list[dict]) -> dict:
    return {"builds": builds, "last_run_uuid": builds[-1]["packer_run_uuid"]}


def runs(prefix: str, count: int, **custom: Any) -> dict:
    """A manifest of `count` runs (one build each): `count` versions."""
    return manifest([build("ubuntu", f"{prefix}-run-{i:05d}", **custom) for i in range(count)])


# ---- DynamoDB calls per operation -------------------------------------------------------

CONSUMER_QUERY = "/buckets/base/channels/production/artifact?platform=aws&region=us-east-1"


def bench_requests(results: dict[str, Any]) -> None:
    """Consumer query, get version, list page, ingestion of 1 and 20 builds; throughput."""
    with fresh_registry() as reg:
        reg.ingest("base/packer-manifest.json", runs("base", 30))
        reg.send("post", "/buckets/base/channels", {"name": "production", "version": "v1"}, 201)

        n, calls, served = reg.count(lambda: reg.get(CONSUMER_QUERY))
        assert served["version"] == "v1" and served["region"] == "us-east-1", served
        record(results, "consumer_query", n, calls)

        n, calls, version = reg.count(lambda: reg.get("/buckets/base/versions/v1"))
        assert version["name"] == "v1" and len(version["builds"]) == 1, version
        record(results, "get_version", n, calls)
        fingerprint = version["fingerprint"]
        n, calls, _ = reg.count(lambda: reg.get(f"/buckets/base/versions/{fingerprint}"))
        record(results, "get_version_by_fingerprint", n, calls, extra=True)

        n, calls, page = reg.count(lambda: reg.get("/buckets/base/versions?limit=25"))
        assert len(page["items"]) == 25 and page.get("next_token"), "a full page with more to come"
        record(results, "list_versions_page", n, calls)

        one = reg.upload("base/one-build.json", manifest([build("ubuntu", "one-build-run")]))
        n, calls, _ = reg.count(lambda: reg.deliver(one))
        done = reg.last_ingestion()
        assert [(v["created"], v["builds_added"]) for v in done["versions"]] == [(True, 1)], done
        record(results, "ingest_manifest_1_build", n, calls)

        twenty = reg.upload("base/twenty-builds.json",
                            manifest([build(f"source-{i:02d}", "twenty-builds-run") for i in range(20)]))
        n, calls, _ = reg.count(lambda: reg.deliver(twenty))
        done = reg.last_ingestion()
        assert [(v["created"], v["builds_added"]) for v in done["versions"]] == [(True, 20)], done
        record(results, "ingest_manifest_20_builds", n, calls)

        # Throughput, for the record: handlers on moto in-process (moto's cost included).
        events = [reg.upload(f"base/throughput-{i:03d}.json", manifest([build("ubuntu", f"tp-run-{i:03d}")]))
                  for i in range(50)]
        started = time.perf_counter()
        for event in events:
            reg.deliver(event)
        results["ingest_manifests_per_s"] = round(len(events) / (time.perf_counter() - started), 1)
        queries = 300
        started = time.perf_counter()
        for _ in range(queries):
            reg.client.http.get(CONSUMER_QUERY, headers=ADMIN)
        results["consumer_queries_per_s"] = round(queries / (time.perf_counter() - started), 1)


def bench_quiet_sweep(results: dict[str, Any], quiet: int) -> None:
    """One channel move (3 dependants) in a registry of `quiet` otherwise quiet child versions."""
    with fresh_registry() as reg:
        started = time.perf_counter()
        reg.ingest("base/packer-manifest.json", runs("base", 2))
        reg.send("post", "/buckets/base/channels", {"name": "production", "version": "v1"}, 201)
        reg.ingest("app/packer-manifest.json", runs("app", 2))
        reg.send("post", "/buckets/app/channels", {"name": "production", "version": "v1"}, 201)
        reg.ingest("svc/packer-manifest.json", runs("svc", 3, parent_bucket="app", parent_channel="production"))
        # The quiet ones: children of base's production, ten per bucket, in manifests of 250 runs.
        per_manifest = 250
        for first in range(0, quiet, per_manifest):
            reg.ingest(f"quiet/{first:05d}.json", manifest([
                build("ubuntu", f"quiet-run-{i:05d}", bucket_name=f"quiet-{i // 10:04d}",
                      parent_bucket="base", parent_channel="production")
                for i in range(first, min(first + per_manifest, quiet))]))
        check = reg.get("/buckets/quiet-0000/versions/v1")
        assert check["parents"][0]["bucket"] == "base" and check["ancestry_status"] == "up_to_date", check
        setup = time.perf_counter() - started
        reg.sweep_until_quiet()

        reg.send("patch", "/buckets/app/channels/production", {"version": "v2"})
        n, calls, _ = reg.count(reg.run_sweep)  # the sweep alone, not the report read after it
        report = reg.get("/compliance/report")["last_sweep"]
        # the move's marker only: the 3 children whose status changed have no children, so
        # they leave no marker of their own
        assert report["markers_processed"] == 1 and len(report["ancestry_changes"]) == 3, report
        assert reg.get("/buckets/svc/versions/v1")["ancestry_status"] == "out_of_date"
        record(results, f"sweep_quiet_{quiet}", n, calls)
        results.setdefault("setup_seconds", {})[f"sweep_quiet_{quiet}"] = round(setup, 1)


def bench_revoke(results: dict[str, Any]) -> None:
    """root/v1 with 50 descendants: 10 children (mid), each with 4 children (leaf-*)."""
    with fresh_registry() as reg:
        reg.ingest("root/packer-manifest.json", runs("root", 1))
        reg.ingest("mid/packer-manifest.json", runs("mid", 10, parent_bucket="root", parent_version="v1"))
        reg.ingest("leaf/packer-manifest.json", manifest([
            build("ubuntu", f"leaf-run-{i:03d}", bucket_name=f"leaf-{i % 10}", parent_bucket="mid",
                  parent_version=f"v{i // 4 + 1}") for i in range(40)]))
        # The tree is read in bounded pages (25 child-edge Queries a request): follow next_token.
        tree = reg.get("/buckets/root/versions/v1/descendants?depth=5")
        found = tree["count"]
        while tree.get("next_token"):
            tree = reg.get(f"/buckets/root/versions/v1/descendants?depth=5&next_token={tree['next_token']}")
            found += tree["count"]
        assert found == 50 and not tree["truncated"], (found, tree)
        reg.sweep_until_quiet()

        n, calls, revoked = reg.count(lambda: reg.send("post", "/buckets/root/versions/v1/revoke",
                                                       {"reason": "bench: CVE-0000-0000"}))
        record(results, "revoke_with_50_descendants", n, calls)
        inline = sum(1 for v in _descendant_versions(reg) if v["status"] == "revoked")
        sweeps, sweep_calls = 0, 0
        while reg.get("/buckets/root/versions/v1")["revocation"].get("cascade_pending"):
            sweeps += 1
            if sweeps > 10:
                raise RuntimeError("the cascade did not finish in 10 sweeps")
            sweep_n, _, _ = reg.count(reg.run_sweep)
            sweep_calls += sweep_n
        statuses = [v["status"] for v in _descendant_versions(reg)]
        assert statuses == ["revoked"] * 50, statuses
        results["revoke_with_50_descendants_total"] = {
            "ddb_calls": n + sweep_calls, "request": n, "sweeps": sweeps, "sweep_calls": sweep_calls,
            "revoked_by_request": inline, "revoked_by_sweep": 50 - inline,
            "request_status": revoked["status"]}


def _descendant_versions(reg: Registry) -> list[dict[str, Any]]:
    found = [reg.get(f"/buckets/mid/versions/v{n}") for n in range(1, 11)]
    found += [reg.get(f"/buckets/leaf-{b}/versions/v{n}") for b in range(10) for n in range(1, 5)]
    return found


def record(results: dict[str, Any], name: str, count: int, calls: list[str], extra: bool = False) -> None:
    (results.setdefault("extra_ddb_calls", {}) if extra else results["ddb_calls"])[name] = count
    results.setdefault("ddb_call_detail", {})[name] = _summarise(calls)


def _summarise(calls: list[str]) -> dict[str, int]:
    summary: dict[str, int] = {}
    for call in calls:
        summary[call] = summary.get(call, 0) + 1
    return summary


REGIONS = ("us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2", "eu-central-1",
           "ap-southeast-1", "ap-southeast-2", "ap-northeast-1")


def bench_compliance_check(results: dict[str, Any]) -> None:
    """A plan of 500 instances, each a distinct AMI of the registry: 50 versions of 10 regions
    over 10 buckets, the versions of 5 buckets children of base's production channel."""
    with fresh_registry() as reg:
        reg.ingest("base/packer-manifest.json", runs("base", 1))
        reg.send("post", "/buckets/base/channels", {"name": "production", "version": "v1"}, 201)
        builds = [build("ubuntu", f"fleet-run-{b}-{n}", regions=REGIONS, bucket_name=f"fleet-{b}",
                        **({"parent_bucket": "base", "parent_channel": "production"} if b % 2 else {}))
                  for b in range(10) for n in range(5)]
        reg.ingest("fleet/packer-manifest.json", manifest(builds))
        amis = [part.split(":", 1)[1] for b in builds for part in b["artifact_id"].split(",")]
        assert len(set(amis)) == 500
        plan = {"format_version": "1.2", "terraform_version": "1.9.5", "planned_values": {"root_module": {
            "resources": [{"address": f"aws_instance.node_{i}", "mode": "managed", "type": "aws_instance",
                           "name": f"node_{i}", "values": {"ami": ami, "instance_type": "t3.micro"}}
                          for i, ami in enumerate(amis)]}}}
        n, calls, checked = reg.count(lambda: reg.send("post", "/compliance/check", plan))
        verdicts = {r["verdict"] for r in checked["results"]}
        assert len(checked["results"]) == 500 and "unknown" not in verdicts, checked["counts"]
        record(results, "compliance_check_500", n, calls)
        # For the record: IDs the registry never saw each cost a Query of the index (no
        # newest-producer item tells "unknown" from "recorded before those items existed").
        unknown = {"artifacts": [f"ami-{0xf0000000 + i:017x}" for i in range(500)]}
        n, calls, _ = reg.count(lambda: reg.send("post", "/compliance/check", unknown))
        record(results, "compliance_check_500_unknown", n, calls, extra=True)


def bench_list_buckets(results: dict[str, Any]) -> None:
    """`GET /buckets?limit=25` over 30 buckets with versions, a revoked one and a channel each."""
    with fresh_registry() as reg:
        reg.ingest("team/packer-manifest.json", manifest([
            build("ubuntu", f"team-run-{b}-{n}", bucket_name=f"team-{b:02d}") for b in range(30) for n in range(2)]))
        for b in range(30):
            reg.send("post", f"/buckets/team-{b:02d}/channels", {"name": "production", "version": "v2"}, 201)
        reg.send("post", "/buckets/team-00/versions/v1/revoke", {"reason": "bench"})
        n, calls, listed = reg.count(lambda: reg.get("/buckets?limit=25"))
        assert len(listed["items"]) == 25 and listed.get("next_token"), "a full page with more to come"
        record(results, "list_buckets_page", n, calls)


HCP_RUN = "8a7f2d3c-1111-4222-8333-944455556666"


def bench_hcp_publish(results: dict[str, Any]) -> None:
    """A 2-build version published through the HCP API as `packer build` drives it; the calls
    of each request, the completing UpdateBuild (the second BUILD_DONE) the target."""
    with fresh_registry() as reg:
        rm = "/resource-manager/2019-12-10"
        organization = reg.get(f"{rm}/organizations")["organizations"][0]["id"]
        project = reg.get(f"{rm}/projects")["projects"][0]["id"]
        prefix = f"/packer/2023-01-01/organizations/{organization}/projects/{project}/buckets"
        reg.send("put", prefix, {"name": "web", "description": "images"})
        version = f"{prefix}/web/versions"
        per_request: dict[str, int] = {}
        detail: dict[str, dict[str, int]] = {}

        def step(name: str, method: str, path: str, payload: Any = None, status: int = 200) -> Any:
            n, calls, answer = reg.count(lambda: reg.send(method, path, payload, status))
            per_request[name], detail[name] = n, _summarise(calls)
            return answer

        step("get_version_miss", "get", f"{version}/fp-bench", status=409)
        step("create_version", "post", version, {"fingerprint": "fp-bench", "template_type": "HCL2"})
        ids = [step(f"create_build_{c}", "post", f"{version}/fp-bench/builds", {
            "artifacts": None, "component_type": f"amazon-ebs.{c}", "packer_run_uuid": HCP_RUN,
            "status": "BUILD_UNSET"})["build"]["id"] for c in ("ubuntu", "debian")]
        for i, build_id in enumerate(ids):
            step(f"update_build_running_{i + 1}", "patch", f"{version}/fp-bench/builds/{build_id}",
                 {"artifacts": None, "packer_run_uuid": HCP_RUN, "status": "BUILD_RUNNING"})
        made = {}
        for i, build_id in enumerate(ids):
            made[build_id] = ami()
            step(f"update_build_done_{i + 1}", "patch", f"{version}/fp-bench/builds/{build_id}", {
                "artifacts": [{"external_identifier": made[build_id], "region": "us-east-1"}], "platform": "aws",
                "packer_run_uuid": HCP_RUN, "status": "BUILD_DONE", "labels": {"os": "ubuntu"}})
        done = reg.get("/buckets/web/versions/v1")
        assert done["status"] == "active" and len(done["builds"]) == 2, done
        record(results, "hcp_complete_version", per_request["update_build_done_2"],
               [op for op, k in detail["update_build_done_2"].items() for _ in range(k)])
        results["hcp_publish_calls_per_request"] = per_request
        results.setdefault("ddb_call_detail", {})["hcp_publish"] = detail

        # The same run's packer-manifest.json, uploaded after: recorded against v1 (duplicates.py).
        same_run = manifest([{**build(c, HCP_RUN), "artifact_id": f"us-east-1:{made[i]}"}
                             for c, i in zip(("ubuntu", "debian"), ids)])
        event = reg.upload("web/packer-manifest.json", same_run)
        n, calls, _ = reg.count(lambda: reg.deliver(event))
        reg.last_ingestion("duplicate")
        record(results, "ingest_duplicate_manifest", n, calls, extra=True)
        # The other order: a run's manifest first (v2), then its HCP publish completes into v2.
        run = "8a7f2d3c-2222-4222-8333-944455556666"
        first = manifest([build(c, run, ("us-east-1",)) for c in ("ubuntu", "debian")])
        reg.ingest("web/first.json", first)
        reg.send("post", version, {"fingerprint": "fp-second", "template_type": "HCL2"})
        later = [reg.send("post", f"{version}/fp-second/builds", {
            "component_type": f"amazon-ebs.{b['name']}", "packer_run_uuid": run, "status": "BUILD_RUNNING"})["build"]["id"]
            for b in first["builds"]]
        for build_id, entry in zip(later, first["builds"]):
            n, calls, _ = reg.count(lambda: reg.send("patch", f"{version}/fp-second/builds/{build_id}", {
                "artifacts": [{"external_identifier": entry["artifact_id"].split(":")[1], "region": "us-east-1"}],
                "platform": "aws", "packer_run_uuid": run, "status": "BUILD_DONE"}))
        assert reg.get(f"{version}/fp-second")["version"]["name"] == "v2"
        record(results, "hcp_complete_duplicate", n, calls, extra=True)


# ---- cold start -------------------------------------------------------------------------

COLD_APP = """
import json, os, sys
sys.path.insert(0, {root!r})
import app

class Context:
    function_name = "packer-registry-prod"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:packer-registry-prod"
    memory_limit_in_mb = 512
    aws_request_id = "00000000-0000-0000-0000-000000000001"
    log_group_name = "/aws/lambda/packer-registry-prod"
    log_stream_name = "bench"
    def get_remaining_time_in_millis(self):
        return 60000

query = {{"platform": "aws", "region": "us-east-1"}}
event = {{
    "resource": "/buckets/{{bucket}}/channels/{{channel}}/artifact",
    "path": "/buckets/b/channels/production/artifact",
    "httpMethod": "GET",
    "headers": {{"Accept": "*/*", "Host": "example.execute-api.us-east-1.amazonaws.com",
                 "Authorization": "Bearer not-checked-here"}},
    "multiValueHeaders": {{}},
    "queryStringParameters": query,
    "multiValueQueryStringParameters": {{k: [v] for k, v in query.items()}},
    "pathParameters": {{"bucket": "b", "channel": "production"}},
    "stageVariables": None,
    "requestContext": {{
        "resourcePath": "/buckets/{{bucket}}/channels/{{channel}}/artifact",
        "httpMethod": "GET", "path": "/api/buckets/b/channels/production/artifact", "stage": "api",
        "requestId": "bench", "identity": {{"sourceIp": "127.0.0.1"}},
        "authorizer": {{"name": "bench", "role": "viewer", "principalId": "bench"}},
    }},
    "body": None,
    "isBase64Encoded": False,
}}
response = app.app(event, Context())
assert response["statusCode"] == 200, response
print("RESULT", json.loads(response["body"])["external_id"])
sys.stdout.flush()
os._exit(0)  # the response is out: Lambda freezes the process here, it never tears the interpreter down
"""

COLD_FLOOR = """
import os, sys
import boto3
client = boto3.client("dynamodb")
response = client.get_item(TableName={table!r}, Key={{"PK": {{"S": "BUCKET#b"}}, "SK": {{"S": "CHANNEL#production"}}}},
                           ConsistentRead=True)
print("RESULT", [a["M"]["external_id"]["S"] for b in response["Item"]["builds"]["L"]
                 for a in b["M"]["artifacts"]["L"] if a["M"]["region"].get("S") == "us-east-1"][0])
sys.stdout.flush()
os._exit(0)
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def bench_cold_start(results: dict[str, Any], unpacked: Path | None) -> None:
    """`unpacked`: deployment.zip's contents (the package step's), else the worktree is run."""
    import logging

    from local.moto_server import SerializedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the server's request log
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = SerializedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    workdir = Path(tempfile.mkdtemp(prefix="bench-cold-"))
    try:
        os.environ["AWS_ENDPOINT_URL"] = url
        aws.reset()
        aws.client("dynamodb").create_table(**table_definition(TABLE))
        aws.client("s3").create_bucket(Bucket=MANIFEST_BUCKET)
        with Client(registry_app.app, stage_name="local", project_dir=str(ROOT)) as client:
            reg = Registry(client)
            reg.ingest("b/packer-manifest.json", runs("cold", 3))
            reg.send("post", "/buckets/b/channels", {"name": "production", "version": "v2"}, 201)
            expected = reg.get("/buckets/b/channels/production/artifact?platform=aws&region=us-east-1")["external_id"]
        os.environ.pop("AWS_ENDPOINT_URL")
        aws.reset()

        scripts = {"app": workdir / "cold_app.py", "floor": workdir / "cold_floor.py"}
        scripts["app"].write_text(COLD_APP.format(root=str(unpacked or ROOT)))
        scripts["floor"].write_text(COLD_FLOOR.format(table=TABLE))
        # What a prod Lambda has (stage variables of .chalice/config.json), the table on moto.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_", "REGISTRY_"))}
        env.update({k: v for k, v in BASE_ENV.items() if k.startswith("AWS_")}, AWS_ENDPOINT_URL=url,
                   REGISTRY_TABLE=TABLE, MANIFEST_BUCKET=MANIFEST_BUCKET, LOG_LEVEL="INFO",
                   POWERTOOLS_SERVICE_NAME="packer-registry", POWERTOOLS_METRICS_NAMESPACE="PackerRegistry",
                   PYTHONDONTWRITEBYTECODE="1")  # Lambda's /var/task is read-only: no bytecode cache

        def run(which: str, *flags: str) -> tuple[float, subprocess.CompletedProcess]:
            """Wall time of one run; its CPU time (user + system) goes to `cpu`."""
            import resource

            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            done = subprocess.run([sys.executable, *flags, str(scripts[which])], env=env, cwd=str(workdir),
                                  capture_output=True, text=True, timeout=120)
            elapsed = time.perf_counter() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[which].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
            answer = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
            if done.returncode != 0 or answer != [f"RESULT {expected}"]:
                raise RuntimeError(f"cold start script {which} failed: {done.stdout}\n{done.stderr}")
            return elapsed, done

        cpu: dict[str, list[float]] = {"app": [], "floor": []}
        run("app"), run("floor")  # warm the OS file cache and bytecode caches, not measured
        times: dict[str, list[float]] = {"app": [], "floor": []}
        cpu = {"app": [], "floor": []}
        for _ in range(COLD_RUNS):
            for which in ("app", "floor"):
                times[which].append(run(which)[0])
        app_median, floor_median = statistics.median(times["app"]), statistics.median(times["floor"])
        results["cold_start_ratio"] = round(app_median / floor_median, 2)
        _, traced = run("app", "-X", "importtime")
        results["cold_start_detail"] = {
            "app_from": "deployment.zip" if unpacked else "worktree",
            "app_median_ms": round(app_median * 1000, 1), "floor_median_ms": round(floor_median * 1000, 1),
            "app_runs_ms": [round(t * 1000, 1) for t in times["app"]],
            "floor_runs_ms": [round(t * 1000, 1) for t in times["floor"]],
            "fastest_ratio": round(min(times["app"]) / min(times["floor"]), 2),  # for the record: the least disturbed
            # CPU time (user + system) of each process: what other work on the machine disturbs least
            "cpu_ratio": round(statistics.median(cpu["app"]) / statistics.median(cpu["floor"]), 2),
            "app_cpu_median_ms": round(statistics.median(cpu["app"]) * 1000, 1),
            "floor_cpu_median_ms": round(statistics.median(cpu["floor"]) * 1000, 1),
            "import_self_ms_by_package": top_imports(traced.stderr),
        }
    finally:
        os.environ.pop("AWS_ENDPOINT_URL", None)
        aws.reset()
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def top_imports(importtime: str, count: int = 15) -> dict[str, float]:
    """Self import time (ms) summed per top-level package, from `python -X importtime` output:
    every module counted once, so the figures add up to the whole import."""
    totals: dict[str, float] = {}
    for line in importtime.splitlines():
        if not line.startswith("import time:") or line.count("|") != 2 or "[us]" in line:
            continue
        own, _, name = (part.strip() for part in line[len("import time:"):].split("|"))
        package = name.split(".")[0]
        totals[package] = totals.get(package, 0.0) + int(own) / 1000
    return {k: round(v, 1) for k, v in sorted(totals.items(), key=lambda kv: -kv[1])[:count]}


# ---- the package ------------------------------------------------------------------------

def bench_package(results: dict[str, Any], unpack_to: Path) -> None:
    """Package the app; its deployment.zip's size and what it holds, unpacked into `unpack_to`
    for the cold start."""
    out = Path(tempfile.mkdtemp(prefix="bench-package-"))
    try:
        env = dict(os.environ)
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        done = subprocess.run(["bash", str(ROOT / "scripts" / "package.sh"), "prod", str(out)], cwd=str(ROOT),
                              env=env, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise RuntimeError(f"scripts/package.sh failed:\n{done.stdout}\n{done.stderr}")
        (zip_path,) = out.rglob("deployment.zip")
        results["deployment_zip_mb"] = round(zip_path.stat().st_size / 1_000_000, 2)
        import zipfile

        with zipfile.ZipFile(zip_path) as archive:
            sizes: dict[str, int] = {}
            for info in archive.infolist():
                top = info.filename.split("/")[0]
                sizes[top] = sizes.get(top, 0) + info.compress_size
            names = archive.namelist()
            archive.extractall(unpack_to)
        tag = sys.implementation.cache_tag
        sources = [n for n in names if n.endswith(".py") and n.startswith(("app.py", "chalicelib/"))]
        # usable bytecode only: hash-based (a timestamp .pyc from the zip is stale to the loader)
        compiled = [n for n in sources if _pyc(n, tag) in set(names)
                    and int.from_bytes((unpack_to / _pyc(n, tag)).read_bytes()[4:8], "little") & 1]
        results["deployment_zip_bytecode"] = round(len(compiled) / len(sources), 2) if sources else 0.0
        results["deployment_zip_detail"] = {
            "bytes": zip_path.stat().st_size, "app_modules": len(sources), "app_modules_compiled": len(compiled),
            "largest_compressed_mb": {k: round(v / 1_000_000, 2)
                                      for k, v in sorted(sizes.items(), key=lambda kv: -kv[1])[:6]}}
    finally:
        shutil.rmtree(out, ignore_errors=True)


def _pyc(source: str, tag: str) -> str:
    """Where the bytecode of a zip's `source` entry goes (`dir/__pycache__/name.<tag>.pyc`)."""
    folder, _, name = source.rpartition("/")
    return f"{folder + '/' if folder else ''}__pycache__/{name[:-3]}.{tag}.pyc"


# ---- make run's memory --------------------------------------------------------------------

MEMORY_MOVES = (10, 1000)


def resident_mb(pid: int) -> float:
    """A process's resident memory (VmRSS) in MB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmRSS for process {pid}")


def bench_runner_memory(results: dict[str, Any]) -> None:
    """`make run` (the runner as a subprocess, as tests/product.py starts it) serving channel
    moves over HTTP: resident memory after 10 and after 1,000 of them."""
    sys.path.insert(0, str(ROOT / "tests"))
    from product import start_product, wait_for

    with start_product(ADMIN_TOKEN) as product:
        product.s3.put_object(Bucket=MANIFEST_BUCKET, Key="base/packer-manifest.json",
                              Body=json.dumps(runs("memory", 2)).encode())
        wait_for("base v2", lambda: product.call("GET", "/buckets/base/versions/v2")[0] == 200, 60, product.proc)
        status, body = product.call("POST", "/buckets/base/channels", {"name": "production", "version": "v1"})
        if status != 201:
            raise RuntimeError(f"creating the channel: {status} {body}")
        resident, moved = {}, 0
        for target in MEMORY_MOVES:
            while moved < target:
                moved += 1
                status, body = product.call("PATCH", "/buckets/base/channels/production",
                                            {"version": f"v{2 - moved % 2}"}, timeout=30)
                if status != 200:
                    raise RuntimeError(f"channel move {moved}: {status} {body}")
            resident[target] = resident_mb(product.proc.pid)
    first, last = MEMORY_MOVES
    results["runner_rss_ratio"] = round(resident[last] / resident[first], 2)
    results["runner_rss_detail"] = {f"after_{n}_moves_mb": mb for n, mb in resident.items()}


# ---- targets and report -----------------------------------------------------------------

@dataclass
class Row:
    """One line of the report: `key` names it in results.json (stable across runs: the
    label may carry measured times), `path` is where its value sits in the results."""

    key: str
    label: str
    path: tuple[str, ...]
    target: str = "—"
    test: Callable[[Any], bool] | None = None

    def value(self, results: dict[str, Any]) -> Any:
        found: Any = results
        for part in self.path:
            found = found.get(part) if isinstance(found, dict) else None
        return found

    def verdict(self, results: dict[str, Any]) -> bool | None:
        """True/False on a target (a figure that could not be measured misses it), None for a
        figure without a target."""
        if self.test is None:
            return None
        value = self.value(results)
        return value is not None and self.test(value)


def rows(results: dict[str, Any]) -> list[Row]:
    """The figures and issue 15's targets (the table in its text)."""
    calls = ("ddb_calls",)
    detail = results.get("cold_start_detail", {})
    memory = results.get("runner_rss_detail", {})
    small = results["ddb_calls"].get("sweep_quiet_100")
    return [
        Row("consumer_query", "consumer query (DynamoDB calls)", (*calls, "consumer_query"), "1", lambda v: v == 1),
        Row("get_version", "get version (DynamoDB calls)", (*calls, "get_version"), "1", lambda v: v == 1),
        Row("list_versions_page", "list versions, one page (DynamoDB calls)", (*calls, "list_versions_page"), "1",
            lambda v: v == 1),
        Row("ingest_manifest_1_build", "ingest a 1-build manifest (DynamoDB calls)",
            (*calls, "ingest_manifest_1_build"), "≤ 4", lambda v: v <= 4),
        Row("ingest_manifest_20_builds", "ingest a 20-build manifest (DynamoDB calls)",
            (*calls, "ingest_manifest_20_builds"), "≤ 4", lambda v: v <= 4),
        Row("sweep_quiet_100", "sweep after one channel move, 100 quiet versions (DynamoDB calls)",
            (*calls, "sweep_quiet_100"), "≤ 8", lambda v: v <= 8),
        Row("sweep_quiet_1000", "sweep after one channel move, 1,000 quiet versions (DynamoDB calls)",
            (*calls, "sweep_quiet_1000"), "≤ 8 and = the 100-version sweep",
            lambda v: v <= 8 and v == small),
        Row("revoke_with_50_descendants", "revoke with 50 descendants: the request (DynamoDB calls)",
            (*calls, "revoke_with_50_descendants")),
        Row("revoke_with_50_descendants_total",
            "revoke with 50 descendants: request + sweep finishing the cascade (DynamoDB calls)",
            ("revoke_with_50_descendants_total", "ddb_calls"), "≤ 150 (3 per descendant)", lambda v: v <= 150),
        Row("compliance_check_500", "compliance check of a plan with 500 image references (DynamoDB calls)",
            (*calls, "compliance_check_500"), "≤ 10", lambda v: v <= 10),
        Row("list_buckets_page", "GET /buckets, one page of 25 with their aggregates (DynamoDB calls)",
            (*calls, "list_buckets_page"), "1", lambda v: v == 1),
        Row("hcp_complete_version", "HCP API: the UpdateBuild (DONE) completing a 2-build version (DynamoDB calls; "
            f"per request: {_per_request(results)})", (*calls, "hcp_complete_version"), "≤ 4", lambda v: v <= 4),
        Row("ingest_duplicate_manifest", "ingest the manifest of a run published through the HCP API: recorded "
            "against its version (DynamoDB calls)", ("extra_ddb_calls", "ingest_duplicate_manifest")),
        Row("hcp_complete_duplicate", "HCP API: the UpdateBuild (DONE) completing a 2-build draft into the version "
            "its manifest made (DynamoDB calls)", ("extra_ddb_calls", "hcp_complete_duplicate")),
        Row("cold_start_ratio", f"cold start / floor (medians of {COLD_RUNS}: {detail.get('app_median_ms')} ms / "
            f"{detail.get('floor_median_ms')} ms, app from {detail.get('app_from')})", ("cold_start_ratio",),
            "≤ 1.15", lambda v: v <= 1.15),
        Row("deployment_zip_bytecode", "deployment.zip: share of app modules shipped compiled (hash-based .pyc)",
            ("deployment_zip_bytecode",), "1.0", lambda v: v == 1.0),
        Row("deployment_zip_mb", "deployment.zip (MB)", ("deployment_zip_mb",), "≤ 10", lambda v: v <= 10),
        Row("runner_rss_ratio", f"make run resident memory, after 1,000 channel moves / after 10 "
            f"({memory.get('after_1000_moves_mb')} MB / {memory.get('after_10_moves_mb')} MB)", ("runner_rss_ratio",),
            "≤ 1.5", lambda v: v <= 1.5),
        Row("ingest_manifests_per_s", "ingestion throughput, moto in-process (manifests/s)",
            ("ingest_manifests_per_s",)),
        Row("consumer_queries_per_s", "consumer query throughput, moto in-process (queries/s)",
            ("consumer_queries_per_s",)),
    ]


def _per_request(results: dict[str, Any]) -> str:
    steps = results.get("hcp_publish_calls_per_request") or {}
    return ", ".join(f"{name} {n}" for name, n in steps.items()) or "not measured"


def table(report: list[Row], results: dict[str, Any], previous: dict[str, Any] | None) -> str:
    """The run as Markdown; with `previous` (the last bench/results.json), its value beside each."""
    head = ["measure", *(["previous"] if previous else []), "value", "target", "result"]
    lines = ["| " + " | ".join(head) + " |",
             "| --- | " + ("---: | " if previous else "") + "---: | --- | --- |"]
    for row in report:
        ok = row.verdict(results)
        verdict = "" if ok is None else "PASS" if ok else "**MISS**"
        before = [str(row.value(previous))] if previous else []
        lines.append("| " + " | ".join([row.label, *before, str(row.value(results)), row.target, verdict]) + " |")
    return "\n".join(lines)


def provenance() -> dict[str, Any]:
    """What the figures were measured on: the commit (and whether the tree had changes), the
    time, the machine."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=str(ROOT), capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    return {"commit": git("rev-parse", "HEAD") + ("-dirty" if git("status", "--porcelain", "--untracked-files=no")
                                                  else ""),
            "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "machine": {"cores": os.cpu_count(), "python": platform.python_version(),
                        "platform": platform.platform(), "processor": platform.machine()}}


def main() -> int:
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else None
    results: dict[str, Any] = {**provenance(), "ddb_calls": {}}
    unpacked = Path(tempfile.mkdtemp(prefix="bench-unpacked-"))
    steps = [("DynamoDB calls: requests and ingestion", lambda: bench_requests(results)),
             ("DynamoDB calls: compliance check of 500 image references", lambda: bench_compliance_check(results)),
             ("DynamoDB calls: a page of buckets", lambda: bench_list_buckets(results)),
             ("DynamoDB calls: HCP API publish of a 2-build version", lambda: bench_hcp_publish(results)),
             ("DynamoDB calls: sweep, 100 quiet versions", lambda: bench_quiet_sweep(results, 100)),
             ("DynamoDB calls: sweep, 1,000 quiet versions", lambda: bench_quiet_sweep(results, 1000)),
             ("DynamoDB calls: revoke with 50 descendants", lambda: bench_revoke(results)),
             ("deployment package", lambda: bench_package(results, unpacked)),
             ("cold start", lambda: bench_cold_start(results, unpacked if (unpacked / "app.py").exists() else None)),
             ("make run's memory under channel moves", lambda: bench_runner_memory(results))]
    only = set(filter(None, os.environ.get("BENCH_ONLY", "").split(",")))  # e.g. BENCH_ONLY=cold,package
    try:
        for title, step in steps:
            if only and not any(word in title for word in only):
                continue
            started = time.perf_counter()
            print(f"bench: {title} ...", file=sys.stderr, flush=True)
            try:
                step()
            except Exception as exc:  # a broken step is reported (and misses its targets); the rest still run
                import traceback

                traceback.print_exc()
                results.setdefault("errors", {})[title] = f"{type(exc).__name__}: {exc}"
            print(f"bench: {title}: {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(unpacked, ignore_errors=True)
    report = rows(results)
    results["targets"] = {row.key: {"label": row.label, "value": row.value(results), "target": row.target,
                                    "pass": row.verdict(results)} for row in report if row.test is not None}
    written = RESULTS.with_suffix(".partial.json") if only else RESULTS  # a partial run keeps the last full one
    written.write_text(json.dumps(results, indent=2) + "\n")
    if previous:
        print(f"previous: {previous.get('commit', 'no commit recorded')} at {previous.get('time', 'an unrecorded time')}")
    print(table(report, results, previous))
    missed = [row.key for row in report if row.verdict(results) is False]
    if results.get("errors"):
        print("\nerrors: " + "; ".join(f"{k}: {v}" for k, v in results["errors"].items()))
    print(f"\nwrote {written.relative_to(ROOT)} ({results['commit']}); "
          + (f"{len(missed)} target(s) missed: {', '.join(missed)}" if missed else "every enforced target met"))
    return 1 if missed or results.get("errors") else 0


if __name__ == "__main__":
    sys.exit(main())
