"""Storage entities (`chalicelib.storage.entities`) against items, without DynamoDB: each
comes back from the item it writes, older items read with defaults, and keys stay as the
package docstring lays them out."""

from __future__ import annotations

from chalicelib.domain.enums import AncestryStatus, HistoryCause, IngestionStatus, Role, VersionStatus
from chalicelib.storage.entities import (ArtifactEntry, Bucket, Build, Channel, ChildEdge, CopyPage, Event, Flag, HistoryEntry,
                                         Ingestion, Token, Version)

T = "2026-01-02T00:00:00Z"


def test_an_entity_comes_back_from_its_item_with_key_and_index_written() -> None:
    token = Token(id="ab12", name="ci", role=Role.CONTRIBUTOR, hash="h", created_at=T)
    item = token.to_item()
    assert item["PK"] == "TOKEN#ab12" and item["SK"] == "TOKEN"
    assert item["GSI1PK"] == "TOKENS" and item["GSI1SK"] == f"{T}#ab12"
    assert "expires_at" not in item  # None is not written: DynamoDB stores no nulls the registry reads
    assert Token.from_item(item) == token


def test_unknown_attributes_are_ignored_absent_optional_ones_defaulted_statuses_typed() -> None:
    item = {"PK": "INGEST#i1", "SK": "INGEST", "id": "i1", "s3_bucket": "b", "key": "web/m.json", "etag": "e",
            "status": "partial", "received_at": T, "from_an_older_release": 1}
    record = Ingestion.from_item(item)
    assert record.status is IngestionStatus.PARTIAL
    assert (record.reasons, record.versions) == ([], [])
    assert record.item_key() == {"PK": "INGEST#i1", "SK": "INGEST"}


def test_a_flag_from_before_findings_were_stored_keeps_its_sentences() -> None:
    flag = Flag.from_item({"bucket": "web", "number": 3, "version": "v3", "ancestry_status": "out_of_date",
                           "flagged_at": T, "messages": ["parent moved"]})
    assert flag.ancestry_status is AncestryStatus.OUT_OF_DATE
    assert flag.findings is None and "findings" not in flag.attributes()
    assert flag.item_key() == {"PK": "SWEEP#FLAGGED", "SK": "web#0000000003"}


def test_a_bucket_gathers_its_aggregates_and_writes_them_flat() -> None:
    bucket = Bucket(bucket="web", created_at=T, updated_at=T, aggregated_since=T, status_counts={"active": 2},
                    channels=[{"name": "prod", "version": "v2", "version_status": "active", "restricted": True}])
    item = bucket.to_item()
    assert item["versions_active"] == 2
    assert item["channel_prod"] == {"version": "v2", "version_status": "active"}
    assert item["restricted_prod"] is True
    assert "status_counts" not in item and "channels" not in item
    assert Bucket.from_item(item) == bucket


def test_a_bucket_from_before_aggregates_has_none_and_counts_its_numbers() -> None:
    bucket = Bucket.from_item({"bucket": "web", "created_at": T, "updated_at": T, "version_count": 4,
                               "versions_active": 4})
    assert (bucket.status_counts, bucket.channels) == (None, None)
    assert bucket.last_taken() == 4
    assert Bucket.from_item({**bucket.to_item(), "last_number": 7}).last_taken() == 7


def test_a_channel_is_indexed_only_while_it_holds_a_revoked_version() -> None:
    channel = Channel(bucket="web", name="prod", created_at=T, updated_at=T, version="v3", number=3,
                      version_status=VersionStatus.ACTIVE)
    assert "GSI2PK" not in channel.to_item()
    revoked = Channel.from_item({**channel.to_item(), "version_status": "revoked"})
    assert revoked.version_status is VersionStatus.REVOKED
    assert (revoked.to_item()["GSI2PK"], revoked.to_item()["GSI2SK"]) == ("REVOKED_CHANNELS", "web#prod")


