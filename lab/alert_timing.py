"""The earliest time an alert can reach the receiver, computed from the real config files.

For an alert rule and a fault that drives its expression past the threshold at once,
`earliest_possible_s` adds the delays that the configuration fixes:

- the part of a range window that must fill before the expression can hold, which is the
  whole window for `min_over_time` and `absent_over_time` and nothing for rate-like and
  the other `*_over_time` functions under a saturating fault;
- `for`, rounded up to whole evaluation intervals, because Prometheus promotes a pending
  alert only at an evaluation;
- Alertmanager's `group_wait` for a new group (the shortest of the routes the alert takes,
  since the drill waits for the first notification of any kind);
- for an alert that reads a duration histogram (a `*_seconds_bucket`, `_count` or `_sum`
  series), the latency the fault injects: a request is observed only when it finishes, so
  the first slow sample exists that long after the fault's start.

It is a lower bound: a scrape and an evaluation may follow the fault's start at once. The
firing limit adds what the configuration leaves to chance: one scrape interval until a
scrape has seen the fault (a counter series that the fault creates, such as a new error
type, needs a second sample before rate() returns a value), two evaluation intervals for the
evaluation to come round, and SLACK_S for HTTP and process latency. The resolve limit counts
the time for the fault's samples to leave the longest range window (when `and` joins two
windows, the shorter one decides), one scrape and three evaluation intervals,
`group_interval` (after which Alertmanager sends the resolve) and SLACK_S.

Loki ruler alerts (LogQL) get the same computation from the rule file and the ruler's
`evaluation_interval` in loki.yml, with LOG_SHIPPING_S in place of the scrape interval.
"""

from __future__ import annotations

import glob
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import promql_parser
import yaml

from lab.errors import LabError

# Covers HTTP round trips, Prometheus's notification queue and the receiver's write.
SLACK_S = 5.0

# Functions whose result crosses a threshold only once the fault fills the whole window.
FULL_WINDOW_FUNCTIONS = frozenset({"min_over_time", "absent_over_time"})

# Prometheus's and Alertmanager's defaults for settings a config may leave out.
DEFAULT_SCRAPE_INTERVAL_S = 60.0
DEFAULT_EVALUATION_INTERVAL_S = 60.0
DEFAULT_GROUP_WAIT_S = 30.0
DEFAULT_GROUP_INTERVAL_S = 300.0
# Loki's ruler default when loki.yml sets no evaluation_interval.
DEFAULT_LOKI_EVALUATION_INTERVAL_S = 60.0

# An estimate of the time from a log line's write to Loki storing it: Promtail tails the
# container's log file and pushes a batch every second (its default batchwait of 1s).
LOG_SHIPPING_S = 5.0

# Series of a histogram of durations in seconds, by the Prometheus naming convention.
_DURATION_HISTOGRAM_SERIES = re.compile(r".+_seconds_(bucket|count|sum)")


_DURATION_UNITS_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")


def parse_duration_s(text: str | int | float) -> float:
    """Return a Prometheus or Alertmanager duration ("30s", "1h30m", "500ms") in seconds."""
    if isinstance(text, (int, float)):
        return float(text)
    text = str(text).strip()
    if text == "0":
        return 0.0
    parts = _DURATION.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        raise LabError(f"invalid duration {text!r}: expected a number with a unit, such as 30s or 1h30m")
    return float(sum(int(number) * _DURATION_UNITS_S[unit] for number, unit in parts))


@dataclass(frozen=True)
class Rule:
    """One alerting or recording rule with the interval of the group that evaluates it."""

    name: str
    expr: str
    group: str
    interval_s: float
    for_s: float = 0.0
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class PrometheusTiming:
    """The parts of prometheus.yml and its rule files that decide when alerts fire."""

    scrape_interval_s: float
    evaluation_interval_s: float
    job_scrape_intervals_s: dict[str, float]
    alerts: dict[str, Rule]
    recordings: dict[str, list[Rule]]


