// Contract tests of the enforced-block operations (HCP Packer 2023-01-01's EnforcedBlock
// routes and GetEnforcedBlocksByBucket, which Packer 1.16 calls at build start), each made with
// hcp-sdk-go's generated client and its payload checked by the generated models' Validate. They
// run as a contributor, whom HCP's documentation names as the role that manages enforced blocks.
package sdk_test

import (
	"testing"

	ps "github.com/hashicorp/hcp-sdk-go/clients/cloud-packer-service/stable/2023-01-01/client/packer_service"
	pm "github.com/hashicorp/hcp-sdk-go/clients/cloud-packer-service/stable/2023-01-01/models"
)

const enforcedHCL = "provisioner \"shell-local\" {\n  inline = [\"echo enforced\"]\n}\n"
const enforcedJSON = `{"provisioner": [{"shell-local": {"inline": ["echo enforced"]}}]}`

func (c clients) createEnforcedBlock(body *pm.HashicorpCloudPacker20230101CreateEnforcedBlockBody) (*ps.PackerServiceCreateEnforcedBlockOK, error) {
	p := ps.NewPackerServiceCreateEnforcedBlockParams()
	p.LocationOrganizationID, p.LocationProjectID, p.Body = c.org, c.project, body
	return c.packer.PackerServiceCreateEnforcedBlock(p, nil)
}

func (c clients) getEnforcedBlock(id string) (*ps.PackerServiceGetEnforcedBlockOK, error) {
	p := ps.NewPackerServiceGetEnforcedBlockParams()
	p.LocationOrganizationID, p.LocationProjectID, p.EnforcedBlockID = c.org, c.project, id
	return c.packer.PackerServiceGetEnforcedBlock(p, nil)
}

func (c clients) deleteEnforcedBlock(id string) error {
	p := ps.NewPackerServiceDeleteEnforcedBlockParams()
	p.LocationOrganizationID, p.LocationProjectID, p.EnforcedBlockID = c.org, c.project, id
	_, err := c.packer.PackerServiceDeleteEnforcedBlock(p, nil)
	return err
}

func (c clients) deleteEnforcedBlockVersion(id, version string) error {
	p := ps.NewPackerServiceDeleteEnforcedBlockVersionParams()
	p.LocationOrganizationID, p.LocationProjectID, p.EnforcedBlockID, p.EnforcedBlockVersionID = c.org, c.project, id, version
	_, err := c.packer.PackerServiceDeleteEnforcedBlockVersion(p, nil)
	return err
}

func (c clients) linkEnforcedBlock(id, version string, buckets []string) (*ps.PackerServiceManageEnforcedBlockLinkedBucketsOK, error) {
	p := ps.NewPackerServiceManageEnforcedBlockLinkedBucketsParams()
	p.LocationOrganizationID, p.LocationProjectID, p.EnforcedBlockID, p.EnforcedBlockVersionID = c.org, c.project, id, version
	p.Body = &pm.HashicorpCloudPacker20230101ManageEnforcedBlockLinkedBucketsBody{BucketNames: buckets}
	return c.packer.PackerServiceManageEnforcedBlockLinkedBuckets(p, nil)
}

// enforcedBlocksOf calls GetEnforcedBlocksByBucket as Packer does (packer internal/hcp/api/service_enforced_provisioner.go).
func (c clients) enforcedBlocksOf(bucket string) (*ps.PackerServiceGetEnforcedBlocksByBucketOK, error) {
	p := ps.NewPackerServiceGetEnforcedBlocksByBucketParams()
	p.LocationOrganizationID, p.LocationProjectID, p.BucketName = c.org, c.project, bucket
	return c.packer.PackerServiceGetEnforcedBlocksByBucket(p, nil)
}

func wantVersion(t *testing.T, what string, v *pm.HashicorpCloudPacker20230101EnforcedBlockVersion, block, label, content string,
	kind pm.HashicorpCloudPacker20230101TemplateType) {
	t.Helper()
	if v == nil || v.EnforcedBlockID != block || v.Version != label || v.BlockContent != content || v.TemplateType == nil ||
		*v.TemplateType != kind {
		t.Fatalf("%s: version %+v, want %s of %s (%s)", what, v, label, block, kind)
	}
	ulid(t, what+" id", v.ID)
	set(t, what+" created_at", v.CreatedAt)
	set(t, what+" updated_at", v.UpdatedAt)
}

