"""The one HTTP client: User-Agent, timeouts, size cap, politeness, robots.txt, SSRF guard."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import ssl
import zlib
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import TypeVar
from urllib.robotparser import RobotFileParser

import anyio
import httpcore
import httpx

log = logging.getLogger("armswatch.http")

T = TypeVar("T")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
ROBOTS_MAX_BYTES = 512 * 1024  # what Google reads of a robots.txt
MAX_CRAWL_DELAY = 60.0  # a robots.txt Crawl-delay above this is treated as this

# Instance-metadata endpoints are refused even when private hosts are allowed:
# they hand out credentials to whoever asks from inside the cloud network.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, Azure, GCP, OpenStack, Oracle
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.170.23",  # AWS EKS pod identity
        "100.100.100.200",  # Alibaba Cloud
        "fd00:ec2::254",  # AWS over IPv6
        "fd00:ec2::23",  # AWS EKS pod identity over IPv6
    )
)
METADATA_HOSTNAMES = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
    }
)
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_PRIVATE = tuple(
    ipaddress.ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", "fec0::/10")
)
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_NAT64 = tuple(ipaddress.ip_network(n) for n in ("64:ff9b::/96", "64:ff9b:1::/48"))


@dataclass(frozen=True)
class HttpPolicy:
    """How the client behaves; one value configures every request of a batch."""

    user_agent: str = "armswatch/0.1 (+https://example.org/armswatch/bot; news monitoring)"
    robots_token: str = "armswatch"  # the product token robots.txt rules are matched against
    connect_timeout: float = 10.0
    read_timeout: float = 20.0  # silence allowed between two chunks
    total_timeout: float = 60.0  # one attempt: connect, headers and the whole body
    max_bytes: int = 10 * 1024 * 1024  # of decoded body; the rest is cut off and reported
    per_host_concurrency: int = 2
    max_concurrency: int = 16
    min_delay_seconds: float = 1.0  # between the starts of two requests to one host
    max_redirects: int = 5
    retries: int = 2  # further attempts after a transient failure
    backoff_seconds: float = 1.0  # doubled at each retry
    max_retry_after: float = 30.0  # a longer Retry-After is not waited for: the 429/503 stands
    respect_robots: bool = True
    allow_private_hosts: bool = False
    allowed_networks: tuple[str, ...] = ()  # addresses or CIDRs fetched even though private


# Errors: `str(exc)` is the message stages store; `permanent` says whether a retry can help.


class HttpError(Exception):
    "A request could not produce a response"

    permanent = False


class BlockedAddress(HttpError):
    "The address is not allowed to be fetched"

    permanent = True


class UnsupportedScheme(HttpError):
    "Only http and https URLs are fetched"

    permanent = True


class InvalidURL(HttpError):
    "The URL cannot be parsed"

    permanent = True


class TooManyRedirects(HttpError):
    "The redirect chain is longer than the policy allows"

    permanent = True


class RedirectLoop(HttpError):
    "A redirect leads back to a URL already visited in the chain"

    permanent = True


class DisallowedByRobots(HttpError):
    "robots.txt disallows the URL for our user agent"

    permanent = True


class DecodingFailed(HttpError):
    "The body cannot be decoded with its Content-Encoding"

    permanent = True


class RequestTimeout(HttpError):
    "The server did not answer in time"


class ConnectFailed(HttpError):
    "The server could not be reached"


class NetworkError(HttpError):
    "The connection broke before a whole response arrived"


class TlsFailed(HttpError):
    "The TLS handshake failed: a bad certificate or protocol; retrying at once cannot help"


@dataclass(frozen=True, slots=True)
class AddressVerdict:
    """Whether an address may be connected to, and why; truthy when allowed."""

    allowed: bool
    reason: str  # completes "<ip> is …", e.g. "a private address"

    def __bool__(self) -> bool:
        return self.allowed


def check_address(
    ip: str | IPAddress,
    *,
    allow_private: bool = False,
    allowed: Iterable[IPNetwork] = (),
) -> AddressVerdict:
    """Decide whether a resolved address may be connected to; pure, sends nothing."""
    try:
        addr = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
    except ValueError:
        return AddressVerdict(False, "not an IP address")
    if isinstance(addr, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(addr)
        if embedded is not None:
            if not allow_private and (addr.ipv4_mapped is not None or addr in _IPV4_COMPATIBLE):
                return AddressVerdict(False, "an IPv4-mapped IPv6 address")
            inner = check_address(embedded, allow_private=allow_private, allowed=allowed)
            if not inner:
                return AddressVerdict(
                    False, f"an IPv6 address embedding {embedded} ({inner.reason})"
                )
            return inner
    if addr in METADATA_ADDRESSES:
        return AddressVerdict(False, "a cloud metadata address")
    if addr.is_unspecified:
        return AddressVerdict(False, "the unspecified address")
    if addr.is_multicast:
        return AddressVerdict(False, "a multicast address")
    if any(addr in net for net in allowed):
        return AddressVerdict(True, "on the allowlist")
    if addr.is_loopback:
        reason = "a loopback address"
    elif addr.is_link_local:
        reason = "a link-local address"
    elif addr in _CGNAT:
        reason = "a shared (CGNAT) address"
    elif any(addr in net for net in _PRIVATE):
        reason = "a private address"
    elif addr.is_reserved or (isinstance(addr, ipaddress.IPv4Address) and addr.packed[0] == 255):
        return AddressVerdict(False, "a reserved address")
    elif not addr.is_global:
        reason = "a non-public address"
    else:
        return AddressVerdict(True, "a public address")
    return AddressVerdict(True, reason) if allow_private else AddressVerdict(False, reason)


def _embedded_ipv4(addr: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    if addr.sixtofour is not None:
        return addr.sixtofour
    if addr in _IPV4_COMPATIBLE and int(addr) > 1:
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    if any(addr in net for net in _NAT64):
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    return None


def check_url(url: str | httpx.URL, policy: HttpPolicy) -> httpx.URL:
    """The URL parsed, or the named error that forbids fetching it; resolves no names.

    Run on the first URL and on every redirect hop; addresses behind host names
    are vetted again at connect time, where they are resolved.
    """
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
        host = parsed.host.rstrip(".").lower()  # decoding a bad IDNA label raises here
    except (httpx.InvalidURL, UnicodeError) as exc:
        raise InvalidURL(f"invalid URL: {exc}") from None
    if parsed.scheme not in ("http", "https"):
        raise UnsupportedScheme(f"refused: only http and https URLs are fetched, not {url}")
    if not host:
        raise InvalidURL(f"invalid URL: no host in {url}")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise InvalidURL(f"invalid URL: port {parsed.port} out of range")
    if host in METADATA_HOSTNAMES:
        raise BlockedAddress(f"refused: {host} is a cloud metadata host")
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        return parsed
    verdict = check_address(
        literal,
        allow_private=policy.allow_private_hosts,
        allowed=_networks(policy.allowed_networks),
    )
    if not verdict:
        raise BlockedAddress(f"refused: {literal} is {verdict.reason}")
    return parsed


def _networks(specs: Iterable[str]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(s, strict=False) for s in specs)


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves the host itself, vets every address, then connects to a vetted IP.

    Vetting the resolved address (not the URL's spelling) covers DNS rebinding
    and numeric spellings such as 2130706433 or 0x7f.1. TLS still uses the
    original host name: httpcore passes it to start_tls separately.
    """

    def __init__(self, policy: HttpPolicy) -> None:
        self._policy = policy
        self._allowed = _networks(policy.allowed_networks)
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        name = host.rstrip(".").lower()
        if name in METADATA_HOSTNAMES:
            raise BlockedAddress(f"refused: {name} is a cloud metadata host")
        try:
            with anyio.fail_after(timeout):
                infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        # One refused address refuses the name: a host that resolves to both a
        # public and a private address is the shape of a rebinding attack.
        for address in addresses:
            verdict = check_address(
                address, allow_private=self._policy.allow_private_hosts, allowed=self._allowed
            )
            if not verdict:
                raise BlockedAddress(f"refused: {address} is {verdict.reason}")
        error: httpcore.ConnectError | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                error = exc
        raise error or httpcore.ConnectError(f"no address for {host}")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddress(f"refused: unix socket {path}")

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)


@lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle costs ~20 ms; every batch's client shares one context.
    return httpx.create_ssl_context(trust_env=False)


class _GuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, policy: HttpPolicy) -> None:
        limits = httpx.Limits(
            max_connections=policy.max_concurrency,
            max_keepalive_connections=policy.max_concurrency,
        )
        super().__init__(verify=_ssl_context(), limits=limits, trust_env=False)
        # httpx 0.28 cannot take a network backend (encode/httpx#3749), so the
        # pool it built is swapped for one that connects only through the guard;
        # request conversion and exception mapping stay httpx's own.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_GuardedBackend(policy),
        )


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One GET to make, with what is known from last time."""

    url: str
    etag: str | None = None
    last_modified: str | None = None
    min_delay_seconds: float | None = None  # overrides the policy's for this request
    accept: str | None = None
    check_robots: bool = True


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A final (non-redirect) answer; `body` holds at most policy.max_bytes decoded bytes."""

    url: str
    final_url: str
    status: int
    headers: httpx.Headers
    body: bytes = b""
    truncated: bool = False
    redirects: tuple[str, ...] = ()  # the URLs redirected to, in order
    attempts: int = 1
    received_at: datetime | None = None  # when the headers arrived

    @property
    def content_type(self) -> str | None:
        """The media type without parameters, lowercased."""
        media = (self.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
        return media or None

    @property
    def charset(self) -> str | None:
        return charset_of(self.headers.get("content-type"))

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True, slots=True)
class Decision:
    """A politeness or retry choice the client made; tests and benchmarks read these."""

    kind: str  # "delay" (a request got its start slot), "retry", "give-up"
    url: str
    host: str
    seconds: float  # delay: the spacing required after the previous start; retry: the wait
    at: float  # event-loop clock: delay → the slot the request starts at; else when decided
    waited: float = 0.0  # delay: how long the request waited for its slot
    reason: str = ""


