"""Actor names are not identities (issue 22, item 5): token and service principal names are
unique across both kinds whatever their case (a 409 names the credential holding one), a
registry from before keeps its duplicates working while the sweep claims the oldest's name,
and every audit event says who acted by `actor_id` beside `actor`, never with a secret."""

from __future__ import annotations

import json
import secrets

from chalicelib.services import auth
from chalicelib.storage import entities, table
from support import call, manifest, sweep

FORM = "application/x-www-form-urlencoded"


def principal(registry, name: str, role: str = "contributor", status: int = 201) -> dict:
    return registry.send("post", "/service-principals", {"name": name, "role": role}, status)


def token(registry, name: str, role: str = "contributor", status: int = 201) -> dict:
    return registry.send("post", "/tokens", {"name": name, "role": role}, status)


def access_token(registry, created: dict) -> str:
    """A service principal's access token from POST /oauth2/token (form fields)."""
    body = f"grant_type=client_credentials&client_id={created['client_id']}&client_secret={created['client_secret']}"
    response = registry.client.http.post("/oauth2/token", headers={"Content-Type": FORM}, body=body)
    return json.loads(response.body)["access_token"]


def names(registry) -> list[str]:
    return sorted(c["name"] for path in ("/tokens", "/service-principals") for c in registry.all_pages(path))


def test_names_are_unique_across_tokens_and_service_principals_whatever_their_case(registry):
    ci = token(registry, "packer-ci")
    tf = principal(registry, "terraform")
    for path, name in (("/tokens", "Packer-CI"), ("/service-principals", "PACKER-ci")):
        refused = registry.send("post", path, {"name": name, "role": "viewer"}, 409)
        assert f"token 'packer-ci' (id {ci['id']}) has it" in refused["message"], refused
        assert repr(name) in refused["message"] and "whatever their case" in refused["message"]
    refused = registry.send("post", "/tokens", {"name": "Terraform", "role": "viewer"}, 409)
    assert f"service principal 'terraform' (client_id {tf['client_id']}) has it" in refused["message"], refused
    assert names(registry) == ["packer-ci", "terraform"]  # the refused ones left nothing behind
    assert [e["action"] for e in registry.all_pages("/events")] == ["service_principal.created", "token.created"]

    registry.send("delete", f"/tokens/{ci['id']}")  # frees the name, for either kind
    principal(registry, "Packer-CI")
    registry.send("delete", f"/service-principals/{tf['client_id']}")
    token(registry, "TERRAFORM")
    assert names(registry) == ["Packer-CI", "TERRAFORM"]


def legacy_token(name: str, created_at: str) -> tuple[str, str]:
    """A token as a release from before name claims wrote it (no claim, not marked): (id, secret)."""
    token_id = secrets.token_hex(8)
    secret = f"{token_id}.{secrets.token_urlsafe(32)}"
    table.put(entities.Token(id=token_id, name=name, role="contributor", hash=auth.hash_secret(secret),
                             created_at=created_at, created_by="bootstrap-admin").to_item())
    return token_id, secret


def test_an_older_registrys_duplicate_names_keep_working_and_the_sweep_claims_the_oldests(registry):
    older, older_secret = legacy_token("release-bot", "2025-01-01T00:00:00Z")
    younger, younger_secret = legacy_token("Release-Bot", "2025-02-01T00:00:00Z")
    sweep(registry)  # claims the names of credentials from before name claims, oldest first

    refused = registry.send("post", "/service-principals", {"name": "RELEASE-BOT", "role": "viewer"}, 409)
    assert f"token 'release-bot' (id {older}) has it" in refused["message"], refused
    for secret, actor_id in ((older_secret, older), (younger_secret, younger)):  # both keep working
        assert call(registry.client, "GET", "/whoami", secret)[1]["token_id"] == actor_id
        assert call(registry.client, "POST", "/buckets", secret, {"name": f"b{actor_id}"})[0] == 201
        (created,) = registry.all_pages(f"/buckets/b{actor_id}/events")
        assert (created["actor"], created["actor_id"]) == (("release-bot", older) if actor_id == older
                                                           else ("Release-Bot", younger))

    registry.send("delete", f"/tokens/{younger}")  # the duplicate holds no name: deleting it frees none
    token(registry, "release-bot", status=409)
    registry.send("delete", f"/tokens/{older}")
    token(registry, "release-bot")


def test_every_event_says_who_acted_by_id_beside_the_name(registry):
    first = token(registry, "ci")
    registry.as_token(first["secret"]).send("post", "/buckets", {"name": "one"}, 201)
    registry.send("delete", f"/tokens/{first['id']}")
    second = token(registry, "ci")  # the same name, another identity
    registry.as_token(second["secret"]).send("post", "/buckets", {"name": "two"}, 201)
    hcp = principal(registry, "packer")
    registry.as_token(access_token(registry, hcp)).send("post", "/buckets", {"name": "three"}, 201)
    registry.upload("one/m.json", manifest({"packer_run_uuid": "r1"}))

    def who(bucket: str, action: str) -> tuple[str, str]:
        event = next(e for e in registry.all_pages(f"/buckets/{bucket}/events") if e["action"] == action)
        return event["actor"], event["actor_id"]

    assert who("one", "bucket.created") == ("ci", first["id"])
    assert who("two", "bucket.created") == ("ci", second["id"])
    assert who("three", "bucket.created") == ("packer", hcp["client_id"])
    assert who("one", "version.created") == ("s3:one/m.json", "s3:one/m.json")  # the registry's own: themselves
    trail = registry.all_pages("/events")
    assert {(e["action"], e["actor"], e["actor_id"]) for e in trail} == {
        ("token.created", "bootstrap-admin", "bootstrap-admin"), ("token.deleted", "bootstrap-admin", "bootstrap-admin"),
        ("service_principal.created", "bootstrap-admin", "bootstrap-admin")}
    everything = json.dumps([trail] + [registry.all_pages(f"/buckets/{b}/events") for b in ("one", "two", "three")])
    for secret in (first["secret"], second["secret"], hcp["client_secret"]):
        assert secret.split(".")[-1] not in everything


def test_what_a_bulk_revocation_job_revokes_is_recorded_with_its_creators_id(registry):
    registry.upload("web/m.json", manifest(*({"packer_run_uuid": f"r{n}", "custom_data": {"os": "debian"}}
                                             for n in range(3))))
    release = token(registry, "release-bot")
    registry.as_token(release["secret"]).send("post", "/buckets/web/revocations",
                                              {"reason": "CVE", "filter": {"labels": {"os": "debian"}}}, 202)
    sweep(registry)
    revoked = [e for e in registry.all_pages("/buckets/web/events") if e["action"] == "version.revoked"]
    assert len(revoked) == 3
    assert {(e["actor"], e["actor_id"]) for e in revoked} == {("release-bot", release["id"])}

