"""The burn-rate forecast: its arithmetic, the windows read from the rules, the queries it sends."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from lab.alert_timing import load_prometheus
from lab.burn_forecast import finished_requests, forecast_alert, forecast_window, ratio_windows
from lab.components import REPO_ROOT
from lab.errors import LabError

SHIPPED_PROMETHEUS = REPO_ROOT / "prometheus" / "prometheus.yml"

API_LATENCY_COUNT = 'http_request_duration_seconds_count{job="agent",route=~"/api/.*"}'
API_LATENCY_FAST = 'http_request_duration_seconds_bucket{job="agent",le="1.0",route=~"/api/.*"}'
API_REQUESTS = 'http_requests_total{job="agent",route=~"/api/.*"}'
API_ERRORS = 'http_requests_total{job="agent",route=~"/api/.*",status_code=~"5.."}'


@pytest.mark.parametrize(
    ("rate_per_s", "concurrency", "response_s", "until_s", "expected"),
    [
        (1.0, 7, 6.0, 26.0, 21),
        (1.0, 7, 6.0, 5.9, 0),
        (1.0, 7, 6.0, 6.0, 1),
        (10.0, 8, 0.0, 20.0, 201),
        # Two requests in flight of 1 s each cap the rate at 2 per second.
        (10.0, 2, 1.0, 11.0, 21),
    ],
)
def test_finished_requests_table(rate_per_s, concurrency, response_s, until_s, expected):
    assert finished_requests(rate_per_s, concurrency, response_s, until_s) == expected


def window(**overrides):
    values = {
        "record": "job:slo_latency_errors:ratio_rate1h",
        "window_s": 3600.0,
        "at_s": 26.0,
        "threshold": 0.72,
        "earlier_requests": 57_600.0,
        "earlier_bad": 0.0,
        "new_requests": 540,
        "bad_fraction": 1.0,
    }
    values.update(overrides)
    return forecast_window(
        values.pop("record"), values.pop("window_s"), values.pop("at_s"), values.pop("threshold"), **values
    )


def test_forecast_diluted_window_cannot_cross():
    forecast = window()

    assert forecast.ratio == pytest.approx(540 / 58_140)
    assert not forecast.crosses
    assert forecast.describe("slow") == (
        "the 1h window still contains 57,600 earlier requests (0 slow), "
        "so 540 slow of 540 new requests reach 0.93%, not the 72.00% the alert needs"
    )


@pytest.mark.parametrize(
    ("overrides", "ratio", "crosses"),
    [
        ({"earlier_requests": 0.0}, 1.0, True),
        ({"earlier_requests": 100.0, "earlier_bad": 100.0, "new_requests": 0}, 1.0, True),
        ({"earlier_requests": 0.0, "new_requests": 0}, 0.0, False),
        # The rules compare with `>`: exactly the threshold does not fire.
        ({"earlier_requests": 50.0, "new_requests": 50, "bad_fraction": 0.72, "earlier_bad": 36.0}, 0.72, False),
        ({"threshold": 0.0144, "earlier_requests": 2000.0, "new_requests": 200, "bad_fraction": 0.75}, 150 / 2200, True),
    ],
)
def test_forecast_window_table(overrides, ratio, crosses):
    forecast = window(**overrides)

    assert forecast.ratio == pytest.approx(ratio)
    assert forecast.crosses is crosses


@pytest.mark.parametrize(
    ("alert", "records", "total", "bad", "good", "le_s"),
    [
        (
            "AgentLatencyBudgetBurnFast",
            [("job:slo_latency_errors:ratio_rate1h", 3600.0), ("job:slo_latency_errors:ratio_rate5m", 300.0)],
            API_LATENCY_COUNT, None, API_LATENCY_FAST, 1.0,
        ),
        (
            "AgentErrorBudgetBurnFast",
            [("job:slo_availability_errors:ratio_rate1h", 3600.0), ("job:slo_availability_errors:ratio_rate5m", 300.0)],
            API_REQUESTS, API_ERRORS, None, None,
        ),
    ],
)
def test_ratio_windows_of_shipped_burn_alerts(alert, records, total, bad, good, le_s):
    prometheus = load_prometheus(SHIPPED_PROMETHEUS)

    windows = ratio_windows(prometheus.alerts[alert], prometheus)

    assert [(item.record, item.window_s) for item in windows] == records
    for item in windows:
        assert item.total_selector == total
        assert item.bad_selector == bad
        assert item.good_selector == good
        assert item.good_le_s == le_s
        assert item.threshold_expr.startswith("14.4 * (1 - job:slo_")


@pytest.mark.parametrize("alert", ["AgentErrorBudgetBurnSlow", "AgentHighLatency", "AgentHighErrorRate"])
def test_ratio_windows_skip_other_forms(alert):
    prometheus = load_prometheus(SHIPPED_PROMETHEUS)

    assert ratio_windows(prometheus.alerts[alert], prometheus) == []


def test_ratio_windows_unreadable_sli(tmp_path):
    (tmp_path / "rules").mkdir()
    groups = [
        {
            "name": "slo",
            "rules": [
                {"record": "job:odd:ratio_rate1h", "expr": "sum(rate(a{x=\"1\"}[1h])) / sum(rate(b{y=\"2\"}[1h]))"},
                {"alert": "OddBurn", "expr": "job:odd:ratio_rate1h > 0.5", "labels": {"slo": "availability"}},
            ],
        }
    ]
    (tmp_path / "rules" / "slo.yml").write_text(yaml.safe_dump({"groups": groups}))
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump({"rule_files": ["rules/*.yml"]}))
    prometheus = load_prometheus(tmp_path / "prometheus.yml")

    with pytest.raises(LabError, match="cannot read the SLO of recording rule job:odd:ratio_rate1h"):
        ratio_windows(prometheus.alerts["OddBurn"], prometheus)


class FakePrometheus:
    """An /api/v1/query endpoint that returns a fixed value per query and records the queries."""

    def __init__(self, values: dict[str, float]) -> None:
        self.values = values
        self.queries: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                query = parse_qs(urlsplit(self.path).query)["query"][0]
                fake.queries.append(query)
                result = [{"metric": {}, "value": [0, str(fake.values[query])]}] if query in fake.values else []
                body = json.dumps({"status": "success", "data": {"resultType": "vector", "result": result}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakePrometheus:
        self.thread.start()
        return self

    def __exit__(self, *_exc_info) -> None:
        self.server.shutdown()
        self.server.server_close()


def latency_spike_traffic():
    return SimpleNamespace(
        limits=SimpleNamespace(rate_per_s=1.0, concurrency=7),
        injected_latency_s=6.0,
        error_fraction=0.0,
        slow_fraction=lambda threshold_s: 1.0 if threshold_s < 6.0 else 0.0,
    )


def test_forecast_alert_queries_remaining_window():
    prometheus = load_prometheus(SHIPPED_PROMETHEUS)
    rule = prometheus.alerts["AgentLatencyBudgetBurnFast"]
    values = {
        "14.4 * (1 - job:slo_latency_objective:ratio)": 0.72,
        f"sum(increase({API_LATENCY_COUNT}[3574s]))": 57_600.0,
        f"sum(increase({API_LATENCY_FAST}[3574s]))": 57_590.0,
        f"sum(increase({API_LATENCY_COUNT}[274s]))": 4000.0,
        f"sum(increase({API_LATENCY_FAST}[274s]))": 4000.0,
    }

    with FakePrometheus(values) as fake:
        forecasts = forecast_alert(rule, prometheus, fake.url, latency_spike_traffic(), 26.0)

    # The threshold once per window, then the two counts of each window.
    assert sorted(fake.queries) == sorted([*values, "14.4 * (1 - job:slo_latency_objective:ratio)"])
    assert [(item.window_s, item.earlier_requests, item.earlier_bad, item.new_requests, item.new_bad) for item in forecasts] == [
        (3600.0, 57_600.0, 10.0, 21, 21.0),
        (300.0, 4000.0, 0.0, 21, 21.0),
    ]
    assert [item.crosses for item in forecasts] == [False, False]


def test_forecast_alert_fresh_lab_crosses():
    prometheus = load_prometheus(SHIPPED_PROMETHEUS)
    rule = prometheus.alerts["AgentLatencyBudgetBurnFast"]

    # No earlier request series at all: the increase queries return no samples.
    with FakePrometheus({"14.4 * (1 - job:slo_latency_objective:ratio)": 0.72}) as fake:
        forecasts = forecast_alert(rule, prometheus, fake.url, latency_spike_traffic(), 26.0)

    assert [(item.earlier_requests, item.ratio, item.crosses) for item in forecasts] == [(0.0, 1.0, True), (0.0, 1.0, True)]


def test_forecast_alert_without_threshold_raises():
    prometheus = load_prometheus(SHIPPED_PROMETHEUS)
    rule = prometheus.alerts["AgentErrorBudgetBurnFast"]

    with FakePrometheus({}) as fake:
        with pytest.raises(LabError, match="Prometheus returned no value for '14.4 \\* \\(1 - job:slo_availability_objective:ratio\\)'"):
            forecast_alert(rule, prometheus, fake.url, latency_spike_traffic(), 20.0)
