"""Where the registry may open a connection, the pure part: the one outbound-address policy that
webhook deliveries and the run task share (services/outbound.py makes the connections).

- **Always refused**: link-local addresses (169.254.0.0/16, where EC2, ECS and Lambda serve
  credentials; fe80::/10), AWS's IPv6 metadata address fd00:ec2::254, the unspecified address,
  multicast and reserved ranges (100.64.0.0/10 among them).
- **Refused unless `allow_private`**: loopback and private ranges (127.0.0.0/8, 10/8,
  172.16/12, 192.168/16, ::1, fc00::/7): a connection there would probe the VPC. The setting
  that allows them is each caller's (WEBHOOK_ALLOW_PRIVATE, RUNTASK_ALLOW_PRIVATE: on under
  `make run`, whose fakes listen on 127.0.0.1; off on AWS).
- **IPv4 inside IPv6**: an IPv6 address that stands for an IPv4 one is judged as that IPv4
  address: IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`), SIIT's
  IPv4-translated (`::ffff:0:a.b.c.d`, ::ffff:0:0:0/96), NAT64's well-known prefix
  (`64:ff9b::a.b.c.d`, 64:ff9b::/96, the one AWS's DNS64 and NAT gateways use) and 6to4
  (2002:AABB:CCDD::/48 for a.b.c.d). The local-use NAT64 prefix 64:ff9b:1::/48 is refused
  always: where its IPv4 address sits depends on the prefix length its network chose
  (RFC 6052: /48 to /96), so no reading of it can be trusted, and no public service uses it.
- **Host names** (`hosts`): a caller may also name the only hosts it connects to (the run
  task: RUNTASK_ALLOWED_HOSTS); every address those names resolve to is still checked.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import SplitResult

SCHEMES = {"http": 80, "https": 443}  # the only ones, with their default ports
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_METADATA_V6 = ipaddress.ip_address("fd00:ec2::254")
# IPv6 prefixes whose last 32 bits are an IPv4 address: SIIT's IPv4-translated, NAT64's well-known
_LAST_32_BITS = (ipaddress.ip_network("::ffff:0:0:0/96"), ipaddress.ip_network("64:ff9b::/96"))
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")


@dataclass(frozen=True)
class Policy:
    """Where one kind of outbound connection may go: `allow_private` (loopback and private
    addresses, allowed by the setting named `private_setting`) and, when `hosts` is set, only
    those host names (the setting `hosts_setting`)."""

    allow_private: bool
    private_setting: str
    hosts: frozenset[str] | None = None
    hosts_setting: str = ""

    def refused_host(self, host: str) -> str | None:
        """Why a URL's host may not be connected to (None: it may, its addresses still to check)."""
        if self.hosts is None or normal_host(host) in self.hosts:
            return None
        return f"{host} is not a host {self.hosts_setting} allows ({', '.join(sorted(self.hosts))})"

    def refused(self, address: IPAddress) -> str | None:
        """Why a connection must not go to `address` (None: it may)."""
        always = refused(address, allow_private=True)
        if always or self.allow_private:
            return always
        private = refused(address, allow_private=False)
        return f"{private} ({self.private_setting} is off)" if private else None


def normal_host(host: str) -> str:
    """A host name as the allow-list holds it: lower case, without DNS's trailing dot."""
    return host.lower().removesuffix(".")


def port_of(parts: SplitResult) -> int:
    """The port of an http(s) URL (its parts): written, else the scheme's."""
    return parts.port or SCHEMES[parts.scheme.lower()]


def literal_address(host: str) -> IPAddress | None:
    """The address a URL's host is written as (`127.0.0.1`, `[::1]` after urlsplit), or None
    for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def refused(address: IPAddress, allow_private: bool) -> str | None:
    """Why a connection must not go to `address` (None: it may). The reason names the address,
    and the IPv4 address inside it when it carries one."""
    if address in _NAT64_LOCAL:
        return (f"{address} is a local-use NAT64 address (64:ff9b:1::/48): the IPv4 address it reaches depends on "
                "its network's prefix length")
    inside = embedded_ipv4(address)
    plain = inside or address
    shown = f"{address} ({inside})" if inside else str(address)
    if plain.is_link_local or plain == _METADATA_V6:
        return f"{shown} is a link-local or cloud metadata address"
    if plain.is_unspecified or plain.is_multicast:
        return f"{shown} is not a unicast address"
    if plain.is_global:
        return None
    if plain.is_loopback or plain.is_private:
        return None if allow_private else f"{shown} is a loopback or private address"
    return f"{shown} is a reserved address"


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (IPv4-mapped, IPv4-compatible, SIIT,
    NAT64's well-known prefix, 6to4), or None: an IPv4 address, or an IPv6 one that carries
    none (`::` and `::1` are IPv6's own unspecified and loopback addresses, not 0.0.0.0 and 0.0.0.1)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if any(address in prefix for prefix in _LAST_32_BITS) or (int(address) >> 32 == 0 and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None
