"""Alert drills: cause a fault, wait for its alerts at the receiver, stop it, wait for the resolve.

A drill measures, for each alert the scenario is meant to fire, the time from the fault's
start to the first firing notification stored by the receiver (any of webhook, Slack,
PagerDuty) and to the first resolved one. It checks each alert against the limits that
`lab.alert_timing` computes from the shipped Prometheus, Alertmanager and Loki configs.
Before the fault starts, `lab.burn_forecast` checks whether each burn-rate alert can cross
its threshold given the traffic already in its windows. An alert that cannot is reported as
not awaited, with the numbers, and does not fail the drill.

Scenarios: the four fault scenarios of `loadgen.faults` (error-burst, latency-spike,
slow-model, queue-flood) and three that need process control. Model-down stops the model
service and sends light traffic until TargetDown and AgentHighErrorRate arrive, then starts
it. Agent-down stops the agent until AgentDown arrives, then starts it. Agent-restart
restarts the agent and waits for AgentRestarted.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass
from typing import Callable

from prometheus_client.parser import text_string_to_metric_families

from lab import alert_timing, burn_forecast
from lab.alert_timing import AlertTiming, LokiTiming, PrometheusTiming, Rule
from lab.components import REPO_ROOT
from lab.errors import LabError
from lab.http_client import START_HINT, get, get_json, unexpected_body
from lab.target import Target
from loadgen import workload
from loadgen.faults.traffic import Limits, Request, Traffic

Progress = Callable[[str], None]

PROCESS_SCENARIOS = ("model-down", "agent-down", "agent-restart")
# `drill all` runs latency-spike first. The latency burn alert needs 72 % slow requests in
# its 1h window, and error-burst's 10 requests a second would dilute that window for an hour.
# Latency-spike's 1 request a second barely moves the 1.44 % that the error burn needs.
# Model-down's fast 502s would dilute the latency windows the same way, and it runs after
# error-burst, where its failures only add to the error windows.
LOADGEN_SCENARIOS = ("latency-spike", "error-burst", "slow-model", "queue-flood")
SCENARIO_NAMES = LOADGEN_SCENARIOS + PROCESS_SCENARIOS

# A fixed target that is stricter than the computed limit: the error-burst alert must reach
# the receiver within 90 s of the fault starting.
FIRE_TARGETS_S: dict[tuple[str, str], float] = {("error-burst", "AgentHighErrorRate"): 90.0}

# Scenario options the drills pass on. The latency spike must exceed AgentHighLatency's 5 s
# p95 threshold. The queue flood must outpace the two queue workers by far, so the queue
# passes 100 within seconds. Other options keep the scenario's defaults.
SCENARIO_OPTIONS: dict[str, dict] = {
    "latency-spike": {"latency_ms": 6000},
    "queue-flood": {"rate_per_s": 10.0, "concurrency": 8},
}

# Log alerts that Loki's ruler evaluates. Only the compose lab runs Loki and Promtail, so a
# native drill neither awaits nor proves them.
# NOTE: no compose run has proven AgentErrorLogBurst yet, because the machine that built
# this drill had no Docker engine.
COMPOSE_ONLY_ALERTS: dict[str, tuple[str, ...]] = {"error-burst": ("AgentErrorLogBurst",)}

# Labels an awaited alert must carry, for alerts that fire for more than one component:
# TargetDown for another job neither counts as the drill's alert nor blocks the drill.
ALERT_LABELS: dict[tuple[str, str], dict[str, str]] = {("model-down", "TargetDown"): {"service": "model"}}

# Traffic while the model is down. Synchronous tasks fail at once with 502 (model_error),
# so a few a second lift AgentHighErrorRate's 1m error ratio past 5 %. Without traffic
# no task fails and the error alerts stay silent.
MODEL_DOWN_RATE_PER_S = 2.0
MODEL_DOWN_CONCURRENCY = 2
MODEL_DOWN_TIMEOUT_S = 10.0

# Scenarios that leave a backlog behind: the resolve can only start once the agent's queue
# has drained, which takes as long as the backlog needs, not a time the configuration sets.
DRAINING_SCENARIOS = ("queue-flood",)
DRAIN_TIMEOUT_S = 900.0

# How long a drill goes on waiting past an alert's limit, so a late arrival is still measured.
GRACE_S = 30.0
POLL_INTERVAL_S = 1.0


@dataclass
class AlertResult:
    """One alert of one drill: what was measured and what the configuration allows."""

    scenario: str
    alert: str
    fired_after_s: float | None
    resolved_after_s: float | None
    earliest_possible_s: float
    fire_limit_s: float
    resolved_after_stop_s: float | None
    resolve_limit_s: float
    ok: bool
    note: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


class ReceiverClient:
    """Reads the notifications the receiver stored, through GET /api/notifications."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def first_arrival(
        self, alertname: str, status: str, since_unix: float, labels: dict[str, str] | None = None
    ) -> float | None:
        """Return the receive time (unix seconds) of the earliest matching notification, or None.

        With `labels`, only notifications whose alert carries all of them count.
        """
        url = f"{self.base_url}/api/notifications"
        params = {"alertname": alertname, "status": status, "since": f"{since_unix:.3f}", "limit": 1000}
        body = get_json(url, component="receiver", params=params)
        labels = labels or {}
        try:
            times = [
                float(row["received_at_unix"])
                for row in body["notifications"]
                if all(row["labels"].get(name) == value for name, value in labels.items())
            ]
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise unexpected_body("receiver", url, error) from None
        return min(times, default=None)


