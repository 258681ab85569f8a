"""Checks of the links between signals: Grafana datasources, Promtail's labels, Loki and Jaeger.

Each link is checked on both ends as far as files and real log lines allow. The Loki
derived field must match a line the agent's own formatter writes. The trace-to-logs
query must select streams that Promtail labels. The trace-to-metrics tag must equal a
Prometheus job. NOTE: only a compose run proves that Grafana renders the links and that
Jaeger, Loki and Promtail accept their configuration files.
"""

from __future__ import annotations

import io
import json
import logging
import re

import pytest
import yaml
from opentelemetry.sdk.trace import TracerProvider

from tests.compose.conftest import COMPOSE_FILE
from tests.grafana import logql
from tests.grafana.queries import DATASOURCES_FILE, REPO, datasources, unescape_provisioning

PROMTAIL = yaml.safe_load((REPO / "loki" / "promtail.yml").read_text(encoding="utf-8"))
LOKI = yaml.safe_load((REPO / "loki" / "loki.yml").read_text(encoding="utf-8"))
JAEGER = yaml.safe_load((REPO / "jaeger" / "config.yml").read_text(encoding="utf-8"))
COMPOSE = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
EXPECTED_DATASOURCES = {
    "prometheus": ("prometheus", "http://prometheus:9090"),
    "loki": ("loki", "http://loki:3100"),
    "jaeger": ("jaeger", "http://jaeger:16686"),
    "alertmanager": ("alertmanager", "http://alertmanager:9093"),
}


def by_uid(uid: str) -> dict:
    return next(source for source in datasources() if source["uid"] == uid)


def agent_log_line() -> tuple[str, str]:
    """Return (JSON log line, trace id) written by the agent's formatter inside a span."""
    from agentlab.logging_setup import LabJsonFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(LabJsonFormatter(service="agent"))
    logger = logging.getLogger("tests.grafana.derived_field")
    logger.addHandler(handler)
    logger.propagate = False
    tracer = TracerProvider().get_tracer("tests.grafana")
    try:
        with tracer.start_as_current_span("process") as span:
            logger.error("task failed: %s", "model_timeout")
            trace_id = format(span.get_span_context().trace_id, "032x")
    finally:
        logger.removeHandler(handler)
    return stream.getvalue().strip(), trace_id


# --- Grafana datasources ----------------------------------------------------------------


def test_datasource_uids_fixed():
    found = {source["uid"]: (source["type"], source["url"]) for source in datasources()}
    assert found == EXPECTED_DATASOURCES


def test_datasource_hosts_are_compose_services():
    for uid, (_, url) in EXPECTED_DATASOURCES.items():
        host = url.removeprefix("http://").split(":")[0]
        assert host in COMPOSE["services"], uid


