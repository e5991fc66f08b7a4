#!/usr/bin/env bash
# Usage: [DOMAIN_NAME=packer.example.com CERTIFICATE_ARN=arn:aws:acm:...] scripts/deploy.sh STAGE
#   (STAGE: dev or prod; uses the caller's AWS credentials and region)
#
# 1. `aws cloudformation deploy` of deploy/resources.yaml as stack
#    packer-registry-resources-STAGE: the table, the manifest bucket and the EventBridge
#    bus, kept apart from the app so that `chalice delete` or a bad app deploy never
#    touches data.
# 2. Wiring. The bucket's real name comes from the stack (by default
#    packer-manifests-STAGE-ACCOUNT-REGION, since bucket names are global), but Chalice
#    reads it from files: the stage's environment_variables in .chalice/config.json and
#    the ARNs in .chalice/policy-STAGE.json. scripts/wire_stage.py rewrites both in place
#    from the stack outputs (table, bucket and bus ARNs; the region and account of the
#    SSM parameter and KMS ARNs, taken from the table ARN). The rewrite is idempotent and
#    the files stay plain, hand-readable JSON that `chalice deploy` uses as is; no
#    template/generated-file pair to keep in sync. The committed files carry placeholder
#    names (packer-manifests-STAGE, `*` for region and account); after a deploy they
#    show what was deployed, and committing that is optional.
# 3. The bootstrap admin token: the SSM SecureString parameter named by the stage's
#    REGISTRY_ADMIN_TOKEN_PARAM (/packer-registry/STAGE/admin-token). CloudFormation
#    cannot create SecureString parameters, hence this script. It is created only when
#    missing (put-parameter without --overwrite, so an existing token is never replaced),
#    with a random value that is printed once: keep it, nothing else shows it again.
#    Created before the app, so the API never runs without it. The key page tokens are
#    sealed with (REGISTRY_SIGNING_KEY_PARAM, /packer-registry/STAGE/signing-key) is made
#    the same way, and never printed: nobody needs to know it, and replacing it only makes
#    clients that are paging through a list start again from its first page.
# 4. app.py reads MANIFEST_BUCKET at import time for @app.on_s3_event, which is how
#    `chalice deploy` learns which bucket to subscribe to. Chalice sets the stage's
#    environment_variables (now the real bucket) before importing app.py; the script
#    exports the same value as well so it holds whatever Chalice version runs.
# 4b. The custom domain, when DOMAIN_NAME and CERTIFICATE_ARN are given (both or neither):
#    wire_stage.py --custom-domain checks them and sets the stage's api_gateway_custom_domain
#    (url_prefix "/": the API at the domain's root, no stage prefix), so chalice deploy
#    creates the API Gateway domain name and its base path mapping. The HCP Packer clients
#    need that: they call the API and /oauth2/token at the host root, over HTTPS. The
#    certificate is an ACM one covering DOMAIN_NAME, in us-east-1 (the stage's API is
#    edge-optimized, Chalice's default) or, for a stage set to "api_gateway_endpoint_type":
#    "REGIONAL", in the deploy region. Without them the stage config is left as it is: a
#    stage deployed without a domain stays so, and one given a domain before keeps it
#    (.chalice/config.json holds it; delete the key to remove the domain). DNS is the
#    user's: chalice deploy prints the AliasDomainName to point DOMAIN_NAME at.
# 5. `chalice deploy --stage STAGE`; its state goes to .chalice/deployed/ (gitignored):
#    keep that directory for later deploys from this checkout.
# 6. Gateway responses. Some errors come from API Gateway itself, before any registry
#    code runs: no Authorization header (UNAUTHORIZED), an unknown path or method
#    (MISSING_AUTHENTICATION_TOKEN, which API Gateway answers with 403 and, when the
#    request has an Authorization header, a signing message that quotes the header back),
#    throttling, bad request bodies, integration failures. They are set to answer in the
#    registry's shape {"error": "...", "message": "..."}, on the REST API whose id chalice
#    deploy wrote to .chalice/deployed/STAGE.json, then the API is redeployed to its stage
#    so they take effect. Redone on every run: chalice deploy rewrites the API definition.
#    No 4xx body carries API Gateway's own message ($context.error.messageString) except
#    ACCESS_DENIED's, which is the authorizer's: a message may quote the request's headers,
#    and no response may echo a credential. The HCP API's paths (/packer/, /resource-manager/,
#    /2019-12-10/) never get the first two: no authorizer stands before them and their tree is
#    filled with routes for every method and a {proxy+} catch-all (chalicelib/api/hcp/unserved.py),
#    so their code answers in the HCP error shape.
#
# Rotating the bootstrap admin token (STAGE = dev or prod):
#   aws ssm put-parameter --overwrite --type SecureString \
#     --name /packer-registry/STAGE/admin-token \
#     --value="$(python -c 'import secrets; print(secrets.token_urlsafe(32))')"
#   (`--value=` rather than `--value `: a token may start with "-"). The authorizer
#   Lambda reads the parameter once per container and caches it, so the old token keeps
#   working in warm containers until their next cold start. Either wait for them to be
#   recycled (no fixed bound; typically minutes to hours of idleness), or, after a leak,
#   force new containers by changing the authorizer's configuration:
#     aws lambda update-function-configuration \
#       --function-name packer-registry-STAGE-registry_auth \
#       --description "admin token rotated $(date -u +%Y-%m-%dT%H:%M:%SZ)"
#   This script never rotates it: it only creates the parameter when it is missing.
set -euo pipefail

