"""HTTP calls to the agent's health check and fault API, confined to one base URL."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

logger = logging.getLogger(__name__)

DEFAULT_HOST = "http://127.0.0.1:8080"
HEALTH_TIMEOUT_S = 3.0
ADMIN_TIMEOUT_S = 5.0


class AgentUnreachable(Exception):
    """The agent's health check failed or could not be reached."""


class FaultApiError(Exception):
    """The agent rejected or failed a call to /admin/faults."""


def default_host() -> str:
    """Return LOADGEN_HOST, or the native lab's agent URL when it is unset."""
    return os.environ.get("LOADGEN_HOST") or DEFAULT_HOST


def normalize_host(host: str) -> str:
    """Return `host` as scheme://netloc, or raise ValueError naming the bad value.

    Paths, queries and credentials are rejected so that every request goes to exactly the
    agent that the caller named and nowhere else.
    """
    parts = urlsplit(host)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"invalid host {host!r}: expected http://HOST:PORT, e.g. {DEFAULT_HOST}")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError(f"invalid host {host!r}: give only scheme, host and port, e.g. {DEFAULT_HOST}")
    try:
        parts.port
    except ValueError as error:
        raise ValueError(f"invalid host {host!r}: {error}") from None
    return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True)
class Fault:
    """One fault to set through POST /admin/faults."""

    target: str
    error_rate: float = 0.0
    latency_ms: int = 0
    duration_s: float | None = None

    def body(self) -> dict:
        body: dict = {"target": self.target, "error_rate": self.error_rate, "latency_ms": self.latency_ms}
        if self.duration_s is not None:
            body["duration_s"] = self.duration_s
        return body

    def describe(self) -> str:
        settings = []
        if self.error_rate:
            settings.append(f"error_rate={self.error_rate:g}")
        if self.latency_ms:
            settings.append(f"latency_ms={self.latency_ms}")
        return f"{self.target}({', '.join(settings)})"


def error_detail(response: requests.Response) -> str:
    """Return the `detail` of an agent error body, or the start of the body as one line."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    if isinstance(detail, str) and detail:
        return detail
    return " ".join(response.text.split())[:200] or "(empty body)"


class AgentClient:
    """Health check and fault API of one agent; redirects are never followed."""

    def __init__(self, host: str) -> None:
        self.host = normalize_host(host)
        self.session = requests.Session()

    def url(self, path: str) -> str:
        return self.host + path

    def check_reachable(self) -> None:
        """Raise AgentUnreachable unless GET /healthz returns 200."""
        try:
            response = self.session.get(self.url("/healthz"), timeout=HEALTH_TIMEOUT_S, allow_redirects=False)
        except requests.RequestException as error:
            raise AgentUnreachable(f"agent at {self.host} is unreachable: {error}") from None
        if response.status_code != 200:
            raise AgentUnreachable(f"agent at {self.host} is not healthy: GET /healthz returned {response.status_code}")

    def set_fault(self, fault: Fault) -> None:
        """Set `fault` on the agent, which forwards target=model faults to the model service."""
        self._admin("POST", json=fault.body())
        logger.info("fault set on %s: %s", self.host, fault.describe())

    def clear_faults(self) -> dict:
        """Remove every fault on the agent and on the model service; return the response body.

        The agent clears its own faults even when the model service is unreachable, and then
        reports the model's error in the body's `model_error`. Callers that set a model fault
        must check it.
        """
        body = self._admin("DELETE").json()
        logger.info("faults cleared on %s: %s", self.host, body.get("cleared"))
        return body

    def active_faults(self) -> list[dict]:
        """Return the active faults of the agent and the model service (GET /admin/faults)."""
        return self._admin("GET").json()["faults"]

    def _admin(self, method: str, **kwargs) -> requests.Response:
        try:
            response = self.session.request(
                method, self.url("/admin/faults"), timeout=ADMIN_TIMEOUT_S, allow_redirects=False, **kwargs
            )
        except requests.RequestException as error:
            raise FaultApiError(f"{method} /admin/faults on {self.host} failed: {error}") from None
        if not response.ok:
            raise FaultApiError(
                f"{method} /admin/faults on {self.host} returned {response.status_code}: {error_detail(response)}"
            )
        return response

    def close(self) -> None:
        self.session.close()
