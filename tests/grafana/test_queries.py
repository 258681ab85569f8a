"""Every PromQL and LogQL query of the dashboards, rules and datasource links parses and
names only metrics and labels that exist.

Metric names of our services come from their real /metrics output (the apps are built
in-process and scraped through Flask's test client). Third-party names are allowed by
the prefix of a component that prometheus/prometheus.yml scrapes.
"""

from __future__ import annotations

import re

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.grafana import logql
from tests.grafana.queries import (
    LOKI_RULES,
    PROMETHEUS_RULES,
    REPO,
    committed_dashboards,
    datasources,
    metric_names,
    panel_queries,
    recorded_names,
    rule_files_rules,
    substitute_variables,
    unescape_provisioning,
)

# Series that Prometheus makes itself, not a scraped component.
PROMETHEUS_SYNTHETIC = {"up", "ALERTS", "ALERTS_FOR_STATE", "scrape_duration_seconds", "scrape_samples_scraped"}
# Metric prefixes of the third-party components, by scrape job. Jaeger 2.x is an
# OpenTelemetry Collector build, so its own metrics start with otelcol_.
THIRD_PARTY_PREFIXES = {
    "prometheus": ("prometheus_", "go_", "process_"),
    "alertmanager": ("alertmanager_", "go_", "process_"),
    "grafana": ("grafana_", "go_", "process_"),
    "loki": ("loki_", "go_", "process_"),
    "promtail": ("promtail_", "go_", "process_"),
    "jaeger": ("otelcol_", "jaeger_"),
}
OUR_JOBS = {"agent", "model", "receiver"}
# Labels Promtail puts on every stream (loki/promtail.yml), and the structured metadata.
STREAM_LABELS = {"service", "container", "stream", "level"}
STRUCTURED_METADATA = {"trace_id"}
SAMPLE_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("_sum", "_count", "_created", ""),
    "gauge": ("",),
    "info": ("_info",),
    "unknown": ("",),
}


def exposition_names(text: str) -> set[str]:
    """Return every sample name a /metrics page can carry, families without samples included."""
    names = set()
    for family in text_string_to_metric_families(text):
        names.update(family.name + suffix for suffix in SAMPLE_SUFFIXES[family.type])
        names.update(sample.name for sample in family.samples)
    return names


