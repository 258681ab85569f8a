"""`python -m loadgen.faults` against a real agent and model service."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import pytest

from tests.loadgen.conftest import REPO_ROOT, active_faults, run_faults_cli
from tests.support import free_port, wait_until

SUMMARY = re.compile(
    r"^(?P<scenario>[a-z-]+): (?P<sent>\d+) requests in (?P<elapsed>[\d.]+) s to (?P<host>\S+)"
    r" \((?P<statuses>[^)]*)\); faults set: (?P<set>.+?); faults cleared: (?P<cleared>[a-z, ]+)"
    r"(?P<rest>(; .*)?)$"
)


def parse_summary(stdout: str) -> dict:
    """Parse the single summary line of a run into its fields and a status-count dict."""
    lines = stdout.splitlines()
    assert len(lines) == 1, stdout
    match = SUMMARY.match(lines[0])
    assert match, lines[0]
    fields = match.groupdict()
    fields["status_counts"] = {
        status: int(count) for status, count in (item.split(": ") for item in fields["statuses"].split(", "))
    }
    return fields


@pytest.mark.parametrize(
    ("scenario", "options", "faults_set", "statuses"),
    [
        ("error-burst", ["--mode", "fault", "--error-rate", "1"], "agent(error_rate=1)", {"500"}),
        ("error-burst", ["--mode", "payload", "--payload-ratio", "1"], "none", {"500"}),
        ("latency-spike", ["--latency-ms", "150"], "agent(latency_ms=150)", {"200"}),
        ("slow-model", ["--latency-ms", "150"], "model(latency_ms=150)", {"200"}),
        ("queue-flood", ["--latency-ms", "150"], "model(latency_ms=150)", {"202"}),
    ],
)
def test_scenario_summary_and_clear(agent_url, scenario, options, faults_set, statuses):
    result = run_faults_cli(
        scenario, "--host", agent_url, "--duration-s", "20", "--max-requests", "12", "--rate", "20", *options
    )

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    summary = parse_summary(result.stdout)
    assert summary["scenario"] == scenario
    assert summary["host"] == agent_url
    assert summary["sent"] == "12"
    assert set(summary["status_counts"]) == statuses
    assert sum(summary["status_counts"].values()) == 12
    assert summary["set"] == faults_set
    assert summary["cleared"] == ("none" if faults_set == "none" else faults_set.split("(")[0])
    assert active_faults(agent_url) == []


def test_error_burst_counts_payloads(agent_url):
    result = run_faults_cli(
        "error-burst", "--host", agent_url, "--mode", "payload", "--payload-ratio", "0.5",
        "--max-requests", "40", "--rate", "40", "--seed", "3",
    )

    assert result.returncode == 0, result.stderr
    summary = parse_summary(result.stdout)
    payloads = int(re.fullmatch(r"; trigger_error payloads: (\d+)", summary["rest"]).group(1))
    # Without a server-side fault, exactly the trigger_error tasks fail.
    assert summary["status_counts"].get("500", 0) == payloads
    assert summary["status_counts"].get("200", 0) == 40 - payloads
    assert 0 < payloads < 40


def test_duration_bounds_the_run(agent_url):
    result = run_faults_cli(
        "slow-model", "--host", agent_url, "--latency-ms", "100", "--duration-s", "1.1",
        "--max-requests", "100000", "--rate", "4",
    )

    assert result.returncode == 0, result.stderr
    summary = parse_summary(result.stdout)
    # Send slots at 0, 0.25, 0.5, 0.75 and 1.0 s fall inside the 1.1 s bound.
    assert int(summary["sent"]) == 5
    assert active_faults(agent_url) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["error-burst", "--duration-s", "0"], "argument --duration-s: must be positive, got '0'"),
        (["error-burst", "--duration-s", "4000"], "duration_s must be at most 3600, got 4000.0"),
        (["error-burst", "--max-requests", "many"], "argument --max-requests: invalid positive integer value: 'many'"),
        (["latency-spike", "--rate", "-1"], "argument --rate: must be positive, got '-1'"),
        (["error-burst", "--error-rate", "2"], "argument --error-rate: must be between 0 and 1, got '2'"),
        (["error-burst", "--mode", "all"], "argument --mode: invalid choice: 'all'"),
        (["slow-model", "--latency-ms", "40000"], "latency_ms must be between 1 and 30000 ms, got 40000"),
        (["queue-flood", "--concurrency", "100"], "concurrency must be at most 64, got 100"),
        (["queue-flood", "--host", "ftp://127.0.0.1:8080"], "invalid host 'ftp://127.0.0.1:8080'"),
        (["queue-flood", "--host", "http://127.0.0.1:8080/api"], "give only scheme, host and port"),
        (["brownout"], "argument SCENARIO: invalid choice: 'brownout'"),
        ([], "the following arguments are required: SCENARIO"),
    ],
)
def test_bad_arguments_exit_2(agent_url, args, message):
    result = run_faults_cli(*args)

    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert message in result.stderr
    assert result.stderr.rstrip().endswith("(see --help)")
    assert active_faults(agent_url) == []


def test_unreachable_agent_exits_1():
    host = f"http://127.0.0.1:{free_port()}"

    result = run_faults_cli("error-burst", "--host", host, "--duration-s", "5")

    assert result.returncode == 1
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith(f"error-burst: error: agent at {host} is unreachable: ")


def test_model_unreachable_fault_rejected(start_agent):
    agent = start_agent(model_url=f"http://127.0.0.1:{free_port()}")

    result = run_faults_cli("slow-model", "--host", agent.url, "--duration-s", "5")

    assert result.returncode == 1
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith(f"slow-model: error: POST /admin/faults on {agent.url} returned 502: the model service at ")
    assert active_faults(agent.url) == []


def test_host_from_environment(agent_url):
    result = subprocess.run(
        [sys.executable, "-m", "loadgen.faults", "latency-spike", "--latency-ms", "50", "--max-requests", "2"],
        cwd=REPO_ROOT,
        env={**os.environ, "LOADGEN_HOST": agent_url},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert parse_summary(result.stdout)["host"] == agent_url


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM])
def test_signal_clears_faults(agent_url, signal_number):
    process = subprocess.Popen(
        [sys.executable, "-m", "loadgen.faults", "error-burst", "--host", agent_url, "--mode", "fault",
         "--duration-s", "120", "--rate", "2"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        faults = wait_until(lambda: active_faults(agent_url), timeout_s=20, what="the error-burst fault to be set")
        assert [(fault["target"], fault["error_rate"], fault["duration_s"]) for fault in faults] == [
            ("agent", 0.5, 180.0)
        ]

        process.send_signal(signal_number)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert process.returncode == 130, stderr
    summary = parse_summary(stdout)
    assert summary["cleared"] == "agent"
    assert summary["rest"].endswith("; interrupted")
    assert active_faults(agent_url) == []


@pytest.mark.parametrize(
    ("scenario", "alerts"),
    [
        ("error-burst", "Expected alerts: AgentHighErrorRate, AgentErrorBudgetBurnFast. "
                        "May also fire: AgentErrorBudgetBurnSlow."),
        ("latency-spike", "Expected alerts: AgentHighLatency, AgentLatencyBudgetBurnFast. "
                          "May also fire: AgentLatencyBudgetBurnSlow."),
        ("slow-model", "Expected alerts: ModelInferenceSlow. May also fire: AgentHighLatency."),
        ("queue-flood", "Expected alerts: AgentQueueBackup, AgentQueueGrowing. "
                        "May also fire: AgentRequestRateAnomaly."),
    ],
)
def test_help_names_alerts(scenario, alerts):
    result = run_faults_cli(scenario, "--help")

    assert result.returncode == 0
    help_text = " ".join(result.stdout.split())
    assert alerts in help_text
    for option in ("--host", "--duration-s", "--max-requests", "--rate"):
        assert option in help_text
