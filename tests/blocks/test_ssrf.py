"""The SSRF guard: every vector of issue 6 is refused and a local listener records no connection."""

import ipaddress
import socket

import pytest

from apps.blocks.executors.api_call import execute
from apps.blocks.executors.ssrf import Refused, address_problem, resolve_and_check
from tests.blocks.test_api_call import api_config


@pytest.fixture(autouse=True)
def no_allowlist(settings):
    settings.RUNBOOKS_HTTP_ALLOWLIST = []


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "localhost.", "2130706433", "0x7f.1", "127.1", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]"],
)
def test_loopback_spellings_are_refused_without_connecting(host, listener, make_ctx):
    ctx = make_ctx("api_call", api_config(f"http://{host}:{listener.port}/"))
    outcome = execute(ctx)
    assert outcome.status == "failed"
    assert "127.0.0.1" in outcome.error and "loopback" in outcome.error
    assert outcome.error.endswith("an administrator can allow it with RUNBOOKS_HTTP_ALLOWLIST.")
    assert listener.connections == 0


def test_a_leading_zero_octal_address_is_refused_without_connecting(listener, make_ctx):
    outcome = execute(make_ctx("api_call", api_config(f"http://0177.0.0.1:{listener.port}/")))
    assert outcome.status == "failed"
    assert listener.connections == 0


def test_ipv6_loopback_is_refused_without_connecting(listener_v6, make_ctx):
    outcome = execute(make_ctx("api_call", api_config(f"http://[::1]:{listener_v6.port}/")))
    assert outcome.status == "failed"
    assert outcome.error.startswith("Refused: ::1 resolves to ::1, which is a loopback address")
    assert listener_v6.connections == 0


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://[::ffff:169.254.169.254]/latest/meta-data/", "the cloud metadata address (169.254.169.254)"),
        ("http://169.254.169.254/latest/meta-data/", "the cloud metadata address"),
        ("http://100.64.0.1/", "a shared (carrier-grade NAT, 100.64.0.0/10) address"),
        ("http://0.0.0.0/", "an unspecified address"),
        ("http://10.1.2.3/", "a private address"),
        ("http://192.168.1.1/", "a private address"),
        ("http://169.254.1.1/", "a link-local address"),
        ("http://[2002:7f00:1::]/", "a loopback address (127.0.0.1) embedded"),
        ("http://[64:ff9b::a00:1]/", "a private address (10.0.0.1) embedded"),
        ("http://[fd00::1]/", "a private address"),
        ("http://[fe80::1]/", "a link-local address"),
        ("http://[::]/", "an unspecified address"),
        ("http://224.0.0.1/", "a multicast address"),
    ],
)
def test_internal_addresses_are_refused_before_connecting(url, problem, make_ctx):
    outcome = execute(make_ctx("api_call", api_config(url, timeout_seconds=1)))
    assert outcome.status == "failed"
    assert outcome.error.startswith("Refused: ")
    assert problem in outcome.error


def test_a_name_resolving_to_a_private_address_is_refused(monkeypatch, listener, make_ctx):
    real_getaddrinfo = socket.getaddrinfo

    def fake_getaddrinfo(host, port, *args, **kwargs):
        if host == "internal.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.1", port))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    # No resolver on this machine can be made to answer 10.0.0.1 for a name, so fake that one answer.
    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    outcome = execute(make_ctx("api_call", api_config(f"http://internal.example.com:{listener.port}/")))
    assert outcome.status == "failed"
    assert outcome.error == (
        "Refused: internal.example.com resolves to 10.0.0.1, which is a private address; "
        "an administrator can allow it with RUNBOOKS_HTTP_ALLOWLIST."
    )
    assert listener.connections == 0


def test_a_redirect_to_loopback_is_refused_even_from_an_allowed_server(http_server, listener, make_ctx, settings):
    settings.RUNBOOKS_HTTP_ALLOWLIST = ["localhost"]
    to = f"http://127.0.0.1:{listener.port}/admin"
    config = api_config(f"http://localhost:{http_server.port}/redirect?to={to}", follow_redirects=True)
    outcome = execute(make_ctx("api_call", config))
    assert outcome.status == "failed", outcome.error
    assert outcome.error.startswith("Redirect refused: Refused: 127.0.0.1 resolves to 127.0.0.1")
    assert len(http_server.requests) == 1
    assert listener.connections == 0


@pytest.mark.parametrize("scheme", ["ftp", "file", "gopher"])
def test_only_http_and_https_are_called(scheme, make_ctx):
    outcome = execute(make_ctx("api_call", api_config(f"{scheme}://example.com/x")))
    assert outcome.status == "failed"
    assert f"only http and https URLs may be called, not {scheme}" in outcome.error


def test_a_redirect_to_another_scheme_is_refused(http_server, make_ctx, settings):
    settings.RUNBOOKS_HTTP_ALLOWLIST = ["127.0.0.1"]
    config = api_config(f"{http_server.url}/redirect?to=file:///etc/passwd", follow_redirects=True)
    outcome = execute(make_ctx("api_call", config))
    assert outcome.status == "failed"
    assert "only http and https" in outcome.error


def test_an_allowlisted_cidr_opens_the_range(listener):
    assert resolve_and_check("127.0.0.1", listener.port, allowlist=["127.0.0.0/8"]) == [
        ipaddress.ip_address("127.0.0.1")
    ]


def test_an_allowlisted_cidr_covers_the_mapped_spelling_too():
    assert resolve_and_check("::ffff:127.0.0.1", 80, allowlist=["127.0.0.0/8"])


def test_an_allowlisted_hostname_does_not_open_other_names_or_addresses():
    with pytest.raises(Refused):
        resolve_and_check("127.0.0.1", 80, allowlist=["localhost"])
    assert resolve_and_check("localhost.", 80, allowlist=["LOCALHOST"])


def test_an_unresolvable_name_is_a_clear_failure():
    with pytest.raises(Refused, match=r"^Could not resolve no-such-host\.invalid"):
        resolve_and_check("no-such-host.invalid", 80, allowlist=[])


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "2002:808:808::1"],
)
def test_public_addresses_pass(address):
    assert address_problem(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    "address",
    ["::ffff:10.0.0.1", "2001:0:4136:e378:8000:63bf:3fff:fdd2", "fec0::1", "ff02::1", "240.0.0.1", "::1"],
)
def test_other_internal_forms_have_a_problem(address):
    assert address_problem(ipaddress.ip_address(address))
