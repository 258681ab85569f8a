"""Drill bookkeeping that needs no running lab: expected alerts and the result table."""

import pytest

from lab.drill import SCENARIO_NAMES, AlertResult, Drill, agent_threads, expected_alerts, format_results, scenario_options
from lab.errors import LabError
from lab.target import Target

URLS = {"agent": "http://127.0.0.1:1", "receiver": "http://127.0.0.1:2", "prometheus": "http://127.0.0.1:3"}


@pytest.mark.parametrize(
    ("scenario", "mode", "alerts"),
    [
        ("agent-down", "native", ("AgentDown",)),
        ("agent-down", "compose", ("AgentAbsent",)),
        ("agent-restart", "native", ("AgentRestarted",)),
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
