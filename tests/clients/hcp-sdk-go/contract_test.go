// Contract tests of the registry's HCP Packer–compatible API with hcp-sdk-go's generated clients:
// the SDK's own configuration (config.FromEnv), token source and HTTP client (httpclient.New), and
// its deserializers judge the wire format (HCP-API-COMPAT.md §4, §5, §8). Every response is also
// checked with the generated models' Validate (enum values, date-times).
//
// They run against a registry named by the variables a Packer user sets (HCP_API_ADDRESS,
// HCP_API_TLS, HCP_AUTH_URL, HCP_AUTH_TLS, HCP_CLIENT_ID, HCP_CLIENT_SECRET, HCP_ORGANIZATION_ID,
// HCP_PROJECT_ID) plus HCP_TEST_PRINCIPAL_NAME, the principal's name (a version's author), and
// HCP_TEST_INGESTED_* naming a version ingested from a manifest (bucket, fingerprint, and its one
// artifact's platform, region and ID).
// tests/e2e/test_hcp_contract.py starts `make run`, creates the principal and runs each test here.
// Every test makes its own buckets (random names), so they run in any order, on any registry.
package sdk_test

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-openapi/strfmt"
	ps "github.com/hashicorp/hcp-sdk-go/clients/cloud-packer-service/stable/2023-01-01/client/packer_service"
	pm "github.com/hashicorp/hcp-sdk-go/clients/cloud-packer-service/stable/2023-01-01/models"
	orgsvc "github.com/hashicorp/hcp-sdk-go/clients/cloud-resource-manager/stable/2019-12-10/client/organization_service"
	projsvc "github.com/hashicorp/hcp-sdk-go/clients/cloud-resource-manager/stable/2019-12-10/client/project_service"
	rmm "github.com/hashicorp/hcp-sdk-go/clients/cloud-resource-manager/stable/2019-12-10/models"
	shared "github.com/hashicorp/hcp-sdk-go/clients/cloud-shared/v1/models"
	"github.com/hashicorp/hcp-sdk-go/config"
	"github.com/hashicorp/hcp-sdk-go/httpclient"
)

