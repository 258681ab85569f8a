"""Drill bookkeeping that needs no running lab: expected alerts, the result table, model-down's traffic."""

import json
import threading

import pytest
from werkzeug.serving import make_server

from lab.drill import (
    ALERT_LABELS,
    PROCESS_SCENARIOS,
    SCENARIO_NAMES,
    AlertResult,
    Drill,
    ReceiverClient,
    active_alerts,
    agent_threads,
    expected_alerts,
    format_results,
    inhibited_by,
    model_down_traffic,
    scenario_options,
    traffic_summary,
)
from lab.errors import LabError
from lab.target import Target
from tests.support import StubServer, free_port

URLS = {"agent": "http://127.0.0.1:1", "receiver": "http://127.0.0.1:2", "prometheus": "http://127.0.0.1:3"}


@pytest.mark.parametrize(
    ("scenario", "mode", "alerts"),
    [
        ("agent-down", "native", ("AgentDown",)),
        ("agent-down", "compose", ("AgentAbsent",)),
        ("agent-restart", "native", ("AgentRestarted",)),
        ("model-down", "native", ("TargetDown", "AgentHighErrorRate")),
        ("model-down", "compose", ("TargetDown", "AgentHighErrorRate")),
        ("slow-model", "native", ("ModelInferenceSlow",)),
        ("queue-flood", "compose", ("AgentQueueBackup", "AgentQueueGrowing")),
        ("error-burst", "native", ("AgentHighErrorRate", "AgentErrorBudgetBurnFast")),
        ("error-burst", "unknown", ("AgentHighErrorRate", "AgentErrorBudgetBurnFast")),
        # Only compose runs Loki, whose ruler evaluates the log alert.
        ("error-burst", "compose", ("AgentHighErrorRate", "AgentErrorBudgetBurnFast", "AgentErrorLogBurst")),
        ("latency-spike", "compose", ("AgentHighLatency", "AgentLatencyBudgetBurnFast")),
    ],
)
def test_expected_alerts_table(scenario, mode, alerts):
    assert expected_alerts(scenario, Target(mode, URLS)) == alerts


def test_format_results_marks_failures():
    results = [
        AlertResult("slow-model", "ModelInferenceSlow", 71.2, 140.0, 70.0, 90.0, 62.5, 95.0, ok=True),
        AlertResult("agent-down", "AgentDown", None, None, 40.0, 60.0, None, 35.0, ok=False, note="no firing notification arrived"),
    ]

    lines = format_results(results).splitlines()

    assert lines[1].split() == ["slow-model", "ModelInferenceSlow", "71.2", "s", "70.0", "s", "90.0", "s", "140.0", "s", "62.5", "s", "95.0", "s", "ok"]
    assert lines[2].endswith("FAILED: no firing notification arrived")
    assert lines[2].split()[:4] == ["agent-down", "AgentDown", "-", "40.0"]


@pytest.mark.parametrize(
    ("environ", "concurrency"),
    [({}, 7), ({"AGENT_THREADS": ""}, 7), ({"AGENT_THREADS": "8"}, 7), ({"AGENT_THREADS": "4"}, 3), ({"AGENT_THREADS": "1"}, 1)],
)
def test_latency_spike_concurrency_below_threads(environ, concurrency):
    options = scenario_options("latency-spike", environ)

    assert options == {"latency_ms": 6000, "concurrency": concurrency}


@pytest.mark.parametrize(
    ("value", "message"),
    [("eight", "AGENT_THREADS='eight' is not a whole number"), ("0", "AGENT_THREADS=0 must be at least 1")],
)
def test_agent_threads_invalid(value, message):
    with pytest.raises(LabError, match=message):
        agent_threads({"AGENT_THREADS": value})


def test_scenario_options_other_scenarios():
    assert scenario_options("queue-flood", {}) == {"rate_per_s": 10.0, "concurrency": 8}
    assert scenario_options("error-burst", {}) == {}


def test_all_runs_latency_spike_before_error_burst():
    assert SCENARIO_NAMES.index("latency-spike") < SCENARIO_NAMES.index("error-burst")


def test_all_runs_model_down_after_error_burst():
    assert SCENARIO_NAMES.index("error-burst") < SCENARIO_NAMES.index("model-down")
    assert SCENARIO_NAMES.index("model-down") < SCENARIO_NAMES.index("agent-down")


def test_model_down_needs_process_control():
    assert PROCESS_SCENARIOS == ("model-down", "agent-down", "agent-restart")


def test_drill_help_lists_model_down(capsys):
    from lab import cli

    with pytest.raises(SystemExit):
        cli.main(["drill", "--help"])

    assert "model-down" in capsys.readouterr().out


def test_model_down_alerts_defined_and_not_inhibited():
    drill = Drill("model-down", Target("native", URLS), progress=lambda message: None)
    expected = expected_alerts("model-down", drill.target)

    for alert in expected:
        assert alert in drill.prometheus.alerts
        assert inhibited_by(alert, expected, drill.rules, drill.alertmanager) is None
    # TargetDown copies the job into service, so service="model" picks the model's instance.
    assert drill.rules["TargetDown"].labels["service"] == "{{ $labels.job }}"
    assert drill.rules["TargetDown"].labels["team"] == "observability"
    assert ALERT_LABELS == {("model-down", "TargetDown"): {"service": "model"}}


