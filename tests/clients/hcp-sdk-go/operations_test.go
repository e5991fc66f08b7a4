// Contract tests of issue 23's operations (channel promotion, the artifact search, DeleteBuild,
// the registry and the run task's routes, the buckets' and versions' summaries) with hcp-sdk-go's
// generated client: each payload decoded and validated by the SDK's models. The helpers are
// contract_test.go's; the tests that need an admin are in tests/e2e/test_hcp_contract.py's AS_ADMIN.
package sdk_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	ps "github.com/hashicorp/hcp-sdk-go/clients/cloud-packer-service/stable/2023-01-01/client/packer_service"
	pm "github.com/hashicorp/hcp-sdk-go/clients/cloud-packer-service/stable/2023-01-01/models"
)

func (c clients) createChannel(bucket, name, fingerprint string) (*ps.PackerServiceCreateChannelOK, error) {
	p := ps.NewPackerServiceCreateChannelParams()
	p.LocationOrganizationID, p.LocationProjectID, p.BucketName = c.org, c.project, bucket
	p.Body = &pm.HashicorpCloudPacker20230101CreateChannelBody{Name: name, VersionFingerprint: fingerprint}
	return c.packer.PackerServiceCreateChannel(p, nil)
}

func (c clients) assign(bucket, source, target string) (*ps.PackerServiceAssignChannelVersionOK, error) {
	p := ps.NewPackerServiceAssignChannelVersionParams()
	p.LocationOrganizationID, p.LocationProjectID, p.BucketName = c.org, c.project, bucket
	p.Body = &pm.HashicorpCloudPacker20230101AssignChannelVersionBody{SourceChannel: source, TargetChannel: target}
	return c.packer.PackerServiceAssignChannelVersion(p, nil)
}

func (c clients) registry() (*ps.PackerServiceGetRegistryOK, error) {
	p := ps.NewPackerServiceGetRegistryParams()
	p.LocationOrganizationID, p.LocationProjectID = c.org, c.project
	return c.packer.PackerServiceGetRegistry(p, nil)
}

func (c clients) updateRegistry(body *pm.HashicorpCloudPacker20230101UpdateRegistryBody) (*ps.PackerServiceUpdateRegistryOK, error) {
	p := ps.NewPackerServiceUpdateRegistryParams()
	p.LocationOrganizationID, p.LocationProjectID, p.Body = c.org, c.project, body
	return c.packer.PackerServiceUpdateRegistry(p, nil)
}

func (c clients) untrackedImages(behaviour pm.HashicorpCloudPacker20230101RunTaskBehaviour) (*ps.PackerServiceUpdateRunTaskConfigOK, error) {
	p := ps.NewPackerServiceUpdateRunTaskConfigParams()
	p.LocationOrganizationID, p.LocationProjectID = c.org, c.project
	p.Body = &pm.HashicorpCloudPacker20230101UpdateRunTaskConfigBody{OnUntrackedImage: behaviour.Pointer()}
	return c.packer.PackerServiceUpdateRunTaskConfig(p, nil)
}

// AssignChannelVersion copies one channel's version to another; into `latest` it is refused as
// HCP Packer refuses it (HTTP 400 code 9, HCP-API-COMPAT.md §8).
func TestAChannelTakesTheVersionAnotherHolds(t *testing.T) {
	c := hcp(t)
	fingerprint := random("fp")
	bucket := c.publish(t, "ct-assign", fingerprint, map[string]string{"file.app": "packer.file"})
	created, err := c.createChannel(bucket, "staging", fingerprint)
	must(t, "CreateChannel staging", err)
	valid(t, "CreateChannel", created.Payload)
	_, err = c.createChannel(bucket, "production", "")
	must(t, "CreateChannel production", err)

	assigned, err := c.assign(bucket, "staging", "production")
	must(t, "AssignChannelVersion", err)
	valid(t, "AssignChannelVersion", assigned.Payload)
	a := assigned.Payload
	if a.Fingerprint != fingerprint || a.Version == nil || a.Version.Name != "v1" || a.SourceChannel == nil ||
		a.SourceChannel.Name != "staging" || a.TargetChannel == nil || a.TargetChannel.Name != "production" ||
		a.TargetChannel.Version == nil || a.TargetChannel.Version.Fingerprint != fingerprint {
		t.Fatalf("assignment %+v", a)
	}
	got, err := c.getChannel(bucket, "production")
	must(t, "GetChannel production", err)
	if got.Payload.Channel.Version == nil || got.Payload.Channel.Version.Fingerprint != fingerprint {
		t.Fatalf("production after the assignment: %+v", got.Payload.Channel)
	}

	_, err = c.assign(bucket, "staging", "latest")
	wantError(t, "AssignChannelVersion into latest", err, 400, 9)
	var status apiError
	if errors.As(err, &status) && status.GetPayload().Message != "Cannot assign to managed channel 'latest'" {
		t.Fatalf("the refusal's message: %q", status.GetPayload().Message)
	}
	_, err = c.assign(bucket, "no-such-channel", "production")
	wantError(t, "AssignChannelVersion from a missing channel", err, 404, 5)
	_, err = c.assign(random("ct-missing"), "staging", "production")
	wantError(t, "AssignChannelVersion in a missing bucket", err, 404, 5)
}

