"""OpenTelemetry tracing for the agent and model services.

Configured from the standard environment variables:

=================================== =========================================================
OTEL_TRACES_EXPORTER                otlp (default), console (spans as JSON on stderr, so stdout
                                    stays one log object per line) or none (spans are made but
                                    not exported, so logs, responses and exemplars still carry
                                    trace ids: the native lab has no Jaeger)
OTEL_SDK_DISABLED                   true: no tracer provider at all, so no trace ids anywhere
OTEL_SERVICE_NAME                   default "agent" or "model"
OTEL_RESOURCE_ATTRIBUTES            extra resource attributes, key=value,...
OTEL_EXPORTER_OTLP_ENDPOINT         base URL; /v1/traces is appended (SDK default
                                    http://localhost:4318). OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
                                    is used as is.
OTEL_EXPORTER_OTLP_PROTOCOL         only http/protobuf: the gRPC exporter is not installed
OTEL_TRACES_SAMPLER(_ARG)           SDK sampler names, e.g. parentbased_traceidratio with 0.1
OTEL_BSP_*, OTEL_EXPORTER_OTLP_*    read by the SDK as documented there
=================================== =========================================================

When: ``create_app()`` calls ``configure_tracing()``. gunicorn runs the app factory in the
worker process after the fork (the config keeps ``preload_app`` off), so the batch span
processor's thread lives in the serving process. The gunicorn ``worker_exit`` hook calls
``shutdown_tracing()``, which flushes the spans still queued.

If the OTLP endpoint is down, the exporter's thread logs the failure and drops the batch.
Requests only put spans in the processor's bounded queue, so they do not wait for it. Those log records pass through ``RateLimitFilter``, so a dead
endpoint gives one line per message per minute, not one per batch and retry.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import Mapping

from opentelemetry import trace
from opentelemetry.instrumentation.requests import RequestsInstrumentor
from opentelemetry.sdk.resources import OTELResourceDetector, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

from agentlab.logging_setup import RateLimitFilter
from agentlab.settings import ConfigError, env_bool, env_choice, env_float

logger = logging.getLogger(__name__)

EXPORTERS = ("otlp", "console", "none")
SAMPLERS = ("always_on", "always_off", "traceidratio", "parentbased_always_on",
            "parentbased_always_off", "parentbased_traceidratio")
# Loggers through which the OTLP/HTTP exporter reports failed exports (SDK 1.45).
EXPORTER_LOGGERS = ("opentelemetry.exporter.otlp.proto.http.trace_exporter",
                    "opentelemetry.exporter.otlp.proto.http._common",
                    "opentelemetry.sdk.trace.export")

_lock = threading.Lock()
_provider: TracerProvider | None = None
_configured = False


def _lower(value: str) -> str:
    return value.lower()


def exporter_name(env: Mapping[str, str]) -> str:
    """Return otlp, console or none from the environment, raising ConfigError for bad values."""
    validate_sampler(env)
    if env_bool(env, "OTEL_SDK_DISABLED", False):
        return "none"
    name = env_choice(env, "OTEL_TRACES_EXPORTER", "otlp", EXPORTERS, normalize=_lower)
    if name == "otlp":
        for variable in ("OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"):
            protocol = env.get(variable, "http/protobuf").strip() or "http/protobuf"
            if protocol != "http/protobuf":
                raise ConfigError(f"{variable}={protocol!r} is not supported; set it to http/protobuf "
                                  "(only the OTLP/HTTP exporter is installed) and use port 4318")
    return name


def build_exporter(env: Mapping[str, str]) -> SpanExporter | None:
    """Return the span exporter OTEL_TRACES_EXPORTER selects, or None for `none`."""
    name = exporter_name(env)
    if name == "none":
        return None
    if name == "console":
        return ConsoleSpanExporter(out=sys.stderr)
    # Imported here so `none` and `console` do not load requests' transport stack.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def validate_sampler(env: Mapping[str, str]) -> None:
    """Raise ConfigError for a sampler the SDK would silently replace by its default."""
    name = env.get("OTEL_TRACES_SAMPLER", "").strip()
    if name:
        env_choice(env, "OTEL_TRACES_SAMPLER", name, SAMPLERS, normalize=_lower)
        if name.endswith("traceidratio"):
            env_float(env, "OTEL_TRACES_SAMPLER_ARG", 1.0, 0.0, 1.0)


def build_provider(default_service: str, env: Mapping[str, str] | None = None) -> TracerProvider | None:
    """Build a TracerProvider from OTEL_* variables; None when OTEL_SDK_DISABLED is true."""
    env = os.environ if env is None else env
    exporter = build_exporter(env)
    if env_bool(env, "OTEL_SDK_DISABLED", False):
        return None
    attributes = {}
    # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over the default name.
    if "service.name" not in OTELResourceDetector().detect().attributes:
        attributes["service.name"] = default_service
    provider = TracerProvider(resource=Resource.create(attributes))
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def _install(provider: TracerProvider | None) -> None:
    global _provider, _configured
    _provider = provider
    _configured = True
    if provider is None:
        return
    trace.set_tracer_provider(provider)
    RequestsInstrumentor().instrument(tracer_provider=provider)
    for name in EXPORTER_LOGGERS:
        exporter_logger = logging.getLogger(name)
        if not any(isinstance(f, RateLimitFilter) for f in exporter_logger.filters):
            exporter_logger.addFilter(RateLimitFilter(interval_s=60.0))


def configure_tracing(default_service: str) -> TracerProvider | None:
    """Set up the process-wide tracer provider once; later calls return the first one.

    Raises ConfigError for an invalid OTEL_* value.
    """
    with _lock:
        if _configured:
            return _provider
        provider = build_provider(default_service)
        _install(provider)
    logger.info("tracing configured", extra={"traces_exporter": exporter_name(os.environ)})
    return provider


def install_provider(provider: TracerProvider) -> None:
    """Use `provider` for this process instead of one built from the environment (tests)."""
    with _lock:
        if _configured:
            raise RuntimeError("tracing is already configured in this process")
        _install(provider)


def shutdown_tracing() -> None:
    """Flush queued spans and stop the exporter; safe to call when tracing is off."""
    with _lock:
        provider = _provider
    if provider is not None:
        provider.shutdown()


def current_trace_id() -> str | None:
    """Return the active span's trace id as 32 hex digits, or None outside a span."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def trace_exemplar() -> dict[str, str] | None:
    """Return ``{"trace_id": ...}`` for a metric exemplar when the active span is sampled.

    Unsampled traces never reach Jaeger, so an exemplar pointing at one would be a dead link.
    """
    context = trace.get_current_span().get_span_context()
    if context.is_valid and context.trace_flags.sampled:
        return {"trace_id": format(context.trace_id, "032x")}
    return None
