"""Rejected input: 4xx JSON naming the field and the fix, logged, counted, nothing lost."""

from __future__ import annotations

import json
import logging

import pytest

from alertreceiver.app import create_app
from tests.receiver.conftest import load_payload, notifications


def _webhook(**changes):
    payload = load_payload("webhook-firing")
    payload.update(changes)
    return payload


def _webhook_alert(**changes):
    payload = load_payload("webhook-firing")
    payload["alerts"][0].update(changes)
    return payload


def _webhook_without(key):
    payload = load_payload("webhook-firing")
    del payload[key]
    return payload


def _alert_without(key):
    payload = load_payload("webhook-firing")
    del payload["alerts"][0][key]
    return payload


def _pagerduty(**changes):
    event = load_payload("pagerduty-firing")
    event.update(changes)
    return event


def _pagerduty_payload(**changes):
    event = load_payload("pagerduty-firing")
    event["payload"].update(changes)
    return event


# 3,000 nested arrays (6 KB): deeper than the json module's recursion limit.
DEEP_JSON = b"[" * 3000 + b"]" * 3000

# (case id, path, body: bytes or JSON value, field, reason, text the detail must contain)
BAD_INPUTS = [
    ("webhook nested too deep", "/webhook", DEEP_JSON, "(body)", "too_deep", "nests JSON arrays or objects too deeply"),
    ("slack nested too deep", "/slack/x", DEEP_JSON, "(body)", "too_deep", "nests JSON arrays or objects too deeply"),
    ("pagerduty nested too deep", "/pagerduty/v2/enqueue", DEEP_JSON, "(body)", "too_deep",
     "nests JSON arrays or objects too deeply"),
    ("alert startsAt word", "/webhook", _webhook_alert(startsAt="yesterday"), "alerts[0].startsAt", "invalid_field",
     "alerts[0].startsAt='yesterday' is not an RFC 3339 timestamp; use the form 2026-12-04T20:07:02Z"),
    ("alert startsAt out of range", "/webhook", _webhook_alert(startsAt="2026-13-45T99:00:00"), "alerts[0].startsAt",
     "invalid_field", "is not an RFC 3339 timestamp"),
    ("alert startsAt no offset", "/webhook", _webhook_alert(startsAt="2026-12-04T20:07:02"), "alerts[0].startsAt",
     "invalid_field", "is not an RFC 3339 timestamp"),
    ("alert startsAt Feb 30", "/webhook", _webhook_alert(startsAt="2026-02-30T20:07:02Z"), "alerts[0].startsAt",
     "invalid_field", "is not an RFC 3339 timestamp"),
    ("alert endsAt word", "/webhook", _webhook_alert(endsAt="never"), "alerts[0].endsAt", "invalid_field",
     "alerts[0].endsAt='never' is not an RFC 3339 timestamp"),
    ("alert endsAt offset 24h", "/webhook", _webhook_alert(endsAt="2026-12-04T20:07:02+24:00"), "alerts[0].endsAt",
     "invalid_field", "is not an RFC 3339 timestamp"),
    ("alert endsAt number", "/webhook", _webhook_alert(endsAt=5), "alerts[0].endsAt", "invalid_field",
     "must be a string"),
    ("webhook not JSON", "/webhook", b"{alerts: [}", "(body)", "not_json", "not valid JSON"),
    ("webhook empty", "/webhook", b"", "(body)", "not_json", "body is empty"),
    ("webhook not UTF-8", "/webhook", b'{"version": "\xff"}', "(body)", "not_json", "not UTF-8"),
    ("webhook array", "/webhook", [1, 2], "(body)", "invalid_field", "must be a JSON object"),
    ("webhook version 3", "/webhook", _webhook(version="3"), "version", "invalid_field", 'version "4"'),
    ("webhook version missing", "/webhook", _webhook_without("version"), "version", "missing_field", "version is missing"),
    ("webhook status bad", "/webhook", _webhook(status="pending"), "status", "invalid_field", "firing, resolved"),
    ("webhook receiver number", "/webhook", _webhook(receiver=5), "receiver", "invalid_field", "must be a string"),
    ("webhook alerts missing", "/webhook", _webhook_without("alerts"), "alerts", "missing_field", "alerts is missing"),
    ("webhook alerts empty", "/webhook", _webhook(alerts=[]), "alerts", "invalid_field", "at least one alert"),
    ("webhook alerts object", "/webhook", _webhook(alerts={}), "alerts", "invalid_field", "must be an array"),
    ("webhook alert string", "/webhook", _webhook(alerts=["x"]), "alerts[0]", "invalid_field", "must be an object"),
    ("alert status bad", "/webhook", _webhook_alert(status="pending"), "alerts[0].status", "invalid_field", "pending"),
    ("alert labels list", "/webhook", _webhook_alert(labels=["a"]), "alerts[0].labels", "invalid_field", "must be an object"),
    ("alert label number", "/webhook", _webhook_alert(labels={"alertname": 1}), "alerts[0].labels.alertname",
     "invalid_field", "must be a string"),
    ("alert labels missing", "/webhook", _alert_without("labels"), "alerts[0].labels", "missing_field", "is missing"),
    ("alert startsAt missing", "/webhook", _alert_without("startsAt"), "alerts[0].startsAt", "missing_field", "is missing"),
    ("slack no text", "/slack/x", {"channel": "#a"}, "text", "missing_field", "text, attachments or blocks"),
    ("slack text number", "/slack/x", {"text": 3}, "text", "invalid_field", "must be a string"),
    ("slack attachments object", "/slack/x", {"attachments": {}}, "attachments", "invalid_field", "must be an array"),
    ("slack attachment string", "/slack/x", {"attachments": ["x"]}, "attachments[0]", "invalid_field", "must be an object"),
    ("slack title list", "/slack/x", {"attachments": [{"title": []}]}, "attachments[0].title", "invalid_field",
     "must be a string"),
    ("slack not JSON", "/slack/x", b"payload=%7B%7D", "(body)", "not_json", "not valid JSON"),
    ("pagerduty routing_key missing", "/pagerduty/v2/enqueue", _pagerduty(routing_key=None), "routing_key",
     "missing_field", "routing_key is missing"),
    ("pagerduty routing_key short", "/pagerduty/v2/enqueue", _pagerduty(routing_key="abc"), "routing_key",
     "invalid_field", "32-character"),
    ("pagerduty action bad", "/pagerduty/v2/enqueue", _pagerduty(event_action="fire"), "event_action",
     "invalid_field", "trigger, acknowledge, resolve"),
    ("pagerduty trigger no payload", "/pagerduty/v2/enqueue", _pagerduty(payload=None), "payload",
     "missing_field", "payload is missing"),
    ("pagerduty resolve no dedup_key", "/pagerduty/v2/enqueue", _pagerduty(event_action="resolve", dedup_key=None),
     "dedup_key", "missing_field", "dedup_key is missing"),
    ("pagerduty trigger empty payload", "/pagerduty/v2/enqueue", _pagerduty(payload={}), "payload.summary",
     "missing_field", "payload.summary is missing"),
    ("pagerduty severity bad", "/pagerduty/v2/enqueue", _pagerduty_payload(severity="high"), "payload.severity",
     "invalid_field", "critical, error, warning, info"),
    ("pagerduty summary empty", "/pagerduty/v2/enqueue", _pagerduty_payload(summary=""), "payload.summary",
     "invalid_field", "1..1024 characters"),
    ("pagerduty summary too long", "/pagerduty/v2/enqueue", _pagerduty_payload(summary="x" * 1025), "payload.summary",
     "invalid_field", "got 1025"),
    ("pagerduty source empty", "/pagerduty/v2/enqueue", _pagerduty_payload(source=""), "payload.source",
     "invalid_field", "payload.source is empty"),
    ("pagerduty source missing", "/pagerduty/v2/enqueue", _pagerduty_payload(source=None), "payload.source",
     "missing_field", "payload.source is missing"),
]