def scrape(app) -> str:
    response = app.test_client().get("/metrics", headers={"Accept": "text/plain"})
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.fixture(scope="module")
def exposed_names(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Metric names served by the agent, the model service and the receiver."""
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    try:
        from agentlab.agent import create_app as create_agent
        from agentlab.model import create_app as create_model
        from alertreceiver.app import create_app as create_receiver

        database = tmp_path_factory.mktemp("receiver") / "notifications.db"
        names = exposition_names(scrape(create_agent(start_workers=False)))
        names |= exposition_names(scrape(create_model()))
        names |= exposition_names(scrape(create_receiver(environ={"RECEIVER_DB": str(database)})))
    finally:
        monkeypatch.undo()
    return names


def scrape_jobs() -> set[str]:
    config = yaml.safe_load((REPO / "prometheus" / "prometheus.yml").read_text(encoding="utf-8"))
    return {job["job_name"] for job in config["scrape_configs"]}


def is_known(name: str, exposed: set[str], recorded: set[str]) -> bool:
    if name in exposed or name in recorded or name in PROMETHEUS_SYNTHETIC:
        return True
    prefixes = [prefix for job in scrape_jobs() - OUR_JOBS for prefix in THIRD_PARTY_PREFIXES.get(job, ())]
    return name.startswith(tuple(prefixes))


def rule_expressions() -> list[tuple[str, str]]:
    return [
        (rule.get("record") or rule["alert"], rule["expr"])
        for rule in rule_files_rules(PROMETHEUS_RULES)
    ]


def traces_to_metrics_queries() -> list[str]:
    jaeger = next(source for source in datasources() if source["uid"] == "jaeger")
    # $__tags expands to the mapped span tags, here job="<service.name>".
    return [
        unescape_provisioning(query["query"]).replace("$__tags", 'job="agent"')
        for query in jaeger["jsonData"]["tracesToMetrics"]["queries"]
    ]


DASHBOARD_QUERIES = panel_queries(committed_dashboards())
PROMQL_PANEL_QUERIES = [query for query in DASHBOARD_QUERIES if query.datasource_type == "prometheus"]
LOGQL_PANEL_QUERIES = [query for query in DASHBOARD_QUERIES if query.datasource_type == "loki"]
VARIABLE_QUERIES = [
    (name, variable["query"])
    for name, dashboard in committed_dashboards().items()
    for variable in dashboard["templating"].get("list", [])
]


def test_queries_found():
    assert len(PROMQL_PANEL_QUERIES) >= 40
    assert len(LOGQL_PANEL_QUERIES) == 4
    assert len(rule_expressions()) >= 20


@pytest.mark.parametrize("query", PROMQL_PANEL_QUERIES, ids=lambda query: query.label)
def test_dashboard_promql_known_metrics(query, exposed_names):
    names = metric_names(substitute_variables(query.expr))
    assert names, f"{query.expr} selects no metric"
    unknown = {name for name in names if not is_known(name, exposed_names, recorded_names())}
    assert unknown == set(), f"{query.label}: no component exposes {sorted(unknown)}"


@pytest.mark.parametrize("rule, expr", rule_expressions(), ids=[rule for rule, _ in rule_expressions()])
def test_rule_promql_known_metrics(rule, expr, exposed_names):
    names = metric_names(expr)
    unknown = {name for name in names if not is_known(name, exposed_names, recorded_names())}
    assert unknown == set(), f"rule {rule}: no component exposes {sorted(unknown)}"


@pytest.mark.parametrize("query", traces_to_metrics_queries())
def test_trace_link_promql_known_metrics(query, exposed_names):
    names = metric_names(query)
    assert names == {"http_requests_total"} or names == {"http_request_duration_seconds_bucket"}, names
    assert names <= exposed_names


@pytest.mark.parametrize("dashboard, query", VARIABLE_QUERIES)
def test_variable_query_metric_known(dashboard, query, exposed_names):
    # label_values(<selector>, <label>) is Grafana syntax; its first argument is PromQL.
    assert query.startswith("label_values(")
    selector = query[len("label_values(") : query.rindex(",")]
    assert metric_names(selector) <= exposed_names | PROMETHEUS_SYNTHETIC


def test_our_metrics_exposed(exposed_names):
    # Guards the allow-list logic: the apps really served their metrics.
    for name in (
        "http_requests_total",
        "http_request_duration_seconds_bucket",
        "agent_tasks_total",
        "model_inference_latency_seconds_bucket",
        "model_server_inference_duration_seconds_bucket",
        "receiver_notifications_total",
        "process_cpu_seconds_total",
    ):
        assert name in exposed_names


def test_unknown_metric_rejected(exposed_names):
    assert not is_known("agent_made_up_total", exposed_names, recorded_names())
    assert not is_known("tempo_ingester_bytes_total", exposed_names, recorded_names())


@pytest.mark.parametrize("query", LOGQL_PANEL_QUERIES, ids=lambda query: query.label)
def test_dashboard_logql_valid(query):
    parsed = logql.parse(substitute_variables(query.expr))
    stream_labels = {matcher.label for matcher in parsed.selector}
    assert stream_labels <= STREAM_LABELS, f"{query.label}: Promtail sets no {stream_labels - STREAM_LABELS}"
    assert set(parsed.grouping) <= STREAM_LABELS
    if query.panel_type == "logs":
        assert parsed.functions == []
    else:
        assert parsed.functions and parsed.range, f"{query.label}: a graph needs a metric query"


def logql_rules() -> list[dict]:
    return rule_files_rules(LOKI_RULES)


@pytest.mark.parametrize("rule", logql_rules(), ids=lambda rule: rule["alert"])
def test_loki_rule_valid(rule):
    parsed = logql.parse(rule["expr"])
    assert {matcher.label for matcher in parsed.selector} <= STREAM_LABELS
    assert parsed.functions[0] in logql.AGGREGATIONS
    assert rule["labels"]["severity"] in {"critical", "warning", "info"}
    assert rule["labels"]["team"] == "ai-platform"
    assert set(rule["annotations"]) == {"summary", "description", "runbook_url"}
    assert rule["annotations"]["runbook_url"] == f"http://127.0.0.1:5001/runbooks/{rule['alert']}"
    assert (REPO / "docs" / "runbooks" / f"{rule['alert']}.md").is_file()


def test_loki_rules_in_tenant_folder():
    # With auth_enabled: false Loki's tenant is "fake"; the local ruler store reads
    # <directory>/<tenant>/*.yml.
    assert [path.parent.name for path in LOKI_RULES] == ["fake"]
    assert [rule["alert"] for rule in logql_rules()] == ["AgentErrorLogBurst"]


def test_loki_rule_counts_agent_errors():
    parsed = logql.parse(logql_rules()[0]["expr"])
    selector = {(matcher.label, matcher.op, matcher.value) for matcher in parsed.selector}
    assert ("service", "=", "agent") in selector
    assert ("level", "=~", "error|critical") in selector
    assert parsed.functions == ["sum", "count_over_time"]


@pytest.mark.parametrize(
    "query, message",
    [
        ('{service=~".*"}', "does not match the empty string"),
        ('sum(count_over_time({service="agent"}[1m])', "expected )"),
        ('{service="agent"} |~ "("', "invalid regular expression"),
        ('{service=~"(agent"}', "invalid regular expression"),
        ('quantile_over_time({service="agent"}[1m])', "unknown function"),
        ('{service="agent"} garbage', "trailing input"),
    ],
)
def test_logql_checker_rejects(query, message):
    with pytest.raises(logql.LogQLError, match=re.escape(message)):
        logql.parse(query)


def test_logql_checker_accepts_label_filter():
    parsed = logql.parse('{service="agent"} | trace_id="0af7651916cd43dd8448eb211c80319c"')
    assert [matcher.label for matcher in parsed.label_filters] == ["trace_id"]
    assert STRUCTURED_METADATA == {"trace_id"}
