"""The earliest possible alert time and the drill limits, computed from config files."""

from pathlib import Path

import pytest
import yaml

from lab import alert_timing
from lab.alert_timing import SLACK_S, analyse_expr, compute_timing, load_prometheus, parse_duration_s, routes_for
from lab.components import REPO_ROOT
from lab.drill import inhibited_by
from lab.errors import LabError

SHIPPED_PROMETHEUS = REPO_ROOT / "prometheus" / "prometheus.yml"
SHIPPED_ALERTMANAGER = REPO_ROOT / "alertmanager" / "alertmanager.yml"


def write_prometheus(folder: Path, rules: list[dict], *, scrape="5s", evaluation="5s", jobs=None) -> Path:
    (folder / "rules").mkdir()
    (folder / "rules" / "lab.yml").write_text(yaml.safe_dump({"groups": rules}))
    config = {
        "global": {"scrape_interval": scrape, "evaluation_interval": evaluation},
        "rule_files": ["rules/*.yml"],
        "scrape_configs": jobs or [{"job_name": "agent", "static_configs": [{"targets": ["agent:8080"]}]}],
    }
    path = folder / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


ALERTMANAGER = {
    "route": {
        "receiver": "webhook",
        "group_wait": "10s",
        "group_interval": "10s",
        "routes": [
            {"receiver": "webhook", "continue": True},
            {"receiver": "pager", "matchers": ['severity="critical"'], "group_wait": "3s", "continue": True},
            {"receiver": "team", "matchers": ["team=~\"ai-.*\""], "group_interval": "1m"},
        ],
    }
}


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("5s", 5.0), ("1m", 60.0), ("1h30m", 5400.0), ("500ms", 0.5), ("0s", 0.0), (30, 30.0)],
)
def test_parse_duration_table(text, seconds):
    assert parse_duration_s(text) == seconds


def test_parse_duration_invalid():
    with pytest.raises(LabError, match="invalid duration 'soon'"):
        parse_duration_s("soon")


@pytest.mark.parametrize(
    ("expr", "fill_s", "clear_s", "jobs"),
    [
        ('up{job="agent"} == 0', 0.0, 0.0, {"agent"}),
        ("sum(rate(errors[1m])) / sum(rate(tasks[1m])) > 0.05", 0.0, 60.0, set()),
        ("histogram_quantile(0.99, sum by (le) (rate(x_bucket[5m]))) > 2", 0.0, 300.0, set()),
        ("min_over_time(up[2m]) == 0", 120.0, 120.0, set()),
        ("absent_over_time(up[3m])", 180.0, 180.0, set()),
        ("max_over_time(queue[10m]) > 100", 0.0, 600.0, set()),
        ("rate(a[1h]) > 1 and rate(a[5m]) > 1", 0.0, 300.0, set()),
        ("rate(a[1h]) > 1 or rate(a[5m]) > 1", 0.0, 3600.0, set()),
        ("min_over_time(up[2m]) == 0 or up == 0", 0.0, 120.0, set()),
        ("max_over_time(rate(x[1m])[10m:30s]) > 1", 0.0, 660.0, set()),
        ('changes(process_start_time_seconds{job="agent"}[5m]) > 0', 0.0, 300.0, {"agent"}),
    ],
)
def test_analyse_expr_table(expr, fill_s, clear_s, jobs):
    windows = analyse_expr(expr, {})

    assert windows.fill_s == fill_s
    assert windows.clear_s == clear_s
    assert windows.jobs == frozenset(jobs)


def test_analyse_expr_follows_recording_rules(tmp_path):
    path = write_prometheus(
        tmp_path,
        [
            {"name": "slo", "rules": [{"record": "job:errors:ratio_rate1h", "expr": 'sum(rate(e{job="agent"}[1h])) / sum(rate(t[1h]))'}]},
            {"name": "alerts", "rules": [{"alert": "Burn", "expr": "job:errors:ratio_rate1h > 0.01", "for": "2m"}]},
        ],
    )
    prometheus = load_prometheus(path)

    windows = analyse_expr(prometheus.alerts["Burn"].expr, prometheus.recordings)

    assert windows.clear_s == 3600.0
    assert windows.jobs == frozenset({"agent"})


def test_analyse_expr_invalid():
    with pytest.raises(LabError, match="invalid PromQL"):
        analyse_expr("rate(x[", {})


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        ({"alertname": "A", "severity": "critical", "team": "ai-platform"}, ["webhook", "pager", "team"]),
        ({"alertname": "A", "severity": "warning", "team": "ai-platform"}, ["webhook", "team"]),
        ({"alertname": "A", "severity": "info"}, ["webhook"]),
    ],
)
def test_routes_for_table(labels, receivers):
    assert [route.receiver for route in routes_for(ALERTMANAGER, labels)] == receivers


def test_routes_inherit_and_override_timers():
    routes = routes_for(ALERTMANAGER, {"severity": "critical", "team": "ai-platform"})

    assert [(route.group_wait_s, route.group_interval_s) for route in routes] == [(10.0, 10.0), (3.0, 10.0), (10.0, 60.0)]


