"""Generate the lab's Grafana dashboards with grafana-foundation-sdk.

Run `make dashboards` (or `python grafana/generate_dashboards.py`) after changing this file.
It writes one bare dashboard model per file into grafana/dashboards/ (no HTTP API
`{"dashboard": ...}` wrapper), which Grafana's file provider in
grafana/provisioning/dashboards/ loads. The JSON is committed, and
tests/grafana/test_dashboards.py fails when it differs from what this script generates.

`--check` compares instead of writing and exits 1 when a committed file is stale.

Queries use the metric names fixed for the agent (job="agent"), the model service
(job="model") and the receiver, and the datasource UIDs provisioned in
grafana/provisioning/datasources/datasources.yml. Dashboard JSON is not expanded by
Grafana's provisioning, so `$instance` and `{{label}}` stay as written here.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import gauge, heatmap, logs, loki, prometheus, stat, table, timeseries
from grafana_foundation_sdk.builders.common import ReduceDataOptions, VizLegendOptions
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models.heatmap import HeatmapColorMode
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

DASHBOARD_DIR = Path(__file__).resolve().parent / "dashboards"

PROMETHEUS = model.DataSourceRef(type_val="prometheus", uid="prometheus")
LOKI = model.DataSourceRef(type_val="loki", uid="loki")

# User traffic: the SLO rules in prometheus/rules/slo.yml count only /api/ routes, so
# the golden signals use the same selector and the two dashboards agree.
USER_ROUTES = 'route=~"/api/.*"'
AGENT = f'job="agent", instance=~"$instance", {USER_ROUTES}'

# The objectives recorded as job:slo_*_objective:ratio in prometheus/rules/slo.yml, used
# here only for threshold colours; tests/grafana checks that the two agree.
AVAILABILITY_OBJECTIVE = 0.999
LATENCY_OBJECTIVE = 0.95
# Multi-window burn-rate thresholds of the SLO alerts: 14.4x spends 2 % of a 30-day budget
# in 1 h (page), 6x spends 5 % in 6 h (ticket).
FAST_BURN = 14.4
SLOW_BURN = 6.0
# Windows recorded as job:slo_*_errors:ratio_rate<window>.
BURN_WINDOWS = ("5m", "30m", "1h", "6h", "3d")

OVERVIEW_UID = "agent-overview"
SLO_UID = "agent-slo"
LOGS_UID = "agent-logs"
BUSINESS_UID = "agent-business"
ALERTS_UID = "agent-alerts"


# --- query and panel helpers -------------------------------------------------------


def prom(expr: str, legend: str = "", *, exemplar: bool = False, instant: bool = False) -> prometheus.Dataquery:
    """Return a Prometheus query against the provisioned Prometheus datasource."""
    query = prometheus.Dataquery().expr(expr).datasource(PROMETHEUS)
    if legend:
        query = query.legend_format(legend)
    if exemplar:
        query = query.exemplar(True)
    if instant:
        query = query.instant().format(PromQueryFormat.TABLE)
    return query


def logql(expr: str, legend: str = "") -> loki.Dataquery:
    """Return a Loki query against the provisioned Loki datasource."""
    query = loki.Dataquery().expr(expr).datasource(LOKI)
    if legend:
        query = query.legend_format(legend)
    return query


def thresholds(*steps: tuple[float | None, str]) -> dash.ThresholdsConfig:
    """Return absolute thresholds; the first step's value is None (the base colour)."""
    return (
        dash.ThresholdsConfig()
        .mode(model.ThresholdsMode.ABSOLUTE)
        .steps([model.Threshold(value=value, color=color) for value, color in steps])
    )


def graph(title: str, unit: str, *queries: Any, description: str = "", width: int = 12) -> timeseries.Panel:
    """Return a timeseries panel with a table legend that shows last and max values."""
    panel = (
        timeseries.Panel()
        .title(title)
        .datasource(PROMETHEUS)
        .unit(unit)
        .height(8)
        .span(width)
        .legend(
            VizLegendOptions()
            .display_mode(common.LegendDisplayMode.TABLE)
            .placement(common.LegendPlacement.BOTTOM)
            .show_legend(True)
            .calcs(["lastNotNull", "max"])
        )
    )
    if description:
        panel = panel.description(description)
    for query in queries:
        panel = panel.with_target(query)
    return panel


