"""The SSRF guard: receivers must be public addresses unless INTEGRATIONS_ALLOWED_NETWORKS
allows them, checked when the connection is made, before any packet is sent.

Real sockets throughout, and no `responses` (it would bypass the guarded adapter). As a
safety net, while these tests run an audit hook refuses any socket connect to a
non-loopback address and records it: a broken guard fails a test, it never reaches out.
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from integrations.connectors import http
from integrations.connectors.errors import ConnectorError
from integrations.connectors.ssrf import address_refusal, url_refusal
from integrations.models import IntegrationSync, SyncAttempt, TenantIntegration
from tests.factories import TenantIntegrationFactory, UserFactory, WorkItemFactory
from tests.helpers import logged_in
from tests.integrations.admin.test_admin_integration_form import ADD, form_data, form_errors

# --- Safety net: no connect to anything but loopback -------------------------------------

_outbound: list[tuple] = []
_net = {"active": False}


def _refuse_non_loopback(event: str, args: tuple) -> None:
    if event != "socket.connect" or not _net["active"]:
        return
    address = args[1]
    if isinstance(address, tuple) and not _is_loopback(str(address[0])):
        _outbound.append(address)
        raise RuntimeError(f"test safety net: refused a connect to {address}")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:  # a name: whatever it is, the guard should have connected to an address
        return False


sys.addaudithook(_refuse_non_loopback)  # audit hooks cannot be removed; the flag scopes it to this module


@pytest.fixture(autouse=True)
def loopback_only() -> Iterator[list[tuple]]:
    """Turn the safety net on, start from empty connection pools, and prove nothing left loopback."""
    http.http_session().close()
    _outbound.clear()
    _net["active"] = True
    yield _outbound
    _net["active"] = False
    http.http_session().close()
    assert _outbound == [], f"a connection to a non-loopback address was attempted: {_outbound}"


# --- Local sockets ----------------------------------------------------------------------


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A bare listening socket on 127.0.0.1: the kernel queues any connection for accept()."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        yield sock


@pytest.fixture
def listener6() -> Iterator[socket.socket]:
    try:
        sock = socket.create_server(("::1", 0), family=socket.AF_INET6)
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with sock:
        yield sock


def accepted_nothing(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        connection, _ = sock.accept()
    except BlockingIOError:
        return True
    connection.close()
    return False


class Receiver(ThreadingHTTPServer):
    """A real HTTP receiver on 127.0.0.1 that records paths and answers with `answer`."""

    daemon_threads = True

    def __init__(self, answer: tuple[int, dict[str, str]]) -> None:
        self.answer = answer
        self.paths: list[str] = []
        self.sni: list[str | None] = []
        self.ca = ""
        super().__init__(("127.0.0.1", 0), _Handler)

    def url(self, scheme: str = "http", host: str = "127.0.0.1") -> str:
        return f"{scheme}://{host}:{self.server_address[1]}/hook"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.paths.append(self.path)
        status, headers = self.server.answer
        self.send_response(status)
        for name, value in {**headers, "Content-Length": "2"}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args) -> None:
        pass


def serving(server: ThreadingHTTPServer) -> Iterator[ThreadingHTTPServer]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from serving(Receiver((200, {})))


@pytest.fixture
def redirecting_receiver() -> Iterator[Receiver]:
    yield from serving(Receiver((302, {"Location": "http://10.0.0.1/"})))


# --- Delivering through the engine ------------------------------------------------------


@pytest.fixture
def deliver_to(tenant, committed):
    """Create an integration for `url` and a work item (eager delivery on commit); return its sync."""

    def deliver(url: str) -> IntegrationSync:
        integration = TenantIntegrationFactory(tenant=tenant, config={"url": url, "sign": False})
        with committed():
            WorkItemFactory(tenant=tenant)
        return IntegrationSync.objects.get(integration=integration)

    return deliver


def refused_attempt(sync: IntegrationSync) -> SyncAttempt:
    """The sync failed permanently on its first attempt, recorded as an SSRF refusal."""
    assert (sync.status, sync.attempts) == (IntegrationSync.Status.FAILED, 1)
    (attempt,) = SyncAttempt.objects.filter(sync=sync)
    assert (attempt.succeeded, attempt.status_code, attempt.error_class) == (False, None, "ssrf")
    assert attempt.error == sync.last_error
    return attempt


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://10.0.0.1/hook", "10.0.0.1 is a private address"),
        ("https://10.0.0.1/hook", "10.0.0.1 is a private address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is the cloud metadata address"),
        ("http://100.64.0.1/hook", "100.64.0.1 is a shared carrier-grade NAT address"),
        ("http://224.0.0.1/hook", "224.0.0.1 is a multicast address"),
        ("http://[::ffff:10.0.0.1]/hook", "10.0.0.1 (written as IPv6 ::ffff:a00:1) is a private address"),
        ("http://[fe80::1]/hook", "fe80::1 is a link-local address"),
    ],
    ids=["private", "private-https", "metadata", "cgnat", "multicast", "ipv4-mapped", "ipv6-link-local"],
)
def test_a_non_public_receiver_is_refused_before_connecting(deliver_to, url, reason):
    sync = deliver_to(url)

    refused_attempt(sync)
    assert reason in sync.last_error
    assert "INTEGRATIONS_ALLOWED_NETWORKS" in sync.last_error


def test_loopback_is_refused_unless_allowed_and_nothing_connects(deliver_to, listener, settings):
    settings.INTEGRATIONS_ALLOWED_NETWORKS = []
    port = listener.getsockname()[1]

    sync = deliver_to(f"http://127.0.0.1:{port}/hook")

    refused_attempt(sync)
    assert sync.last_error.startswith(f"Refused to connect to 127.0.0.1:{port}: 127.0.0.1 is a loopback address.")
    assert accepted_nothing(listener)


def test_ipv6_loopback_is_refused_unless_allowed(deliver_to, listener6, settings):
    settings.INTEGRATIONS_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    port = listener6.getsockname()[1]

    sync = deliver_to(f"http://[::1]:{port}/hook")

    refused_attempt(sync)
    assert f"Refused to connect to [::1]:{port}: ::1 is a loopback address." in sync.last_error
    assert accepted_nothing(listener6)


def test_a_hostname_resolving_to_loopback_is_refused(deliver_to, listener, settings):
    settings.INTEGRATIONS_ALLOWED_NETWORKS = []
    port = listener.getsockname()[1]

    sync = deliver_to(f"http://localhost:{port}/hook")

    refused_attempt(sync)
    assert f"Refused to connect to localhost:{port}: 127.0.0.1 is a loopback address." in sync.last_error
    assert accepted_nothing(listener)


def test_an_allowed_loopback_receiver_still_gets_the_event(deliver_to, receiver):
    sync = deliver_to(receiver.url())

    assert (sync.status, sync.last_status_code, sync.last_error) == (IntegrationSync.Status.SYNCED, 200, "")
    assert receiver.paths == ["/hook"]


def test_a_redirect_to_a_private_address_is_not_followed(deliver_to, redirecting_receiver, loopback_only):
    sync = deliver_to(redirecting_receiver.url())

    assert (sync.status, sync.attempts, sync.last_status_code) == (IntegrationSync.Status.FAILED, 1, 302)
    assert "redirect (HTTP 302) to http://10.0.0.1/; redirects are not followed" in sync.last_error
    assert SyncAttempt.objects.get(sync=sync).error_class == "config"
    assert redirecting_receiver.paths == ["/hook"]
    assert loopback_only == []


def test_plain_http_is_refused_when_not_allowed(deliver_to, listener, settings):
    settings.INTEGRATIONS_ALLOW_HTTP = False
    port = listener.getsockname()[1]

    sync = deliver_to(f"http://127.0.0.1:{port}/hook")

    refused_attempt(sync)
    assert sync.last_error == (
        f"Refused to send to 127.0.0.1:{port}: Plain http:// is not allowed; use https:// "
        "(INTEGRATIONS_ALLOW_HTTP enables http for development)."
    )
    assert accepted_nothing(listener)


# --- TLS still verifies the hostname ----------------------------------------------------


def self_signed(tmp_path: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def tls_receiver(tmp_path: Path, name: str) -> Iterator[Receiver]:
    cert_path, key_path = self_signed(tmp_path, name)
    server = Receiver((200, {}))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    context.sni_callback = lambda sock, sni, ctx: server.sni.append(sni)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.ca = str(cert_path)
    yield from serving(server)


@pytest.fixture
def localhost_tls(tmp_path) -> Iterator[Receiver]:
    yield from tls_receiver(tmp_path, "localhost")


@pytest.fixture
def other_name_tls(tmp_path) -> Iterator[Receiver]:
    yield from tls_receiver(tmp_path, "receiver.example.com")


def test_tls_sends_the_hostname_as_sni_and_verifies_it(localhost_tls):
    response = http.send("POST", localhost_tls.url("https", "localhost"), data=b"{}", verify=localhost_tls.ca)

    assert response.status_code == 200
    assert localhost_tls.sni == ["localhost"]


def test_tls_refuses_a_certificate_for_another_name(other_name_tls):
    with pytest.raises(ConnectorError) as refused:
        http.send("POST", other_name_tls.url("https", "localhost"), data=b"{}", verify=other_name_tls.ca)

    assert isinstance(refused.value.__cause__, requests.exceptions.SSLError)
    assert "CERTIFICATE_VERIFY_FAILED" in str(refused.value.__cause__)
    assert other_name_tls.paths == []


# --- Saving an integration ------------------------------------------------------------------


@pytest.fixture
def superuser_client(db):
    return logged_in(UserFactory(username="root", is_staff=True, is_superuser=True))


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("https://10.0.0.1/hook", "Fieldhook only sends to public addresses; 10.0.0.1 is a private address."),
        ("http://n8n.example.com/hook", "Plain http:// is not allowed; use https://"),
        (
            "https://localhost/hook",
            "Fieldhook only sends to public addresses; localhost resolves to one that is not "
            "(127.0.0.1 is a loopback address).",
        ),
    ],
    ids=["private-address", "plain-http", "name-resolving-to-loopback"],
)
def test_the_admin_form_refuses_a_non_public_or_plain_http_url(superuser_client, tenant, settings, url, error):
    settings.INTEGRATIONS_ALLOW_HTTP = False
    settings.INTEGRATIONS_ALLOWED_NETWORKS = []

    response = superuser_client.post(ADD, form_data(tenant, cfg_url=url))

    assert response.status_code == 200
    errors = form_errors(response)
    assert list(errors) == ["cfg_url"]
    assert errors["cfg_url"][0].startswith(error)
    assert not TenantIntegration.objects.exists()


@pytest.mark.parametrize(
    ("url", "refusal"),
    [
        ("https://n8n.example.com/webhook/x", ""),  # does not resolve here: the connect-time check decides
        ("https://93.184.216.34/hook", ""),
        ("https://[2606:4700::1111]/hook", ""),
        ("http://127.0.0.1:8000/hook", ""),  # loopback and http are allowed in the test settings
        ("ftp://files.example.com/hook", "Only http:// and https:// URLs are allowed, not ftp."),
        ("https://user:pw@n8n.example.com/hook", "The URL must not contain credentials."),
        ("https:///hook", "The URL has no host."),
        (
            "https://169.254.169.254/",
            "Fieldhook only sends to public addresses; 169.254.169.254 is the cloud metadata address (link-local).",
        ),
        ("https://[::ffff:127.0.0.1]/", ""),
    ],
)
def test_a_receiver_url_is_checked_when_saved(url, refusal):
    assert url_refusal(url) == refusal


# --- Which addresses --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "a loopback address"),
        ("127.8.9.10", "a loopback address"),
        ("::1", "a loopback address"),
        ("10.0.0.1", "a private address"),
        ("172.16.5.4", "a private address"),
        ("192.168.1.1", "a private address"),
        ("fc00::1", "a private address"),
        ("fd12:3456::1", "a private address"),
        ("169.254.169.254", "the cloud metadata address (link-local)"),
        ("169.254.1.1", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("100.64.0.1", "a shared carrier-grade NAT address (100.64.0.0/10)"),
        ("100.127.255.254", "a shared carrier-grade NAT address (100.64.0.0/10)"),
        ("224.0.0.1", "a multicast address"),
        ("239.255.255.250", "a multicast address"),
        ("ff02::1", "a multicast address"),
        ("0.0.0.0", "the unspecified address"),  # noqa: S104 (an address to judge, not to bind)
        ("::", "the unspecified address"),
        ("240.0.0.1", "a reserved address"),
        ("255.255.255.255", "a reserved address"),
        ("fec0::1", "a site-local address"),
        ("192.0.2.1", "a private address"),
    ],
)
def test_a_non_public_address_is_refused_with_its_kind(settings, address, kind):
    settings.INTEGRATIONS_ALLOWED_NETWORKS = []

    assert address_refusal(address) == f"{address} is {kind}"


@pytest.mark.parametrize(
    ("address", "reaches", "kind"),
    [
        ("::ffff:10.0.0.1", "10.0.0.1", "a private address"),
        ("::ffff:127.0.0.1", "127.0.0.1", "a loopback address"),
        ("::ffff:169.254.169.254", "169.254.169.254", "the cloud metadata address (link-local)"),
        ("::10.0.0.1", "10.0.0.1", "a private address"),  # IPv4-compatible
        ("2002:a00:1::", "10.0.0.1", "a private address"),  # 6to4
        ("64:ff9b::a9fe:a9fe", "169.254.169.254", "the cloud metadata address (link-local)"),  # NAT64
    ],
)
def test_an_ipv4_address_written_as_ipv6_is_judged_as_ipv4(settings, address, reaches, kind):
    settings.INTEGRATIONS_ALLOWED_NETWORKS = []

    assert address_refusal(address) == f"{reaches} (written as IPv6 {ipaddress.ip_address(address)}) is {kind}"


@pytest.mark.parametrize(
    "address", ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "2001:4860:4860::8888", "::ffff:93.184.216.34"]
)
def test_a_public_address_is_allowed(settings, address):
    settings.INTEGRATIONS_ALLOWED_NETWORKS = []

    assert address_refusal(address) == ""


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.0.53", "::1", "::ffff:127.0.0.1", "10.1.2.3"])
def test_allowed_networks_let_an_address_through(settings, address):
    settings.INTEGRATIONS_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128", "10.1.0.0/16"]

    assert address_refusal(address) == ""


def test_an_allowed_network_does_not_open_its_neighbours(settings):
    settings.INTEGRATIONS_ALLOWED_NETWORKS = ["10.1.0.0/16"]

    assert address_refusal("10.2.0.1") == "10.2.0.1 is a private address"
