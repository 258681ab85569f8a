"""Background traffic for the fault scenarios, bounded by request count and time.

Worker threads share one schedule of send times spaced 1/rate apart, so the rate stays constant while
responses are fast and falls when every worker waits on a slow response. That caps the
requests in flight at `concurrency`, however slow the agent gets.
"""

from __future__ import annotations

import collections
import logging
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import requests

logger = logging.getLogger(__name__)

# Status keys for requests that got no HTTP response.
CONNECTION_ERROR = "connection_error"
TIMEOUT = "timeout"


@dataclass(frozen=True)
class Request:
    """One request of the traffic: method, path on the agent, JSON body and headers."""

    method: str
    path: str
    json: dict | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Limits:
    """Bounds of one traffic run. Every value must be positive."""

    rate_per_s: float
    duration_s: float
    max_requests: int
    concurrency: int
    timeout_s: float

    def __post_init__(self) -> None:
        for name in ("rate_per_s", "duration_s", "max_requests", "concurrency", "timeout_s"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"{name} must be positive, got {value!r}")


class Traffic:
    """Sends requests from `next_request` to `host` in daemon threads until a bound is hit.

    `next_request` is called under a lock, once per request, with a random.Random of its own.
    """

    def __init__(
        self,
        host: str,
        next_request: Callable[[random.Random], Request],
        limits: Limits,
        *,
        seed: int | None = None,
    ) -> None:
        self.host = host
        self.next_request = next_request
        self.limits = limits
        self.rng = random.Random(seed)
        self.status_counts: collections.Counter[str] = collections.Counter()
        self.requests_sent = 0
        self.started_at: float | None = None
        self.stopped_at: float | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._next_send_at = 0.0
        self._threads: list[threading.Thread] = []
        self._workers_done = 0

    def start(self) -> None:
        if self._threads:
            raise RuntimeError("traffic already started")
        self.started_at = time.monotonic()
        self._next_send_at = self.started_at
        for index in range(self.limits.concurrency):
            thread = threading.Thread(target=self._run_worker, name=f"loadgen-traffic-{index}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Wait until the traffic ends by itself or `timeout_s` passes; return True if it ended."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        for thread in self._threads:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            thread.join(remaining)
        return not self.running

    @property
    def running(self) -> bool:
        return any(thread.is_alive() for thread in self._threads)

    def stop(self, grace_s: float = 5.0) -> None:
        """Stop sending and wait up to `grace_s` for requests in flight.

        Threads still waiting on a response after that are daemons, so they never hold up
        interpreter exit; their responses still count if they arrive.
        """
        self._stop.set()
        self.wait(grace_s)
        if self.stopped_at is None:
            self.stopped_at = time.monotonic()

    @property
    def in_flight(self) -> int:
        """Requests sent whose response has not arrived (nonzero only after a stop)."""
        with self._lock:
            return self.requests_sent - sum(self.status_counts.values())

    @property
    def elapsed_s(self) -> float:
        if self.started_at is None:
            return 0.0
        end = self.stopped_at if self.stopped_at is not None else time.monotonic()
        return end - self.started_at

    def _claim_send_time(self) -> tuple[float, Request] | None:
        """Reserve the next send slot, or return None when a bound is reached."""
        with self._lock:
            if self._stop.is_set() or self.requests_sent >= self.limits.max_requests:
                return None
            send_at = max(self._next_send_at, time.monotonic())
            if send_at - self.started_at >= self.limits.duration_s:
                return None
            self._next_send_at = send_at + 1.0 / self.limits.rate_per_s
            self.requests_sent += 1
            return send_at, self.next_request(self.rng)

    def _run_worker(self) -> None:
        session = requests.Session()
        try:
            while True:
                claim = self._claim_send_time()
                if claim is None:
                    break
                send_at, request = claim
                if self._stop.wait(max(0.0, send_at - time.monotonic())):
                    with self._lock:
                        self.requests_sent -= 1
                    break
                self._record(self._send(session, request))
        finally:
            session.close()
            with self._lock:
                self._workers_done += 1
                if self._workers_done == self.limits.concurrency and self.stopped_at is None:
                    self.stopped_at = time.monotonic()

    def _send(self, session: requests.Session, request: Request) -> str:
        try:
            response = session.request(
                request.method,
                self.host + request.path,
                json=request.json,
                headers=request.headers,
                timeout=self.limits.timeout_s,
                allow_redirects=False,
            )
        except requests.Timeout:
            return TIMEOUT
        except requests.RequestException as error:
            logger.debug("%s %s failed: %s", request.method, request.path, error)
            return CONNECTION_ERROR
        return str(response.status_code)

    def _record(self, status: str) -> None:
        with self._lock:
            self.status_counts[status] += 1
