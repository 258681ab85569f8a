"""The Python API of the fault scenarios, as `lab drill` uses it, against a real agent."""

from __future__ import annotations

import pytest
import requests
import yaml
from prometheus_client.parser import text_string_to_metric_families

from loadgen.faults import SCENARIOS, AgentUnreachable, ErrorBurst, Fault, FaultApiError, Scenario
from loadgen.faults.traffic import Request
from tests.loadgen.conftest import REPO_ROOT, active_faults
from tests.support import free_port, wait_until


def queue_depth(agent_url: str) -> float:
    """Return the agent's queue depth summed over priorities, from its /metrics."""
    text = requests.get(agent_url + "/metrics", timeout=5).text
    families = {family.name: family for family in text_string_to_metric_families(text)}
    return sum(sample.value for sample in families["agent_queue_size"].samples)


def test_scenario_names():
    assert list(SCENARIOS) == ["error-burst", "latency-spike", "slow-model", "queue-flood"]
    for name, scenario in SCENARIOS.items():
        assert scenario.name == name


@pytest.mark.parametrize(
    ("name", "options", "expected"),
    [
        ("error-burst", {"error_rate": 0.25}, [("agent", 0.25, 0.0)]),
        ("latency-spike", {"latency_ms": 100}, [("agent", 0.0, 100.0)]),
        ("slow-model", {"latency_ms": 100}, [("model", 0.0, 100.0)]),
        ("queue-flood", {"latency_ms": 100}, [("model", 0.0, 100.0)]),
    ],
)
def test_context_manager_sets_and_clears(agent_url, name, options, expected):
    with SCENARIOS[name](agent_url, duration_s=30, max_requests=5, rate_per_s=10, **options) as scenario:
        faults = active_faults(agent_url)
        assert [(fault["target"], fault["error_rate"], fault["latency_ms"]) for fault in faults] == expected
        # The fault outlives the traffic's bound by a margin, then expires by itself.
        assert [fault["duration_s"] for fault in faults] == [90.0]
        assert scenario.wait(timeout_s=30)

    assert active_faults(agent_url) == []
    assert scenario.faults_cleared
    result = scenario.result()
    assert result["requests_sent"] == 5
    assert result["faults_cleared"] == [expected[0][0]]
    assert result["clear_errors"] == []
    assert sum(result["status_counts"].values()) == 5


def test_clear_faults_keeps_traffic(agent_url):
    scenario = ErrorBurst(agent_url, mode="both", error_rate=1.0, payload_ratio=1.0, duration_s=60,
                          max_requests=400, rate_per_s=20, concurrency=2)
    scenario.start()
    try:
        wait_until(lambda: scenario.traffic.status_counts["500"] >= 5, timeout_s=20, what="five failed tasks")
        scenario.clear_faults()
        failures_at_clear = scenario.traffic.status_counts["500"]
        assert active_faults(agent_url) == []
        assert scenario.running

        wait_until(lambda: scenario.traffic.status_counts["200"] >= 5, timeout_s=20,
                   what="five successful tasks after the clear")
    finally:
        scenario.stop()

    # Only the requests in flight at the clear (at most `concurrency`) can still fail.
    assert scenario.traffic.status_counts["500"] <= failures_at_clear + 2
    assert not scenario.running


def test_unreachable_agent_raises():
    scenario = SCENARIOS["latency-spike"](f"http://127.0.0.1:{free_port()}", duration_s=5)

    with pytest.raises(AgentUnreachable, match="is unreachable"):
        scenario.start()
    assert not scenario.running
    assert scenario.traffic.requests_sent == 0


class HalfValidFaults(Scenario):
    """Sets a valid fault, then one the agent rejects because it does nothing."""

    name = "half-valid"
    description = "test scenario"
    alerts = ()
    default_rate_per_s = 1.0
    default_duration_s = 5.0
    default_max_requests = 1

    def faults(self) -> list[Fault]:
        return [Fault("agent", error_rate=0.5, duration_s=30), Fault("agent", duration_s=30)]

    def build_request(self, rng) -> Request:
        return Request("GET", "/healthz")


def test_rejected_fault_clears_earlier_ones(agent_url):
    scenario = HalfValidFaults(agent_url)

    with pytest.raises(FaultApiError, match="returned 400: the fault does nothing"):
        scenario.start()
    assert active_faults(agent_url) == []
    assert scenario.targets_cleared == ["agent"]
    assert scenario.traffic.requests_sent == 0


def test_queue_flood_builds_queue(agent_url):
    scenario = SCENARIOS["queue-flood"](agent_url, latency_ms=500, rate_per_s=40, max_requests=40)

    with scenario:
        assert scenario.wait(timeout_s=30)
        depth = queue_depth(agent_url)

    # Two queue workers finish at most 4 tasks a second behind a 0.5 s model, so most of the
    # 40 tasks sent in about a second are still waiting.
    assert depth >= 10
    assert scenario.traffic.status_counts == {"202": 40}
    wait_until(lambda: queue_depth(agent_url) == 0, timeout_s=30, what="the queue to drain after the flood")