func TestAnEnforcedBlockIsCreatedListedUpdatedVersionedAndDeleted(t *testing.T) {
	c := hcp(t)
	name := random("ct-block")
	created, err := c.createEnforcedBlock(&pm.HashicorpCloudPacker20230101CreateEnforcedBlockBody{
		Name: name, BlockContent: enforcedHCL, TemplateType: pm.HashicorpCloudPacker20230101TemplateTypeHCL2.Pointer(),
		Version: "1.0.0", Labels: map[string]string{"team": "security"}, AdditionalDescription: "CIS level 1"})
	must(t, "CreateEnforcedBlock", err)
	valid(t, "CreateEnforcedBlock", created.Payload)
	block := created.Payload.EnforcedBlock
	if block == nil || block.Name != name || block.Labels["team"] != "security" || block.Location == nil ||
		block.Location.ProjectID != c.project || block.ResourceName == "" {
		t.Fatalf("created block %+v", block)
	}
	ulid(t, "block id", block.ID)
	set(t, "block created_at", block.CreatedAt)
	wantVersion(t, "first version", block.LatestVersion, block.ID, "1.0.0", enforcedHCL,
		pm.HashicorpCloudPacker20230101TemplateTypeHCL2)
	if block.LatestVersion.AdditionalDescription != "CIS level 1" {
		t.Fatalf("first version %+v", block.LatestVersion)
	}
	_, err = c.createEnforcedBlock(&pm.HashicorpCloudPacker20230101CreateEnforcedBlockBody{Name: name, BlockContent: enforcedHCL})
	wantError(t, "CreateEnforcedBlock with a name taken", err, 409, 6)
	_, err = c.createEnforcedBlock(&pm.HashicorpCloudPacker20230101CreateEnforcedBlockBody{Name: random("ct-block"),
		BlockContent: "echo no provisioner"})
	wantError(t, "CreateEnforcedBlock without a provisioner", err, 400, 3)

	got, err := c.getEnforcedBlock(block.ID)
	must(t, "GetEnforcedBlock", err)
	valid(t, "GetEnforcedBlock", got.Payload)
	if got.Payload.EnforcedBlock.Name != name || got.Payload.EnforcedBlock.LatestVersion.ID != block.LatestVersion.ID {
		t.Fatalf("GetEnforcedBlock %+v", got.Payload.EnforcedBlock)
	}
	_, err = c.getEnforcedBlock("01ARZ3NDEKTSV4RRFFQ69G5FAV")
	wantError(t, "GetEnforcedBlock of no block", err, 404, 5)

	// The model has no `pagination`: one page, of the largest size (the contract tests make few blocks).
	size := int64(100)
	list := ps.NewPackerServiceListEnforcedBlocksParams()
	list.LocationOrganizationID, list.LocationProjectID, list.PaginationPageSize = c.org, c.project, &size
	listed, err := c.packer.PackerServiceListEnforcedBlocks(list, nil)
	must(t, "ListEnforcedBlocks", err)
	valid(t, "ListEnforcedBlocks", listed.Payload)
	found := false
	for _, b := range listed.Payload.EnforcedBlocks {
		found = found || (b.ID == block.ID && b.Name == name && b.LatestVersion == nil)
	}
	if !found {
		t.Fatalf("ListEnforcedBlocks does not list %s (without its latest version): %+v", block.ID, listed.Payload.EnforcedBlocks)
	}

	renamed := name + "-renamed"
	update := ps.NewPackerServiceUpdateEnforcedBlockParams()
	update.LocationOrganizationID, update.LocationProjectID, update.EnforcedBlockID = c.org, c.project, block.ID
	update.Body = &pm.HashicorpCloudPacker20230101UpdateEnforcedBlockBody{Name: renamed, UpdateMask: "name"}
	updated, err := c.packer.PackerServiceUpdateEnforcedBlock(update, nil)
	must(t, "UpdateEnforcedBlock", err)
	valid(t, "UpdateEnforcedBlock", updated.Payload)
	if b := updated.Payload.EnforcedBlock; b.Name != renamed || b.Labels["team"] != "security" {
		t.Fatalf("UpdateEnforcedBlock %+v", b)
	}

	add := ps.NewPackerServiceCreateEnforcedBlockVersionParams()
	add.LocationOrganizationID, add.LocationProjectID, add.EnforcedBlockID = c.org, c.project, block.ID
	add.Body = &pm.HashicorpCloudPacker20230101CreateEnforcedBlockVersionBody{BlockContent: enforcedJSON,
		TemplateType: pm.HashicorpCloudPacker20230101TemplateTypeJSON.Pointer(), Version: "2.0.0"}
	second, err := c.packer.PackerServiceCreateEnforcedBlockVersion(add, nil)
	must(t, "CreateEnforcedBlockVersion", err)
	valid(t, "CreateEnforcedBlockVersion", second.Payload)
	wantVersion(t, "second version", second.Payload.EnforcedBlockVersion, block.ID, "2.0.0", enforcedJSON,
		pm.HashicorpCloudPacker20230101TemplateTypeJSON)
	_, err = c.packer.PackerServiceCreateEnforcedBlockVersion(add, nil)
	wantError(t, "CreateEnforcedBlockVersion with a label taken", err, 409, 6)
	secondID := second.Payload.EnforcedBlockVersion.ID

	versions := ps.NewPackerServiceGetEnforcedBlockVersionsParams()
	versions.LocationOrganizationID, versions.LocationProjectID, versions.EnforcedBlockID = c.org, c.project, block.ID
	versioned, err := c.packer.PackerServiceGetEnforcedBlockVersions(versions, nil)
	must(t, "GetEnforcedBlockVersions", err)
	valid(t, "GetEnforcedBlockVersions", versioned.Payload)
	details := versioned.Payload.EnforcedBlockDetail
	if len(details) != 2 || details[0].ID != block.ID || details[0].Name != renamed || details[0].Version.ID != secondID ||
		details[1].Version.ID != block.LatestVersion.ID {
		t.Fatalf("GetEnforcedBlockVersions, newest first: %+v", details)
	}

	describe := ps.NewPackerServiceUpdateEnforcedBlockVersionParams()
	describe.LocationOrganizationID, describe.LocationProjectID = c.org, c.project
	describe.EnforcedBlockID, describe.EnforcedBlockVersionID = block.ID, secondID
	describe.Body = &pm.HashicorpCloudPacker20230101UpdateEnforcedBlockVersionBody{AdditionalDescription: "JSON form",
		UpdateMask: "additionalDescription"}
	described, err := c.packer.PackerServiceUpdateEnforcedBlockVersion(describe, nil)
	must(t, "UpdateEnforcedBlockVersion", err)
	valid(t, "UpdateEnforcedBlockVersion", described.Payload)
	if v := described.Payload.EnforcedBlockVersion; v.AdditionalDescription != "JSON form" || v.BlockContent != enforcedJSON {
		t.Fatalf("UpdateEnforcedBlockVersion %+v", v)
	}

	must(t, "DeleteEnforcedBlockVersion", c.deleteEnforcedBlockVersion(block.ID, secondID))
	wantError(t, "DeleteEnforcedBlockVersion again", c.deleteEnforcedBlockVersion(block.ID, secondID), 404, 5)
	must(t, "DeleteEnforcedBlock", c.deleteEnforcedBlock(block.ID))
	_, err = c.getEnforcedBlock(block.ID)
	wantError(t, "GetEnforcedBlock after its deletion", err, 404, 5)
	wantError(t, "DeleteEnforcedBlock again", c.deleteEnforcedBlock(block.ID), 404, 5)
}

