"""Agent and model HTTP behaviour against a real model service."""

from __future__ import annotations

import random

import pytest
import requests

from agentlab.agent.metrics import TASK_TYPES
from agentlab.agent.tasks import Task, TaskQueue, TaskRequest, build_prompt
from agentlab.faults import FaultStore
from agentlab.tokens import count_tokens
from tests.agent.helpers import scrape, value
from tests.support import free_port, wait_until


def test_process_test_payload(agent, model_server):
    response = agent.client.post("/api/v1/process", json={"task": "test", "data": {}})

    assert response.status_code == 200
    body = response.get_json()
    prompt, _ = build_prompt(TaskRequest("test", {}, "normal", False))
    assert body["task_type"] == "test"
    assert body["status"] == "success"
    assert len(body["task_id"]) == 32
    assert body["input_tokens"] == count_tokens(prompt)
    assert body["output_tokens"] == count_tokens(body["result"]["output"])
    assert body["model"] == "sim-llm-small"
    assert body["model_version"] == "1.0.0"
    assert body["duration_s"] >= 0
    assert len(body["trace_id"]) == 32


@pytest.mark.parametrize("task_type", TASK_TYPES)
def test_process_every_task_type(agent, task_type):
    response = agent.client.post("/api/v1/process", json={
        "task": task_type, "data": {"text": "The queue grew all night.", "target_language": "de"},
        "priority": "high"})

    assert response.status_code == 200
    body = response.get_json()
    assert body["task_type"] == task_type
    assert body["output_tokens"] >= 1
    if task_type == "classify":
        assert body["result"]["label"] in ("positive", "negative", "neutral")
    if task_type == "translate":
        assert body["result"]["target_language"] == "de"


def test_process_data_max_tokens_caps_output(agent):
    response = agent.client.post("/api/v1/process", json={"task": "chat", "data": {"text": "hi", "max_tokens": 3}})

    assert response.status_code == 200
    assert 1 <= response.get_json()["output_tokens"] <= 3


@pytest.mark.parametrize("body, task_type", [
    ({"trigger_error": True}, "none"),
    ({"task": "summarize", "trigger_error": True}, "summarize"),
])
def test_trigger_error_fails_with_500(agent, body, task_type):
    response = agent.client.post("/api/v1/process", json=body)

    assert response.status_code == 500
    answer = response.get_json()
    assert answer["error"] == "triggered_error"
    assert answer["error_type"] == "triggered"
    assert answer["task_type"] == task_type
    assert answer["status"] == "failure"
    assert "trigger_error" in answer["detail"]
    families = scrape(agent.client)
    assert value(families, "agent_errors", "agent_errors_total", error_type="triggered", task_type=task_type) == 1
    assert value(families, "agent_tasks", "agent_tasks_total", task_type=task_type, status="failure") == 1


def test_queued_task_runs_to_success(agent):
    response = agent.client.post("/api/v1/tasks", json={"task": "summarize", "data": {"text": "a b c"}})

    assert response.status_code == 202
    body = response.get_json()
    task_id = body["task_id"]
    assert response.headers["Location"] == f"/api/v1/tasks/{task_id}"
    assert body["location"] == f"/api/v1/tasks/{task_id}"
    assert body["status"] == "queued"
    assert body["priority"] == "normal"

    def finished():
        state = agent.client.get(f"/api/v1/tasks/{task_id}").get_json()
        return state if state["status"] in ("success", "failure") else None

    state = wait_until(finished, timeout_s=10, what=f"task {task_id} to finish", interval_s=0.05)
    assert state["status"] == "success"
    assert state["task_type"] == "summarize"
    assert state["output_tokens"] == count_tokens(state["result"]["output"])
    assert state["started_at"] >= state["created_at"]
    assert state["finished_at"] >= state["started_at"]


def test_queued_trigger_error_is_a_failed_task(agent):
    task_id = agent.client.post("/api/v1/tasks", json={"task": "chat", "trigger_error": True}).get_json()["task_id"]

    def finished():
        state = agent.client.get(f"/api/v1/tasks/{task_id}").get_json()
        return state if state["status"] == "failure" else None

    state = wait_until(finished, timeout_s=10, what=f"task {task_id} to fail", interval_s=0.05)
    assert state["error"]["error"] == "triggered_error"
    assert state["error"]["error_type"] == "triggered"


