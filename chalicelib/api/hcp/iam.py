"""Bucket access as terraform-provider-hcp manages it (`hcp_packer_bucket_iam_policy`,
`hcp_packer_bucket_iam_binding`): the resource manager's IAM policy of a bucket and the IAM
service's principals, over the registry's own bucket policies (services/access.py).

- `GET /2019-12-10/resource-manager/resources/iam-policy?resource_name=packer/project/<p>/bucket/<b>`
  answers `{"policy": {"bindings": [{"role_id": "roles/viewer", "members": [{"member_id",
  "member_type"}]}], "etag"}}`; `PUT` of the same path takes `{"resource_name", "policy"}` and
  answers the policy set. A stale etag is HTTP 409 code 10 (ABORTED), the conflict the
  provider's binding batcher retries on.
- `GET /iam/2019-12-10/organizations/{organization_id}/principals?principal_ids=…`
  (BatchGetPrincipals) answers each id's kind, which the provider needs before it binds one.

Members are the registry's tokens (`USER`: a person's or a pipeline's credential) and service
principals (`SERVICE_PRINCIPAL`), named by id as the native API names them; groups do not exist
here (a `GROUP` member is a 400). Reading a bucket's policy needs `viewer` on the bucket,
changing it `admin` (the project's, or a binding as admin of the bucket); both are judged on
the bucket `resource_name` names before anything is read (roles.require).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .. import roles
from ...domain import access as who, names
from ...domain.access import BUCKET_ROLES, SERVICE_PRINCIPAL, TOKEN, member_kind
from ...domain.enums import Role
from ...errors import BadRequest, NotFound
from ...services import access, identity
from ...storage import entities
from .errors import InvalidField
from .requests import Body, snake_keys, text

ROLE_PREFIX = "roles/"
MEMBER_TYPES = {TOKEN: "USER", SERVICE_PRINCIPAL: "SERVICE_PRINCIPAL"}
PRINCIPAL_TYPES = {TOKEN: "PRINCIPAL_TYPE_USER", SERVICE_PRINCIPAL: "PRINCIPAL_TYPE_SERVICE"}
_RESOURCE = re.compile(r"packer/project/([^/]+)/bucket/([^/]+)")
Json = dict[str, Any]


def get_policy(resource_name: str | None) -> Json:
    """GetIamPolicy of a bucket: 1 call (the bucket and its policy)."""
    bucket = _bucket(resource_name, Role.VIEWER)
    with _hcp_words(bucket):
        return {"policy": _policy(access.read(bucket))}


def set_policy(data: Body, actor: str) -> Json:
    """SetIamPolicy of a bucket (services/access.py set_policy: 3 calls)."""
    bucket = _bucket(text(data, "resource_name"), Role.ADMIN)
    policy = data.get("policy") or {}
    if not isinstance(policy, dict):
        raise InvalidField("body.policy", "policy must be an object")
    policy = snake_keys(policy)
    with _hcp_words(bucket):
        saved = access.set_policy(bucket, _roles(policy.get("bindings")), text(policy, "etag"), actor)
    return {"policy": _policy(saved)}


def principals(ids: list[str]) -> Json:
    """BatchGetPrincipals: each id's principal (one BatchGetItem); 404 (code 5) naming the
    first unknown one (the provider would dereference a missing one)."""
    found = access.members(ids)
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound(f"principal {missing[0][:80]!r} not found: not a token id nor a service principal's client_id "
                       "of this registry")
    here = identity.location()
    return {"principals": [_principal(found[i], here) for i in dict.fromkeys(ids)]}


def _bucket(resource_name: str | None, needed: Role) -> str:
    """The bucket a `resource_name` names (packer/project/<project id>/bucket/<name>), once
    the caller is known to hold `needed` on it (a 403 before anything is read)."""
    if not resource_name:
        raise InvalidField("resource_name", "resource_name is required: packer/project/<project id>/bucket/<bucket>")
    match = _RESOURCE.fullmatch(resource_name)
    if not match or match.group(1) != identity.location().project_id:
        raise NotFound(f"no resource {resource_name[:200]!r}: the IAM policies served are the buckets' of this "
                       "project, packer/project/<project id>/bucket/<bucket name>")
    bucket = match.group(2)
    roles.require(who.caller(), bucket, needed)
    if names.bad_path_parameter({"bucket": bucket}):
        raise NotFound(f"The bucket with identifier {bucket[:200]} does not exist.")
    return bucket


@contextmanager
def _hcp_words(bucket: str) -> Iterator[None]:
    """A missing bucket's 404 as HCP Packer words it."""
    try:
        yield
    except NotFound:
        raise NotFound(f"The bucket with identifier {bucket} does not exist.") from None


def _policy(policy: entities.BucketAccess | None) -> Json:
    bindings = policy.roles if policy else {}
    return {"bindings": [{"role_id": f"{ROLE_PREFIX}{role}",
                          "members": [{"member_id": m, "member_type": MEMBER_TYPES[member_kind(m) or TOKEN]}
                                      for m in bindings[role]]}
                         for role in BUCKET_ROLES if bindings.get(role)],
            "etag": access.etag(policy)}


def _roles(bindings: Any) -> access.Roles:
    """The request's bindings as role → member ids, each member's type checked against its id."""
    if bindings is None:
        return {}
    if not isinstance(bindings, list):
        raise InvalidField("body.policy.bindings", "bindings must be a list")
    found: access.Roles = {}
    for binding in bindings:
        binding = snake_keys(binding) if isinstance(binding, dict) else {}
        role_id = text(binding, "role_id") or ""
        if not role_id.startswith(ROLE_PREFIX):
            raise InvalidField("body.policy.bindings.role_id", f"role_id {role_id[:80]!r} is not one of "
                               "roles/viewer, roles/contributor, roles/admin")
        members = binding.get("members") or []
        if not isinstance(members, list):
            raise InvalidField("body.policy.bindings.members", "members must be a list")
        found.setdefault(role_id.removeprefix(ROLE_PREFIX), []).extend(_member(m) for m in members)
    return found


def _member(member: Any) -> str:
    member = snake_keys(member) if isinstance(member, dict) else {}
    member_id, member_type = text(member, "member_id") or "", text(member, "member_type")
    kind = member_kind(member_id)
    if kind and member_type not in (None, "", "UNSET", MEMBER_TYPES[kind]):
        raise BadRequest(f"member {member_id} is a {kind.replace('_', ' ')} of this registry: its member_type is "
                         f"{MEMBER_TYPES[kind]}, not {member_type[:40]!r} (groups do not exist here)")
    return member_id


def _principal(credential: entities.Token | entities.ServicePrincipal, here: entities.Location) -> Json:
    if isinstance(credential, entities.Token):
        return {"id": credential.id, "type": PRINCIPAL_TYPES[TOKEN], "group_ids": [],
                "user": {"id": credential.id, "full_name": credential.name}}
    return {"id": credential.client_id, "type": PRINCIPAL_TYPES[SERVICE_PRINCIPAL], "group_ids": [],
            "service": {"id": credential.client_id, "name": credential.name, "created_at": credential.created_at,
                        "organization_id": here.organization_id, "project_id": here.project_id,
                        "resource_name": f"iam/project/{here.project_id}/service-principal/{credential.name}"}}