def single_stat(title: str, unit: str, query: Any, *, width: int = 6, steps: tuple = ()) -> stat.Panel:
    """Return a stat panel showing the last value of one query."""
    panel = (
        stat.Panel()
        .title(title)
        .datasource(PROMETHEUS)
        .unit(unit)
        .height(5)
        .span(width)
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]))
        .with_target(query)
    )
    if steps:
        panel = panel.thresholds(thresholds(*steps))
    return panel


def ratio_gauge(title: str, query: Any, *, width: int = 6, steps: tuple = ()) -> gauge.Panel:
    """Return a 0-100 % gauge for a ratio query."""
    panel = (
        gauge.Panel()
        .title(title)
        .datasource(PROMETHEUS)
        .unit("percentunit")
        .min(0)
        .max(1)
        .height(6)
        .span(width)
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]))
        .with_target(query)
    )
    if steps:
        panel = panel.thresholds(thresholds(*steps))
    return panel


def alerts_table(title: str, expr: str, *, width: int = 24) -> table.Panel:
    """Return a table of ALERTS series, one row per alert, without the time and value columns."""
    return (
        table.Panel()
        .title(title)
        .datasource(PROMETHEUS)
        .height(8)
        .span(width)
        .with_target(prom(expr, instant=True))
        .with_transformation(
            model.DataTransformerConfig(
                id_val="organize",
                options={"excludeByName": {"Time": True, "Value": True, "__name__": True}},
            )
        )
    )


def multi_value_variable(name: str, label: str, query: str) -> dash.QueryVariable:
    """Build a Prometheus query variable that allows several values and "All" (regex `.*`)."""
    return (
        dash.QueryVariable(name)
        .label(label)
        .datasource(PROMETHEUS)
        .query(query)
        .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(model.VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .all_value(".*")
        .current(model.VariableOption(selected=True, text="All", value="$__all"))
    )


def instance_variable() -> dash.QueryVariable:
    """Return the agent instance variable (one value per replica)."""
    return multi_value_variable("instance", "Instance", 'label_values(up{job="agent"}, instance)')


def task_type_variable() -> dash.QueryVariable:
    """Return the task type variable (summarize, classify, translate, chat, test, none)."""
    return multi_value_variable("task_type", "Task type", "label_values(agent_tasks_total, task_type)")


def base_dashboard(uid: str, title: str, description: str, tags: list[str]) -> dash.Dashboard:
    """Return a dashboard with the lab's common settings and links to its siblings."""
    return (
        dash.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["agent-observability-lab", *tags])
        .refresh("10s")
        .time("now-30m", "now")
        .timezone("browser")
        .tooltip(model.DashboardCursorSync.CROSSHAIR)
        .readonly()
        .link(
            dash.DashboardLink("Lab dashboards")
            .type(model.DashboardLinkType.DASHBOARDS)
            .tags(["agent-observability-lab"])
            .as_dropdown(True)
            .include_vars(True)
            .keep_time(True)
        )
    )


# --- error and latency expressions shared by the overview and SLO dashboards --------


def agent_error_ratio(window: str) -> str:
    """Return the ratio of 5xx responses to all user requests over `window`."""
    errors = f'sum(rate(http_requests_total{{{AGENT}, status_code=~"5.."}}[{window}]))'
    total = f"sum(rate(http_requests_total{{{AGENT}}}[{window}]))"
    # Without any 5xx series the numerator is empty; `or vector(0)` keeps the ratio at 0.
    return f"({errors} or vector(0)) / {total}"


def latency_quantile(quantile: float, metric: str, selector: str, window: str = "1m") -> str:
    """Return histogram_quantile over the summed buckets of `metric`."""
    return f"histogram_quantile({quantile}, sum by (le) (rate({metric}_bucket{{{selector}}}[{window}])))"


# --- dashboards ---------------------------------------------------------------------


