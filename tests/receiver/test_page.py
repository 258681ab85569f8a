"""GET /: grouping, order, status marks, links, and escaping of untrusted alert text."""

from __future__ import annotations

import re

import pytest

from tests.receiver.conftest import load_payload


def _alert(alertname, status, summary, runbook_url, instance="agent-1:8080"):
    payload = load_payload("webhook-firing")
    payload["status"] = status
    payload["alerts"][0].update(
        status=status,
        labels={"alertname": alertname, "instance": instance, "severity": "warning"},
        annotations={"summary": summary, "runbook_url": runbook_url},
    )
    return payload


def test_page_groups_newest_alert_first(client):
    client.post("/webhook", json=_alert("AgentDown", "firing", "agent down", "https://runbooks.example/AgentDown.md"))
    client.post("/webhook", json=_alert("AgentHighLatency", "firing", "slow", "https://runbooks.example/Lat.md"))
    client.post("/webhook", json=_alert("AgentDown", "resolved", "agent back", "https://runbooks.example/AgentDown.md"))

    html = client.get("/").get_data(as_text=True)

    headings = re.findall(r"<h2>(\w+)", html)
    assert headings == ["AgentDown", "AgentHighLatency"]
    down = html[html.index("<h2>AgentDown"):html.index("<h2>AgentHighLatency")]
    assert down.index("agent back") < down.index("agent down")
    assert '<span class="status status-resolved">RESOLVED</span></h2>' in down
    assert '<span class="status status-firing">FIRING</span>' in down


def test_page_links_runbook_grafana_alertmanager(client):
    client.post("/webhook", json=_alert("AgentDown", "firing", "down", "https://runbooks.example/AgentDown.md"))

    html = client.get("/").get_data(as_text=True)

    assert '<a href="https://runbooks.example/AgentDown.md">Runbook</a>' in html
    assert '<a href="http://127.0.0.1:3000">Grafana</a>' in html
    assert ('<a href="http://127.0.0.1:9093/#/alerts?filter=%7Balertname%3D%22AgentDown%22%7D">Alertmanager</a>'
            in html)


def test_page_escapes_alert_text(client):
    hostile = '<script>alert("x")</script>'
    client.post("/webhook", json=_alert("Evil<b>", "firing", hostile, "javascript:alert(1)", instance='"><img src=x>'))

    html = client.get("/").get_data(as_text=True)

    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "Evil&lt;b&gt;" in html
    assert "<img src=x>" not in html
    assert "javascript:" not in html
    assert ">Runbook</a>" not in html


def test_page_with_no_rows_says_so(client):
    response = client.get("/")

    assert response.status_code == 200
    assert "No notifications stored yet." in response.get_data(as_text=True)


@pytest.mark.parametrize(("query", "field"), [("status=bad", "status"), ("limit=1&limit=2", "limit")])
def test_page_rejects_bad_filter(client, query, field):
    response = client.get(f"/?{query}")

    assert response.status_code == 400
    assert response.get_json()["field"] == field
