"""The alerting pipeline with real binaries: agent errors to notifications on every route.

The native stack runs the real agent, model service and receiver and the Debian Prometheus
and Alertmanager with the shipped configs (addresses changed for loopback). Errors made
through the agent's `trigger_error` payload must bring AgentHighErrorRate to the receiver
through each path its routes name, and then its resolve.
"""

from __future__ import annotations

import threading
import time

import pytest
import requests

from tests.support import wait_until

pytestmark = pytest.mark.e2e

ALERT = "AgentHighErrorRate"
# Where alertmanager.yml routes a critical ai-platform alert: the audit webhook, the
# PagerDuty receiver (PagerDuty plus the critical Slack channel) and the team's Slack channel.
EXPECTED_RECEIVERS = {
    "webhook": {"webhook"},
    "pagerduty": {"pagerduty-critical"},
    "slack": {"pagerduty-critical", "slack-ai-platform"},
}
# `for` 30 s plus group_wait 10 s plus a few intervals fit well inside these.
FIRING_TIMEOUT_S = 180
RESOLVE_TIMEOUT_S = 240


def notifications(receiver_url: str, **filters) -> list[dict]:
    response = requests.get(f"{receiver_url}/api/notifications", params={"limit": 1000, **filters}, timeout=5)
    response.raise_for_status()
    return response.json()["notifications"]


def send_errors(agent_url: str, stop: threading.Event, failures: list[str]) -> None:
    """Send a failing task and a healthy one every 0.2 s until `stop` is set."""
    with requests.Session() as session:
        while not stop.is_set():
            for body, expected in (({"trigger_error": True}, 500), ({"task": "classify", "data": {"text": "ok"}}, 200)):
                response = session.post(f"{agent_url}/api/v1/process", json=body, timeout=30)
                if response.status_code != expected:
                    failures.append(f"{body} -> {response.status_code}: {response.text[:200]}")
            stop.wait(0.2)


def test_error_rate_alert_reaches_every_route(native_stack):
    receiver_url = native_stack.urls["receiver"]
    since = time.time()
    stop = threading.Event()
    failures: list[str] = []
    sender = threading.Thread(target=send_errors, args=(native_stack.urls["agent"], stop, failures), daemon=True)
    sender.start()
    try:
        firing = {
            kind: wait_until(
                lambda kind=kind: notifications(receiver_url, kind=kind, alertname=ALERT, status="firing", since=since),
                timeout_s=FIRING_TIMEOUT_S,
                what=f"a firing {ALERT} notification through {kind}",
                interval_s=2,
            )
            for kind in EXPECTED_RECEIVERS
        }
    finally:
        stop.set()
        sender.join(timeout=60)
    assert failures == []

    resolved = {
        kind: wait_until(
            lambda kind=kind: notifications(receiver_url, kind=kind, alertname=ALERT, status="resolved", since=since),
            timeout_s=RESOLVE_TIMEOUT_S,
            what=f"a resolved {ALERT} notification through {kind}",
            interval_s=2,
        )
        for kind in EXPECTED_RECEIVERS
    }

    for kind, receivers in EXPECTED_RECEIVERS.items():
        assert {row["receiver"] for row in firing[kind]} == receivers, kind
        assert {row["receiver"] for row in resolved[kind]} == receivers, kind
        for row in firing[kind] + resolved[kind]:
            assert row["alertname"] == ALERT
            assert row["labels"]["severity"] == "critical"
            assert row["labels"]["team"] == "ai-platform"
    webhook_row = firing["webhook"][0]
    assert webhook_row["labels"]["service"] == "agent"
    assert webhook_row["annotations"]["runbook_url"] == "http://127.0.0.1:5001/runbooks/AgentHighErrorRate"
    assert max(row["received_at_unix"] for row in firing["webhook"]) < min(
        row["received_at_unix"] for row in resolved["webhook"]
    )