def load_prometheus(config_path: Path) -> PrometheusTiming:
    """Read prometheus.yml and every rule file it names (paths relative to the config file)."""
    config = _load_yaml(config_path)
    global_config = config.get("global", {}) or {}
    scrape_interval_s = parse_duration_s(global_config.get("scrape_interval", DEFAULT_SCRAPE_INTERVAL_S))
    evaluation_interval_s = parse_duration_s(
        global_config.get("evaluation_interval", DEFAULT_EVALUATION_INTERVAL_S)
    )
    job_intervals = {
        job["job_name"]: parse_duration_s(job.get("scrape_interval", scrape_interval_s))
        for job in config.get("scrape_configs", []) or []
    }
    alerts: dict[str, Rule] = {}
    recordings: dict[str, list[Rule]] = {}
    for pattern in config.get("rule_files", []) or []:
        full_pattern = pattern if Path(pattern).is_absolute() else str(config_path.parent / pattern)
        for rule_path in sorted(glob.glob(full_pattern)):
            for group in _load_yaml(Path(rule_path)).get("groups", []) or []:
                interval_s = parse_duration_s(group.get("interval", evaluation_interval_s))
                for entry in group.get("rules", []) or []:
                    if "alert" in entry:
                        alerts[entry["alert"]] = _alert_rule(entry, group["name"], interval_s)
                    elif "record" in entry:
                        rule = Rule(entry["record"], str(entry["expr"]), group["name"], interval_s)
                        recordings.setdefault(entry["record"], []).append(rule)
    return PrometheusTiming(scrape_interval_s, evaluation_interval_s, job_intervals, alerts, recordings)


def _alert_rule(entry: dict, group_name: str, interval_s: float) -> Rule:
    """Build the Rule of one alerting entry of a Prometheus or Loki rule file."""
    return Rule(
        name=entry["alert"],
        expr=str(entry["expr"]),
        group=group_name,
        interval_s=interval_s,
        for_s=parse_duration_s(entry.get("for", 0)),
        labels={key: str(value) for key, value in (entry.get("labels") or {}).items()},
    )


def _load_yaml(path: Path) -> dict:
    try:
        return yaml.safe_load(Path(path).read_text()) or {}
    except FileNotFoundError:
        raise LabError(f"config file not found: {path}") from None
    except yaml.YAMLError as error:
        raise LabError(f"invalid YAML in {path}: {error}") from None


# -- expression analysis -----------------------------------------------------------------


@dataclass(frozen=True)
class ExprWindows:
    """Range-window delays of an expression: fill before it can fire, clear before it resolves."""

    fill_s: float = 0.0
    clear_s: float = 0.0
    jobs: frozenset[str] = frozenset()
    # Names of the raw series read, recorded series replaced by the series they read.
    metrics: frozenset[str] = frozenset()

    @property
    def reads_duration_histogram(self) -> bool:
        return any(_DURATION_HISTOGRAM_SERIES.fullmatch(name) for name in self.metrics)


def analyse_expr(expr: str, recordings: dict[str, list[Rule]], _seen: frozenset[str] = frozenset()) -> ExprWindows:
    """Return the window delays of a PromQL expression, following recorded series to their rules."""
    try:
        node = promql_parser.parse(expr)
    except Exception as error:  # the binding raises its own exception types
        raise LabError(f"invalid PromQL {expr!r}: {error}") from None
    return _windows(node, recordings, _seen)


