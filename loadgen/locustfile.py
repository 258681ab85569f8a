"""Locust traffic for the agent: steady users, burst users and, on request, fault injection.

Run headless from the repository root:

    locust -f loadgen/locustfile.py --headless -u 20 -r 5 -t 30s --csv loadgen/results/run

or with the web UI on http://127.0.0.1:8089 by leaving out `--headless`. The target is
`--host` when given, else the LOADGEN_HOST environment variable, else http://127.0.0.1:8080.

User classes:
- SteadyUser (weight 4): a think time of 1-3 s, 70 % synchronous tasks
  (POST /api/v1/process), 30 % queued tasks (POST /api/v1/tasks, then polling the task until it
  finishes).
- BurstUser (weight 1): idles 10-20 s, then sends 5-20 requests back to back, half of them
  queued tasks that it does not poll, as a batch job would.
- FaultInjectingUser: runs only when named on the command line, for example
  `locust -f loadgen/locustfile.py SteadyUser FaultInjectingUser`. It sends synchronous tasks
  with the per-request fault headers X-Fault-Error and X-Fault-Delay-Ms, which the agent honours
  while AGENT_ALLOW_HEADER_FAULTS=true.

Stats names (the "Name" column of the CSV files):
- /api/v1/process, /api/v1/tasks: the two ways to submit a task.
- /api/v1/tasks/[id]: every status poll, whatever the task id.
- /api/v1/tasks [429 queue full]: enqueue requests that the agent rejected with 429 because its
  queue was full. This is expected backpressure, so these count as successes in their own row.
- /api/v1/process [X-Fault-Error], /api/v1/process [X-Fault-Delay-Ms]: FaultInjectingUser's
  requests. An injected error is counted as a failure, so Locust's failure count matches what
  the agent reports as errors. A 200 to X-Fault-Error fails with its own message, because it
  means the agent ignored the header.
- TASK "queued task: enqueue to finish": time from enqueueing a task until a poll saw it finish.
  It is a failure when the task failed or did not finish within POLL_TIMEOUT_S.

Locust exits with status 1 when any request failed, so a FaultInjectingUser run exits 1 by
design.
"""

from __future__ import annotations

import logging
import os
import random
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from locust import FastHttpUser, between, events, task

try:
    from loadgen import workload
except ImportError:
    # `locust -f loadgen/locustfile.py` puts loadgen/ on sys.path, not the repository root.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from loadgen import workload

logger = logging.getLogger(__name__)

DEFAULT_HOST = "http://127.0.0.1:8080"

NAME_PROCESS = "/api/v1/process"
NAME_ENQUEUE = "/api/v1/tasks"
NAME_ENQUEUE_REJECTED = "/api/v1/tasks [429 queue full]"
NAME_STATUS = "/api/v1/tasks/[id]"
NAME_FAULT_ERROR = "/api/v1/process [X-Fault-Error]"
NAME_FAULT_DELAY = "/api/v1/process [X-Fault-Delay-Ms]"
TASK_REQUEST_TYPE = "TASK"
NAME_TASK_END_TO_END = "queued task: enqueue to finish"

# Task states after which the status no longer changes.
FINISHED_STATES = {"success": True, "failure": False}

POLL_TIMEOUT_S = 30.0
POLL_INTERVAL_S = (0.25, 2.0)  # first and maximum delay between polls; it doubles in between

FAULT_USER_CLASS = "FaultInjectingUser"


class AgentUser(FastHttpUser):
    """Shared request helpers for the agent's task API."""

    abstract = True
    host = os.environ.get("LOADGEN_HOST") or DEFAULT_HOST
    # The agent waits up to MODEL_TIMEOUT_S (30 s) for the model, so a slow model must show up
    # as slow responses here and not as client timeouts.
    network_timeout = 35.0
    connection_timeout = 5.0

    def on_start(self) -> None:
        self.rng = random.Random()

    def process_task(self) -> None:
        """Submit one task synchronously; any status other than 200 is a failure."""
        self.client.post("/api/v1/process", json=workload.random_task(self.rng), name=NAME_PROCESS)

    def enqueue_task(self) -> str | None:
        """Enqueue one task and return its status path, or None when it was not accepted."""
        with self.client.post(
            "/api/v1/tasks",
            json=workload.random_task(self.rng),
            name=NAME_ENQUEUE,
            catch_response=True,
        ) as response:
            if response.status_code == 429:
                # Backpressure from a full queue is the agent working as designed.
                response.request_meta["name"] = NAME_ENQUEUE_REJECTED
                response.success()
                return None
            if response.status_code != 202:
                response.failure(describe_unexpected(response, "expected 202 from POST /api/v1/tasks"))
                return None
            path = status_path(response.headers.get("Location"), json_field(response, "task_id"))
            if path is None:
                response.failure("202 from POST /api/v1/tasks had neither a Location header nor a task_id")
            return path

    def wait_for_task(self, path: str, enqueued_at: float) -> None:
        """Poll a queued task until it finishes and record the end-to-end time as a TASK row."""
        delay_s = POLL_INTERVAL_S[0]
        state = "unknown"
        error: Exception | None = None
        while True:
            self.wait_seconds(delay_s)
            with self.client.get(path, name=NAME_STATUS, catch_response=True) as response:
                if response.status_code != 200:
                    message = describe_unexpected(response, f"expected 200 from GET {path}")
                    response.failure(message)
                    error = RuntimeError(message)
                    break
                state = json_field(response, "status") or "missing"
            if state in FINISHED_STATES:
                if not FINISHED_STATES[state]:
                    error = RuntimeError("task finished with status failure")
                break
            if time.monotonic() - enqueued_at > POLL_TIMEOUT_S:
                error = TimeoutError(f"task still {state!r} after {POLL_TIMEOUT_S:.0f} s")
                break
            delay_s = min(delay_s * 2, POLL_INTERVAL_S[1])

        self.environment.events.request.fire(
            request_type=TASK_REQUEST_TYPE,
            name=NAME_TASK_END_TO_END,
            response_time=(time.monotonic() - enqueued_at) * 1000,
            response_length=0,
            exception=error,
            context={},
        )

    def wait_seconds(self, delay_s: float) -> None:
        # gevent patches time.sleep, so this yields to the other users while waiting.
        time.sleep(delay_s)


