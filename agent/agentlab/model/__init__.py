"""The model service: a simulated LLM inference server.

Run it with ``python -m agentlab.model`` (gunicorn with agent/gunicorn.conf.py); settings
are listed in ``agentlab.settings`` (MODEL_*) and ``agentlab.telemetry`` (OTEL_*).

Routes:

- ``POST /v1/completions`` with ``{"prompt": str, "max_tokens": 1..4096 (default 256),
  "model": optional, must equal MODEL_NAME}`` returns ``{"id", "model", "model_version",
  "completion", "usage": {"input_tokens", "output_tokens"}, "latency_s"}``. Latency is
  ``(base + per_token * (output + input / 10)) * lognormal(0, sigma) * MODEL_LATENCY_SCALE``
  with the profile of MODEL_NAME (``settings.MODEL_PROFILES``), capped at
  MAX_SIMULATED_LATENCY_S (10 s), plus injected latency, which has no cap.
  The prompt's tokens plus max_tokens may not exceed the context window (MODEL_CONTEXT_TOKENS,
  by default 8192 for sim-llm-small and 32768 for sim-llm-large): 400
  ``context_length_exceeded`` otherwise. An injected failure returns 503 ``injected_fault``.
- ``POST/GET/DELETE /admin/faults``: faults with ``target: "model"`` (see ``agentlab.faults``);
  DELETE accepts no target or ``?target=model``.
- ``GET /healthz``, ``GET /readyz`` (returns the model name and version), ``GET /metrics``.

Metrics: the shared ``http_*`` pair, ``model_server_inference_duration_seconds{model_name,
model_version}`` (histogram, trace exemplars) and ``model_server_tokens_total{model_name,
operation}`` with operation ``input`` or ``output``.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from typing import Any, Callable

from flask import Flask, Response, jsonify, request
from opentelemetry import trace
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from opentelemetry.trace import Status, StatusCode
from prometheus_client import Counter, Histogram

from agentlab.faults import CLEAR_EXAMPLE, FAULT_EXAMPLES, FaultStore, parse_clear_target, parse_fault
from agentlab.settings import MODEL_PROFILES, ModelSettings
from agentlab.telemetry import configure_tracing, trace_exemplar
from agentlab.tokens import count_tokens, generate_text
from agentlab.web import UNTRACED_URLS, ApiError, HttpMetrics, check_type, install_common, new_registry
from agentlab.web import read_json_object

logger = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

GEN_AI_PROVIDER = "agentlab.simulator"
# 2.0 s is the ModelInferenceSlow threshold, so it must be a bucket boundary.
INFERENCE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0)
MAX_TOKENS_LIMIT = 4096
DEFAULT_MAX_TOKENS = 256
# A request inside the context window never sleeps longer than this, so it finishes well
# within the agent's default MODEL_TIMEOUT_S of 30 s. Injected latency is added on top.
MAX_SIMULATED_LATENCY_S = 10.0
COMPLETION_EXAMPLE = '{"prompt": "Summarize: ...", "max_tokens": 64}'


class ModelMetrics:
    """The model service's own metrics on one registry."""

    def __init__(self, registry, name: str, version: str) -> None:
        self.http = HttpMetrics(registry)
        self.inference = Histogram("model_server_inference_duration_seconds", "Time the model server "
                                   "spent on one completion, seconds.", ["model_name", "model_version"],
                                   buckets=INFERENCE_BUCKETS, registry=registry).labels(name, version)
        tokens = Counter("model_server_tokens_total", "Tokens the model server read (input) and "
                         "generated (output).", ["model_name", "operation"], registry=registry)
        self.input_tokens = tokens.labels(name, "input")
        self.output_tokens = tokens.labels(name, "output")


class Simulator:
    """Draws completion lengths and latencies for one model profile."""

    def __init__(self, settings: ModelSettings, rng: random.Random) -> None:
        self.base_s, self.per_token_s, self.sigma = MODEL_PROFILES[settings.name]
        self.scale = settings.latency_scale
        self.rng = rng

    def output_tokens(self, max_tokens: int) -> int:
        """Draw a completion length between half of `max_tokens` and all of it."""
        return max(1, round(max_tokens * self.rng.uniform(0.5, 1.0)))

    def latency_s(self, input_tokens: int, output_tokens: int) -> float:
        """Draw an inference latency that grows with the tokens, at most MAX_SIMULATED_LATENCY_S."""
        mean_s = self.base_s + self.per_token_s * (output_tokens + input_tokens / 10)
        return min(MAX_SIMULATED_LATENCY_S, mean_s * self.rng.lognormvariate(0.0, self.sigma) * self.scale)


