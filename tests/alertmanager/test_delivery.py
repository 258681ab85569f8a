"""The real Alertmanager delivers through webhook, Slack and PagerDuty to the receiver.

Starts Debian's prometheus-alertmanager with alertmanager/alertmanager.yml (only the
receiver address rewritten) and a receiver on free loopback ports, posts alerts to
Alertmanager's API as Prometheus would, and polls the receiver until the notifications
arrive. Each wait lasts at most group_wait or group_interval (10 s) plus margin.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest
import requests

from tests.alertmanager.helpers import rewrite_alertmanager_config, running_alertmanager, running_receiver
from tests.support import require_binary, wait_until

pytestmark = pytest.mark.e2e

DELIVERY_TIMEOUT_S = 60
RUNBOOK = "http://127.0.0.1:5001/runbooks/AgentHighErrorRate"


class Stack:
    """URLs of the running Alertmanager and receiver, and the receiver's database file."""

    def __init__(self, alertmanager_url, receiver_url, db_path):
        self.alertmanager_url = alertmanager_url
        self.receiver_url = receiver_url
        self.db_path = db_path


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    binary = require_binary("prometheus-alertmanager")
    work_dir = tmp_path_factory.mktemp("alertmanager")
    db_path = work_dir / "notifications.db"
    with running_receiver(db_path) as receiver_url:
        config = rewrite_alertmanager_config(work_dir / "config", receiver_url.removeprefix("http://"))
        with running_alertmanager(binary, config, work_dir) as alertmanager_url:
            yield Stack(alertmanager_url, receiver_url, db_path)


def _timestamp(offset: timedelta) -> str:
    return (datetime.now(timezone.utc) + offset).isoformat(timespec="seconds").replace("+00:00", "Z")


def post_alerts(stack, alerts, *, resolved=False, started_s_ago=120):
    """POST alerts to Alertmanager's v2 API: firing for 5 more minutes, or ended a minute ago.

    Alertmanager skips group_wait for an alert that started longer ago than group_wait,
    as a Prometheus alert past its `for` duration has; started_s_ago=0 keeps the wait.
    """
    ends_at = _timestamp(timedelta(minutes=-1) if resolved else timedelta(minutes=5))
    body = [{"labels": alert["labels"], "annotations": alert.get("annotations", {}),
             "startsAt": _timestamp(timedelta(seconds=-started_s_ago)), "endsAt": ends_at,
             "generatorURL": "http://127.0.0.1:9090/graph"} for alert in alerts]
    response = requests.post(f"{stack.alertmanager_url}/api/v2/alerts", json=body, timeout=10)
    assert response.status_code == 200, response.text


def received(stack, **filters):
    response = requests.get(f"{stack.receiver_url}/api/notifications", params={"limit": 1000, **filters}, timeout=5)
    response.raise_for_status()
    return response.json()["notifications"]


def _paths(rows):
    return sorted((row["kind"], row["receiver"], row["channel"]) for row in rows)


EXPECTED_PATHS = [
    ("pagerduty", "pagerduty-critical", ""),
    ("slack", "pagerduty-critical", "#alerts-critical"),
    ("slack", "slack-ai-platform", "#ai-platform-alerts"),
    ("webhook", "webhook", ""),
]

ERROR_RATE_ALERT = {
    "labels": {"alertname": "AgentHighErrorRate", "severity": "critical", "team": "ai-platform",
               "service": "agent", "instance": "agent:8080", "job": "agent"},
    "annotations": {"summary": "Agent error ratio is 12% (<b>above</b> 5%)",
                    "description": "Errors over tasks for 2m on agent:8080.", "runbook_url": RUNBOOK},
}


def _wait_for_status(stack, status):
    def probe():
        rows = received(stack, alertname="AgentHighErrorRate", status=status)
        return rows if _paths(rows) == EXPECTED_PATHS else None

    return wait_until(probe, timeout_s=DELIVERY_TIMEOUT_S, interval_s=1,
                      what=f"{status} AgentHighErrorRate on webhook, both Slack channels and PagerDuty")


def _stored_bodies(stack, kind):
    connection = sqlite3.connect(stack.db_path)
    try:
        return [json.loads(body) for (body,) in
                connection.execute("SELECT body FROM payloads WHERE kind = ? ORDER BY id", (kind,))]
    finally:
        connection.close()


def test_critical_alert_fires_and_resolves_on_every_path(stack):
    post_alerts(stack, [ERROR_RATE_ALERT])

    firing = _wait_for_status(stack, "firing")

    for row in firing:
        assert row["labels"] == ERROR_RATE_ALERT["labels"]
        assert row["annotations"] == ERROR_RATE_ALERT["annotations"]

    post_alerts(stack, [ERROR_RATE_ALERT], resolved=True)

    resolved = _wait_for_status(stack, "resolved")

    assert {row["fingerprint"] for row in resolved} == {row["fingerprint"] for row in firing}
    assert len(received(stack, alertname="AgentHighErrorRate")) == 8