def test_a_history_entry_keeps_its_bucket_and_id_in_its_key_only() -> None:
    entry = HistoryEntry(bucket="web", id="e1", channel="prod", at=T, author="alice", cause=HistoryCause.ASSIGN,
                         to_version="v3")
    item = entry.to_item()
    assert item["SK"] == f"HISTORY#prod#{T}#e1" and "bucket" not in item and "id" not in item
    assert HistoryEntry.from_item(item) == entry


def test_keys_of_the_sweep_items_and_events() -> None:
    assert ChildEdge("base", 1, "app", 12).item_key() == {"PK": "BUCKET#base", "SK": "CHILD#0000000001#app#0000000012"}
    event = Event(id="x", time=T, actor="a", action="bucket.created", target="web")
    assert event.item_key() == {"PK": "EVENTS#", "SK": f"EVENT#{T}#x"}


def test_a_version_is_indexed_newest_first_and_an_older_one_reads_with_defaults() -> None:
    version = Version(bucket="web", number=12, name="v12", fingerprint="f", created_at=T, updated_at=T, rev=1,
                      ancestry_status=AncestryStatus.OUT_OF_DATE, ancestry_findings=[{"kind": "newer"}])
    item = version.to_item()
    assert (item["PK"], item["SK"]) == ("BUCKET#web", "VERSION#0000000012")
    assert (item["GSI1PK"], item["GSI1SK"]) == ("VERSIONS#web", "VERSION#0000000012")
    assert "revocation" not in item and "GSI2PK" not in item  # scheduled revocations: storage.versions.change
    assert Version.from_item(item) == version
    older = Version.from_item({**item, "status": "revoked", "ancestry_messages": ["parent moved"]})
    assert older.status is VersionStatus.REVOKED and older.ancestry_messages == ["parent moved"]
    assert (older.build_count, older.copy_pages, older.ref()) == (0, None, ("web", 12))


def test_a_version_is_in_the_status_index_and_keeps_its_builds_summary_as_sets() -> None:
    version = Version(bucket="web", number=3, name="v3", fingerprint="f", created_at=T, updated_at=T,
                      status=VersionStatus.REVOKED, platforms=["aws", "gce"], regions=[], build_labels=["os:debian"])
    item = version.to_item()
    assert (item["GSI3PK"], item["GSI3SK"]) == ("VERSIONS#web#revoked", "VERSION#0000000003")
    assert item["platforms"] == {"aws", "gce"} and item["build_labels"] == {"os:debian"}
    assert "regions" not in item  # DynamoDB has no empty set
    back = Version.from_item({**item, "platforms": ["gce", "aws"]})  # as read: a list
    assert back.platforms == ["aws", "gce"] and back.regions is None


def test_a_build_and_its_artifact_index_entry_keep_their_keys() -> None:
    build = Build(bucket="web", number=12, id="b1", component_type="amazon-ebs.x", name="x", builder_type="amazon-ebs",
                  platform="aws", created_at=T, indexed_ids=["us-east-1:ami-1"])
    assert build.item_key() == {"PK": "BUCKET#web", "SK": "VERSION#0000000012#BUILD#b1"}
    assert Build.from_item(build.to_item()) == build
    entry = ArtifactEntry(external_id="us-east-1:ami-1", bucket="web", number=12, build_id="b1", platform="aws",
                          created_at=T)
    item = entry.to_item()
    assert (item["PK"], item["SK"]) == ("ARTIFACT#us-east-1:ami-1", "BUCKET#web#VERSION#0000000012#BUILD#b1")
    assert "external_id" not in item  # the ID is only in the key, as entries were always written
    assert ArtifactEntry.from_item(item) == entry


def test_a_copy_page_keeps_its_place_in_its_key_only() -> None:
    page = CopyPage(bucket="web", number=12, generation=350, page=2, builds=[{"build_id": "b1"}])
    item = page.to_item()
    assert item == {"PK": "BUCKET#web", "SK": "COPY#0000000012#000350#002", "builds": [{"build_id": "b1"}]}
    assert CopyPage.from_item(item) == page
