"""HTTP client of the agent for the model service, with its span and metrics."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from opentelemetry import trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.trace import SpanKind, Status, StatusCode
from requests.adapters import HTTPAdapter

from agentlab.agent.metrics import AgentMetrics
from agentlab.logging_setup import request_id_var
from agentlab.model import GEN_AI_PROVIDER
from agentlab.telemetry import trace_exemplar
from agentlab.tokens import count_tokens

logger = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

READY_TIMEOUT_S = 2.0
ADMIN_TIMEOUT_S = 5.0
UNKNOWN = "unknown"


class ModelCallError(Exception):
    """An inference call failed; `error_type` is model_error or model_timeout.

    `code` is the model's own error code when the agent passes it on to its client.
    """

    def __init__(self, error_type: str, http_status: int, detail: str, code: str | None = None) -> None:
        super().__init__(detail)
        self.error_type = error_type
        self.http_status = http_status
        self.detail = detail
        self.code = code


@dataclass(frozen=True)
class Completion:
    """One successful inference: the text and the tokens the agent counted."""

    text: str
    model_name: str
    model_version: str
    input_tokens: int
    output_tokens: int
    latency_s: float


class ModelClient:
    """Calls POST /v1/completions and the model's admin and readiness routes."""

    def __init__(self, base_url: str, timeout_s: float, metrics: AgentMetrics, pool_size: int) -> None:
        self.base_url = base_url
        self._address = urlsplit(base_url)
        self.timeout_s = timeout_s
        self.metrics = metrics
        self.session = requests.Session()
        self.session.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=pool_size))
        self.session.mount("https://", HTTPAdapter(pool_connections=1, pool_maxsize=pool_size))
        # Labels for calls that get no response: the identity the model last reported.
        self._identity_lock = threading.Lock()
        self._identity = (UNKNOWN, UNKNOWN)

    @property
    def identity(self) -> tuple[str, str]:
        """(model_name, model_version) as last reported by the model service."""
        with self._identity_lock:
            return self._identity

    def _remember(self, name: Any, version: Any) -> tuple[str, str]:
        if isinstance(name, str) and isinstance(version, str) and name and version:
            with self._identity_lock:
                self._identity = (name, version)
        return self.identity

    def complete(self, prompt: str, max_tokens: int) -> Completion:
        """Run one inference, raising ModelCallError when the model fails or times out."""
        known_name, _ = self.identity
        input_tokens = count_tokens(prompt)
        # The agent does not choose a model. Until the service has named its model, the span
        # has no gen_ai.request.model and takes its name from the response.
        span_name = "text_completion" if known_name == UNKNOWN else f"text_completion {known_name}"
        with tracer.start_as_current_span(span_name, kind=SpanKind.CLIENT) as span:
            span.set_attributes({
                "gen_ai.operation.name": "text_completion",
                "gen_ai.provider.name": GEN_AI_PROVIDER,
                "gen_ai.request.max_tokens": max_tokens,
                "gen_ai.usage.input_tokens": input_tokens,
                "server.address": self._address.hostname or "",
                "server.port": self._address.port or (443 if self._address.scheme == "https" else 80),
            })
            if known_name != UNKNOWN:
                span.set_attribute("gen_ai.request.model", known_name)
            start_s = time.perf_counter()
            try:
                body = self._post_completion(prompt, max_tokens)
            except ModelCallError as error:
                latency_s = time.perf_counter() - start_s
                self.metrics.inference_latency.labels(*self.identity).observe(latency_s, exemplar=trace_exemplar())
                span.set_status(Status(StatusCode.ERROR, error.detail))
                span.set_attribute("error.type", error.error_type)
                raise
            latency_s = time.perf_counter() - start_s

            name, version = self._remember(body.get("model"), body.get("model_version"))
            text = body["completion"]
            output_tokens = count_tokens(text)
            self.metrics.inference_latency.labels(name, version).observe(latency_s, exemplar=trace_exemplar())
            self.metrics.tokens.labels(name, "input").inc(input_tokens)
            self.metrics.tokens.labels(name, "output").inc(output_tokens)
            span.update_name(f"text_completion {name}")
            span.set_attributes({
                "gen_ai.response.model": name,
                "gen_ai.usage.output_tokens": output_tokens,
                "agentlab.model.version": version,
            })
        return Completion(text, name, version, input_tokens, output_tokens, latency_s)

    def _post_completion(self, prompt: str, max_tokens: int) -> dict[str, Any]:
        url = f"{self.base_url}/v1/completions"
        # The model logs under the same request id, so one id finds both services' lines.
        request_id = request_id_var.get()
        headers = {"X-Request-ID": request_id} if request_id else {}
        try:
            response = self.session.post(url, json={"prompt": prompt, "max_tokens": max_tokens},
                                         headers=headers, timeout=self.timeout_s)
        except requests.Timeout:
            raise ModelCallError("model_timeout", 504, f"the model service timed out after "
                                 f"MODEL_TIMEOUT_S={self.timeout_s:g} s; raise it or clear model latency faults") from None
        except requests.RequestException as error:
            raise ModelCallError("model_error", 502, f"the model service at {self.base_url} is "
                                 f"unreachable ({type(error).__name__}); check MODEL_URL and that it runs") from None
        if response.status_code == 400:
            # The model rejected the prompt the task produced (e.g. over its context window),
            # so the task's input is at fault: the client gets a 400, never a 5xx.
            code, detail = _error_fields(response)
            raise ModelCallError("model_error", 400, f"the model service rejected the prompt: {detail}",
                                 code=code)
        if response.status_code != 200:
            reason = _error_code(response)
            raise ModelCallError("model_error", 502, f"the model service returned {response.status_code} "
                                 f"({reason}) to POST /v1/completions")
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("completion"), str):
            raise ModelCallError("model_error", 502, "the model service returned 200 without a "
                                 "'completion' string")
        return body

    def ready(self) -> dict[str, Any]:
        """Return the model's /readyz JSON, raising ModelCallError when it is not ready.

        Not traced: probes poll this every few seconds.
        """
        with suppress_instrumentation():
            try:
                response = self.session.get(f"{self.base_url}/readyz", timeout=READY_TIMEOUT_S)
                body = response.json() if response.status_code == 200 else None
            except (requests.RequestException, ValueError) as error:
                raise ModelCallError("model_error", 503, f"the model service at {self.base_url} is "
                                     f"unreachable ({type(error).__name__})") from None
        if not isinstance(body, dict):
            raise ModelCallError("model_error", 503, f"the model service returned "
                                 f"{response.status_code} to GET /readyz")
        self._remember(body.get("model"), body.get("model_version"))
        return body

    def admin(self, method: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        """Send `method` to the model's /admin/faults and return (status, JSON body)."""
        try:
            response = self.session.request(method, f"{self.base_url}/admin/faults", json=body,
                                            timeout=ADMIN_TIMEOUT_S)
            return response.status_code, response.json()
        except (requests.RequestException, ValueError) as error:
            raise ModelCallError("model_error", 502, f"the model service at {self.base_url} is unreachable "
                                 f"for /admin/faults ({type(error).__name__}); check that it runs") from None


def _error_fields(response: requests.Response) -> tuple[str, str]:
    """Return the `error` and `detail` of a model error body, with fallbacks for other bodies."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {}
    code = body.get("error") if isinstance(body.get("error"), str) else "model_rejected_request"
    detail = body.get("detail") if isinstance(body.get("detail"), str) else f"{response.status_code} without a detail"
    return code, detail


def _error_code(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return "no JSON body"
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return body["error"]
    return "no error code"