STAGE="${1:?usage: $0 STAGE (dev|prod)}"
case "$STAGE" in
  dev | prod) ;;
  *) echo "error: unknown stage '$STAGE' (expected dev or prod)" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."
STACK="packer-registry-resources-$STAGE"
DOMAIN_NAME="${DOMAIN_NAME:-}" CERTIFICATE_ARN="${CERTIFICATE_ARN:-}"
if { [ -n "$DOMAIN_NAME" ] && [ -z "$CERTIFICATE_ARN" ]; } || { [ -z "$DOMAIN_NAME" ] && [ -n "$CERTIFICATE_ARN" ]; }; then
  echo "error: give DOMAIN_NAME and CERTIFICATE_ARN together (the custom domain and its ACM certificate)," >&2
  echo "       e.g. make deploy DOMAIN_NAME=packer.example.com CERTIFICATE_ARN=arn:aws:acm:us-east-1:...," >&2
  echo "       or neither (no custom domain change)." >&2
  exit 2
fi

if ! aws sts get-caller-identity --output text --query Account >/dev/null 2>&1; then
  echo "error: no usable AWS credentials (aws sts get-caller-identity failed)." >&2
  echo "       Configure credentials (AWS_PROFILE, aws sso login, ...) and retry." >&2
  exit 1
fi
REGION="${AWS_REGION:-${AWS_DEFAULT_REGION:-$(aws configure get region || true)}}"
if [ -z "$REGION" ]; then
  echo "error: no AWS region: set AWS_REGION or configure a default region." >&2
  exit 1
fi
# Same region for the aws CLI and for Chalice's boto3 session.
export AWS_DEFAULT_REGION="$REGION" AWS_REGION="$REGION"

# --- the custom domain (optional; checked before anything is deployed) ------------------
if [ -n "$DOMAIN_NAME" ]; then
  python scripts/wire_stage.py --custom-domain "$STAGE" "$DOMAIN_NAME" "$CERTIFICATE_ARN" "$REGION"
  echo "==> custom domain $DOMAIN_NAME (certificate $CERTIFICATE_ARN) set on stage $STAGE"
fi

# stage_env NAME: the stage's environment variable NAME from .chalice/config.json.
stage_env() {
  python -c 'import json, sys
print(json.load(open(".chalice/config.json"))["stages"][sys.argv[1]]["environment_variables"][sys.argv[2]])' \
    "$STAGE" "$1"
}

echo "==> stack $STACK in $REGION"
aws cloudformation deploy \
  --template-file deploy/resources.yaml \
  --stack-name "$STACK" \
  --parameter-overrides "Stage=$STAGE" \
  --no-fail-on-empty-changeset

OUTPUTS="$(aws cloudformation describe-stacks --stack-name "$STACK" \
  --query 'Stacks[0].Outputs' --output json)"
python scripts/wire_stage.py "$STAGE" "$OUTPUTS"

# ensure_secret NAME DESCRIPTION: create the SSM SecureString parameter NAME with a random
# value when it is missing, and set CREATED to that value ("" when NAME already exists).
# describe-parameters answers 0 for a missing parameter and fails (set -e) on anything
# else, such as missing permissions, so "missing" is never confused with "unreadable".
# No --overwrite: should the parameter appear meanwhile, this fails instead of replacing it.
ensure_secret() {
  local found
  found="$(aws ssm describe-parameters \
    --parameter-filters "Key=Name,Option=Equals,Values=$1" \
    --query 'length(Parameters)' --output text)"
  CREATED=""
  if [ "$found" = "0" ]; then
    CREATED="$(python -c 'import secrets; print(secrets.token_urlsafe(32))')"
    aws ssm put-parameter --type SecureString --name "$1" --value="$CREATED" --description "$2" >/dev/null
  fi
}

# --- the bootstrap admin token -----------------------------------------------------------
TOKEN_PARAM="$(stage_env REGISTRY_ADMIN_TOKEN_PARAM)"
ensure_secret "$TOKEN_PARAM" "packer-registry $STAGE bootstrap admin token (created by scripts/deploy.sh)"
if [ -n "$CREATED" ]; then
  cat <<EOF
==> created SSM SecureString parameter $TOKEN_PARAM
    The bootstrap admin token for stage $STAGE is printed this once; keep it (a password
    manager), as nothing else shows it. Use it as "Authorization: Bearer <token>" to
    create personal tokens (POST /tokens), then keep it for emergencies.

    $CREATED

EOF
else
  echo "==> admin token parameter $TOKEN_PARAM exists; left as it is"
