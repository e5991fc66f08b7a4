// Contract tests of the SBOM and package operations (UploadSbom, ListSboms, GetSbom,
// ListBuildPackages, ListBucketPackages) with hcp-sdk-go's generated client: each payload is
// decoded by the SDK's models and checked with their Validate. HCP Packer's own answers where
// they were observed (HCP-API-COMPAT.md §8): an SBOM only while the build runs (else 400 code 3),
// none without packages, a ULID name for an unnamed one, GetSbom `{download_url}` of the JSON.
package sdk_test

import (
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"

	ps "github.com/hashicorp/hcp-sdk-go/clients/cloud-packer-service/stable/2023-01-01/client/packer_service"
	pm "github.com/hashicorp/hcp-sdk-go/clients/cloud-packer-service/stable/2023-01-01/models"
)

// Two small SBOMs of one machine: its OS packages in CycloneDX, its Python packages in SPDX;
// requests is in both.
const (
	osSbom = `{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[` +
		`{"type":"library","name":"openssl","version":"3.0.11-1~deb12u2","purl":"pkg:deb/debian/openssl@3.0.11-1~deb12u2?distro=debian-12"},` +
		`{"type":"library","name":"requests","version":"2.31.0","purl":"pkg:pypi/requests@2.31.0"},` +
		`{"type":"library","name":"zlib1g","version":"1:1.2.13.dfsg-1","purl":"pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1"}]}`
	appSbom = `{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"app","packages":[` +
		`{"SPDXID":"SPDXRef-app","name":"app","versionInfo":"1.0.0"},` +
		`{"SPDXID":"SPDXRef-requests","name":"requests","versionInfo":"2.31.0","externalRefs":[` +
		`{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:pypi/requests@2.31.0"}]}],` +
		`"relationships":[{"spdxElementId":"SPDXRef-DOCUMENT","relationshipType":"DESCRIBES","relatedSpdxElement":"SPDXRef-app"}]}`
	noPackages = `{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"components":[]}`
	notRunning = "This build's status isn't Running, so sboms can not be uploaded"
	cyclonedx  = pm.HashicorpCloudPacker20230101SbomFormatCYCLONEDX
	spdx       = pm.HashicorpCloudPacker20230101SbomFormatSPDX
)

func (c clients) uploadSbom(bucket, fingerprint, build, name, document string, format pm.HashicorpCloudPacker20230101SbomFormat) error {
	p := ps.NewPackerServiceUploadSbomParams()
	p.LocationOrganizationID, p.LocationProjectID, p.BucketName, p.Fingerprint, p.BuildID = c.org, c.project, bucket, fingerprint, build
	p.Body = &pm.HashicorpCloudPacker20230101UploadSbomBody{CompressedSbom: zstdFrame([]byte(document)),
		Format: format.Pointer(), Name: name}
	_, err := c.packer.PackerServiceUploadSbom(p, nil)
	return err
}

func (c clients) listSboms(bucket, fingerprint, build string) (*ps.PackerServiceListSbomsOK, error) {
	p := ps.NewPackerServiceListSbomsParams()
	p.LocationOrganizationID, p.LocationProjectID, p.BucketName, p.Fingerprint, p.BuildID = c.org, c.project, bucket, fingerprint, build
	return c.packer.PackerServiceListSboms(p, nil)
}

func (c clients) getSbom(bucket, fingerprint, build, name string) (*ps.PackerServiceGetSbomOK, error) {
	p := ps.NewPackerServiceGetSbomParams()
	p.LocationOrganizationID, p.LocationProjectID, p.BucketName, p.Fingerprint, p.BuildID = c.org, c.project, bucket, fingerprint, build
	p.SbomName = name
	return c.packer.PackerServiceGetSbom(p, nil)
}

func (c clients) buildPackages(bucket, fingerprint, build string, name *string) (*ps.PackerServiceListBuildPackagesOK, error) {
	p := ps.NewPackerServiceListBuildPackagesParams()
	p.LocationOrganizationID, p.LocationProjectID, p.BucketName, p.Fingerprint, p.BuildID = c.org, c.project, bucket, fingerprint, build
	p.PackageName = name
	return c.packer.PackerServiceListBuildPackages(p, nil)
}

func (c clients) bucketPackages(bucket string, size int64, token *string) (*ps.PackerServiceListBucketPackagesOK, error) {
	p := ps.NewPackerServiceListBucketPackagesParams()
	p.LocationOrganizationID, p.LocationProjectID, p.BucketName = c.org, c.project, bucket
	p.PaginationPageSize, p.PaginationNextPageToken = &size, token
	return c.packer.PackerServiceListBucketPackages(p, nil)
}

// rows are packages as "name version: sbom names", for comparing lists.
func rows(packages []*pm.HashicorpCloudPacker20230101Package, names map[string]string) []string {
	var found []string
	for _, p := range packages {
		var sboms []string
		for _, s := range p.Sboms {
			sboms = append(sboms, names[s.ID])
		}
		sort.Strings(sboms)
		found = append(found, p.Name+" "+p.Version+": "+strings.Join(sboms, ","))
	}
	return found
}

