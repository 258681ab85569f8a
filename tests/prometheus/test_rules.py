"""Check the conventions every rule follows: names, labels, annotations, runbooks, tests,
windows, and PromQL that both Prometheus 2.42 and 3.x accept."""

from __future__ import annotations

import re

import pytest

from tests.prometheus.helpers import (
    RUNBOOK_DIR,
    RUNBOOK_URL_PREFIX,
    load_alert_cases,
    load_loki_alerts,
    load_promql_test_exprs,
    load_rules,
    parse_duration_s,
    range_windows,
    identifiers,
    recording_rules_used_by,
)

ALERTS, RECORDINGS = load_rules()
LOKI_ALERTS = load_loki_alerts()
ALERT_CASES = load_alert_cases()
SCRAPE_INTERVAL_S = 5

# Alert name -> (severity, team, service). Other parts of the lab rely on these names.
EXPECTED_ALERTS = {
    "AgentHighErrorRate": ("critical", "ai-platform", "agent"),
    "AgentDown": ("critical", "ai-platform", "agent"),
    "AgentAbsent": ("critical", "ai-platform", "agent"),
    "AgentHighLatency": ("warning", "ai-platform", "agent"),
    "AgentQueueBackup": ("warning", "ai-platform", "agent"),
    "AgentQueueGrowing": ("warning", "ai-platform", "agent"),
    "ModelInferenceSlow": ("warning", "ai-platform", "model"),
    "AgentRestarted": ("warning", "ai-platform", "agent"),
    "AgentErrorBudgetBurnFast": ("critical", "ai-platform", "agent"),
    "AgentErrorBudgetBurnSlow": ("warning", "ai-platform", "agent"),
    "AgentLatencyBudgetBurnFast": ("critical", "ai-platform", "agent"),
    "AgentLatencyBudgetBurnSlow": ("warning", "ai-platform", "agent"),
    "AgentRequestRateAnomaly": ("info", "ai-platform", "agent"),
    # The service of TargetDown is the job that is down, filled in from the alert's labels.
    "TargetDown": ("warning", "observability", "{{ $labels.job }}"),
    "PrometheusRuleEvaluationFailures": ("warning", "observability", "prometheus"),
    "AlertmanagerNotificationsFailing": ("warning", "observability", "alertmanager"),
}
SLO_LABELS = {
    "AgentErrorBudgetBurnFast": "availability",
    "AgentErrorBudgetBurnSlow": "availability",
    "AgentLatencyBudgetBurnFast": "latency",
    "AgentLatencyBudgetBurnSlow": "latency",
}
# Alerts whose $value is 0 or 1 (a target is down or absent), so the description leaves it out.
VALUE_FREE_DESCRIPTIONS = {"AgentDown", "AgentAbsent", "TargetDown"}
RUNBOOK_SECTIONS = ("## Meaning", "## Confirm", "## Likely causes in this lab", "## What to do", "## Drill")


def test_alert_names_are_the_expected_set():
    assert sorted(ALERTS) == sorted(EXPECTED_ALERTS)


@pytest.mark.parametrize(("alert", "expected"), EXPECTED_ALERTS.items())
def test_alert_routing_labels(alert, expected):
    severity, team, service = expected
    labels = ALERTS[alert].labels

    assert labels["severity"] == severity
    assert labels["team"] == team
    assert labels["service"] == service
    assert labels.get("slo") == SLO_LABELS.get(alert)


@pytest.mark.parametrize("alert", sorted(EXPECTED_ALERTS))
def test_alert_annotations(alert):
    annotations = ALERTS[alert].annotations

    assert set(annotations) == {"summary", "description", "runbook_url"}
    assert annotations["summary"].strip()
    assert annotations["runbook_url"] == f"{RUNBOOK_URL_PREFIX}{alert}"
    if alert not in VALUE_FREE_DESCRIPTIONS:
        assert "$value" in annotations["description"]


@pytest.mark.parametrize("alert", sorted(ALERTS) + sorted(LOKI_ALERTS))
def test_runbook_url_opens_existing_runbook(alert):
    rule = ALERTS[alert].annotations if alert in ALERTS else LOKI_ALERTS[alert]["annotations"]
    url = rule["runbook_url"]

    assert re.fullmatch(re.escape(RUNBOOK_URL_PREFIX) + r"[A-Za-z][A-Za-z0-9_-]*", url), url
    assert url.rsplit("/", 1)[1] == alert
    assert (RUNBOOK_DIR / f"{alert}.md").is_file(), f"{url} has no docs/runbooks/{alert}.md"


