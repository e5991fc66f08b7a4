"""Service principals and `POST /oauth2/token`, as the HCP clients use them (HCP-API-COMPAT.md
§1.2): admins manage client credentials, the token endpoint exchanges them (HTTP Basic with
URL-escaped halves, or form fields) for an access token that works on every route with the
principal's role, and stops working when the principal is deleted or the token expires."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from urllib.parse import quote, urlencode

import pytest

from chalicelib.runtime import aws
from support import ROOT, call, count_calls, mint

FORM = "application/x-www-form-urlencoded"
GRANT = "grant_type=client_credentials&audience=https%3A%2F%2Fapi.hashicorp.cloud"
LISTED = {"client_id", "name", "role", "created_at", "created_by"}


def create(registry, role: str = "contributor", name: str | None = None) -> dict:
    return registry.send("post", "/service-principals", {"name": name or f"packer-{role}", "role": role}, 201)


def basic(client_id: str, secret: str, escape=lambda half: quote(half, safe="")) -> str:
    """HTTP Basic as golang/oauth2 sends it: each half URL-escaped, then base64."""
    return "Basic " + base64.b64encode(f"{escape(client_id)}:{escape(secret)}".encode()).decode()


def every_char_escaped(half: str) -> str:
    """Every character percent-encoded: the server reads this only if it unescapes."""
    return "".join(f"%{byte:02X}" for byte in half.encode())


def token_request(client, body: str | bytes = GRANT, content_type: str | None = FORM,
                  authorization: str | None = None) -> tuple[int, dict, dict]:
    """POST /oauth2/token: (status, JSON body, headers)."""
    headers = {**({"Content-Type": content_type} if content_type else {}),
               **({"Authorization": authorization} if authorization else {})}
    response = client.http.post("/oauth2/token", headers=headers, body=body)
    return response.status_code, json.loads(response.body), response.headers


def access_token(registry, principal: dict) -> str:
    status, body, _ = token_request(registry.client,
                                    authorization=basic(principal["client_id"], principal["client_secret"]))
    assert status == 200, body
    return body["access_token"]


# ---- managing service principals -------------------------------------------------------

def test_a_principal_is_created_listed_and_deleted_and_its_secret_shown_once(registry):
    created = create(registry, "contributor", "packer-ci")
    secret = created["client_secret"]
    assert set(created) == LISTED | {"client_secret"}
    assert (created["name"], created["role"], created["created_by"]) == ("packer-ci", "contributor", "bootstrap-admin")
    assert len(created["client_id"]) == 32 and len(secret) == 64
    assert quote(secret, safe="") == secret  # unchanged by URL escaping: curl -u and golang/oauth2 send the same

    listed = registry.get("/service-principals")
    assert [set(p) for p in listed["items"]] == [LISTED]
    assert listed["items"][0]["client_id"] == created["client_id"]

    gone = registry.send("delete", f"/service-principals/{created['client_id']}")
    assert gone["client_id"] == created["client_id"] and "client_secret" not in gone
    assert registry.get("/service-principals")["items"] == []
    registry.send("delete", f"/service-principals/{created['client_id']}", status=404)

    events = registry.get("/events")["items"]
    assert [e["action"] for e in events][:2] == ["service_principal.deleted", "service_principal.created"]
    assert {e["target"] for e in events[:2]} == {f"service-principal/{created['client_id']}"}
    assert secret not in json.dumps(events) + json.dumps(listed)


def test_the_list_is_paginated_oldest_first(registry):
    names = [create(registry, "viewer", f"p{n}")["name"] for n in range(3)]
    first = registry.get("/service-principals?limit=2")
    assert [p["name"] for p in first["items"]] == names[:2] and first["next_token"]
    rest = registry.get(f"/service-principals?limit=2&next_token={first['next_token']}")
    assert [p["name"] for p in rest["items"]] == names[2:] and "next_token" not in rest


@pytest.mark.parametrize("payload", [{"name": "sweep", "role": "viewer"}, {"name": "Bootstrap-Admin", "role": "admin"},
                                     {"name": "s3:ci", "role": "viewer"}, {"name": "bad name", "role": "viewer"},
                                     {"name": "ci", "role": "root"}, {"name": "ci"},
                                     {"name": "ci", "role": "viewer", "client_secret": "mine"}])
def test_bad_or_reserved_names_and_roles_are_refused(registry, payload):
    assert registry.send("post", "/service-principals", payload, 400)["error"] == "BadRequest"


@pytest.mark.parametrize("role", ["viewer", "contributor"])
def test_only_admins_manage_principals(registry, role):
    existing = create(registry)
    token = mint(registry, role)
    for method, path, payload in [("GET", "/service-principals", None),
                                  ("POST", "/service-principals", {"name": "x", "role": "viewer"}),
                                  ("DELETE", f"/service-principals/{existing['client_id']}", None)]:
        status, body = call(registry.client, method, path, token, payload)
        assert (status, body["error"]) == (403, "Forbidden"), (method, path, body)
        assert "needs the admin role" in body["message"]
    principal_token = access_token(registry, create(registry, "contributor", "sp-contributor"))
    assert call(registry.client, "GET", "/service-principals", principal_token)[0] == 403
    assert len(registry.get("/service-principals")["items"]) == 2


def test_deleting_an_unknown_or_impossible_client_id_is_404(registry):
    registry.send("delete", "/service-principals/" + "0" * 32, status=404)
    registry.send("delete", "/service-principals/not-an-id", status=404)


# ---- the token endpoint -------------------------------------------------------------------

def test_basic_credentials_get_an_access_token_in_exactly_the_oauth_shape(registry):
    principal = create(registry)
    status, body, headers = token_request(registry.client,
                                          authorization=basic(principal["client_id"], principal["client_secret"]))
    assert status == 200
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 3600) and body["access_token"]
    assert headers["Content-Type"] == "application/json" and headers["Cache-Control"] == "no-store"
    assert principal["client_secret"] not in json.dumps(body)


def test_basic_credentials_are_url_unescaped(registry):
    principal = create(registry)
    escaped = basic(principal["client_id"], principal["client_secret"], every_char_escaped)
    status, body, _ = token_request(registry.client, authorization=escaped)
    assert status == 200, body
    assert call(registry.client, "GET", "/whoami", body["access_token"])[1]["name"] == "packer-contributor"


def test_form_fields_get_an_access_token(registry):
    principal = create(registry)
    form = f"{GRANT}&{urlencode({'client_id': principal['client_id'], 'client_secret': principal['client_secret']})}"
    status, body, _ = token_request(registry.client, form)
    assert status == 200, body
    assert call(registry.client, "GET", "/buckets", body["access_token"])[0] == 200


@pytest.mark.parametrize("content_type", [FORM, f"{FORM}; charset=utf-8", "APPLICATION/X-WWW-FORM-URLENCODED", None])
def test_a_form_post_is_never_a_415(registry, content_type):
    principal = create(registry)
    status, body, _ = token_request(registry.client, content_type=content_type,
                                    authorization=basic(principal["client_id"], principal["client_secret"]))
    assert status == 200, (content_type, status, body)


def test_a_json_body_is_tolerated_and_another_media_type_is_an_oauth_400(registry):
    principal = create(registry)
    payload = json.dumps({"grant_type": "client_credentials", "client_id": principal["client_id"],
                          "client_secret": principal["client_secret"]})
    assert token_request(registry.client, payload, "application/json")[0] == 200
    status, body, _ = token_request(registry.client, GRANT, "text/plain",
                                    basic(principal["client_id"], principal["client_secret"]))
    assert (status, body["error"]) == (400, "invalid_request") and FORM in body["error_description"]


def test_wrong_or_missing_credentials_are_401_invalid_client_and_never_echoed(registry):
    principal = create(registry)
    client_id, secret = principal["client_id"], principal["client_secret"]
    wrong = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    for authorization, body in [(basic(client_id, wrong), GRANT), (basic("0" * 32, secret), GRANT),
                                (basic("../../etc", secret), GRANT), (None, GRANT),
                                (None, f"{GRANT}&client_id={client_id}"),
                                (None, f"{GRANT}&{urlencode({'client_id': client_id, 'client_secret': wrong})}"),
                                (f"Bearer {secret}", GRANT)]:
        status, answer, headers = token_request(registry.client, body, authorization=authorization)
        assert (status, set(answer), answer["error"]) == (401, {"error", "error_description"}, "invalid_client"), \
            (authorization, body, answer)
        assert headers["WWW-Authenticate"].startswith("Basic")
        assert secret not in json.dumps(answer) and wrong not in json.dumps(answer)


@pytest.mark.parametrize("body, authorization, error", [
    ("audience=x", "ok", "invalid_request"),
    ("grant_type=password&username=a&password=b", "ok", "unsupported_grant_type"),
    ("grant_type=authorization_code&code=x", "ok", "unsupported_grant_type"),
    (f"{GRANT}&grant_type=client_credentials", "ok", "invalid_request"),
    (GRANT, "Basic !!!not-base64", "invalid_request"),
    (GRANT, "Basic " + base64.b64encode(b"no-colon").decode(), "invalid_request"),
    (GRANT, "Basic " + base64.b64encode(b"\xff\xfe:x").decode(), "invalid_request"),
    (b"grant_type=client_credentials&x=\xff", "ok", "invalid_request"),
    ("&".join(f"p{n}=v" for n in range(50)), "ok", "invalid_request"),
    (f"{GRANT}&client_id=other&client_secret=other", "ok", "invalid_request"),
])
def test_malformed_requests_are_oauth_400s(registry, body, authorization, error):
    principal = create(registry)
    if authorization == "ok":
        authorization = basic(principal["client_id"], principal["client_secret"])
    status, answer, _ = token_request(registry.client, body, authorization=authorization)
    assert (status, answer["error"]) == (400, error), answer
    assert principal["client_secret"] not in json.dumps(answer)


def test_issuing_a_token_writes_nothing_and_checking_one_is_one_getitem(registry):
    principal = create(registry)
    calls = count_calls(aws.client("dynamodb"))
    token = access_token(registry, principal)
    assert calls == ["GetItem"]
    del calls[:]
    assert call(registry.client, "GET", "/whoami", token)[0] == 200
    assert calls == ["GetItem"]


# ---- access tokens on the API ------------------------------------------------------------

def test_an_access_token_acts_with_the_principals_name_and_role(registry):
    principal = create(registry, "contributor", "packer-builds")
    token = access_token(registry, principal)
    status, me = call(registry.client, "GET", "/whoami", token)
    assert (status, me) == (200, {"name": "packer-builds", "role": "contributor", "token_id": principal["client_id"],
                                  "buckets": {}})
    assert call(registry.client, "POST", "/buckets", token, {"name": "from-packer"})[0] == 201
    created = registry.get("/buckets/from-packer/events")["items"]
    assert [(e["action"], e["actor"]) for e in created] == [("bucket.created", "packer-builds")]
    assert call(registry.client, "DELETE", "/buckets/from-packer", token)[0] == 200  # as HCP Packer's Contributor


def test_a_viewer_principal_reads_but_cannot_create_a_bucket(registry):
    token = access_token(registry, create(registry, "viewer"))
    assert call(registry.client, "GET", "/buckets", token)[0] == 200
    status, body = call(registry.client, "POST", "/buckets", token, {"name": "nope"})
    assert status == 403 and "needs the contributor role" in body["message"]


def test_deleting_the_principal_stops_its_access_tokens_at_once(registry):
    principal = create(registry)
    token = access_token(registry, principal)
    assert call(registry.client, "GET", "/buckets", token)[0] == 200
    registry.send("delete", f"/service-principals/{principal['client_id']}")
    status, body = call(registry.client, "GET", "/buckets", token)
    assert (status, body["error"]) == (401, "Unauthorized") and "deleted" in body["message"]
    status, body, _ = token_request(registry.client,
                                    authorization=basic(principal["client_id"], principal["client_secret"]))
    assert (status, body["error"]) == (401, "invalid_client")


def test_an_expired_access_token_is_refused(registry, moved_clock):
    token = access_token(registry, create(registry))
    moved_clock.advance(seconds=3590)
    assert call(registry.client, "GET", "/buckets", token)[0] == 200
    moved_clock.advance(seconds=11)
    status, body = call(registry.client, "GET", "/buckets", token)
    assert status == 401 and "expired" in body["message"] and "/oauth2/token" in body["message"]


def test_an_altered_access_token_is_refused(registry):
    mine, other = create(registry, "viewer", "mine"), create(registry, "admin", "other")
    token = access_token(registry, mine)
    prefix, client_id, expiry, mac = token.split(".")
    flipped = mac[:-2] + ("A" if mac[-2] != "A" else "B") + mac[-1]
    for altered in [f"{prefix}.{client_id}.{expiry}.{flipped}",
                    f"{prefix}.{client_id}.{int(expiry) + 86400}.{mac}",  # a longer life
                    f"{prefix}.{other['client_id']}.{expiry}.{mac}",  # another principal's role
                    f"{prefix}.{client_id}.{expiry}", token + "x", "hcp." + "a" * 500]:
        status, body = call(registry.client, "GET", "/buckets", altered)
        assert (status, body["error"]) == (401, "Unauthorized"), altered
    assert call(registry.client, "GET", "/buckets", token)[0] == 200


def test_the_authorizer_module_loads_no_pydantic():
    """auth.identify runs before every request (the consumer query's too): its module stays light."""
    code = "import sys, chalicelib.services.auth; print(any(m.startswith('pydantic') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"

