"""Outbound HTTP to URLs that users chose (webhook deliveries, the run task's plan download and
callback): every connection is checked against the caller's policy (domain/addresses.py) and
made to the address that was checked.

For each URL, and for each redirect hop when the caller follows any: the scheme must be http
or https, the host must be one the policy allows, it is resolved once and every address it
resolves to must be allowed (one bad answer refuses it all: a resolver may answer in any
order), and the connection goes to the first checked address with the URL's host in `Host`
and in TLS (SNI and the certificate check). So a DNS answer that changes between the check
and the connection cannot send it elsewhere. Headers the caller marks as secret (a bearer
token) go to the first URL only, never to a redirect's target. The standard library's
http.client does this in a few lines; no HTTP library is shipped in the Lambda package.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from ..domain import addresses
from ..domain.addresses import IPAddress, Policy

REDIRECTS = {301, 302, 303, 307, 308}


class Refused(ValueError):
    """The policy refuses the URL (its scheme, its host or an address it resolves to); the
    message says why, naming the host or address (for the registry's own log and for admins,
    never for whoever signed a run-task request)."""


class Unresolvable(OSError):
    """The URL's host does not resolve (now: it may later)."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes  # at most the caller's max_bytes + 1 bytes of it


def request(method: str, url: str, policy: Policy, *, headers: dict[str, str], timeout: float, max_bytes: int,
            body: bytes | None = None, secret_headers: dict[str, str] | None = None, redirects: int = 0) -> Answer:
    """`method url` under `policy`, following at most `redirects` redirects (each hop checked as
    the first; a redirect beyond that is answered as it came). Raises Refused, Unresolvable, or
    OSError / http.client.HTTPException when the connection or the answer fails."""
    sent = {**headers, **(secret_headers or {})}
    for _ in range(redirects + 1):
        parts = urlsplit(url)
        connection = _connection(parts.scheme.lower(), parts.hostname or "", _port(url), policy, timeout)
        try:
            connection.request(method, (parts.path or "/") + (f"?{parts.query}" if parts.query else ""), body=body,
                               headers=sent)
            answer = connection.getresponse()
            data = answer.read(max_bytes + 1)
            location = answer.getheader("Location")
        finally:
            connection.close()
        if answer.status not in REDIRECTS or not location:
            break
        url, sent = urljoin(url, location), headers  # the secret headers stay behind
    return Answer(answer.status, data)


def checked_address(host: str, port: int, policy: Policy) -> str:
    """The address to connect to for `host`: every address it stands for must be allowed
    (Refused otherwise; Unresolvable when it resolves to nothing)."""
    reason = policy.refused_host(host)
    if reason:
        raise Refused(reason)
    found = _addresses(host, port)
    for address in found:
        reason = policy.refused(address)
        if reason:
            raise Refused(reason)
    return str(found[0])


def resolve(host: str, port: int) -> list[IPAddress]:
    """DNS: the addresses of `host`, in the resolver's order (tests replace this function)."""
    answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found = []
    for *_, sockaddr in answers:
        address = addresses.literal_address(str(sockaddr[0]).split("%", 1)[0])
        if address is not None and address not in found:
            found.append(address)
    return found


def _addresses(host: str, port: int) -> list[IPAddress]:
    """The addresses a URL's host stands for: itself when it is one, else what DNS answers."""
    literal = addresses.literal_address(host)
    if literal is not None:
        return [literal]
    try:
        found = resolve(host, port)
    except OSError as exc:
        raise Unresolvable(f"{host} does not resolve") from exc
    if not found:
        raise Unresolvable(f"{host} has no address")
    return found


def _port(url: str) -> int:
    """The URL's port, or its scheme's (Refused when the scheme is not http(s) or the port is
    not one)."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in addresses.SCHEMES or not parts.hostname:
        raise Refused("not an http(s) URL with a host")
    try:
        return addresses.port_of(parts)
    except ValueError:
        raise Refused("the URL's port is not a number from 1 to 65535") from None


def _connection(scheme: str, host: str, port: int, policy: Policy, timeout: float) -> http.client.HTTPConnection:
    address = checked_address(host, port, policy)
    return _PinnedTLS(host, port, address, timeout) if scheme == "https" else _Pinned(host, port, address, timeout)


class _Pinned(http.client.HTTPConnection):
    """HTTP to a checked address, the URL's host in `Host`."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedTLS(http.client.HTTPSConnection):
    """HTTPS to a checked address; the certificate is checked against the URL's host."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        self.tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.tls)
        self.address = address

    def connect(self) -> None:
        raw = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self.tls.wrap_socket(raw, server_hostname=self.host)
