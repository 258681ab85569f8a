"""Fault scenarios: set a fault through the agent's /admin/faults, send traffic, clear the fault.

Command line (each scenario has --help):

    python -m loadgen.faults error-burst --host http://127.0.0.1:8080 --duration-s 60 --max-requests 2000
    python -m loadgen.faults latency-spike | slow-model | queue-flood [options]

Python API, used by `lab drill` to run the traffic while it waits for alerts:

    from loadgen.faults import SCENARIOS

    scenario = SCENARIOS["error-burst"](host="http://127.0.0.1:8080", duration_s=300, max_requests=5000)
    scenario.start()          # health check, set the faults, start traffic in daemon threads
    ...                       # wait for alerts while the traffic runs
    scenario.clear_faults()   # optional: clear the faults, traffic goes on healthy
    scenario.stop()           # clear the faults (if still set), stop the traffic
    print(scenario.summary()) # the same one-line summary as the command line

    with SCENARIOS["slow-model"](host=...) as scenario:   # start() on entry, stop() on exit
        scenario.wait(timeout_s=120)                      # True once a time/request bound is hit

SCENARIOS maps each name to a Scenario subclass. Every class takes `host`, which defaults to
the LOADGEN_HOST environment variable or else http://127.0.0.1:8080. It also takes the keyword
arguments `duration_s`, `max_requests`, `rate_per_s`, `concurrency`, `timeout_s` and `seed`.
Class attributes: `name`, `description`, `alerts` (the alerts it fires with its defaults) and
`may_fire` (alerts that depend on the lab's earlier traffic). The planned effect of the fault:
`injected_latency_s`, `error_fraction` and `slow_fraction(threshold_s)`; `set_limits()`
changes the time and request bounds before `start()`.
Scenario options: ErrorBurst(mode="payload"|"fault"|"both", error_rate, payload_ratio);
LatencySpike, SlowModel and QueueFlood(latency_ms). `start()` raises AgentUnreachable when
GET /healthz fails and FaultApiError when the agent rejects a fault, after clearing any fault
it had already set; invalid arguments raise ValueError in the constructor. `result()` returns
the numbers behind the summary as a dict. Faults are set with an expiry of the duration plus
60 s, so even a killed process leaves the agent healthy again soon after.
"""

from loadgen.faults.client import AgentUnreachable, Fault, FaultApiError
from loadgen.faults.scenarios import SCENARIOS, ErrorBurst, LatencySpike, QueueFlood, Scenario, SlowModel

__all__ = [
    "SCENARIOS",
    "AgentUnreachable",
    "ErrorBurst",
    "Fault",
    "FaultApiError",
    "LatencySpike",
    "QueueFlood",
    "Scenario",
    "SlowModel",
]
