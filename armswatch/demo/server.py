"""A threaded local HTTP server replaying corpus folders and staging faults, for demo and tests."""

from __future__ import annotations

import hashlib
import json
import mimetypes
import socket
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote, urlsplit

Handler = Callable[["ReplayHandler"], None]

TEXT_SUFFIXES = frozenset({".html", ".htm", ".xml", ".rss", ".atom", ".json", ".toml", ".txt"})


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the server saw it; header names are lowercased."""

    method: str
    path: str  # with the query string
    headers: dict[str, str]
    body: bytes = b""  # of a POST: webhooks under test post here


@dataclass(frozen=True, slots=True)
class _File:
    body: bytes
    content_type: str
    etag: str
    last_modified: str
    mtime: int


class ReplayHandler(BaseHTTPRequestHandler):
    """The request a route handler gets: read `.path`, `.headers`; write with `send`."""

    protocol_version = "HTTP/1.1"  # keep-alive, so benchmarks measure the client, not handshakes
    timeout = 30  # an idle keep-alive connection frees its thread after this
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    server: _Server

    def do_GET(self) -> None:
        self.server.replay._dispatch(self)

    def do_HEAD(self) -> None:
        self.server.replay._dispatch(self)

    def do_POST(self) -> None:
        self.server.replay._dispatch(self)

    def log_message(self, format: str, *args: object) -> None:
        pass  # `.requests` is the log

    @property
    def replay(self) -> ReplayServer:
        return self.server.replay

    def send(
        self,
        status: int,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Write a whole response with a Content-Length; HEAD gets the headers only."""
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if status != 304 and not any(n.lower() == "content-length" for n in headers or {}):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and status != 304:
            self.wfile.write(body)

    def pause(self, seconds: float) -> None:
        """Sleep, but wake at once when the server stops."""
        self.server.replay._stopping.wait(seconds)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default 5 drops connections a benchmark opens at once
    replay: ReplayServer

    def handle_error(self, request: object, client_address: object) -> None:
        # Clients under test hang up mid-response on purpose; that is no server error.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Server6(_Server):
    address_family = socket.AF_INET6


