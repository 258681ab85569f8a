"""Load prometheus/: the config, the rule files and the promtool unit-test files."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = REPO / "prometheus"
CONFIG = PROMETHEUS_DIR / "prometheus.yml"
RULE_FILES = sorted((PROMETHEUS_DIR / "rules").glob("*.yml"))
TEST_FILES = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))
LOKI_RULE_FILES = sorted((REPO / "loki" / "rules").glob("*/*.yml"))
RUNBOOK_DIR = REPO / "docs" / "runbooks"
# The receiver serves docs/runbooks there, on the port it publishes in compose and the native lab.
RUNBOOK_URL_PREFIX = "http://127.0.0.1:5001/runbooks/"

_DURATION_PART = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_DURATION_UNITS_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
# A range selector such as [5m]. A subquery such as [30m:1m] has a colon and is left out.
_RANGE_SELECTOR = re.compile(r"\[(\w+)\]")
_IDENTIFIER = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def parse_duration_s(text: str) -> float:
    """Return a Prometheus duration such as "1h30m" in seconds; raise ValueError if invalid."""
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        raise ValueError(f"invalid Prometheus duration {text!r}")
    return sum(int(number) * _DURATION_UNITS_S[unit] for number, unit in parts)


def range_windows(expr: str) -> list[str]:
    """Return the range-selector durations in a PromQL expression, e.g. ["1m", "5m"]."""
    return _RANGE_SELECTOR.findall(expr)


def identifiers(expr: str) -> set[str]:
    """Return every name-like token of a PromQL expression (metric, label and function names)."""
    return set(_IDENTIFIER.findall(expr))


@dataclass(frozen=True)
class Rule:
    """One alerting or recording rule and the file that defines it."""

    name: str
    expr: str
    file: Path
    for_s: float = 0.0
    labels: dict = field(default_factory=dict)
    annotations: dict = field(default_factory=dict)


def load_rules() -> tuple[dict[str, Rule], dict[str, Rule]]:
    """Return (alerts, recording rules) by name from prometheus/rules/*.yml."""
    alerts: dict[str, Rule] = {}
    recordings: dict[str, Rule] = {}
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for raw in group["rules"]:
                if "alert" in raw:
                    for_s = parse_duration_s(raw["for"]) if "for" in raw else 0.0
                    alerts[raw["alert"]] = Rule(
                        raw["alert"], raw["expr"], path, for_s, raw.get("labels", {}), raw.get("annotations", {})
                    )
                else:
                    recordings[raw["record"]] = Rule(raw["record"], raw["expr"], path, labels=raw.get("labels", {}))
    return alerts, recordings


def load_loki_alerts() -> dict[str, dict]:
    """Return the raw LogQL alert rules of loki/rules/<tenant>/*.yml by name."""
    alerts = {}
    for path in LOKI_RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for raw in group["rules"]:
                if "alert" in raw:
                    alerts[raw["alert"]] = raw
    return alerts


@dataclass(frozen=True)
class AlertCase:
    """One alert_rule_test entry of a promtool test group."""

    file: Path
    group_name: str
    group_index: int
    evaluation_interval_s: float
    eval_time_s: float
    alertname: str
    exp_alerts: list


def load_alert_cases() -> list[AlertCase]:
    """Return every alert_rule_test entry of prometheus/tests/*.yml."""
    cases = []
    for path in TEST_FILES:
        document = yaml.safe_load(path.read_text())
        evaluation_interval_s = parse_duration_s(document.get("evaluation_interval", "1m"))
        for index, group in enumerate(document["tests"]):
            for case in group.get("alert_rule_test", []):
                cases.append(
                    AlertCase(
                        path,
                        group.get("name", ""),
                        index,
                        evaluation_interval_s,
                        parse_duration_s(case["eval_time"]),
                        case["alertname"],
                        case.get("exp_alerts") or [],
                    )
                )
    return cases


def load_promql_test_exprs() -> list[str]:
    """Return the expr of every promql_expr_test in prometheus/tests/*.yml."""
    exprs = []
    for path in TEST_FILES:
        for group in yaml.safe_load(path.read_text())["tests"]:
            exprs.extend(case["expr"] for case in group.get("promql_expr_test", []))
    return exprs


def recording_rules_used_by(expr: str, recordings: dict[str, Rule]) -> set[str]:
    """Return the recording rules `expr` reads, directly or through other recording rules."""
    used: set[str] = set()
    pending = [name for name in identifiers(expr) if name in recordings]
    while pending:
        name = pending.pop()
        if name in used:
            continue
        used.add(name)
        pending.extend(other for other in identifiers(recordings[name].expr) if other in recordings)
    return used