def test_provisioning_dollar_signs_escaped():
    # Grafana expands $NAME and ${NAME} in provisioning YAML from its environment, so a
    # single `$` would be replaced (by an empty string for Grafana's own link variables).
    text = DATASOURCES_FILE.read_text(encoding="utf-8")
    without_comments = "\n".join(line.split(" #")[0] for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert "$$" in without_comments
    assert re.search(r"(?<!\$)\$(?!\$)", without_comments.replace("$$", "")) is None


def test_exemplars_link_to_jaeger():
    destinations = by_uid("prometheus")["jsonData"]["exemplarTraceIdDestinations"]
    assert destinations == [
        {"name": "trace_id", "datasourceUid": "jaeger", "urlDisplayLabel": "Open trace in Jaeger"}
    ]


def test_agent_exemplar_label_is_trace_id():
    from agentlab import telemetry

    tracer = TracerProvider().get_tracer("tests.grafana")
    with tracer.start_as_current_span("process"):
        exemplar = telemetry.trace_exemplar()
    assert list(exemplar) == ["trace_id"]
    assert re.fullmatch(r"[0-9a-f]{32}", exemplar["trace_id"])


def test_derived_field_matches_agent_log_line():
    field = by_uid("loki")["jsonData"]["derivedFields"][0]
    line, trace_id = agent_log_line()

    match = re.search(field["matcherRegex"], line)
    assert match is not None, line
    assert match.group(1) == trace_id
    assert field["datasourceUid"] == "jaeger"
    assert unescape_provisioning(field["url"]) == "${__value.raw}"


def test_traces_to_logs_query_selects_promtail_streams():
    link = by_uid("jaeger")["jsonData"]["tracesToLogsV2"]
    assert link["datasourceUid"] == "loki"
    assert link["tags"] == [{"key": "service.name", "value": "service"}]
    query = unescape_provisioning(link["query"])
    assert query == '{${__tags}} | trace_id="${__trace.traceId}"'

    expanded = query.replace("${__tags}", 'service="agent"').replace("${__trace.traceId}", "0af7651916cd43dd8448eb211c80319c")
    parsed = logql.parse(expanded)
    assert [(matcher.label, matcher.value) for matcher in parsed.selector] == [("service", "agent")]
    assert [matcher.label for matcher in parsed.label_filters] == ["trace_id"]


@pytest.mark.parametrize("service", ["agent", "model"])
def test_otel_service_name_is_job_and_stream(service):
    # service.name feeds both links: the Loki stream label `service` (the compose service
    # name, set by Promtail) and the Prometheus `job` label.
    environment = COMPOSE["services"][service]["environment"]
    assert environment["OTEL_SERVICE_NAME"] == service
    prometheus = yaml.safe_load((REPO / "prometheus" / "prometheus.yml").read_text(encoding="utf-8"))
    assert service in {job["job_name"] for job in prometheus["scrape_configs"]}


def test_traces_to_metrics_uses_job_tag():
    link = by_uid("jaeger")["jsonData"]["tracesToMetrics"]
    assert link["datasourceUid"] == "prometheus"
    assert link["tags"] == [{"key": "service.name", "value": "job"}]
    assert all("$$__tags" in query["query"] for query in link["queries"])


def test_alertmanager_datasource_prometheus_flavour():
    assert by_uid("alertmanager")["jsonData"]["implementation"] == "prometheus"


def test_dashboard_provider_reads_mounted_folder():
    provider = yaml.safe_load(
        (REPO / "grafana" / "provisioning" / "dashboards" / "dashboards.yml").read_text(encoding="utf-8")
    )["providers"][0]
    volumes = COMPOSE["services"]["grafana"]["volumes"]
    assert f"./grafana/dashboards:{provider['options']['path']}:ro" in volumes
    assert provider["type"] == "file"


# --- Promtail -------------------------------------------------------------------------------


def pipeline_stages() -> list[dict]:
    """Return every stage of the compose job, match blocks flattened."""
    stages = []
    for stage in PROMTAIL["scrape_configs"][0]["pipeline_stages"]:
        stages.append(stage)
        stages.extend(stage.get("match", {}).get("stages", []))
    return stages


def test_promtail_discovers_compose_project():
    job = PROMTAIL["scrape_configs"][0]
    discovery = job["docker_sd_configs"][0]
    assert discovery["host"] == "unix:///var/run/docker.sock"
    assert discovery["filters"] == [
        {"name": "label", "values": [f"com.docker.compose.project={COMPOSE['name']}"]}
    ]
    relabel = {rule["target_label"]: rule["source_labels"] for rule in job["relabel_configs"]}
    assert relabel["service"] == ["__meta_docker_container_label_com_docker_compose_service"]


def test_promtail_level_label_trace_id_metadata():
    stages = pipeline_stages()
    labels = [stage["labels"] for stage in stages if "labels" in stage]
    metadata = [stage["structured_metadata"] for stage in stages if "structured_metadata" in stage]
    assert labels == [{"level": None}]
    assert metadata == [{"trace_id": None}]


def test_promtail_json_fields_exist_in_agent_logs():
    json_stage = next(stage["json"] for stage in pipeline_stages() if "json" in stage)
    line, trace_id = agent_log_line()
    record = json.loads(line)
    assert json_stage["expressions"]["trace_id"] == "trace_id"
    assert record["trace_id"] == trace_id
    # The level expression reads `level` first; the agent's formatter renames levelname to it.
    assert json_stage["expressions"]["level"].split(" || ")[0] == "level"
    assert record["level"] == "ERROR"


def test_promtail_stream_labels_match_checker():
    relabelled = {rule["target_label"] for rule in PROMTAIL["scrape_configs"][0]["relabel_configs"]}
    stage_labels = {name for stage in pipeline_stages() if "labels" in stage for name in stage["labels"]}
    from tests.grafana.test_queries import STREAM_LABELS

    assert relabelled | stage_labels == STREAM_LABELS


def test_promtail_pushes_to_loki():
    assert PROMTAIL["clients"] == [{"url": "http://loki:3100/loki/api/v1/push"}]
    assert PROMTAIL["server"]["http_listen_port"] == 9080


# --- Loki -------------------------------------------------------------------------------------


def test_loki_storage_and_schema():
    schema = LOKI["schema_config"]["configs"]
    assert [(entry["store"], entry["object_store"], entry["schema"]) for entry in schema] == [
        ("tsdb", "filesystem", "v13")
    ]
    assert LOKI["auth_enabled"] is False


def test_loki_retention_with_delete_store():
    compactor = LOKI["compactor"]
    assert compactor["retention_enabled"] is True
    assert compactor["delete_request_store"] == "filesystem"
    assert LOKI["limits_config"]["retention_period"] == "168h"


def test_loki_usage_reporting_off():
    assert LOKI["analytics"] == {"reporting_enabled": False}


def test_loki_ruler_sends_to_alertmanager():
    ruler = LOKI["ruler"]
    assert ruler["alertmanager_url"] == "http://alertmanager:9093"
    assert ruler["storage"]["type"] == "local"
    rules_mount = f"./loki/rules:{ruler['storage']['local']['directory']}:ro"
    assert rules_mount in COMPOSE["services"]["loki"]["volumes"]


# --- Jaeger -----------------------------------------------------------------------------------


def endpoints(node, path: str = "") -> list[tuple[str, str]]:
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("endpoint", "host") and isinstance(value, str):
                found.append((f"{path}.{key}", value))
            else:
                found.extend(endpoints(value, f"{path}.{key}"))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(endpoints(value, f"{path}[{index}]"))
    return found


def test_jaeger_listens_on_all_interfaces():
    found = endpoints(JAEGER)
    assert len(found) == 6
    for path, value in found:
        assert value.startswith("0.0.0.0"), f"{path} = {value} binds to localhost only"


def test_jaeger_ports_match_compose_and_prometheus():
    receivers = JAEGER["receivers"]["otlp"]["protocols"]
    assert receivers["http"]["endpoint"] == "0.0.0.0:4318"
    assert receivers["grpc"]["endpoint"] == "0.0.0.0:4317"
    assert JAEGER["extensions"]["healthcheckv2"]["http"]["endpoint"] == "0.0.0.0:13133"
    port = JAEGER["service"]["telemetry"]["metrics"]["readers"][0]["pull"]["exporter"]["prometheus"]["port"]
    prometheus = yaml.safe_load((REPO / "prometheus" / "prometheus.yml").read_text(encoding="utf-8"))
    jaeger_job = next(job for job in prometheus["scrape_configs"] if job["job_name"] == "jaeger")
    assert jaeger_job["static_configs"][0]["targets"] == [f"jaeger:{port}"]
