"""Rejected requests: one JSON shape, one log line and one metric sample each."""

from __future__ import annotations

import logging

from flask import Response, current_app, jsonify, request

logger = logging.getLogger(__name__)


def endpoint_kind(path: str) -> str:
    """Map a request path to the `kind` label of the rejection metric."""
    if path == "/webhook":
        return "webhook"
    if path.startswith("/slack/"):
        return "slack"
    if path.startswith("/pagerduty/"):
        return "pagerduty"
    if path.startswith("/api/"):
        return "api"
    if path.startswith("/runbooks/"):
        return "runbooks"
    return "other"


def reject(http_status: int, reason: str, error: str, field: str, detail: str,
           errors: list[str] | None = None, extra: dict[str, object] | None = None) -> Response:
    """Build a 4xx JSON response naming the field and the fix, log it and count it."""
    kind = endpoint_kind(request.path)
    current_app.extensions["receiver_metrics"].rejected_requests.labels(kind=kind, reason=reason).inc()
    logger.warning(
        "rejected %s %s: %s (%s)", request.method, request.path, detail, reason,
        extra={"kind": kind, "reason": reason, "field": field, "status_code": http_status,
               "remote_addr": request.remote_addr},
    )
    body = {"error": error, "field": field, "detail": detail, "errors": errors or [detail], **(extra or {})}
    response = jsonify(body)
    response.status_code = http_status
    return response