// SearchExternalArtifact finds the ingested version by its artifact's ID, as the native lookup does.
func TestAnArtifactIsFoundByItsExternalIdentifier(t *testing.T) {
	c := hcp(t)
	bucket, artifact := os.Getenv("HCP_TEST_INGESTED_BUCKET"), os.Getenv("HCP_TEST_INGESTED_ARTIFACT")
	if bucket == "" {
		t.Skip("HCP_TEST_INGESTED_* not set: no ingested version to search for")
	}
	search := func(body *pm.HashicorpCloudPacker20230101SearchExternalArtifactRequestBody) []*pm.HashicorpCloudPacker20230101ExternalArtifact {
		t.Helper()
		p := ps.NewPackerServiceSearchExternalArtifactParams()
		p.LocationOrganizationID, p.LocationProjectID, p.Body = c.org, c.project, body
		found, err := c.packer.PackerServiceSearchExternalArtifact(p, nil)
		must(t, "SearchExternalArtifact", err)
		valid(t, "SearchExternalArtifact", found.Payload)
		return found.Payload.Artifacts
	}
	found := search(&pm.HashicorpCloudPacker20230101SearchExternalArtifactRequestBody{
		ExternalIdentifier: artifact, Platform: os.Getenv("HCP_TEST_INGESTED_PLATFORM"),
		Region: os.Getenv("HCP_TEST_INGESTED_REGION")})
	if len(found) != 1 {
		t.Fatalf("found %d artifacts, want the ingested one", len(found))
	}
	match := found[0]
	if match.Bucket == nil || match.Bucket.Name != bucket || match.Version == nil || match.Version.Name != "v1" ||
		match.Version.Fingerprint != os.Getenv("HCP_TEST_INGESTED_FINGERPRINT") || match.Version.Status == nil ||
		*match.Version.Status != pm.HashicorpCloudPacker20230101VersionStatusVERSIONACTIVE || match.Build == nil ||
		len(match.Build.Artifacts) != 1 || match.Build.Artifacts[0].ExternalIdentifier != artifact {
		t.Fatalf("match %+v", match)
	}
	ulid(t, "bucket id", match.Bucket.ID)
	ulid(t, "version id", match.Version.ID)
	if len(search(&pm.HashicorpCloudPacker20230101SearchExternalArtifactRequestBody{
		ExternalIdentifier: artifact, Platform: "azure"})) != 0 {
		t.Fatal("another platform found the artifact")
	}
	if len(search(&pm.HashicorpCloudPacker20230101SearchExternalArtifactRequestBody{
		ExternalIdentifier: random("ami-none")})) != 0 {
		t.Fatal("an unknown artifact was found")
	}
}

// DeleteBuild deletes a build of a running version; a complete version's builds are kept (code 9).
func TestABuildOfARunningVersionIsDeletedAndACompleteOnesIsNot(t *testing.T) {
	c := hcp(t)
	bucket := c.newBucket(t, "ct-delete-build")
	fingerprint := random("fp")
	_, err := c.createVersion(bucket, fingerprint)
	must(t, "CreateVersion", err)
	first, err := c.createBuild(bucket, fingerprint, "null.a")
	must(t, "CreateBuild", err)
	second, err := c.createBuild(bucket, fingerprint, "null.b")
	must(t, "CreateBuild", err)
	remove := func(fp, id string) (*ps.PackerServiceDeleteBuildOK, error) {
		p := ps.NewPackerServiceDeleteBuildParams()
		p.LocationOrganizationID, p.LocationProjectID, p.BucketName = c.org, c.project, bucket
		p.Fingerprint, p.BuildID = fp, id
		return c.packer.PackerServiceDeleteBuild(p, nil)
	}
	_, err = remove(fingerprint, first.Payload.Build.ID)
	must(t, "DeleteBuild of a running version's build", err)
	builds, err := c.listBuilds(bucket, fingerprint)
	must(t, "ListBuilds", err)
	if len(builds.Payload.Builds) != 1 || builds.Payload.Builds[0].ID != second.Payload.Build.ID {
		t.Fatalf("builds after the deletion: %+v", builds.Payload.Builds)
	}
	_, err = remove(fingerprint, first.Payload.Build.ID)
	wantError(t, "DeleteBuild again", err, 404, 5)

	id := second.Payload.Build.ID
	_, err = c.updateBuild(bucket, fingerprint, id, running())
	must(t, "UpdateBuild RUNNING", err)
	_, err = c.updateBuild(bucket, fingerprint, id, done("null", "Null", "null"))
	must(t, "UpdateBuild DONE (completes the version)", err)
	_, err = remove(fingerprint, id)
	wantError(t, "DeleteBuild of a complete version's build", err, 400, 9)
}

