"""Locust runs headless with loadgen/locustfile.py against a real agent and model service."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import requests

from tests.loadgen.conftest import REPO_ROOT

LOCUSTFILE = "loadgen/locustfile.py"
AGGREGATED = "Aggregated"

STEADY_NAMES = {
    ("POST", "/api/v1/process"),
    ("POST", "/api/v1/tasks"),
    ("GET", "/api/v1/tasks/[id]"),
    ("TASK", "queued task: enqueue to finish"),
}


def run_locust(csv_prefix: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run Locust headless from the repository root; the caller adds users, time and classes."""
    return subprocess.run(
        [sys.executable, "-m", "locust", "-f", LOCUSTFILE, "--headless", "--csv", str(csv_prefix),
         "--only-summary", "--stop-timeout", "5", *args],
        cwd=REPO_ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def read_stats(csv_prefix: Path) -> dict[tuple[str, str], dict[str, str]]:
    """Read Locust's *_stats.csv into rows keyed by (Type, Name), without the Aggregated row."""
    with open(f"{csv_prefix}_stats.csv", newline="") as stats_file:
        rows = {(row["Type"], row["Name"]): row for row in csv.DictReader(stats_file)}
    rows.pop(("", AGGREGATED))
    return rows


def read_failures(csv_prefix: Path) -> list[dict[str, str]]:
    with open(f"{csv_prefix}_failures.csv", newline="") as failures_file:
        return list(csv.DictReader(failures_file))


def test_default_users_without_failures(agent_url, tmp_path):
    prefix = tmp_path / "run"

    # The host comes from LOADGEN_HOST here; the other tests pass --host. No class is named, so
    # FaultInjectingUser must stay out and no fault rows may appear.
    result = run_locust(prefix, "-u", "10", "-r", "10", "-t", "8s", env={"LOADGEN_HOST": agent_url})

    assert result.returncode == 0, result.stderr[-3000:]
    stats = read_stats(prefix)
    assert set(stats) == STEADY_NAMES
    for key, row in stats.items():
        assert int(row["Request Count"]) > 0, key
        assert row["Failure Count"] == "0", key
    assert read_failures(prefix) == []


def test_fault_user_failures_only_injected(agent_url, tmp_path):
    prefix = tmp_path / "run"

    result = run_locust(prefix, "--host", agent_url, "-u", "4", "-r", "4", "-t", "8s", "FaultInjectingUser")

    # Locust exits 1 whenever a request failed, and injected errors are failures by design.
    assert result.returncode == 1, result.stderr[-3000:]
    stats = read_stats(prefix)
    assert set(stats) == {
        ("POST", "/api/v1/process"),
        ("POST", "/api/v1/process [X-Fault-Error]"),
        ("POST", "/api/v1/process [X-Fault-Delay-Ms]"),
    }
    error_row = stats[("POST", "/api/v1/process [X-Fault-Error]")]
    assert int(error_row["Request Count"]) > 0
    assert error_row["Failure Count"] == error_row["Request Count"]
    assert stats[("POST", "/api/v1/process")]["Failure Count"] == "0"
    assert stats[("POST", "/api/v1/process [X-Fault-Delay-Ms]")]["Failure Count"] == "0"
    failures = read_failures(prefix)
    assert [(row["Name"], row["Error"]) for row in failures] == [
        ("/api/v1/process [X-Fault-Error]", "CatchResponseError('injected error, got 500')")
    ]


def test_full_queue_is_backpressure(start_agent, tmp_path):
    agent = start_agent(queue_max=2)
    slow = {"target": "agent", "latency_ms": 1000, "duration_s": 60}
    requests.post(agent.url + "/admin/faults", json=slow, timeout=5).raise_for_status()
    prefix = tmp_path / "run"

    result = run_locust(prefix, "--host", agent.url, "-u", "3", "-r", "3", "-t", "6s", "BurstUser")

    assert result.returncode == 0, result.stderr[-3000:]
    stats = read_stats(prefix)
    rejected = stats[("POST", "/api/v1/tasks [429 queue full]")]
    assert int(rejected["Request Count"]) > 0
    assert rejected["Failure Count"] == "0"
    assert all(row["Failure Count"] == "0" for row in stats.values())
    assert read_failures(prefix) == []