func TestALinkedEnforcedBlockIsWhatPackerReadsForTheBucket(t *testing.T) {
	c := hcp(t)
	bucket := c.newBucket(t, "ct-enforced")
	created, err := c.createEnforcedBlock(&pm.HashicorpCloudPacker20230101CreateEnforcedBlockBody{
		Name: random("ct-block"), BlockContent: enforcedHCL, TemplateType: pm.HashicorpCloudPacker20230101TemplateTypeHCL2.Pointer()})
	must(t, "CreateEnforcedBlock", err)
	block := created.Payload.EnforcedBlock
	version := block.LatestVersion.ID

	linked, err := c.linkEnforcedBlock(block.ID, version, []string{bucket})
	must(t, "ManageEnforcedBlockLinkedBuckets", err)
	valid(t, "ManageEnforcedBlockLinkedBuckets", linked.Payload)
	gotBucket, err := c.getBucket(bucket)
	must(t, "GetBucket", err)
	links := linked.Payload.EnforcedBlockBuckets
	if len(links) != 1 || links[0].BucketID != gotBucket.Payload.Bucket.ID || links[0].EnforcedBlockID != block.ID ||
		links[0].EnforcedBlockVersionID != version {
		t.Fatalf("ManageEnforcedBlockLinkedBuckets %+v", links)
	}
	ulid(t, "link id", links[0].ID)
	set(t, "link created_at", links[0].CreatedAt)
	_, err = c.linkEnforcedBlock(block.ID, version, []string{bucket, random("ct-no-such-bucket")})
	wantError(t, "ManageEnforcedBlockLinkedBuckets with a bucket that does not exist", err, 404, 5)

	p := ps.NewPackerServiceGetEnforcedBlockLinkedBucketsParams()
	p.LocationOrganizationID, p.LocationProjectID, p.EnforcedBlockID, p.EnforcedBlockVersionID = c.org, c.project, block.ID, version
	listed, err := c.packer.PackerServiceGetEnforcedBlockLinkedBuckets(p, nil)
	must(t, "GetEnforcedBlockLinkedBuckets", err)
	valid(t, "GetEnforcedBlockLinkedBuckets", listed.Payload)
	if l := listed.Payload.LinkedBuckets; len(l) != 1 || l[0].Bucket == nil || l[0].Bucket.Name != bucket || l[0].ID != links[0].ID {
		t.Fatalf("GetEnforcedBlockLinkedBuckets %+v", l)
	}

	enforcedBlocks, err := c.enforcedBlocksOf(bucket)
	must(t, "GetEnforcedBlocksByBucket", err)
	valid(t, "GetEnforcedBlocksByBucket", enforcedBlocks.Payload)
	details := enforcedBlocks.Payload.EnforcedBlockDetail
	if len(details) != 1 || details[0].ID != block.ID || details[0].Name != block.Name {
		t.Fatalf("GetEnforcedBlocksByBucket %+v", details)
	}
	wantVersion(t, "the bucket's version", details[0].Version, block.ID, "1", enforcedHCL,
		pm.HashicorpCloudPacker20230101TemplateTypeHCL2)
	_, err = c.enforcedBlocksOf(random("ct-no-such-bucket"))
	wantError(t, "GetEnforcedBlocksByBucket of no bucket (Packer ignores code 5)", err, 404, 5)

	// HCP: a version linked to a bucket is not deleted until it is unlinked everywhere.
	wantError(t, "DeleteEnforcedBlockVersion while linked", c.deleteEnforcedBlockVersion(block.ID, version), 400, 9)
	wantError(t, "DeleteEnforcedBlock while linked", c.deleteEnforcedBlock(block.ID), 400, 9)
	unlinked, err := c.linkEnforcedBlock(block.ID, version, nil) // the SDK sends `"bucket_names": null`
	must(t, "ManageEnforcedBlockLinkedBuckets to none", err)
	valid(t, "ManageEnforcedBlockLinkedBuckets to none", unlinked.Payload)
	if len(unlinked.Payload.EnforcedBlockBuckets) != 0 {
		t.Fatalf("still linked: %+v", unlinked.Payload.EnforcedBlockBuckets)
	}
	enforcedBlocks, err = c.enforcedBlocksOf(bucket)
	must(t, "GetEnforcedBlocksByBucket after unlinking", err)
	if len(enforcedBlocks.Payload.EnforcedBlockDetail) != 0 {
		t.Fatalf("GetEnforcedBlocksByBucket after unlinking %+v", enforcedBlocks.Payload.EnforcedBlockDetail)
	}
	must(t, "DeleteEnforcedBlock", c.deleteEnforcedBlock(block.ID))
}
