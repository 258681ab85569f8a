"""Read the generated dashboards and the rule files, and pick their queries apart.

Shared by the static dashboard tests and the live test against the native stack.
"""

from __future__ import annotations

import importlib.util
import json
import re
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator

import promql_parser
import yaml

REPO = Path(__file__).resolve().parents[2]
GENERATOR = REPO / "grafana" / "generate_dashboards.py"
DASHBOARD_DIR = REPO / "grafana" / "dashboards"
DATASOURCES_FILE = REPO / "grafana" / "provisioning" / "datasources" / "datasources.yml"
PROMETHEUS_RULES = sorted((REPO / "prometheus" / "rules").glob("*.yml"))
LOKI_RULES = sorted((REPO / "loki" / "rules").glob("*/*.yml"))

# Values for Grafana's built-in variables and the dashboards' own variables, so that a
# query can be parsed and sent to Prometheus as Grafana would send it.
VARIABLE_VALUES = {
    "__rate_interval": "1m",
    "__interval": "15s",
    "__range": "10m",
    "__auto": "1m",
    "instance": ".*",
    "task_type": ".*",
}
VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")


@dataclass(frozen=True)
class PanelQuery:
    """One query of one dashboard panel."""

    dashboard: str
    panel: str
    panel_type: str
    datasource_uid: str
    datasource_type: str
    expr: str

    @property
    def label(self) -> str:
        return f"{self.dashboard}/{self.panel}/{self.expr[:60]}"


def load_generator() -> ModuleType:
    """Import grafana/generate_dashboards.py by path (grafana/ is not a package)."""
    spec = importlib.util.spec_from_file_location("generate_dashboards", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def committed_dashboards() -> dict[str, dict[str, Any]]:
    return {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in sorted(DASHBOARD_DIR.glob("*.json"))}


def iter_panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Yield every panel, including those nested in collapsed rows."""
    for panel in panels:
        yield panel
        yield from iter_panels(panel.get("panels", []))


def panel_queries(dashboards: dict[str, dict[str, Any]]) -> list[PanelQuery]:
    queries = []
    for name, dashboard in dashboards.items():
        for panel in iter_panels(dashboard["panels"]):
            for target in panel.get("targets", []):
                datasource = target.get("datasource") or panel.get("datasource") or {}
                queries.append(
                    PanelQuery(
                        dashboard=name,
                        panel=panel["title"],
                        panel_type=panel["type"],
                        datasource_uid=datasource.get("uid", ""),
                        datasource_type=datasource.get("type", ""),
                        expr=target["expr"],
                    )
                )
    return queries


def substitute_variables(expr: str, values: dict[str, str] = VARIABLE_VALUES) -> str:
    """Replace $name and ${name} with `values`; raise KeyError for an unknown variable."""

    def replace(match: re.Match[str]) -> str:
        return values[match.group(1) or match.group(2)]

    return VARIABLE.sub(replace, expr)


def promql_selectors(expr: str) -> list[promql_parser.VectorSelector]:
    """Parse `expr` (variables already substituted) and return its vector selectors."""
    selectors = []

    def visit(node: Any) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            selectors.append(node)
        return True

    promql_parser.walk(promql_parser.parse(expr), visit)
    return selectors


def metric_names(expr: str) -> set[str]:
    """Return the metric names an expression selects, by name or by a __name__ matcher."""
    names = set()
    for selector in promql_selectors(expr):
        if selector.name:
            names.add(selector.name)
        for matcher in selector.matchers.matchers:
            if matcher.name == "__name__":
                names.add(matcher.value)
    return names


def rule_files_rules(paths: list[Path]) -> list[dict[str, Any]]:
    rules = []
    for path in paths:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        for group in document["groups"]:
            rules.extend(group["rules"])
    return rules


def recorded_names() -> set[str]:
    return {rule["record"] for rule in rule_files_rules(PROMETHEUS_RULES) if "record" in rule}


def datasources() -> list[dict[str, Any]]:
    return yaml.safe_load(DATASOURCES_FILE.read_text(encoding="utf-8"))["datasources"]


def unescape_provisioning(value: str) -> str:
    """Return `value` as Grafana reads it after provisioning, where `$$` becomes `$`."""
    return value.replace("$$", "$")