def overview_dashboard() -> dash.Dashboard:
    """Build the overview: golden signals, tasks, model inference and saturation."""
    tasks = 'instance=~"$instance", task_type=~"$task_type"'
    return (
        base_dashboard(
            OVERVIEW_UID,
            "Agent overview",
            "Golden signals of the agent, task throughput, model inference and saturation.",
            ["overview"],
        )
        .with_variable(instance_variable())
        .with_variable(task_type_variable())
        .with_row(dash.Row("Golden signals"))
        .with_panel(
            graph(
                "Request rate by route",
                "reqps",
                prom(f"sum by (route) (rate(http_requests_total{{{AGENT}}}[1m]))", "{{route}}"),
                description="Requests per second to /api/ routes, the traffic the SLOs count.",
            )
        )
        .with_panel(
            graph(
                "Error ratio (5xx)",
                "percentunit",
                prom(agent_error_ratio("1m"), "5xx ratio"),
                description="Share of /api/ requests that got a 5xx status.",
            )
        )
        .with_panel(
            graph(
                "Request latency p50 / p95 / p99",
                "s",
                prom(latency_quantile(0.5, "http_request_duration_seconds", AGENT), "p50", exemplar=True),
                prom(latency_quantile(0.95, "http_request_duration_seconds", AGENT), "p95", exemplar=True),
                prom(latency_quantile(0.99, "http_request_duration_seconds", AGENT), "p99", exemplar=True),
                description="Exemplar dots link to the trace in Jaeger by trace_id.",
            )
        )
        .with_panel(
            graph(
                "Queue depth by priority",
                "short",
                prom('sum by (priority) (agent_queue_size{instance=~"$instance"})', "{{priority}}"),
                description="Saturation: tasks waiting in the agent's queue.",
            )
        )
        .with_panel(
            graph(
                "Process CPU",
                "percentunit",
                prom(
                    'sum by (job, instance) (rate(process_cpu_seconds_total{job=~"agent|model"}[1m]))',
                    "{{job}} {{instance}}",
                ),
                description="CPU seconds per second of the agent and model processes (1.0 = one core).",
            )
        )
        .with_panel(
            graph(
                "Process resident memory",
                "bytes",
                prom(
                    'sum by (job, instance) (process_resident_memory_bytes{job=~"agent|model"})',
                    "{{job}} {{instance}}",
                ),
            )
        )
        .with_row(dash.Row("Tasks"))
        .with_panel(
            graph(
                "Task throughput by type and status",
                "ops",
                prom(
                    f"sum by (task_type, status) (rate(agent_tasks_total{{{tasks}}}[1m]))",
                    "{{task_type}} {{status}}",
                ),
            )
        )
        .with_panel(
            graph(
                "Task errors by error type",
                "ops",
                prom(
                    f"sum by (error_type) (rate(agent_errors_total{{{tasks}}}[1m]))",
                    "{{error_type}}",
                ),
            )
        )
        .with_panel(
            graph(
                "Task duration p95 by type",
                "s",
                prom(
                    "histogram_quantile(0.95, sum by (le, task_type) "
                    f"(rate(agent_task_duration_seconds_bucket{{{tasks}}}[5m])))",
                    "{{task_type}}",
                ),
            )
        )
        .with_panel(
            single_stat(
                "Active tasks",
                "short",
                prom(f"sum(agent_active_tasks{{{tasks}}})", "active"),
                width=12,
                steps=((None, "green"), (50, "orange"), (200, "red")),
            )
        )
        .with_row(dash.Row("Model inference"))
        .with_panel(
            heatmap.Panel()
            .title("Model inference latency (agent's view)")
            .description("Bucket counts of model_inference_latency_seconds; exemplars link to traces.")
            .datasource(PROMETHEUS)
            .height(9)
            .span(12)
            .calculate(False)
            .y_axis(heatmap.YAxisConfig().unit("s"))
            .color(
                heatmap.HeatmapColorOptions()
                .mode(HeatmapColorMode.SCHEME)
                .scheme("Oranges")
                .fill("dark-orange")
                .exponent(0.5)
                .steps(64)
            )
            .show_tooltip()
            .with_target(
                prom(
                    'sum by (le) (increase(model_inference_latency_seconds_bucket{instance=~"$instance"}'
                    "[$__rate_interval]))",
                    "{{le}}",
                    exemplar=True,
                ).format(PromQueryFormat.HEATMAP)
            )
        )
        .with_panel(
            graph(
                "Tokens per second",
                "short",
                prom(
                    'sum by (model_name, operation) (rate(model_tokens_processed_total{instance=~"$instance"}[1m]))',
                    "{{model_name}} {{operation}}",
                ),
            )
        )
        .with_panel(
            graph(
                "Model inference latency p95",
                "s",
                prom(
                    latency_quantile(0.95, "model_inference_latency_seconds", 'instance=~"$instance"'),
                    "agent's view",
                    exemplar=True,
                ),
                prom(
                    latency_quantile(0.95, "model_server_inference_duration_seconds", 'job="model"'),
                    "model service",
                    exemplar=True,
                ),
                description="The gap between the two lines is network and client overhead.",
                width=24,
            )
        )
    )