def test_loki_alerts_do_not_shadow_prometheus_alerts():
    assert LOKI_ALERTS
    assert not set(LOKI_ALERTS) & set(ALERTS)


@pytest.mark.parametrize("alert", sorted(EXPECTED_ALERTS) + sorted(LOKI_ALERTS))
def test_runbook_has_every_section(alert):
    runbook = RUNBOOK_DIR / f"{alert}.md"

    text = runbook.read_text()

    assert text.startswith(f"# {alert}\n")
    for section in RUNBOOK_SECTIONS:
        assert f"\n{section}\n" in text, f"{runbook.name} lacks {section!r}"


def test_every_runbook_belongs_to_an_alert():
    runbooks = sorted(path.stem for path in RUNBOOK_DIR.glob("*.md"))

    assert runbooks == sorted([*ALERTS, *LOKI_ALERTS])


@pytest.mark.parametrize("alert", sorted(EXPECTED_ALERTS))
def test_alert_firing_case_is_exact(alert):
    firing = [case for case in ALERT_CASES if case.alertname == alert and case.exp_alerts]

    assert firing, f"no promtool test expects {alert} to fire"
    for case in firing:
        for expected in case.exp_alerts:
            assert {"severity", "team", "service"} <= set(expected["exp_labels"]), case.group_name
            assert set(expected["exp_annotations"]) == {"summary", "description", "runbook_url"}, case.group_name


@pytest.mark.parametrize("alert", sorted(EXPECTED_ALERTS))
def test_alert_has_near_miss_case(alert):
    groups_with_cases: dict[tuple, list] = {}
    for case in ALERT_CASES:
        if case.alertname == alert:
            groups_with_cases.setdefault((case.file, case.group_index), []).append(case)

    near_misses = [cases for cases in groups_with_cases.values() if not any(case.exp_alerts for case in cases)]

    assert near_misses, f"no promtool test group checks that {alert} stays silent"


@pytest.mark.parametrize("alert", sorted(EXPECTED_ALERTS))
def test_alert_checked_one_evaluation_before_firing(alert):
    """The firing case also checks the evaluation just before, which `for:` must hold back."""
    cases = [case for case in ALERT_CASES if case.alertname == alert]
    first_firing = {}
    for case in cases:
        key = (case.file, case.group_index)
        if case.exp_alerts and (key not in first_firing or case.eval_time_s < first_firing[key].eval_time_s):
            first_firing[key] = case

    boundary_checked = [
        firing
        for key, firing in first_firing.items()
        if any(
            (case.file, case.group_index) == key
            and not case.exp_alerts
            and case.eval_time_s == firing.eval_time_s - firing.evaluation_interval_s
            for case in cases
        )
    ]

    assert boundary_checked, f"no test checks {alert} one evaluation before it fires"


@pytest.mark.parametrize(
    "recording",
    sorted({name for alert in ALERTS.values() for name in recording_rules_used_by(alert.expr, RECORDINGS)}),
)
def test_recording_rule_used_by_alert_is_tested(recording):
    tested = [expr for expr in load_promql_test_exprs() if recording in identifiers(expr)]

    assert tested, f"no promql_expr_test reads {recording}"


@pytest.mark.parametrize("name", sorted(RECORDINGS))
def test_recording_rule_name_has_three_parts(name):
    level, metric, operations = name.split(":")

    assert level
    assert metric
    assert operations


ALL_RULES = sorted({**ALERTS, **RECORDINGS}.items())


@pytest.mark.parametrize(("name", "rule"), ALL_RULES)
def test_range_windows_cover_four_scrapes(name, rule):
    for window in range_windows(rule.expr):
        assert parse_duration_s(window) >= 4 * SCRAPE_INTERVAL_S, f"{name} uses [{window}]"


# holt_winters exists only in 2.x, and Prometheus 3.0 renamed it double_exponential_smoothing
# behind a feature flag. 3.x stores classic-histogram le values as floats ("1.0"), so le="1"
# matches nothing there.
@pytest.mark.parametrize(("name", "rule"), ALL_RULES)
def test_promql_accepted_by_both_versions(name, rule):
    assert "holt_winters" not in rule.expr
    assert "double_exponential_smoothing" not in rule.expr
    assert not re.search(r'\ble\s*=~?\s*"[+-]?\d+"', rule.expr), f"{name} matches an integer le value"