def charset_of(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type header, lowercased, or None."""
    if not content_type:
        return None
    for param in content_type.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip("\"'").lower() or None
    return None


def conditional_headers(etag: str | None, last_modified: str | None) -> dict[str, str]:
    """The If-None-Match / If-Modified-Since headers for what a previous response said."""
    headers: dict[str, str] = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a Retry-After header (delta or HTTP date) asks to wait, or None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def is_transient_status(status: int) -> bool:
    """Whether a later attempt may get a different answer."""
    return status in (408, 425, 429) or (status >= 500 and status not in (501, 505))


class _BoundedDecoder:
    """Undoes Content-Encoding without ever producing more than it is asked for.

    httpx decodes a whole network chunk at once, and 64 KB of gzipped zeros
    inflate to 64 MB; here every call is capped, so a bomb costs the cap only.
    """

    def __init__(self, content_encoding: str | None) -> None:
        codings = [
            c.strip().lower()
            for c in (content_encoding or "").split(",")
            if c.strip().lower() not in ("", "identity")
        ]
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
            raise DecodingFailed(f"unsupported Content-Encoding: {content_encoding}")
        self._coding = codings[0] if codings else None
        self._gzip = self._coding in ("gzip", "x-gzip")
        self._z = self._new() if self._coding else None
        self._pending = b""
        self._started = False
        self._done = False

    def _new(self, raw_deflate: bool = False):
        if self._gzip:
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        return zlib.decompressobj(-zlib.MAX_WBITS if raw_deflate else zlib.MAX_WBITS)

    def decode(self, data: bytes, room: int) -> bytes:
        """At most `room` decoded bytes; input beyond that is kept for the next call."""
        if self._z is None:
            return data[:room]
        if self._done:
            return b""
        data = self._pending + data
        out = bytearray()
        try:
            while data and len(out) < room:
                if not self._started and self._coding == "deflate":
                    # Some servers send raw deflate where a zlib stream is due.
                    self._started = True
                    if len(data) >= 2 and (data[0] * 256 + data[1]) % 31 != 0:
                        self._z = self._new(raw_deflate=True)
                out += self._z.decompress(data, room - len(out))
                data = self._z.unconsumed_tail
                if self._z.eof:
                    rest = self._z.unused_data
                    if rest and self._gzip:  # concatenated gzip members
                        self._z = self._new()
                        data = rest + data
                    else:
                        data = b""
                        self._done = True
        except zlib.error as exc:
            raise DecodingFailed(f"cannot decode {self._coding} body: {exc}") from None
        self._pending = data
        return bytes(out)


@dataclass
class _Host:
    semaphore: asyncio.Semaphore
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_start: float | None = None
    crawl_delay: float = 0.0


@dataclass
class HostMemory:
    """What a run remembers of each host from one batch to the next.

    A client lives for one batch, but politeness is owed across them: the delay
    since the host's last request, its crawl delay, and its robots.txt, fetched
    once a run rather than once a batch.
    """

    last_start: dict[str, float] = field(default_factory=dict)  # on the monotonic clock
    crawl_delay: dict[str, float] = field(default_factory=dict)
    robots: dict[str, RobotFileParser | None] = field(default_factory=dict)


class HttpClient:
    """Polite, guarded async GETs; one instance a batch, used as an async context manager."""

    def __init__(self, policy: HttpPolicy, memory: HostMemory | None = None) -> None:
        self.policy = policy
        self.memory = memory if memory is not None else HostMemory()
        self.journal: list[Decision] = []
        self._hosts: dict[str, _Host] = {}
        self._robots: dict[str, asyncio.Task[RobotFileParser | None]] = {}
        self._slots = asyncio.Semaphore(policy.max_concurrency)
        self._client = httpx.AsyncClient(
            transport=_GuardedTransport(policy),
            timeout=httpx.Timeout(
                connect=policy.connect_timeout,
                read=policy.read_timeout,
                write=policy.read_timeout,
                pool=policy.total_timeout,
            ),
            headers={"User-Agent": policy.user_agent, "Accept-Encoding": "gzip, deflate"},
            follow_redirects=False,
            trust_env=False,
        )

    async def __aenter__(self) -> HttpClient:
        await self._client.__aenter__()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for task in self._robots.values():
            task.cancel()
        await self._client.__aexit__(*exc_info)

    async def get(self, request: HttpRequest) -> HttpResponse:
        """GET with redirects, robots.txt, politeness and retries; raises an HttpError subclass."""
        policy = self.policy
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._follow(request)
            except (RequestTimeout, ConnectFailed, NetworkError) as exc:
                if attempt > policy.retries:
                    raise
                wait = policy.backoff_seconds * 2 ** (attempt - 1)
                self._decide("retry", request.url, wait, str(exc))
                await asyncio.sleep(wait)
                continue
            if attempt > policy.retries or not is_transient_status(response.status):
                return replace(response, attempts=attempt)
            wait = policy.backoff_seconds * 2 ** (attempt - 1)
            asked = retry_after_seconds(response.headers.get("retry-after"))
            if asked is not None:
                if asked > policy.max_retry_after:
                    self._decide("give-up", request.url, asked, f"Retry-After {asked:g}s")
                    return replace(response, attempts=attempt)
                wait = asked
            self._decide("retry", request.url, wait, f"HTTP {response.status}")
            await asyncio.sleep(wait)

    async def get_or_error(self, request: HttpRequest) -> HttpResponse | HttpError:
        """Like get, but the failure is returned, so one URL cannot sink a batch."""
        try:
            return await self.get(request)
        except HttpError as exc:
            log.info("GET %s failed: %s", request.url, exc)
            return exc
        except Exception as exc:
            # A failure no mapping foresaw is still one URL's failure; keep the traceback.
            log.exception("GET %s failed unexpectedly", request.url)
            return NetworkError(f"unexpected {type(exc).__name__}: {exc}")

    async def _follow(self, request: HttpRequest) -> HttpResponse:
        headers = conditional_headers(request.etag, request.last_modified)
        if request.accept:
            headers["Accept"] = request.accept
        url = check_url(request.url, self.policy)
        seen = {str(url.copy_with(fragment=None))}
        redirects: list[str] = []
        while True:
            if self.policy.respect_robots and request.check_robots:
                await self._require_robots_allow(url)
            response = await self._exchange(url, headers, request.min_delay_seconds)
            location = response.headers.get("location")
            if response.status not in REDIRECT_STATUSES or not location:
                return HttpResponse(
                    url=request.url,
                    final_url=str(url),
                    status=response.status,
                    headers=response.headers,
                    body=response.body,
                    truncated=response.truncated,
                    redirects=tuple(redirects),
                    received_at=response.received_at,
                )
            target = _join(url, location)
            if str(target) in seen:
                raise RedirectLoop(f"redirect loop at {target}")
            if len(redirects) >= self.policy.max_redirects:
                raise TooManyRedirects(f"more than {self.policy.max_redirects} redirects")
            url = check_url(target, self.policy)
            seen.add(str(target))
            redirects.append(str(target))
            log.debug("redirect %s -> %s", request.url, target)

    async def _exchange(
        self,
        url: httpx.URL,
        headers: Mapping[str, str],
        min_delay: float | None,
        max_bytes: int | None = None,
    ) -> HttpResponse:
        """One request/response on the wire, gated by the host's politeness slots."""
        policy = self.policy
        cap = policy.max_bytes if max_bytes is None else max_bytes
        key = _host_key(url)
        host = self._host(key)
        async with host.semaphore, self._slots:
            delay = max(policy.min_delay_seconds if min_delay is None else min_delay, 0.0)
            delay = max(delay, host.crawl_delay)
            async with host.lock:
                now = asyncio.get_running_loop().time()
                slot = now if host.last_start is None else max(now, host.last_start + delay)
                host.last_start = self.memory.last_start[key] = slot
            self.journal.append(Decision("delay", str(url), key, delay, slot, slot - now))
            if slot > now:
                await asyncio.sleep(slot - now)
            log.debug("GET %s", url)
            try:
                async with asyncio.timeout(policy.total_timeout):
                    return await self._read(url, headers, cap)
            except TimeoutError:
                raise RequestTimeout(f"timed out after {policy.total_timeout:g}s") from None
            except httpx.ConnectTimeout:
                raise RequestTimeout(
                    f"connect timed out after {policy.connect_timeout:g}s"
                ) from None
            except httpx.TimeoutException:
                raise RequestTimeout(f"timed out after {policy.read_timeout:g}s") from None
            except httpx.ConnectError as exc:
                if _caused_by(exc, ssl.SSLError):
                    raise TlsFailed(f"TLS failed for {url.host}: {exc}") from None
                raise ConnectFailed(f"cannot connect to {url.host}: {exc}") from None
            except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
                raise InvalidURL(f"invalid URL {url}: {exc}") from None
            except httpx.RemoteProtocolError as exc:
                # httpx parses Location even with redirects off; a bad one is the
                # server's lasting bug, not a broken connection worth a retry.
                if str(exc).startswith("Invalid URL in location header"):
                    raise InvalidURL(f"invalid redirect from {url}: {exc}") from None
                raise NetworkError(f"{type(exc).__name__}: {exc}") from None
            except httpx.HTTPError as exc:
                raise NetworkError(f"{type(exc).__name__}: {exc}") from None

    async def _read(self, url: httpx.URL, headers: Mapping[str, str], cap: int) -> HttpResponse:
        async with self._client.stream("GET", url, headers=headers) as response:
            received_at = datetime.now(UTC)
            decoder = _BoundedDecoder(response.headers.get("content-encoding"))
            body = bytearray()
            raw_seen = 0
            truncated = False
            # One byte past the cap proves there was more without reading it all.
            async for raw in response.aiter_raw():
                raw_seen += len(raw)
                body += decoder.decode(raw, cap + 1 - len(body))
                if len(body) > cap or raw_seen > cap:
                    truncated = True
                    break
            if truncated:
                log.warning("body of %s cut at %d bytes", url, cap)
            return HttpResponse(
                url=str(url),
                final_url=str(url),
                status=response.status_code,
                headers=response.headers,
                body=bytes(memoryview(body)[:cap]),
                truncated=truncated,
                received_at=received_at,
            )

    def _host(self, key: str) -> _Host:
        host = self._hosts.get(key)
        if host is None:
            # The event loop's clock is the monotonic one, so times carry across batches.
            host = self._hosts[key] = _Host(
                asyncio.Semaphore(self.policy.per_host_concurrency),
                last_start=self.memory.last_start.get(key),
                crawl_delay=self.memory.crawl_delay.get(key, 0.0),
            )
        return host

    def _decide(self, kind: str, url: str, seconds: float, reason: str) -> None:
        now = asyncio.get_running_loop().time()
        key = _host_key(httpx.URL(url)) if "://" in url else url
        self.journal.append(Decision(kind, url, key, seconds, now, reason=reason))
        log.info("%s %s (%s, %.2fs)", kind, url, reason, seconds)

    async def _require_robots_allow(self, url: httpx.URL) -> None:
        origin = f"{url.scheme}://{_host_key(url)}"
        if origin in self.memory.robots:
            parser = self.memory.robots[origin]
            if parser is not None and not parser.can_fetch(self.policy.robots_token, str(url)):
                raise DisallowedByRobots("disallowed by robots.txt")
            return
        task = self._robots.get(origin)
        if task is None:
            # The first request for an origin fetches robots.txt; the rest await it.
            task = self._robots[origin] = asyncio.ensure_future(self._load_robots(url))
        parser = await asyncio.shield(task)
        self.memory.robots[origin] = parser
        if parser is not None and not parser.can_fetch(self.policy.robots_token, str(url)):
            raise DisallowedByRobots("disallowed by robots.txt")

    async def _load_robots(self, url: httpx.URL) -> RobotFileParser | None:
        """The parsed robots.txt of the URL's origin, or None to allow everything."""
        robots_url = url.copy_with(path="/robots.txt", query=None, fragment=None)
        hops = 0
        try:
            while True:
                response = await self._exchange(robots_url, {}, None, ROBOTS_MAX_BYTES)
                location = response.headers.get("location")
                if response.status in REDIRECT_STATUSES and location and hops < 5:
                    hops += 1
                    robots_url = check_url(_join(robots_url, location), self.policy)
                    continue
                break
        except BlockedAddress:
            raise
        except HttpError as exc:
            log.warning("robots.txt of %s unavailable (%s); allowing", url.host, exc)
            return None
        if response.status >= 500:
            log.warning("robots.txt of %s gave HTTP %d; allowing", url.host, response.status)
            return None
        if response.status >= 300:
            return None
        parser = RobotFileParser(str(robots_url))
        parser.parse(response.body.decode("utf-8", "replace").splitlines())
        delay = parser.crawl_delay(self.policy.robots_token)
        if delay:
            key = _host_key(url)
            self._host(key).crawl_delay = self.memory.crawl_delay[key] = min(
                float(delay), MAX_CRAWL_DELAY
            )
        return parser


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _join(url: httpx.URL, location: str) -> httpx.URL:
    """The absolute URL a Location header points to, without its fragment."""
    try:
        return url.join(location).copy_with(fragment=None)
    except (httpx.InvalidURL, UnicodeError) as exc:
        raise InvalidURL(f"invalid redirect to {location!r}: {exc}") from None


def _host_key(url: httpx.URL) -> str:
    host = url.host.rstrip(".").lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{url.port or (443 if url.scheme == 'https' else 80)}"


def run_sync(factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine from synchronous code, also from a thread whose event loop is running."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_await(factory))
    # A loop already runs here (a notebook, an async flow): asyncio.run would refuse.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(_await(factory))).result()


async def _await(factory: Callable[[], Awaitable[T]]) -> T:
    return await factory()


def get_many(
    requests: Sequence[HttpRequest],
    policy: HttpPolicy,
    *,
    journal: list[Decision] | None = None,
    memory: HostMemory | None = None,
) -> list[HttpResponse | HttpError]:
    """GET every request concurrently within the policy; one result a request, in order.

    Failures come back as HttpError instances, never raised, so one bad URL
    cannot sink a batch. `journal`, when given, receives the client's decisions.
    """

    async def batch() -> list[HttpResponse | HttpError]:
        client = HttpClient(policy, memory)
        try:
            async with client:
                return await asyncio.gather(*(client.get_or_error(r) for r in requests))
        finally:
            if journal is not None:
                journal.extend(client.journal)

    return run_sync(batch)


def get_one(request: HttpRequest | str, policy: HttpPolicy) -> HttpResponse:
    """GET one URL synchronously; raises an HttpError subclass when there is no response."""
    if isinstance(request, str):
        request = HttpRequest(request)
    [result] = get_many([request], policy)
    if isinstance(result, HttpError):
        raise result
    return result