fi

# --- the key page tokens are sealed with (never printed) ---------------------------------
KEY_PARAM="$(stage_env REGISTRY_SIGNING_KEY_PARAM)"
ensure_secret "$KEY_PARAM" "packer-registry $STAGE page-token signing key (created by scripts/deploy.sh)"
if [ -n "$CREATED" ]; then
  echo "==> created SSM SecureString parameter $KEY_PARAM (the key page tokens are sealed with)"
else
  echo "==> signing key parameter $KEY_PARAM exists; left as it is"
fi
unset CREATED

# --- the app -------------------------------------------------------------------------------
MANIFEST_BUCKET="$(stage_env MANIFEST_BUCKET)"
export MANIFEST_BUCKET
echo "==> chalice deploy --stage $STAGE (table/bucket/bus from $STACK, bucket $MANIFEST_BUCKET)"
chalice deploy --stage "$STAGE"

# --- API Gateway's own errors in the registry's JSON shape ------------------------------
DEPLOYED=".chalice/deployed/$STAGE.json"
REST_API_ID="$(python - "$DEPLOYED" <<'EOF'
import json, sys
try:
    resources = json.load(open(sys.argv[1]))["resources"]
except (OSError, ValueError, KeyError) as exc:
    sys.exit(f"error: cannot read the deployed REST API from {sys.argv[1]}: {exc}")
ids = [r["rest_api_id"] for r in resources if r.get("resource_type") == "rest_api"]
if len(ids) != 1:
    sys.exit(f"error: {sys.argv[1]} names {len(ids)} REST APIs, expected 1")
print(ids[0])
EOF
)"
API_STAGE="$(python -c 'import json, sys
print(json.load(open(".chalice/config.json"))["stages"][sys.argv[1]].get("api_gateway_stage", "api"))' "$STAGE")"

# gateway_response TYPE STATUS TEMPLATE: STATUS "" keeps API Gateway's own status code.
# TEMPLATE is a mapping template: $context.error.messageString is API Gateway's message
# already as a quoted JSON string, so it goes in unquoted; $context.error.responseType is
# the response type (THROTTLED, BAD_REQUEST_BODY, INTEGRATION_TIMEOUT, ...).
gateway_response() {
  local templates
  templates="$(python -c 'import json, sys; print(json.dumps({"application/json": sys.argv[1]}))' "$3")"
  local args=(--rest-api-id "$REST_API_ID" --response-type "$1" --response-templates "$templates")
  if [ -n "$2" ]; then args+=(--status-code "$2"); fi
  aws apigateway put-gateway-response "${args[@]}" >/dev/null
}

echo "==> gateway responses on REST API $REST_API_ID"
# Same body as the app's own 401 and chalicelib.services.auth.local_gateway_responses().
gateway_response UNAUTHORIZED 401 \
  '{"error":"Unauthorized","message":"a valid bearer token is required: send Authorization: Bearer <token>"}'
# shellcheck disable=SC2016 # $context.* is API Gateway's, not the shell's
gateway_response ACCESS_DENIED 403 \
  '{"error":"Forbidden","message":$context.error.messageString}'
# API Gateway's answer for a path (or method) no route has: 403 "Missing Authentication
# Token" by default (quoting the Authorization header when there is one), which misleads;
# the registry answers a missing thing with 404. Same body as local/runner.py NO_SUCH_ROUTE.
gateway_response MISSING_AUTHENTICATION_TOKEN 404 \
  '{"error":"NotFound","message":"no such route: GET /openapi.json lists the API'"'"'s routes"}'
# The rest: many causes each, so the error names API Gateway's response type; the message
# is fixed text (API Gateway's own may quote request headers).
# shellcheck disable=SC2016 # $context.* is API Gateway's, not the shell's
gateway_response DEFAULT_4XX "" \
  '{"error":"$context.error.responseType","message":"refused by API Gateway before reaching the registry: $context.error.responseType"}'
# shellcheck disable=SC2016 # $context.* is API Gateway's, not the shell's
gateway_response DEFAULT_5XX "" \
  '{"error":"$context.error.responseType","message":$context.error.messageString}'
aws apigateway create-deployment --rest-api-id "$REST_API_ID" --stage-name "$API_STAGE" \
  --description "gateway responses (scripts/deploy.sh)" >/dev/null
echo "==> deployed stage $STAGE; gateway responses live on stage $API_STAGE"

DOMAIN="$(python -c 'import json, sys
print(json.load(open(".chalice/config.json"))["stages"][sys.argv[1]].get("api_gateway_custom_domain", {}).get("domain_name", ""))' "$STAGE")"
if [ -n "$DOMAIN" ]; then
  cat <<EOF
==> custom domain $DOMAIN: point its DNS at the AliasDomainName chalice deploy printed above
    (a Route 53 alias record, or a CNAME). Packer and Terraform then reach the registry with
    HCP_API_ADDRESS=$DOMAIN HCP_AUTH_URL=https://$DOMAIN
EOF
fi