def _send(client, path, body):
    if isinstance(body, bytes):
        return client.post(path, data=body, content_type="application/json")
    return client.post(path, data=json.dumps(body), content_type="application/json")


@pytest.mark.parametrize(("path", "body", "field", "reason", "detail"),
                         [case[1:] for case in BAD_INPUTS], ids=[case[0] for case in BAD_INPUTS])
def test_bad_input_is_rejected(client, caplog, path, body, field, reason, detail):
    client.post("/webhook", json=load_payload("webhook-firing"))
    caplog.set_level(logging.WARNING, logger="alertreceiver")

    response = _send(client, path, body)

    assert response.status_code == 400
    answer = response.get_json()
    assert answer["field"] == field
    assert detail in answer["detail"]
    assert answer["errors"][0] == answer["detail"]
    assert [record.reason for record in caplog.records] == [reason]
    kind = path.split("/")[1]
    metrics = client.get("/metrics").get_data(as_text=True)
    assert f'receiver_rejected_requests_total{{kind="{kind}",reason="{reason}"}} 1.0' in metrics
    rows = notifications(client)
    assert [(row["kind"], row["alertname"]) for row in rows] == [("webhook", "AgentHighErrorRate")]


def test_pagerduty_error_lists_every_problem(client):
    event = {"routing_key": "short", "event_action": "trigger", "payload": {"summary": "", "severity": "high"}}

    response = client.post("/pagerduty/v2/enqueue", json=event)

    assert response.status_code == 400
    answer = response.get_json()
    assert answer["status"] == "invalid event"
    assert answer["message"] == "Event object is invalid"
    assert answer["errors"] == [
        "routing_key must be the 32-character integration key, got 5 characters",
        "payload.summary must have 1..1024 characters, got 0",
        "payload.source is missing; add it",
        "payload.severity='high' is invalid; use one of critical, error, warning, info",
    ]


