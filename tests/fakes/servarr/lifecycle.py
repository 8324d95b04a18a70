"""Starting and stopping a fake: a background thread, the same port again after ``stop()``
(so ``url`` stays stable), open keep-alive connections dropped on stop, and an "epoch" that
lets ``stop()``/``reset()`` end waiting (delayed or hanging) requests without an answer.
"""
from __future__ import annotations

import socket
import threading
import time

from .transport import _Handler, _Server


class LifecycleMixin:
    """start/stop/url/port/running, the context manager, connection tracking and epochs."""

    def start(self, host: str = "127.0.0.1", port: int = 0):
        """Listen in a background thread. Again after stop(): the same port as before."""
        with self._lock:
            if self._srv is not None:
                return self
            if port == 0 and self._port:
                port, host = self._port, self._host or host
            handler = type(f"{self.APP_NAME}Handler", (_Handler,), {"fake": self})
            deadline = time.monotonic() + 5
            while True:
                try:
                    srv = _Server((host, port), handler)
                    break
                except OSError:
                    if port == 0 or time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            self._srv, self._host, self._port = srv, host, srv.server_address[1]
            self._thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                                            name=f"fake-{self.APP_NAME.lower()}-{self._port}", daemon=True)
            self._thread.start()
            return self

    def stop(self) -> None:
        """Stop listening (new connections are refused) and drop open connections."""
        with self._lock:
            srv, thread = self._srv, self._thread
            self._srv = self._thread = None
            conns = list(self._conns)
        if srv is None:
            return
        self._new_epoch()  # wakes delayed/hanging requests: they end without an answer
        srv.shutdown()
        srv.server_close()
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if thread is not None:
            thread.join(5)

    @property
    def running(self) -> bool:
        return self._srv is not None

    @property
    def url(self) -> str:
        if self._port is None:
            raise RuntimeError(f"Fake{self.APP_NAME} was never started")
        host = "127.0.0.1" if self._host in ("", "0.0.0.0") else self._host
        if host and ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self._port}"

    @property
    def port(self) -> int | None:
        return self._port

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        where = self.url if self._port else "not started"
        return f"<Fake{self.APP_NAME} {where} {'up' if self.running else 'down'} {len(self.library)} items>"

    def _new_epoch(self) -> None:
        with self._lock:
            self._epoch += 1
            old, self._wake = self._wake, threading.Event()
        old.set()

    def _conn_opened(self, sock: socket.socket) -> None:
        with self._lock:
            self._conns.add(sock)
            self.connections_opened += 1

    def _conn_closed(self, sock: socket.socket) -> None:
        with self._lock:
            self._conns.discard(sock)