def test_full_queue_answers_429(make_agent):
    agent = make_agent(start_workers=False, queue_max=2, queue_workers=3)
    for priority in ("low", "low"):
        assert agent.client.post("/api/v1/tasks", json={"task": "test", "priority": priority}).status_code == 202

    response = agent.client.post("/api/v1/tasks", json={"task": "test"})

    assert response.status_code == 429
    assert response.get_json()["error"] == "queue_full"
    # Two queued tasks of 1 s mean duration (the starting estimate) over three workers.
    assert response.headers["Retry-After"] == "1"
    families = scrape(agent.client)
    assert value(families, "agent_queue_size", "agent_queue_size", priority="low") == 2
    assert value(families, "agent_queue_size", "agent_queue_size", priority="normal") == 0
    assert value(families, "agent_queue_size", "agent_queue_size", priority="high") == 0


def test_queue_depth_drains_to_zero(make_agent):
    agent = make_agent(start_workers=False)
    ids = [agent.client.post("/api/v1/tasks", json={"task": "test", "priority": "high"}).get_json()["task_id"]
           for _ in range(3)]
    assert value(scrape(agent.client), "agent_queue_size", "agent_queue_size", priority="high") == 3

    agent.runtime.workers.start()

    wait_until(lambda: all(agent.client.get(f"/api/v1/tasks/{i}").get_json()["status"] == "success" for i in ids),
               timeout_s=10, what="three queued tasks to succeed", interval_s=0.05)
    assert value(scrape(agent.client), "agent_queue_size", "agent_queue_size", priority="high") == 0


def test_task_queue_orders_by_priority_then_fifo():
    queue = TaskQueue(maxsize=10)
    order = [("low", "l1"), ("normal", "n1"), ("high", "h1"), ("low", "l2"), ("high", "h2")]
    for priority, name in order:
        queue.put_nowait(Task(TaskRequest("test", {}, priority, False), "queued", name))

    dequeued = [queue.get(0).request_id for _ in order]

    assert dequeued == ["h1", "h2", "n1", "l1", "l2"]
    assert queue.get(0) is None


def test_unknown_task_id_is_404(agent):
    response = agent.client.get("/api/v1/tasks/0123abc")

    assert response.status_code == 404
    assert response.get_json()["error"] == "task_not_found"
    assert "'0123abc'" in response.get_json()["detail"]


def test_request_id_echoed_and_generated(agent):
    echoed = agent.client.get("/healthz", headers={"X-Request-ID": "req-42"})
    generated = agent.client.get("/healthz")
    invalid = agent.client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})

    assert echoed.headers["X-Request-ID"] == "req-42"
    assert len(generated.headers["X-Request-ID"]) == 32
    assert invalid.headers["X-Request-ID"] != "bad id with spaces"


def test_header_error_fault(agent):
    response = agent.client.post("/api/v1/process", json={"task": "test"}, headers={"X-Fault-Error": "true"})

    assert response.status_code == 500
    assert response.get_json()["error"] == "injected_fault"
    assert response.get_json()["detail"] == ("the X-Fault-Error header failed this task; send the request "
                                             "without it to stop the failures")
    families = scrape(agent.client)
    assert value(families, "agent_errors", "agent_errors_total", error_type="injected", task_type="test") == 1


def test_header_delay_fault(agent):
    response = agent.client.post("/api/v1/process", json={"task": "test"}, headers={"X-Fault-Delay-Ms": "250"})

    assert response.status_code == 200
    assert agent.sleeps == [0.25]


def test_header_faults_ignored_when_disabled(make_agent):
    agent = make_agent(allow_header_faults=False)

    response = agent.client.post("/api/v1/process", json={"task": "test"},
                                 headers={"X-Fault-Error": "true", "X-Fault-Delay-Ms": "junk"})

    assert response.status_code == 200
    assert agent.sleeps == []


def test_agent_fault_fails_then_clears(agent):
    created = agent.client.post("/admin/faults", json={"target": "agent", "error_rate": 1.0, "latency_ms": 40,
                                                       "duration_s": 30})
    assert created.status_code == 201
    assert created.get_json()["fault"]["error_rate"] == 1.0

    failed = agent.client.post("/api/v1/process", json={"task": "chat"})
    listed = agent.client.get("/admin/faults").get_json()["faults"]
    cleared = agent.client.delete("/admin/faults").get_json()
    healthy = agent.client.post("/api/v1/process", json={"task": "chat"})

    assert failed.status_code == 500
    assert failed.get_json()["error"] == "injected_fault"
    assert failed.get_json()["detail"] == ("an injected agent fault failed this task; "
                                           "DELETE /admin/faults?target=agent to stop it")
    assert agent.sleeps == [0.04]
    assert [(f["target"], f["error_rate"], f["latency_ms"]) for f in listed] == [("agent", 1.0, 40.0)]
    assert cleared["cleared"] == {"agent": 1, "model": 0}
    assert healthy.status_code == 200