def test_body_over_limit_gets_413(tmp_path, settings):
    app = create_app(settings)
    client = app.test_client()
    client.post("/webhook", json=load_payload("webhook-firing"))
    payload = load_payload("webhook-firing")
    payload["alerts"][0]["annotations"]["description"] = "x" * settings.max_body_bytes

    response = client.post("/webhook", json=payload)

    assert response.status_code == 413
    answer = response.get_json()
    assert answer["limit_bytes"] == 65536
    assert "limit of 65536 bytes" in answer["detail"]
    assert "RECEIVER_MAX_BODY_BYTES" in answer["detail"]
    assert len(notifications(client)) == 1
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'receiver_rejected_requests_total{kind="webhook",reason="too_large"} 1.0' in metrics


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/webhook", "OPTIONS, POST"),
        ("PUT", "/slack/alerts-critical", "OPTIONS, POST"),
        ("GET", "/pagerduty/v2/enqueue", "OPTIONS, POST"),
        ("POST", "/api/notifications", "GET, HEAD, OPTIONS"),
        ("DELETE", "/healthz", "GET, HEAD, OPTIONS"),
    ],
)
def test_wrong_method_gets_405_with_allow(client, method, path, allow):
    response = client.open(path, method=method)

    assert response.status_code == 405
    assert response.headers["Allow"] == allow
    answer = response.get_json()
    assert answer["error"] == "method not allowed"
    assert f"{method} is not allowed on {path}" in answer["detail"]


def test_unknown_path_gets_404_json(client):
    response = client.post("/alerts")

    assert response.status_code == 404
    assert response.get_json()["field"] == "(path)"


@pytest.mark.parametrize(
    ("starts_at", "ends_at"),
    [
        ("2026-12-04T20:07:02Z", "0001-01-01T00:00:00Z"),
        ("2026-12-04T20:07:02.123456789Z", "2026-12-04T20:09:02.5Z"),
        ("2026-12-04T22:07:02.123+02:00", "2026-12-04t20:09:02z"),
        ("2026-12-04T15:07:02-05:00", None),
    ],
)
def test_rfc3339_timestamps_are_accepted(client, starts_at, ends_at):
    payload = _webhook_alert(startsAt=starts_at, endsAt=ends_at)

    response = client.post("/webhook", json=payload)

    assert response.status_code == 200, response.get_data(as_text=True)
    [row] = notifications(client)
    assert row["starts_at"] == starts_at
    assert row["ends_at"] == (ends_at or "")


def test_long_slack_path_gets_404_json(client):
    response = client.post("/slack/" + "a" * 3000, json=load_payload("slack-alerts-critical-firing"))

    assert response.status_code == 404
    answer = response.get_json()
    assert answer["field"] == "(path)"
    assert answer["detail"] == ("the Slack webhook path has 3000 characters, more than the maximum of 200; "
                                "use a path like /slack/T000/B000/XXXX")
    assert notifications(client) == []
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'receiver_rejected_requests_total{kind="slack",reason="path_too_long"} 1.0' in metrics


def test_slack_path_at_limit_is_accepted(client):
    response = client.post("/slack/" + "a" * 200, json=load_payload("slack-alerts-critical-firing"))

    assert response.status_code == 200


def test_unexpected_error_gets_500_json(client, monkeypatch, caplog):
    def fail(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("alertreceiver.store.save_notification", fail)
    caplog.set_level(logging.ERROR, logger="alertreceiver")

    response = client.post("/webhook", json=load_payload("webhook-firing"))

    assert response.status_code == 500
    assert response.mimetype == "application/json"
    answer = response.get_json()
    assert answer["error"] == "internal server error"
    assert answer["detail"] == ("the receiver failed on POST /webhook; its log has the traceback, "
                                "and the sender may retry")
    assert [record.getMessage() for record in caplog.records] == [
        "unexpected error on POST /webhook: disk on fire"]
    assert caplog.records[0].exc_info[0] is RuntimeError
