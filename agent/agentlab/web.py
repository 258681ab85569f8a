"""Flask wiring shared by the agent and the model service.

``install_common`` adds to an app: request ids (``X-Request-ID`` in and out), the HTTP
RED metrics, one access log line per request, and JSON errors for every 4xx/5xx, with
``Allow`` on 405. It also sets a 1 MiB body limit (413) and serves ``/metrics`` through
prometheus_client's own WSGI app, which negotiates OpenMetrics (with exemplars) itself.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any

from flask import Flask, Response, g, jsonify, request
from prometheus_client import CollectorRegistry, Counter, GCCollector, Histogram, PlatformCollector, ProcessCollector
from prometheus_client import make_wsgi_app
from werkzeug.exceptions import HTTPException, MethodNotAllowed, RequestEntityTooLarge

from agentlab.logging_setup import request_id_var
from agentlab.telemetry import trace_exemplar

logger = logging.getLogger(__name__)
access_logger = logging.getLogger("agentlab.access")

MAX_BODY_BYTES = 1024 * 1024
# Deeper bodies are rejected so that code walking a parsed body (json.dumps of task data,
# for one) stays far below Python's recursion limit.
MAX_JSON_DEPTH = 64
# 1.0 s is the request latency SLO edge in the alert rules, so it must be a boundary.
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0)
UNMATCHED_ROUTE = "<unmatched>"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Paths that probes and scrapers hit every few seconds: no spans for them.
UNTRACED_URLS = "/healthz,/readyz,/metrics"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class ApiError(Exception):
    """A request failure returned as ``{"error": ..., "detail": ...}``."""

    def __init__(self, status: int, error: str, detail: str, headers: dict[str, str] | None = None,
                 **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra


def error_response(http_status: int, error: str, detail: str, headers: dict[str, str] | None = None,
                   **extra: Any) -> Response:
    """Build the JSON error response every failure uses."""
    response = jsonify({"error": error, "detail": detail, **extra})
    response.status_code = http_status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def new_registry() -> CollectorRegistry:
    """Return a registry with the default process, platform and GC collectors."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