def active_alerts(prometheus_url: str, required_labels: dict[str, dict[str, str]] | None = None) -> dict[str, str]:
    """Return {alertname: state} of the alerts that are pending or firing in Prometheus.

    `required_labels` maps an alert name to labels its instance must carry to count.
    """
    url = f"{prometheus_url.rstrip('/')}/api/v1/alerts"
    body = get_json(url, component="prometheus")
    required_labels = required_labels or {}
    try:
        active = {}
        for alert in body["data"]["alerts"]:
            labels = alert["labels"]
            required = required_labels.get(labels["alertname"], {})
            if all(labels.get(name) == value for name, value in required.items()):
                active[labels["alertname"]] = alert["state"]
        return active
    except (KeyError, TypeError, AttributeError) as error:
        raise unexpected_body("prometheus", url, error) from None


def queue_depth(agent_url: str) -> float:
    """Return the agent's queue depth: the sum of agent_queue_size over priorities, from /metrics."""
    url = f"{agent_url.rstrip('/')}/metrics"
    response = get(url, component="agent")
    try:
        return sum(
            sample.value
            for family in text_string_to_metric_families(response.text)
            if family.name == "agent_queue_size"
            for sample in family.samples
        )
    except ValueError as error:
        raise LabError(f"the agent at {url} returned text that is not in the Prometheus format: {error}") from None


def expected_alerts(scenario: str, target: Target) -> tuple[str, ...]:
    """Return the alerts `scenario` is meant to fire."""
    if scenario == "agent-down":
        # A stopped compose container leaves DNS service discovery, so no target reports
        # up == 0, and AgentAbsent fires in place of AgentDown.
        return ("AgentAbsent",) if target.mode == "compose" else ("AgentDown",)
    if scenario == "agent-restart":
        return ("AgentRestarted",)
    if scenario == "model-down":
        # The agent stays up, so AgentDown does not fire and does not inhibit TargetDown.
        # The burn-rate alerts may fire too, depending on the traffic in their windows,
        # and are not awaited.
        return ("TargetDown", "AgentHighErrorRate")
    alerts = tuple(_scenario_class(scenario).alerts)
    if target.mode == "compose":
        alerts += COMPOSE_ONLY_ALERTS.get(scenario, ())
    return alerts


def agent_threads(environ: dict[str, str] | None = None) -> int:
    """Return AGENT_THREADS (default 8), the requests one agent process serves at once.

    The native lab's agent inherits the environment of `lab up`, and compose passes the
    shell's AGENT_THREADS, so the drill's own environment usually has the same value.
    """
    environ = os.environ if environ is None else environ
    raw = environ.get("AGENT_THREADS") or "8"
    try:
        threads = int(raw)
    except ValueError:
        raise LabError(f"AGENT_THREADS={raw!r} is not a whole number") from None
    if threads < 1:
        raise LabError(f"AGENT_THREADS={threads} must be at least 1")
    return threads