def test_model_down_timings_from_config():
    drill = Drill("model-down", Target("native", URLS), progress=lambda message: None)

    timings = drill.timings(("TargetDown", "AgentHighErrorRate"))

    # TargetDown: `for: 1m` + group_wait 10s. AgentHighErrorRate: `for: 30s` + group_wait 10s,
    # because a rate() window need not fill first.
    # Each limit adds one scrape and two evaluation intervals and 5 s.
    assert timings["TargetDown"].earliest_possible_s == 70.0
    assert timings["TargetDown"].fire_limit_s == 90.0
    assert timings["AgentHighErrorRate"].earliest_possible_s == 40.0
    assert timings["AgentHighErrorRate"].fire_limit_s == 60.0


def json_server(body: object) -> StubServer:
    """Return a server that responds to every GET with `body` as JSON."""
    return StubServer(200, "application/json", json.dumps(body))


def notification(received_at_unix: float, service: str) -> dict:
    labels = {"alertname": "TargetDown", "service": service, "job": service}
    return {"received_at_unix": received_at_unix, "alertname": "TargetDown", "status": "firing", "labels": labels}


@pytest.mark.parametrize(
    ("labels", "arrival"),
    [(None, 100.0), ({}, 100.0), ({"service": "model"}, 130.0), ({"service": "receiver"}, 100.0), ({"service": "loki"}, None)],
)
def test_first_arrival_filters_labels(labels, arrival):
    body = {"notifications": [notification(140.0, "model"), notification(130.0, "model"), notification(100.0, "receiver")]}

    with json_server(body) as receiver:
        assert ReceiverClient(receiver.url).first_arrival("TargetDown", "firing", 0.0, labels) == arrival


def test_active_alerts_requires_labels():
    alerts = [
        {"labels": {"alertname": "TargetDown", "service": "receiver"}, "state": "firing"},
        {"labels": {"alertname": "AgentHighErrorRate", "service": "agent"}, "state": "pending"},
    ]

    with json_server({"status": "success", "data": {"alerts": alerts}}) as prometheus:
        required = {"TargetDown": {"service": "model"}}
        assert active_alerts(prometheus.url, required) == {"AgentHighErrorRate": "pending"}
        assert active_alerts(prometheus.url) == {"TargetDown": "firing", "AgentHighErrorRate": "pending"}


@pytest.fixture
def agent_without_model(monkeypatch):
    """A real agent whose MODEL_URL points at a free port where nothing listens."""
    from agentlab.agent import create_app
    from agentlab.settings import AgentSettings

    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    app = create_app(AgentSettings(model_url=f"http://127.0.0.1:{free_port()}", model_timeout_s=5.0))
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    runtime = app.extensions["agentlab"]
    if hasattr(runtime, "stop"):
        runtime.stop()


def test_model_down_traffic_fails_with_502(agent_without_model):
    traffic = model_down_traffic(agent_without_model + "/", 1.5)

    traffic.start()
    ended = traffic.wait(timeout_s=30)

    assert ended
    # 2 a second for a duration rounded up to 2 s bounds the run at 4 requests. A slow
    # machine may send fewer before the 2 s pass.
    assert traffic.limits.max_requests == 4
    assert 1 <= traffic.requests_sent <= 4
    assert dict(traffic.status_counts) == {"502": traffic.requests_sent}
    assert traffic_summary(traffic).startswith(f"{traffic.requests_sent} requests in ")
    assert traffic_summary(traffic).endswith(f": 502 x{traffic.requests_sent}")


def test_forecast_marks_diluted_burn_alert():
    from loadgen.faults import LatencySpike
    from tests.lab.test_burn_forecast import API_LATENCY_COUNT, API_LATENCY_FAST, FakePrometheus

    values = {
        "14.4 * (1 - job:slo_latency_objective:ratio)": 0.72,
        f"sum(increase({API_LATENCY_COUNT}[3574s]))": 57_600.0,
        f"sum(increase({API_LATENCY_FAST}[3574s]))": 57_600.0,
    }
    with FakePrometheus(values) as fake:
        drill = Drill("latency-spike", Target("native", {**URLS, "prometheus": fake.url}), progress=lambda message: None)
        fault = LatencySpike(URLS["agent"], latency_ms=6000, concurrency=7)
        timings = drill.timings(("AgentHighLatency", "AgentLatencyBudgetBurnFast"), fault.injected_latency_s)

        hopeless = drill._forecast(("AgentHighLatency", "AgentLatencyBudgetBurnFast"), timings, fault)

    assert timings["AgentLatencyBudgetBurnFast"].must_hold_by_s == 26.0
    assert list(hopeless) == ["AgentLatencyBudgetBurnFast"]
    # The 5m window holds no earlier requests here, so only the 1h window blocks the alert.
    assert hopeless["AgentLatencyBudgetBurnFast"] == (
        "to arrive within 96 s its condition must hold by 26 s, and by then "
        "the 1h window still contains 57,600 earlier requests (0 slow), "
        "so 21 slow of 21 new requests reach 0.04%, not the 72.00% the alert needs"
    )
