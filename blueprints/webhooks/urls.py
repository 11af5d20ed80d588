"""Where a webhook may go, and the one way it is posted there (server-side request forgery matters).

A `webhook_url` makes the gateway send a request from inside its network to a place the client
chose, so:
- it must be `https://` (`http://` only to a loopback address, and only with
  `DEEPINTSHIELD_WEBHOOK_ALLOW_LOCAL`, for tests), without credentials or a fragment, at most
  `MAX_WEBHOOK_URL` characters;
- every address its host resolves to must be public: loopback and private ones (RFC 1918, unique
  local, shared, ...) only with `DEEPINTSHIELD_WEBHOOK_ALLOW_LOCAL`; link-local (cloud metadata
  services live there), multicast, unspecified and reserved ones never.
That is checked when the batch is created (a 400 naming `webhook_url`) and again on every
connection the POST makes (the address the socket actually reached), so a name that resolves
differently later (DNS rebinding) cannot reach an inside address. Redirects are not followed.

This session is not `blueprints/common/http.py`'s: that one is for providers (its retries, budget
and metrics); a webhook POST is tried once per attempt, and the watch's schedule retries it.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

from errors import BadRequest
from schemas.requests import MAX_WEBHOOK_URL
from version import __version__

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_HTTPS_ONLY = "must be https:// (http:// is allowed only to loopback, with DEEPINTSHIELD_WEBHOOK_ALLOW_LOCAL)"


def refusal(address: Address, allow_local: bool) -> str | None:
    """Why a webhook may not go to `address`, or None."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address.is_link_local or address.is_multicast or address.is_unspecified or address.is_reserved:
        return "a link-local, multicast or reserved address"
    if address.is_loopback or not address.is_global:
        return None if allow_local else "a loopback or private address"
    return None


def check_url(url: str, allow_local: bool) -> None:
    """BadRequest (param `webhook_url`) unless a webhook may be posted to `url`."""
    def bad(why: str) -> BadRequest:
        return BadRequest(f"webhook_url {why}.", param="webhook_url", code="invalid_webhook_url")

    if len(url) > MAX_WEBHOOK_URL:
        raise bad(f"is longer than {MAX_WEBHOOK_URL} characters")
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise bad("contains whitespace or control characters")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not parts.hostname:
        raise bad("must be an https:// URL with a host")
    if parts.username is not None or parts.password is not None:
        raise bad("must not carry credentials")
    if parts.fragment:
        raise bad("must not have a fragment")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise bad("has an invalid port") from None
    if scheme == "http" and not allow_local:  # before any DNS lookup
        raise bad(_HTTPS_ONLY)
    addresses = _resolve(parts.hostname, port)
    if not addresses:
        raise bad(f"names a host that does not resolve ({parts.hostname})")
    for address in addresses:
        why = refusal(address, allow_local)
        if why:
            raise bad(f"resolves to {why}; webhooks go to public addresses")
    if scheme == "http" and not (allow_local and all(address.is_loopback for address in addresses)):
        raise bad(_HTTPS_ONLY)


def _resolve(host: str, port: int) -> list[Address]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def _checked(base: type[HTTPConnection], allow_local: bool) -> type[HTTPConnection]:
    """`base` refusing, once connected, a peer address the rules above refuse."""

    class Checked(base):  # type: ignore[valid-type, misc]
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            peer = str(sock.getpeername()[0]).split("%")[0]
            why = refusal(ipaddress.ip_address(peer), allow_local)
            if why:
                sock.close()
                raise NewConnectionError(self, f"webhook host reached {why}")
            return sock

    return Checked


class _Adapter(HTTPAdapter):
    def __init__(self, allow_local: bool) -> None:
        self.allow_local = allow_local
        super().__init__(pool_connections=4, pool_maxsize=8, max_retries=0)

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        allow_local = self.allow_local

        class Http(HTTPConnectionPool):
            ConnectionCls = _checked(HTTPConnection, allow_local)

        class Https(HTTPSConnectionPool):
            ConnectionCls = _checked(HTTPSConnection, allow_local)  # type: ignore[assignment]

        self.poolmanager.pool_classes_by_scheme = {"http": Http, "https": Https}


@functools.cache
def session(allow_local: bool) -> requests.Session:
    """The session webhooks are posted with (one per setting, per process)."""
    web = requests.Session()
    web.trust_env = False  # no proxy from the environment: the checks above are about the receiver
    adapter = _Adapter(allow_local)
    web.mount("https://", adapter)
    web.mount("http://", adapter)
    web.headers["User-Agent"] = f"DeepintShield-Webhooks/{__version__}"
    return web


def post(url: str, body: str, headers: dict[str, str], timeout: float, allow_local: bool) -> int | None:
    """POST `body` to `url`: the receiver's status, or None when it could not be reached in time."""
    try:
        with session(allow_local).post(url, data=body.encode(), timeout=timeout, allow_redirects=False, stream=True,
                                       headers={**headers, "Content-Type": "application/json"}) as reply:
            return reply.status_code  # the body is not read: nothing in it matters
    except requests.RequestException:
        return None
