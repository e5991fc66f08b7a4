"""The HCP token endpoint over HTTPS for `make run`.

The HCP SDK takes its token from `https://<HCP_AUTH_URL host>/oauth2/token` and refuses any
other scheme (HCP-API-COMPAT.md §1.1), while Chalice's local server speaks plain HTTP. So
`make run` also listens with TLS on `HCP_AUTH_PORT` (default 8443) and relays every request
it gets there, whatever its path, to the API on `PORT` and the answer back: the token
endpoint (`POST /oauth2/token`, what the SDK calls) and, as a bonus, the whole API over
HTTPS. Each connection's TLS handshake runs in that connection's thread, so a client that
connects and says nothing holds up no one.

The certificate is self-signed and made on the first run with the `cryptography` package
(already installed with moto): an EC P-256 key and a certificate for `127.0.0.1`,
`localhost` and `HOST`, valid for ten years, kept in the data directory (`hcp-auth-cert.pem`,
and `hcp-auth-key.pem`, mode 600) so its fingerprint stays the same across restarts; `make reset`
deletes them with the rest. Clients skip its verification (`HCP_AUTH_TLS=insecure`), or
trust it (`SSL_CERT_FILE=<data dir>/hcp-auth-cert.pem` for the Go clients on Linux).
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import logging
import os
import ssl
import threading
from datetime import datetime, timedelta, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from local.data import CERTIFICATE, CERTIFICATE_KEY, PARTIAL

log = logging.getLogger("local.hcp_auth")

VALID_FOR = timedelta(days=3650)
HANDSHAKE_TIMEOUT = 10.0  # seconds a connection has to finish its TLS handshake
RELAY_TIMEOUT = 60.0  # seconds the API has to answer a relayed request
MAX_BODY = 10 << 20  # bytes of a request body relayed (the API's own bodies are far smaller)
# Headers that describe one connection, not the request: never relayed (RFC 9110 §7.6.1).
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "host",
              "content-length"}
OWN = {"server", "date"}  # headers the relay writes itself in its answer


def ensure_certificate(directory: Path, hosts: list[str]) -> tuple[Path, Path]:
    """(certificate, key) in `directory`: the ones kept there, else new ones for `hosts`."""
    certificate, key = directory / CERTIFICATE, directory / CERTIFICATE_KEY
    if certificate.exists() and key.exists():
        return certificate, key
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "packer-registry local HCP auth")])
    names: list[x509.GeneralName] = []
    for host in dict.fromkeys(["127.0.0.1", "localhost", *hosts]):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(private.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + VALID_FOR)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(private, hashes.SHA256()))
    _write(key, private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()), 0o600)
    _write(certificate, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    log.info("made a self-signed certificate for the HCP token endpoint: %s", certificate)
    return certificate, key


def _write(path: Path, data: bytes, mode: int) -> None:
    """Write `path` whole: a temporary file, then a rename."""
    partial = path.with_name(path.name + PARTIAL)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    partial.replace(path)


class TlsRelay(ThreadingHTTPServer):
    """HTTPS on (host, port), relaying each request to the HTTP API at `api`."""

    daemon_threads = True  # a stop never waits for a slow client
    request_queue_size = 128  # socketserver's 5 would refuse a burst of clients

    def __init__(self, address: tuple[str, int], certificate: Path, key: Path, api: tuple[str, int]) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(certificate, key)
        self.api = api
        super().__init__(address, _RelayHandler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        """The TLS handshake, in the connection's own thread, then the request."""
        request.settimeout(HANDSHAKE_TIMEOUT)
        try:
            secure = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            log.debug("TLS handshake with %s failed: %s", client_address, exc)
            return
        try:
            secure.settimeout(RELAY_TIMEOUT)
            _RelayHandler(secure, client_address, self)
        finally:
            secure.close()

    def serve_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="hcp-auth-tls", daemon=True)
        thread.start()
        return thread


class _RelayHandler(BaseHTTPRequestHandler):
    """One request to the API and its answer back (HTTP/1.0: one request per connection)."""

    server: TlsRelay

    def do_relay(self) -> None:
        length = self.headers.get("Content-Length", "0")
        if not length.isdigit() or int(length) > MAX_BODY:
            return self._error(413 if length.isdigit() else 411, "PayloadTooLarge" if length.isdigit() else
                               "LengthRequired", f"send a Content-Length of at most {MAX_BODY:,} bytes")
        body = self.rfile.read(int(length))
        headers = {name: value for name, value in self.headers.items() if name.lower() not in HOP_BY_HOP}
        api = http.client.HTTPConnection(*self.server.api, timeout=RELAY_TIMEOUT)
        try:
            api.request(self.command, self.path, body=body, headers=headers)
            answer = api.getresponse()
            status, answer_headers, data = answer.status, answer.getheaders(), answer.read()
        except (OSError, http.client.HTTPException) as exc:
            return self._error(502, "BadGateway", f"the registry's API did not answer: {type(exc).__name__}")
        finally:
            api.close()
        self.send_response(status)
        for name, value in answer_headers:
            if name.lower() not in HOP_BY_HOP | OWN:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_relay

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """What http.server answers itself (a request it cannot read), as JSON."""
        self.close_connection = True
        status = HTTPStatus(code)
        self._error(code, status.name.title().replace("_", ""), message or status.phrase)

    def _error(self, status: int, code: str, message: str) -> None:
        body = json.dumps({"error": code, "message": message}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's signature
        log.info("%s %s", self.address_string(), format % args)

