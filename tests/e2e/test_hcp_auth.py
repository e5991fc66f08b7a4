"""`make run`'s HTTPS token endpoint, as the HCP clients reach it: `POST /oauth2/token` over TLS
on HCP_AUTH_PORT (a self-signed certificate, not verified: `HCP_AUTH_TLS=insecure`) with
URL-escaped HTTP Basic credentials, the access token then used on the plain-HTTP API; the
certificate and the access token both survive a restart."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import socket
import ssl
from pathlib import Path
from urllib.parse import quote

from product import Product, start_product

TOKEN = "hcp-auth-e2e-admin-token-0123456789abcdef"
INSECURE = ssl._create_unverified_context()  # what HCP_AUTH_TLS=insecure does (InsecureSkipVerify)


def fetch_token(product: Product, client_id: str, secret: str) -> tuple[int, dict]:
    """POST /oauth2/token over HTTPS as golang/oauth2 sends it: form body, Basic with escaped halves."""
    credentials = base64.b64encode(f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()).decode()
    connection = http.client.HTTPSConnection("127.0.0.1", product.auth_port, context=INSECURE, timeout=20)
    try:
        connection.request("POST", "/oauth2/token", body="grant_type=client_credentials&audience=https%3A%2F%2Fapi."
                                                         "hashicorp.cloud",
                           headers={"Content-Type": "application/x-www-form-urlencoded",
                                    "Authorization": f"Basic {credentials}"})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def served_fingerprint(product: Product) -> str:
    """SHA-256 of the certificate the TLS listener presents."""
    with socket.create_connection(("127.0.0.1", product.auth_port), timeout=20) as raw:
        with INSECURE.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            der = tls.getpeercert(binary_form=True)
    assert der is not None
    return hashlib.sha256(der).hexdigest()


def file_fingerprint(data_dir: Path) -> str:
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert((data_dir / "hcp-auth-cert.pem").read_text())).hexdigest()


def test_a_token_over_https_works_on_the_api_and_the_certificate_is_kept(tmp_path):
    data_dir = tmp_path / "data"
    with start_product(TOKEN, data_dir=data_dir) as first:
        banner = first.output()[0]
        assert f"HCP_AUTH_URL=https://127.0.0.1:{first.auth_port} HCP_AUTH_TLS=insecure" in banner
        assert f"HCP_API_ADDRESS={first.url.removeprefix('http://')} HCP_API_TLS=disabled" in banner
        assert f"{first.url}/service-principals" in banner

        status, principal = first.call("POST", "/service-principals", {"name": "packer", "role": "contributor"})
        assert status == 201
        status, issued = fetch_token(first, principal["client_id"], principal["client_secret"])
        assert status == 200 and set(issued) == {"access_token", "token_type", "expires_in"}, issued
        access = issued["access_token"]
        assert first.call("GET", "/whoami", token=access) == (200, {"name": "packer", "role": "contributor",
                                                                     "token_id": principal["client_id"],
                                                                     "buckets": {}})
        assert first.call("POST", "/buckets", {"name": "from-packer"}, token=access)[0] == 201

        status, refused = fetch_token(first, principal["client_id"], "wrong")
        assert (status, refused["error"]) == (401, "invalid_client")
        fingerprint = served_fingerprint(first)
        assert fingerprint == file_fingerprint(data_dir)
        assert first.stop() == 0

    with start_product(TOKEN, data_dir=data_dir) as again:
        assert served_fingerprint(again) == fingerprint
        # The SDK caches its token on disk: one issued before the restart still works.
        assert again.call("GET", "/whoami", token=access)[1]["name"] == "packer"
        assert again.call("DELETE", f"/service-principals/{principal['client_id']}")[0] == 200
        assert again.call("GET", "/whoami", token=access)[0] == 401
