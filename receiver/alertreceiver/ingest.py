"""POST endpoints that stand in for the webhook, Slack and PagerDuty."""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from . import store
from .errors import reject
from .payloads import AlertRecord, InvalidPayload, parse_pagerduty, parse_slack, parse_webhook

logger = logging.getLogger(__name__)

bp = Blueprint("ingest", __name__)


# A Slack hook path is three ids (T000/B000/XXXX) of under 100 characters in total.
# A longer path is no Slack hook, and storing it would only bloat the rows.
MAX_SLACK_PATH_CHARS = 200


class _BadBody(Exception):
    """The body is not a UTF-8 JSON document."""

    def __init__(self, detail: str, reason: str = "not_json") -> None:
        super().__init__(detail)
        self.reason = reason


def _read_json() -> tuple[str, Any]:
    raw = request.get_data(cache=False)
    if not raw:
        raise _BadBody("the request body is empty; send a JSON document")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _BadBody(f"the body is not UTF-8 (invalid byte at offset {error.start}); send UTF-8 JSON") from None
    try:
        return text, json.loads(text)
    except json.JSONDecodeError as error:
        raise _BadBody(f"the body is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}") from None
    except RecursionError:
        # The json module recurses once per nesting level and gives up near Python's
        # recursion limit (1000 by default), far deeper than any notification payload.
        raise _BadBody("the body nests JSON arrays or objects too deeply to parse; "
                       "send a notification payload, which nests only a few levels", "too_deep") from None


def _store(kind: str, text: str, records: list[AlertRecord]) -> int:
    settings = current_app.config["RECEIVER_SETTINGS"]
    connection = store.connect(settings.db_path)
    try:
        payload_id = store.save_notification(
            connection, kind=kind, path=request.path, body=text, records=records, received_at=time.time(),
            max_rows=settings.max_notifications)
    finally:
        connection.close()
    counter = current_app.extensions["receiver_metrics"].notifications
    for record in records:
        counter.labels(kind=kind, receiver=record.receiver, status=record.status).inc()
    logger.info(
        "stored %s notification payload_id=%d alerts=%d", kind, payload_id, len(records),
        extra={"kind": kind, "payload_id": payload_id, "alerts": len(records),
               "alertnames": sorted({record.alertname for record in records})},
    )
    return payload_id


def _ingest(kind: str, parse: Callable[[Any], list[AlertRecord]], *, pagerduty: bool = False) -> tuple[Response | None, int, list[AlertRecord]]:
    """Read, validate and store one request; return (error response or None, payload id, records)."""
    extra = {"status": "invalid event", "message": "Event object is invalid"} if pagerduty else {}
    try:
        text, body = _read_json()
    except _BadBody as error:
        return reject(400, error.reason, "invalid JSON", "(body)", str(error), extra=extra), 0, []
    try:
        records = parse(body)
    except InvalidPayload as invalid:
        first = invalid.errors[0]
        return reject(400, first.reason, "invalid payload", first.field, first.message,
                      [item.message for item in invalid.errors], extra=extra), 0, []
    try:
        payload_id = _store(kind, text, records)
    except sqlite3.Error as error:
        logger.error("storing a %s notification failed: %s", kind, error, extra={"kind": kind})
        response = jsonify({"error": "storage failed", "detail": f"SQLite error: {error}; the sender should retry"})
        response.status_code = 503
        return response, 0, []
    return None, payload_id, records


@bp.post("/webhook")
def receive_webhook() -> Response:
    """Store an Alertmanager webhook notification (payload version 4); 200 with the payload id."""
    error, payload_id, records = _ingest("webhook", parse_webhook)
    if error is not None:
        return error

    return jsonify({"status": "stored", "payload_id": payload_id, "alerts": len(records)})


@bp.post("/slack/<path:hook>")
def receive_slack(hook: str) -> Response:
    """Store a Slack incoming-webhook message; 200 with the text "ok", as Slack replies."""
    if len(hook) > MAX_SLACK_PATH_CHARS:
        return reject(404, "path_too_long", "not found", "(path)",
                      f"the Slack webhook path has {len(hook)} characters, more than the maximum of "
                      f"{MAX_SLACK_PATH_CHARS}; use a path like /slack/T000/B000/XXXX")

    error, _, _ = _ingest("slack", parse_slack)
    if error is not None:
        return error

    return Response("ok", status=200, mimetype="text/plain")


@bp.post("/pagerduty/v2/enqueue")
def receive_pagerduty() -> Response:
    """Store a PagerDuty Events API v2 event; 202 with the dedup key, as PagerDuty replies."""
    dedup_keys: list[str] = []

    def parse(body: Any) -> list[AlertRecord]:
        records, dedup_key = parse_pagerduty(body)
        dedup_keys.append(dedup_key)
        return records

    error, _, _ = _ingest("pagerduty", parse, pagerduty=True)
    if error is not None:
        return error

    response = jsonify({"status": "success", "message": "Event processed", "dedup_key": dedup_keys[0]})
    response.status_code = 202
    return response
