"""HTTP on loopback that behaves like Kestrel where clients can tell (reference README §2).

HTTP/1.1 keep-alive with Kestrel's 130 s timeout, ``Server: Kestrel``, Nagle off, chunked
request bodies read, and answers that can break off mid-body (``_Resp.partial``).
"""
from __future__ import annotations

import http.server
import socket
import sys

from .responses import _Resp


class _Server(http.server.ThreadingHTTPServer):
    """A threading HTTP server that stays quiet about clients that vanish."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 256

    def handle_error(self, request, client_address):  # quiet: clients vanish all the time in tests
        pass


class _Handler(http.server.BaseHTTPRequestHandler):
    """Hands every request to the fake (``fake._handle``); Kestrel-like headers and timeouts."""

    protocol_version = "HTTP/1.1"
    server_version = "Kestrel"
    sys_version = ""
    timeout = 130  # Kestrel's keep-alive timeout
    fake: "FakeServarr" = None  # type: ignore[assignment]

    def version_string(self) -> str:
        return "Kestrel"

    def setup(self):
        super().setup()
        # Kestrel has Nagle off. With it on, the body (our second send()) waits for the client's
        # delayed ACK of the headers: ~40 ms added to every answer on Linux loopback
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.fake._conn_opened(self.connection)

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.fake._conn_closed(self.connection)

    def handle(self):
        try:
            super().handle()
        except (OSError, ValueError):
            pass

    def log_message(self, format, *args):  # noqa: A002
        if self.fake.verbose:
            sys.stderr.write(f"[{self.fake.APP_NAME}] {self.address_string()} {format % args}\n")

    def _any(self):
        self.fake._handle(self)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _any


class TransportMixin:
    """Reading request bodies and writing answers for the fake."""

    @staticmethod
    def _drop(h: _Handler) -> None:
        h.close_connection = True

    @staticmethod
    def _read_body(h: _Handler) -> bytes:
        if "chunked" in (h.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size_line = h.rfile.readline(65537)
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while h.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(h.rfile.read(size))
                h.rfile.readline(65537)
            return b"".join(chunks)
        n = int(h.headers.get("Content-Length") or 0)
        if n < 0:
            raise ValueError("negative Content-Length")
        return h.rfile.read(n) if n else b""

    def _send(self, h: _Handler, resp: _Resp) -> None:
        try:
            h.send_response(resp.status)
            if resp.ctype:
                h.send_header("Content-Type", resp.ctype)
            for k, v in resp.headers:
                h.send_header(k, v)
            if resp.partial is not None:
                # a response that breaks off: chunked, never terminated, then the connection drops
                h.send_header("Transfer-Encoding", "chunked")
                h.end_headers()
                if resp.partial:
                    h.wfile.write(b"%x\r\n%s\r\n" % (len(resp.partial), resp.partial))
                h.wfile.flush()
                h.close_connection = True
                return
            if resp.stream is not None:
                h.send_header("Transfer-Encoding", "chunked")
                h.end_headers()
                for piece in resp.stream:
                    if piece and h.command != "HEAD":
                        h.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                h.wfile.write(b"0\r\n\r\n")
                return
            h.send_header("Content-Length", str(len(resp.body)))
            h.end_headers()
            if resp.body and h.command != "HEAD":
                h.wfile.write(resp.body)
        except OSError:
            h.close_connection = True