class ReplayServer:
    """Serves the first of `layers` that has a path; routes added with add_route win over files."""

    def __init__(
        self,
        layers: Sequence[Path | str] = (),
        substitutions: Mapping[str, str] | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._routes: dict[str, Handler] = {}
        self._cache: dict[Path, tuple[int, _File]] = {}
        self._stopping = threading.Event()
        self._extra = dict(substitutions or {})
        self.set_layers(layers)
        server_class = _Server6 if ":" in host else _Server
        self._httpd = server_class((host, 0), ReplayHandler)
        self._httpd.replay = self
        port = self._httpd.server_address[1]
        self.base_url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
        self._substitutions = [
            (k.encode(), v.encode()) for k, v in {"__BASE__": self.base_url, **self._extra}.items()
        ]
        self._thread: threading.Thread | None = None

    def __enter__(self) -> ReplayServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"replay-server-{self.base_url}",
            daemon=True,
        )
        self._thread.start()

    def close(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
        self._httpd.server_close()

    def url(self, path: str) -> str:
        return self.base_url + path

    def set_layers(self, layers: Iterable[Path | str]) -> None:
        """Switch what is served, e.g. from one polling cycle's corpus to the next."""
        self._layers = tuple(Path(layer).resolve() for layer in layers)

    def add_route(self, path: str, handler: Handler) -> None:
        """Answer `path` (query string ignored) with `handler` instead of a file."""
        with self._lock:
            self._routes[path] = handler

    def remove_route(self, path: str) -> None:
        with self._lock:
            self._routes.pop(path, None)

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    def paths(self) -> list[str]:
        """The paths requested so far, in arrival order."""
        with self._lock:
            return [r.path for r in self.requests]

    def _dispatch(self, h: ReplayHandler) -> None:
        headers = {name.lower(): value for name, value in h.headers.items()}
        path = urlsplit(h.path).path
        body = b""
        if h.command == "POST":
            body = h.rfile.read(min(int(headers.get("content-length") or 0), 1 << 20))
        with self._lock:
            self.requests.append(RecordedRequest(h.command, h.path, headers, body))
            route = self._routes.get(path)
        try:
            if route is not None:
                route(h)
            elif h.command == "POST":
                h.send(204)
            else:
                self._serve_file(h, unquote(path))
        except ConnectionError:
            h.close_connection = True  # the client went away, as clients under test do

    def _serve_file(self, h: ReplayHandler, path: str) -> None:
        if path.endswith("/"):
            path += "index.html"
        found = self._load(path)
        if found is None:
            h.send(404, b"not found\n", {"Content-Type": "text/plain; charset=utf-8"})
            return
        validators = {"ETag": found.etag, "Last-Modified": found.last_modified}
        if _not_modified(h, found):
            h.send(304, headers=validators)
            return
        h.send(200, found.body, {"Content-Type": found.content_type, **validators})

    def _load(self, path: str) -> _File | None:
        for layer in self._layers:
            candidate = (layer / path.lstrip("/")).resolve()
            if candidate.is_relative_to(layer) and candidate.is_file():
                break
        else:
            return None
        stat = candidate.stat()
        with self._lock:
            cached = self._cache.get(candidate)
        if cached is not None and cached[0] == stat.st_mtime_ns:
            return cached[1]
        body = candidate.read_bytes()
        if candidate.suffix.lower() in TEXT_SUFFIXES:
            for old, new in self._substitutions:
                body = body.replace(old, new)
        loaded = _File(
            body=body,
            content_type=guess_content_type(candidate, body),
            etag='"' + hashlib.sha256(body).hexdigest()[:20] + '"',
            last_modified=formatdate(stat.st_mtime, usegmt=True),
            mtime=int(stat.st_mtime),
        )
        with self._lock:
            self._cache[candidate] = (stat.st_mtime_ns, loaded)
        return loaded


def _not_modified(h: ReplayHandler, found: _File) -> bool:
    # If-None-Match wins over If-Modified-Since when both are sent (RFC 9110 13.2.2).
    if_none_match = h.headers.get("If-None-Match")
    if if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return "*" in tags or found.etag in tags
    since = h.headers.get("If-Modified-Since")
    if since:
        try:
            return found.mtime <= parsedate_to_datetime(since).timestamp()
        except (TypeError, ValueError):
            return False
    return False


def guess_content_type(path: Path, body: bytes) -> str:
    """The Content-Type to serve a file with; feeds are told apart by sniffing."""
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        return "text/html; charset=utf-8"
    if suffix in (".xml", ".rss", ".atom"):
        head = body[:4096].lower()
        if b"<feed" in head:
            return "application/atom+xml"
        if b"<rss" in head or b"<rdf:rdf" in head:
            return "application/rss+xml"
        return "application/xml"
    if suffix == ".json":
        try:
            version = str(json.loads(body).get("version", ""))
        except (ValueError, AttributeError):
            version = ""
        if version.startswith("https://jsonfeed.org/"):
            return "application/feed+json"
        return "application/json"
    if suffix == ".toml":
        return "application/toml"
    if suffix == ".txt":
        return "text/plain; charset=utf-8"
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


# Ready-made route handlers for fault scenarios.


def respond(
    status: int = 200,
    body: bytes | str = b"",
    headers: Mapping[str, str] | None = None,
    content_type: str | None = "text/plain; charset=utf-8",
) -> Handler:
    """A fixed answer, sent again at every request."""
    data = body.encode() if isinstance(body, str) else body
    all_headers = {"Content-Type": content_type} if content_type else {}
    all_headers.update(headers or {})

    def handler(h: ReplayHandler) -> None:
        h.send(status, data, all_headers)

    return handler


def no_validators(body: bytes | str, content_type: str = "application/rss+xml") -> Handler:
    """The same body every time, without ETag or Last-Modified."""
    return respond(200, body, content_type=content_type)


def sequence(*handlers: Handler) -> Handler:
    """The first handler for the first request, the next for the next…; the last one repeats."""
    lock = threading.Lock()
    remaining = list(handlers)

    def handler(h: ReplayHandler) -> None:
        with lock:
            current = remaining.pop(0) if len(remaining) > 1 else remaining[0]
        current(h)

    return handler


def slow(seconds: float, then: Handler) -> Handler:
    """Wait before sending anything, then answer as `then` does."""

    def handler(h: ReplayHandler) -> None:
        h.pause(seconds)
        then(h)

    return handler


def stall(
    body: bytes,
    after: int,
    seconds: float,
    content_type: str = "text/html; charset=utf-8",
) -> Handler:
    """Send the headers and `after` bytes of the body, go quiet for `seconds`, send the rest."""

    def handler(h: ReplayHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body[:after])
        h.wfile.flush()
        h.pause(seconds)
        h.wfile.write(body[after:])

    return handler


def trickle(
    body: bytes,
    chunk: int,
    interval: float,
    content_type: str = "text/html; charset=utf-8",
) -> Handler:
    """Send the body `chunk` bytes at a time, `interval` seconds apart: never silent, never done."""

    def handler(h: ReplayHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        for start in range(0, len(body), chunk):
            h.wfile.write(body[start : start + chunk])
            h.wfile.flush()
            h.pause(interval)

    return handler


def redirect(location: str, status: int = 302) -> Handler:
    """A redirect to `location` (relative, absolute, or with `__BASE__` for this server)."""

    def handler(h: ReplayHandler) -> None:
        target = location.replace("__BASE__", h.replay.base_url)
        h.send(status, b"", {"Location": target})

    return handler