// Buckets listed carry their latest version and platforms; buckets and versions their ancestry summaries.
func TestListedBucketsCarryTheirLatestVersionAndSummaries(t *testing.T) {
	c := hcp(t)
	fingerprint := random("fp")
	bucket := c.publish(t, "ct-summary", fingerprint, map[string]string{"file.app": "packer.file"})
	var listed *pm.HashicorpCloudPacker20230101Bucket
	var token *string
	for pages := 0; listed == nil && pages < 1000; pages++ {
		p := ps.NewPackerServiceListBucketsParams()
		p.LocationOrganizationID, p.LocationProjectID, p.PaginationNextPageToken = c.org, c.project, token
		page, err := c.packer.PackerServiceListBuckets(p, nil)
		must(t, "ListBuckets", err)
		valid(t, "ListBuckets", page.Payload)
		for _, b := range page.Payload.Buckets {
			if b.Name == bucket {
				listed = b
			}
		}
		if page.Payload.Pagination == nil || page.Payload.Pagination.NextPageToken == "" {
			break
		}
		next := page.Payload.Pagination.NextPageToken
		token = &next
	}
	if listed == nil || listed.LatestVersion == nil || listed.LatestVersion.Name != "v1" ||
		listed.LatestVersion.Fingerprint != fingerprint || len(listed.Platforms) != 1 ||
		listed.Platforms[0] != "packer.file" || listed.Parents == nil || listed.Children == nil ||
		!strings.Contains(listed.Children.Href, "/buckets/"+bucket+"/ancestry") {
		t.Fatalf("the listed bucket %+v", listed)
	}
	got, err := c.getBucket(bucket)
	must(t, "GetBucket", err)
	valid(t, "GetBucket", got.Payload)
	if b := got.Payload.Bucket; b.Parents == nil || b.Children == nil || b.Children.Status != nil {
		t.Fatalf("a bucket nothing is built on: parents %+v, children %+v", b.Parents, b.Children)
	}
	version, err := c.getVersion(bucket, fingerprint)
	must(t, "GetVersion", err)
	if version.Payload.Version.HasDescendants || version.Payload.Version.Parents != nil {
		t.Fatalf("a version built on nothing, with nothing built on it: %+v", version.Payload.Version)
	}
}

// The registry: there once per project, its tier changed, deactivated (then it takes no new
// bucket) and activated again; not deleted while it holds buckets.
func TestTheRegistryIsUpdatedDeactivatedAndNotDeletedWhileItHoldsBuckets(t *testing.T) {
	c := hcp(t)
	before, err := c.registry()
	must(t, "GetRegistry", err)
	valid(t, "GetRegistry", before.Payload)
	t.Cleanup(func() { // leave the registry as the other tests need it
		_, _ = c.updateRegistry(&pm.HashicorpCloudPacker20230101UpdateRegistryBody{UpdateMask: "config.activated",
			Activated: true, FeatureTier: before.Payload.Registry.Config.FeatureTier})
	})

	create := ps.NewPackerServiceCreateRegistryParams()
	create.LocationOrganizationID, create.LocationProjectID = c.org, c.project
	create.Body = &pm.HashicorpCloudPacker20230101CreateRegistryBody{
		FeatureTier: pm.HashicorpCloudPacker20230101RegistryConfigTierSTANDARD.Pointer()}
	_, err = c.packer.PackerServiceCreateRegistry(create, nil)
	wantError(t, "CreateRegistry of the project's registry", err, 409, 6)

	plus, err := c.updateRegistry(&pm.HashicorpCloudPacker20230101UpdateRegistryBody{
		FeatureTier: pm.HashicorpCloudPacker20230101RegistryConfigTierPLUS.Pointer()})
	must(t, "UpdateRegistry tier", err)
	valid(t, "UpdateRegistry", plus.Payload)
	if r := plus.Payload.Registry; r == nil || r.Config == nil || !r.Config.Activated || r.Config.FeatureTier == nil ||
		*r.Config.FeatureTier != pm.HashicorpCloudPacker20230101RegistryConfigTierPLUS || plus.Payload.Operation == nil {
		t.Fatalf("registry on PLUS %+v", plus.Payload)
	}
	off, err := c.updateRegistry(&pm.HashicorpCloudPacker20230101UpdateRegistryBody{UpdateMask: "config.activated"})
	must(t, "UpdateRegistry deactivate", err)
	valid(t, "UpdateRegistry", off.Payload)
	if cfg := off.Payload.Registry.Config; cfg.Activated || cfg.BillingDeprovision == nil || cfg.BillingDeprovision.Reason == nil ||
		*cfg.BillingDeprovision.Reason != pm.HashicorpCloudPacker20230101RegistryBillingDeprovisionReasonUSERREQUEST {
		t.Fatalf("deactivated registry %+v", cfg)
	}
	_, err = c.createBucket(&pm.HashicorpCloudPacker20230101CreateBucketBody{Name: random("ct-off")})
	wantError(t, "CreateBucket in a deactivated registry", err, 400, 9)
	on, err := c.updateRegistry(&pm.HashicorpCloudPacker20230101UpdateRegistryBody{UpdateMask: "config.activated",
		Activated: true})
	must(t, "UpdateRegistry activate", err)
	if !on.Payload.Registry.Config.Activated {
		t.Fatalf("activated registry %+v", on.Payload.Registry.Config)
	}
	c.newBucket(t, "ct-on")

	remove := ps.NewPackerServiceDeleteRegistryParams()
	remove.LocationOrganizationID, remove.LocationProjectID = c.org, c.project
	_, err = c.packer.PackerServiceDeleteRegistry(remove, nil)
	wantError(t, "DeleteRegistry while it holds buckets", err, 400, 9)
}

