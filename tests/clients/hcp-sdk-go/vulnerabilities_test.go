// Contract tests of the vulnerability operations (ListBucketVulnerabilities,
// ListBucketPackagesWithVulnerabilities, ListBucketPackagesVulnerabilitySummary) with
// hcp-sdk-go's generated client: each payload is decoded by the SDK's models and checked with
// their Validate. The registry runs with OSV_API_URL pointing at the fake OSV that
// tests/e2e/test_hcp_contract.py starts (tests/fake_osv.py, the records of tests/fixtures/osv/);
// the sweep that asks it is run through the native API (POST /compliance/sweep).
package sdk_test

import (
	"net/http"
	"strings"
	"testing"

	ps "github.com/hashicorp/hcp-sdk-go/clients/cloud-packer-service/stable/2023-01-01/client/packer_service"
)

// A machine's npm and Python packages: minimist and lodash have one vulnerability each, urllib3
// two, requests none (in the fake OSV's records).
const vulnerableSbom = `{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"components":[` +
	`{"type":"library","name":"lodash","version":"4.17.20","purl":"pkg:npm/lodash@4.17.20"},` +
	`{"type":"library","name":"minimist","version":"1.2.5","purl":"pkg:npm/minimist@1.2.5"},` +
	`{"type":"library","name":"requests","version":"2.31.0","purl":"pkg:pypi/requests@2.31.0"},` +
	`{"type":"library","name":"urllib3","version":"1.26.5","purl":"pkg:pypi/urllib3@1.26.5"}]}`

func (c clients) bucketVulnerabilities(bucket string, criticality []string) (*ps.PackerServiceListBucketVulnerabilitiesOK, error) {
	p := ps.NewPackerServiceListBucketVulnerabilitiesParams()
	p.LocationOrganizationID, p.LocationProjectID, p.BucketName, p.Criticality = c.org, c.project, bucket, criticality
	return c.packer.PackerServiceListBucketVulnerabilities(p, nil)
}

func (c clients) packagesWithVulnerabilities(bucket string, name *string) (*ps.PackerServiceListBucketPackagesWithVulnerabilitiesOK, error) {
	p := ps.NewPackerServiceListBucketPackagesWithVulnerabilitiesParams()
	p.LocationOrganizationID, p.LocationProjectID, p.BucketName, p.PackageName = c.org, c.project, bucket, name
	return c.packer.PackerServiceListBucketPackagesWithVulnerabilities(p, nil)
}

func (c clients) vulnerabilitySummary(bucket string) (*ps.PackerServiceListBucketPackagesVulnerabilitySummaryOK, error) {
	p := ps.NewPackerServiceListBucketPackagesVulnerabilitySummaryParams()
	p.LocationOrganizationID, p.LocationProjectID, p.BucketName = c.org, c.project, bucket
	return c.packer.PackerServiceListBucketPackagesVulnerabilitySummary(p, nil)
}

// sweep runs the registry's sweep through its native API with the principal's token (a
// contributor may), which checks the packages uploaded since against OSV.
func (c clients) sweep(t *testing.T) {
	t.Helper()
	c.native(t, "POST", "/compliance/sweep", "", http.StatusOK)
}