def test_templates_render_for_people(stack):
    post_alerts(stack, [ERROR_RATE_ALERT])
    _wait_for_status(stack, "firing")

    slack = [body for body in _stored_bodies(stack, "slack")
             if body["attachments"][0]["title"].startswith("[FIRING:1] AgentHighErrorRate")]
    pagerduty = [body for body in _stored_bodies(stack, "pagerduty") if body["event_action"] == "trigger"]

    attachment = slack[0]["attachments"][0]
    assert attachment["title"] == "[FIRING:1] AgentHighErrorRate (agent)"
    assert attachment["color"] == "danger"
    assert attachment["text"] == (
        "*FIRING* AgentHighErrorRate on agent:8080 (critical)\n"
        "Agent error ratio is 12% (&lt;b&gt;above&lt;/b&gt; 5%)\n"
        "Errors over tasks for 2m on agent:8080.\n"
        f"<{RUNBOOK}|Runbook> · <http://127.0.0.1:3000/dashboards|Dashboard> · <http://127.0.0.1:9090/graph|Source>\n"
    )
    event = pagerduty[0]
    assert event["payload"]["summary"] == "[FIRING:1] AgentHighErrorRate: Agent error ratio is 12% (<b>above</b> 5%)"
    assert event["payload"]["severity"] == "critical"
    assert event["payload"]["source"] == "agent"
    assert event["payload"]["custom_details"]["runbook_url"] == RUNBOOK
    assert event["client_url"] == stack.alertmanager_url


def _alert_states(stack, alertname):
    response = requests.get(f"{stack.alertmanager_url}/api/v2/alerts",
                            params={"filter": f'alertname="{alertname}"'}, timeout=5)
    response.raise_for_status()
    return {alert["labels"].get("instance", alert["labels"].get("slo")): alert["status"]["state"]
            for alert in response.json()}


def _alert(alertname, severity, **labels):
    return {"labels": {"alertname": alertname, "severity": severity, "team": "ai-platform", **labels}}


# The inhibition tests post fresh alerts, so group_wait gives the inhibitor time to see
# the source alert before the first notification of the target group is sent.
def test_agent_down_silences_warnings_of_its_instance(stack):
    post_alerts(stack, started_s_ago=0, alerts=[
        _alert("AgentDown", "critical", service="inhibit-down", instance="agent-1:8080"),
        _alert("AgentQueueBackup", "warning", service="inhibit-down", instance="agent-1:8080"),
        _alert("AgentQueueBackup", "warning", service="inhibit-down", instance="agent-2:8080"),
    ])

    expected = {"agent-1:8080": "suppressed", "agent-2:8080": "active"}
    wait_until(lambda: _alert_states(stack, "AgentQueueBackup") == expected,
               timeout_s=30, what=f"AgentQueueBackup states {expected} in Alertmanager")

    rows = wait_until(lambda: received(stack, alertname="AgentQueueBackup", kind="webhook"),
                      timeout_s=DELIVERY_TIMEOUT_S, interval_s=1, what="AgentQueueBackup on the webhook")
    assert [row["labels"]["instance"] for row in rows] == ["agent-2:8080"]


def test_fast_burn_silences_slow_burn_of_same_slo(stack):
    post_alerts(stack, started_s_ago=0, alerts=[
        _alert("AgentErrorBudgetBurnFast", "critical", service="inhibit-slo", slo="availability"),
        _alert("AgentErrorBudgetBurnSlow", "warning", service="inhibit-slo", slo="availability"),
        _alert("AgentLatencyBudgetBurnSlow", "warning", service="inhibit-slo", slo="latency"),
    ])

    wait_until(lambda: _alert_states(stack, "AgentErrorBudgetBurnSlow") == {"availability": "suppressed"},
               timeout_s=30, what="AgentErrorBudgetBurnSlow suppressed by the fast burn")
    assert _alert_states(stack, "AgentLatencyBudgetBurnSlow") == {"latency": "active"}

    wait_until(lambda: received(stack, alertname="AgentLatencyBudgetBurnSlow", kind="webhook"),
               timeout_s=DELIVERY_TIMEOUT_S, interval_s=1, what="AgentLatencyBudgetBurnSlow on the webhook")
    wait_until(lambda: received(stack, alertname="AgentErrorBudgetBurnFast", kind="webhook"),
               timeout_s=DELIVERY_TIMEOUT_S, interval_s=1, what="AgentErrorBudgetBurnFast on the webhook")
    assert received(stack, alertname="AgentErrorBudgetBurnSlow") == []