def _windows(node, recordings: dict[str, list[Rule]], seen: frozenset[str]) -> ExprWindows:
    kind = type(node).__name__
    if kind == "VectorSelector":
        return _selector_windows(node, recordings, seen)
    if kind == "MatrixSelector":
        inner = _selector_windows(node.vector_selector, recordings, seen)
        return ExprWindows(inner.fill_s, inner.clear_s + node.range.total_seconds(), inner.jobs, inner.metrics)
    if kind == "SubqueryExpr":
        inner = _windows(node.expr, recordings, seen)
        return ExprWindows(inner.fill_s, inner.clear_s + node.range.total_seconds(), inner.jobs, inner.metrics)
    if kind == "Call":
        args = [_windows(arg, recordings, seen) for arg in node.args]
        combined = _combine(args, fill=max, clear=max)
        if node.func.name in FULL_WINDOW_FUNCTIONS:
            # The function's own window must be full of faulty samples before it can hold.
            own_range_s = sum(arg.range.total_seconds() for arg in node.args if hasattr(arg, "range"))
            return ExprWindows(combined.fill_s + own_range_s, combined.clear_s, combined.jobs, combined.metrics)
        return combined
    if kind == "BinaryExpr":
        sides = [_windows(node.lhs, recordings, seen), _windows(node.rhs, recordings, seen)]
        operator = str(node.op)
        if operator == "and":
            # Both sides must hold to fire; either clearing resolves.
            return _combine(sides, fill=max, clear=min)
        if operator == "or":
            return _combine(sides, fill=min, clear=max)
        if operator == "unless":
            return ExprWindows(
                sides[0].fill_s,
                max(side.clear_s for side in sides),
                sides[0].jobs | sides[1].jobs,
                sides[0].metrics | sides[1].metrics,
            )
        return _combine(sides, fill=max, clear=max)
    if kind in ("AggregateExpr", "ParenExpr", "UnaryExpr"):
        return _windows(node.expr, recordings, seen)
    return ExprWindows()


def _selector_windows(selector, recordings: dict[str, list[Rule]], seen: frozenset[str]) -> ExprWindows:
    jobs = frozenset(
        matcher.value for matcher in selector.matchers.matchers if matcher.name == "job" and matcher.op == promql_parser.MatchOp.Equal
    )
    name = selector.name
    if name in recordings and name not in seen:
        definitions = [analyse_expr(rule.expr, recordings, seen | {name}) for rule in recordings[name]]
        combined = _combine(definitions, fill=max, clear=max)
        return ExprWindows(combined.fill_s, combined.clear_s, combined.jobs | jobs, combined.metrics)
    return ExprWindows(jobs=jobs, metrics=frozenset({name}) if name else frozenset())


def _combine(parts: list[ExprWindows], *, fill, clear) -> ExprWindows:
    if not parts:
        return ExprWindows()
    jobs: frozenset[str] = frozenset().union(*(part.jobs for part in parts))
    metrics: frozenset[str] = frozenset().union(*(part.metrics for part in parts))
    return ExprWindows(fill(part.fill_s for part in parts), clear(part.clear_s for part in parts), jobs, metrics)


# -- Alertmanager routing ----------------------------------------------------------------


@dataclass(frozen=True)
class RouteTiming:
    """The receiver an alert reaches through one route, and that route's timers."""

    receiver: str
    group_wait_s: float
    group_interval_s: float


def _parse_matcher(text: str) -> tuple[str, str, str]:
    """Split an Alertmanager matcher such as `severity="critical"` into (label, operator, value)."""
    for operator in ("=~", "!~", "!=", "="):
        name, found, value = text.partition(operator)
        if found:
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            return name.strip(), operator, value
    raise LabError(f"invalid Alertmanager matcher {text!r}")


def matchers_match(route: dict, labels: dict[str, str]) -> bool:
    """Return True if `labels` satisfy the `matchers`, `match` and `match_re` of a route or rule."""
    checks = [_parse_matcher(text) for text in route.get("matchers", []) or []]
    checks += [(name, "=", str(value)) for name, value in (route.get("match") or {}).items()]
    checks += [(name, "=~", str(value)) for name, value in (route.get("match_re") or {}).items()]
    for name, operator, value in checks:
        actual = labels.get(name, "")
        if operator == "=" and actual != value:
            return False
        if operator == "!=" and actual == value:
            return False
        if operator == "=~" and not re.fullmatch(value, actual):
            return False
        if operator == "!~" and re.fullmatch(value, actual):
            return False
    return True


