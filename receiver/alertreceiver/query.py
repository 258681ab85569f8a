"""Read views: GET /api/notifications, GET /healthz and the HTML page at GET /."""

from __future__ import annotations

import math
import sqlite3
from datetime import datetime
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, current_app, jsonify, render_template, request

from . import store
from .errors import reject
from .markdown_html import http_link

bp = Blueprint("query", __name__)

KINDS = ("webhook", "slack", "pagerduty")
STATUSES = ("firing", "resolved", "acknowledged", "unknown")
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
# The HTML page shows the newest rows of each alert name, so one alert that floods the
# table leaves the others visible. Both caps are page sizes, not storage limits.
PAGE_ROWS_PER_ALERT = 20
PAGE_MAX_ALERTS = 100
FILTER_PARAMS = ("kind", "receiver", "alertname", "status", "since", "limit")


class InvalidFilter(ValueError):
    """A query parameter of /api/notifications is invalid."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(detail)
        self.field = field


def parse_since(raw: str) -> float:
    """Parse unix seconds ("1714564800.5") or RFC 3339 with an offset ("2024-05-01T12:00:00Z")."""
    try:
        value = float(raw)
    except ValueError:
        pass
    else:
        if not math.isfinite(value):
            raise InvalidFilter("since", f"since={raw!r} is not a finite number; use unix seconds such as 1714564800")
        if value < 0:
            raise InvalidFilter("since", f"since={raw!r} is negative; use unix seconds of 0 or more")
        return value
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidFilter("since", f"since={raw!r} is invalid; use unix seconds or RFC 3339 "
                            "such as 2024-05-01T12:00:00Z") from None
    if moment.tzinfo is None:
        raise InvalidFilter("since", f"since={raw!r} has no UTC offset; add Z or +00:00")
    return moment.timestamp()


def parse_filters(args: Any) -> store.NotificationFilter:
    """Turn query parameters into a NotificationFilter, raising InvalidFilter on a bad one."""
    unknown = sorted(set(args) - set(FILTER_PARAMS))
    if unknown:
        raise InvalidFilter(unknown[0], f"unknown query parameter {unknown[0]!r}; use {', '.join(FILTER_PARAMS)}")
    for name in FILTER_PARAMS:
        count = len(args.getlist(name))
        if count > 1:
            raise InvalidFilter(name, f"query parameter {name!r} is given {count} times; give it once")
    kind = args.get("kind")
    if kind is not None and kind not in KINDS:
        raise InvalidFilter("kind", f"kind={kind!r} is invalid; use one of {', '.join(KINDS)}")
    status = args.get("status")
    if status is not None and status not in STATUSES:
        raise InvalidFilter("status", f"status={status!r} is invalid; use one of {', '.join(STATUSES)}")
    since = args.get("since")
    since_unix = parse_since(since) if since is not None else None
    limit = DEFAULT_LIMIT
    raw_limit = args.get("limit")
    if raw_limit is not None:
        try:
            limit = int(raw_limit)
        except ValueError:
            raise InvalidFilter("limit", f"limit={raw_limit!r} is not an integer; use 1..{MAX_LIMIT}") from None
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidFilter("limit", f"limit={limit} is out of range; use 1..{MAX_LIMIT}")
    return store.NotificationFilter(kind=kind, receiver=args.get("receiver"), alertname=args.get("alertname"),
                                    status=status, since_unix=since_unix, limit=limit)


def _query(filters: store.NotificationFilter) -> list[dict[str, Any]]:
    connection = store.connect(current_app.config["RECEIVER_SETTINGS"].db_path)
    try:
        return store.list_notifications(connection, filters)
    finally:
        connection.close()


@bp.get("/api/notifications")
def list_notifications() -> Response:
    """Return stored notifications, newest first; 400 naming the filter that is invalid."""
    try:
        filters = parse_filters(request.args)
    except InvalidFilter as error:
        return reject(400, "invalid_query", "invalid query parameter", error.field, str(error))

    return jsonify({"notifications": _query(filters)})


@bp.get("/healthz")
@bp.get("/readyz")
def healthz() -> Response:
    """Return 200 when a database query succeeds, 503 otherwise (liveness and readiness)."""
    try:
        connection = store.connect(current_app.config["RECEIVER_SETTINGS"].db_path)
        try:
            connection.execute("SELECT count(*) FROM payloads").fetchone()
        finally:
            connection.close()
    except sqlite3.Error as error:
        response = jsonify({"status": "unavailable", "detail": f"SQLite error: {error}"})
        response.status_code = 503
        return response
    return jsonify({"status": "ok"})


def page_groups(groups: list[store.NotificationGroup], settings: Any) -> list[dict[str, Any]]:
    """Add the page's links and the count of rows left out to each alert group."""
    page = []
    for group in groups:
        matcher = quote('{alertname="%s"}' % group.alertname.replace('"', '\\"'), safe="")
        runbook_urls = (http_link(row["annotations"].get("runbook_url", "")) for row in group.rows)
        for row in group.rows:
            row["generator_link"] = http_link(row["generator_url"])
        page.append({
            "alertname": group.alertname,
            "latest_status": group.rows[0]["status"],
            "runbook_url": next((url for url in runbook_urls if url), None),
            "grafana_url": settings.grafana_url,
            "alertmanager_url": f"{settings.alertmanager_url}/#/alerts?filter={matcher}",
            "rows": group.rows,
            "total": group.total,
            "hidden": group.total - len(group.rows),
        })
    return page


@bp.get("/")
def index() -> Response | str:
    """Render the newest rows of each alert name as HTML; `limit` sets the rows per alert."""
    try:
        filters = parse_filters(request.args)
    except InvalidFilter as error:
        return reject(400, "invalid_query", "invalid query parameter", error.field, str(error))
    rows_per_alert = filters.limit if request.args.get("limit") is not None else PAGE_ROWS_PER_ALERT
    active_filters = [(name, request.args[name]) for name in FILTER_PARAMS if name != "limit" and name in request.args]

    settings = current_app.config["RECEIVER_SETTINGS"]
    connection = store.connect(settings.db_path)
    try:
        groups, alert_count = store.list_notification_groups(
            connection, filters, rows_per_group=rows_per_alert, max_groups=PAGE_MAX_ALERTS)
    finally:
        connection.close()
    return render_template("index.html", groups=page_groups(groups, settings), alert_count=alert_count,
                           rows_per_alert=rows_per_alert, active_filters=active_filters, max_limit=MAX_LIMIT,
                           settings=settings)