def test_compute_timing_adds_for_and_group_wait(tmp_path):
    path = write_prometheus(
        tmp_path,
        [{"name": "a", "rules": [{"alert": "Errors", "expr": "rate(e[1m]) > 1", "for": "30s", "labels": {"severity": "warning", "team": "ai-platform"}}]}],
    )

    timing = compute_timing("Errors", load_prometheus(path), ALERTMANAGER)

    assert timing.earliest_possible_s == 30.0 + 10.0
    assert timing.fire_limit_s == 40.0 + 5.0 + 2 * 5.0 + SLACK_S
    assert timing.resolve_limit_s == 60.0 + 5.0 + 3 * 5.0 + 60.0 + SLACK_S
    assert timing.receivers == ["team", "webhook"]


def test_compute_timing_rounds_for_up_to_evaluations(tmp_path):
    path = write_prometheus(
        tmp_path,
        [{"name": "a", "interval": "20s", "rules": [{"alert": "Slow", "expr": "x > 1", "for": "30s", "labels": {"severity": "critical"}}]}],
    )

    timing = compute_timing("Slow", load_prometheus(path), ALERTMANAGER)

    assert timing.evaluation_interval_s == 20.0
    assert timing.earliest_possible_s == 40.0 + 3.0
    assert timing.fire_limit_s == 43.0 + 5.0 + 40.0 + SLACK_S


def test_compute_timing_counts_full_window_and_job_interval(tmp_path):
    jobs = [{"job_name": "agent", "scrape_interval": "15s", "static_configs": [{"targets": ["agent:8080"]}]}]
    path = write_prometheus(
        tmp_path,
        [{"name": "a", "rules": [{"alert": "Gone", "expr": 'min_over_time(up{job="agent"}[1m]) == 0', "for": "0s"}]}],
        jobs=jobs,
    )

    timing = compute_timing("Gone", load_prometheus(path), ALERTMANAGER)

    assert timing.scrape_interval_s == 15.0
    assert timing.window_fill_s == 60.0
    assert timing.earliest_possible_s == 60.0 + 10.0
    assert timing.fire_limit_s == 70.0 + 15.0 + 10.0 + SLACK_S


def test_compute_timing_fire_cap(tmp_path):
    path = write_prometheus(tmp_path, [{"name": "a", "rules": [{"alert": "E", "expr": "x > 1", "for": "2m"}]}])

    timing = compute_timing("E", load_prometheus(path), ALERTMANAGER, fire_cap_s=90.0)

    assert timing.earliest_possible_s == 130.0
    assert timing.fire_limit_s == 90.0


def test_compute_timing_unknown_alert(tmp_path):
    path = write_prometheus(tmp_path, [{"name": "a", "rules": [{"alert": "E", "expr": "x > 1"}]}])

    with pytest.raises(LabError, match="alert 'Nope' is not defined"):
        compute_timing("Nope", load_prometheus(path), ALERTMANAGER)


def test_shipped_error_rate_timing_matches_config():
    config = yaml.safe_load(SHIPPED_PROMETHEUS.read_text())
    alertmanager = alert_timing.load_alertmanager(SHIPPED_ALERTMANAGER)
    rule = next(
        rule
        for path in sorted((REPO_ROOT / "prometheus" / "rules").glob("*.yml"))
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if rule.get("alert") == "AgentHighErrorRate"
    )
    evaluation_s = parse_duration_s(config["global"]["evaluation_interval"])
    scrape_s = parse_duration_s(config["global"]["scrape_interval"])
    group_wait_s = parse_duration_s(alertmanager["route"]["group_wait"])

    timing = compute_timing("AgentHighErrorRate", load_prometheus(SHIPPED_PROMETHEUS), alertmanager, fire_cap_s=90.0)

    assert timing.earliest_possible_s == parse_duration_s(rule["for"]) + group_wait_s
    assert timing.fire_limit_s == min(90.0, timing.earliest_possible_s + scrape_s + 2 * evaluation_s + SLACK_S)
    assert timing.receivers == ["pagerduty-critical", "slack-ai-platform", "webhook"]


def test_shipped_slow_burn_is_inhibited_by_fast_burn():
    prometheus = load_prometheus(SHIPPED_PROMETHEUS)
    alertmanager = alert_timing.load_alertmanager(SHIPPED_ALERTMANAGER)
    alerts = ("AgentHighErrorRate", "AgentErrorBudgetBurnFast", "AgentErrorBudgetBurnSlow")

    assert inhibited_by("AgentErrorBudgetBurnSlow", alerts, prometheus, alertmanager) == "AgentErrorBudgetBurnFast"
    assert inhibited_by("AgentHighErrorRate", alerts, prometheus, alertmanager) is None
    assert inhibited_by("AgentErrorBudgetBurnFast", alerts, prometheus, alertmanager) is None
