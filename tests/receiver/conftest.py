"""Fixtures of the receiver tests: a fresh app and database per test, and the real payloads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from alertreceiver.app import create_app
from alertreceiver.config import Settings

# Bodies that Alertmanager 0.25 sent with alertmanager/alertmanager.yml, captured from the
# real binary, for one critical ai-platform alert whose summary contains HTML and quotes.
PAYLOADS = Path(__file__).parent / "payloads"


def load_payload(name: str) -> dict[str, Any]:
    """Return the captured request body tests/receiver/payloads/<name>.json."""
    return json.loads((PAYLOADS / f"{name}.json").read_text())


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(db_path=str(tmp_path / "data" / "notifications.db"), max_body_bytes=64 * 1024,
                    grafana_url="http://127.0.0.1:3000", alertmanager_url="http://127.0.0.1:9093")


@pytest.fixture
def app(settings: Settings) -> Flask:
    return create_app(settings)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def notifications(client: FlaskClient, query: str = "") -> list[dict[str, Any]]:
    """Return GET /api/notifications?<query> rows, failing on a non-200 response."""
    response = client.get(f"/api/notifications?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["notifications"]
