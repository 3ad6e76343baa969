"""Real local servers and a fake StepContext for the executors' tests (no engine needed)."""

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest

from apps.blocks.executors.base import StepContext

CHUNK = b"x" * (64 * 1024)


class ListOutput:
    """An OutputSink that keeps what was written, in order."""

    def __init__(self):
        self.chunks: list[str] = []

    def write(self, text: str) -> None:
        self.chunks.append(text)

    def flush(self) -> None:
        pass

    @property
    def text(self) -> str:
        return "".join(self.chunks)


@pytest.fixture
def make_ctx():
    def make(kind: str, config: dict, *, params=None, steps=None, credentials=None, cancelled=lambda: False):
        return StepContext(
            execution_id=1,
            step_run_id=1,
            block={"key": "step", "title": "Step", "kind": kind, "config": config},
            params=params or {},
            steps=steps or {},
            environment={},
            credentials=credentials or {},
            output=ListOutput(),
            is_cancelled=cancelled,
        )

    return make


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _record(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.requests.append(
            SimpleNamespace(
                method=self.command,
                path=self.path,
                headers=dict(self.headers.items()),
                raw_headers=list(self.headers.items()),
                body=body,
            )
        )
        return body

    def _send(self, status: int, body: bytes, content_type="application/json", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        body = self._record()
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if url.path == "/json":
            self._send(200, json.dumps({"status": "ok", "hosts": ["a", "b"]}).encode())
        elif url.path.startswith("/status/"):
            self._send(int(url.path.rsplit("/", 1)[1]), b'{"error": "nope"}')
        elif url.path == "/echo":
            self._send(200, json.dumps({"headers": dict(self.headers.items()), "body": body.decode()}).encode())
        elif url.path == "/text":
            self._send(200, b"plain words\n", content_type="text/plain; charset=utf-8")
        elif url.path == "/cookie":
            self._send(200, b"{}", extra=[("Set-Cookie", "session=abc"), ("X-Trace", "t-1")])
        elif url.path == "/redirect":
            self._send(int(query.get("status", ["302"])[0]), b"", extra=[("Location", query["to"][0])])
        elif url.path == "/big":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(50 * 1024 * 1024))
            self.end_headers()
            try:
                for _ in range(50 * 1024 * 1024 // len(CHUNK)):
                    self.wfile.write(CHUNK)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped reading at its cap, as it should
        else:
            self._send(404, b"{}")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = handle_any


@pytest.fixture
def http_server():
    """A real HTTP server on 127.0.0.1; `.url` is its base, `.requests` what it received."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    server.port = server.server_address[1]
    server.url = f"http://127.0.0.1:{server.port}"
    yield server
    server.shutdown()
    server.server_close()


class Listener:
    """A plain TCP socket that counts the connections it accepts and never answers them."""

    def __init__(self, family=socket.AF_INET, host="127.0.0.1"):
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                connection, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.accepted.append(connection)

    @property
    def connections(self) -> int:
        return len(self.accepted)

    def close(self):
        self._stop.set()
        self._thread.join()
        for connection in self.accepted:
            connection.close()
        self.sock.close()


@pytest.fixture
def listener():
    listening = Listener()
    yield listening
    listening.close()


@pytest.fixture
def listener_v6():
    try:
        listening = Listener(socket.AF_INET6, "::1")
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    yield listening
    listening.close()


@pytest.fixture
def allow_local(settings):
    """Open 127.0.0.1 to API calls, as an administrator would for an internal service."""
    settings.RUNBOOKS_HTTP_ALLOWLIST = ["127.0.0.1/32"]
    return settings
