"""Accepted notifications: the three formats, as Alertmanager 0.25 really sends them."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.receiver.conftest import load_payload, notifications

LABELS = {"alertname": "AgentHighErrorRate", "instance": "a:1", "service": "agent",
          "severity": "critical", "team": "ai-platform"}
FIRING_ANNOTATIONS = {"description": "ratio 7%", "runbook_url": "https://example.invalid/r.md",
                      "summary": "Errors & <b>\"quotes\"</b> 'x' =\nline2"}


def test_webhook_stores_one_row_per_alert(client):
    payload = load_payload("webhook-firing")

    response = client.post("/webhook", json=payload)

    assert response.status_code == 200
    assert response.get_json() == {"status": "stored", "payload_id": 1, "alerts": 1}
    [row] = notifications(client)
    assert row["kind"] == "webhook"
    assert row["path"] == "/webhook"
    assert row["receiver"] == "webhook"
    assert row["alertname"] == "AgentHighErrorRate"
    assert row["status"] == "firing"
    assert row["labels"] == LABELS
    assert row["annotations"] == FIRING_ANNOTATIONS
    assert row["fingerprint"] == "1e1207cdb9dd9d1d"
    assert row["group_key"] == '{}/{}:{alertname="AgentHighErrorRate", service="agent"}'
    assert row["generator_url"] == "http://prom/graph?g0.expr=x&a=b"


def test_webhook_with_three_alerts_gives_three_rows(client):
    payload = load_payload("webhook-firing")
    template = payload["alerts"][0]
    payload["alerts"] = [
        {**template, "labels": {**template["labels"], "instance": f"agent-{index}:8080"}, "fingerprint": f"f{index}"}
        for index in range(3)
    ]

    response = client.post("/webhook", json=payload)

    assert response.status_code == 200
    assert response.get_json()["alerts"] == 3
    rows = notifications(client)
    assert sorted(row["labels"]["instance"] for row in rows) == ["agent-0:8080", "agent-1:8080", "agent-2:8080"]
    assert {row["payload_id"] for row in rows} == {1}


@pytest.mark.parametrize(
    ("name", "path", "receiver", "channel", "status"),
    [
        ("slack-alerts-critical-firing", "/slack/alerts-critical", "pagerduty-critical", "#alerts-critical", "firing"),
        ("slack-ai-platform-alerts-firing", "/slack/ai-platform-alerts", "slack-ai-platform", "#ai-platform-alerts", "firing"),
        ("slack-alerts-critical-resolved", "/slack/alerts-critical", "pagerduty-critical", "#alerts-critical", "resolved"),
    ],
)
def test_slack_reads_alerts_from_callback_id(client, name, path, receiver, channel, status):
    response = client.post(path, json=load_payload(name))

    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.get_data(as_text=True) == "ok"
    [row] = notifications(client)
    assert row["kind"] == "slack"
    assert row["path"] == path
    assert row["receiver"] == receiver
    assert row["channel"] == channel
    assert row["alertname"] == "AgentHighErrorRate"
    assert row["status"] == status
    assert row["labels"] == LABELS
    assert row["fingerprint"] == "1e1207cdb9dd9d1d"


def test_slack_annotations_survive_encoding(client):
    client.post("/slack/alerts-critical", json=load_payload("slack-alerts-critical-firing"))

    [row] = notifications(client)

    assert row["annotations"] == FIRING_ANNOTATIONS
    assert row["generator_url"] == "http://prom/graph?g0.expr=x&a=b"
    assert row["starts_at"] == load_payload("webhook-firing")["alerts"][0]["startsAt"].replace("Z", ".000Z")


@pytest.mark.parametrize(
    ("message", "alertname", "status"),
    [
        ({"attachments": [{"title": "[FIRING:2] AgentDown (agent)", "text": "two down"}]}, "AgentDown", "firing"),
        ({"attachments": [{"title": "[RESOLVED] AgentDown", "callback_id": "not a query"}]}, "AgentDown", "resolved"),
        ({"text": "[FIRING:1] TargetDown"}, "TargetDown", "firing"),
        ({"text": "deploy finished"}, "", "unknown"),
    ],
)
def test_slack_without_alert_block_uses_title(client, message, alertname, status):
    response = client.post("/slack/services/T0/B0/X", json=message)

    assert response.status_code == 200
    [row] = notifications(client)
    assert row["alertname"] == alertname
    assert row["status"] == status
    assert row["receiver"] == ""


@pytest.mark.parametrize(("name", "status"), [("pagerduty-firing", "firing"), ("pagerduty-resolved", "resolved")])
def test_pagerduty_replies_like_events_api(client, name, status):
    event = load_payload(name)

    response = client.post("/pagerduty/v2/enqueue", json=event)

    assert response.status_code == 202
    assert response.get_json() == {"status": "success", "message": "Event processed", "dedup_key": event["dedup_key"]}
    [row] = notifications(client)
    assert row["kind"] == "pagerduty"
    assert row["receiver"] == "pagerduty-critical"
    assert row["alertname"] == "AgentHighErrorRate"
    assert row["status"] == status
    assert row["labels"] == LABELS
    assert row["dedup_key"] == event["dedup_key"]


def test_pagerduty_generates_dedup_key_when_absent(client):
    event = {"routing_key": "r" * 32, "event_action": "trigger",
             "payload": {"summary": "disk full", "source": "host-1", "severity": "warning", "class": "DiskFull"}}

    response = client.post("/pagerduty/v2/enqueue", json=event)

    assert response.status_code == 202
    dedup_key = response.get_json()["dedup_key"]
    assert len(dedup_key) == 32
    [row] = notifications(client)
    assert row["alertname"] == "DiskFull"
    assert row["status"] == "firing"
    assert row["dedup_key"] == dedup_key


def test_pagerduty_acknowledge_needs_no_payload(client):
    event = {"routing_key": "r" * 32, "event_action": "acknowledge", "dedup_key": "incident-7"}

    response = client.post("/pagerduty/v2/enqueue", json=event)

    assert response.status_code == 202
    assert response.get_json()["dedup_key"] == "incident-7"
    [row] = notifications(client)
    assert row["status"] == "acknowledged"
    assert row["alertname"] == ""


def test_raw_body_is_stored_verbatim(client, app):
    body = json.dumps(load_payload("webhook-firing"), indent=3)

    client.post("/webhook", data=body, content_type="application/json")

    connection = sqlite3.connect(app.config["RECEIVER_SETTINGS"].db_path)
    try:
        stored = connection.execute("SELECT kind, path, body FROM payloads").fetchall()
    finally:
        connection.close()
    assert stored == [("webhook", "/webhook", body)]


def test_metrics_count_notifications(client):
    client.post("/webhook", json=load_payload("webhook-firing"))
    client.post("/slack/ai-platform-alerts", json=load_payload("slack-ai-platform-alerts-firing"))
    client.post("/pagerduty/v2/enqueue", json=load_payload("pagerduty-resolved"))
    client.post("/webhook", data="nope")

    text = client.get("/metrics").get_data(as_text=True)

    assert 'receiver_notifications_total{kind="webhook",receiver="webhook",status="firing"} 1.0' in text
    assert 'receiver_notifications_total{kind="slack",receiver="slack-ai-platform",status="firing"} 1.0' in text
    assert 'receiver_notifications_total{kind="pagerduty",receiver="pagerduty-critical",status="resolved"} 1.0' in text
    assert 'receiver_rejected_requests_total{kind="webhook",reason="not_json"} 1.0' in text


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_health_endpoints_report_ok(client, path):
    response = client.get(path)

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