func TestVulnerabilitiesOfABucketsPackagesAreListedAndSummarised(t *testing.T) {
	c := hcp(t)
	bucket, fingerprint := c.newBucket(t, "vulns"), random("fp")
	_, err := c.createVersion(bucket, fingerprint)
	must(t, "CreateVersion", err)
	created, err := c.createBuild(bucket, fingerprint, "amazon-ebs.app")
	must(t, "CreateBuild", err)
	build := created.Payload.Build.ID
	_, err = c.updateBuild(bucket, fingerprint, build, running())
	must(t, "UpdateBuild RUNNING", err)
	must(t, "UploadSbom", c.uploadSbom(bucket, fingerprint, build, "os", vulnerableSbom, cyclonedx))
	_, err = c.updateBuild(bucket, fingerprint, build, done("aws", random("ami"), "us-east-1"))
	must(t, "UpdateBuild DONE", err)

	before, err := c.bucketVulnerabilities(bucket, nil)
	must(t, "ListBucketVulnerabilities before the sweep", err)
	if len(before.Payload.Vulnerabilities) != 0 {
		t.Fatalf("vulnerabilities before any check: %+v", before.Payload.Vulnerabilities)
	}
	c.sweep(t)

	// Each vulnerability with its rating, its fix, and what it impacts.
	listed, err := c.bucketVulnerabilities(bucket, nil)
	must(t, "ListBucketVulnerabilities", err)
	valid(t, "ListBucketVulnerabilities", listed.Payload)
	want := map[string]string{
		"GHSA-34jh-p97f-mpxf": "Medium MEDIUM 1.26.19 urllib3", "GHSA-35jh-r3h4-6jhm": "High HIGH 4.17.21 lodash",
		"GHSA-v845-jxx5-vc9f": "High HIGH 1.26.17 urllib3", "GHSA-xvch-5gv4-984h": "Critical CRITICAL 1.2.6 minimist"}
	var order []string
	for _, row := range listed.Payload.Vulnerabilities {
		v := row.Vulnerability
		order = append(order, v.Identifier)
		got := strings.Join([]string{v.Criticality, v.Severity, v.FixedVersion, row.ImpactedPackages[0].Name}, " ")
		if got != want[v.Identifier] || len(row.ImpactedPackages) != 1 {
			t.Fatalf("%s: %q, want %q (%+v)", v.Identifier, got, want[v.Identifier], row)
		}
		set(t, v.Identifier+" first_seen_at", v.FirstSeenAt)
		set(t, v.Identifier+" published_at", v.PublishedAt)
		if len(row.ImpactedBuilds) != 1 || row.ImpactedBuilds[0].ID != build || row.ImpactedBuilds[0].Name != "amazon-ebs.app" {
			t.Fatalf("%s impacted builds: %+v", v.Identifier, row.ImpactedBuilds)
		}
		if len(row.ImpactedChannels) != 1 || row.ImpactedChannels[0].Name != "latest" {
			t.Fatalf("%s impacted channels: %+v", v.Identifier, row.ImpactedChannels)
		}
		ulid(t, "channel id", row.ImpactedChannels[0].ID)
	}
	if strings.Join(order, ",") != "GHSA-34jh-p97f-mpxf,GHSA-35jh-r3h4-6jhm,GHSA-v845-jxx5-vc9f,GHSA-xvch-5gv4-984h" {
		t.Fatalf("ListBucketVulnerabilities: %v", order)
	}
	critical, err := c.bucketVulnerabilities(bucket, []string{"Critical"})
	must(t, "ListBucketVulnerabilities criticality=Critical", err)
	if len(critical.Payload.Vulnerabilities) != 1 || critical.Payload.Vulnerabilities[0].Vulnerability.Identifier != "GHSA-xvch-5gv4-984h" {
		t.Fatalf("criticality=Critical: %+v", critical.Payload.Vulnerabilities)
	}

	// The packages that have some, each of its build, with its vulnerabilities.
	packages, err := c.packagesWithVulnerabilities(bucket, nil)
	must(t, "ListBucketPackagesWithVulnerabilities", err)
	valid(t, "ListBucketPackagesWithVulnerabilities", packages.Payload)
	var names []string
	for _, p := range packages.Payload.Packages {
		names = append(names, p.Name)
		if p.BuildID != build || p.BuildName != "amazon-ebs.app" || p.ChannelName != "latest" || len(p.Sboms) != 1 ||
			len(p.VulnDetails) != 1 || len(p.VulnDetails[0].Vulnerabilities) == 0 {
			t.Fatalf("package %+v", p)
		}
		set(t, p.Name+" last_scanned_at", p.VulnDetails[0].LastScannedAt)
	}
	if strings.Join(names, ",") != "lodash,minimist,urllib3" {
		t.Fatalf("ListBucketPackagesWithVulnerabilities: %v", names)
	}
	name := "urllib3"
	one, err := c.packagesWithVulnerabilities(bucket, &name)
	must(t, "ListBucketPackagesWithVulnerabilities package_name", err)
	if len(one.Payload.Packages) != 1 || len(one.Payload.Packages[0].VulnDetails[0].Vulnerabilities) != 2 ||
		one.Payload.Packages[0].VulnDetails[0].Vulnerabilities[0].Identifier != "GHSA-v845-jxx5-vc9f" {
		t.Fatalf("package_name=urllib3: %+v", one.Payload.Packages)
	}

	// The summary: by criticality, by package, by channel.
	summary, err := c.vulnerabilitySummary(bucket)
	must(t, "ListBucketPackagesVulnerabilitySummary", err)
	valid(t, "ListBucketPackagesVulnerabilitySummary", summary.Payload)
	var totals []string
	for _, total := range summary.Payload.TotalByCriticality {
		totals = append(totals, total.Criticality+"="+total.VulnerabilityCount)
	}
	if strings.Join(totals, ",") != "Critical=1,High=2,Medium=1" {
		t.Fatalf("total_by_criticality: %v", totals)
	}
	if p := summary.Payload.PackagesByCriticality[0]; p.PackageName != "minimist" || p.Criticality != "Critical" ||
		p.PackagePurl != "pkg:npm/minimist@1.2.5" || p.VulnerabilityCount != "1" {
		t.Fatalf("packages_by_criticality: %+v", p)
	}
	if len(summary.Payload.ChannelsByCriticality) != 3 || summary.Payload.ChannelsByCriticality[0].ChannelName != "latest" {
		t.Fatalf("channels_by_criticality: %+v", summary.Payload.ChannelsByCriticality)
	}

	_, err = c.bucketVulnerabilities(random("no-such-bucket"), nil)
	wantError(t, "ListBucketVulnerabilities of an unknown bucket", err, 404, 5)
	_, err = c.vulnerabilitySummary(random("no-such-bucket"))
	wantError(t, "ListBucketPackagesVulnerabilitySummary of an unknown bucket", err, 404, 5)
}