def burn_rate(sli: str, window: str) -> str:
    """Return the burn rate of `sli` (availability or latency) from the recorded SLO series."""
    return f"job:slo_{sli}_errors:ratio_rate{window} / on (job) (1 - job:slo_{sli}_objective:ratio)"


def slo_dashboard() -> dash.Dashboard:
    """Build the SLO dashboard: SLIs, error budget, burn rates and SLO alert state.

    Every query reads the recording rules of prometheus/rules/slo.yml, so the panels show
    exactly what the burn-rate alerts evaluate.
    """
    burn_colors = ((None, "green"), (SLOW_BURN, "orange"), (FAST_BURN, "red"))
    budget_colors = ((None, "red"), (0.25, "orange"), (0.5, "green"))
    burn_description = f"1x spends the 30-day budget in exactly 30 days; {FAST_BURN:g}x pages, {SLOW_BURN:g}x opens a ticket."

    availability_burn = graph(
        "Availability burn rate per window",
        "x",
        *[prom(burn_rate("availability", window), window) for window in BURN_WINDOWS],
        description=burn_description,
    ).thresholds(thresholds(*burn_colors))
    latency_burn = graph(
        "Latency burn rate per window",
        "x",
        *[prom(burn_rate("latency", window), window) for window in BURN_WINDOWS],
        description=burn_description,
    ).thresholds(thresholds(*burn_colors))

    return (
        base_dashboard(
            SLO_UID,
            "Agent SLOs",
            f"Availability objective {AVAILABILITY_OBJECTIVE:.1%} of /api/ requests without a 5xx, "
            f"latency objective {LATENCY_OBJECTIVE:.0%} answered within 1 s, over 30 days.",
            ["slo"],
        )
        .with_row(dash.Row("Service level indicators"))
        .with_panel(
            single_stat(
                "Availability SLI (5m)",
                "percentunit",
                prom("1 - job:slo_availability_errors:ratio_rate5m", "availability"),
                steps=((None, "red"), (AVAILABILITY_OBJECTIVE, "green")),
            )
        )
        .with_panel(
            single_stat(
                "Latency SLI: share within 1 s (5m)",
                "percentunit",
                prom("1 - job:slo_latency_errors:ratio_rate5m", "within 1 s"),
                steps=((None, "red"), (LATENCY_OBJECTIVE, "green")),
            )
        )
        .with_panel(
            ratio_gauge(
                "Availability error budget remaining (30d)",
                prom("job:slo_availability_error_budget_remaining:ratio", "budget left"),
                steps=budget_colors,
            )
        )
        .with_panel(
            ratio_gauge(
                "Latency error budget remaining (30d)",
                prom("job:slo_latency_error_budget_remaining:ratio", "budget left"),
                steps=budget_colors,
            )
        )
        .with_panel(
            graph(
                "SLIs against their objectives",
                "percentunit",
                prom("1 - job:slo_availability_errors:ratio_rate5m", "availability (5m)"),
                prom("job:slo_availability_objective:ratio", "availability objective"),
                prom("1 - job:slo_latency_errors:ratio_rate5m", "latency (5m)"),
                prom("job:slo_latency_objective:ratio", "latency objective"),
                width=24,
            )
        )
        .with_row(dash.Row("Burn rates"))
        .with_panel(availability_burn)
        .with_panel(latency_burn)
        .with_row(dash.Row("SLO alerts"))
        .with_panel(alerts_table("SLO alerts pending or firing", 'ALERTS{slo!=""}'))
    )


