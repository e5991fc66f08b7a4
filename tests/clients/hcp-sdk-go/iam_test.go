// Contract tests of bucket access (issue 23, item 3): the resource manager's GetIamPolicy and
// SetIamPolicy of a bucket and the IAM service's BatchGetPrincipals, as terraform-provider-hcp's
// hcp_packer_bucket_iam_policy and hcp_packer_bucket_iam_binding call them, with the SDK's
// generated clients judging the wire format and each payload's Validate.
package sdk_test

import (
	"os"
	"testing"

	iamsvc "github.com/hashicorp/hcp-sdk-go/clients/cloud-iam/stable/2019-12-10/client/iam_service"
	iamm "github.com/hashicorp/hcp-sdk-go/clients/cloud-iam/stable/2019-12-10/models"
	rs "github.com/hashicorp/hcp-sdk-go/clients/cloud-resource-manager/stable/2019-12-10/client/resource_service"
	rmm "github.com/hashicorp/hcp-sdk-go/clients/cloud-resource-manager/stable/2019-12-10/models"
	"github.com/hashicorp/hcp-sdk-go/httpclient"
)

// iamClients are the resource manager's resource service and the IAM service, on the same
// configuration as the Packer client (hcp()).
func iamClients(t *testing.T) (clients, rs.ClientService, iamsvc.ClientService) {
	t.Helper()
	c := hcp(t)
	runtime, err := httpclient.New(httpclient.Config{HCPConfig: c.config, SourceChannel: "registry-contract-tests"})
	must(t, "the SDK's HTTP client", err)
	return c, rs.New(runtime, nil), iamsvc.New(runtime, nil)
}

func getPolicy(t *testing.T, resources rs.ClientService, resource string) *rmm.HashicorpCloudResourcemanagerPolicy {
	t.Helper()
	p := rs.NewResourceServiceGetIamPolicyParams()
	p.ResourceName = &resource
	got, err := resources.ResourceServiceGetIamPolicy(p, nil)
	must(t, "GetIamPolicy "+resource, err)
	valid(t, "GetIamPolicy", got.Payload)
	if got.Payload.Policy == nil {
		t.Fatalf("GetIamPolicy %s: no policy", resource)
	}
	return got.Payload.Policy
}

func setPolicy(resources rs.ClientService, resource string, policy *rmm.HashicorpCloudResourcemanagerPolicy) (*rs.ResourceServiceSetIamPolicyOK, error) {
	p := rs.NewResourceServiceSetIamPolicyParams()
	p.Body = &rmm.HashicorpCloudResourcemanagerResourceSetIamPolicyRequest{ResourceName: resource, Policy: policy}
	return resources.ResourceServiceSetIamPolicy(p, nil)
}

// TestABucketIamPolicyIsReadSetAndGuardedByItsEtag runs as an admin (tests/e2e/test_hcp_contract.py AS_ADMIN).
func TestABucketIamPolicyIsReadSetAndGuardedByItsEtag(t *testing.T) {
	c, resources, iam := iamClients(t)
	bucket := c.newBucket(t, "iam")
	resource := "packer/project/" + c.project + "/bucket/" + bucket
	self := os.Getenv("HCP_CLIENT_ID")

	empty := getPolicy(t, resources, resource)
	if len(empty.Bindings) != 0 || empty.Etag == "" {
		t.Fatalf("a new bucket's policy: want no bindings and an etag, got %+v", empty)
	}

	// What the binding resource asks before it binds a principal: its kind.
	p := iamsvc.NewIamServiceBatchGetPrincipalsParams()
	view := string(iamm.HashicorpCloudIamPrincipalViewPRINCIPALVIEWBASIC)
	p.OrganizationID, p.PrincipalIds, p.View = c.org, []string{self}, &view
	principals, err := iam.IamServiceBatchGetPrincipals(p, nil)
	must(t, "BatchGetPrincipals", err)
	valid(t, "BatchGetPrincipals", principals.Payload)
	if len(principals.Payload.Principals) != 1 || principals.Payload.Principals[0].ID != self ||
		*principals.Payload.Principals[0].Type != iamm.HashicorpCloudIamPrincipalTypePRINCIPALTYPESERVICE {
		t.Fatalf("BatchGetPrincipals %s: %+v", self, principals.Payload.Principals)
	}
	p.PrincipalIds = []string{"0123456789abcdef"}
	_, err = iam.IamServiceBatchGetPrincipals(p, nil)
	wantError(t, "BatchGetPrincipals of an unknown id", err, 404, 5)

	member := rmm.HashicorpCloudResourcemanagerPolicyBindingMemberTypeSERVICEPRINCIPAL
	binding := &rmm.HashicorpCloudResourcemanagerPolicyBinding{RoleID: "roles/admin",
		Members: []*rmm.HashicorpCloudResourcemanagerPolicyBindingMember{{MemberID: self, MemberType: &member}}}
	set, err := setPolicy(resources, resource, &rmm.HashicorpCloudResourcemanagerPolicy{
		Bindings: []*rmm.HashicorpCloudResourcemanagerPolicyBinding{binding}, Etag: empty.Etag})
	must(t, "SetIamPolicy", err)
	valid(t, "SetIamPolicy", set.Payload)
	got := getPolicy(t, resources, resource)
	if got.Etag == empty.Etag || got.Etag != set.Payload.Policy.Etag || len(got.Bindings) != 1 ||
		got.Bindings[0].RoleID != "roles/admin" || got.Bindings[0].Members[0].MemberID != self ||
		*got.Bindings[0].Members[0].MemberType != member {
		t.Fatalf("the policy read back: %+v (set: %+v)", got, set.Payload.Policy)
	}

	_, err = setPolicy(resources, resource, &rmm.HashicorpCloudResourcemanagerPolicy{Etag: empty.Etag})
	wantError(t, "SetIamPolicy with a stale etag", err, 409, 10)
	cleared, err := setPolicy(resources, resource, &rmm.HashicorpCloudResourcemanagerPolicy{Etag: got.Etag})
	must(t, "SetIamPolicy of no bindings", err)
	if len(cleared.Payload.Policy.Bindings) != 0 {
		t.Fatalf("the cleared policy: %+v", cleared.Payload.Policy)
	}

	missing := "packer/project/" + c.project + "/bucket/" + random("no-such-bucket")
	params := rs.NewResourceServiceGetIamPolicyParams()
	params.ResourceName = &missing
	_, err = resources.ResourceServiceGetIamPolicy(params, nil)
	wantError(t, "GetIamPolicy of a missing bucket", err, 404, 5)
}

// TestAContributorReadsABucketIamPolicyButCannotSetIt runs as Packer's contributor.
func TestAContributorReadsABucketIamPolicyButCannotSetIt(t *testing.T) {
	c, resources, _ := iamClients(t)
	bucket := c.newBucket(t, "iam-contributor")
	resource := "packer/project/" + c.project + "/bucket/" + bucket
	policy := getPolicy(t, resources, resource)
	_, err := setPolicy(resources, resource, &rmm.HashicorpCloudResourcemanagerPolicy{Etag: policy.Etag})
	wantError(t, "SetIamPolicy as a contributor", err, 403, 7)
}
