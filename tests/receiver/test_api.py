"""GET /api/notifications: filters, order, limits and the 400 responses to bad filters."""

from __future__ import annotations

import pytest

from alertreceiver import store
from alertreceiver.payloads import AlertRecord

# received_at (unix s), kind, receiver, alertname, status
SEED = [
    (1000.0, "webhook", "webhook", "AgentDown", "firing"),
    (1000.0, "slack", "slack-ai-platform", "AgentDown", "firing"),
    (2000.0, "pagerduty", "pagerduty-critical", "AgentHighErrorRate", "firing"),
    (3000.0, "webhook", "webhook", "AgentHighErrorRate", "resolved"),
    (3000.5, "slack", "pagerduty-critical", "AgentHighErrorRate", "resolved"),
]


@pytest.fixture
def seeded(app):
    connection = store.connect(app.config["RECEIVER_SETTINGS"].db_path)
    try:
        for received_at, kind, receiver, alertname, status in SEED:
            record = AlertRecord(kind=kind, receiver=receiver, alertname=alertname, status=status,
                                 labels={"alertname": alertname})
            store.save_notification(connection, kind=kind, path=f"/{kind}", body="{}", records=[record],
                                    received_at=received_at)
    finally:
        connection.close()
    return app.test_client()


def _keys(response):
    return [(row["received_at_unix"], row["kind"], row["status"]) for row in response.get_json()["notifications"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", [(3000.5, "slack", "resolved"), (3000.0, "webhook", "resolved"), (2000.0, "pagerduty", "firing"),
              (1000.0, "slack", "firing"), (1000.0, "webhook", "firing")]),
        ("kind=slack", [(3000.5, "slack", "resolved"), (1000.0, "slack", "firing")]),
        ("receiver=pagerduty-critical", [(3000.5, "slack", "resolved"), (2000.0, "pagerduty", "firing")]),
        ("alertname=AgentDown", [(1000.0, "slack", "firing"), (1000.0, "webhook", "firing")]),
        ("status=resolved", [(3000.5, "slack", "resolved"), (3000.0, "webhook", "resolved")]),
        ("alertname=AgentHighErrorRate&status=firing", [(2000.0, "pagerduty", "firing")]),
        ("since=2000", [(3000.5, "slack", "resolved"), (3000.0, "webhook", "resolved"), (2000.0, "pagerduty", "firing")]),
        ("since=3000.25", [(3000.5, "slack", "resolved")]),
        ("since=1970-01-01T00:50:00Z", [(3000.5, "slack", "resolved"), (3000.0, "webhook", "resolved")]),
        ("since=1970-01-01T01:50:00%2B01:00", [(3000.5, "slack", "resolved"), (3000.0, "webhook", "resolved")]),
        ("limit=2", [(3000.5, "slack", "resolved"), (3000.0, "webhook", "resolved")]),
        ("kind=webhook&limit=1", [(3000.0, "webhook", "resolved")]),
        ("alertname=NoSuchAlert", []),
    ],
)
def test_filters_select_rows_newest_first(seeded, query, expected):
    response = seeded.get(f"/api/notifications?{query}")

    assert response.status_code == 200
    assert _keys(response) == expected


def test_same_time_rows_are_ordered_by_id(seeded):
    rows = seeded.get("/api/notifications?since=1000&limit=100").get_json()["notifications"]

    same_time = [row["id"] for row in rows if row["received_at_unix"] == 1000.0]

    assert same_time == [2, 1]


def test_row_has_contract_fields(seeded):
    [row] = seeded.get("/api/notifications?kind=pagerduty").get_json()["notifications"]

    assert row == {
        "id": 3, "payload_id": 3, "received_at": "1970-01-01T00:33:20.000Z", "received_at_unix": 2000.0,
        "kind": "pagerduty", "path": "/pagerduty", "receiver": "pagerduty-critical",
        "alertname": "AgentHighErrorRate", "status": "firing", "fingerprint": "",
        "labels": {"alertname": "AgentHighErrorRate"}, "annotations": {}, "starts_at": "", "ends_at": "",
        "generator_url": "", "group_key": "", "channel": "", "dedup_key": "",
    }


@pytest.mark.parametrize(
    ("query", "field", "detail"),
    [
        ("kind=email", "kind", "use one of webhook, slack, pagerduty"),
        ("status=pending", "status", "use one of firing, resolved, acknowledged, unknown"),
        ("since=yesterday", "since", "use unix seconds or RFC 3339"),
        ("since=-5", "since", "since='-5' is negative; use unix seconds of 0 or more"),
        ("since=nan", "since", "since='nan' is not a finite number"),
        ("since=1e400", "since", "since='1e400' is not a finite number; use unix seconds such as 1714564800"),
        ("since=-inf", "since", "since='-inf' is not a finite number"),
        ("limit=1&limit=2", "limit", "query parameter 'limit' is given 2 times; give it once"),
        ("kind=webhook&kind=slack&kind=webhook", "kind", "query parameter 'kind' is given 3 times"),
        ("alertname=A&alertname=A", "alertname", "query parameter 'alertname' is given 2 times"),
        ("since=2024-05-01T12:00:00", "since", "has no UTC offset"),
        ("limit=0", "limit", "out of range; use 1..1000"),
        ("limit=1001", "limit", "out of range; use 1..1000"),
        ("limit=ten", "limit", "not an integer"),
        ("alert=AgentDown", "alert", "unknown query parameter 'alert'"),
    ],
)
def test_bad_filter_gets_400_naming_field(seeded, query, field, detail):
    response = seeded.get(f"/api/notifications?{query}")

    assert response.status_code == 400
    answer = response.get_json()
    assert answer["error"] == "invalid query parameter"
    assert answer["field"] == field
    assert detail in answer["detail"]
    metrics = seeded.get("/metrics").get_data(as_text=True)
    assert 'receiver_rejected_requests_total{kind="api",reason="invalid_query"} 1.0' in metrics