def describe_unexpected(response, expectation: str) -> str:
    """Describe a response that did not meet `expectation`, naming the connection error if any."""
    if response.status_code == 0:
        return f"{expectation}, but the request failed: {response.error!r}"
    return f"{expectation}, got {response.status_code}"


def json_field(response, key: str):
    """Return `key` from a JSON object body, or None when the body is not such an object."""
    try:
        body = response.json()
    except (TypeError, ValueError):
        return None
    return body.get(key) if isinstance(body, dict) else None


def status_path(location: str | None, task_id: str | None) -> str | None:
    """Return the path to poll for a task, from the Location header or else the task id.

    Only the path of Location is used, so polling always goes to the host under test.
    """
    if location:
        return urlsplit(location).path
    if task_id:
        return f"/api/v1/tasks/{task_id}"
    return None


class SteadyUser(AgentUser):
    """Interactive clients: think time between requests, queued tasks polled to completion."""

    weight = 4
    wait_time = between(1.0, 3.0)

    @task(7)
    def process(self) -> None:
        self.process_task()

    @task(3)
    def enqueue_and_poll(self) -> None:
        enqueued_at = time.monotonic()
        path = self.enqueue_task()
        if path:
            self.wait_for_task(path, enqueued_at)


class BurstUser(AgentUser):
    """Batch clients: idle, then a burst of back-to-back requests."""

    weight = 1
    burst_size = (5, 20)
    idle_s = (10.0, 20.0)
    gap_in_burst_s = (0.0, 0.05)

    def on_start(self) -> None:
        super().on_start()
        self.requests_left_in_burst = self.rng.randint(*self.burst_size)

    def wait_time(self) -> float:
        if self.requests_left_in_burst > 0:
            self.requests_left_in_burst -= 1
            return self.rng.uniform(*self.gap_in_burst_s)
        self.requests_left_in_burst = self.rng.randint(*self.burst_size)
        return self.rng.uniform(*self.idle_s)

    @task(1)
    def enqueue(self) -> None:
        self.enqueue_task()

    @task(1)
    def process(self) -> None:
        self.process_task()


class FaultInjectingUser(AgentUser):
    """Clients that ask the agent to fail or stall their own requests through fault headers."""

    weight = 1
    wait_time = between(0.2, 1.0)
    delay_ms = (500, 3000)

    @task(2)
    def process(self) -> None:
        self.process_task()

    @task(1)
    def injected_error(self) -> None:
        with self.client.post(
            "/api/v1/process",
            json=workload.random_task(self.rng),
            headers={"X-Fault-Error": "true"},
            name=NAME_FAULT_ERROR,
            catch_response=True,
        ) as response:
            if response.status_code == 200:
                response.failure("X-Fault-Error was ignored (is AGENT_ALLOW_HEADER_FAULTS=false?)")
            else:
                response.failure(describe_unexpected(response, "injected error"))

    @task(1)
    def injected_delay(self) -> None:
        delay_ms = self.rng.randint(*self.delay_ms)
        self.client.post(
            "/api/v1/process",
            json=workload.random_task(self.rng),
            headers={"X-Fault-Delay-Ms": str(delay_ms)},
            name=NAME_FAULT_DELAY,
        )


@events.init.add_listener
def drop_fault_user_unless_named(environment, **_kwargs) -> None:
    """Remove FaultInjectingUser from the run unless its name was given on the command line."""
    options = environment.parsed_options
    named = getattr(options, "user_classes", None) or []
    if FAULT_USER_CLASS in named:
        logger.info("%s selected: requests with fault headers are part of this run", FAULT_USER_CLASS)
        return
    environment.user_classes[:] = [
        user_class for user_class in environment.user_classes if user_class.__name__ != FAULT_USER_CLASS
    ]
