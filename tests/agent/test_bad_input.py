"""Every kind of bad input gets a 4xx JSON error naming the field and the fix."""

from __future__ import annotations

import io
import json

import pytest
import requests
from werkzeug.test import EnvironBuilder

from tests.agent.helpers import label_sets, scrape

VALID_TYPES = "summarize, classify, translate, chat, test"
TOO_BIG = json.dumps({"task": "test", "data": {"text": "x" * (1024 * 1024)}}).encode()


def body(value) -> bytes:
    return json.dumps(value).encode()


# (method, path, raw body, headers, status, error code, field or None, text in detail)
AGENT_CASES = [
    ("POST", "/api/v1/process", b"{not json", {}, 400, "invalid_json", None, "not valid JSON"),
    ("POST", "/api/v1/process", b"", {}, 400, "invalid_json", None, "empty"),
    ("POST", "/api/v1/process", body([1, 2]), {}, 400, "invalid_body", None, "got array"),
    ("POST", "/api/v1/process", body("test"), {}, 400, "invalid_body", None, "got string"),
    ("POST", "/api/v1/process", body({"data": {}}), {}, 400, "missing_field", "task", VALID_TYPES),
    ("POST", "/api/v1/process", body({"task": "dance"}), {}, 400, "invalid_field", "task", VALID_TYPES),
    ("POST", "/api/v1/process", body({"task": 7}), {}, 400, "invalid_field", "task", "must be a string, got number"),
    ("POST", "/api/v1/process", body({"task": "chat", "data": "hi"}), {}, 400, "invalid_field", "data",
     "must be an object, got string"),
    ("POST", "/api/v1/process", body({"task": "chat", "data": {"text": 5}}), {}, 400, "invalid_field",
     "data.text", "must be a string, got number"),
    ("POST", "/api/v1/process", body({"task": "chat", "data": {"max_tokens": "5"}}), {}, 400, "invalid_field",
     "data.max_tokens", "must be an integer, got string"),
    ("POST", "/api/v1/process", body({"task": "chat", "data": {"max_tokens": 0}}), {}, 400, "invalid_field",
     "data.max_tokens", "use 1 to 4096"),
    ("POST", "/api/v1/process", body({"task": "chat", "data": {"max_tokens": True}}), {}, 400, "invalid_field",
     "data.max_tokens", "got boolean"),
    ("POST", "/api/v1/process", body({"task": "chat", "priority": "urgent"}), {}, 400, "invalid_field", "priority",
     "high, normal, low"),
    ("POST", "/api/v1/process", body({"task": "chat", "priority": 1}), {}, 400, "invalid_field", "priority",
     "must be a string"),
    ("POST", "/api/v1/process", body({"task": "chat", "trigger_error": "yes"}), {}, 400, "invalid_field",
     "trigger_error", "must be a boolean"),
    ("POST", "/api/v1/process", body({"trigger_error": False}), {}, 400, "missing_field", "task", VALID_TYPES),
    ("POST", "/api/v1/process", TOO_BIG, {}, 413, "body_too_large", None, "1 MiB"),
    ("POST", "/api/v1/process", body({"task": "chat"}), {"X-Fault-Delay-Ms": "soon"}, 400, "invalid_header",
     "X-Fault-Delay-Ms", "milliseconds from 0 to 60000"),
    ("POST", "/api/v1/process", body({"task": "chat"}), {"X-Fault-Delay-Ms": "-5"}, 400, "invalid_header",
     "X-Fault-Delay-Ms", "milliseconds"),
    ("POST", "/api/v1/process", body({"task": "chat"}), {"X-Fault-Error": "maybe"}, 400, "invalid_header",
     "X-Fault-Error", "true or false"),
    ("POST", "/api/v1/tasks", b"[]", {}, 400, "invalid_body", None, "got array"),
    ("POST", "/api/v1/tasks", body({"task": "chat", "priority": "now"}), {}, 400, "invalid_field", "priority",
     "high, normal, low"),
    ("POST", "/api/v1/tasks", TOO_BIG, {}, 413, "body_too_large", None, "1 MiB"),
    ("GET", "/api/v1/tasks/does-not-exist", b"", {}, 404, "task_not_found", None, "'does-not-exist'"),
    ("GET", "/no/such/route", b"", {}, 404, "not_found", None, "/api/v1/process"),
    ("GET", "/api/v1/process", b"", {}, 405, "method_not_allowed", None, "use OPTIONS, POST"),
    ("DELETE", "/api/v1/tasks/abc", b"", {}, 405, "method_not_allowed", None, "use GET, HEAD, OPTIONS"),
    ("PUT", "/admin/faults", b"", {}, 405, "method_not_allowed", None, "use DELETE, GET, HEAD, OPTIONS, POST"),
    ("POST", "/admin/faults", b"nope", {}, 400, "invalid_json", None,
     'not valid JSON (Expecting value: line 1 column 1 (char 0)); send a JSON object, e.g. '
     '{"target": "agent", "error_rate": 0.5, "duration_s": 60}'),
    ("POST", "/admin/faults", b"", {}, 400, "invalid_json", None,
     'request body is empty; send a JSON object, e.g. {"target": "agent", "error_rate": 0.5, "duration_s": 60}'),
    ("POST", "/admin/faults", body({"error_rate": 0.5}), {}, 400, "missing_field", "target",
     "'target' is missing; set it to one of agent, model"),
    ("POST", "/admin/faults", body({"target": None, "error_rate": 0.5}), {}, 400, "invalid_field", "target",
     "'target' is null; set it to one of agent, model"),
    ("POST", "/admin/faults", body({"target": "db", "error_rate": 0.5}), {}, 400, "invalid_field", "target",
     "agent, model"),
    ("POST", "/admin/faults", body({"target": "agent", "error_rate": 1.5}), {}, 400, "invalid_field", "error_rate",
     "from 0 to 1"),
    ("POST", "/admin/faults", body({"target": "agent", "error_rate": "half"}), {}, 400, "invalid_field",
     "error_rate", "must be a number"),
    ("POST", "/admin/faults", body({"target": "agent", "latency_ms": -1}), {}, 400, "invalid_field", "latency_ms",
     "from 0 to 60000"),
    ("POST", "/admin/faults", body({"target": "agent", "latency_ms": 1e9}), {}, 400, "invalid_field", "latency_ms",
     "from 0 to 60000"),
    ("POST", "/admin/faults", body({"target": "agent", "error_rate": 0.5, "duration_s": 0}), {}, 400,
     "invalid_field", "duration_s", "use a number above 0 and at most 3600"),
    ("POST", "/admin/faults", body({"target": "agent", "error_rate": 0.5, "duration_s": -1}), {}, 400,
     "invalid_field", "duration_s", "use a number above 0 and at most 3600"),
    ("POST", "/admin/faults", body({"target": "agent", "error_rate": 0.5, "duration_s": 4000}), {}, 400,
     "invalid_field", "duration_s", "use a number above 0 and at most 3600"),
    ("DELETE", "/admin/faults?target=nonsense", b"", {}, 400, "invalid_field", "target",
     "'target' is 'nonsense'; set it to one of agent, model"),
    ("DELETE", "/admin/faults?target=", b"", {}, 400, "invalid_field", "target", "one of agent, model"),
    ("DELETE", "/admin/faults", body({"target": "db"}), {}, 400, "invalid_field", "target",
     "'target' is 'db'; set it to one of agent, model"),
    ("DELETE", "/admin/faults?target=agent", body({"target": "model"}), {}, 400, "invalid_field", "target",
     "disagree"),
    ("DELETE", "/admin/faults", b"{", {}, 400, "invalid_json", None, '{"target": "model"}'),
    ("POST", "/admin/faults", body({"target": "agent"}), {}, 400, "invalid_field", "error_rate", "does nothing"),
    ("POST", "/admin/faults", body({"target": "model", "error_rate": 2}), {}, 400, "invalid_field", "error_rate",
     "from 0 to 1"),
]