class HttpMetrics:
    """http_requests_total and http_request_duration_seconds on one registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ["method", "route", "status_code"]
        self.requests = Counter("http_requests_total", "HTTP requests completed, by method, URL rule "
                                "template and status code.", labels, registry=registry)
        self.duration = Histogram("http_request_duration_seconds", "Time from receiving an HTTP request "
                                  "to returning its response, seconds.", labels, buckets=HTTP_BUCKETS,
                                  registry=registry)

    def observe(self, method: str, route: str, status_code: int, duration_s: float) -> None:
        """Count one completed request and its duration, with the trace as exemplar."""
        labels = (method, route, str(status_code))
        self.requests.labels(*labels).inc()
        self.duration.labels(*labels).observe(duration_s, exemplar=trace_exemplar())


def route_label() -> str:
    """Return the URL rule template of the current request, or UNMATCHED_ROUTE."""
    route = g.get("route")
    if route:
        return route
    if request.url_rule is not None:
        return request.url_rule.rule
    return UNMATCHED_ROUTE


def method_label() -> str:
    """Return the request method, folding unknown ones into OTHER to bound the series."""
    return request.method if request.method in KNOWN_METHODS else "OTHER"


def _route_of_method_not_allowed(app: Flask, error: MethodNotAllowed) -> str | None:
    """Return the template of the rule that matched the path under another method."""
    adapter = app.url_map.bind_to_environ(request.environ)
    for method in error.valid_methods or ():
        try:
            rule, _ = adapter.match(method=method, return_rule=True)
        except HTTPException:
            continue
        return rule.rule
    return None


def _public_routes(app: Flask) -> list[str]:
    return sorted({rule.rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"})


def install_common(app: Flask, registry: CollectorRegistry, http_metrics: HttpMetrics) -> None:
    """Add request ids, HTTP metrics, access logs, JSON errors and /metrics to `app`."""
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    metrics_app = make_wsgi_app(registry)

    @app.before_request
    def start_request() -> None:
        g.start_s = time.perf_counter()
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        g.request_id_token = request_id_var.set(g.request_id)

    @app.after_request
    def finish_request(response: Response) -> Response:
        duration_s = time.perf_counter() - g.get("start_s", time.perf_counter())
        route = route_label()
        method = method_label()
        http_metrics.observe(method, route, response.status_code, duration_s)
        if "request_id" in g:
            response.headers["X-Request-ID"] = g.request_id
        access_logger.info(
            "%s %s %s", method, route, response.status_code,
            extra={"method": method, "route": route, "path": request.path,
                   "status": response.status_code, "duration_ms": round(duration_s * 1000, 3)},
        )
        return response

    @app.teardown_request
    def end_request(_error: BaseException | None) -> None:
        token = g.pop("request_id_token", None)
        if token is not None:
            request_id_var.reset(token)

    @app.errorhandler(ApiError)
    def handle_api_error(error: ApiError) -> Response:
        return error_response(error.status, error.error, error.detail, error.headers, **error.extra)

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException) -> Response:
        if error.code == 404:
            return error_response(404, "not_found", f"no route matches {request.method} {request.path}; "
                                  f"routes are: {', '.join(_public_routes(app))}")
        if isinstance(error, MethodNotAllowed):
            g.route = _route_of_method_not_allowed(app, error)
            allowed = ", ".join(sorted(error.valid_methods or ()))
            return error_response(405, "method_not_allowed", f"{request.method} is not allowed on "
                                  f"{request.path}; use {allowed}", {"Allow": allowed})
        if error.code == 413:
            return error_response(413, "body_too_large", f"request body is over {MAX_BODY_BYTES} bytes "
                                  "(1 MiB); send a smaller body")
        return error_response(error.code or 500, error.name.lower().replace(" ", "_"),
                              error.description or error.name)

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception) -> Response:
        logger.exception("unhandled error in %s %s", request.method, route_label())
        return error_response(500, "internal_error", "the server failed on this request; the log "
                              f"line with request_id {g.get('request_id', '?')} has the cause")

    @app.get("/metrics")
    def metrics() -> Response:
        return Response.from_app(metrics_app, request.environ)

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify({"status": "ok"})


def read_json_object(example: str) -> dict[str, Any]:
    """Parse the request body as a JSON object, raising ApiError naming the problem.

    `example` is a valid body for this endpoint, shown in the error messages. The
    Content-Type is not checked, so `curl -d '{...}'` works without a header.
    """
    raw = request.get_data(cache=True)
    # Werkzeug 3.1 cuts a body without Content-Length (chunked) at MAX_CONTENT_LENGTH
    # without an error, so one more byte read from the server's stream shows whether it was longer.
    if request.content_length is None and len(raw) >= MAX_BODY_BYTES and request.environ["wsgi.input"].read(1):
        raise RequestEntityTooLarge()
    if not raw.strip():
        raise ApiError(400, "invalid_json", f"request body is empty; send a JSON object, e.g. {example}")
    try:
        body = json.loads(raw)
        too_deep = json_depth(body) > MAX_JSON_DEPTH
    except RecursionError:
        # The parser gives up near Python's recursion limit (1000 by default), far deeper
        # than MAX_JSON_DEPTH, so the message below holds for this case too.
        too_deep = True
    except (ValueError, UnicodeDecodeError) as error:
        raise ApiError(400, "invalid_json", f"request body is not valid JSON ({error}); send a "
                       f"JSON object, e.g. {example}") from None
    if too_deep:
        raise ApiError(400, "invalid_json", "request body nests arrays and objects more than "
                       f"{MAX_JSON_DEPTH} levels deep; send a flatter JSON object, e.g. {example}")
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", f"request body must be a JSON object, got "
                       f"{json_type(body)}; wrap the fields in {{...}}")
    return body


def json_depth(value: Any) -> int:
    """Return the nesting depth of a parsed JSON value (a scalar is 0, ``[]`` is 1).

    Iterative, because a recursive walk would hit the same recursion limit as the parser.
    """
    deepest = 0
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        pending.extend((child, depth + 1) for child in children)
    return deepest


def json_type(value: Any) -> str:
    """Name the JSON type of a parsed value, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def check_type(container: dict[str, Any], key: str, expected: type | tuple[type, ...], name: str,
               example: str, field: str | None = None) -> Any:
    """Return container[key] if it has the expected type, else raise ApiError (400).

    `field` is the name used in the message (e.g. ``data.text``); it defaults to `key`.
    JSON booleans are not accepted as numbers, although Python's bool is an int.
    """
    field = field or key
    value = container[key]
    if (isinstance(value, bool) and expected is not bool) or not isinstance(value, expected):
        raise ApiError(400, "invalid_field", f"field '{field}' must be {name}, got {json_type(value)}; "
                       f"send e.g. \"{key}\": {example}", field=field)
    return value
