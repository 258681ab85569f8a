"""GET /: grouping, order, status marks, links, and escaping of untrusted alert text."""

from __future__ import annotations

import dataclasses
import re

import pytest

from alertreceiver.app import create_app
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


def _flood(alertnames):
    """Return one webhook payload with one alert per entry of `alertnames`."""
    payload = load_payload("webhook-firing")
    template = payload["alerts"][0]
    payload["alerts"] = [
        {**template, "labels": {"alertname": name, "instance": f"agent-{index}"}, "annotations": {"summary": f"s{index}"}}
        for index, name in enumerate(alertnames)
    ]
    return payload


@pytest.fixture
def big_client(settings):
    return create_app(dataclasses.replace(settings, max_body_bytes=8 * 1024 * 1024)).test_client()


def test_page_filter_matching_nothing(client):
    client.post("/webhook", json=_alert("AgentDown", "firing", "down", "https://runbooks.example/AgentDown.md"))

    html = client.get("/?alertname=Nope&status=firing").get_data(as_text=True)

    assert "No notifications stored yet." not in html
    assert "No notifications match alertname=Nope, status=firing." in html
    assert '<p class="filters">Filters: alertname=Nope, status=firing.' in html


def test_page_without_filters_shows_none(client):
    client.post("/webhook", json=_alert("AgentDown", "firing", "down", "https://runbooks.example/AgentDown.md"))

    html = client.get("/?limit=5").get_data(as_text=True)

    assert '<p class="filters">' not in html
    assert "No notifications" not in html


def test_page_flood_keeps_other_alerts(big_client):
    big_client.post("/webhook", json=_alert("AgentDown", "firing", "agent down", "https://runbooks.example/A.md"))
    response = big_client.post("/webhook", json=_flood(["Flood"] * 3000))
    assert response.status_code == 200, response.get_data(as_text=True)

    html = big_client.get("/").get_data(as_text=True)

    assert re.findall(r"<h2>(\w+)", html) == ["Flood", "AgentDown"]
    flood = html[html.index("<h2>Flood"):html.index("<h2>AgentDown")]
    assert flood.count("<tr>") == 1 + 20
    assert "2980 older rows of 3000 not shown" in flood
    assert '<a href="/api/notifications?alertname=Flood&amp;limit=1000">JSON</a>' in flood
    down = html[html.index("<h2>AgentDown"):]
    assert "agent down" in down
    assert "older rows" not in down
    assert "2 alert names, newest first, with the newest 20 rows of each" in html


def test_page_limit_sets_rows_per_alert(big_client):
    big_client.post("/webhook", json=_flood(["Flood"] * 30 + ["Other"] * 2))

    html = big_client.get("/?limit=3").get_data(as_text=True)

    assert html.count("<tr>") == (1 + 3) + (1 + 2)
    assert "27 older rows of 30 not shown" in html
    assert "the newest 3 rows of each" in html


def test_page_caps_alert_names(big_client):
    big_client.post("/webhook", json=_flood([f"Alert{index:03d}" for index in range(101)]))

    html = big_client.get("/").get_data(as_text=True)

    headings = re.findall(r"<h2>(\w+)", html)
    assert len(headings) == 100
    assert "Alert000" not in headings
    assert "Showing the 100 most recent of 101 alert names" in html


def test_api_ignores_page_grouping(big_client):
    big_client.post("/webhook", json=_flood(["Flood"] * 300))

    rows = big_client.get("/api/notifications?limit=1000").get_json()["notifications"]

    assert len(rows) == 300
    assert {row["alertname"] for row in rows} == {"Flood"}