@pytest.mark.parametrize("method, path, raw, headers, status, error, field, detail", AGENT_CASES,
                         ids=[f"{c[0]} {c[1]} {c[5]} {c[6] or ''}" for c in AGENT_CASES])
def test_agent_rejects_bad_input(agent, method, path, raw, headers, status, error, field, detail):
    response = agent.client.open(path, method=method, data=raw, headers=headers,
                                 content_type="application/json")

    assert response.status_code == status
    assert response.mimetype == "application/json"
    answer = response.get_json()
    assert answer["error"] == error
    assert detail in answer["detail"]
    if field is not None:
        assert answer["field"] == field
        assert field in answer["detail"]
    if status == 405:
        assert response.headers["Allow"] == detail.removeprefix("use ")


@pytest.mark.parametrize("size, status", [(1024 * 1024, 400), (1024 * 1024 + 1, 413)])
def test_chunked_body_limit(agent, size, status):
    # A chunked body has no Content-Length; gunicorn marks such input as terminated.
    raw = b"{" + b" " * (size - 1)
    environ = EnvironBuilder(path="/api/v1/process", method="POST").get_environ()
    environ.update({"wsgi.input": io.BytesIO(raw), "wsgi.input_terminated": True})
    environ.pop("CONTENT_LENGTH", None)
    statuses = []

    body = b"".join(agent.app(environ, lambda status_line, headers: statuses.append(status_line)))

    assert int(statuses[0].split()[0]) == status
    assert json.loads(body)["error"] == ("invalid_json" if status == 400 else "body_too_large")