def routes_for(alertmanager_config: dict, labels: dict[str, str]) -> list[RouteTiming]:
    """Return the routes an alert with `labels` reaches, as Alertmanager walks its route tree.

    Labels that the alert gets from its series (instance, service) are unknown here and
    count as empty, so a route that matches on them is not predicted.
    """
    root = alertmanager_config.get("route") or {}
    inherited = RouteTiming(
        root.get("receiver", ""),
        parse_duration_s(root.get("group_wait", DEFAULT_GROUP_WAIT_S)),
        parse_duration_s(root.get("group_interval", DEFAULT_GROUP_INTERVAL_S)),
    )
    return _walk_routes(root, labels, inherited)


def _walk_routes(route: dict, labels: dict[str, str], parent: RouteTiming) -> list[RouteTiming]:
    timing = RouteTiming(
        route.get("receiver", parent.receiver),
        parse_duration_s(route.get("group_wait", parent.group_wait_s)),
        parse_duration_s(route.get("group_interval", parent.group_interval_s)),
    )
    reached: list[RouteTiming] = []
    for child in route.get("routes", []) or []:
        if not matchers_match(child, labels):
            continue
        reached += _walk_routes(child, labels, timing)
        if not child.get("continue", False):
            break
    return reached or [timing]


# -- the computation ---------------------------------------------------------------------


@dataclass
class AlertTiming:
    """Configured delays of one alert and the limits a drill checks it against.

    `must_hold_by_s` is the latest time after the fault's start at which the expression can
    start to hold and the alert still arrive within `fire_limit_s`.
    """

    alert: str
    scrape_interval_s: float
    evaluation_interval_s: float
    for_s: float
    window_fill_s: float
    window_clear_s: float
    group_wait_s: float
    group_interval_s: float
    receivers: list[str]
    sample_delay_s: float
    earliest_possible_s: float
    fire_limit_s: float
    must_hold_by_s: float
    resolve_limit_s: float

    def as_dict(self) -> dict:
        return asdict(self)


def compute_timing(
    alert: str,
    prometheus: PrometheusTiming,
    alertmanager_config: dict,
    *,
    fire_cap_s: float | None = None,
    injected_latency_s: float = 0.0,
) -> AlertTiming:
    """Return the earliest arrival and the limits for `alert` (see the module docstring).

    `fire_cap_s` lowers the firing limit to a fixed target when that is stricter.
    `injected_latency_s` is added to the earliest time when the alert reads a duration
    histogram, because the first slow request is observed only once it finishes.
    """
    rule = prometheus.alerts.get(alert)
    if rule is None:
        raise LabError(f"alert {alert!r} is not defined in the Prometheus rule files")
    windows = analyse_expr(rule.expr, prometheus.recordings)
    scrape_s = max(
        [prometheus.job_scrape_intervals_s[job] for job in windows.jobs if job in prometheus.job_scrape_intervals_s]
        or [prometheus.scrape_interval_s]
    )
    sample_delay_s = injected_latency_s if windows.reads_duration_histogram else 0.0
    return _timing(
        rule, windows, alertmanager_config, scrape_s=scrape_s, sample_delay_s=sample_delay_s, fire_cap_s=fire_cap_s
    )


