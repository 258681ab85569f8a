"""Whether a burn-rate alert can fire during a drill, given the traffic its windows already hold.

A burn-rate alert compares recorded SLO error ratios (for example the 1h and the 5m ratio)
with a threshold such as 14.4 * (1 - 0.95) = 72 %. Requests the agent served before the
drill stay in a long window for its whole length, so after an hour of healthy traffic the
drill's few bad requests cannot lift the 1h ratio past the threshold. That is the alert
working as designed, not a fault of the rules.

Before a drill starts its fault, `forecast_alert` queries Prometheus for the SLO requests
(all and bad) that each window will still contain at `must_hold_by_s`. That is the latest
moment the expression may start to hold for the alert to arrive within its limit. It adds the
requests the scenario can finish by then, with the scenario's share of bad ones, and
reports each window whose ratio cannot cross. The estimate is generous to the alert. It
counts every planned request as finished as soon as its injected latency has passed, and it
ignores the scrape and evaluation delays. So "cannot cross" is certain, random error draws
aside, while "can cross" is not a promise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import promql_parser

from lab.alert_timing import PrometheusTiming, Rule, analyse_expr
from lab.errors import LabError
from lab.http_client import get_json, unexpected_body

QUERY_TIMEOUT_S = 10.0


class PlannedTraffic(Protocol):
    """The planned traffic and fault effect of a scenario, as loadgen.faults.Scenario provides them."""

    limits: object  # has rate_per_s and concurrency

    @property
    def injected_latency_s(self) -> float: ...

    @property
    def error_fraction(self) -> float: ...

    def slow_fraction(self, threshold_s: float) -> float: ...


# -- the arithmetic ----------------------------------------------------------------------


def finished_requests(rate_per_s: float, concurrency: int, response_s: float, until_s: float) -> int:
    """Return the maximum number of paced requests that have finished `until_s` after the first send.

    Requests are sent 1/rate apart, but at most `concurrency` can wait on a response of
    `response_s` at once, which caps the rate at concurrency / response_s.
    """
    if until_s < response_s:
        return 0
    rate = rate_per_s if response_s <= 0 else min(rate_per_s, concurrency / response_s)
    # The first request goes out at 0 and each later one 1/rate after the previous one.
    return math.floor((until_s - response_s) * rate) + 1


@dataclass(frozen=True)
class WindowForecast:
    """The best ratio one window of a burn-rate alert can reach by `at_s` into the drill."""

    record: str
    window_s: float
    at_s: float
    threshold: float
    earlier_requests: float
    earlier_bad: float
    new_requests: int
    new_bad: float

    @property
    def ratio(self) -> float:
        total = self.earlier_requests + self.new_requests
        return (self.earlier_bad + self.new_bad) / total if total > 0 else 0.0

    @property
    def crosses(self) -> bool:
        # The rules compare with `>`, so a ratio equal to the threshold does not fire.
        return self.ratio > self.threshold

    def describe(self, bad_word: str) -> str:
        """Return one sentence with the numbers behind the forecast, e.g. for a drill's note."""
        return (
            f"the {_duration(self.window_s)} window still contains "
            f"{self.earlier_requests:,.0f} earlier requests ({self.earlier_bad:,.0f} {bad_word}), "
            f"so {self.new_bad:,.0f} {bad_word} of {self.new_requests:,} new requests reach "
            f"{self.ratio:.2%}, not the {self.threshold:.2%} the alert needs"
        )


def forecast_window(
    record: str,
    window_s: float,
    at_s: float,
    threshold: float,
    *,
    earlier_requests: float,
    earlier_bad: float,
    new_requests: int,
    bad_fraction: float,
) -> WindowForecast:
    """Return the ratio a window reaches when `new_requests` with `bad_fraction` bad join it."""
    return WindowForecast(
        record=record,
        window_s=window_s,
        at_s=at_s,
        threshold=threshold,
        earlier_requests=earlier_requests,
        earlier_bad=earlier_bad,
        new_requests=new_requests,
        new_bad=new_requests * bad_fraction,
    )


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"


# -- reading the rules -------------------------------------------------------------------


@dataclass(frozen=True)
class RatioWindow:
    """One `<recorded SLO ratio> > <threshold>` comparison of a burn-rate alert.

    The selectors come from the ratio's recording rule. `total_selector` counts every SLO
    request. Either `bad_selector` counts the failed ones, or `good_selector`, a histogram
    bucket with upper bound `good_le_s`, counts the fast ones.
    """

    record: str
    window_s: float
    threshold_expr: str
    total_selector: str
    bad_selector: str | None = None
    good_selector: str | None = None
    good_le_s: float | None = None


def ratio_windows(rule: Rule, prometheus: PrometheusTiming) -> list[RatioWindow]:
    """Return the ratio comparisons that must all hold for `rule` to fire.

    The list is empty unless the expression is one comparison of a recorded series with a
    threshold, or such comparisons joined by `and`. The fast-burn alerts have this form.
    """
    comparisons = _and_terms(promql_parser.parse(rule.expr))
    windows = []
    for node in comparisons:
        if not (type(node).__name__ == "BinaryExpr" and str(node.op) == ">"):
            return []
        lhs = _unwrap(node.lhs)
        if type(lhs).__name__ != "VectorSelector" or lhs.name not in prometheus.recordings:
            return []
        recording = prometheus.recordings[lhs.name][0]
        window_s = analyse_expr(recording.expr, prometheus.recordings).clear_s
        windows.append(_ratio_window(lhs.name, window_s, _unwrap(node.rhs).prettify(), recording.expr))
    return windows