def scenario_options(scenario: str, environ: dict[str, str] | None = None) -> dict:
    """Return the options the drill passes to a fault scenario."""
    options = dict(SCENARIO_OPTIONS.get(scenario, {}))
    if scenario == "latency-spike":
        # Each slow task occupies an agent thread for the whole latency. More requests in flight
        # than threads would queue slow tasks behind each other. One thread is left free for
        # Prometheus's scrapes of /metrics.
        options["concurrency"] = max(1, agent_threads(environ) - 1)
    return options


def _scenario_class(name: str):
    from loadgen.faults import SCENARIOS

    try:
        return SCENARIOS[name]
    except KeyError:
        raise LabError(f"unknown scenario {name!r}; choose one of {', '.join(SCENARIO_NAMES)} or all") from None


def model_down_traffic(agent_url: str, duration_s: float) -> Traffic:
    """Return light synchronous traffic to the agent, bounded by `duration_s` and a request count."""
    duration_s = math.ceil(duration_s)
    limits = Limits(
        rate_per_s=MODEL_DOWN_RATE_PER_S,
        duration_s=duration_s,
        max_requests=math.ceil(MODEL_DOWN_RATE_PER_S * duration_s),
        concurrency=MODEL_DOWN_CONCURRENCY,
        timeout_s=MODEL_DOWN_TIMEOUT_S,
    )
    return Traffic(
        agent_url.rstrip("/"),
        lambda rng: Request("POST", "/api/v1/process", json=workload.random_task(rng)),
        limits,
    )


def traffic_summary(traffic: Traffic) -> str:
    """Return "N requests in S s: status count, ..." for a finished traffic run."""
    counts = ", ".join(f"{status} x{count}" for status, count in sorted(traffic.status_counts.items()))
    return f"{traffic.requests_sent} requests in {traffic.elapsed_s:.0f} s: {counts or 'no responses'}"


def inhibited_by(alert: str, others: tuple[str, ...], rules: dict[str, Rule], alertmanager: dict) -> str | None:
    """Return the alert among `others` whose firing makes Alertmanager mute `alert`, if any.

    `rules` maps alert names to their rules (Prometheus and Loki). Only the rule's static
    labels are compared. Labels that come from the series (instance) count as equal,
    because one drill's alerts concern the same agent.
    """
    target_labels = _static_labels(alert, rules)
    for rule in alertmanager.get("inhibit_rules", []) or []:
        if not _labels_match(rule, "target", target_labels):
            continue
        for other in others:
            if other == alert:
                continue
            source_labels = _static_labels(other, rules)
            if not _labels_match(rule, "source", source_labels):
                continue
            equal = rule.get("equal", []) or []
            if all(source_labels.get(name) == target_labels.get(name) for name in equal):
                return other
    return None


def _static_labels(alert: str, rules: dict[str, Rule]) -> dict[str, str]:
    rule = rules.get(alert)
    return {"alertname": alert, **(rule.labels if rule else {})}


def _labels_match(inhibit_rule: dict, side: str, labels: dict[str, str]) -> bool:
    route_like = {
        "matchers": inhibit_rule.get(f"{side}_matchers", []),
        "match": inhibit_rule.get(f"{side}_match", {}),
        "match_re": inhibit_rule.get(f"{side}_match_re", {}),
    }
    return alert_timing.matchers_match(route_like, labels)


def load_timing_configs() -> tuple[PrometheusTiming, dict, LokiTiming]:
    """Read the shipped prometheus.yml and its rule files, alertmanager.yml, loki.yml and Loki's rules."""
    prometheus = alert_timing.load_prometheus(REPO_ROOT / "prometheus" / "prometheus.yml")
    alertmanager = alert_timing.load_alertmanager(REPO_ROOT / "alertmanager" / "alertmanager.yml")
    loki = alert_timing.load_loki(REPO_ROOT / "loki" / "loki.yml", REPO_ROOT / "loki" / "rules")
    return prometheus, alertmanager, loki


