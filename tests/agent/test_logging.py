"""JSON log lines: fields, events, and ids that lead to the spans."""

from __future__ import annotations

import logging
import re

from agentlab.logging_setup import RateLimitFilter, format_timestamp, logging_dict_config
from tests.support import wait_until

RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
SECRET = "sk-live-DO-NOT-LEAK-4242"


def test_log_lines_carry_ids_of_the_spans(agent, spans, log_lines):
    answer = agent.client.post("/api/v1/process", json={"task": "test"}, headers={"X-Request-ID": "req-7"}).get_json()

    tagged = [line for line in log_lines() if line.get("request_id") == "req-7"]
    span_ids = {format(s.context.span_id, "016x"): s for s in spans()}

    # The model service (same process here) logs under the request id the agent passed on.
    assert [line["message"] for line in tagged] == [
        "task received", "POST /v1/completions 200", "task completed", "POST /api/v1/process 200"]
    model_access = tagged.pop(1)
    lines = tagged
    assert model_access["trace_id"] == answer["trace_id"]
    assert span_ids[model_access["span_id"]].name == "POST /v1/completions"
    for line in lines:
        assert RFC3339_UTC.match(line["timestamp"])
        assert line["service"] == "agent"
        assert line["trace_id"] == answer["trace_id"]
        assert line["span_id"] in span_ids
    received, completed, access = lines
    assert received["level"] == "INFO"
    assert received["logger"] == "agentlab.agent"
    assert received["task_id"] == answer["task_id"]
    assert span_ids[received["span_id"]].name == "POST /api/v1/process"
    assert completed["task_id"] == answer["task_id"]
    assert completed["status"] == "success"
    assert completed["output_tokens"] == answer["output_tokens"]
    assert span_ids[completed["span_id"]].name == "invoke_agent test"
    assert access["logger"] == "agentlab.access"
    assert (access["method"], access["route"], access["status"]) == ("POST", "/api/v1/process", 200)
    assert access["duration_ms"] >= 0


def test_failed_task_logged_with_error_type(agent, log_lines):
    answer = agent.client.post("/api/v1/process", json={"task": "chat", "trigger_error": True}).get_json()

    failed = [line for line in log_lines() if line["message"] == "task failed"]

    assert len(failed) == 1
    assert failed[0]["level"] == "ERROR"
    assert failed[0]["task_id"] == answer["task_id"]
    assert failed[0]["error_type"] == "triggered"
    assert failed[0]["trace_id"] == answer["trace_id"]


def test_queued_task_logs_keep_request_id(agent, log_lines):
    task_id = agent.client.post("/api/v1/tasks", json={"task": "test"}, headers={"X-Request-ID": "req-q"}) \
        .get_json()["task_id"]

    completed = wait_until(lambda: [line for line in log_lines() if line["message"] == "task completed"],
                           timeout_s=10, what=f"the completion line of task {task_id}", interval_s=0.05)

    assert completed[0]["task_id"] == task_id
    assert completed[0]["request_id"] == "req-q"
    assert completed[0]["mode"] == "queued"
    assert len(completed[0]["trace_id"]) == 32


def test_access_line_for_unknown_route(agent, log_lines):
    agent.client.get("/nowhere/12345")

    access = [line for line in log_lines() if line["logger"] == "agentlab.access"]

    assert [(a["route"], a["path"], a["status"]) for a in access] == [("<unmatched>", "/nowhere/12345", 404)]
    assert "trace_id" in access[0]


def test_no_body_or_secret_in_logs(agent, log_lines):
    agent.client.post("/api/v1/process", json={"task": "chat", "data": {"text": SECRET}},
                      headers={"Authorization": f"Bearer {SECRET}"})
    agent.client.post("/api/v1/process", json={"task": "nope", "data": {"text": SECRET}})

    lines = log_lines()

    assert len(lines) >= 4
    assert all(SECRET not in str(line) for line in lines)


def test_lines_outside_requests_have_no_ids(log_lines):
    logging.getLogger("agentlab.test").info("idle", extra={"step": 1})

    line = log_lines()[-1]

    assert line["message"] == "idle"
    assert line["step"] == 1
    assert "trace_id" not in line
    assert "request_id" not in line


def test_format_timestamp():
    assert format_timestamp(1700000000.1234) == "2023-11-14T22:13:20.123Z"


def test_rate_limit_filter_counts_suppressed():
    now = [0.0]
    limiter = RateLimitFilter(interval_s=60, clock=lambda: now[0])

    def record(message: str) -> logging.LogRecord:
        return logging.LogRecord("exporter", logging.ERROR, __file__, 1, message, None, None)

    passed = [limiter.filter(record("export failed")) for _ in range(5)]
    other = limiter.filter(record("another message"))
    now[0] = 61.0
    later = record("export failed")

    assert passed == [True, False, False, False, False]
    assert other is True
    assert limiter.filter(later) is True
    assert later.suppressed == 4


def test_dict_config_routes_gunicorn_loggers():
    config = logging_dict_config("model", "WARNING", gunicorn_access=False)

    assert config["root"] == {"level": "WARNING", "handlers": ["stdout"]}
    assert config["loggers"]["gunicorn.error"]["handlers"] == ["stdout"]
    assert config["loggers"]["gunicorn.access"]["handlers"] == ["discard"]
    assert config["formatters"]["json"]["service"] == "model"