// The run task: its settings (what an untracked image does), its URL and its HMAC key, a new one on request.
func TestTheRunTaskSettingsURLAndKey(t *testing.T) {
	c := hcp(t)
	get := ps.NewPackerServiceGetRunTaskConfigParams()
	get.LocationOrganizationID, get.LocationProjectID = c.org, c.project
	config, err := c.packer.PackerServiceGetRunTaskConfig(get, nil)
	must(t, "GetRunTaskConfig", err)
	valid(t, "GetRunTaskConfig", config.Payload)
	if config.Payload.OnUntrackedImage == nil {
		t.Fatal("GetRunTaskConfig: no on_untracked_image")
	}
	before := *config.Payload.OnUntrackedImage
	t.Cleanup(func() { _, _ = c.untrackedImages(before) })
	warn, err := c.untrackedImages(pm.HashicorpCloudPacker20230101RunTaskBehaviourWARN)
	must(t, "UpdateRunTaskConfig", err)
	valid(t, "UpdateRunTaskConfig", warn.Payload)
	config, err = c.packer.PackerServiceGetRunTaskConfig(get, nil)
	must(t, "GetRunTaskConfig", err)
	if *warn.Payload.OnUntrackedImage != pm.HashicorpCloudPacker20230101RunTaskBehaviourWARN ||
		*config.Payload.OnUntrackedImage != pm.HashicorpCloudPacker20230101RunTaskBehaviourWARN {
		t.Fatalf("on_untracked_image %s, then %s", *warn.Payload.OnUntrackedImage, *config.Payload.OnUntrackedImage)
	}

	api := ps.NewPackerServiceGetRegistryTFCRunTaskAPIParams()
	api.LocationOrganizationID, api.LocationProjectID, api.TaskType = c.org, c.project, "validation"
	first, err := c.packer.PackerServiceGetRegistryTFCRunTaskAPI(api, nil)
	must(t, "GetRegistryTFCRunTaskAPI", err)
	valid(t, "GetRegistryTFCRunTaskAPI", first.Payload)
	if !strings.HasSuffix(first.Payload.APIURL, "/runtasks/hcp-terraform") || len(first.Payload.HmacKey) < 32 {
		t.Fatalf("run task API %q, key of %d characters", first.Payload.APIURL, len(first.Payload.HmacKey))
	}
	regenerate := ps.NewPackerServiceRegenerateTFCRunTaskHmacKeyParams()
	regenerate.LocationOrganizationID, regenerate.LocationProjectID = c.org, c.project
	fresh, err := c.packer.PackerServiceRegenerateTFCRunTaskHmacKey(regenerate, nil)
	must(t, "RegenerateTFCRunTaskHmacKey", err)
	valid(t, "RegenerateTFCRunTaskHmacKey", fresh.Payload)
	again, err := c.packer.PackerServiceGetRegistryTFCRunTaskAPI(api, nil)
	must(t, "GetRegistryTFCRunTaskAPI", err)
	if fresh.Payload.HmacKey == first.Payload.HmacKey || again.Payload.HmacKey != fresh.Payload.HmacKey {
		t.Fatal("the regenerated key is not the one in force, or not new")
	}
}
