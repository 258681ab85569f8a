"""JSON logging on stdout, one object per line, for any service of the lab.

Call ``configure_logging(service, level)`` once at the entry point (the gunicorn config
does it through ``logging_dict_config``). Every line carries::

    timestamp  RFC 3339 UTC with milliseconds, e.g. 2025-01-31T12:00:00.123Z
    level      INFO, WARNING, ...
    logger     the logger name
    message    the formatted message
    service    the service name given at configuration
    trace_id   32 lowercase hex digits, as Jaeger shows them   } only while a span
    span_id    16 lowercase hex digits                         } is active
    request_id the X-Request-ID of the request or task in flight (only when set)

plus any ``extra={...}`` fields of the call. The module imports nothing of the agent, so
other services of the lab can use it; OpenTelemetry is optional here.
"""

from __future__ import annotations

import contextvars
import logging
import logging.config
import sys
import threading
import time
from datetime import datetime, timezone
from typing import Any

from pythonjsonlogger.json import JsonFormatter

try:
    from opentelemetry import trace as _otel_trace
except ImportError:  # pragma: no cover - services without OpenTelemetry
    _otel_trace = None

# Set by the web layer for each request and by task workers for each task.
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def format_timestamp(created: float) -> str:
    """Format a LogRecord.created value as RFC 3339 UTC with milliseconds."""
    moment = datetime.fromtimestamp(created, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class LabJsonFormatter(JsonFormatter):
    """JsonFormatter that adds the lab's fixed fields and the ids in flight."""

    def __init__(self, service: str = "unknown", **kwargs: Any) -> None:
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        super().__init__(["message", "levelname", "name"], static_fields={"service": service}, **kwargs)

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        log_data["timestamp"] = format_timestamp(record.created)
        super().add_fields(log_data, record, message_dict)
        if _otel_trace is not None:
            context = _otel_trace.get_current_span().get_span_context()
            if context.is_valid:
                log_data.setdefault("trace_id", format(context.trace_id, "032x"))
                log_data.setdefault("span_id", format(context.span_id, "016x"))
        request_id = request_id_var.get()
        if request_id is not None:
            log_data.setdefault("request_id", request_id)


class RateLimitFilter(logging.Filter):
    """Pass at most one record per message template every `interval_s` seconds.

    The next record that passes gets a ``suppressed`` field with the number dropped, so
    a flood (an exporter retrying against a dead endpoint) still shows how big it was.
    """

    def __init__(self, interval_s: float = 60.0, clock=time.monotonic) -> None:
        super().__init__()
        self.interval_s = interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._last_emit: dict[tuple[str, str], float] = {}
        self._suppressed: dict[tuple[str, str], int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg))
        now = self._clock()
        with self._lock:
            last = self._last_emit.get(key)
            if last is not None and now - last < self.interval_s:
                self._suppressed[key] = self._suppressed.get(key, 0) + 1
                return False
            self._last_emit[key] = now
            suppressed = self._suppressed.pop(key, 0)
        if suppressed:
            record.suppressed = suppressed
        return True


def logging_dict_config(service: str, level: str = "INFO", gunicorn_access: bool = True) -> dict[str, Any]:
    """Return a logging.config.dictConfig dict that sends every logger to JSON stdout.

    gunicorn's loggers get their handlers from gunicorn, so they are routed here too.
    `gunicorn_access=False` drops gunicorn's access lines, for apps that write their own.
    """
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": LabJsonFormatter, "service": service}},
        "handlers": {
            "stdout": {"class": "logging.StreamHandler", "formatter": "json", "stream": sys.stdout},
            "discard": {"class": "logging.NullHandler"},
        },
        "root": {"level": level, "handlers": ["stdout"]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": ["stdout"], "propagate": False},
            "gunicorn.access": {"level": level, "handlers": ["stdout" if gunicorn_access else "discard"],
                                "propagate": False},
        },
    }


def configure_logging(service: str, level: str = "INFO") -> None:
    """Configure the root logger for JSON lines on stdout."""
    logging.config.dictConfig(logging_dict_config(service, level))