def test_agent_keeps_serving_after_bad_input(agent):
    for method, path, raw, headers, *_ in AGENT_CASES:
        agent.client.open(path, method=method, data=raw, headers=headers, content_type="application/json")

    response = agent.client.post("/api/v1/process", json={"task": "test"})

    assert response.status_code == 200
    statuses = {dict(labels)["status_code"] for labels in label_sets(scrape(agent.client), "http_requests",
                                                                          "http_requests_total")}
    assert statuses == {"200", "400", "404", "405", "413"}


MODEL_CASES = [
    ("/v1/completions", {"max_tokens": 5}, 400, "missing_field", "prompt", "required"),
    ("/v1/completions", {"prompt": 3}, 400, "invalid_field", "prompt", "must be a string"),
    ("/v1/completions", {"prompt": "hi", "max_tokens": 0}, 400, "invalid_field", "max_tokens", "1 to 4096"),
    ("/v1/completions", {"prompt": "hi", "max_tokens": 2.5}, 400, "invalid_field", "max_tokens", "integer"),
    ("/v1/completions", {"prompt": "hi", "model": "gpt-x"}, 404, "model_not_found", "model", "'sim-llm-small'"),
    ("/admin/faults", {"target": "agent", "error_rate": 1}, 400, "invalid_field", "target",
     "send agent faults to the agent"),
    ("/admin/faults", {"target": "model", "error_rate": -0.1}, 400, "invalid_field", "error_rate", "from 0 to 1"),
]


@pytest.mark.parametrize("path, payload, status, error, field, detail", MODEL_CASES,
                         ids=[f"{c[0]} {c[3]} {c[4]}" for c in MODEL_CASES])
def test_model_rejects_bad_input(model_server, path, payload, status, error, field, detail):
    response = requests.post(f"{model_server.url}{path}", json=payload, timeout=5)

    assert response.status_code == status
    answer = response.json()
    assert answer["error"] == error
    assert answer["field"] == field
    assert detail in answer["detail"]


def test_model_rejects_non_json_and_wrong_method(model_server):
    not_json = requests.post(f"{model_server.url}/v1/completions", data=b"{", timeout=5)
    wrong_method = requests.get(f"{model_server.url}/v1/completions", timeout=5)
    unknown = requests.get(f"{model_server.url}/nothing", timeout=5)

    assert not_json.status_code == 400
    assert not_json.json()["error"] == "invalid_json"
    assert wrong_method.status_code == 405
    assert wrong_method.headers["Allow"] == "OPTIONS, POST"
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "not_found"