def logs_dashboard() -> dash.Dashboard:
    """Build the logs dashboard: volume by service and level, error lines with trace links."""
    errors = 'level=~"error|critical"'
    return (
        base_dashboard(
            LOGS_UID,
            "Agent logs",
            "Log volume by service and level from Loki; error lines link to their trace in Jaeger.",
            ["logs"],
        )
        .with_panel(
            timeseries.Panel()
            .title("Log lines by service and level")
            .datasource(LOKI)
            .unit("short")
            .height(8)
            .span(12)
            .with_target(logql('sum by (service, level) (count_over_time({service=~".+"}[1m]))', "{{service}} {{level}}"))
        )
        .with_panel(
            timeseries.Panel()
            .title("Error lines per second by service")
            .datasource(LOKI)
            .unit("short")
            .height(8)
            .span(12)
            .with_target(logql(f'sum by (service) (rate({{service=~".+", {errors}}}[1m]))', "{{service}}"))
        )
        .with_panel(
            logs.Panel()
            .title("Error lines (trace_id opens the trace in Jaeger)")
            .description("The Loki datasource's derived field turns trace_id into a Jaeger link.")
            .datasource(LOKI)
            .height(12)
            .span(24)
            .show_time(True)
            .wrap_log_message(True)
            .enable_log_details(True)
            .sort_order(common.LogsSortOrder.DESCENDING)
            .with_target(logql(f'{{service=~"agent|model|receiver", {errors}}}'))
        )
        .with_panel(
            logs.Panel()
            .title("Agent log stream")
            .datasource(LOKI)
            .height(12)
            .span(24)
            .show_time(True)
            .enable_log_details(True)
            .sort_order(common.LogsSortOrder.DESCENDING)
            .with_target(logql('{service="agent"}'))
        )
    )


def business_dashboard() -> dash.Dashboard:
    """Build the business dashboard: revenue, task value, satisfaction, completion ratio."""
    tasks = 'instance=~"$instance", task_type=~"$task_type"'
    completion = (
        f'sum(rate(agent_tasks_total{{{tasks}, status="success"}}[5m])) / sum(rate(agent_tasks_total{{{tasks}}}[5m]))'
    )
    return (
        base_dashboard(
            BUSINESS_UID,
            "Agent business metrics",
            "Revenue, task value, user satisfaction and task completion.",
            ["business"],
        )
        .with_variable(instance_variable())
        .with_variable(task_type_variable())
        .with_panel(
            single_stat(
                "Revenue in the selected range",
                "short",
                prom('sum by (currency) (increase(agent_revenue_total{instance=~"$instance"}[$__range]))', "{{currency}}"),
            )
        )
        .with_panel(
            ratio_gauge(
                "User satisfaction",
                prom('avg(agent_user_satisfaction_score{instance=~"$instance"}) / 100', "satisfaction"),
                steps=((None, "red"), (0.6, "orange"), (0.8, "green")),
            )
        )
        .with_panel(
            ratio_gauge(
                "Task completion ratio (5m)",
                prom(completion, "completed"),
                steps=((None, "red"), (0.95, "orange"), (0.99, "green")),
            )
        )
        .with_panel(
            single_stat(
                "Tasks completed in the selected range",
                "short",
                prom(f'sum(increase(agent_tasks_total{{{tasks}, status="success"}}[$__range]))', "tasks"),
            )
        )
        .with_panel(
            graph(
                "Revenue per hour",
                "short",
                prom('sum by (currency) (rate(agent_revenue_total{instance=~"$instance"}[5m])) * 3600', "{{currency}}"),
            )
        )
        .with_panel(
            graph(
                "Average task value by type",
                "short",
                prom(
                    f"sum by (task_type) (rate(agent_task_value_sum{{{tasks}}}[5m])) "
                    f"/ sum by (task_type) (rate(agent_task_value_count{{{tasks}}}[5m]))",
                    "{{task_type}}",
                ),
            )
        )
        .with_panel(
            graph(
                "Task completion ratio by type",
                "percentunit",
                prom(
                    f'sum by (task_type) (rate(agent_tasks_total{{{tasks}, status="success"}}[5m])) '
                    f"/ sum by (task_type) (rate(agent_tasks_total{{{tasks}}}[5m]))",
                    "{{task_type}}",
                ),
            )
        )
        .with_panel(
            graph(
                "User satisfaction over time",
                "short",
                prom('avg by (instance) (agent_user_satisfaction_score{instance=~"$instance"})', "{{instance}}"),
            ).min(0).max(100)
        )
    )