def test_full_queue_counted_as_429(start_agent):
    agent = start_agent(queue_max=3)
    scenario = SCENARIOS["queue-flood"](agent.url, latency_ms=1000, rate_per_s=50, max_requests=20)

    with scenario:
        assert scenario.wait(timeout_s=30)

    counts = scenario.traffic.status_counts
    assert set(counts) == {"202", "429"}
    assert counts["202"] + counts["429"] == 20
    assert active_faults(agent.url) == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"duration_s": 0}, "duration_s must be positive, got 0"),
        ({"max_requests": 200_000}, "max_requests must be at most 100000, got 200000"),
        ({"rate_per_s": 500}, "rate_per_s must be at most 200, got 500"),
        ({"concurrency": 0}, "concurrency must be positive, got 0"),
        ({"mode": "sometimes"}, "mode must be one of payload, fault, both, got 'sometimes'"),
        ({"error_rate": 1.5}, "error_rate must be between 0 and 1, got 1.5"),
        ({"payload_ratio": -0.1}, "payload_ratio must be between 0 and 1, got -0.1"),
    ],
)
def test_invalid_options_raise(options, message):
    with pytest.raises(ValueError, match=message):
        ErrorBurst("http://127.0.0.1:8080", **options)


def test_invalid_host_raises():
    with pytest.raises(ValueError, match="invalid host 'localhost:8080'"):
        ErrorBurst("localhost:8080")


def test_alerts_defined_in_rules():
    defined = set()
    for rule_file in (REPO_ROOT / "prometheus" / "rules").glob("*.yml"):
        for group in yaml.safe_load(rule_file.read_text())["groups"]:
            defined.update(rule["alert"] for rule in group["rules"] if "alert" in rule)

    for name, scenario in SCENARIOS.items():
        assert set(scenario.alerts) <= defined, name
        assert set(scenario.may_fire) <= defined, name
        assert not set(scenario.alerts) & set(scenario.may_fire), name


@pytest.mark.parametrize(
    ("options", "fraction"),
    [
        ({"mode": "payload", "payload_ratio": 0.3}, 0.3),
        ({"mode": "fault", "error_rate": 0.2}, 0.2),
        ({"mode": "both", "payload_ratio": 0.5, "error_rate": 0.5}, 0.75),
        ({"mode": "both", "payload_ratio": 0.0, "error_rate": 0.0}, 0.0),
    ],
)
def test_error_burst_error_fraction_table(options, fraction):
    assert ErrorBurst("http://127.0.0.1:8080", **options).error_fraction == pytest.approx(fraction)


def test_error_burst_error_fraction_matches_agent(agent_url):
    scenario = ErrorBurst(agent_url, mode="both", payload_ratio=0.5, error_rate=0.5, duration_s=60,
                          max_requests=300, rate_per_s=100, concurrency=4, seed=7)
    with scenario:
        assert scenario.wait(timeout_s=60)

    counts = scenario.traffic.status_counts
    assert sum(counts.values()) == 300
    # Four standard deviations of a share of 300 draws at p = 0.75.
    assert counts["500"] / 300 == pytest.approx(scenario.error_fraction, abs=0.1)


@pytest.mark.parametrize(
    ("name", "latency_ms", "threshold_s", "injected_s", "slow"),
    [
        ("latency-spike", 6000, 1.0, 6.0, 1.0),
        ("latency-spike", 500, 1.0, 0.5, 0.0),
        ("slow-model", 3000, 1.0, 3.0, 1.0),
        # The agent returns 202 for a queued task before a worker runs it.
        ("queue-flood", 3000, 1.0, 3.0, 0.0),
    ],
)
def test_latency_plan_table(name, latency_ms, threshold_s, injected_s, slow):
    scenario = SCENARIOS[name]("http://127.0.0.1:8080", latency_ms=latency_ms)

    assert scenario.injected_latency_s == injected_s
    assert scenario.slow_fraction(threshold_s) == slow
    assert scenario.error_fraction == 0.0


def test_set_limits_before_start(agent_url):
    scenario = ErrorBurst(agent_url, mode="payload", duration_s=5, max_requests=50, rate_per_s=50)
    scenario.set_limits(duration_s=30, max_requests=3)

    with scenario:
        assert scenario.wait(timeout_s=30)
        with pytest.raises(RuntimeError, match="scenario error-burst already started"):
            scenario.set_limits(max_requests=10)

    assert scenario.limits.duration_s == 30
    assert scenario.traffic.requests_sent == 3


def test_set_limits_checks_bounds():
    scenario = ErrorBurst("http://127.0.0.1:8080")

    with pytest.raises(ValueError, match="duration_s must be at most 3600, got 7200"):
        scenario.set_limits(duration_s=7200)
