"""The SSRF guard of every outbound request: receivers must be public addresses unless
settings.INTEGRATIONS_ALLOWED_NETWORKS allows them (tests, development).

The check runs when the connection is made, inside urllib3: the connection resolves the
host itself, refuses if any address is not allowed, and connects to the very address it
checked (no second lookup, so no DNS-rebinding window); TLS still verifies the hostname.
`url_refusal` is the friendlier save-time check, not the authoritative one.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from requests.adapters import HTTPAdapter
from requests.exceptions import InvalidProxyURL
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.connection import allowed_gai_family, create_connection

from integrations.connectors.deadline import DeadlineConnectionMixin, DeadlineExceeded, RequestDeadline
from integrations.connectors.deadline import current as deadline_of_request

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA = ipaddress.IPv4Address("169.254.169.254")
SHARED = ipaddress.IPv4Network("100.64.0.0/10")  # RFC 6598 carrier-grade NAT; not is_private
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: the gateway connects to the embedded IPv4


class AddressRefused(OSError):
    """A receiver address the guard will not connect to; raised before any packet is sent."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(reason)
        self.host = host
        self.reason = reason


# --- Which addresses ------------------------------------------------------------------


def address_refusal(ip: str | Address) -> str:
    """Why an address is refused ("10.0.0.1 is a private address"), or "" when allowed."""
    address = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
    if _allowed(address):
        return ""
    embedded = _embedded_ipv4(address) if isinstance(address, ipaddress.IPv6Address) else None
    if embedded is not None:
        if _allowed(embedded):
            return ""
        kind = _non_public_kind(embedded)
        return f"{embedded} (written as IPv6 {address}) is {kind}" if kind else ""
    kind = _non_public_kind(address)
    return f"{address} is {kind}" if kind else ""


def _allowed(address: Address) -> bool:
    return any(address in network for network in allowed_networks())


def allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    try:
        return [ipaddress.ip_network(cidr, strict=False) for cidr in settings.INTEGRATIONS_ALLOWED_NETWORKS]
    except ValueError as exc:
        raise ImproperlyConfigured(f"INTEGRATIONS_ALLOWED_NETWORKS: {exc}") from exc


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form reaches: mapped, compatible, 6to4 or NAT64."""
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address in NAT64 or 1 < int(address) <= 0xFFFFFFFF:  # RFC 4291 §2.5.5.1 "compatible" ::a.b.c.d
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _non_public_kind(address: Address) -> str:
    """The first matching class, most specific first; "" for a public unicast address."""
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address == METADATA:
        return "the cloud metadata address (link-local)"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:  # is_global is True for most multicast, so refuse it by name
        return "a multicast address"
    if address in SHARED:
        return "a shared carrier-grade NAT address (100.64.0.0/10)"
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return "a site-local address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "not a public address"
    return ""


# --- Save-time check --------------------------------------------------------------------


def scheme_refusal(scheme: str) -> str:
    """http(s) only, and plain http only where settings allow it (tests, development)."""
    scheme = scheme.lower()
    if scheme == "https" or (scheme == "http" and settings.INTEGRATIONS_ALLOW_HTTP):
        return ""
    if scheme == "http":
        return "Plain http:// is not allowed; use https:// (INTEGRATIONS_ALLOW_HTTP enables http for development)."
    allowed = "http:// and https://" if settings.INTEGRATIONS_ALLOW_HTTP else "https://"
    return f"Only {allowed} URLs are allowed, not {scheme or 'a URL without a scheme'}."


def url_refusal(url: str) -> str:
    """Why a receiver URL cannot be used, or "". A hostname that does not resolve now is
    accepted: the connect-time check decides when it is used."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "This is not a valid URL."
    reason = scheme_refusal(parts.scheme)
    if reason:
        return reason
    if parts.username is not None or parts.password is not None:
        return "The URL must not contain credentials."
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        return "The URL's port is not valid."
    if not host:
        return "The URL has no host."
    try:
        reason = address_refusal(host)
    except ValueError:  # a name, not an address literal
        port = port or (443 if parts.scheme.lower() == "https" else 80)
        reasons = [address_refusal(address) for address in _resolve(host, port)]
        reason = next((f"{host} resolves to one that is not ({why})" for why in reasons if why), "")
    return f"Fieldhook only sends to public addresses; {reason}." if reason else ""


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return [str(info[4][0]) for info in infos]


# --- Connect-time check -------------------------------------------------------------------


def checked_addresses(host: str, port: int) -> list[str]:
    """Resolve once and vet every answer: one bad address refuses them all (a name
    that also points inside is not a public receiver)."""
    host = host.strip("[]")
    infos = socket.getaddrinfo(host, port, allowed_gai_family(), socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for address in addresses:
        reason = address_refusal(address)
        if reason:
            raise AddressRefused(host, reason)
    return addresses


def connect_checked(host: str, port: int, *, timeout: Any, **options: Any) -> socket.socket:
    """Connect to the first checked address that answers. Each is passed as a literal,
    so urllib3's create_connection does no further lookup; all of them together stay
    within the request's deadline, and so does the TLS handshake that follows."""
    error: OSError | None = None
    deadline = deadline_of_request()
    for address in checked_addresses(host, port):
        try:
            sock = create_connection((address, port), timeout=_bounded(deadline, timeout), **options)
        except OSError as exc:
            error = exc
            continue
        if deadline is not None:
            try:
                sock.settimeout(_bounded(deadline, timeout))
            except DeadlineExceeded:
                sock.close()
                raise
        return sock
    raise error or OSError(f"{host} resolved to no address")


def _bounded(deadline: RequestDeadline | None, timeout: Any) -> Any:
    """`timeout` (a number, None or urllib3's default marker), cut to the request's deadline."""
    if deadline is None:
        return timeout
    return deadline.bounded(timeout if isinstance(timeout, int | float) else None)


class GuardedConnectionMixin:
    """Replaces urllib3's `_new_conn`: same error mapping, checked addresses only."""

    def _new_conn(self) -> socket.socket:
        try:
            sock = connect_checked(
                self._dns_host,
                self.port,
                timeout=self.timeout,
                source_address=self.source_address,
                socket_options=self.socket_options,
            )
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        except TimeoutError as exc:
            message = f"Connection to {self.host} timed out. (connect timeout={self.timeout})"
            raise ConnectTimeoutError(self, message) from exc
        except OSError as exc:  # AddressRefused included: it stays the __cause__
            raise NewConnectionError(self, f"Failed to establish a new connection: {exc}") from exc
        sys.audit("http.client.connect", self, self.host, self.port)
        return sock


class GuardedHTTPConnection(DeadlineConnectionMixin, GuardedConnectionMixin, HTTPConnection):
    pass


class GuardedHTTPSConnection(DeadlineConnectionMixin, GuardedConnectionMixin, HTTPSConnection):
    pass


class GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


class GuardedHTTPAdapter(HTTPAdapter):
    """A requests adapter whose every new connection passes the guard."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": GuardedHTTPConnectionPool,
            "https": GuardedHTTPSConnectionPool,
        }

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        # Through a proxy the guard would vet the proxy, not the receiver.
        raise InvalidProxyURL("Proxies are not supported for outbound integration requests.")
