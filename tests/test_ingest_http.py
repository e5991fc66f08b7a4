"""Manifests delivered by S3 events, read back over HTTP."""

from conftest import manifest, real_manifest


def test_multiregion_manifest_becomes_versions_with_artifacts(registry):
    registry.upload("nomad/packer-manifest.json", real_manifest("amazon-ebs-multiregion-multirun-1.json"))
    versions = registry.all_pages("/buckets/nomad/versions")
    assert [v["name"] for v in versions] == [f"v{n}" for n in range(8, 0, -1)]
    first = registry.get("/buckets/nomad/versions/v1")
    assert first["fingerprint"] == "d0637d1c-4e19-b903-aae8-a48194c31538"
    (build,) = first["builds"]
    assert (build["platform"], build["component_type"]) == ("aws", "amazon-ebs.hashistack")
    assert {(a["region"], a["external_id"]) for a in build["artifacts"]} == {
        ("us-east-1", "ami-0c2716a13b6c0ff45"), ("us-east-2", "ami-0e78487b03c33b650")}
    by_fingerprint = registry.get("/buckets/nomad/versions/d0637d1c-4e19-b903-aae8-a48194c31538")
    assert by_fingerprint["name"] == "v1"
    bucket = registry.get("/buckets/nomad")
    assert bucket["latest_version"] == "v8" and bucket["version_count"] == 8