func TestSbomsAreTakenWhileTheBuildRunsAndTheirPackagesListed(t *testing.T) {
	c := hcp(t)
	bucket, fingerprint := c.newBucket(t, "sboms"), random("fp")
	_, err := c.createVersion(bucket, fingerprint)
	must(t, "CreateVersion", err)
	created, err := c.createBuild(bucket, fingerprint, "null.machine")
	must(t, "CreateBuild", err)
	build := created.Payload.Build.ID

	err = c.uploadSbom(bucket, fingerprint, build, "os", osSbom, cyclonedx)
	wantError(t, "UploadSbom before the build runs", err, 400, 3)
	if !strings.Contains(err.Error(), notRunning) {
		t.Fatalf("UploadSbom before the build runs: %v", err)
	}
	_, err = c.updateBuild(bucket, fingerprint, build, running())
	must(t, "UpdateBuild RUNNING", err)
	must(t, "UploadSbom os", c.uploadSbom(bucket, fingerprint, build, "os", osSbom, cyclonedx))
	must(t, "UploadSbom without a name", c.uploadSbom(bucket, fingerprint, build, "", appSbom, spdx))
	wantError(t, "UploadSbom without packages", c.uploadSbom(bucket, fingerprint, build, "empty", noPackages, cyclonedx), 400, 3)

	listed, err := c.listSboms(bucket, fingerprint, build)
	must(t, "ListSboms", err)
	valid(t, "ListSboms", listed.Payload)
	names, unnamed := map[string]string{}, ""
	for _, s := range listed.Payload.Sboms {
		ulid(t, "sbom id", s.ID)
		names[s.ID] = s.Name
		switch {
		case s.Name == "os" && *s.Format == cyclonedx:
		case ulidPattern.MatchString(s.Name) && *s.Format == spdx: // an unnamed SBOM gets a ULID name
			unnamed, names[s.ID] = s.Name, "app"
		default:
			t.Fatalf("sbom %+v", s)
		}
	}
	if len(listed.Payload.Sboms) != 2 || unnamed == "" {
		t.Fatalf("sboms %+v", listed.Payload.Sboms)
	}

	got, err := c.getSbom(bucket, fingerprint, build, unnamed)
	must(t, "GetSbom", err)
	valid(t, "GetSbom", got.Payload)
	response, err := http.Get(got.Payload.DownloadURL)
	must(t, "GET download_url", err)
	document, _ := io.ReadAll(response.Body)
	_ = response.Body.Close()
	if response.StatusCode != 200 || string(document) != appSbom {
		t.Fatalf("the download is %d %q, not the SBOM's JSON", response.StatusCode, document)
	}
	_, err = c.getSbom(bucket, fingerprint, build, "no-such-sbom")
	wantError(t, "GetSbom of a name the build has not", err, 404, 5)

	packages, err := c.buildPackages(bucket, fingerprint, build, nil)
	must(t, "ListBuildPackages", err)
	valid(t, "ListBuildPackages", packages.Payload)
	want := []string{"openssl 3.0.11-1~deb12u2: os", "requests 2.31.0: app,os", "zlib1g 1:1.2.13.dfsg-1: os"}
	if got := rows(packages.Payload.Packages, names); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("ListBuildPackages: %q, want %q", got, want)
	}
	if p := packages.Payload.Packages[0]; p.Purl != "pkg:deb/debian/openssl@3.0.11-1~deb12u2?distro=debian-12" {
		t.Fatalf("package %+v", p)
	}
	name := "zlib1g"
	packages, err = c.buildPackages(bucket, fingerprint, build, &name)
	must(t, "ListBuildPackages package_name", err)
	if len(packages.Payload.Packages) != 1 || packages.Payload.Packages[0].Name != name {
		t.Fatalf("ListBuildPackages package_name=%s: %+v", name, packages.Payload.Packages)
	}

	// The bucket's list, a page of two then the rest: a package is never split over pages.
	var all []*pm.HashicorpCloudPacker20230101Package
	var token *string
	for pages := 0; ; pages++ {
		page, err := c.bucketPackages(bucket, 2, token)
		must(t, "ListBucketPackages", err)
		valid(t, "ListBucketPackages", page.Payload)
		all = append(all, page.Payload.Packages...)
		if page.Payload.Pagination == nil || page.Payload.Pagination.NextPageToken == "" || pages > 4 {
			break
		}
		token = &page.Payload.Pagination.NextPageToken
	}
	if got := rows(all, names); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("ListBucketPackages: %q, want %q", got, want)
	}

	_, err = c.updateBuild(bucket, fingerprint, build, done("null", "Null", "null"))
	must(t, "UpdateBuild DONE", err)
	err = c.uploadSbom(bucket, fingerprint, build, "late", osSbom, cyclonedx)
	wantError(t, "UploadSbom once the version is complete", err, 400, 3)
	if !strings.Contains(err.Error(), notRunning) {
		t.Fatalf("UploadSbom once the version is complete: %v", err)
	}
	_, err = c.buildPackages(bucket, fingerprint, random("no-such-build"), nil)
	wantError(t, "ListBuildPackages of an unknown build", err, 404, 5)
}