def active_in_alertmanager(alertmanager_url: str) -> dict[str, str]:
    """Return {alertname: state} of the alerts in Alertmanager, where Loki's ruler sends its alerts."""
    url = f"{alertmanager_url.rstrip('/')}/api/v2/alerts"
    body = get_json(url, component="alertmanager")
    try:
        return {alert["labels"]["alertname"]: alert["status"]["state"] for alert in body}
    except (KeyError, TypeError) as error:
        raise unexpected_body("alertmanager", url, error) from None


class Drill:
    """One run of one scenario against a running lab."""

    def __init__(self, scenario: str, target: Target, *, progress: Progress) -> None:
        if scenario not in SCENARIO_NAMES:
            raise LabError(f"unknown scenario {scenario!r}; choose one of {', '.join(SCENARIO_NAMES)} or all")
        self.scenario = scenario
        self.target = target
        self.progress = progress
        self.receiver = ReceiverClient(target.urls["receiver"])
        self.prometheus, self.alertmanager, self.loki = load_timing_configs()
        self.rules: dict[str, Rule] = {**self.loki.alerts, **self.prometheus.alerts}
        self.traffic: Traffic | None = None

    def timings(self, alerts: tuple[str, ...], injected_latency_s: float = 0.0) -> dict[str, AlertTiming]:
        timings = {}
        for alert in alerts:
            if alert in self.prometheus.alerts:
                timings[alert] = alert_timing.compute_timing(
                    alert,
                    self.prometheus,
                    self.alertmanager,
                    fire_cap_s=FIRE_TARGETS_S.get((self.scenario, alert)),
                    injected_latency_s=injected_latency_s,
                )
            else:
                timings[alert] = alert_timing.compute_loki_timing(alert, self.loki, self.alertmanager)
        return timings

    def run(self) -> list[AlertResult]:
        """Run the drill and return one result per expected alert."""
        expected = expected_alerts(self.scenario, self.target)
        undefined = [alert for alert in expected if alert not in self.rules]
        if undefined:
            raise LabError(f"scenario {self.scenario} expects {', '.join(undefined)}, which no Prometheus or Loki rule defines")
        muted = {alert: inhibited_by(alert, expected, self.rules, self.alertmanager) for alert in expected}
        fault = self._build_fault()
        try:
            timings = self.timings(expected, fault.injected_latency_s if fault is not None else 0.0)
            unmuted = tuple(alert for alert in expected if muted[alert] is None)
            # Checked first, so a burn alert still firing from an earlier drill is reported
            # as active and not as one that cannot fire.
            self._check_not_active(unmuted)
            hopeless = self._forecast(unmuted, timings, fault)
        except BaseException:
            if fault is not None:
                fault.stop()
            raise
        awaited = tuple(alert for alert in unmuted if alert not in hopeless)

        fault_start = time.time()
        self._start_fault(fault, max((timings[alert].fire_limit_s for alert in awaited), default=0.0) + GRACE_S)
        try:
            fired = self._wait_for(awaited, "firing", fault_start, {a: timings[a].fire_limit_s for a in awaited})
        finally:
            fault_stop = self._stop_fault(fault)
        if self.scenario in DRAINING_SCENARIOS:
            fault_stop = self._wait_queue_drained()
        resolve_deadlines = {alert: timings[alert].resolve_limit_s for alert in awaited if fired[alert] is not None}
        resolved = self._wait_for(tuple(resolve_deadlines), "resolved", fault_stop, resolve_deadlines, since=fault_start)

        results = []
        for alert in expected:
            timing = timings[alert]
            if alert in awaited:
                results.append(self._result(alert, timing, fault_start, fault_stop, fired[alert], resolved.get(alert)))
                continue
            if muted[alert] is not None:
                note = f"not awaited: Alertmanager inhibits it while {muted[alert]} fires"
            else:
                note = f"not awaited: {hopeless[alert]}"
            results.append(
                AlertResult(
                    self.scenario, alert, None, None, timing.earliest_possible_s, timing.fire_limit_s,
                    None, timing.resolve_limit_s, ok=True, note=note,
                )
            )
        return results

    def _forecast(self, alerts: tuple[str, ...], timings: dict[str, AlertTiming], fault) -> dict[str, str]:
        """Return {alert: reason} for the burn-rate alerts whose windows the fault cannot lift past the threshold."""
        if fault is None:
            return {}
        hopeless = {}
        for alert in alerts:
            rule = self.prometheus.alerts.get(alert)
            if rule is None:
                continue
            forecasts = burn_forecast.forecast_alert(
                rule, self.prometheus, self.target.urls["prometheus"], fault, timings[alert].must_hold_by_s
            )
            blocking = [forecast for forecast in forecasts if not forecast.crosses]
            if not blocking:
                continue
            word = burn_forecast.bad_word(rule)
            hopeless[alert] = (
                f"to arrive within {timings[alert].fire_limit_s:.0f} s its condition must hold by "
                f"{timings[alert].must_hold_by_s:.0f} s, and by then "
                + "; ".join(forecast.describe(word) for forecast in blocking)
            )
            self.progress(f"{self.scenario}: {alert} cannot fire in this drill: {hopeless[alert]}")
        return hopeless

    def _result(self, alert, timing, fault_start, fault_stop, fired_at, resolved_at) -> AlertResult:
        fired_after_s = None if fired_at is None else round(fired_at - fault_start, 1)
        resolved_after_s = None if resolved_at is None else round(resolved_at - fault_start, 1)
        after_stop_s = None if resolved_at is None else round(resolved_at - fault_stop, 1)
        problems = []
        if fired_after_s is None:
            problems.append("no firing notification arrived")
        elif fired_after_s > timing.fire_limit_s:
            problems.append(f"fired {fired_after_s - timing.fire_limit_s:.1f} s after its limit")
        if fired_after_s is not None and after_stop_s is None:
            problems.append("no resolved notification arrived")
        elif after_stop_s is not None and after_stop_s > timing.resolve_limit_s:
            problems.append(f"resolved {after_stop_s - timing.resolve_limit_s:.1f} s after its limit")
        facts = []
        if timing.sample_delay_s:
            facts.append(f"earliest includes the fault's {timing.sample_delay_s:g} s latency, which delays the first slow sample")
        return AlertResult(
            self.scenario, alert, fired_after_s, resolved_after_s, timing.earliest_possible_s, timing.fire_limit_s,
            after_stop_s, timing.resolve_limit_s, ok=not problems, note="; ".join(problems + facts),
        )

    def _labels(self, alert: str) -> dict[str, str]:
        return ALERT_LABELS.get((self.scenario, alert), {})

    def _check_not_active(self, alerts: tuple[str, ...]) -> None:
        active = active_alerts(self.target.urls["prometheus"], {alert: self._labels(alert) for alert in alerts})
        if any(alert in self.loki.alerts for alert in alerts):
            active.update(active_in_alertmanager(self.target.urls["alertmanager"]))
        busy = [f"{alert} ({active[alert]})" for alert in alerts if alert in active]
        if busy:
            raise LabError(
                f"{', '.join(busy)} already active, so the drill could not time it; "
                "wait until it resolves (see `python -m lab status`) and run the drill again"
            )

    # -- faults ----------------------------------------------------------------------

    def _build_fault(self):
        """Return the scenario object of a loadgen scenario, not yet started; None for process scenarios."""
        if self.scenario in PROCESS_SCENARIOS:
            return None
        scenario_class = _scenario_class(self.scenario)
        return scenario_class(self.target.urls["agent"], **scenario_options(self.scenario))

    def _start_fault(self, fault, duration_s: float) -> None:
        if self.scenario == "agent-down":
            self.progress("stopping the agent")
            self.target.stop("agent")
            return
        if self.scenario == "model-down":
            self.progress("stopping the model service")
            self.target.stop("model")
            self.traffic = model_down_traffic(self.target.urls["agent"], duration_s)
            self.progress(
                f"sending {MODEL_DOWN_RATE_PER_S:g} synchronous tasks a second to the agent "
                f"for at most {self.traffic.limits.duration_s:.0f} s"
            )
            self.traffic.start()
            return
        if self.scenario == "agent-restart":
            self.progress("restarting the agent")
            self.target.restart_agent()
            return
        duration_s = math.ceil(duration_s)
        max_requests = max(fault.default_max_requests, math.ceil(fault.limits.rate_per_s * duration_s))
        fault.set_limits(duration_s=duration_s, max_requests=max_requests)
        self.progress(f"starting {self.scenario}: {fault.description}")
        from loadgen.faults.client import AgentUnreachable, FaultApiError

        try:
            fault.start()
        except AgentUnreachable as error:
            raise LabError(f"{error}; {START_HINT}") from None
        except FaultApiError as error:
            raise LabError(f"could not set the {self.scenario} fault: {error}") from None

    def _stop_fault(self, fault) -> float:
        if self.scenario == "agent-down":
            self.progress("starting the agent again")
            self.target.start("agent")
        elif self.scenario == "model-down":
            if self.traffic is not None:
                self.traffic.stop()
                self.progress(f"model-down traffic: {traffic_summary(self.traffic)}")
            self.progress("starting the model service again")
            self.target.start("model")
        elif fault is not None:
            fault.stop()
            self.progress(fault.summary())
        return time.time()

    # -- waiting ---------------------------------------------------------------------

    def _wait_queue_drained(self) -> float:
        """Wait until the agent's queue is empty and return that time (unix seconds)."""
        began = time.time()
        while True:
            depth = queue_depth(self.target.urls["agent"])
            if depth == 0:
                self.progress(f"{self.scenario}: queue drained after {time.time() - began:.0f} s")
                return time.time()
            if time.time() - began > DRAIN_TIMEOUT_S:
                raise LabError(f"timed out after {DRAIN_TIMEOUT_S:.0f} s waiting for the agent's queue to drain ({depth:.0f} tasks left)")
            self.progress(f"{self.scenario}: waiting for the agent's queue to drain ({depth:.0f} tasks): {time.time() - began:.0f} s")
            time.sleep(POLL_INTERVAL_S)

    def _wait_for(
        self,
        alerts: tuple[str, ...],
        status: str,
        start: float,
        limits_s: dict[str, float],
        *,
        since: float | None = None,
    ) -> dict[str, float | None]:
        """Poll the receiver until each alert has a `status` notification or its limit plus GRACE_S passes."""
        arrivals: dict[str, float | None] = {alert: None for alert in alerts}
        since = start if since is None else since
        while True:
            pending = [alert for alert in alerts if arrivals[alert] is None]
            elapsed_s = time.time() - start
            for alert in pending:
                arrivals[alert] = self.receiver.first_arrival(alert, status, since, self._labels(alert))
            pending = [alert for alert in pending if arrivals[alert] is None]
            if not pending:
                return arrivals
            waiting_s = max(limits_s[alert] for alert in pending) + GRACE_S
            if elapsed_s > waiting_s:
                return arrivals
            names = ", ".join(f"{alert} (limit {limits_s[alert]:.0f} s)" for alert in pending)
            self.progress(f"{self.scenario}: waiting for {status} {names}: {elapsed_s:.0f} s")
            time.sleep(POLL_INTERVAL_S)


