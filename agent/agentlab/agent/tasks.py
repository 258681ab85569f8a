"""Tasks: validation, the store, the bounded priority queue and the runner.

The runner owns a task's outcome: one span, one agent_tasks_total increment, one
duration observation and, when it fails, one agent_errors_total increment, whether the
task came from POST /api/v1/process or from the queue.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import math
import random
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

from agentlab.agent.metrics import PRIORITIES, TASK_TYPES, AgentMetrics
from agentlab.agent.modelclient import ModelCallError, ModelClient
from agentlab.business import SatisfactionScore, task_value_usd
from agentlab.faults import FaultStore
from agentlab.logging_setup import request_id_var
from agentlab.telemetry import trace_exemplar
from agentlab.tokens import count_tokens
from agentlab.web import ApiError, check_type

logger = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

MAX_TOKENS_LIMIT = 4096
# max_tokens requested per task type; translate requests about its input length.
DEFAULT_MAX_TOKENS = {"summarize": 64, "classify": 8, "chat": 128, "test": 16}
INSTRUCTIONS = {
    "summarize": "Summarize the text below in a few sentences.",
    "classify": "Classify the text below as positive, negative or neutral.",
    "translate": "Translate the text below into {language}.",
    "chat": "Reply to the user message below.",
    "test": "Answer with a short test response.",
}
CLASS_LABELS = ("positive", "negative", "neutral")
# Response code of the JSON error for each error_type of agent_errors_total.
ERROR_CODES = {"triggered": "triggered_error", "injected": "injected_fault", "model_error": "model_error",
               "model_timeout": "model_timeout", "internal": "internal_error"}


@dataclass(frozen=True)
class TaskRequest:
    """A validated task body."""

    task_type: str
    data: dict[str, Any]
    priority: str
    trigger_error: bool


def parse_task_request(body: dict[str, Any]) -> TaskRequest:
    """Validate a task body, raising ApiError (400) that names the field and the fix.

    Unknown top-level fields are ignored, so clients may send extra metadata.
    """
    trigger_error = False
    if "trigger_error" in body:
        trigger_error = check_type(body, "trigger_error", bool, "a boolean", "true")

    valid = ", ".join(TASK_TYPES)
    if "task" not in body:
        if not trigger_error:
            raise ApiError(400, "missing_field", f"field 'task' is required; set it to one of {valid}",
                           field="task", valid=list(TASK_TYPES))
        task_type = "none"
    else:
        task_type = check_type(body, "task", str, "a string", '"summarize"')
        if task_type not in TASK_TYPES:
            raise ApiError(400, "invalid_field", f"field 'task' is {task_type!r}, an unknown task type; "
                           f"use one of {valid}", field="task", valid=list(TASK_TYPES))

    data: dict[str, Any] = {}
    if "data" in body:
        data = check_type(body, "data", dict, "an object", '{"text": "..."}')
    if "text" in data:
        check_type(data, "text", str, "a string", '"Some text"', field="data.text")
    if "target_language" in data:
        check_type(data, "target_language", str, "a string", '"fr"', field="data.target_language")
    if "max_tokens" in data:
        max_tokens = check_type(data, "max_tokens", int, "an integer", "64", field="data.max_tokens")
        if not 1 <= max_tokens <= MAX_TOKENS_LIMIT:
            raise ApiError(400, "invalid_field", f"field 'data.max_tokens' is {max_tokens}; use 1 to "
                           f"{MAX_TOKENS_LIMIT}", field="data.max_tokens")

    priority = "normal"
    if "priority" in body:
        priority = check_type(body, "priority", str, "a string", '"normal"')
        if priority not in PRIORITIES:
            raise ApiError(400, "invalid_field", f"field 'priority' is {priority!r}; use one of "
                           f"{', '.join(PRIORITIES)}", field="priority", valid=list(PRIORITIES))
    return TaskRequest(task_type, data, priority, trigger_error)


@dataclass
class Task:
    """One task and its state; `result` and `error` are set when it finishes."""

    request: TaskRequest
    mode: str
    request_id: str | None
    fail_by_header: bool = False
    delay_ms_by_header: float = 0.0
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    status: str = "queued"
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    enqueued_ns: int = 0
    parent_context: Any = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    http_status: int = 200

    @property
    def task_type(self) -> str:
        return self.request.task_type

    @property
    def finished(self) -> bool:
        return self.status in ("success", "failure")

    def to_dict(self) -> dict[str, Any]:
        """Describe the task for GET /api/v1/tasks/<task_id>."""
        described = {
            "task_id": self.id,
            "task_type": self.task_type,
            "priority": self.request.priority,
            "status": self.status,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }
        if self.result is not None:
            described.update(self.result)
        if self.error is not None:
            described["error"] = self.error
        return described


class TaskStore:
    """Tasks by id; beyond `max_kept`, the oldest finished tasks are forgotten."""

    def __init__(self, max_kept: int) -> None:
        self.max_kept = max_kept
        self._lock = threading.Lock()
        self._tasks: OrderedDict[str, Task] = OrderedDict()

    def add(self, task: Task) -> None:
        """Store `task`, evicting the oldest finished tasks over the limit."""
        with self._lock:
            self._tasks[task.id] = task
            excess = len(self._tasks) - self.max_kept
            if excess > 0:
                evict = [t.id for t in self._tasks.values() if t.finished][:excess]
                for task_id in evict:
                    del self._tasks[task_id]

    def get(self, task_id: str) -> Task | None:
        """Return the task with `task_id`, or None."""
        with self._lock:
            return self._tasks.get(task_id)

    def discard(self, task_id: str) -> None:
        """Forget a task that never entered the queue."""
        with self._lock:
            self._tasks.pop(task_id, None)


class QueueFull(Exception):
    """The task queue is full."""


class TaskQueue:
    """Bounded priority queue: high before normal before low, FIFO within a priority."""

    RANK = {priority: rank for rank, priority in enumerate(PRIORITIES)}

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._heap: list[tuple[int, int, Task]] = []
        self._sequence = itertools.count()
        self._depth = {priority: 0 for priority in PRIORITIES}
        self._not_empty = threading.Condition()
        self._closed = False

    def put_nowait(self, task: Task) -> None:
        """Add `task`, raising QueueFull when the queue is at its bound."""
        with self._not_empty:
            if len(self._heap) >= self.maxsize:
                raise QueueFull
            heapq.heappush(self._heap, (self.RANK[task.request.priority], next(self._sequence), task))
            self._depth[task.request.priority] += 1
            self._not_empty.notify()

    def get(self, timeout_s: float) -> Task | None:
        """Take the most urgent task, or return None after `timeout_s` with none queued or once closed."""
        with self._not_empty:
            if not self._heap and not self._closed:
                self._not_empty.wait(timeout_s)
            if not self._heap or self._closed:
                return None
            _, _, task = heapq.heappop(self._heap)
            self._depth[task.request.priority] -= 1
            return task

    def close(self) -> None:
        """Wake every waiting consumer; get() returns None from now on."""
        with self._not_empty:
            self._closed = True
            self._not_empty.notify_all()

    def depth(self, priority: str | None = None) -> int:
        """Return the number of queued tasks, of one priority or in total."""
        with self._not_empty:
            return len(self._heap) if priority is None else self._depth[priority]


class TaskFailure(Exception):
    """A task failed for a reason counted in agent_errors_total."""

    def __init__(self, error_type: str, http_status: int, detail: str) -> None:
        super().__init__(detail)
        self.error_type = error_type
        self.http_status = http_status
        self.detail = detail


class TaskRunner:
    """Runs tasks and records their outcome in spans, metrics, logs and the task itself."""

    def __init__(self, client: ModelClient, metrics: AgentMetrics, faults: FaultStore,
                 rng: random.Random, sleep: Callable[[float], None] = time.sleep) -> None:
        self.client = client
        self.metrics = metrics
        self.faults = faults
        self.rng = rng
        self.sleep = sleep
        self.satisfaction = SatisfactionScore()
        metrics.satisfaction.set(self.satisfaction.value)
        # Moving mean of task durations, for the Retry-After estimate of a full queue.
        self.mean_duration_s = 1.0

    def run(self, task: Task) -> Task:
        """Process `task` in the current thread and return it with its outcome set."""
        attributes = {"agentlab.task.id": task.id, "agentlab.task.type": task.task_type,
                      "agentlab.task.priority": task.request.priority, "agentlab.task.mode": task.mode,
                      "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "agentlab"}
        with tracer.start_as_current_span(f"invoke_agent {task.task_type}", attributes=attributes) as span:
            task.status = "running"
            task.started_at = time.time()
            start_s = time.perf_counter()
            active = self.metrics.active.labels(task.task_type)
            active.inc()
            try:
                task.result = self._execute(task, span)
                task.status = "success"
            except TaskFailure as failure:
                self._fail(task, span, failure.error_type, failure.http_status, failure.detail, failure)
            except ModelCallError as failure:
                self._fail(task, span, failure.error_type, failure.http_status, failure.detail, failure,
                           code=failure.code)
            except Exception as error:  # noqa: BLE001 - any bug becomes a counted internal error
                logger.exception("task failed on an internal error", extra={"task_id": task.id})
                self._fail(task, span, "internal", 500, "the agent failed on this task; the log line "
                           f"with task_id {task.id} has the cause", error)
            finally:
                active.dec()
                duration_s = time.perf_counter() - start_s
                task.finished_at = time.time()
                self._record(task, duration_s)
        return task

    def _execute(self, task: Task, span: trace.Span) -> dict[str, Any]:
        if task.request.trigger_error:
            raise TaskFailure("triggered", 500, "the request asked for a failure with trigger_error=true")
        effect = self.faults.effect()
        delay_ms = effect.latency_ms + task.delay_ms_by_header
        if delay_ms > 0:
            span.set_attribute("agentlab.fault.delay_ms", delay_ms)
            self.sleep(delay_ms / 1000)
        if task.fail_by_header:
            raise TaskFailure("injected", 500, "the X-Fault-Error header failed this task; send the "
                              "request without it to stop the failures")
        if effect.should_fail(self.rng):
            raise TaskFailure("injected", 500, "an injected agent fault failed this task; "
                              "DELETE /admin/faults?target=agent to stop it")

        prompt, max_tokens = build_prompt(task.request)
        completion = self.client.complete(prompt, max_tokens)
        result: dict[str, Any] = {
            "input_tokens": completion.input_tokens,
            "output_tokens": completion.output_tokens,
            "model": completion.model_name,
            "model_version": completion.model_version,
            "result": self._shape_result(task.request, completion.text),
        }
        return result

    def _shape_result(self, request: TaskRequest, text: str) -> dict[str, Any]:
        if request.task_type == "classify":
            return {"label": self.rng.choice(CLASS_LABELS), "output": text}
        if request.task_type == "translate":
            return {"target_language": request.data.get("target_language", "fr"), "output": text}
        return {"output": text}

    def _fail(self, task: Task, span: trace.Span, error_type: str, http_status: int, detail: str,
              error: BaseException, code: str | None = None) -> None:
        task.status = "failure"
        task.http_status = http_status
        task.error = {"error": code or ERROR_CODES[error_type], "error_type": error_type, "detail": detail}
        span.record_exception(error)
        span.set_status(Status(StatusCode.ERROR, detail))
        span.set_attribute("error.type", error_type)
        self.metrics.errors.labels(error_type, task.task_type).inc()

    def _record(self, task: Task, duration_s: float) -> None:
        success = task.status == "success"
        self.metrics.tasks.labels(task.task_type, task.status).inc()
        self.metrics.task_duration.labels(task.task_type).observe(duration_s, exemplar=trace_exemplar())
        self.metrics.satisfaction.set(self.satisfaction.record(success, duration_s))
        self.mean_duration_s += 0.1 * (duration_s - self.mean_duration_s)
        extra = {"task_id": task.id, "task_type": task.task_type, "priority": task.request.priority,
                 "mode": task.mode, "status": task.status, "duration_ms": round(duration_s * 1000, 3)}
        if success:
            value_usd = task_value_usd(task.task_type, task.result["output_tokens"])
            self.metrics.revenue.inc(value_usd)
            self.metrics.task_value.labels(task.task_type).observe(value_usd)
            extra.update(input_tokens=task.result["input_tokens"], output_tokens=task.result["output_tokens"])
            logger.info("task completed", extra=extra)
        else:
            extra.update(error_type=task.error["error_type"], detail=task.error["detail"])
            # Error level: a failed task is a failed request for its caller, and Loki's
            # AgentErrorLogBurst rule counts error-level lines.
            logger.error("task failed", extra=extra)
        task.result = {**(task.result or {}), "duration_s": round(duration_s, 6)}

    def retry_after_s(self, depth: int, workers: int) -> int:
        """Estimate the seconds until the queue has room, from 1 to 60."""
        return max(1, min(60, math.ceil(depth * self.mean_duration_s / max(1, workers))))


def _task_text(request: TaskRequest) -> str:
    text = request.data.get("text")
    return text if text is not None else json.dumps(request.data, sort_keys=True)


def build_prompt(request: TaskRequest) -> tuple[str, int]:
    """Return the prompt and max_tokens for a task; data without text is sent as JSON."""
    text = _task_text(request)
    instruction = INSTRUCTIONS[request.task_type].format(language=request.data.get("target_language", "fr"))
    prompt = f"{instruction}\n{text}"
    max_tokens = request.data.get("max_tokens")
    if max_tokens is None:
        default = DEFAULT_MAX_TOKENS.get(request.task_type)
        max_tokens = default if default is not None else max(16, min(1024, round(count_tokens(text) * 1.2)))
    return prompt, max_tokens


def check_context_window(request: TaskRequest, context_tokens: int) -> None:
    """Raise ApiError (400) when the task's prompt plus max_tokens exceed `context_tokens`.

    The model service rejects such a call itself; checking first saves the round trip and
    names the task's own field (data.text, or data when it is sent as JSON).
    """
    if request.task_type not in INSTRUCTIONS:
        return
    prompt, max_tokens = build_prompt(request)
    input_tokens = count_tokens(prompt)
    if input_tokens + max_tokens <= context_tokens:
        return
    field_name = "data.text" if "text" in request.data else "data"
    room = max(0, context_tokens - max_tokens - (input_tokens - count_tokens(_task_text(request))))
    raise ApiError(400, "context_length_exceeded", f"field '{field_name}' makes a prompt of {input_tokens} "
                   f"tokens, which with max_tokens {max_tokens} exceeds the model's context window of "
                   f"{context_tokens} tokens (MODEL_CONTEXT_TOKENS); shorten {field_name} to at most "
                   f"{room} tokens or lower data.max_tokens", field=field_name,
                   context_tokens=context_tokens, input_tokens=input_tokens, max_tokens=max_tokens)


class QueueWorkers:
    """Threads that take tasks from the queue and run them in their enqueuer's trace."""

    POLL_S = 0.2

    def __init__(self, queue: TaskQueue, runner: TaskRunner, count: int) -> None:
        self.queue = queue
        self.runner = runner
        self.count = count
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start the worker threads (in the serving process: gunicorn calls create_app after fork)."""
        for index in range(self.count):
            thread = threading.Thread(target=self._work, name=f"agent-queue-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop taking tasks and wait for the current ones; queued tasks stay unprocessed."""
        self._stop.set()
        self.queue.close()
        for thread in self._threads:
            thread.join(timeout_s)

    def _work(self) -> None:
        while not self._stop.is_set():
            task = self.queue.get(self.POLL_S)
            if task is not None:
                self.process(task)

    def process(self, task: Task) -> None:
        """Run one dequeued task inside the trace and request id of the request that queued it."""
        token = otel_context.attach(task.parent_context) if task.parent_context is not None else None
        request_token = request_id_var.set(task.request_id)
        try:
            wait_span = tracer.start_span("queue wait", start_time=task.enqueued_ns, attributes={
                "agentlab.task.id": task.id, "agentlab.task.priority": task.request.priority})
            wait_span.end()
            self.runner.run(task)
        except Exception:  # noqa: BLE001 - a worker thread must survive any task
            logger.exception("queue worker failed on a task", extra={"task_id": task.id})
        finally:
            request_id_var.reset(request_token)
            if token is not None:
                otel_context.detach(token)
