"""The outbound-address policy (chalicelib/domain/addresses.py) that webhook deliveries and the
run task share: which addresses are refused always, which unless private ones are allowed,
IPv4 addresses written inside IPv6 ones, and the allow-list of host names."""

from __future__ import annotations

import ipaddress

import pytest

from chalicelib.domain import addresses
from chalicelib.domain.addresses import Policy


def refused(address: str, allow_private: bool) -> str | None:
    return addresses.refused(ipaddress.ip_address(address), allow_private)


@pytest.mark.parametrize("address", [
    "169.254.169.254", "169.254.0.1", "169.254.170.2", "fd00:ec2::254", "fe80::1", "::ffff:169.254.169.254",
    "::ffff:a9fe:a9fe", "::169.254.169.254", "0.0.0.0", "::", "224.0.0.1", "ff02::1"])
def test_link_local_metadata_and_non_unicast_addresses_are_refused_always(address):
    assert refused(address, allow_private=True)
    assert refused(address, allow_private=False)


@pytest.mark.parametrize("address, reason", [
    ("169.254.169.254", "169.254.169.254 is a link-local or cloud metadata address"),
    ("::169.254.169.254", "::a9fe:a9fe (169.254.169.254) is a link-local or cloud metadata address"),  # compatible
    ("fd00:ec2::254", "fd00:ec2::254 is a link-local or cloud metadata address"),
    ("0.0.0.0", "0.0.0.0 is not a unicast address"), ("ff02::1", "ff02::1 is not a unicast address"),
    ("100.64.0.1", "100.64.0.1 is a reserved address")])  # shared address space (carrier NAT)
def test_a_refusal_says_which_kind_of_address(address, reason):
    assert refused(address, allow_private=True) == reason


@pytest.mark.parametrize("address, inside", [
    ("::ffff:169.254.169.254", "169.254.169.254"), ("::169.254.169.254", "169.254.169.254"),  # mapped, compatible
    ("::255.255.255.255", "255.255.255.255"), ("::0.0.0.2", "0.0.0.2"),
    ("::ffff:0:169.254.169.254", "169.254.169.254"),  # SIIT: IPv4-translated (::ffff:0:0:0/96)
    ("64:ff9b::169.254.169.254", "169.254.169.254"), ("64:ff9b::10.0.0.1", "10.0.0.1"),  # NAT64, well-known prefix
    ("2002:a9fe:a9fe::", "169.254.169.254"), ("2002:0a00:0001:1::5", "10.0.0.1"),  # 6to4: bits 16 to 47
    ("::", None), ("::1", None),  # the unspecified and loopback IPv6 addresses, not 0.0.0.0 and 0.0.0.1
    ("::1:a9fe:a9fe", None), ("64:ff9b::1:a9fe:a9fe", None),  # outside ::/96 and 64:ff9b::/96
    ("fe80::1", None), ("10.0.0.1", None)])
def test_the_ipv4_address_inside_an_ipv6_one(address, inside):
    found = addresses.embedded_ipv4(ipaddress.ip_address(address))
    assert found == (ipaddress.ip_address(inside) if inside else None)


@pytest.mark.parametrize("address", [
    "64:ff9b::a9fe:a9fe", "64:ff9b::169.254.170.2", "::ffff:0:a9fe:a9fe", "2002:a9fe:a9fe::1", "2002:a9fe:a9fe:ffff::",
    "64:ff9b::e000:1", "2002:e000:1::"])  # link-local and multicast, as NAT64, SIIT and 6to4 write them
def test_ipv6_encodings_of_refused_ipv4_addresses_are_refused_always(address):
    assert refused(address, allow_private=True)


@pytest.mark.parametrize("address, reason", [
    ("64:ff9b::a9fe:a9fe", "64:ff9b::a9fe:a9fe (169.254.169.254) is a link-local or cloud metadata address"),
    ("::ffff:0:a9fe:a9fe", "::ffff:0:a9fe:a9fe (169.254.169.254) is a link-local or cloud metadata address"),
    ("2002:a9fe:a9fe::1", "2002:a9fe:a9fe::1 (169.254.169.254) is a link-local or cloud metadata address"),
    ("64:ff9b::a00:1", "64:ff9b::a00:1 (10.0.0.1) is a loopback or private address"),
    ("2002:7f00:1::", "2002:7f00:1:: (127.0.0.1) is a loopback or private address")])
def test_a_refusal_names_the_ipv4_address_inside(address, reason):
    assert refused(address, allow_private=False) == reason


@pytest.mark.parametrize("address", ["64:ff9b:1::a9fe:a9fe", "64:ff9b:1::808:808", "64:ff9b:1:a9fe:a9:fe00::"])
def test_the_local_use_nat64_prefix_is_refused_always(address):
    """Where its IPv4 address sits depends on the network's prefix length (RFC 6052)."""
    assert refused(address, allow_private=True) == (
        f"{address} is a local-use NAT64 address (64:ff9b:1::/48): the IPv4 address it reaches depends on its "
        "network's prefix length")


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "10.1.2.3", "192.168.0.10", "172.16.5.4", "fd12::1",
                                     "::ffff:127.0.0.1", "64:ff9b::a00:1", "::ffff:0:c0a8:1", "2002:c0a8:1::"])
def test_loopback_and_private_addresses_only_when_allowed(address):
    assert refused(address, allow_private=True) is None
    assert "is a loopback or private address" in (refused(address, allow_private=False) or "")


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700::1111", "::ffff:93.184.215.14",
                                     "64:ff9b::808:808", "::ffff:0:808:808", "2002:808:808::1"])
def test_public_addresses_are_allowed(address):
    assert refused(address, allow_private=False) is None


def test_a_policy_names_the_setting_that_would_allow_a_private_address():
    address = ipaddress.ip_address("127.0.0.1")
    assert Policy(False, "WEBHOOK_ALLOW_PRIVATE").refused(address) == (
        "127.0.0.1 is a loopback or private address (WEBHOOK_ALLOW_PRIVATE is off)")
    assert Policy(True, "WEBHOOK_ALLOW_PRIVATE").refused(address) is None
    assert Policy(True, "X").refused(ipaddress.ip_address("169.254.169.254"))  # the setting never allows those
    assert Policy(False, "X").refused(ipaddress.ip_address("93.184.215.14")) is None


def test_a_policy_with_hosts_allows_those_names_only():
    policy = Policy(False, "X", frozenset({"app.terraform.io"}), "RUNTASK_ALLOWED_HOSTS")
    for host in ("app.terraform.io", "APP.terraform.io", "app.terraform.io."):
        assert policy.refused_host(host) is None, host
    assert policy.refused_host("app.terraform.io.evil.example") == (
        "app.terraform.io.evil.example is not a host RUNTASK_ALLOWED_HOSTS allows (app.terraform.io)")
    assert Policy(False, "X").refused_host("anything.example") is None  # no list: any host (its addresses checked)
    two = Policy(False, "X", frozenset({"b.example", "a.example"}), "HOSTS")
    assert two.refused_host("c.example") == "c.example is not a host HOSTS allows (a.example, b.example)"


def test_literal_addresses_and_names():
    assert addresses.literal_address("127.0.0.1") == ipaddress.ip_address("127.0.0.1")
    assert addresses.literal_address("::1") == ipaddress.ip_address("::1")
    assert addresses.literal_address("hooks.example.com") is None
