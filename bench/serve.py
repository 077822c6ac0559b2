"""A fast, pre-loaded HTTP/1.1 server for benchmarks; binds 127.0.0.1 only.

ReplayServer (armswatch/demo/server.py) reads, stats and caches files per
request on a thread per connection; at 10,000 pages that server costs more CPU
than the client it serves on a 2-core machine. This one loads every file of the
given folders into memory at start (replacing `__BASE__` by its base URL, as
ReplayServer does), precomputes the response headers, and answers from one
asyncio event loop: keep-alive, GET and HEAD, ETag / Last-Modified and
conditional GET (304), 404 for anything else.

    python bench/serve.py DIR [DIR…] [--port 0] [--ready-file F]

prints `READY http://127.0.0.1:PORT` once it listens (and writes the URL to
--ready-file), and serves until SIGTERM/SIGINT. `GET /__bench/stats` answers
JSON counts of requests and statuses; `GET /__bench/reset` zeroes them.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import mimetypes
import os
import resource
import signal
import sys
import time
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path

HOST = "127.0.0.1"  # loopback only, never anything else


def content_type(path: Path, body: bytes) -> bytes:
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        return b"text/html; charset=utf-8"
    if suffix in (".xml", ".rss", ".atom"):
        head = body[:4096].lower()
        if b"<feed" in head:
            return b"application/atom+xml"
        if b"<rss" in head or b"<rdf:rdf" in head:
            return b"application/rss+xml"
        return b"application/xml"
    if suffix == ".json":
        return (
            b"application/feed+json"
            if b"jsonfeed.org/version" in body[:400]
            else b"application/json"
        )
    if suffix == ".txt":
        return b"text/plain; charset=utf-8"
    return (mimetypes.guess_type(path.name)[0] or "application/octet-stream").encode()


class Entry:
    __slots__ = ("body", "etag", "head_200", "head_304", "mtime")

    def __init__(self, body: bytes, ctype: bytes, mtime: float) -> None:
        self.body = body
        self.etag = b'"' + hashlib.blake2b(body, digest_size=10).hexdigest().encode() + b'"'
        self.mtime = int(mtime)
        last_modified = formatdate(mtime, usegmt=True).encode()
        common = b"ETag: " + self.etag + b"\r\nLast-Modified: " + last_modified + b"\r\n"
        self.head_200 = (
            b"HTTP/1.1 200 OK\r\nContent-Type: "
            + ctype
            + b"\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n"
            + common
        )
        self.head_304 = b"HTTP/1.1 304 Not Modified\r\n" + common


def load(roots: list[Path], base_url: str) -> tuple[dict[str, Entry], int]:
    """Every file under the roots by URL path; the first root that has a path wins."""
    files: dict[str, Entry] = {}
    total = 0
    base = base_url.encode()
    for root in roots:
        root = root.resolve()
        for dirpath, _dirs, names in os.walk(root):
            for name in names:
                path = Path(dirpath) / name
                url = "/" + path.relative_to(root).as_posix()
                if url in files:
                    continue
                body = path.read_bytes().replace(b"__BASE__", base)
                files[url] = Entry(body, content_type(path, body), path.stat().st_mtime)
                total += len(body)
    return files, total


NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n"
BAD = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class Stats:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.requests = 0
        self.status: dict[int, int] = {}
        self.bytes = 0
        self.connections = 0


class HttpProtocol(asyncio.Protocol):
    def __init__(self, files: dict[str, Entry], stats: Stats) -> None:
        self.files = files
        self.stats = stats
        self.buf = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.stats.connections += 1

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > 65536:
                    self._send(BAD, 400)
                    self.transport.close()
                return
            raw, self.buf = self.buf[:end], self.buf[end + 4 :]
            if not self._handle(raw):
                self.transport.close()
                return

    def _send(self, data: bytes, status: int, body: bytes = b"") -> None:
        self.stats.requests += 1
        self.stats.status[status] = self.stats.status.get(status, 0) + 1
        self.stats.bytes += len(body)
        if body:
            self.transport.writelines((data, body))
        else:
            self.transport.write(data)

    def _handle(self, raw: bytes) -> bool:
        lines = raw.split(b"\r\n")
        parts = lines[0].split(b" ")
        if len(parts) != 3:
            self._send(BAD, 400)
            return False
        method, target, version = parts
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        keep = version == b"HTTP/1.1" and headers.get(b"connection", b"").lower() != b"close"
        conn = b"Connection: keep-alive\r\n\r\n" if keep else b"Connection: close\r\n\r\n"
        path = target.split(b"?", 1)[0].decode("utf-8", "replace")
        if path.startswith("/__bench/"):
            if path == "/__bench/reset":
                self.stats.reset()
            body = json.dumps(
                {
                    "requests": self.stats.requests,
                    "status": self.stats.status,
                    "bytes": self.stats.bytes,
                    "connections": self.stats.connections,
                    "cpu_seconds": round(time.process_time(), 3),
                }
            ).encode()
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
            self.transport.write(head + str(len(body)).encode() + b"\r\n" + conn + body)
            return keep
        entry = self.files.get(path)
        if entry is None and path.endswith("/"):
            entry = self.files.get(path + "index.html")
        if entry is None:
            self._send(NOT_FOUND + conn, 404, b"" if method == b"HEAD" else b"not found\n")
            return keep
        if _not_modified(headers, entry):
            self._send(entry.head_304 + conn, 304)
            return keep
        self._send(entry.head_200 + conn, 200, b"" if method == b"HEAD" else entry.body)
        return keep


def _not_modified(headers: dict[bytes, bytes], entry: Entry) -> bool:
    inm = headers.get(b"if-none-match")
    if inm is not None:
        tags = {t.strip().removeprefix(b"W/") for t in inm.split(b",")}
        return b"*" in tags or entry.etag in tags
    ims = headers.get(b"if-modified-since")
    if ims:
        try:
            return entry.mtime <= parsedate_to_datetime(ims.decode()).timestamp()
        except (TypeError, ValueError):
            return False
    return False


async def serve(roots: list[Path], port: int, ready_file: Path | None) -> None:
    loop = asyncio.get_running_loop()
    stats = Stats()
    files: dict[str, Entry] = {}
    server = await loop.create_server(
        lambda: HttpProtocol(files, stats), HOST, port, backlog=1024, reuse_address=True
    )
    actual = server.sockets[0].getsockname()[1]
    base = f"http://{HOST}:{actual}"
    started = time.perf_counter()
    loaded, total = load(roots, base)
    files.update(loaded)
    print(
        f"loaded {len(files)} files, {total / 1e6:.0f} MB in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    if ready_file is not None:
        ready_file.write_text(base, "utf-8")
    print(f"READY {base}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"served {stats.requests} requests {stats.status}, cpu {time.process_time():.1f} s, "
        f"peak RSS {rss:.0f} MB",
        file=sys.stderr,
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("roots", nargs="+", type=Path, help="folders to serve, first wins")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--ready-file", type=Path)
    args = ap.parse_args(argv)
    asyncio.run(serve(args.roots, args.port, args.ready_file))
    return 0


if __name__ == "__main__":
    sys.exit(main())
