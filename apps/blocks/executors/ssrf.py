"""The SSRF guard of API call steps: which hosts a runbook may make the worker talk to.

A host is resolved once, with the system resolver (getaddrinfo), which also normalises numeric
spellings the way a connection would (2130706433, 0x7f.1 and 127.1 all become 127.0.0.1). The
request is refused unless every resolved address is global; otherwise a name with one public and
one private address could be steered to the private one. The caller then connects to an address
that was checked (never resolving again), so a DNS answer that changes between check and connect
(rebinding) gains nothing.

Addresses that carry an IPv4 address inside an IPv6 one (IPv4-mapped ::ffff:a.b.c.d, 6to4
2002::/16, NAT64 64:ff9b::/96, Teredo 2001::/32) are judged by the IPv4 address they lead to as well.

RUNBOOKS_HTTP_ALLOWLIST (hostnames or CIDRs) lets an administrator open specific internal targets.
"""

import ipaddress
import socket
from collections.abc import Iterable

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
ALLOWED_SCHEMES = ("http", "https")
METADATA_ADDRESS = ipaddress.IPv4Address("169.254.169.254")
SHARED_NETWORK = ipaddress.IPv4Network("100.64.0.0/10")
NAT64_NETWORK = ipaddress.IPv6Network("64:ff9b::/96")


class Refused(Exception):
    """A target the guard will not let a step reach; the message says why and what to do."""


def normalise_host(host: str) -> str:
    """The host as the resolver sees it: lower case, brackets and one trailing dot removed."""
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if host.endswith(".") and not host.endswith(".."):
        host = host[:-1]
    return host


def embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address leads to (mapped, 6to4, NAT64, Teredo); [] for none."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address in NAT64_NETWORK:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if address.teredo is not None:
        found.extend(address.teredo)
    return found


def _own_problem(address: IPAddress) -> str | None:
    if address == METADATA_ADDRESS:
        return "the cloud metadata address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if isinstance(address, ipaddress.IPv4Address) and address in SHARED_NETWORK:
        return "a shared (carrier-grade NAT, 100.64.0.0/10) address"
    if address.is_multicast:
        return "a multicast address"
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return "a site-local address"
    if address.is_private:
        return "a private address"
    if address.is_reserved:
        return "a reserved address"
    if not address.is_global:
        return "not a public address"
    return None


def address_problem(address: IPAddress) -> str | None:
    """Why a step may not reach `address` (e.g. "a loopback address"), or None when it is global."""
    for inner in embedded_ipv4(address):
        problem = _own_problem(inner)
        if problem:
            return f"{problem} ({inner}) embedded in an IPv6 address"
    return _own_problem(address)


def _allowlist(entries: Iterable[str]) -> tuple[set[str], list[ipaddress.IPv4Network | ipaddress.IPv6Network]]:
    hosts, networks = set(), []
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(normalise_host(entry), strict=False))
        except ValueError:
            hosts.add(normalise_host(entry))
    return hosts, networks


def _is_allowlisted(address: IPAddress, networks) -> bool:
    candidates = [address, *embedded_ipv4(address)]
    return any(
        candidate in network for candidate in candidates for network in networks if candidate.version == network.version
    )


def resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as error:
        raise Refused(f"Could not resolve {host}: {error}.") from None
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _canonname, sockaddr in infos:
        # A scope id (fe80::1%eth0) is not part of the address the guard judges.
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise Refused(f"Could not resolve {host}: no addresses.")
    return addresses


def resolve_and_check(host: str, port: int, *, allowlist: Iterable[str] | None = None) -> list[IPAddress]:
    """The addresses of `host` to connect to, all checked; Refused when any of them is not allowed."""
    host = normalise_host(host)
    if not host:
        raise Refused("The URL has no host.")
    allowed_hosts, allowed_networks = _allowlist(settings.RUNBOOKS_HTTP_ALLOWLIST if allowlist is None else allowlist)
    addresses = resolve(host, port)
    if host in allowed_hosts:
        return addresses
    for address in addresses:
        problem = address_problem(address)
        if problem and not _is_allowlisted(address, allowed_networks):
            raise Refused(
                f"Refused: {host} resolves to {address}, which is {problem}; "
                "an administrator can allow it with RUNBOOKS_HTTP_ALLOWLIST."
            )
    return addresses


def check_scheme(scheme: str) -> None:
    if scheme.lower() not in ALLOWED_SCHEMES:
        raise Refused(f"Refused: only http and https URLs may be called, not {scheme or 'a URL without a scheme'}.")
