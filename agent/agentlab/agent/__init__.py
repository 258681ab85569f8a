"""The agent service: a simulated AI agent that calls the model service for inference.

Run it with ``python -m agentlab.agent`` (gunicorn with agent/gunicorn.conf.py); settings
are listed in ``agentlab.settings`` (AGENT_*, MODEL_URL, ...) and ``agentlab.telemetry``
(OTEL_*). The app factory runs in the serving process, so the tracer provider and the
queue worker threads start there, after gunicorn's fork.

Routes:

- ``POST /api/v1/process`` runs one task now: ``{"task": summarize|classify|translate|chat|test,
  "data": {"text"?: str, "max_tokens"?: int, "target_language"?: str}, "priority":
  high|normal|low}``. 200 with task_id, task_type, status, input_tokens, output_tokens,
  duration_s, trace_id and result. ``"trigger_error": true`` fails it with 500.
- ``POST /api/v1/tasks`` queues the same body: 202 with task_id and ``Location``; 429 with
  ``Retry-After`` when AGENT_QUEUE_MAX tasks wait. ``GET /api/v1/tasks/<task_id>`` returns it.
- ``POST/GET/DELETE /admin/faults``: agent faults are kept here, model faults are
  forwarded to the model service, so the lab drives both through the agent. DELETE
  clears every fault, or one target's with ``?target=agent|model``.
- Per-request faults: ``X-Fault-Error: true`` and ``X-Fault-Delay-Ms: N`` on the two task
  routes, ignored when AGENT_ALLOW_HEADER_FAULTS=false.
- ``GET /healthz`` (alive), ``GET /readyz`` (the model service responds), ``GET /metrics``.

A task whose prompt plus max_tokens exceed MODEL_CONTEXT_TOKENS gets 400
``context_length_exceeded`` before any model call and is not counted as a task.

Failed tasks return 500 (triggered, injected, internal), 502 (the model failed), 504
(the model timed out) or 400 (the model rejected the prompt with 400, e.g. because its
context window is smaller than MODEL_CONTEXT_TOKENS here), with ``{"error", "detail",
"task_id", "trace_id", ...}``.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from typing import Callable

from flask import Flask, Response, g, jsonify, request
from opentelemetry import context as otel_context
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from prometheus_client import CollectorRegistry

from agentlab.agent.metrics import AgentMetrics
from agentlab.agent.modelclient import ModelCallError, ModelClient
from agentlab.agent.tasks import QueueFull, QueueWorkers, Task, TaskQueue, TaskRunner, TaskStore
from agentlab.agent.tasks import check_context_window, parse_task_request
from agentlab.faults import CLEAR_EXAMPLE, FAULT_EXAMPLES, FaultStore, parse_clear_target, parse_fault
from agentlab.faults import parse_header_faults
from agentlab.settings import AgentSettings
from agentlab.telemetry import configure_tracing, current_trace_id
from agentlab.web import UNTRACED_URLS, ApiError, error_response, install_common, new_registry
from agentlab.web import read_json_object

logger = logging.getLogger(__name__)

TASK_EXAMPLE = '{"task": "test", "data": {}}'


@dataclass
class AgentRuntime:
    """Everything one agent app owns; tests reach it through app.extensions["agentlab"]."""

    settings: AgentSettings
    registry: CollectorRegistry
    metrics: AgentMetrics
    faults: FaultStore
    client: ModelClient
    store: TaskStore
    queue: TaskQueue
    runner: TaskRunner
    workers: QueueWorkers

    def stop(self) -> None:
        """Stop the queue worker threads."""
        self.workers.stop()


def create_app(settings: AgentSettings | None = None, *, rng: random.Random | None = None,
               sleep: Callable[[float], None] = time.sleep, start_workers: bool = True) -> Flask:
    """Build the agent; settings default to the environment (ConfigError if bad)."""
    settings = settings or AgentSettings.from_env()
    configure_tracing("agent")
    rng = rng or random.Random()
    registry = new_registry()
    metrics = AgentMetrics(registry)
    faults = FaultStore()
    client = ModelClient(settings.model_url, settings.model_timeout_s, metrics,
                         pool_size=settings.threads + settings.queue_workers)
    queue = TaskQueue(settings.queue_max)
    metrics.track_queue(queue.depth)
    runner = TaskRunner(client, metrics, faults, rng, sleep)
    runtime = AgentRuntime(settings, registry, metrics, faults, client, TaskStore(settings.tasks_kept),
                           queue, runner, QueueWorkers(queue, runner, settings.queue_workers))

    app = Flask(__name__)
    FlaskInstrumentor().instrument_app(app, excluded_urls=UNTRACED_URLS)
    install_common(app, registry, metrics.http)
    app.extensions["agentlab"] = runtime
    _add_task_routes(app, runtime)
    _add_fault_routes(app, runtime)

    @app.get("/readyz")
    def readyz() -> Response:
        try:
            model = client.ready()
        except ModelCallError as error:
            return error_response(503, "model_unreachable", error.detail)
        return jsonify({"status": "ready", "model": model.get("model"),
                        "model_version": model.get("model_version")})

    if start_workers:
        runtime.workers.start()
    logger.info("agent ready", extra={"model_url": settings.model_url, "queue_max": settings.queue_max,
                                      "queue_workers": settings.queue_workers})
    return app


def _new_task(runtime: AgentRuntime, mode: str) -> Task:
    """Validate the request body and fault headers into a Task, raising ApiError."""
    task_request = parse_task_request(read_json_object(TASK_EXAMPLE))
    check_context_window(task_request, runtime.settings.model_context_tokens)
    fail, delay_ms = False, 0.0
    if runtime.settings.allow_header_faults:
        fail, delay_ms = parse_header_faults(request.headers)
    task = Task(task_request, mode, g.get("request_id"), fail_by_header=fail, delay_ms_by_header=delay_ms)
    logger.info("task received", extra={"task_id": task.id, "task_type": task.task_type,
                                        "priority": task_request.priority, "mode": mode})
    return task


def _add_task_routes(app: Flask, runtime: AgentRuntime) -> None:
    @app.post("/api/v1/process")
    def process() -> tuple[Response, int]:
        task = _new_task(runtime, "sync")

        runtime.store.add(task)
        runtime.runner.run(task)

        trace_id = current_trace_id()
        if task.status == "failure":
            return error_response(task.http_status, task.error["error"], task.error["detail"],
                                  task_id=task.id, task_type=task.task_type, status=task.status,
                                  error_type=task.error["error_type"], duration_s=task.result["duration_s"],
                                  trace_id=trace_id), task.http_status
        return jsonify({"task_id": task.id, "task_type": task.task_type, "status": task.status,
                        **task.result, "trace_id": trace_id}), 200

    @app.post("/api/v1/tasks")
    def enqueue() -> tuple[Response, int, dict[str, str]]:
        task = _new_task(runtime, "queued")

        task.parent_context = otel_context.get_current()
        task.enqueued_ns = time.time_ns()
        runtime.store.add(task)
        try:
            runtime.queue.put_nowait(task)
        except QueueFull:
            runtime.store.discard(task.id)
            retry_after = runtime.runner.retry_after_s(runtime.queue.depth(), runtime.settings.queue_workers)
            logger.warning("task rejected: queue full", extra={"task_id": task.id, "queue_max": runtime.queue.maxsize})
            raise ApiError(429, "queue_full", f"the task queue is full (AGENT_QUEUE_MAX="
                           f"{runtime.queue.maxsize}); retry after {retry_after} s", {"Retry-After": str(retry_after)}) from None

        location = f"/api/v1/tasks/{task.id}"
        return jsonify({"task_id": task.id, "task_type": task.task_type, "priority": task.request.priority,
                        "status": task.status, "location": location, "trace_id": current_trace_id()}), \
            202, {"Location": location}

    @app.get("/api/v1/tasks/<task_id>")
    def get_task(task_id: str) -> Response:
        task = runtime.store.get(task_id)
        if task is None:
            raise ApiError(404, "task_not_found", f"no task with id {task_id!r}; ids come from POST "
                           f"/api/v1/tasks, and only the last {runtime.settings.tasks_kept} tasks are kept")
        return jsonify(task.to_dict())


def _add_fault_routes(app: Flask, runtime: AgentRuntime) -> None:
    faults = runtime.faults
    client = runtime.client

    @app.post("/admin/faults")
    def add_fault() -> tuple[Response, int]:
        spec = parse_fault(read_json_object(FAULT_EXAMPLES["agent"]))

        if spec["target"] == "model":
            status, body = _forward(client, "POST", spec)
            logger.warning("fault forwarded to the model service", extra={**spec, "status": status})
            return jsonify(body), status
        fault = faults.add(**spec)
        logger.warning("fault injected", extra={"fault_id": fault.id, **spec})
        return jsonify({"fault": fault.to_dict(time.monotonic()), "faults": faults.describe()}), 201

    def list_all() -> dict:
        """Return {"faults": agent and model faults}, plus model_error if the model is unreachable."""
        listed = faults.describe()
        try:
            _, body = client.admin("GET")
        except ModelCallError as error:
            return {"faults": listed, "model_error": error.detail}
        return {"faults": listed + list(body.get("faults", []))}

    @app.get("/admin/faults")
    def list_faults() -> Response:
        return jsonify(list_all())

    @app.delete("/admin/faults")
    def clear_faults() -> Response:
        body = read_json_object(CLEAR_EXAMPLE) if request.get_data(cache=True).strip() else None
        target = parse_clear_target(request.args.get("target"), body)

        cleared: dict[str, int | None] = {}
        model_error = None
        if target in (None, "agent"):
            cleared["agent"] = faults.clear()
        if target == "model":
            # The only work asked for: an unreachable model service fails the request.
            _, model_body = _forward(client, "DELETE", None)
            cleared["model"] = model_body.get("cleared")
        elif target is None:
            # Clearing everything still clears the agent's faults when the model service is
            # down; the body's model_error reports the part that failed.
            try:
                _, model_body = client.admin("DELETE")
                cleared["model"] = model_body.get("cleared")
            except ModelCallError as error:
                cleared["model"] = None
                model_error = error.detail
        logger.warning("faults cleared", extra={"target": target or "all", "cleared_agent": cleared.get("agent"),
                                                "cleared_model": cleared.get("model")})

        if target is not None:
            # The other target's faults stay active, so list what is left.
            return jsonify({"cleared": cleared, **list_all()})
        result = {"cleared": cleared, "faults": []}
        if model_error:
            result["model_error"] = model_error
        return jsonify(result)


def _forward(client: ModelClient, method: str, body: dict) -> tuple[int, dict]:
    try:
        return client.admin(method, body)
    except ModelCallError as error:
        raise ApiError(502, "model_unreachable", error.detail) from None
