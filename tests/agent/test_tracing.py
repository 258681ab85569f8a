"""Spans of the agent and the model, collected in memory."""

from __future__ import annotations

from opentelemetry.trace import SpanKind, StatusCode

from tests.support import wait_until

SECRET = "sk-live-DO-NOT-LEAK-4242"


def by_name(spans) -> dict:
    return {span.name: span for span in spans}


def test_one_trace_across_agent_and_model(agent, spans):
    answer = agent.client.post("/api/v1/process", json={"task": "summarize", "data": {"text": "a b c"}}).get_json()

    named = by_name(spans())

    assert set(named) == {"POST /api/v1/process", "invoke_agent summarize", "text_completion sim-llm-small",
                          "POST", "POST /v1/completions"}
    assert {format(s.context.trace_id, "032x") for s in spans()} == {answer["trace_id"]}
    agent_server = named["POST /api/v1/process"]
    task = named["invoke_agent summarize"]
    http_client = named["POST"]
    model_server = named["POST /v1/completions"]
    inferences = [s for s in spans() if s.name == "text_completion sim-llm-small"]
    client_inference = next(s for s in inferences if s.kind == SpanKind.CLIENT)
    server_inference = next(s for s in inferences if s.kind == SpanKind.INTERNAL)
    assert agent_server.parent is None
    assert task.parent.span_id == agent_server.context.span_id
    assert client_inference.parent.span_id == task.context.span_id
    assert http_client.parent.span_id == client_inference.context.span_id
    assert model_server.parent.span_id == http_client.context.span_id
    assert model_server.parent.is_remote
    assert server_inference.parent.span_id == model_server.context.span_id


def test_inference_span_gen_ai_attributes(agent, model_server, spans):
    first = agent.client.post("/api/v1/process", json={"task": "chat", "data": {"text": "hello there"}}).get_json()
    second = agent.client.post("/api/v1/process", json={"task": "chat", "data": {"text": "hi"}}).get_json()

    clients = [s for s in spans() if s.kind == SpanKind.CLIENT and s.name.startswith("text_completion")]
    servers = [s for s in spans() if s.kind == SpanKind.INTERNAL and s.name.startswith("text_completion")]

    port = int(model_server.url.rsplit(":", 1)[1])
    expected_client = {
        "gen_ai.operation.name": "text_completion",
        "gen_ai.provider.name": "agentlab.simulator",
        "gen_ai.request.max_tokens": 128,
        "gen_ai.usage.input_tokens": first["input_tokens"],
        "gen_ai.usage.output_tokens": first["output_tokens"],
        "gen_ai.response.model": "sim-llm-small",
        "agentlab.model.version": "1.0.0",
        "server.address": "127.0.0.1",
        "server.port": port,
    }
    # The first call cannot name the requested model: the agent learns it from the response.
    assert dict(clients[0].attributes) == expected_client
    assert dict(clients[1].attributes) == {
        **expected_client, "gen_ai.request.model": "sim-llm-small",
        "gen_ai.usage.input_tokens": second["input_tokens"], "gen_ai.usage.output_tokens": second["output_tokens"]}
    assert [s.name for s in clients] == ["text_completion sim-llm-small"] * 2
    assert dict(servers[0].attributes) == {
        "gen_ai.operation.name": "text_completion",
        "gen_ai.provider.name": "agentlab.simulator",
        "gen_ai.request.model": "sim-llm-small",
        "gen_ai.request.max_tokens": 128,
        "gen_ai.response.model": "sim-llm-small",
        "agentlab.model.version": "1.0.0",
        "gen_ai.usage.input_tokens": first["input_tokens"],
        "gen_ai.usage.output_tokens": first["output_tokens"],
    }


def test_task_span_attributes(agent, spans):
    answer = agent.client.post("/api/v1/process", json={"task": "classify", "priority": "low"}).get_json()

    task = by_name(spans())["invoke_agent classify"]

    assert dict(task.attributes) == {
        "agentlab.task.id": answer["task_id"],
        "agentlab.task.type": "classify",
        "agentlab.task.priority": "low",
        "agentlab.task.mode": "sync",
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": "agentlab",
    }
    assert task.status.status_code == StatusCode.UNSET


def test_failed_task_span_records_error(agent, spans):
    agent.client.post("/api/v1/process", json={"task": "test", "trigger_error": True})

    task = by_name(spans())["invoke_agent test"]

    assert task.status.status_code == StatusCode.ERROR
    assert task.status.description == "the request asked for a failure with trigger_error=true"
    assert task.attributes["error.type"] == "triggered"
    assert [event.name for event in task.events] == ["exception"]
    assert task.events[0].attributes["exception.type"] == "agentlab.agent.tasks.TaskFailure"


def test_model_error_marks_inference_span(agent, model_server, spans):
    model_server.faults.add("model", 1.0, 0, 30)

    agent.client.post("/api/v1/process", json={"task": "test"})

    client_inference = next(s for s in spans() if s.kind == SpanKind.CLIENT and s.name.startswith("text_completion"))
    server_inference = next(s for s in spans() if s.kind == SpanKind.INTERNAL and s.name.startswith("text_completion"))
    assert client_inference.status.status_code == StatusCode.ERROR
    assert client_inference.attributes["error.type"] == "model_error"
    assert server_inference.status.status_code == StatusCode.ERROR
    assert server_inference.attributes["error.type"] == "injected_fault"


def test_queued_task_spans_join_enqueue_trace(agent, spans):
    task_id = agent.client.post("/api/v1/tasks", json={"task": "test", "priority": "high"}).get_json()["task_id"]

    wait_until(lambda: any(s.name == "POST /v1/completions" for s in spans()) and
               any(s.name == "invoke_agent test" for s in spans()), timeout_s=10,
               what=f"spans of queued task {task_id}", interval_s=0.05)
    named = by_name(spans())

    enqueue = named["POST /api/v1/tasks"]
    wait = named["queue wait"]
    task = named["invoke_agent test"]
    assert {s.context.trace_id for s in spans()} == {enqueue.context.trace_id}
    assert wait.parent.span_id == enqueue.context.span_id
    assert task.parent.span_id == enqueue.context.span_id
    assert dict(wait.attributes) == {"agentlab.task.id": task_id, "agentlab.task.priority": "high"}
    assert wait.start_time <= wait.end_time <= task.start_time
    assert task.attributes["agentlab.task.mode"] == "queued"


def test_probes_and_scrapes_are_not_traced(agent, spans):
    for path in ("/healthz", "/readyz", "/metrics"):
        assert agent.client.get(path).status_code == 200

    assert spans() == ()


def test_no_body_or_secret_in_spans(agent, spans):
    agent.client.post("/api/v1/process", json={"task": "chat", "data": {"text": f"my key is {SECRET}"}},
                      headers={"Authorization": f"Bearer {SECRET}"})
    agent.client.post("/api/v1/process", json={"task": "chat", "trigger_error": True, "data": {"text": SECRET}})

    for span in spans():
        for key, attribute in span.attributes.items():
            assert SECRET not in str(attribute), f"{span.name} {key}"
        for event in span.events:
            assert SECRET not in str(dict(event.attributes)), f"{span.name} event {event.name}"