def format_results(results: list[AlertResult]) -> str:
    """Return a text table of drill results."""
    header = ("scenario", "alert", "fired", "earliest", "limit", "resolved", "after stop", "limit", "result")
    rows = [header]
    for result in results:
        rows.append(
            (
                result.scenario,
                result.alert,
                _seconds(result.fired_after_s),
                _seconds(result.earliest_possible_s),
                _seconds(result.fire_limit_s),
                _seconds(result.resolved_after_s),
                _seconds(result.resolved_after_stop_s),
                _seconds(result.resolve_limit_s),
                _verdict(result),
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(header) - 1)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1] for row in rows]
    legend = (
        "fired/resolved: seconds from the fault's start to the first notification at the receiver; "
        "after stop: seconds from the fault's end (queue-flood: from the queue drained) to the resolve.\n"
        "earliest: range window to fill + `for` + group_wait, plus the injected latency for alerts on a "
        "duration histogram; limit: earliest + one scrape and two evaluation intervals + 5 s "
        "(90 s at most for the error burst's AgentHighErrorRate);\n"
        "resolve limit: longest range window + one scrape and three evaluation intervals + group_interval + 5 s."
    )
    return "\n".join(lines) + "\n" + legend


def _verdict(result: AlertResult) -> str:
    """Format the result column: ok or FAILED, followed by the note when there is one."""
    verdict = "ok" if result.ok else "FAILED"
    if result.note:
        verdict += f": {result.note}"
    return verdict


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"