def _parse_completion(body: dict[str, Any], served_model: str) -> tuple[str, int]:
    if "prompt" not in body:
        raise ApiError(400, "missing_field", f"field 'prompt' is required; send e.g. {COMPLETION_EXAMPLE}",
                       field="prompt")
    prompt = check_type(body, "prompt", str, "a string", '"Summarize: ..."')
    max_tokens = DEFAULT_MAX_TOKENS
    if "max_tokens" in body:
        max_tokens = check_type(body, "max_tokens", int, "an integer", "64")
        if not 1 <= max_tokens <= MAX_TOKENS_LIMIT:
            raise ApiError(400, "invalid_field", f"field 'max_tokens' is {max_tokens}; use 1 to "
                           f"{MAX_TOKENS_LIMIT}", field="max_tokens")
    if "model" in body:
        model = check_type(body, "model", str, "a string", f'"{served_model}"')
        if model != served_model:
            raise ApiError(404, "model_not_found", f"model {model!r} is not served here; use "
                           f"{served_model!r} or leave 'model' out", field="model")
    return prompt, max_tokens


def _check_context(input_tokens: int, max_tokens: int, settings: ModelSettings) -> None:
    """Raise ApiError (400) when the prompt plus max_tokens exceed the context window."""
    window = settings.context_window
    if input_tokens + max_tokens <= window:
        return
    raise ApiError(400, "context_length_exceeded", f"field 'prompt' has {input_tokens} tokens and "
                   f"'max_tokens' is {max_tokens}, together over the context window of {window} tokens "
                   f"of {settings.name} (MODEL_CONTEXT_TOKENS); shorten the prompt to at most "
                   f"{max(0, window - max_tokens)} tokens or lower max_tokens", field="prompt",
                   context_tokens=window, input_tokens=input_tokens, max_tokens=max_tokens)


def create_app(settings: ModelSettings | None = None, *, rng: random.Random | None = None,
               sleep: Callable[[float], None] = time.sleep) -> Flask:
    """Build the model service; settings default to the environment (ConfigError if bad)."""
    settings = settings or ModelSettings.from_env()
    configure_tracing("model")
    rng = rng or random.Random()
    registry = new_registry()
    metrics = ModelMetrics(registry, settings.name, settings.version)
    simulator = Simulator(settings, rng)
    faults = FaultStore()

    app = Flask(__name__)
    FlaskInstrumentor().instrument_app(app, excluded_urls=UNTRACED_URLS)
    install_common(app, registry, metrics.http)
    app.extensions["agentlab"] = {"settings": settings, "faults": faults, "registry": registry}

    @app.post("/v1/completions")
    def complete() -> Response:
        prompt, max_tokens = _parse_completion(read_json_object(COMPLETION_EXAMPLE), settings.name)
        input_tokens = count_tokens(prompt)
        _check_context(input_tokens, max_tokens, settings)

        with tracer.start_as_current_span(f"text_completion {settings.name}") as span:
            span.set_attributes({
                "gen_ai.operation.name": "text_completion",
                "gen_ai.provider.name": GEN_AI_PROVIDER,
                "gen_ai.request.model": settings.name,
                "gen_ai.request.max_tokens": max_tokens,
                "gen_ai.response.model": settings.name,
                "agentlab.model.version": settings.version,
                "gen_ai.usage.input_tokens": input_tokens,
            })
            effect = faults.effect()
            output_tokens = simulator.output_tokens(max_tokens)
            latency_s = simulator.latency_s(input_tokens, output_tokens) + effect.latency_ms / 1000
            sleep(latency_s)
            metrics.inference.observe(latency_s, exemplar=trace_exemplar())
            metrics.input_tokens.inc(input_tokens)
            if effect.should_fail(rng):
                span.set_status(Status(StatusCode.ERROR, "injected fault"))
                span.set_attribute("error.type", "injected_fault")
                logger.warning("inference failed by an injected fault", extra={"latency_s": latency_s})
                raise ApiError(503, "injected_fault", "an injected fault failed this inference; "
                               "DELETE /admin/faults?target=model to stop it")
            completion = generate_text(output_tokens, rng)
            metrics.output_tokens.inc(output_tokens)
            span.set_attribute("gen_ai.usage.output_tokens", output_tokens)

        return jsonify({
            "id": uuid.uuid4().hex,
            "model": settings.name,
            "model_version": settings.version,
            "completion": completion,
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
            "latency_s": round(latency_s, 6),
        })

    @app.get("/readyz")
    def readyz() -> Response:
        return jsonify({"status": "ready", "model": settings.name, "model_version": settings.version})

    @app.post("/admin/faults")
    def add_fault() -> tuple[Response, int]:
        spec = parse_fault(read_json_object(FAULT_EXAMPLES["model"]), service_target="model")
        fault = faults.add(**spec)
        logger.warning("fault injected", extra={"fault_id": fault.id, **spec})
        return jsonify({"fault": fault.to_dict(time.monotonic()), "faults": faults.describe()}), 201

    @app.get("/admin/faults")
    def list_faults() -> Response:
        return jsonify({"faults": faults.describe()})

    @app.delete("/admin/faults")
    def clear_faults() -> Response:
        body = read_json_object(CLEAR_EXAMPLE) if request.get_data(cache=True).strip() else None
        parse_clear_target(request.args.get("target"), body, service_target="model")

        cleared = faults.clear()
        logger.warning("faults cleared", extra={"cleared": cleared})
        return jsonify({"cleared": cleared, "faults": []})

    return app