def test_agent_fault_expires(agent):
    agent.client.post("/admin/faults", json={"target": "agent", "error_rate": 1.0, "duration_s": 0.3})
    assert len(agent.client.get("/admin/faults").get_json()["faults"]) == 1

    wait_until(lambda: agent.client.get("/admin/faults").get_json()["faults"] == [], timeout_s=5,
               what="the 0.3 s fault to expire", interval_s=0.05)
    assert agent.client.post("/api/v1/process", json={"task": "test"}).status_code == 200


def test_fault_store_expiry_and_combination():
    now = [100.0]
    store = FaultStore(clock=lambda: now[0], wall_clock=lambda: 1000.0)
    store.add("agent", 0.5, 100, 10)
    store.add("agent", 0.5, 50, 20)

    combined = store.effect()
    now[0] = 110.0
    after_first = store.describe()
    now[0] = 120.0

    assert combined.error_rate == 0.75
    assert combined.latency_ms == 150
    assert [(f["latency_ms"], f["remaining_s"], f["expires_at"]) for f in after_first] == [(50, 10.0, 1020.0)]
    assert store.active() == []


def test_model_fault_forwarded_by_agent(agent, model_server):
    created = agent.client.post("/admin/faults", json={"target": "model", "error_rate": 1.0, "duration_s": 30})
    on_model = requests.get(f"{model_server.url}/admin/faults", timeout=5).json()["faults"]
    failed = agent.client.post("/api/v1/process", json={"task": "test"})
    listed = agent.client.get("/admin/faults").get_json()["faults"]
    cleared = agent.client.delete("/admin/faults").get_json()

    assert created.status_code == 201
    assert [(f["target"], f["error_rate"]) for f in on_model] == [("model", 1.0)]
    assert failed.status_code == 502
    assert failed.get_json()["error"] == "model_error"
    assert "503 (injected_fault)" in failed.get_json()["detail"]
    assert [f["target"] for f in listed] == ["model"]
    assert cleared["cleared"] == {"agent": 0, "model": 1}
    assert model_server.faults.active() == []


def test_model_latency_fault_times_out_agent(make_agent, model_server):
    agent = make_agent(model_timeout_s=0.2)
    model_server.faults.add("model", 0.0, 1000, 30)

    response = agent.client.post("/api/v1/process", json={"task": "test"})

    assert response.status_code == 504
    assert response.get_json()["error"] == "model_timeout"
    assert "MODEL_TIMEOUT_S=0.2" in response.get_json()["detail"]
    families = scrape(agent.client)
    assert value(families, "agent_errors", "agent_errors_total", error_type="model_timeout", task_type="test") == 1
    assert value(families, "model_inference_latency_seconds", "model_inference_latency_seconds_count",
                 model_name="unknown", model_version="unknown") == 1


def test_model_down_gives_502_and_not_ready(make_agent):
    agent = make_agent(model_url=f"http://127.0.0.1:{free_port()}")

    processed = agent.client.post("/api/v1/process", json={"task": "test"})
    ready = agent.client.get("/readyz")
    faults = agent.client.get("/admin/faults")

    assert processed.status_code == 502
    assert processed.get_json()["error"] == "model_error"
    assert ready.status_code == 503
    assert ready.get_json()["error"] == "model_unreachable"
    assert faults.status_code == 200
    assert "unreachable" in faults.get_json()["model_error"]


def test_readyz_reports_model(agent):
    response = agent.client.get("/readyz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "model": "sim-llm-small", "model_version": "1.0.0"}


def test_model_completion_direct(model_server):
    response = requests.post(f"{model_server.url}/v1/completions",
                             json={"prompt": "one two three", "max_tokens": 10}, timeout=5)

    assert response.status_code == 200
    body = response.json()
    assert body["model"] == "sim-llm-small"
    assert body["usage"]["input_tokens"] == 3
    assert 5 <= body["usage"]["output_tokens"] <= 10
    assert count_tokens(body["completion"]) == body["usage"]["output_tokens"]


def test_model_accepts_model_faults_directly(model_server):
    created = requests.post(f"{model_server.url}/admin/faults", json={"target": "model", "latency_ms": 5}, timeout=5)

    assert created.status_code == 201
    assert created.json()["fault"]["duration_s"] == 60.0
    assert len(requests.get(f"{model_server.url}/admin/faults", timeout=5).json()["faults"]) == 1


def test_simulated_latency_grows_with_tokens():
    from agentlab.model import Simulator
    from agentlab.settings import ModelSettings

    simulator = Simulator(ModelSettings(), random.Random(7))
    short = sorted(simulator.latency_s(10, 10) for _ in range(200))
    long = sorted(simulator.latency_s(10, 1000) for _ in range(200))

    assert short[100] < long[100]
    assert all(latency > 0 for latency in short)