def alerts_dashboard() -> dash.Dashboard:
    """Build the alerts dashboard from Prometheus' ALERTS series."""
    return (
        base_dashboard(
            ALERTS_UID,
            "Alerts firing",
            "Prometheus alerts firing and pending. Loki ruler alerts (source=loki) reach "
            "Alertmanager directly: see them in Grafana's Alerting view or at 127.0.0.1:9093.",
            ["alerts"],
        )
        .with_panel(
            single_stat(
                "Critical alerts firing",
                "short",
                prom('count(ALERTS{alertstate="firing", severity="critical"}) or vector(0)', "critical"),
                steps=((None, "green"), (1, "red")),
            )
        )
        .with_panel(
            single_stat(
                "Warning alerts firing",
                "short",
                prom('count(ALERTS{alertstate="firing", severity="warning"}) or vector(0)', "warning"),
                steps=((None, "green"), (1, "orange")),
            )
        )
        .with_panel(
            single_stat(
                "Alerts pending",
                "short",
                prom('count(ALERTS{alertstate="pending"}) or vector(0)', "pending"),
                steps=((None, "green"), (1, "yellow")),
            )
        )
        .with_panel(
            single_stat(
                "Scrape targets down",
                "short",
                prom("count(up == 0) or vector(0)", "down"),
                steps=((None, "green"), (1, "red")),
            )
        )
        .with_panel(alerts_table("Alerts firing now", 'ALERTS{alertstate="firing"}'))
        .with_panel(alerts_table("Alerts pending", 'ALERTS{alertstate="pending"}'))
        .with_panel(
            graph(
                "Firing alerts over time",
                "short",
                prom('sum by (alertname) (ALERTS{alertstate="firing"})', "{{alertname}}"),
                width=24,
            )
        )
    )


DASHBOARDS = {
    "overview": overview_dashboard,
    "slo": slo_dashboard,
    "logs": logs_dashboard,
    "business": business_dashboard,
    "alerts": alerts_dashboard,
}


# --- serialisation --------------------------------------------------------------------


def _finish_panels(panels: list[dict[str, Any]], next_id: int) -> int:
    """Give panels unique ids and queries ref ids, and drop null options.

    The SDK leaves every panel id at 0, so panel links (viewPanel=<id>) could not tell
    panels apart, and it leaves unset ref ids empty.
    """
    for panel in panels:
        panel["id"] = next_id
        next_id += 1
        if panel.get("options") is None:
            panel.pop("options", None)
        for index, target in enumerate(panel.get("targets", [])):
            if not target.get("refId"):
                target["refId"] = chr(ord("A") + index)
        next_id = _finish_panels(panel.get("panels", []), next_id)
    return next_id


def build_dashboards() -> dict[str, dict[str, Any]]:
    """Return every dashboard model as plain JSON data, keyed by file stem."""
    models = {}
    for name, build in DASHBOARDS.items():
        data = json.loads(json.dumps(build().build(), cls=JSONEncoder))
        _finish_panels(data["panels"], 1)
        models[name] = data
    return models


def render(data: dict[str, Any]) -> str:
    """Return the file text for one dashboard model: stable key order, trailing newline."""
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="compare the committed JSON with the generated JSON instead of writing; exit 1 when they differ",
    )
    parser.add_argument("--out", type=Path, default=DASHBOARD_DIR, help="output folder (default: %(default)s)")
    args = parser.parse_args(argv)

    stale = []
    args.out.mkdir(parents=True, exist_ok=True)
    for name, data in build_dashboards().items():
        path = args.out / f"{name}.json"
        text = render(data)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(path)
            continue
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")

    if stale:
        names = ", ".join(str(path) for path in stale)
        print(f"stale dashboards: {names}; run `make dashboards` and commit the result", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
