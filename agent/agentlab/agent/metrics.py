"""The agent's Prometheus metrics, created on one registry per app."""

from __future__ import annotations

from typing import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from agentlab.business import CURRENCY
from agentlab.model import INFERENCE_BUCKETS
from agentlab.web import HttpMetrics

TASK_TYPES = ("summarize", "classify", "translate", "chat", "test")
# `none` is only used for a trigger_error request that names no task.
TASK_TYPE_LABELS = TASK_TYPES + ("none",)
PRIORITIES = ("high", "normal", "low")
ERROR_TYPES = ("triggered", "model_error", "model_timeout", "injected", "internal")
TASK_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
VALUE_BUCKETS_USD = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1)


class AgentMetrics:
    """Every metric the agent exports except the default process and Python collectors."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.http = HttpMetrics(registry)
        self.tasks = Counter("agent_tasks_total", "Tasks processed (sync and queued), by outcome.",
                             ["task_type", "status"], registry=registry)
        self.errors = Counter("agent_errors_total", "Failed tasks, by cause.", ["error_type", "task_type"],
                              registry=registry)
        self.task_duration = Histogram("agent_task_duration_seconds", "Time from a task's start to its "
                                       "outcome, queue wait excluded, seconds.", ["task_type"],
                                       buckets=TASK_BUCKETS, registry=registry)
        self.active = Gauge("agent_active_tasks", "Tasks being processed right now.", ["task_type"],
                            registry=registry)
        self.queue_size = Gauge("agent_queue_size", "Tasks waiting in the queue.", ["priority"],
                                registry=registry)
        self.inference_latency = Histogram("model_inference_latency_seconds", "Time of one inference "
                                           "call to the model service as the agent sees it, seconds.",
                                           ["model_name", "model_version"], buckets=INFERENCE_BUCKETS,
                                           registry=registry)
        self.tokens = Counter("model_tokens_processed_total", "Tokens the agent sent to (input) and "
                              "received from (output) the model.", ["model_name", "operation"],
                              registry=registry)
        self.revenue = Counter("agent_revenue_total", "Revenue earned by successful tasks.", ["currency"],
                               registry=registry).labels(CURRENCY)
        self.satisfaction = Gauge("agent_user_satisfaction_score", "Moving user satisfaction score, 0 to "
                                  "100, from task outcomes and latency.", registry=registry)
        self.task_value = Histogram("agent_task_value", "Value of each successful task in USD.",
                                    ["task_type"], buckets=VALUE_BUCKETS_USD, registry=registry)

        # Zero-valued series from the start, so rate() and ratios have data before the
        # first failure instead of an empty result.
        for task_type in TASK_TYPE_LABELS:
            for status in ("success", "failure"):
                self.tasks.labels(task_type, status)
            for error_type in ERROR_TYPES:
                self.errors.labels(error_type, task_type)
        for task_type in TASK_TYPES:
            self.active.labels(task_type)
            self.task_duration.labels(task_type)

    def track_queue(self, depth_of: Callable[[str], int]) -> None:
        """Read agent_queue_size{priority} from the live queue at each scrape."""
        for priority in PRIORITIES:
            self.queue_size.labels(priority).set_function(lambda p=priority: depth_of(p))