def _timing(
    rule: Rule,
    windows: ExprWindows,
    alertmanager_config: dict,
    *,
    scrape_s: float,
    sample_delay_s: float,
    fire_cap_s: float | None,
) -> AlertTiming:
    evaluation_s = rule.interval_s
    for_rounded_s = math.ceil(rule.for_s / evaluation_s) * evaluation_s if rule.for_s else 0.0
    routes = routes_for(alertmanager_config, {"alertname": rule.name, **rule.labels})
    group_wait_s = min(route.group_wait_s for route in routes)
    group_interval_s = max(route.group_interval_s for route in routes)

    earliest_s = sample_delay_s + windows.fill_s + for_rounded_s + group_wait_s
    fire_limit_s = earliest_s + scrape_s + 2 * evaluation_s + SLACK_S
    if fire_cap_s is not None:
        fire_limit_s = min(fire_limit_s, fire_cap_s)
    resolve_limit_s = windows.clear_s + scrape_s + evaluation_s + group_interval_s + 2 * evaluation_s + SLACK_S
    return AlertTiming(
        alert=rule.name,
        scrape_interval_s=scrape_s,
        evaluation_interval_s=evaluation_s,
        for_s=rule.for_s,
        window_fill_s=windows.fill_s,
        window_clear_s=windows.clear_s,
        group_wait_s=group_wait_s,
        group_interval_s=group_interval_s,
        receivers=sorted({route.receiver for route in routes}),
        sample_delay_s=sample_delay_s,
        earliest_possible_s=earliest_s,
        fire_limit_s=fire_limit_s,
        must_hold_by_s=fire_limit_s - for_rounded_s - group_wait_s,
        resolve_limit_s=resolve_limit_s,
    )


def load_alertmanager(config_path: Path) -> dict:
    """Read alertmanager.yml."""
    return _load_yaml(config_path)


# -- Loki ruler alerts -------------------------------------------------------------------


@dataclass
class LokiTiming:
    """The ruler's evaluation interval from loki.yml and the alert rules of its rule files."""

    evaluation_interval_s: float
    alerts: dict[str, Rule]


_LOGQL_RANGE = re.compile(r"\[(\d+(?:ms|s|m|h|d|w|y))+\]")


def load_loki(config_path: Path, rules_dir: Path) -> LokiTiming:
    """Read loki.yml's ruler settings and every *.yml rule file below `rules_dir` (all tenants)."""
    ruler = _load_yaml(config_path).get("ruler", {}) or {}
    evaluation_interval_s = parse_duration_s(ruler.get("evaluation_interval", DEFAULT_LOKI_EVALUATION_INTERVAL_S))
    alerts: dict[str, Rule] = {}
    for rule_path in sorted(Path(rules_dir).rglob("*.yml")):
        for group in _load_yaml(rule_path).get("groups", []) or []:
            interval_s = parse_duration_s(group.get("interval", evaluation_interval_s))
            for entry in group.get("rules", []) or []:
                if "alert" not in entry:
                    continue
                alerts[entry["alert"]] = _alert_rule(entry, group["name"], interval_s)
    return LokiTiming(evaluation_interval_s, alerts)


def logql_windows(expr: str) -> ExprWindows:
    """Return the window delays of a LogQL metric query, read from its `[range]` selectors.

    promql_parser cannot parse LogQL, so the ranges are found by pattern. As for PromQL,
    only absent_over_time must fill its whole window before it can hold.
    """
    ranges_s = [parse_duration_s(match.group(0)[1:-1]) for match in _LOGQL_RANGE.finditer(expr)]
    clear_s = max(ranges_s, default=0.0)
    fill_s = clear_s if "absent_over_time" in expr else 0.0
    return ExprWindows(fill_s, clear_s)


def compute_loki_timing(alert: str, loki: LokiTiming, alertmanager_config: dict) -> AlertTiming:
    """Return the earliest arrival and the limits for a Loki ruler alert.

    LOG_SHIPPING_S takes the place of the scrape interval.
    """
    rule = loki.alerts.get(alert)
    if rule is None:
        raise LabError(f"alert {alert!r} is not defined in the Loki rule files")
    windows = logql_windows(rule.expr)
    return _timing(rule, windows, alertmanager_config, scrape_s=LOG_SHIPPING_S, sample_delay_s=0.0, fire_cap_s=None)
