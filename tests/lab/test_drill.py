"""Drill bookkeeping that needs no running lab: expected alerts and the result table."""

import pytest

from lab.drill import AlertResult, expected_alerts, format_results
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
