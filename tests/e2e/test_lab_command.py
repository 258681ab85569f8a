"""`python -m lab` as a user runs it: up, status, load, two drills, down, on free ports.

The drills wait for real alerts through the real Prometheus and Alertmanager, so this test
takes about ten minutes, most of it waiting for the error budget's fast-burn alert to
resolve (its shorter window is 5 minutes).
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest

from lab.components import COMPONENTS, REPO_ROOT, port_env_var
from lab.processes import ProcessRecord, group_members, is_running
from tests.support import free_port, require_binary

pytestmark = pytest.mark.e2e

RESULT_KEYS = {
    "scenario",
    "alert",
    "fired_after_s",
    "resolved_after_s",
    "earliest_possible_s",
    "fire_limit_s",
    "resolved_after_stop_s",
    "resolve_limit_s",
    "ok",
    "note",
}


@pytest.fixture
def lab_env(tmp_path):
    for binary in ("prometheus", "prometheus-alertmanager", "promtool", "amtool"):
        require_binary(binary)
    env = dict(os.environ)
    for component in COMPONENTS:
        env[port_env_var(component)] = str(free_port())
    env["LAB_RUN_DIR"] = str(tmp_path / "run")
    yield env
    # Whatever happened above, leave no process behind.
    subprocess.run([sys.executable, "-m", "lab", "down"], env=env, cwd=REPO_ROOT, capture_output=True, timeout=120)


def lab(env: dict, *arguments: str, timeout_s: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lab", *arguments],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )


def check_drill(result: subprocess.CompletedProcess, scenario: str, awaited: set[str]) -> None:
    assert result.returncode == 0, result.stdout + result.stderr
    rows = json.loads(result.stdout)
    assert {row["alert"] for row in rows if not row["note"].startswith("not awaited")} == awaited
    for row in rows:
        assert set(row) == RESULT_KEYS
        assert row["scenario"] == scenario
        assert row["ok"] is True, row
        if row["alert"] in awaited:
            assert row["fired_after_s"] is not None, row
            assert row["resolved_after_s"] is not None, row
            # The earliest possible time is a lower bound: nothing may arrive before it.
            assert row["earliest_possible_s"] <= row["fired_after_s"] <= row["fire_limit_s"], row
            assert row["fired_after_s"] < row["resolved_after_s"], row


def test_lab_up_load_drill_down(lab_env):
    up = lab(lab_env, "up", timeout_s=180)
    assert up.returncode == 0, up.stdout + up.stderr
    assert "native lab ready" in up.stdout
    run_dir = REPO_ROOT / lab_env["LAB_RUN_DIR"]
    state = json.loads((run_dir / "lab-state.json").read_text())
    records = [ProcessRecord.from_json(data) for data in state["processes"].values()]
    assert sorted(state["processes"]) == sorted(COMPONENTS)
    assert all(is_running(record) for record in records)

    status = lab(lab_env, "status", timeout_s=60)
    assert status.returncode == 0, status.stdout + status.stderr
    assert status.stdout.count("healthy") == len(COMPONENTS)

    load = lab(lab_env, "load", "--users", "8", "--spawn-rate", "4", "--run-time", "20s", timeout_s=120)
    assert load.returncode == 0, load.stdout + load.stderr
    with open(run_dir / "locust" / "locust_stats.csv", newline="") as stats:
        totals = next(row for row in csv.DictReader(stats) if row["Name"] == "Aggregated")
    assert int(totals["Request Count"]) > 0
    assert int(totals["Failure Count"]) == 0

    check_drill(
        lab(lab_env, "drill", "error-burst", "--json", timeout_s=900),
        "error-burst",
        {"AgentHighErrorRate", "AgentErrorBudgetBurnFast"},
    )
    check_drill(lab(lab_env, "drill", "slow-model", "--json", timeout_s=600), "slow-model", {"ModelInferenceSlow"})

    down = lab(lab_env, "down", timeout_s=120)
    assert down.returncode == 0, down.stdout + down.stderr
    assert not (run_dir / "lab-state.json").exists()
    for record in records:
        assert not is_running(record), record
        assert group_members(record.pgid) == [], record
