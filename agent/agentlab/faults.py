"""Runtime fault injection with expiry, shared by the agent and the model service.

A fault is ``{"target": "agent"|"model", "error_rate": 0..1, "latency_ms": 0..60000,
"duration_s": above 0, at most 3600}``; it adds `latency_ms` to each task (agent) or inference (model)
and fails a fraction `error_rate` of them until `duration_s` has passed. Several active
faults combine: latencies add up and error rates combine as independent failures.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from agentlab.web import ApiError, json_type

TARGETS = ("agent", "model")
MAX_LATENCY_MS = 60_000
MAX_DURATION_S = 3600
DEFAULT_DURATION_S = 60.0
MAX_HEADER_DELAY_MS = 60_000
# Valid bodies shown in the JSON parse errors of POST and DELETE /admin/faults.
FAULT_EXAMPLES = {target: f'{{"target": "{target}", "error_rate": 0.5, "duration_s": 60}}' for target in TARGETS}
CLEAR_EXAMPLE = '{"target": "model"}, or no body to clear every target'


@dataclass(frozen=True)
class Fault:
    """One injected fault and the monotonic time it expires at."""

    id: str
    target: str
    error_rate: float
    latency_ms: float
    duration_s: float
    created_at: float
    expires_at_monotonic: float

    def to_dict(self, now_monotonic: float) -> dict[str, Any]:
        """Describe the fault for the API, with the seconds it has left."""
        remaining_s = max(0.0, self.expires_at_monotonic - now_monotonic)
        return {
            "id": self.id,
            "target": self.target,
            "error_rate": self.error_rate,
            "latency_ms": self.latency_ms,
            "duration_s": self.duration_s,
            "created_at": self.created_at,
            "expires_at": self.created_at + self.duration_s,
            "remaining_s": round(remaining_s, 3),
        }


@dataclass(frozen=True)
class FaultEffect:
    """Combined effect of the active faults on the next task or inference."""

    error_rate: float = 0.0
    latency_ms: float = 0.0

    def should_fail(self, rng: random.Random) -> bool:
        """Draw whether this task fails."""
        return self.error_rate > 0 and rng.random() < self.error_rate


class FaultStore:
    """Thread-safe list of faults for one service; expired faults drop out on read."""

    def __init__(self, clock=time.monotonic, wall_clock=time.time) -> None:
        self._clock = clock
        self._wall_clock = wall_clock
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, target: str, error_rate: float, latency_ms: float, duration_s: float) -> Fault:
        """Activate a fault for `duration_s` seconds from now."""
        fault = Fault(uuid.uuid4().hex, target, error_rate, latency_ms, duration_s,
                      self._wall_clock(), self._clock() + duration_s)
        with self._lock:
            self._faults.append(fault)
        return fault

    def active(self) -> list[Fault]:
        """Return the faults that have not expired."""
        now = self._clock()
        with self._lock:
            self._faults = [f for f in self._faults if f.expires_at_monotonic > now]
            return list(self._faults)

    def describe(self) -> list[dict[str, Any]]:
        """Return the active faults as API dicts."""
        now = self._clock()
        return [fault.to_dict(now) for fault in self.active()]

    def clear(self, target: str | None = None) -> int:
        """Remove the faults of `target` (every fault if None) and return how many were active."""
        now = self._clock()
        with self._lock:
            removed = [f for f in self._faults if target is None or f.target == target]
            self._faults = [f for f in self._faults if target is not None and f.target != target]
        return sum(1 for f in removed if f.expires_at_monotonic > now)

    def effect(self) -> FaultEffect:
        """Combine the active faults into one effect."""
        survive = 1.0
        latency_ms = 0.0
        for fault in self.active():
            survive *= 1.0 - fault.error_rate
            latency_ms += fault.latency_ms
        return FaultEffect(error_rate=1.0 - survive, latency_ms=latency_ms)


def _number(body: dict[str, Any], field: str, default: float, minimum: float, maximum: float,
            example: str, above_minimum: bool = False) -> float:
    """Return body[field] (or `default`) as a float, raising ApiError (400) naming the range.

    With `above_minimum`, the range excludes `minimum` itself.
    """
    value = body.get(field, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ApiError(400, "invalid_field", f"field '{field}' must be a number, got {json_type(value)}; "
                       f"send e.g. \"{field}\": {example}", field=field)
    if above_minimum:
        in_range = minimum < value <= maximum
        accepted = f"above {minimum:g} and at most {maximum:g}"
    else:
        in_range = minimum <= value <= maximum
        accepted = f"from {minimum:g} to {maximum:g}"
    if not in_range:
        raise ApiError(400, "invalid_field", f"field '{field}' is {value}, out of range; use a number "
                       f"{accepted}", field=field)
    return float(value)


def _check_target(target: Any, service_target: str | None) -> None:
    """Raise ApiError (400) unless `target` is one of TARGETS that this service accepts."""
    if target not in TARGETS:
        if isinstance(target, str):
            shown = repr(target)
        else:
            shown = "null" if target is None else f"a JSON {json_type(target)}"
        raise ApiError(400, "invalid_field", f"field 'target' is {shown}; set it to one of "
                       f"{', '.join(TARGETS)}", field="target", valid=list(TARGETS))
    if service_target is not None and target != service_target:
        raise ApiError(400, "invalid_field", f"field 'target' is {target!r} but this is the "
                       f"{service_target} service; send {target} faults to the {target}'s "
                       "/admin/faults (the agent forwards model faults itself)", field="target")


def parse_fault(body: dict[str, Any], service_target: str | None = None) -> dict[str, Any]:
    """Validate a fault body and return its normalized fields, raising ApiError (400).

    `service_target` restricts the target to that one service (the model service).
    """
    if "target" not in body:
        raise ApiError(400, "missing_field", f"field 'target' is missing; set it to one of "
                       f"{', '.join(TARGETS)}", field="target", valid=list(TARGETS))
    target = body["target"]
    _check_target(target, service_target)
    error_rate = _number(body, "error_rate", 0.0, 0.0, 1.0, "0.5")
    latency_ms = _number(body, "latency_ms", 0.0, 0.0, MAX_LATENCY_MS, "500")
    duration_s = _number(body, "duration_s", DEFAULT_DURATION_S, 0.0, MAX_DURATION_S, "60",
                         above_minimum=True)
    if error_rate == 0 and latency_ms == 0:
        raise ApiError(400, "invalid_field", "the fault does nothing; set 'error_rate' above 0, "
                       "'latency_ms' above 0, or both", field="error_rate")
    return {"target": target, "error_rate": error_rate, "latency_ms": latency_ms, "duration_s": duration_s}


def parse_clear_target(query_target: str | None, body: dict[str, Any] | None,
                       service_target: str | None = None) -> str | None:
    """Return the target a DELETE /admin/faults clears, or None for every target.

    The target comes from ``?target=`` or from a JSON body ``{"target": ...}``; both may be
    given if they agree. Raises ApiError (400) for any other value.
    """
    targets = []
    if query_target is not None:
        targets.append(query_target)
    if body is not None and "target" in body:
        targets.append(body["target"])
    for target in targets:
        _check_target(target, service_target)
    if len(set(targets)) > 1:
        raise ApiError(400, "invalid_field", f"?target={targets[0]} and the body's target "
                       f"{targets[1]!r} disagree; give the target once", field="target")
    return targets[0] if targets else None


def parse_header_faults(headers) -> tuple[bool, float]:
    """Read X-Fault-Error and X-Fault-Delay-Ms, raising ApiError (400) for bad values."""
    raw_error = headers.get("X-Fault-Error")
    fail = False
    if raw_error is not None:
        lowered = raw_error.strip().lower()
        if lowered not in ("true", "false", "1", "0"):
            raise ApiError(400, "invalid_header", f"header X-Fault-Error is {raw_error!r}; set it to "
                           "true or false", field="X-Fault-Error")
        fail = lowered in ("true", "1")
    raw_delay = headers.get("X-Fault-Delay-Ms")
    delay_ms = 0.0
    if raw_delay is not None:
        try:
            delay_ms = float(raw_delay)
        except ValueError:
            delay_ms = -1.0
        if not 0 <= delay_ms <= MAX_HEADER_DELAY_MS:
            raise ApiError(400, "invalid_header", f"header X-Fault-Delay-Ms is {raw_delay!r}; set it "
                           f"to milliseconds from 0 to {MAX_HEADER_DELAY_MS}", field="X-Fault-Delay-Ms")
    return fail, delay_ms
