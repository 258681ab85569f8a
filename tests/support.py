"""Helpers shared by the test suites: free ports, required binaries, polling."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, TypeVar

import pytest

T = TypeVar("T")


def in_ci() -> bool:
    """Return True when running under CI, where a missing tool is a failure."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_binary(name: str) -> str:
    """Return the path of binary `name`, or skip the test (fail it under CI=true)."""
    path = shutil.which(name)
    if path:
        return path
    message = f"required binary {name!r} not found on PATH; run `make test`, which installs it"
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(
    probe: Callable[[], T | None],
    *,
    timeout_s: float,
    what: str,
    interval_s: float = 0.5,
) -> T:
    """Call `probe` until it returns a truthy value, then return that value.

    On timeout the test fails with `what` and the last exception the probe raised,
    so the message says what was awaited and why it never came.
    """
    deadline = time.monotonic() + timeout_s
    last_error: BaseException | None = None
    while True:
        try:
            result = probe()
        except Exception as error:  # noqa: BLE001 - reported in the failure message
            last_error = error
        else:
            if result:
                return result
        if time.monotonic() >= deadline:
            detail = f"; last error: {last_error!r}" if last_error else ""
            pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}{detail}")
        time.sleep(interval_s)


class StubServer:
    """An HTTP server on a free port that returns a fixed (status, content type, body) for every GET."""

    def __init__(self, status: int, content_type: str, body: str) -> None:
        response = (status, content_type, body.encode())

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(response[0])
                self.send_header("Content-Type", response[1])
                self.send_header("Content-Length", str(len(response[2])))
                self.end_headers()
                self.wfile.write(response[2])

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *_exc_info):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
