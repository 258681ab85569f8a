"""The /metrics exposition, parsed and checked metric by metric after known requests."""

from __future__ import annotations

import random
import string

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from agentlab.business import SatisfactionScore, task_value_usd
from agentlab.agent.metrics import ERROR_TYPES, TASK_TYPE_LABELS, TASK_TYPES
from tests.agent.helpers import bucket_bounds, label_sets, scrape, value

HTTP_LE = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "0.75", "1.0", "2.5", "5.0", "10.0", "+Inf"]
TASK_LE = ["0.05", "0.1", "0.25", "0.5", "1.0", "2.0", "5.0", "10.0", "30.0", "60.0", "+Inf"]
INFERENCE_LE = ["0.05", "0.1", "0.25", "0.5", "0.75", "1.0", "1.5", "2.0", "3.0", "5.0", "10.0", "30.0", "+Inf"]
MODEL = {"model_name": "sim-llm-small", "model_version": "1.0.0"}


@pytest.fixture
def after_known_requests(agent):
    """Two successful test tasks, one triggered failure and one task lookup."""
    answers = [agent.client.post("/api/v1/process", json={"task": "test", "data": {}}).get_json()
               for _ in range(2)]
    agent.client.post("/api/v1/process", json={"trigger_error": True})
    agent.client.get("/api/v1/tasks/" + answers[0]["task_id"])
    return agent, answers, scrape(agent.client)


def test_metric_types(after_known_requests):
    _, _, families = after_known_requests

    types = {name: families[name].type for name in (
        "http_requests", "http_request_duration_seconds", "agent_tasks", "agent_errors",
        "agent_task_duration_seconds", "agent_active_tasks", "agent_queue_size", "model_inference_latency_seconds",
        "model_tokens_processed", "agent_revenue", "agent_user_satisfaction_score", "agent_task_value",
        "process_start_time_seconds", "python_info")}

    assert types == {
        "http_requests": "counter", "http_request_duration_seconds": "histogram", "agent_tasks": "counter",
        "agent_errors": "counter", "agent_task_duration_seconds": "histogram", "agent_active_tasks": "gauge",
        "agent_queue_size": "gauge", "model_inference_latency_seconds": "histogram",
        "model_tokens_processed": "counter", "agent_revenue": "counter", "agent_user_satisfaction_score": "gauge",
        "agent_task_value": "histogram", "process_start_time_seconds": "gauge", "python_info": "gauge"}


def test_http_metrics_after_known_requests(after_known_requests):
    _, answers, families = after_known_requests

    assert value(families, "http_requests", "http_requests_total",
                 method="POST", route="/api/v1/process", status_code="200") == 2
    assert value(families, "http_requests", "http_requests_total",
                 method="POST", route="/api/v1/process", status_code="500") == 1
    assert value(families, "http_requests", "http_requests_total",
                 method="GET", route="/api/v1/tasks/<task_id>", status_code="200") == 1
    assert bucket_bounds(families, "http_request_duration_seconds",
                         method="POST", route="/api/v1/process", status_code="200") == HTTP_LE
    assert value(families, "http_request_duration_seconds", "http_request_duration_seconds_count",
                 method="POST", route="/api/v1/process", status_code="200") == 2


def test_task_metrics_after_known_requests(after_known_requests):
    _, answers, families = after_known_requests

    assert value(families, "agent_tasks", "agent_tasks_total", task_type="test", status="success") == 2
    assert value(families, "agent_tasks", "agent_tasks_total", task_type="none", status="failure") == 1
    assert value(families, "agent_tasks", "agent_tasks_total", task_type="chat", status="success") == 0
    errors = {(s.labels["error_type"], s.labels["task_type"]): s.value
              for s in families["agent_errors"].samples if s.name == "agent_errors_total"}
    assert errors == {(e, t): (1.0 if (e, t) == ("triggered", "none") else 0.0)
                      for e in ERROR_TYPES for t in TASK_TYPE_LABELS}
    assert bucket_bounds(families, "agent_task_duration_seconds", task_type="test") == TASK_LE
    assert value(families, "agent_task_duration_seconds", "agent_task_duration_seconds_count", task_type="test") == 2
    assert value(families, "agent_task_duration_seconds", "agent_task_duration_seconds_count", task_type="none") == 1
    for task_type in TASK_TYPES:
        assert value(families, "agent_active_tasks", "agent_active_tasks", task_type=task_type) == 0
    for priority in ("high", "normal", "low"):
        assert value(families, "agent_queue_size", "agent_queue_size", priority=priority) == 0


def test_model_metrics_after_known_requests(after_known_requests):
    _, answers, families = after_known_requests

    assert bucket_bounds(families, "model_inference_latency_seconds", **MODEL) == INFERENCE_LE
    assert value(families, "model_inference_latency_seconds", "model_inference_latency_seconds_count", **MODEL) == 2
    assert value(families, "model_tokens_processed", "model_tokens_processed_total",
                 model_name="sim-llm-small", operation="input") == sum(a["input_tokens"] for a in answers)
    assert value(families, "model_tokens_processed", "model_tokens_processed_total",
                 model_name="sim-llm-small", operation="output") == sum(a["output_tokens"] for a in answers)


