"""`amtool config routes test` for every case in alertmanager/routes-tests.yml."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.alertmanager.helpers import ALERTMANAGER_DIR, CONFIG, REPO
from tests.support import require_binary

CASES = yaml.safe_load((ALERTMANAGER_DIR / "routes-tests.yml").read_text())
RULES_DIR = REPO / "prometheus" / "rules"
# Alert names every part of the lab relies on; the rules may add more, never rename these.
CONTRACT_ALERTS = {
    "AgentHighErrorRate", "AgentDown", "AgentHighLatency", "AgentQueueBackup", "AgentQueueGrowing",
    "ModelInferenceSlow", "AgentRestarted", "AgentErrorBudgetBurnFast", "AgentErrorBudgetBurnSlow",
    "AgentLatencyBudgetBurnFast", "AgentLatencyBudgetBurnSlow", "AgentRequestRateAnomaly", "TargetDown",
    "PrometheusRuleEvaluationFailures", "AlertmanagerNotificationsFailing",
}
# Labels that decide routing or inhibition; a case must match the rule on each it sets.
ROUTING_LABELS = ("severity", "team", "service", "slo")


def _case_id(case):
    return ",".join(f"{name}={value}" for name, value in case["labels"].items())


@pytest.mark.parametrize("case", CASES, ids=[_case_id(case) for case in CASES])
def test_alert_reaches_expected_receivers(case):
    amtool = require_binary("amtool")
    labels = [f"{name}={value}" for name, value in case["labels"].items()]
    expected = ",".join(case["receivers"])

    result = subprocess.run(
        [amtool, "config", "routes", "test", f"--config.file={CONFIG}", f"--verify.receivers={expected}", *labels],
        capture_output=True, text=True, timeout=60,
    )

    assert result.stdout.strip() == expected, result.stdout + result.stderr
    assert result.returncode == 0, result.stdout + result.stderr


def test_cases_cover_contract_alerts():
    covered = {case["labels"]["alertname"] for case in CASES}

    assert sorted(CONTRACT_ALERTS - covered) == []


def _rule_alerts(rules_dir: Path):
    for path in sorted(rules_dir.glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    yield path.name, rule["alert"], rule.get("labels", {})


def test_cases_match_prometheus_rule_labels():
    rules = list(_rule_alerts(RULES_DIR))
    if not rules:
        pytest.skip(f"no alert rules in {RULES_DIR}")

    missing = []
    for file_name, alertname, labels in rules:
        # A templated value such as service="{{ $labels.job }}" varies per series, so the
        # case's value is one example of it and is not compared.
        expected = {name: labels[name] for name in ROUTING_LABELS
                    if name in labels and "{{" not in str(labels[name])}
        if not any(case["labels"]["alertname"] == alertname
                   and all(case["labels"].get(name) == value for name, value in expected.items())
                   for case in CASES):
            missing.append(f"{file_name}: {alertname} {expected}")

    assert missing == []
