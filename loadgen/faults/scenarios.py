"""The fault scenarios: which faults each one sets, and the traffic it sends meanwhile."""

from __future__ import annotations

import dataclasses
import logging
import random
from typing import ClassVar

from loadgen import workload
from loadgen.faults.client import AgentClient, Fault, FaultApiError, default_host
from loadgen.faults.traffic import Limits, Request, Traffic

logger = logging.getLogger(__name__)

# Upper bounds on every scenario, so a typo cannot turn a drill into an hour-long flood.
MAX_DURATION_S = 3600.0
MAX_REQUESTS = 100_000
MAX_RATE_PER_S = 200.0
MAX_CONCURRENCY = 64

# Faults are set with an expiry this long after the traffic's duration, so a scenario killed
# with SIGKILL (no chance to clear) still leaves a healthy agent behind soon after.
FAULT_EXPIRY_MARGIN_S = 60.0

# The agent gives up on the model after MODEL_TIMEOUT_S (30 s); a client timeout above that
# records slow responses as slow and not as timeouts.
DEFAULT_TIMEOUT_S = 35.0


class Scenario:
    """A fault set through the agent's fault API plus traffic that makes its effect visible.

    Subclasses set the class attributes and implement `faults` and `build_request`.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    # Alerts the scenario fires with its defaults on the lab's rules; `lab drill` waits for
    # each of them. A burn-rate alert among them fires only when the traffic its windows
    # already hold lets the scenario's bad requests cross the threshold; the drill checks
    # that first. `may_fire` lists alerts that depend on the traffic the lab saw earlier.
    alerts: ClassVar[tuple[str, ...]]
    may_fire: ClassVar[tuple[str, ...]] = ()
    default_rate_per_s: ClassVar[float]
    default_duration_s: ClassVar[float]
    default_max_requests: ClassVar[int]
    default_concurrency: ClassVar[int] = 8

    def __init__(
        self,
        host: str | None = None,
        *,
        duration_s: float | None = None,
        max_requests: int | None = None,
        rate_per_s: float | None = None,
        concurrency: int | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        seed: int | None = None,
    ) -> None:
        self.limits = Limits(
            rate_per_s=self.default_rate_per_s if rate_per_s is None else rate_per_s,
            duration_s=self.default_duration_s if duration_s is None else duration_s,
            max_requests=self.default_max_requests if max_requests is None else max_requests,
            concurrency=self.default_concurrency if concurrency is None else concurrency,
            timeout_s=timeout_s,
        )
        check_at_most("duration_s", self.limits.duration_s, MAX_DURATION_S)
        check_at_most("max_requests", self.limits.max_requests, MAX_REQUESTS)
        check_at_most("rate_per_s", self.limits.rate_per_s, MAX_RATE_PER_S)
        check_at_most("concurrency", self.limits.concurrency, MAX_CONCURRENCY)

        self.client = AgentClient(host or default_host())
        self.traffic = Traffic(self.client.host, self._next_request, self.limits, seed=seed)
        self.fault_active = False
        self.faults_set: list[Fault] = []
        self.targets_cleared: list[str] = []
        self.clear_errors: list[str] = []
        self.started = False

    def faults(self) -> list[Fault]:
        """Return the faults to set through POST /admin/faults when the scenario starts."""
        raise NotImplementedError

    def build_request(self, rng: random.Random) -> Request:
        """Return the next request of the traffic; `self.fault_active` is True while the fault is on."""
        raise NotImplementedError

    def notes(self) -> list[str]:
        """Return extra facts for the summary line."""
        return []

    # The planned effect of the fault, for `lab drill` to forecast its alerts. Subclasses
    # override what their fault changes.

    @property
    def injected_latency_s(self) -> float:
        """Latency the fault adds to each task (agent fault) or inference (model fault)."""
        return 0.0

    @property
    def error_fraction(self) -> float:
        """Expected share of the traffic's requests that get a 5xx response from the agent."""
        return 0.0

    def slow_fraction(self, threshold_s: float) -> float:
        """Return the share of the traffic's responses that the fault makes slower than `threshold_s`.

        A lower bound: it counts only the injected latency, not the agent's own work.
        """
        return 0.0

    def set_limits(self, *, duration_s: float | None = None, max_requests: int | None = None) -> None:
        """Change the traffic's time or request bound; only before `start`.

        `lab drill` reads the fault's latency from the scenario before it can compute how long to
        wait for the alerts, so it sets the duration afterwards.
        """
        if self.started:
            raise RuntimeError(f"scenario {self.name} already started; its limits are fixed")
        changes = {}
        if duration_s is not None:
            check_at_most("duration_s", duration_s, MAX_DURATION_S)
            changes["duration_s"] = duration_s
        if max_requests is not None:
            check_at_most("max_requests", max_requests, MAX_REQUESTS)
            changes["max_requests"] = max_requests
        self.limits = dataclasses.replace(self.limits, **changes)
        self.traffic.limits = self.limits

    @property
    def fault_expiry_s(self) -> float:
        return self.limits.duration_s + FAULT_EXPIRY_MARGIN_S

    def start(self) -> Scenario:
        """Check the agent is up, set the faults, start the traffic in the background.

        Raises AgentUnreachable or FaultApiError; faults already set are cleared first.
        """
        if self.started:
            raise RuntimeError(f"scenario {self.name} was already started")
        self.started = True
        self.client.check_reachable()
        try:
            for fault in self.faults():
                self.client.set_fault(fault)
                self.faults_set.append(fault)
        except BaseException:
            self.clear_faults()
            raise
        self.fault_active = True
        self.traffic.start()
        logger.info("scenario %s started against %s", self.name, self.client.host)
        return self

    def wait(self, timeout_s: float | None = None) -> bool:
        """Wait until the traffic reaches its time or request bound; False if `timeout_s` ran out."""
        return self.traffic.wait(timeout_s)

    @property
    def running(self) -> bool:
        return self.traffic.running

    def clear_faults(self) -> None:
        """Clear the faults this scenario set; the traffic, if running, goes on without them.

        DELETE /admin/faults clears every fault on the agent and the model service, including
        faults that someone else set. A failed clear is logged and kept in `clear_errors`.
        """
        self.fault_active = False
        pending = {fault.target for fault in self.faults_set} - set(self.targets_cleared)
        if not pending:
            return
        try:
            body = self.client.clear_faults()
        except FaultApiError as error:
            logger.error("could not clear the faults of scenario %s: %s", self.name, error)
            self.clear_errors.append(str(error))
            return
        model_error = body.get("model_error")
        if "model" in pending and model_error:
            message = f"model faults not cleared on {self.client.host}: {model_error}"
            logger.error("scenario %s: %s", self.name, message)
            self.clear_errors.append(message)
            pending.discard("model")
        self.targets_cleared.extend(sorted(pending))

    @property
    def faults_cleared(self) -> bool:
        """True when every target that got a fault has been cleared again."""
        return {fault.target for fault in self.faults_set} <= set(self.targets_cleared)

    def stop(self) -> None:
        """Clear the faults, then stop the traffic. Safe to call more than once."""
        self.clear_faults()
        self.traffic.stop()
        self.client.close()
        logger.info("scenario %s stopped", self.name)

    def __enter__(self) -> Scenario:
        return self.start()

    def __exit__(self, *_exc_info) -> None:
        self.stop()

    def result(self) -> dict:
        """Return the run's numbers as a dict (the data behind `summary`)."""
        return {
            "scenario": self.name,
            "host": self.client.host,
            "requests_sent": self.traffic.requests_sent,
            "status_counts": dict(sorted(self.traffic.status_counts.items())),
            "in_flight": self.traffic.in_flight,
            "elapsed_s": round(self.traffic.elapsed_s, 1),
            "faults_set": [fault.describe() for fault in self.faults_set],
            "faults_cleared": list(self.targets_cleared),
            "clear_errors": list(self.clear_errors),
        }

    def summary(self) -> str:
        """Return one line: requests sent, status counts, faults set and cleared."""
        result = self.result()
        statuses = [f"{status}: {count}" for status, count in result["status_counts"].items()]
        if result["in_flight"]:
            statuses.append(f"in flight: {result['in_flight']}")
        parts = [
            f"{self.name}: {result['requests_sent']} requests in {result['elapsed_s']:.1f} s to {self.client.host}"
            f" ({', '.join(statuses) or 'no responses'})",
            f"faults set: {', '.join(result['faults_set']) or 'none'}",
            f"faults cleared: {', '.join(result['faults_cleared']) or 'none'}",
        ]
        if result["clear_errors"]:
            parts.append(f"clear FAILED: {'; '.join(result['clear_errors'])}")
        parts.extend(self.notes())
        return "; ".join(parts)

    def _next_request(self, rng: random.Random) -> Request:
        return self.build_request(rng)


