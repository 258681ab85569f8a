"""The earliest possible alert time and the drill limits, computed from config files."""

import math
from pathlib import Path

import pytest
import yaml

from lab import alert_timing
from lab.alert_timing import (
    LOG_SHIPPING_S,
    SLACK_S,
    analyse_expr,
    compute_loki_timing,
    compute_timing,
    load_loki,
    load_prometheus,
    logql_windows,
    parse_duration_s,
    routes_for,
)
from lab.components import REPO_ROOT
from lab.drill import inhibited_by
from lab.errors import LabError

SHIPPED_PROMETHEUS = REPO_ROOT / "prometheus" / "prometheus.yml"
SHIPPED_ALERTMANAGER = REPO_ROOT / "alertmanager" / "alertmanager.yml"
SHIPPED_LOKI = REPO_ROOT / "loki" / "loki.yml"
SHIPPED_LOKI_RULES = REPO_ROOT / "loki" / "rules"


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

    assert inhibited_by("AgentErrorBudgetBurnSlow", alerts, prometheus.alerts, alertmanager) == "AgentErrorBudgetBurnFast"
    assert inhibited_by("AgentHighErrorRate", alerts, prometheus.alerts, alertmanager) is None
    assert inhibited_by("AgentErrorBudgetBurnFast", alerts, prometheus.alerts, alertmanager) is None


@pytest.mark.parametrize(
    ("expr", "metrics", "histogram"),
    [
        ("histogram_quantile(0.95, sum by (le) (rate(agent_task_duration_seconds_bucket[1m]))) > 5", {"agent_task_duration_seconds_bucket"}, True),
        ("rate(http_request_duration_seconds_count[5m]) > 1", {"http_request_duration_seconds_count"}, True),
        ("sum(rate(agent_errors_total[1m])) / sum(rate(agent_tasks_total[1m])) > 0.05", {"agent_errors_total", "agent_tasks_total"}, False),
        ("sum(agent_queue_size) > 100", {"agent_queue_size"}, False),
        ("changes(process_start_time_seconds[5m]) > 0", {"process_start_time_seconds"}, False),
    ],
)
def test_analyse_expr_metrics_table(expr, metrics, histogram):
    windows = analyse_expr(expr, {})

    assert windows.metrics == frozenset(metrics)
    assert windows.reads_duration_histogram is histogram


@pytest.mark.parametrize(
    ("alert", "delayed"),
    [
        ("AgentHighLatency", True),
        ("ModelInferenceSlow", True),
        # Through job:slo_latency_errors:ratio_rate1h and 5m to http_request_duration_seconds.
        ("AgentLatencyBudgetBurnFast", True),
        ("AgentErrorBudgetBurnFast", False),
        ("AgentHighErrorRate", False),
        ("AgentQueueBackup", False),
    ],
)
def test_shipped_alerts_add_injected_latency(alert, delayed):
    prometheus = load_prometheus(SHIPPED_PROMETHEUS)
    alertmanager = alert_timing.load_alertmanager(SHIPPED_ALERTMANAGER)
    plain = compute_timing(alert, prometheus, alertmanager)

    timing = compute_timing(alert, prometheus, alertmanager, injected_latency_s=6.0)

    delay_s = 6.0 if delayed else 0.0
    assert timing.sample_delay_s == delay_s
    assert timing.earliest_possible_s == plain.earliest_possible_s + delay_s
    assert timing.fire_limit_s == plain.fire_limit_s + delay_s
    assert timing.resolve_limit_s == plain.resolve_limit_s


def test_must_hold_by_leaves_for_and_group_wait(tmp_path):
    path = write_prometheus(
        tmp_path,
        [{"name": "a", "interval": "20s", "rules": [{"alert": "Slow", "expr": "x_seconds_count > 1", "for": "30s", "labels": {"severity": "critical"}}]}],
    )

    timing = compute_timing("Slow", load_prometheus(path), ALERTMANAGER, injected_latency_s=2.0)

    # The limit is 2 + 40 + 3 + 5 + 2 * 20 + SLACK_S; the condition must hold 40 + 3 s before it.
    assert timing.fire_limit_s == 2.0 + 40.0 + 3.0 + 5.0 + 40.0 + SLACK_S
    assert timing.must_hold_by_s == timing.fire_limit_s - 40.0 - 3.0


@pytest.mark.parametrize(
    ("expr", "fill_s", "clear_s"),
    [
        ('sum by (service) (count_over_time({service="agent", level=~"error|critical"}[1m])) > 20', 0.0, 60.0),
        ('sum(rate({service="agent"} |= "timeout" [5m])) > 1', 0.0, 300.0),
        ('absent_over_time({service="agent"}[2m])', 120.0, 120.0),
        ('count_over_time({service="agent"}[1h30m]) > 0', 0.0, 5400.0),
    ],
)
def test_logql_windows_table(expr, fill_s, clear_s):
    windows = logql_windows(expr)

    assert windows.fill_s == fill_s
    assert windows.clear_s == clear_s


def test_shipped_loki_error_burst_timing():
    ruler = yaml.safe_load(SHIPPED_LOKI.read_text())["ruler"]
    rule = yaml.safe_load((SHIPPED_LOKI_RULES / "fake" / "agent-logs.yml").read_text())["groups"][0]["rules"][0]
    alertmanager = alert_timing.load_alertmanager(SHIPPED_ALERTMANAGER)
    evaluation_s = parse_duration_s(ruler["evaluation_interval"])
    for_rounded_s = math.ceil(parse_duration_s(rule["for"]) / evaluation_s) * evaluation_s
    group_wait_s = parse_duration_s(alertmanager["route"]["group_wait"])

    timing = compute_loki_timing("AgentErrorLogBurst", load_loki(SHIPPED_LOKI, SHIPPED_LOKI_RULES), alertmanager)

    assert rule["alert"] == "AgentErrorLogBurst"
    assert timing.evaluation_interval_s == evaluation_s
    assert timing.earliest_possible_s == for_rounded_s + group_wait_s
    assert timing.fire_limit_s == timing.earliest_possible_s + LOG_SHIPPING_S + 2 * evaluation_s + SLACK_S
    assert timing.window_clear_s == 60.0
    assert timing.receivers == ["slack-ai-platform", "webhook"]


def test_loki_timing_rounds_for_to_ruler_interval(tmp_path):
    (tmp_path / "loki.yml").write_text(yaml.safe_dump({"ruler": {"evaluation_interval": "20s"}}))
    (tmp_path / "rules" / "fake").mkdir(parents=True)
    rules = {"groups": [{"name": "logs", "rules": [{"alert": "Burst", "expr": 'count_over_time({a="b"}[1m]) > 5', "for": "30s", "labels": {"severity": "info"}}]}]}
    (tmp_path / "rules" / "fake" / "logs.yml").write_text(yaml.safe_dump(rules))

    timing = compute_loki_timing("Burst", load_loki(tmp_path / "loki.yml", tmp_path / "rules"), ALERTMANAGER)

    assert timing.earliest_possible_s == 40.0 + 10.0
    assert timing.resolve_limit_s == 60.0 + LOG_SHIPPING_S + 3 * 20.0 + 10.0 + SLACK_S


def test_loki_timing_unknown_alert(tmp_path):
    (tmp_path / "loki.yml").write_text("ruler: {}\n")

    with pytest.raises(LabError, match="alert 'Nope' is not defined in the Loki rule files"):
        compute_loki_timing("Nope", load_loki(tmp_path / "loki.yml", tmp_path), ALERTMANAGER)
