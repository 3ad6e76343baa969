"""HTTPS through the SSRF guard: connected to the checked address, yet SNI and the certificate check
use the URL's hostname (a certificate for the name passes, one for another name fails)."""

import datetime
import ssl
import threading
from http.server import ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from apps.blocks.executors.api_call import execute
from tests.blocks.conftest import Handler
from tests.blocks.test_api_call import api_config


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject, issuer, public_key, signing_key, *, ca, dns_name=None):
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if dns_name:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(dns_name)]), critical=False)
    return builder.sign(signing_key, hashes.SHA256())


@pytest.fixture
def https_server(tmp_path, monkeypatch, settings):
    """make(dns_name) → an HTTPS server on 127.0.0.1 whose certificate (from a test CA the system
    trust store is pointed at) names `dns_name`; `.sni` records the names clients asked for."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _certificate("Test CA", "Test CA", ca_key.public_key(), ca_key, ca=True)
    (tmp_path / "ca.pem").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    settings.RUNBOOKS_HTTP_ALLOWLIST = ["localhost"]
    servers = []

    def make(dns_name):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _certificate(dns_name, "Test CA", key.public_key(), ca_key, ca=False, dns_name=dns_name)
        (tmp_path / "leaf.pem").write_bytes(
            cert.public_bytes(serialization.Encoding.PEM)
            + key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tmp_path / "leaf.pem")
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.requests = []
        server.sni = []
        context.sni_callback = lambda sock, name, ctx: server.sni.append(name)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        server.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.shutdown()
        server.server_close()


def test_it_verifies_the_certificate_for_the_hostname_while_connecting_to_the_checked_address(https_server, make_ctx):
    server = https_server("localhost")
    outcome = execute(make_ctx("api_call", api_config(f"https://localhost:{server.port}/json")))
    assert outcome.status == "succeeded", outcome.error
    assert outcome.result["json"]["status"] == "ok"
    assert server.sni == ["localhost"]
    assert server.requests[0].headers["Host"] == f"localhost:{server.port}"


def test_a_certificate_for_another_name_fails(https_server, make_ctx):
    server = https_server("other.example")
    outcome = execute(make_ctx("api_call", api_config(f"https://localhost:{server.port}/json")))
    assert outcome.status == "failed"
    assert "CERTIFICATE_VERIFY_FAILED" in outcome.error
    assert server.requests == []