def _and_terms(node) -> list:
    node = _unwrap(node)
    if type(node).__name__ == "BinaryExpr" and str(node.op) == "and":
        return _and_terms(node.lhs) + _and_terms(node.rhs)
    return [node]


def _unwrap(node):
    while type(node).__name__ == "ParenExpr":
        node = node.expr
    return node


def _ratio_window(record: str, window_s: float, threshold_expr: str, recording_expr: str) -> RatioWindow:
    """Sort the selectors of an SLO ratio's recording rule into total and bad (or good) requests."""
    selectors = {}
    for selector in _selectors(promql_parser.parse(recording_expr)):
        matchers = frozenset((m.name, str(m.op), m.value) for m in selector.matchers.matchers)
        selectors[selector.prettify()] = (selector.name, matchers)
    # The total is the selector whose matchers every other selector repeats.
    totals = [text for text, (_, matchers) in selectors.items() if all(matchers <= other for _, other in selectors.values())]
    others = [text for text in selectors if text not in totals]
    if len(totals) != 1 or len(others) != 1:
        raise LabError(
            f"cannot read the SLO of recording rule {record}: expected one selector for all requests "
            f"and one that narrows it, found {', '.join(sorted(selectors))}"
        )
    total, narrowed = totals[0], others[0]
    name, matchers = selectors[narrowed]
    le_values = [value for label, _, value in matchers if label == "le"]
    if name.endswith("_bucket") and le_values:
        return RatioWindow(record, window_s, threshold_expr, total, good_selector=narrowed, good_le_s=float(le_values[0]))
    return RatioWindow(record, window_s, threshold_expr, total, bad_selector=narrowed)


def _selectors(node) -> list:
    kind = type(node).__name__
    if kind == "VectorSelector":
        return [node]
    if kind == "MatrixSelector":
        return [node.vector_selector]
    if kind == "Call":
        return [selector for arg in node.args for selector in _selectors(arg)]
    if kind == "BinaryExpr":
        return _selectors(node.lhs) + _selectors(node.rhs)
    if kind in ("AggregateExpr", "ParenExpr", "UnaryExpr", "SubqueryExpr"):
        return _selectors(node.expr)
    return []


# -- asking Prometheus -------------------------------------------------------------------


def query_value(prometheus_url: str, query: str) -> float | None:
    """Return the sum of an instant query's samples, or None when it returns no series."""
    url = f"{prometheus_url.rstrip('/')}/api/v1/query"
    body = get_json(url, component="prometheus", params={"query": query}, timeout_s=QUERY_TIMEOUT_S)
    try:
        result = body["data"]["result"]
        values = [float(sample["value"][1]) for sample in result]
    except (KeyError, TypeError, IndexError, ValueError) as error:
        raise unexpected_body("prometheus", url, error) from None
    if not values:
        return None
    return sum(values)


def _increase(prometheus_url: str, selector: str, range_s: float) -> float:
    if range_s <= 0:
        return 0.0
    return query_value(prometheus_url, f"sum(increase({selector}[{math.ceil(range_s)}s]))") or 0.0


def forecast_alert(
    rule: Rule,
    prometheus: PrometheusTiming,
    prometheus_url: str,
    traffic: PlannedTraffic,
    at_s: float,
) -> list[WindowForecast]:
    """Return the forecast of each ratio window of `rule`; empty when the rule has none.

    The alert's `slo` label picks the scenario's bad share: availability counts its errors
    (error_fraction), latency its requests slower than the SLO's bucket bound.
    """
    forecasts = []
    for window in ratio_windows(rule, prometheus):
        threshold = query_value(prometheus_url, window.threshold_expr)
        if threshold is None:
            raise LabError(
                f"Prometheus returned no value for {window.threshold_expr!r}, the threshold of {rule.name}; "
                "wait until it has evaluated the SLO recording rules (5 s after start) and run the drill again"
            )
        # The requests still inside the window at at_s are those of its last window_s - at_s seconds.
        remaining_s = window.window_s - at_s
        earlier_requests = _increase(prometheus_url, window.total_selector, remaining_s)
        if window.good_selector is not None:
            earlier_bad = max(0.0, earlier_requests - _increase(prometheus_url, window.good_selector, remaining_s))
        else:
            earlier_bad = _increase(prometheus_url, window.bad_selector, remaining_s)
        forecasts.append(
            forecast_window(
                window.record,
                window.window_s,
                at_s,
                threshold,
                earlier_requests=earlier_requests,
                earlier_bad=earlier_bad,
                new_requests=finished_requests(
                    traffic.limits.rate_per_s, traffic.limits.concurrency, traffic.injected_latency_s, at_s
                ),
                bad_fraction=_bad_fraction(rule, window, traffic),
            )
        )
    return forecasts


def _bad_fraction(rule: Rule, window: RatioWindow, traffic: PlannedTraffic) -> float:
    slo = rule.labels.get("slo")
    if slo == "latency" and window.good_le_s is not None:
        return traffic.slow_fraction(window.good_le_s)
    if slo == "availability" and window.bad_selector is not None:
        return traffic.error_fraction
    raise LabError(
        f"cannot forecast {rule.name}: expected label slo=availability with an error-count selector, "
        f"or slo=latency with a histogram bucket, got slo={slo!r} and {window.record}"
    )


def bad_word(rule: Rule) -> str:
    """Return the word for a bad request of the alert's SLO: "slow" or "failed"."""
    return "slow" if rule.labels.get("slo") == "latency" else "failed"
