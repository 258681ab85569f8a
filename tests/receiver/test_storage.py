"""Durability: notifications survive a new app on the same file and a killed process."""

from __future__ import annotations

import dataclasses
import os
import signal
import sqlite3
import subprocess
import sys

import pytest
import requests

from alertreceiver.app import create_app
from alertreceiver.config import ConfigError, Settings, load_settings
from tests.receiver.conftest import load_payload, notifications
from tests.support import free_port, wait_until


def test_new_app_on_same_file_reads_old_rows(settings):
    first = create_app(settings).test_client()
    first.post("/webhook", json=load_payload("webhook-firing"))
    first.post("/pagerduty/v2/enqueue", json=load_payload("pagerduty-firing"))
    first.post("/webhook", data="broken")
    before = notifications(first)

    second = create_app(settings).test_client()
    second.post("/slack/alerts-critical", json=load_payload("slack-alerts-critical-resolved"))

    after = notifications(second)
    assert after[1:] == before
    assert [(row["kind"], row["status"]) for row in after] == [
        ("slack", "resolved"), ("pagerduty", "firing"), ("webhook", "firing")]


def test_database_uses_wal_mode(app):
    connection = sqlite3.connect(app.config["RECEIVER_SETTINGS"].db_path)
    try:
        mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        connection.close()

    assert mode == "wal"


def test_newer_schema_stops_start_up(settings):
    create_app(settings)
    connection = sqlite3.connect(settings.db_path)
    connection.execute("PRAGMA user_version = 99")
    connection.close()

    with pytest.raises(RuntimeError, match="schema version 99"):
        create_app(settings)


def _start_receiver(port: int, db_path: str) -> subprocess.Popen:
    env = {**os.environ, "RECEIVER_HOST": "127.0.0.1", "RECEIVER_PORT": str(port), "RECEIVER_DB": db_path}
    return subprocess.Popen([sys.executable, "-m", "alertreceiver"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def _healthy(url: str) -> bool:
    return requests.get(f"{url}/healthz", timeout=2).status_code == 200


def test_killed_process_loses_nothing(tmp_path):
    db_path = str(tmp_path / "notifications.db")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = _start_receiver(port, db_path)
    try:
        wait_until(lambda: _healthy(url), timeout_s=30, what=f"python -m alertreceiver healthy at {url}")
        stored = requests.post(f"{url}/webhook", json=load_payload("webhook-firing"), timeout=5)
        assert stored.status_code == 200
    finally:
        # SIGKILL gives the process no chance to flush or close: only committed data counts.
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    process = _start_receiver(port, db_path)
    try:
        wait_until(lambda: _healthy(url), timeout_s=30, what=f"restarted receiver healthy at {url}")
        rows = requests.get(f"{url}/api/notifications", timeout=5).json()["notifications"]
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)

    assert [(row["kind"], row["alertname"], row["status"]) for row in rows] == [
        ("webhook", "AgentHighErrorRate", "firing")]


def test_settings_defaults_match_contract():
    assert load_settings({}) == Settings(host="0.0.0.0", port=5001, db_path="/data/notifications.db",
                                         grafana_url="http://127.0.0.1:3000",
                                         alertmanager_url="http://127.0.0.1:9093",
                                         max_body_bytes=1048576, max_notifications=100000, log_level="INFO")
    assert load_settings({"RECEIVER_MAX_NOTIFICATIONS": "50"}).max_notifications == 50


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"RECEIVER_PORT": "http"}, "RECEIVER_PORT='http' is not an integer"),
        ({"RECEIVER_PORT": "70000"}, "RECEIVER_PORT=70000 is out of range"),
        ({"RECEIVER_MAX_BODY_BYTES": "10"}, "RECEIVER_MAX_BODY_BYTES=10 is out of range"),
        ({"RECEIVER_MAX_NOTIFICATIONS": "0"}, "RECEIVER_MAX_NOTIFICATIONS=0 is out of range"),
        ({"RECEIVER_MAX_NOTIFICATIONS": "many"}, "RECEIVER_MAX_NOTIFICATIONS='many' is not an integer"),
        ({"RECEIVER_GRAFANA_URL": "grafana:3000"}, "RECEIVER_GRAFANA_URL='grafana:3000' is not an http(s) URL"),
        ({"RECEIVER_ALERTMANAGER_URL": "ftp://x"}, "RECEIVER_ALERTMANAGER_URL='ftp://x' is not an http(s) URL"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL='LOUD' is invalid"),
    ],
)
def test_bad_setting_names_variable(environ, message):
    with pytest.raises(ConfigError) as raised:
        load_settings(environ)

    assert str(raised.value).startswith(message)


def _two_alerts(summary):
    payload = load_payload("webhook-firing")
    first = payload["alerts"][0]
    payload["alerts"] = [
        {**first, "annotations": {"summary": f"{summary}-a"}},
        {**first, "annotations": {"summary": f"{summary}-b"}},
    ]
    return payload


def _table_counts(db_path):
    connection = sqlite3.connect(db_path)
    try:
        return {table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("notifications", "payloads")}
    finally:
        connection.close()


def test_retention_prunes_oldest_rows(settings):
    client = create_app(dataclasses.replace(settings, max_notifications=5)).test_client()
    for summary in ("one", "two", "three"):
        client.post("/webhook", json=_two_alerts(summary))

    summaries = [row["annotations"]["summary"] for row in notifications(client)]

    assert summaries == ["three-b", "three-a", "two-b", "two-a", "one-b"]
    assert _table_counts(settings.db_path) == {"notifications": 5, "payloads": 3}

    client.post("/webhook", json=_two_alerts("four"))

    summaries = [row["annotations"]["summary"] for row in notifications(client)]
    assert summaries == ["four-b", "four-a", "three-b", "three-a", "two-b"]
    assert _table_counts(settings.db_path) == {"notifications": 5, "payloads": 3}