var (
	ulidPattern = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{26}$`)
	uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

// The clients, made once from the environment as Packer makes them (packer internal/hcp/api/client.go).
type clients struct {
	config   config.HCPConfig
	packer   ps.ClientService
	orgs     orgsvc.ClientService
	projects projsvc.ClientService
	org      string
	project  string
}

var (
	made    clients
	makeErr error
	once    sync.Once
)

func hcp(t *testing.T) clients {
	t.Helper()
	once.Do(func() {
		for _, name := range []string{"HCP_API_ADDRESS", "HCP_AUTH_URL", "HCP_CLIENT_ID", "HCP_CLIENT_SECRET",
			"HCP_ORGANIZATION_ID", "HCP_PROJECT_ID"} {
			if os.Getenv(name) == "" {
				makeErr = errors.New(name + " is not set: run these tests through tests/e2e/test_hcp_contract.py")
				return
			}
		}
		cfg, err := config.NewHCPConfig(config.FromEnv(), config.WithoutBrowserLogin())
		if err != nil {
			makeErr = err
			return
		}
		runtime, err := httpclient.New(httpclient.Config{HCPConfig: cfg, SourceChannel: "registry-contract-tests"})
		if err != nil {
			makeErr = err
			return
		}
		made = clients{cfg, ps.New(runtime, nil), orgsvc.New(runtime, nil), projsvc.New(runtime, nil),
			cfg.Profile().OrganizationID, cfg.Profile().ProjectID}
	})
	if makeErr != nil {
		t.Fatalf("cannot make the SDK's clients: %v", makeErr)
	}
	return made
}

// ---- helpers ----------------------------------------------------------------------------

// apiError is what every generated operation returns for a non-200 answer whose body decoded:
// its Default response (HTTP status and the google.rpc.Status payload).
type apiError interface {
	error
	Code() int
	GetPayload() *shared.GoogleRPCStatus
}

// wantError fails unless err is the API error HTTP `status` with gRPC `code` in the HCP error
// shape: a decoded body with a message and `details` present (HCP-API-COMPAT.md §4, §8).
func wantError(t *testing.T, what string, err error, status int, code int32) {
	t.Helper()
	var got apiError
	if !errors.As(err, &got) {
		t.Fatalf("%s: want HTTP %d code %d, got %T: %v", what, status, code, err, err)
	}
	payload := got.GetPayload()
	if got.Code() != status || payload == nil || payload.Code != code {
		t.Fatalf("%s: want HTTP %d code %d, got HTTP %d %s", what, status, code, got.Code(), got.Error())
	}
	if payload.Message == "" || payload.Details == nil {
		t.Fatalf("%s: the error has no message or no `details` list: %s", what, got.Error())
	}
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// valid runs the generated model's own validation (enum values, formats) on a decoded payload.
func valid(t *testing.T, what string, payload interface{ Validate(strfmt.Registry) error }) {
	t.Helper()
	if err := payload.Validate(strfmt.Default); err != nil {
		t.Fatalf("%s: the payload does not validate: %v", what, err)
	}
}

func ulid(t *testing.T, what, id string) {
	t.Helper()
	if !ulidPattern.MatchString(id) {
		t.Fatalf("%s: %q is not a ULID", what, id)
	}
}

func set(t *testing.T, what string, at strfmt.DateTime) {
	t.Helper()
	if time.Time(at).IsZero() {
		t.Fatalf("%s: the time is not set", what)
	}
}

func random(prefix string) string {
	raw := make([]byte, 5)
	_, _ = rand.Read(raw)
	return prefix + "-" + hex.EncodeToString(raw)
}

func randomUUID() string {
	raw := make([]byte, 16)
	_, _ = rand.Read(raw)
	h := hex.EncodeToString(raw)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// zstdFrame wraps data in a zstd frame of one raw (stored) block: a valid frame that any zstd
// decoder reads, without a compressor the SDK's module does not have (RFC 8878 §3.1.1).
func zstdFrame(data []byte) []byte {
	frame := []byte{0x28, 0xB5, 0x2F, 0xFD, 0xA0} // magic; single segment, 4-byte content size
	frame = binary.LittleEndian.AppendUint32(frame, uint32(len(data)))
	header := uint32(len(data))<<3 | 1 // raw block, last block
	frame = append(frame, byte(header), byte(header>>8), byte(header>>16))
	return append(frame, data...)
}

const sbom = `{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,` +
	`"components":[{"type":"library","name":"zlib","version":"1.3.1","purl":"pkg:generic/zlib@1.3.1"}]}`

// ---- the calls, with the location filled in -----------------------------------------------

func (c clients) getBucket(name string) (*ps.PackerServiceGetBucketOK, error) {
	p := ps.NewPackerServiceGetBucketParams()
	p.LocationOrganizationID, p.LocationProjectID, p.BucketName = c.org, c.project, name
	return c.packer.PackerServiceGetBucket(p, nil)
}

func (c clients) createBucket(body *pm.HashicorpCloudPacker20230101CreateBucketBody) (*ps.PackerServiceCreateBucketOK, error) {
	p := ps.NewPackerServiceCreateBucketParams()
	p.LocationOrganizationID, p.LocationProjectID, p.Body = c.org, c.project, body
	return c.packer.PackerServiceCreateBucket(p, nil)
}

func (c clients) newBucket(t *testing.T, prefix string) string {
	t.Helper()
	name := random(prefix)
	_, err := c.createBucket(&pm.HashicorpCloudPacker20230101CreateBucketBody{Name: name})
	must(t, "CreateBucket "+name, err)
	return name
}

func (c clients) getVersion(bucket, fingerprint string) (*ps.PackerServiceGetVersionOK, error) {
	p := ps.NewPackerServiceGetVersionParams()
	p.LocationOrganizationID, p.LocationProjectID, p.BucketName, p.Fingerprint = c.org, c.project, bucket, fingerprint
	return c.packer.PackerServiceGetVersion(p, nil)
}

func (c clients) createVersion(bucket, fingerprint string) (*ps.PackerServiceCreateVersionOK, error) {
	p := ps.NewPackerServiceCreateVersionParams()
	p.LocationOrganizationID, p.LocationProjectID, p.BucketName = c.org, c.project, bucket
	p.Body = &pm.HashicorpCloudPacker20230101CreateVersionBody{
		Fingerprint: fingerprint, TemplateType: pm.HashicorpCloudPacker20230101TemplateTypeHCL2.Pointer()}
	return c.packer.PackerServiceCreateVersion(p, nil)
}

func (c clients) listBuilds(bucket, fingerprint string) (*ps.PackerServiceListBuildsOK, error) {
	p := ps.NewPackerServiceListBuildsParams()
	p.LocationOrganizationID, p.LocationProjectID, p.BucketName, p.Fingerprint = c.org, c.project, bucket, fingerprint
	return c.packer.PackerServiceListBuilds(p, nil)
}

// createBuild sends what Packer sends for each expected component (HCP-API-COMPAT.md §2.2 step 5).
func (c clients) createBuild(bucket, fingerprint, component string) (*ps.PackerServiceCreateBuildOK, error) {
	p := ps.NewPackerServiceCreateBuildParams()
	p.LocationOrganizationID, p.LocationProjectID, p.BucketName, p.Fingerprint = c.org, c.project, bucket, fingerprint
	p.Body = &pm.HashicorpCloudPacker20230101CreateBuildBody{ComponentType: component,
		PackerRunUUID: runUUID, Status: pm.HashicorpCloudPacker20230101BuildStatusBUILDUNSET.Pointer()}
	return c.packer.PackerServiceCreateBuild(p, nil)
}

func (c clients) getBuild(bucket, fingerprint, id string) (*ps.PackerServiceGetBuildOK, error) {
	p := ps.NewPackerServiceGetBuildParams()
	p.LocationOrganizationID, p.LocationProjectID, p.BucketName, p.Fingerprint = c.org, c.project, bucket, fingerprint
	p.BuildID = id
	return c.packer.PackerServiceGetBuild(p, nil)
}

func (c clients) updateBuild(bucket, fingerprint, id string, body *pm.HashicorpCloudPacker20230101UpdateBuildBody) (*ps.PackerServiceUpdateBuildOK, error) {
	p := ps.NewPackerServiceUpdateBuildParams()
	p.LocationOrganizationID, p.LocationProjectID, p.BucketName, p.Fingerprint = c.org, c.project, bucket, fingerprint
	p.BuildID, p.Body = id, body
	return c.packer.PackerServiceUpdateBuild(p, nil)
}

const runUUID = "0b0b5a5e-1c1c-4d4d-8e8e-f0f0f0f0f0f0"

// running and done are the bodies of Packer's UpdateBuild at a build's start and success (§2.2 steps 7, 10).
func running() *pm.HashicorpCloudPacker20230101UpdateBuildBody {
	return &pm.HashicorpCloudPacker20230101UpdateBuildBody{PackerRunUUID: runUUID,
		Status: pm.HashicorpCloudPacker20230101BuildStatusBUILDRUNNING.Pointer()}
}

func done(platform, externalID, region string) *pm.HashicorpCloudPacker20230101UpdateBuildBody {
	return &pm.HashicorpCloudPacker20230101UpdateBuildBody{
		Artifacts: []*pm.HashicorpCloudPacker20230101ArtifactCreateBody{{ExternalIdentifier: externalID, Region: region}},
		Labels:    map[string]string{"os": "none"},
		Metadata: &pm.HashicorpCloudPacker20230101BuildMetadata{
			Packer: map[string]interface{}{"version": "1.16.0"}, Vcs: map[string]interface{}{}, Cicd: map[string]interface{}{}},
		PackerRunUUID: runUUID, Platform: platform,
		Status: pm.HashicorpCloudPacker20230101BuildStatusBUILDDONE.Pointer()}
}

func (c clients) updateChannel(bucket, channel, fingerprint string) (*ps.PackerServiceUpdateChannelOK, error) {
	p := ps.NewPackerServiceUpdateChannelParams()
	p.LocationOrganizationID, p.LocationProjectID, p.BucketName, p.ChannelName = c.org, c.project, bucket, channel
	p.Body = &pm.HashicorpCloudPacker20230101UpdateChannelBody{UpdateMask: "versionFingerprint", VersionFingerprint: fingerprint}
	return c.packer.PackerServiceUpdateChannel(p, nil)
}

func (c clients) getChannel(bucket, channel string) (*ps.PackerServiceGetChannelOK, error) {
	p := ps.NewPackerServiceGetChannelParams()
	p.LocationOrganizationID, p.LocationProjectID, p.BucketName, p.ChannelName = c.org, c.project, bucket, channel
	return c.packer.PackerServiceGetChannel(p, nil)
}

func (c clients) listChannels(bucket string) (*ps.PackerServiceListChannelsOK, error) {
	p := ps.NewPackerServiceListChannelsParams()
	p.LocationOrganizationID, p.LocationProjectID, p.BucketName = c.org, c.project, bucket
	return c.packer.PackerServiceListChannels(p, nil)
}

// nativeChannel creates a channel through the registry's native API (POST /buckets/{b}/channels)
// with the principal's token, which every route accepts: HCP's CreateChannel is terraform-provider-hcp's
// route, outside part 1, and Packer only assigns channels that exist.
func (c clients) nativeChannel(t *testing.T, bucket, name string) {
	t.Helper()
	c.native(t, "POST", "/buckets/"+bucket+"/channels", `{"name":"`+name+`"}`, http.StatusCreated)
}

// native calls the registry's native API with the principal's token, failing unless it answers `want`.
func (c clients) native(t *testing.T, method, path, body string, want int) {
	t.Helper()
	token, err := c.config.Token()
	must(t, "token", err)
	scheme := "https"
	if os.Getenv("HCP_API_TLS") == "disabled" {
		scheme = "http"
	}
	url := scheme + "://" + os.Getenv("HCP_API_ADDRESS") + path
	request, err := http.NewRequest(method, url, strings.NewReader(body))
	must(t, "request", err)
	request.Header.Set("Content-Type", "application/json")
	token.SetAuthHeader(request)
	response, err := http.DefaultClient.Do(request)
	must(t, method+" "+url, err)
	answer, _ := io.ReadAll(response.Body)
	_ = response.Body.Close()
	if response.StatusCode != want {
		t.Fatalf("%s %s: %d %s", method, url, response.StatusCode, answer)
	}
}

// publish runs Packer's sequence for one version of `builds` (component → platform) on a new
// bucket, every build to DONE; it returns the bucket's name.
func (c clients) publish(t *testing.T, prefix, fingerprint string, builds map[string]string) string {
	t.Helper()
	bucket := c.newBucket(t, prefix)
	_, err := c.createVersion(bucket, fingerprint)
	must(t, "CreateVersion", err)
	for component, platform := range builds {
		created, err := c.createBuild(bucket, fingerprint, component)
		must(t, "CreateBuild "+component, err)
		id := created.Payload.Build.ID
		_, err = c.updateBuild(bucket, fingerprint, id, running())
		must(t, "UpdateBuild RUNNING "+component, err)
		_, err = c.updateBuild(bucket, fingerprint, id, done(platform, component+".img", "."))
		must(t, "UpdateBuild DONE "+component, err)
	}
	return bucket
}

// ---- token and resource manager -----------------------------------------------------------

func TestTheTokenSourceGetsABearerTokenThatOutlivesAMinute(t *testing.T) {
	token, err := hcp(t).config.Token()
	must(t, "the SDK's token source", err)
	if token.AccessToken == "" || !strings.EqualFold(token.TokenType, "bearer") {
		t.Fatalf("token %q of type %q", token.AccessToken, token.TokenType)
	}
	if !token.Expiry.After(time.Now().Add(time.Minute)) {
		t.Fatalf("the token expires at %v: the SDK asks for a new one on every call without `expires_in`", token.Expiry)
	}
}

func TestAnUnknownClientGetsNoToken(t *testing.T) {
	hcp(t)
	cfg, err := config.NewHCPConfig(config.FromEnv(), config.WithoutBrowserLogin(),
		config.WithClientCredentials(random("no-such-client"), "not-its-secret"))
	must(t, "config", err)
	if token, err := cfg.Token(); err == nil {
		t.Fatalf("an unknown client got a token: %+v", token)
	}
}

func TestResourceManagerAnswersTheOneOrganizationAndProject(t *testing.T) {
	c := hcp(t)
	orgs, err := c.orgs.OrganizationServiceList(orgsvc.NewOrganizationServiceListParams(), nil)
	must(t, "ListOrganizations", err)
	valid(t, "ListOrganizations", orgs.Payload)
	if len(orgs.Payload.Organizations) != 1 {
		t.Fatalf("Packer and TFP want exactly one organization, got %d", len(orgs.Payload.Organizations))
	}
	org := orgs.Payload.Organizations[0]
	if org.ID != c.org || !uuidPattern.MatchString(org.ID) || org.State == nil ||
		*org.State != rmm.HashicorpCloudResourcemanagerOrganizationOrganizationStateACTIVE {
		t.Fatalf("organization %+v, want the active %s", org, c.org)
	}

	list := projsvc.NewProjectServiceListParams()
	scopeType := "ORGANIZATION"
	list.ScopeID, list.ScopeType = &c.org, &scopeType
	projects, err := c.projects.ProjectServiceList(list, nil)
	must(t, "ListProjects", err)
	valid(t, "ListProjects", projects.Payload)
	if len(projects.Payload.Projects) != 1 || projects.Payload.Projects[0].ID != c.project {
		t.Fatalf("projects %+v, want only %s", projects.Payload.Projects, c.project)
	}

	get := projsvc.NewProjectServiceGetParams()
	get.ID = c.project
	project, err := c.projects.ProjectServiceGet(get, nil)
	must(t, "GetProject", err)
	valid(t, "GetProject", project.Payload)
	p := project.Payload.Project
	// TFP reads project.parent.id as the organization and panics without `parent`.
	if p == nil || p.ID != c.project || !uuidPattern.MatchString(p.ID) || p.Parent == nil || p.Parent.ID != c.org ||
		p.Parent.Type == nil || *p.Parent.Type != rmm.HashicorpCloudResourcemanagerResourceIDResourceTypeORGANIZATION {
		t.Fatalf("project %+v", p)
	}
	set(t, "project created_at", p.CreatedAt)
}

func TestAnotherOrganizationOrProjectIsNotFound(t *testing.T) {
	c := hcp(t)
	get := projsvc.NewProjectServiceGetParams()
	get.ID = randomUUID()
	_, err := c.projects.ProjectServiceGet(get, nil)
	wantError(t, "GetProject of another project", err, 404, 5)

	elsewhere := c
	elsewhere.org = randomUUID()
	_, err = elsewhere.getBucket("any")
	wantError(t, "GetBucket in another organization", err, 404, 5)
	elsewhere = c
	elsewhere.project = randomUUID()
	_, err = elsewhere.getBucket("any")
	wantError(t, "GetBucket in another project", err, 404, 5)
}

func TestTheProjectHasAnActivatedRegistry(t *testing.T) {
	c := hcp(t)
	p := ps.NewPackerServiceGetRegistryParams()
	p.LocationOrganizationID, p.LocationProjectID = c.org, c.project
	registry, err := c.packer.PackerServiceGetRegistry(p, nil)
	must(t, "GetRegistry", err)
	valid(t, "GetRegistry", registry.Payload)
	// Packer given only HCP_PROJECT_ID refuses a project whose `registry` is null (ValidateRegistryForProject).
	if r := registry.Payload.Registry; r == nil || r.Config == nil || !r.Config.Activated {
		t.Fatalf("registry %+v", r)
	}
}

// ---- buckets ----------------------------------------------------------------------------

func TestABucketIsCreatedReadUpdatedAndDeleted(t *testing.T) {
	c := hcp(t)
	name := random("ct-bucket")
	_, err := c.getBucket(name)
	wantError(t, "GetBucket before it exists", err, 404, 5)

	created, err := c.createBucket(&pm.HashicorpCloudPacker20230101CreateBucketBody{
		Name: name, Description: "first", Labels: map[string]string{"team": "a"}})
	must(t, "CreateBucket", err)
	valid(t, "CreateBucket", created.Payload)
	b := created.Payload.Bucket
	// TFP panics without `location` and imports `packer/project/{project}/bucket/{name}`.
	if b == nil || b.Name != name || b.Location == nil || b.Location.OrganizationID != c.org ||
		b.Location.ProjectID != c.project || b.ResourceName != "packer/project/"+c.project+"/bucket/"+name {
		t.Fatalf("created bucket %+v", b)
	}
	ulid(t, "bucket id", b.ID)
	set(t, "bucket created_at", b.CreatedAt)

	_, err = c.createBucket(&pm.HashicorpCloudPacker20230101CreateBucketBody{Name: name})
	wantError(t, "CreateBucket again", err, 409, 6)

	update := ps.NewPackerServiceUpdateBucketParams()
	update.LocationOrganizationID, update.LocationProjectID, update.BucketName = c.org, c.project, name
	update.Body = &pm.HashicorpCloudPacker20230101UpdateBucketBody{Description: "second",
		Labels: map[string]string{"team": "b", "os": "none"}} // platforms: null, as Packer sends it
	_, err = c.packer.PackerServiceUpdateBucket(update, nil)
	must(t, "UpdateBucket", err)

	got, err := c.getBucket(name)
	must(t, "GetBucket", err)
	valid(t, "GetBucket", got.Payload)
	b = got.Payload.Bucket
	if b.Description != "second" || len(b.Labels) != 2 || b.Labels["team"] != "b" || b.Labels["os"] != "none" {
		t.Fatalf("updated bucket %+v", b)
	}
	if b.VersionCount != "" && b.VersionCount != "0" {
		t.Fatalf("version_count %q without a version", b.VersionCount)
	}

	// HCP creates the managed `latest` channel with the bucket, holding no version (§8).
	channels, err := c.listChannels(name)
	must(t, "ListChannels", err)
	valid(t, "ListChannels", channels.Payload)
	if len(channels.Payload.Channels) != 1 {
		t.Fatalf("channels of a new bucket: %+v", channels.Payload.Channels)
	}
	latest := channels.Payload.Channels[0]
	if latest.Name != "latest" || !latest.Managed || !latest.Restricted || latest.Version != nil {
		t.Fatalf("latest %+v", latest)
	}
	ulid(t, "latest channel id", latest.ID)

	remove := ps.NewPackerServiceDeleteBucketParams()
	remove.LocationOrganizationID, remove.LocationProjectID, remove.BucketName = c.org, c.project, name
	_, err = c.packer.PackerServiceDeleteBucket(remove, nil)
	must(t, "DeleteBucket", err)
	_, err = c.getBucket(name)
	wantError(t, "GetBucket after its deletion", err, 404, 5)
	_, err = c.packer.PackerServiceDeleteBucket(remove, nil)
	wantError(t, "DeleteBucket again", err, 404, 5)
}

func TestBucketsAreListedByNameInPages(t *testing.T) {
	c := hcp(t)
	prefix := random("ct-list")
	var want []string
	for _, suffix := range []string{"c", "a", "b"} {
		_, err := c.createBucket(&pm.HashicorpCloudPacker20230101CreateBucketBody{Name: prefix + "-" + suffix})
		must(t, "CreateBucket", err)
		want = append(want, prefix+"-"+suffix)
	}
	sort.Strings(want)

	// As TFP's bucket_names data source: sorted by name, following next_page_token until empty.
	var got []string
	var token *string
	size := int64(2)
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("the pages never end")
		}
		p := ps.NewPackerServiceListBucketsParams()
		p.LocationOrganizationID, p.LocationProjectID = c.org, c.project
		p.SortingOrderBy, p.PaginationPageSize, p.PaginationNextPageToken = []string{"name"}, &size, token
		page, err := c.packer.PackerServiceListBuckets(p, nil)
		must(t, "ListBuckets", err)
		valid(t, "ListBuckets", page.Payload)
		if int64(len(page.Payload.Buckets)) > size {
			t.Fatalf("a page of %d buckets, asked for %d", len(page.Payload.Buckets), size)
		}
		for _, b := range page.Payload.Buckets {
			if strings.HasPrefix(b.Name, prefix) {
				got = append(got, b.Name)
			}
		}
		if page.Payload.Pagination == nil || page.Payload.Pagination.NextPageToken == "" {
			break
		}
		next := page.Payload.Pagination.NextPageToken
		token = &next
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("listed %v, want %v", got, want)
	}
}

func TestEnforcedBlocksOfABucketAreAnEmptyList(t *testing.T) {
	c := hcp(t)
	bucket := c.newBucket(t, "ct-enforced")
	p := ps.NewPackerServiceGetEnforcedBlocksByBucketParams()
	p.LocationOrganizationID, p.LocationProjectID, p.BucketName = c.org, c.project, bucket
	blocks, err := c.packer.PackerServiceGetEnforcedBlocksByBucket(p, nil)
	// Packer ≥ 1.16 aborts the build on any error but codes 5 and 12.
	must(t, "GetEnforcedBlocksByBucket", err)
	valid(t, "GetEnforcedBlocksByBucket", blocks.Payload)
	if len(blocks.Payload.EnforcedBlockDetail) != 0 {
		t.Fatalf("enforced blocks %+v", blocks.Payload.EnforcedBlockDetail)
	}
}

// ---- a version published build by build -------------------------------------------------

func TestAVersionIsPublishedBuildByBuildAndCompletedByTheLastDone(t *testing.T) {
	c := hcp(t)
	bucket := c.newBucket(t, "ct-publish")
	fingerprint := random("fp")

	_, err := c.getVersion(bucket, fingerprint)
	wantError(t, "GetVersion before it exists", err, 409, 10) // Packer creates the version on code 10 only

	created, err := c.createVersion(bucket, fingerprint)
	must(t, "CreateVersion", err)
	valid(t, "CreateVersion", created.Payload)
	v := created.Payload.Version
	if v == nil || v.Name != "v0" || v.Status == nil || *v.Status != pm.HashicorpCloudPacker20230101VersionStatusVERSIONRUNNING ||
		v.Fingerprint != fingerprint || v.BucketName != bucket || v.TemplateType == nil ||
		*v.TemplateType != pm.HashicorpCloudPacker20230101TemplateTypeHCL2 {
		t.Fatalf("created version %+v", v)
	}
	ulid(t, "version id", v.ID)
	if name := os.Getenv("HCP_TEST_PRINCIPAL_NAME"); name != "" && v.AuthorID != name {
		t.Fatalf("author_id %q, want the principal's name %q", v.AuthorID, name)
	}
	versionID := v.ID
	_, err = c.createVersion(bucket, fingerprint)
	wantError(t, "CreateVersion again", err, 409, 6)

	got, err := c.getVersion(bucket, fingerprint)
	must(t, "GetVersion", err)
	valid(t, "GetVersion", got.Payload)
	if got.Payload.Version.Name != "v0" || got.Payload.Version.ID != versionID {
		t.Fatalf("version %+v", got.Payload.Version)
	}
	builds, err := c.listBuilds(bucket, fingerprint)
	must(t, "ListBuilds", err)
	if len(builds.Payload.Builds) != 0 {
		t.Fatalf("builds of a new version: %+v", builds.Payload.Builds)
	}

	// Packer creates the expected builds concurrently.
	components := []string{"file.app", "null.tool"}
	ids := make([]string, len(components))
	errs := make([]error, len(components))
	var wg sync.WaitGroup
	for i, component := range components {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := c.createBuild(bucket, fingerprint, component)
			if errs[i] = err; err == nil {
				if b.Payload.Build == nil || b.Payload.Build.Status == nil ||
					*b.Payload.Build.Status != pm.HashicorpCloudPacker20230101BuildStatusBUILDUNSET ||
					b.Payload.Build.VersionID != versionID || b.Payload.Build.ComponentType != component {
					errs[i] = errors.New("created build " + b.Error())
				} else {
					ids[i] = b.Payload.Build.ID
				}
			}
		}()
	}
	wg.Wait()
	for i := range components {
		must(t, "CreateBuild "+components[i], errs[i])
		ulid(t, "build id", ids[i])
	}
	_, err = c.createBuild(bucket, fingerprint, "file.app")
	wantError(t, "CreateBuild of a component that has a build", err, 409, 6)
	builds, err = c.listBuilds(bucket, fingerprint)
	must(t, "ListBuilds", err)
	valid(t, "ListBuilds", builds.Payload)
	if len(builds.Payload.Builds) != 2 {
		t.Fatalf("builds %+v", builds.Payload.Builds)
	}
	for _, b := range builds.Payload.Builds {
		if b.Status == nil { // Packer dereferences it
			t.Fatalf("build without status: %+v", b)
		}
	}

	_, err = c.updateBuild(bucket, fingerprint, random("no-such-build"), running())
	wantError(t, "UpdateBuild of an unknown build", err, 404, 5)
	app, err := c.updateBuild(bucket, fingerprint, ids[0], running())
	must(t, "UpdateBuild RUNNING", err)
	valid(t, "UpdateBuild", app.Payload)
	if *app.Payload.Build.Status != pm.HashicorpCloudPacker20230101BuildStatusBUILDRUNNING || app.Payload.Build.ID != ids[0] {
		t.Fatalf("running build %+v", app.Payload.Build)
	}

	upload := ps.NewPackerServiceUploadSbomParams()
	upload.LocationOrganizationID, upload.LocationProjectID, upload.BucketName = c.org, c.project, bucket
	upload.Fingerprint, upload.BuildID = fingerprint, ids[0]
	upload.Body = &pm.HashicorpCloudPacker20230101UploadSbomBody{CompressedSbom: zstdFrame([]byte(sbom)),
		Format: pm.HashicorpCloudPacker20230101SbomFormatCYCLONEDX.Pointer(), Name: "app-sbom"}
	_, err = c.packer.PackerServiceUploadSbom(upload, nil)
	must(t, "UploadSbom while the build runs", err)

	app, err = c.updateBuild(bucket, fingerprint, ids[0], done("packer.file", "app.img", "."))
	must(t, "UpdateBuild DONE", err)
	valid(t, "UpdateBuild DONE", app.Payload)
	b := app.Payload.Build
	if *b.Status != pm.HashicorpCloudPacker20230101BuildStatusBUILDDONE || b.Platform != "packer.file" ||
		len(b.Artifacts) != 1 || b.Artifacts[0].ExternalIdentifier != "app.img" || b.Artifacts[0].Region != "." ||
		b.Labels["os"] != "none" {
		t.Fatalf("done build %+v", b)
	}

	got, err = c.getVersion(bucket, fingerprint)
	must(t, "GetVersion", err)
	if v := got.Payload.Version; v.Name != "v0" || *v.Status != pm.HashicorpCloudPacker20230101VersionStatusVERSIONRUNNING {
		t.Fatalf("one build of two done, yet the version is %s %s", v.Name, *v.Status)
	}
	// Packer ≥ 1.15 assigns its channels after every DONE: the first calls meet an incomplete version.
	c.nativeChannel(t, bucket, "production")
	_, err = c.updateChannel(bucket, "production", fingerprint)
	wantError(t, "UpdateChannel to an incomplete version", err, 400, 9)

	_, err = c.updateBuild(bucket, fingerprint, ids[1], running())
	must(t, "UpdateBuild RUNNING", err)
	_, err = c.updateBuild(bucket, fingerprint, ids[1], done("null", "Null", "null"))
	must(t, "UpdateBuild DONE, the last one", err)

	got, err = c.getVersion(bucket, fingerprint)
	must(t, "GetVersion", err)
	valid(t, "GetVersion", got.Payload)
	v = got.Payload.Version
	if v.Name != "v1" || *v.Status != pm.HashicorpCloudPacker20230101VersionStatusVERSIONACTIVE || v.ID != versionID ||
		len(v.Builds) != 2 || !time.Time(v.RevokeAt).IsZero() {
		t.Fatalf("completed version %+v", v)
	}
	for _, b := range v.Builds {
		if *b.Status != pm.HashicorpCloudPacker20230101BuildStatusBUILDDONE || b.VersionID != versionID || len(b.Artifacts) != 1 {
			t.Fatalf("build of the completed version %+v", b)
		}
		set(t, "build created_at", b.CreatedAt)
	}

	bucketNow, err := c.getBucket(bucket)
	must(t, "GetBucket", err)
	valid(t, "GetBucket", bucketNow.Payload)
	bk := bucketNow.Payload.Bucket
	platforms := append([]string(nil), bk.Platforms...)
	sort.Strings(platforms)
	if bk.VersionCount != "1" || bk.LatestVersion == nil || bk.LatestVersion.Name != "v1" ||
		strings.Join(platforms, ",") != "null,packer.file" {
		t.Fatalf("bucket after the completion: version_count %q, latest %+v, platforms %v", bk.VersionCount, bk.LatestVersion, bk.Platforms)
	}

	list := ps.NewPackerServiceListVersionsParams()
	list.LocationOrganizationID, list.LocationProjectID, list.BucketName = c.org, c.project, bucket
	versions, err := c.packer.PackerServiceListVersions(list, nil)
	must(t, "ListVersions", err)
	valid(t, "ListVersions", versions.Payload)
	if len(versions.Payload.Versions) != 1 || versions.Payload.Versions[0].Name != "v1" {
		t.Fatalf("versions %+v", versions.Payload.Versions)
	}

	build, err := c.getBuild(bucket, fingerprint, ids[1])
	must(t, "GetBuild", err)
	valid(t, "GetBuild", build.Payload)
	if b := build.Payload.Build; b.ID != ids[1] || b.ComponentType != "null.tool" || b.Platform != "null" ||
		*b.Status != pm.HashicorpCloudPacker20230101BuildStatusBUILDDONE {
		t.Fatalf("build %+v", b)
	}
	_, err = c.getBuild(bucket, fingerprint, random("no-such-build"))
	wantError(t, "GetBuild of an unknown build", err, 404, 5)

	assigned, err := c.updateChannel(bucket, "production", fingerprint)
	must(t, "UpdateChannel to the completed version", err)
	valid(t, "UpdateChannel", assigned.Payload)
	if ch := assigned.Payload.Channel; ch == nil || ch.Version == nil || ch.Version.Name != "v1" { // TFP panics without `channel`
		t.Fatalf("assigned channel %+v", ch)
	}
	_, err = c.updateChannel(bucket, "latest", fingerprint)
	wantError(t, "UpdateChannel of the managed latest", err, 400, 9)
	_, err = c.updateChannel(bucket, "no-such-channel", fingerprint)
	wantError(t, "UpdateChannel of a missing channel", err, 404, 5)
}

// A draft (a version whose builds never all completed: a failed or crashed `packer build`) is
// deleted by DeleteVersion, with its builds: GetVersion then answers code 10, as for a
// fingerprint never seen (Packer starts afresh), and a second DeleteVersion code 5.
func TestADraftIsDeletedByDeleteVersion(t *testing.T) {
	c := hcp(t)
	bucket := c.newBucket(t, "ct-draft")
	fingerprint := random("fp")
	_, err := c.createVersion(bucket, fingerprint)
	must(t, "CreateVersion", err)
	build, err := c.createBuild(bucket, fingerprint, "null.app")
	must(t, "CreateBuild", err)
	_, err = c.updateBuild(bucket, fingerprint, build.Payload.Build.ID, running())
	must(t, "UpdateBuild RUNNING", err)

	params := ps.NewPackerServiceDeleteVersionParams()
	params.LocationOrganizationID, params.LocationProjectID, params.BucketName = c.org, c.project, bucket
	params.Fingerprint = fingerprint
	_, err = c.packer.PackerServiceDeleteVersion(params, nil)
	must(t, "DeleteVersion of a draft", err)
	_, err = c.getVersion(bucket, fingerprint)
	wantError(t, "GetVersion of the deleted draft", err, 409, 10)
	_, err = c.packer.PackerServiceDeleteVersion(params, nil)
	wantError(t, "DeleteVersion of the deleted draft", err, 404, 5)
}

// ---- channels as the data sources read them --------------------------------------------

func TestChannelsEmbedTheirVersionWithBuildsAndStatus(t *testing.T) {
	c := hcp(t)
	fingerprint := random("fp")
	bucket := c.publish(t, "ct-channels", fingerprint, map[string]string{"file.app": "packer.file"})

	latest, err := c.getChannel(bucket, "latest")
	must(t, "GetChannel latest", err)
	valid(t, "GetChannel", latest.Payload)
	ch := latest.Payload.Channel
	if ch == nil || ch.Name != "latest" || !ch.Managed || ch.Version == nil {
		t.Fatalf("latest %+v", ch)
	}
	ulid(t, "channel id", ch.ID)
	// hcp-packer-version panics without version.status; hcp-packer-artifact needs builds with
	// version_id (the parent link), platform, and artifacts with region.
	v := ch.Version
	if v.Status == nil || *v.Status != pm.HashicorpCloudPacker20230101VersionStatusVERSIONACTIVE || v.Name != "v1" ||
		v.Fingerprint != fingerprint || v.BucketName != bucket || len(v.Builds) != 1 {
		t.Fatalf("latest's version %+v", v)
	}
	b := v.Builds[0]
	if b.VersionID != v.ID || b.Platform != "packer.file" || b.ComponentType != "file.app" || b.PackerRunUUID != runUUID ||
		len(b.Artifacts) != 1 || b.Artifacts[0].ExternalIdentifier != "file.app.img" || b.Artifacts[0].Region != "." {
		t.Fatalf("latest's build %+v", b)
	}
	set(t, "artifact created_at", b.Artifacts[0].CreatedAt)

	_, err = c.getChannel(bucket, "no-such-channel")
	wantError(t, "GetChannel of a missing channel", err, 404, 5)
	other := c.newBucket(t, "ct-empty")
	_, err = c.getChannel(random("ct-missing"), "latest")
	wantError(t, "GetChannel in a missing bucket", err, 404, 5)

	c.nativeChannel(t, bucket, "staging")
	_, err = c.updateChannel(bucket, "staging", fingerprint)
	must(t, "UpdateChannel", err)

	// TFP reads channels[].version.fingerprint from the list.
	channels, err := c.listChannels(bucket)
	must(t, "ListChannels", err)
	valid(t, "ListChannels", channels.Payload)
	seen := map[string]string{}
	for _, ch := range channels.Payload.Channels {
		if ch.Version != nil {
			seen[ch.Name] = ch.Version.Fingerprint
		} else {
			seen[ch.Name] = ""
		}
	}
	if len(seen) != 2 || seen["latest"] != fingerprint || seen["staging"] != fingerprint {
		t.Fatalf("channels and their versions' fingerprints: %v", seen)
	}
	empty, err := c.listChannels(other)
	must(t, "ListChannels of a bucket without versions", err)
	if len(empty.Payload.Channels) != 1 || empty.Payload.Channels[0].Version != nil {
		t.Fatalf("channels of an empty bucket %+v", empty.Payload.Channels)
	}
}

// ---- one registry, two doors --------------------------------------------------------------

// A version ingested from a Packer manifest carries every field the clients dereference.
func TestAnIngestedVersionReadsLikeAPublishedOne(t *testing.T) {
	c := hcp(t)
	bucket, fingerprint := os.Getenv("HCP_TEST_INGESTED_BUCKET"), os.Getenv("HCP_TEST_INGESTED_FINGERPRINT")
	if bucket == "" {
		t.Skip("HCP_TEST_INGESTED_* not set: no ingested version to read")
	}
	platform, region, artifact := os.Getenv("HCP_TEST_INGESTED_PLATFORM"), os.Getenv("HCP_TEST_INGESTED_REGION"),
		os.Getenv("HCP_TEST_INGESTED_ARTIFACT")
	check := func(what string, v *pm.HashicorpCloudPacker20230101Version) {
		t.Helper()
		if v == nil || v.Name != "v1" || v.Status == nil || *v.Status != pm.HashicorpCloudPacker20230101VersionStatusVERSIONACTIVE ||
			v.Fingerprint != fingerprint || v.BucketName != bucket || len(v.Builds) != 1 || !time.Time(v.RevokeAt).IsZero() {
			t.Fatalf("%s: version %+v", what, v)
		}
		ulid(t, what+": version id", v.ID)
		set(t, what+": version created_at", v.CreatedAt)
		b := v.Builds[0]
		if b.Status == nil || *b.Status != pm.HashicorpCloudPacker20230101BuildStatusBUILDDONE || b.VersionID != v.ID ||
			b.Platform != platform || b.ComponentType == "" || len(b.Artifacts) != 1 ||
			b.Artifacts[0].ExternalIdentifier != artifact || b.Artifacts[0].Region != region {
			t.Fatalf("%s: build %+v", what, b)
		}
		ulid(t, what+": build id", b.ID)
		set(t, what+": artifact created_at", b.Artifacts[0].CreatedAt)
	}

	latest, err := c.getChannel(bucket, "latest")
	must(t, "GetChannel latest", err)
	valid(t, "GetChannel", latest.Payload)
	check("latest", latest.Payload.Channel.Version)
	version, err := c.getVersion(bucket, fingerprint)
	must(t, "GetVersion", err)
	valid(t, "GetVersion", version.Payload)
	check("GetVersion", version.Payload.Version)
	builds, err := c.listBuilds(bucket, fingerprint)
	must(t, "ListBuilds", err)
	valid(t, "ListBuilds", builds.Payload)
	if len(builds.Payload.Builds) != 1 || builds.Payload.Builds[0].ID != version.Payload.Version.Builds[0].ID {
		t.Fatalf("builds %+v", builds.Payload.Builds)
	}
	build, err := c.getBuild(bucket, fingerprint, builds.Payload.Builds[0].ID)
	must(t, "GetBuild", err)
	valid(t, "GetBuild", build.Payload)
	got, err := c.getBucket(bucket)
	must(t, "GetBucket", err)
	valid(t, "GetBucket", got.Payload)
	if b := got.Payload.Bucket; b.VersionCount != "1" || b.LatestVersion == nil || b.LatestVersion.Name != "v1" ||
		len(b.Platforms) != 1 || b.Platforms[0] != platform {
		t.Fatalf("bucket %+v", b)
	}
}
