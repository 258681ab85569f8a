"""Checks of the generated dashboards: up to date, current panel types, known datasources."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from tests.grafana.queries import (
    DASHBOARD_DIR,
    REPO,
    committed_dashboards,
    datasources,
    iter_panels,
    load_generator,
    panel_queries,
)

ALLOWED_PANEL_TYPES = {"timeseries", "stat", "gauge", "heatmap", "logs", "table", "row"}
EXPECTED_DASHBOARDS = {"overview", "slo", "logs", "business", "alerts"}
DASHBOARD_VARIABLE = re.compile(r"\$\{?(\w+)")
GRAFANA_BUILTINS = {"__rate_interval", "__interval", "__range", "__auto", "__all"}


@pytest.fixture(scope="module")
def generator():
    return load_generator()


@pytest.fixture(scope="module")
def dashboards():
    return committed_dashboards()


def test_committed_json_matches_generator(generator):
    generated = generator.build_dashboards()
    assert set(generated) == EXPECTED_DASHBOARDS
    for name, data in generated.items():
        path = DASHBOARD_DIR / f"{name}.json"
        assert path.read_text(encoding="utf-8") == generator.render(data), f"{path} is stale: run `make dashboards`"


def test_no_extra_dashboard_files(dashboards):
    assert set(dashboards) == EXPECTED_DASHBOARDS


def test_check_mode_reports_stale_file(generator, tmp_path, capsys):
    assert generator.main(["--out", str(tmp_path)]) == 0
    (tmp_path / "slo.json").write_text("{}\n", encoding="utf-8")

    assert generator.main(["--check", "--out", str(tmp_path)]) == 1
    assert "slo.json" in capsys.readouterr().err


def test_files_hold_bare_dashboard_model(dashboards):
    for name, dashboard in dashboards.items():
        assert "dashboard" not in dashboard, f"{name}: HTTP API wrapper instead of the bare model"
        assert dashboard["uid"] == f"agent-{name}"
        assert dashboard["title"]
        assert dashboard["panels"]


@pytest.mark.parametrize("name", sorted(EXPECTED_DASHBOARDS))
def test_panel_types_current(dashboards, name):
    panels = list(iter_panels(dashboards[name]["panels"]))
    types = {panel["type"] for panel in panels}
    assert "graph" not in types
    assert types <= ALLOWED_PANEL_TYPES, types - ALLOWED_PANEL_TYPES


def test_panel_ids_unique(dashboards):
    for name, dashboard in dashboards.items():
        ids = [panel["id"] for panel in iter_panels(dashboard["panels"])]
        assert len(ids) == len(set(ids)), f"{name}: duplicate panel ids {ids}"
        assert 0 not in ids


def test_queries_have_ref_ids(dashboards):
    for name, dashboard in dashboards.items():
        for panel in iter_panels(dashboard["panels"]):
            ref_ids = [target["refId"] for target in panel.get("targets", [])]
            assert all(ref_ids), f"{name}/{panel['title']}: empty refId"
            assert len(ref_ids) == len(set(ref_ids)), f"{name}/{panel['title']}: duplicate refId"


def test_datasource_uids_provisioned(dashboards):
    provisioned = {source["uid"]: source["type"] for source in datasources()}
    for name, dashboard in dashboards.items():
        for panel in iter_panels(dashboard["panels"]):
            references = [panel.get("datasource")] + [target.get("datasource") for target in panel.get("targets", [])]
            for reference in filter(None, references):
                assert reference["uid"] in provisioned, f"{name}/{panel['title']}: unknown uid {reference}"
                assert reference["type"] == provisioned[reference["uid"]]
        for variable in dashboard["templating"].get("list", []):
            assert variable["datasource"]["uid"] in provisioned


def test_panel_and_query_datasource_agree(dashboards):
    for query in panel_queries(dashboards):
        assert query.datasource_uid, query.label
    for name, dashboard in dashboards.items():
        for panel in iter_panels(dashboard["panels"]):
            for target in panel.get("targets", []):
                assert target["datasource"] == panel["datasource"], f"{name}/{panel['title']}"


def test_logs_panels_query_loki(dashboards):
    for query in panel_queries(dashboards):
        if query.panel_type == "logs":
            assert query.datasource_uid == "loki", query.label


def test_template_variables_defined(dashboards):
    for name, dashboard in dashboards.items():
        defined = {variable["name"] for variable in dashboard["templating"].get("list", [])}
        for query in panel_queries({name: dashboard}):
            used = set(DASHBOARD_VARIABLE.findall(query.expr)) - GRAFANA_BUILTINS
            assert used <= defined, f"{query.label}: undefined variables {used - defined}"


@pytest.mark.parametrize("name", ["overview", "business"])
def test_instance_and_task_type_variables(dashboards, name):
    variables = {variable["name"]: variable for variable in dashboards[name]["templating"]["list"]}
    assert variables["instance"]["query"] == 'label_values(up{job="agent"}, instance)'
    assert variables["task_type"]["query"] == "label_values(agent_tasks_total, task_type)"
    for variable in variables.values():
        assert variable["includeAll"] is True
        assert variable["allValue"] == ".*"


def test_latency_panels_show_exemplars(dashboards):
    overview = dashboards["overview"]
    latency = next(panel for panel in overview["panels"] if panel["title"] == "Request latency p50 / p95 / p99")
    assert [target["legendFormat"] for target in latency["targets"]] == ["p50", "p95", "p99"]
    assert all(target["exemplar"] is True for target in latency["targets"])
    heatmap = next(panel for panel in overview["panels"] if panel["type"] == "heatmap")
    assert heatmap["targets"][0]["format"] == "heatmap"
    assert "model_inference_latency_seconds_bucket" in heatmap["targets"][0]["expr"]
    assert heatmap["options"]["calculate"] is False


def test_alerts_dashboard_lists_firing(dashboards):
    tables = [panel for panel in iter_panels(dashboards["alerts"]["panels"]) if panel["type"] == "table"]
    expressions = [target["expr"] for panel in tables for target in panel["targets"]]
    assert 'ALERTS{alertstate="firing"}' in expressions
    slo_tables = [panel for panel in iter_panels(dashboards["slo"]["panels"]) if panel["type"] == "table"]
    assert [target["expr"] for panel in slo_tables for target in panel["targets"]] == ['ALERTS{slo!=""}']


def test_slo_objectives_match_rules(generator):
    rules = yaml.safe_load((REPO / "prometheus" / "rules" / "slo.yml").read_text(encoding="utf-8"))
    objectives = {
        rule["record"]: rule["expr"]
        for group in rules["groups"]
        for rule in group["rules"]
        if rule.get("record", "").endswith("_objective:ratio")
    }
    assert objectives["job:slo_availability_objective:ratio"].strip() == f"vector({generator.AVAILABILITY_OBJECTIVE})"
    assert objectives["job:slo_latency_objective:ratio"].strip() == f"vector({generator.LATENCY_OBJECTIVE})"


def test_dashboards_json_not_env_expanded(dashboards):
    # Grafana expands environment variables in provisioning YAML, not in dashboard JSON,
    # so the JSON must keep single `$` for template variables.
    for name in dashboards:
        text = (DASHBOARD_DIR / f"{name}.json").read_text(encoding="utf-8")
        assert "$$" not in text, f"{name}.json escapes $ although dashboard files are not expanded"
        json.loads(text)
