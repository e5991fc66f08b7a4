"""The table's shape: a table kept from an older release gets the indexes added since."""

from chalicelib.storage.schema import INDEXES, missing_indexes, table_definition


def test_a_table_with_every_index_needs_no_update() -> None:
    assert missing_indexes(table_definition("t")) == []


def test_a_table_without_the_status_index_gets_it_with_its_attributes() -> None:
    older = table_definition("t")
    older["GlobalSecondaryIndexes"] = [i for i in older["GlobalSecondaryIndexes"] if i["IndexName"] != "GSI3"]
    (update,) = missing_indexes(older)
    assert update["GlobalSecondaryIndexUpdates"][0]["Create"]["IndexName"] == "GSI3"
    assert {a["AttributeName"] for a in update["AttributeDefinitions"]} == set(INDEXES["GSI3"])
