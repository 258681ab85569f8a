"""Flask app factory of the alert receiver; see the package docstring for settings."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from flask import Flask, Response, jsonify, request
from prometheus_client import CollectorRegistry, make_wsgi_app
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, RequestEntityTooLarge
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from . import ingest, query, runbooks, store
from .config import Settings, load_settings
from .errors import reject
from .metrics import ReceiverMetrics

logger = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, environ: Mapping[str, str] | None = None) -> Flask:
    """Build the receiver app from `settings`, or from the environment when None."""
    settings = settings or load_settings(environ)
    store.initialize(settings.db_path)

    app = Flask(__name__)
    app.config["RECEIVER_SETTINGS"] = settings
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False

    metrics = ReceiverMetrics(CollectorRegistry())
    app.extensions["receiver_metrics"] = metrics
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {"/metrics": make_wsgi_app(metrics.registry)})

    app.register_blueprint(ingest.bp)
    app.register_blueprint(query.bp)
    app.register_blueprint(runbooks.bp)
    _register_error_handlers(app)
    if not Path(settings.runbooks_dir).is_dir():
        # Notifications still work without runbooks, so this is no reason to stop start-up.
        logger.warning("runbooks folder %s does not exist; /runbooks/ returns 404 until RECEIVER_RUNBOOKS_DIR "
                       "names the repository's docs/runbooks", settings.runbooks_dir,
                       extra={"runbooks_dir": settings.runbooks_dir})
    logger.info("receiver ready, database %s, runbooks %s", settings.db_path, settings.runbooks_dir,
                extra={"db_path": settings.db_path, "runbooks_dir": settings.runbooks_dir})
    return app


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(RequestEntityTooLarge)
    def too_large(error: RequestEntityTooLarge) -> Response:
        limit = app.config["MAX_CONTENT_LENGTH"]
        return reject(413, "too_large", "payload too large", "(body)",
                      f"the body is larger than the limit of {limit} bytes; send fewer alerts per "
                      "notification (Alertmanager max_alerts) or raise RECEIVER_MAX_BODY_BYTES",
                      extra={"limit_bytes": limit})

    @app.errorhandler(MethodNotAllowed)
    def method_not_allowed(error: MethodNotAllowed) -> Response:
        allowed = sorted(error.valid_methods or [])
        usable = [method for method in allowed if method not in ("HEAD", "OPTIONS")] or allowed
        response = reject(405, "method_not_allowed", "method not allowed", "(method)",
                          f"{request.method} is not allowed on {request.path}; use {' or '.join(usable)}")
        response.headers["Allow"] = ", ".join(allowed)
        return response

    @app.errorhandler(NotFound)
    def not_found(error: NotFound) -> Response:
        return reject(404, "not_found", "not found", "(path)",
                      "no endpoint here; use /webhook, /slack/<path>, /pagerduty/v2/enqueue, "
                      "/api/notifications, /runbooks/, /metrics, /healthz or /")

    @app.errorhandler(HTTPException)
    def other_http_error(error: HTTPException) -> Response:
        status = error.code or 500
        if status >= 500:
            return _server_error(status, error.name.lower())
        return reject(status, "bad_request", error.name.lower(), "(request)", error.description or error.name)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception) -> Response:
        # Senders and scripts parse every response as JSON, so a bug must not fall back to
        # Flask's HTML error page.
        logger.exception("unexpected error on %s %s: %s", request.method, request.path, error,
                         extra={"path": request.path, "method": request.method})
        return _server_error(500, "internal server error")


def _server_error(status: int, error: str) -> Response:
    detail = f"the receiver failed on {request.method} {request.path}; its log has the traceback, and the sender may retry"
    response = jsonify({"error": error, "field": "(server)", "detail": detail, "errors": [detail]})
    response.status_code = status
    return response