DEEP_ARRAY = b"[" * 3000 + b"]" * 3000
# Parses without hitting the recursion limit, but is over MAX_JSON_DEPTH (64).
DEEP_IN_DATA = b'{"task": "chat", "data": {"a": ' + b"[" * 100 + b"]" * 100 + b"}}"
DEPTH_DETAIL = "request body nests arrays and objects more than 64 levels deep; send a flatter JSON object"
TASK_EXAMPLE = '{"task": "test", "data": {}}'
AGENT_FAULT_EXAMPLE = '{"target": "agent", "error_rate": 0.5, "duration_s": 60}'


@pytest.mark.parametrize("method, path, raw, example", [
    ("POST", "/api/v1/process", DEEP_ARRAY, TASK_EXAMPLE),
    ("POST", "/api/v1/process", DEEP_IN_DATA, TASK_EXAMPLE),
    ("POST", "/api/v1/tasks", DEEP_ARRAY, TASK_EXAMPLE),
    ("POST", "/admin/faults", DEEP_ARRAY, AGENT_FAULT_EXAMPLE),
    ("DELETE", "/admin/faults", DEEP_ARRAY, '{"target": "model"}, or no body to clear every target'),
])
def test_agent_rejects_deep_json(agent, method, path, raw, example):
    response = agent.client.open(path, method=method, data=raw, content_type="application/json")

    assert response.status_code == 400
    assert response.get_json() == {"error": "invalid_json", "detail": f"{DEPTH_DETAIL}, e.g. {example}"}


@pytest.mark.parametrize("path, example", [
    ("/v1/completions", '{"prompt": "Summarize: ...", "max_tokens": 64}'),
    ("/admin/faults", '{"target": "model", "error_rate": 0.5, "duration_s": 60}'),
])
def test_model_rejects_deep_json(model_server, path, example):
    response = requests.post(f"{model_server.url}{path}", data=DEEP_ARRAY, timeout=5)

    assert response.status_code == 400
    assert response.json() == {"error": "invalid_json", "detail": f"{DEPTH_DETAIL}, e.g. {example}"}


def test_json_depth_limit_boundary(agent):
    nested = {"a": 1}
    for _ in range(60):
        nested = {"a": nested}
    # 61 levels in `nested`, one for the list, one for data and one for the body: 64.
    at_limit = agent.client.post("/api/v1/process", json={"task": "test", "data": {"x": [nested]}})
    over_limit = agent.client.post("/api/v1/process", json={"task": "test", "data": {"x": [[nested]]}})

    assert at_limit.status_code == 200
    assert over_limit.status_code == 400
    assert over_limit.get_json()["error"] == "invalid_json"


@pytest.mark.parametrize("path, raw, example", [
    ("/v1/completions", b"{", '{"prompt": "Summarize: ...", "max_tokens": 64}'),
    ("/admin/faults", b"{", '{"target": "model", "error_rate": 0.5, "duration_s": 60}'),
    ("/admin/faults", b"", '{"target": "model", "error_rate": 0.5, "duration_s": 60}'),
])
def test_model_json_errors_show_own_example(model_server, path, raw, example):
    response = requests.post(f"{model_server.url}{path}", data=raw, timeout=5)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_json"
    assert response.json()["detail"].endswith(f"send a JSON object, e.g. {example}")


@pytest.mark.parametrize("query, payload, detail", [
    ("?target=agent", None, "'agent' but this is the model service"),
    ("?target=nonsense", None, "'nonsense'; set it to one of agent, model"),
    ("", {"target": "agent"}, "'agent' but this is the model service"),
])
def test_model_clear_rejects_bad_target(model_server, query, payload, detail):
    model_server.faults.add("model", 1.0, 0, 60)

    response = requests.delete(f"{model_server.url}/admin/faults{query}", json=payload, timeout=5)

    assert response.status_code == 400
    assert response.json()["field"] == "target"
    assert detail in response.json()["detail"]
    assert len(model_server.faults.active()) == 1