def test_business_metrics_follow_outcomes(after_known_requests):
    _, answers, families = after_known_requests
    expected_revenue = sum(task_value_usd("test", a["output_tokens"]) for a in answers)
    expected_score = SatisfactionScore()
    for answer in answers:
        expected_score.record(True, answer["duration_s"])
    expected_score.record(False, 0.0)

    assert value(families, "agent_revenue", "agent_revenue_total", currency="USD") == pytest.approx(expected_revenue)
    assert value(families, "agent_task_value", "agent_task_value_count", task_type="test") == 2
    assert value(families, "agent_task_value", "agent_task_value_sum", task_type="test") == \
        pytest.approx(expected_revenue)
    assert value(families, "agent_user_satisfaction_score", "agent_user_satisfaction_score") == \
        pytest.approx(expected_score.value)
    assert expected_score.value == pytest.approx(95.0)


def test_default_collectors_present(after_known_requests):
    _, _, families = after_known_requests

    assert value(families, "process_start_time_seconds", "process_start_time_seconds") > 0
    assert families["process_resident_memory_bytes"].samples[0].value > 0
    assert "python_gc_objects_collected" in families


def test_method_not_allowed_keeps_route_template(agent):
    agent.client.delete("/api/v1/tasks/abc")

    families = scrape(agent.client)

    assert value(families, "http_requests", "http_requests_total",
                 method="DELETE", route="/api/v1/tasks/<task_id>", status_code="405") == 1


def test_unknown_paths_share_one_route(agent):
    before = scrape(agent.client)
    rng = random.Random(1)
    for _ in range(1000):
        depth = rng.randint(1, 4)
        path = "/" + "/".join("".join(rng.choices(string.ascii_letters + string.digits, k=8)) for _ in range(depth))
        agent.client.open(path, method=rng.choice(["GET", "POST", "PUT", "BREW"]))

    after = scrape(agent.client)

    new = label_sets(after, "http_requests", "http_requests_total") - \
        label_sets(before, "http_requests", "http_requests_total")
    unmatched = {labels for labels in new if dict(labels)["route"] == "<unmatched>"}
    assert unmatched == {
        (("method", m), ("route", "<unmatched>"), ("status_code", "404")) for m in ("GET", "POST", "PUT", "OTHER")}
    # The only other new series are the two scrapes of /metrics themselves.
    assert new - unmatched == {(("method", "GET"), ("route", "/metrics"), ("status_code", "200"))}
    counts = [s.value for s in after["http_requests"].samples
              if s.name == "http_requests_total" and s.labels["route"] == "<unmatched>"]
    assert sum(counts) == 1000


def test_content_types_and_exemplars(agent, spans):
    answer = agent.client.post("/api/v1/process", json={"task": "test"}).get_json()

    plain = agent.client.get("/metrics")
    openmetrics = agent.client.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    families = scrape(agent.client, openmetrics=True)

    assert plain.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert openmetrics.headers["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")
    assert "# {trace_id=" not in plain.get_data(as_text=True)
    for family, labels in [
        ("http_request_duration_seconds", {"method": "POST", "route": "/api/v1/process", "status_code": "200"}),
        ("agent_task_duration_seconds", {"task_type": "test"}),
        ("model_inference_latency_seconds", MODEL),
    ]:
        exemplars = [s.exemplar for s in families[family].samples
                     if s.name == f"{family}_bucket" and s.exemplar is not None
                     and {k: v for k, v in s.labels.items() if k != "le"} == labels]
        assert [e.labels for e in exemplars] == [{"trace_id": answer["trace_id"]}], family
    assert answer["trace_id"] in {format(s.context.trace_id, "032x") for s in spans()}


def test_model_service_metrics(model_server):
    usages = [requests.post(f"{model_server.url}/v1/completions", json={"prompt": "a b c d", "max_tokens": 8},
                            timeout=5).json()["usage"] for _ in range(3)]

    response = requests.get(f"{model_server.url}/metrics", timeout=5)
    families = {f.name: f for f in text_string_to_metric_families(response.text)}

    assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert families["model_server_inference_duration_seconds"].type == "histogram"
    assert bucket_bounds(families, "model_server_inference_duration_seconds", **MODEL) == INFERENCE_LE
    assert value(families, "model_server_inference_duration_seconds",
                 "model_server_inference_duration_seconds_count", **MODEL) == 3
    assert value(families, "model_server_tokens", "model_server_tokens_total",
                 model_name="sim-llm-small", operation="input") == 12
    assert value(families, "model_server_tokens", "model_server_tokens_total",
                 model_name="sim-llm-small", operation="output") == sum(u["output_tokens"] for u in usages)
    assert value(families, "http_requests", "http_requests_total",
                 method="POST", route="/v1/completions", status_code="200") == 3
