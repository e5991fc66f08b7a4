// Package sdk names the hcp-sdk-go packages the Go contract tests use, so that the module keeps
// them in go.mod/go.sum and ../build.sh compiles them once into the shared build cache. The
// contract tests that use them are contract_test.go beside this file.
package sdk

import (
	// The generated HCP Packer client (2023-01-01): the routes of HCP-API-COMPAT.md §5.
	_ "github.com/hashicorp/hcp-sdk-go/clients/cloud-packer-service/stable/2023-01-01/client/packer_service"
	// Organization and project discovery (resource-manager 2019-12-10), as Packer and TFP call it.
	_ "github.com/hashicorp/hcp-sdk-go/clients/cloud-resource-manager/stable/2019-12-10/client/organization_service"
	_ "github.com/hashicorp/hcp-sdk-go/clients/cloud-resource-manager/stable/2019-12-10/client/project_service"
	// Bucket IAM policies (the resource service) and principals (the IAM service), as TFP calls them.
	_ "github.com/hashicorp/hcp-sdk-go/clients/cloud-iam/stable/2019-12-10/client/iam_service"
	_ "github.com/hashicorp/hcp-sdk-go/clients/cloud-resource-manager/stable/2019-12-10/client/resource_service"
	// The SDK's own configuration from HCP_* variables and its HTTP client (token source included).
	_ "github.com/hashicorp/hcp-sdk-go/config"
	_ "github.com/hashicorp/hcp-sdk-go/httpclient"
)
