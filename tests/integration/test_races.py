"""Races that used to leave a channel on a revoked version, driven many times against a moto
server (threads start together at a barrier); the invariants are checked after each trial.

Invariants (issue 10, item 1):
- no user channel holds a revoked version (none of these trials disables rollback), and no
  channel's copy disagrees with its version's status;
- `latest` holds the newest version that is not revoked;
- the consumer query never answers 200 for a revoked version.
"""

from __future__ import annotations

import json
from typing import Callable

import pytest

from chalicelib.services import channels, lifecycle, serving, versions

from chalicelib import storage
from chalicelib.storage import keys, table
from chalicelib.errors import RegistryError
from chalicelib.domain.manifest import parse_manifest
from chalicelib.domain.models import CreateChannel, RevokeRequest, UpdateChannel
from chalicelib.services.recording import record_run
from support import manifest, race, sweep, trials


def make_bucket(bucket: str, count: int) -> None:
    doc = manifest(*({"packer_run_uuid": f"{bucket}-r{n}", "artifact_id": f"us-east-1:ami-{n:017x}",
                      "custom_data": {"bucket_name": bucket}} for n in range(1, count + 1)))
    for run in parse_manifest(json.dumps(doc).encode(), f"{bucket}/m.json").runs:
        record_run(run, actor="test")


def assert_consistent(bucket: str) -> None:
    found = {v.number: v for v in versions.list_versions(bucket, 100, None)[0]}
    for item in channels.channel_items(bucket):
        name = item.name
        if not item.number:
            continue
        version = found[item.number]
        assert item.version_status == version.status, (bucket, name, item.version, version.status)
        assert version.status != "revoked", f"{bucket}: channel {name} holds revoked {version.name}"
        served = serving.serve(bucket, name, "aws", "us-east-1")
        assert served["version"] == version.name
    newest = max((n for n, v in found.items() if v.status != "revoked"), default=None)
    latest = storage.channels.channel(bucket, channels.LATEST)
    assert (latest.number if latest else None) == newest, (bucket, latest and latest.version, newest)
    if newest is None:
        with pytest.raises(RegistryError):
            serving.serve(bucket, channels.LATEST, "aws", "us-east-1")


def revoke(bucket: str, version: str) -> Callable[[], object]:
    return lambda: lifecycle.revoke(bucket, version, RevokeRequest(reason="race"), "racer")


def test_revoking_a_channels_version_and_its_rollback_target_together(moto_server):
    """`rb` moved v3→v4→v5; v5 and v4 revoked at the same moment: rb must not land on v4."""
    def trial(bucket: str) -> None:
        make_bucket(bucket, 5)
        channels.create_channel(bucket, CreateChannel(name="rb", version="v3"), "test")
        for target in ("v4", "v5"):
            channels.update_channel(bucket, "rb", UpdateChannel(version=target), "test")
        assert race(revoke(bucket, "v5"), revoke(bucket, "v4")) == []
        assert_consistent(bucket)
        assert channels.get_channel(bucket, "rb").version == "v3"
    trials(trial, "rb")


def test_revoking_latest_while_restoring_the_version_below(moto_server):
    """latest on v9, v7 and v8 revoked; revoking v9 while restoring v8 leaves latest on v8."""
    def trial(bucket: str) -> None:
        make_bucket(bucket, 9)
        for version in ("v7", "v8"):
            lifecycle.revoke(bucket, version, RevokeRequest(reason="setup", skip_descendants_revocation=True), "t")
        assert race(revoke(bucket, "v9"), lambda: lifecycle.restore(bucket, "v8", "racer")) == []
        assert_consistent(bucket)
        assert channels.get_channel(bucket, channels.LATEST).version == "v8"
    trials(trial, "lt")


def test_assigning_a_version_while_it_is_revoked(moto_server):
    """Assigning v3 to prod while v3 is revoked: prod ends on v3 only if v3 is still active."""
    def trial(bucket: str) -> None:
        make_bucket(bucket, 3)
        channels.create_channel(bucket, CreateChannel(name="prod", version="v1"), "test")
        assert race(lambda: channels.update_channel(bucket, "prod", UpdateChannel(version="v3"), "racer"),
                    revoke(bucket, "v3")) == []
        assert_consistent(bucket)
        assert channels.get_channel(bucket, "prod").version in ("v1", None)
    trials(trial, "as")


def test_ingesting_while_the_latest_version_is_revoked(moto_server):
    """A new version arrives while the current latest is revoked: latest ends on the newest."""
    def trial(bucket: str) -> None:
        make_bucket(bucket, 2)
        doc = manifest({"packer_run_uuid": f"{bucket}-new", "custom_data": {"bucket_name": bucket}})
        (run,) = parse_manifest(json.dumps(doc).encode(), f"{bucket}/n.json").runs
        assert race(revoke(bucket, "v2"), lambda: record_run(run, actor="racer")) == []
        assert_consistent(bucket)
        assert channels.get_channel(bucket, channels.LATEST).version == "v3"
    trials(trial, "in")