def check_at_most(name: str, value: float, maximum: float) -> None:
    if value > maximum:
        raise ValueError(f"{name} must be at most {maximum:g}, got {value!r}")


def check_fraction(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1, got {value!r}")


def check_latency_ms(name: str, value: int) -> None:
    # The agent gives up on the model after MODEL_TIMEOUT_S (30 s by default), so a longer
    # delay would only turn into timeouts.
    if not 0 < value <= 30_000:
        raise ValueError(f"{name} must be between 1 and 30000 ms, got {value!r}")


def process_request(body: dict) -> Request:
    return Request("POST", "/api/v1/process", json=body)


class ErrorBurst(Scenario):
    """Failed tasks: `trigger_error` payloads, an agent error-rate fault, or both."""

    name = "error-burst"
    description = "failed tasks from trigger_error payloads and/or an agent error_rate fault"
    alerts = ("AgentHighErrorRate", "AgentErrorBudgetBurnFast")
    # The slow burn needs over 0.6 % errors across 30 min and 6 h windows, which a short
    # burst reaches only on a lab that has seen little traffic before it.
    may_fire = ("AgentErrorBudgetBurnSlow",)
    default_rate_per_s = 10.0
    default_duration_s = 180.0
    default_max_requests = 2000
    modes = ("payload", "fault", "both")
    default_mode = "both"
    default_error_rate = 0.5
    default_payload_ratio = 0.5

    def __init__(
        self,
        host: str | None = None,
        *,
        mode: str = default_mode,
        error_rate: float = default_error_rate,
        payload_ratio: float = default_payload_ratio,
        **limits,
    ) -> None:
        if mode not in self.modes:
            raise ValueError(f"mode must be one of {', '.join(self.modes)}, got {mode!r}")
        check_fraction("error_rate", error_rate)
        check_fraction("payload_ratio", payload_ratio)
        super().__init__(host, **limits)
        self.mode = mode
        self.error_rate = error_rate
        self.payload_ratio = payload_ratio
        self.error_payloads_sent = 0

    def faults(self) -> list[Fault]:
        if self.mode == "payload":
            return []
        return [Fault("agent", error_rate=self.error_rate, duration_s=self.fault_expiry_s)]

    def build_request(self, rng: random.Random) -> Request:
        send_error = self.fault_active and self.mode != "fault" and rng.random() < self.payload_ratio
        if send_error:
            self.error_payloads_sent += 1
            return process_request(workload.error_task(rng))
        return process_request(workload.random_task(rng))

    def notes(self) -> list[str]:
        return [f"trigger_error payloads: {self.error_payloads_sent}"]

    @property
    def error_fraction(self) -> float:
        # A trigger_error task fails before the agent applies its faults, so the fault's
        # error rate acts only on the other requests.
        payload_share = 0.0 if self.mode == "fault" else self.payload_ratio
        fault_rate = 0.0 if self.mode == "payload" else self.error_rate
        return payload_share + (1.0 - payload_share) * fault_rate


class LatencyFaultScenario(Scenario):
    """Synchronous tasks behind a latency fault on `fault_target` (the agent or the model)."""

    fault_target: ClassVar[str]
    default_latency_ms: ClassVar[int]

    def __init__(self, host: str | None = None, *, latency_ms: int | None = None, **limits) -> None:
        if latency_ms is None:
            latency_ms = self.default_latency_ms
        check_latency_ms("latency_ms", latency_ms)
        super().__init__(host, **limits)
        self.latency_ms = latency_ms

    def faults(self) -> list[Fault]:
        return [Fault(self.fault_target, latency_ms=self.latency_ms, duration_s=self.fault_expiry_s)]

    def build_request(self, rng: random.Random) -> Request:
        return process_request(workload.random_task(rng))

    @property
    def injected_latency_s(self) -> float:
        return self.latency_ms / 1000

    def slow_fraction(self, threshold_s: float) -> float:
        # Every request is a synchronous task that waits out the fault's latency once.
        return 1.0 if self.injected_latency_s > threshold_s else 0.0


class LatencySpike(LatencyFaultScenario):
    """Slow agent responses from an agent latency fault."""

    name = "latency-spike"
    description = "an agent latency fault, so task p95 rises above 5 s and requests miss the 1 s SLO"
    alerts = ("AgentHighLatency", "AgentLatencyBudgetBurnFast")
    may_fire = ("AgentLatencyBudgetBurnSlow",)
    fault_target = "agent"
    # Each task takes latency_ms longer, so the rate stays below AGENT_THREADS (8) / 6 s to keep
    # requests from waiting for a free agent thread on top of the fault.
    default_rate_per_s = 1.0
    default_duration_s = 180.0
    default_max_requests = 500
    default_latency_ms = 6000


class SlowModel(LatencyFaultScenario):
    """Slow inference from a model latency fault, seen through synchronous tasks."""

    name = "slow-model"
    description = "a model latency fault, so inference p99 rises above 2 s"
    alerts = ("ModelInferenceSlow",)
    # Tasks take the model's latency plus the agent's work, so above 5000 ms their p95 also
    # crosses AgentHighLatency's 5 s threshold.
    may_fire = ("AgentHighLatency",)
    fault_target = "model"
    default_rate_per_s = 2.0
    default_duration_s = 180.0
    default_max_requests = 1000
    default_latency_ms = 3000


class QueueFlood(Scenario):
    """Queued tasks arriving faster than the queue workers finish them behind a slow model."""

    name = "queue-flood"
    description = "enqueue faster than the workers drain behind a slow model, so the queue grows past 100"
    alerts = ("AgentQueueBackup", "AgentQueueGrowing")
    # A flood is a jump in the request rate, which the z-score alert may flag.
    may_fire = ("AgentRequestRateAnomaly",)
    default_rate_per_s = 2.0
    default_duration_s = 300.0
    default_max_requests = 1000
    default_concurrency = 4
    default_latency_ms = 3000

    def __init__(self, host: str | None = None, *, latency_ms: int = default_latency_ms, **limits) -> None:
        """`latency_ms` is the model's added delay, which slows the queue workers down."""
        check_latency_ms("latency_ms", latency_ms)
        super().__init__(host, **limits)
        self.latency_ms = latency_ms

    def faults(self) -> list[Fault]:
        return [Fault("model", latency_ms=self.latency_ms, duration_s=self.fault_expiry_s)]

    def build_request(self, rng: random.Random) -> Request:
        return Request("POST", "/api/v1/tasks", json=workload.random_task(rng))

    @property
    def injected_latency_s(self) -> float:
        return self.latency_ms / 1000

    # slow_fraction stays 0 because POST /api/v1/tasks returns 202 before a worker runs the task.


SCENARIOS: dict[str, type[Scenario]] = {
    scenario.name: scenario for scenario in (ErrorBurst, LatencySpike, SlowModel, QueueFlood)
}
