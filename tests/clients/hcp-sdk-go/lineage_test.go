// Contract tests of the operations terraform-provider-hcp and the HCP Packer console use around a
// version's life after it is published: a channel's assignment history, the bucket's ancestry, a
// version revoked and restored (UpdateVersion), a channel deleted. Each payload is decoded and
// validated by the SDK's models; the helpers are contract_test.go's and operations_test.go's.
package sdk_test

import (
	"testing"
	"time"

	"github.com/go-openapi/strfmt"
	ps "github.com/hashicorp/hcp-sdk-go/clients/cloud-packer-service/stable/2023-01-01/client/packer_service"
	pm "github.com/hashicorp/hcp-sdk-go/clients/cloud-packer-service/stable/2023-01-01/models"
)

func (c clients) history(bucket, channel string) (*ps.PackerServiceListChannelAssignmentHistoryOK, error) {
	p := ps.NewPackerServiceListChannelAssignmentHistoryParams()
	p.LocationOrganizationID, p.LocationProjectID, p.BucketName, p.ChannelName = c.org, c.project, bucket, channel
	return c.packer.PackerServiceListChannelAssignmentHistory(p, nil)
}

func (c clients) ancestry(bucket, kind string) (*ps.PackerServiceListBucketAncestryOK, error) {
	p := ps.NewPackerServiceListBucketAncestryParams()
	p.LocationOrganizationID, p.LocationProjectID, p.BucketName, p.Type = c.org, c.project, bucket, &kind
	return c.packer.PackerServiceListBucketAncestry(p, nil)
}

func (c clients) updateVersion(bucket, fingerprint string, body *pm.HashicorpCloudPacker20230101UpdateVersionBody) (*ps.PackerServiceUpdateVersionOK, error) {
	p := ps.NewPackerServiceUpdateVersionParams()
	p.LocationOrganizationID, p.LocationProjectID, p.BucketName, p.Fingerprint, p.Body = c.org, c.project, bucket, fingerprint, body
	return c.packer.PackerServiceUpdateVersion(p, nil)
}

func (c clients) deleteChannel(bucket, channel string) error {
	p := ps.NewPackerServiceDeleteChannelParams()
	p.LocationOrganizationID, p.LocationProjectID, p.BucketName, p.ChannelName = c.org, c.project, bucket, channel
	_, err := c.packer.PackerServiceDeleteChannel(p, nil)
	return err
}

// A child published with the parent ids Packer sends is the parent bucket's child in its ancestry;
// the parent channel's history lists its assignment; the child is revoked and restored through
// UpdateVersion; the channel is deleted, and then is a 404 code 5.
func TestHistoryAncestryRevocationAndAChannelDeleted(t *testing.T) {
	c := hcp(t)
	parentFingerprint, childFingerprint := random("fp"), random("fp")
	parent := c.publish(t, "ct-parent", parentFingerprint, map[string]string{"file.base": "packer.file"})
	_, err := c.createChannel(parent, "release", parentFingerprint)
	must(t, "CreateChannel release", err)

	listed, err := c.history(parent, "release")
	must(t, "ListChannelAssignmentHistory", err)
	valid(t, "ListChannelAssignmentHistory", listed.Payload)
	if len(listed.Payload.History) != 1 || listed.Payload.History[0].Version == nil ||
		listed.Payload.History[0].Version.Fingerprint != parentFingerprint {
		t.Fatalf("ListChannelAssignmentHistory: want one assignment of %s, got %+v", parentFingerprint, listed.Payload.History)
	}

	channel, err := c.getChannel(parent, "release")
	must(t, "GetChannel release", err)
	child := c.newBucket(t, "ct-child")
	_, err = c.createVersion(child, childFingerprint)
	must(t, "CreateVersion child", err)
	created, err := c.createBuild(child, childFingerprint, "file.app")
	must(t, "CreateBuild child", err)
	_, err = c.updateBuild(child, childFingerprint, created.Payload.Build.ID, running())
	must(t, "UpdateBuild RUNNING child", err)
	finished := done("packer.file", "child.img", ".")
	finished.SourceExternalIdentifier = "file.base.img"
	finished.ParentVersionID, finished.ParentChannelID = channel.Payload.Channel.Version.ID, channel.Payload.Channel.ID
	_, err = c.updateBuild(child, childFingerprint, created.Payload.Build.ID, finished)
	must(t, "UpdateBuild DONE child", err)

	relations, err := c.ancestry(parent, "ANCESTRY_TYPE_CHILDREN")
	must(t, "ListBucketAncestry", err)
	valid(t, "ListBucketAncestry", relations.Payload)
	if len(relations.Payload.Relations) != 1 || relations.Payload.Relations[0].Child.BucketName != child ||
		relations.Payload.Relations[0].Parent.ChannelName != "release" {
		t.Fatalf("ListBucketAncestry: want %s built from %s's release, got %+v", child, parent, relations.Payload.Relations)
	}

	revoked, err := c.updateVersion(child, childFingerprint, &pm.HashicorpCloudPacker20230101UpdateVersionBody{
		RevocationMessage: "CVE in the app", RevokeAt: strfmt.DateTime(time.Now().UTC())})
	must(t, "UpdateVersion revoke", err)
	valid(t, "UpdateVersion revoke", revoked.Payload)
	if *revoked.Payload.Version.Status != pm.HashicorpCloudPacker20230101VersionStatusVERSIONREVOKED ||
		revoked.Payload.Version.RevocationMessage != "CVE in the app" {
		t.Fatalf("UpdateVersion revoke: want VERSION_REVOKED with its message, got %+v", revoked.Payload.Version)
	}
	restored, err := c.updateVersion(child, childFingerprint, &pm.HashicorpCloudPacker20230101UpdateVersionBody{Restore: true})
	must(t, "UpdateVersion restore", err)
	valid(t, "UpdateVersion restore", restored.Payload)
	if *restored.Payload.Version.Status != pm.HashicorpCloudPacker20230101VersionStatusVERSIONACTIVE {
		t.Fatalf("UpdateVersion restore: want VERSION_ACTIVE, got %v", *restored.Payload.Version.Status)
	}

	must(t, "DeleteChannel release", c.deleteChannel(parent, "release"))
	_, err = c.getChannel(parent, "release")
	wantError(t, "GetChannel of a deleted channel", err, 404, 5)
	wantError(t, "DeleteChannel latest", c.deleteChannel(parent, "latest"), 400, 3)
}