def test_the_two_doors_of_one_packer_run_make_one_version(moto_server):
    """A Packer run's manifest ingested while the HCP door completes the same run (its last
    build reported done): one version whichever commits first; the other door records
    against it (the manifest's ingestion is `duplicate`, or the draft completes into the
    version and its fingerprint names it); `latest` holds it."""
    from chalicelib.domain.builds import ArtifactIn, BuildChange
    from chalicelib.domain.enums import BuildStatus, TemplateType
    from chalicelib.domain.models import CreateBucket
    from chalicelib.runtime import aws
    from chalicelib.services import buckets, ingest, publishing
    from support import MANIFEST_BUCKET

    def trial(bucket: str) -> None:
        run, ami, key = f"{bucket}-run", f"ami-{bucket}0000000001", f"{bucket}/packer-manifest.json"
        buckets.create(CreateBucket(name=bucket), "test")
        publishing.create_version(bucket, "git-sha", TemplateType.HCL2, "packer")
        _, file = publishing.create_build(bucket, "git-sha", BuildChange(  # two sources: a local file and an AMI
            component_type="file.notes", packer_run_uuid=run, status=BuildStatus.RUNNING), "packer")
        _, build = publishing.create_build(bucket, "git-sha", BuildChange(
            component_type="amazon-ebs.ubuntu", packer_run_uuid=run, status=BuildStatus.RUNNING), "packer")
        publishing.update_build(bucket, "git-sha", file.id, BuildChange(
            status=BuildStatus.DONE, platform="packer.file", packer_run_uuid=run,
            artifacts=[ArtifactIn(external_identifier="notes.txt", region=".")]), "packer")
        done = BuildChange(status=BuildStatus.DONE, platform="aws", packer_run_uuid=run,
                           artifacts=[ArtifactIn(external_identifier=ami, region="us-east-1")])
        put = aws.client("s3").put_object(Bucket=MANIFEST_BUCKET, Key=key, Body=json.dumps(manifest(
            {"name": "ubuntu", "packer_run_uuid": run, "artifact_id": f"us-east-1:{ami}"},
            {"name": "notes", "builder_type": "file", "packer_run_uuid": run, "artifact_id": "File"})).encode())
        records = []
        assert race(lambda: records.append(ingest.ingest_object(MANIFEST_BUCKET, key, put["ETag"].strip('"'))),
                    lambda: publishing.update_build(bucket, "git-sha", build.id, done, "packer")) == []
        found = versions.list_versions(bucket, 100, None)[0]
        assert [(v.name, v.status) for v in found] == [("v1", "active")], f"{bucket}: {[v.name for v in found]}"
        assert storage.versions.fingerprint_number(bucket, "git-sha") == 1, f"{bucket}: the HCP fingerprint"
        (record,) = records
        assert (record.versions[0].version, bool(record.versions[0].duplicate)) == \
            ("v1", found[0].fingerprint == "git-sha"), f"{bucket}: {record}"
        assert storage.channels.channel(bucket, channels.LATEST).number == 1
    trials(trial, "doors")


def test_the_sweep_repairs_a_channel_copy_that_drifted_from_its_version(registry):
    """What a lost race could once leave: a channel kept on a revoked version whose copy
    still says active. The sweep finds it (the revocation left a status marker: one that does
    not cascade; a cascade's marker is the request's to finish) and re-copies it. The sweep
    compares the copies of the buckets whose versions' status changed, not of those where a
    channel moved: a move writes its copy from the version it claims."""
    registry.upload("dr/m.json", manifest({"packer_run_uuid": "r1"}, {"packer_run_uuid": "r2"}))
    registry.send("post", "/buckets/dr/channels", {"name": "prod", "version": "v1"}, 201)
    sweep(registry)  # the markers of the moves of latest and prod: no drift check for them
    registry.send("post", "/buckets/dr/versions/v1/revoke", {"reason": "bad", "disable_rollback_channels": True,
                                                             "skip_descendants_revocation": True})
    registry.get("/buckets/dr/channels/prod/artifact?platform=aws", status=409)
    table.update(keys.channel("dr", "prod"), "SET version_status = :a REMOVE revocation", {":a": "active"})
    registry.get("/buckets/dr/channels/prod/artifact?platform=aws")  # the drift: served
    report = registry.send("post", "/compliance/sweep")
    assert report["channels_repaired"] == [
        {"bucket": "dr", "channel": "prod", "version": "v1", "was": "active", "now": "revoked"}]
    body = registry.get("/buckets/dr/channels/prod/artifact?platform=aws", status=409)
    assert "revoked" in body["message"] and "bad" in body["message"]
    events = [e for e in registry.all_pages("/buckets/dr/events") if e["action"] == "channel.repaired"]
    assert [(e["actor"], e["target"]) for e in events] == [("sweep", "channel/prod")]
    assert registry.send("post", "/compliance/sweep")["channels_repaired"] == []


def test_a_token_and_a_service_principal_of_one_name_created_together_one_wins(moto_server):
    """Two admins create a token and a service principal named alike (in another case) at the
    same moment, many times: each time exactly one exists afterwards, the other got a 409
    naming it (issue 22, item 5: the name claim is written in the creating transaction)."""
    from chalicelib.domain.models import CreateServicePrincipal, CreateToken
    from chalicelib.services import auth, principals

    def trial(name: str) -> None:
        made: list[str] = []
        assert race(lambda: made.append(auth.create_token(CreateToken(name=name, role="viewer"), "admin-a").name),
                    lambda: made.append(principals.create_principal(
                        CreateServicePrincipal(name=name.upper(), role="viewer"), "admin-b").name),
                    tolerated=(409,)) == []
        existing = [t.name for t in auth.list_tokens(100, None)[0] + principals.list_principals(100, None)[0]
                    if t.name.lower() == name]
        assert len(made) == 1 and existing == made, f"{name}: created {made}, exist {existing}"
    trials(trial, "name-", count=50)
