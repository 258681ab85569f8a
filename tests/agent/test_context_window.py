"""Prompts over the model's context window get 400 at the agent and the model, never 5xx."""

from __future__ import annotations

import random

import pytest
import requests

from agentlab.model import MAX_SIMULATED_LATENCY_S, Simulator
from agentlab.settings import AgentSettings, ModelSettings
from agentlab.tokens import count_tokens
from tests.agent.helpers import scrape, value

# "Reply to the user message below." is 7 tokens, and chat requests 128 by default.
CHAT_PROMPT_TOKENS = 7
CHAT_MAX_TOKENS = 128


def words(count: int) -> str:
    return " ".join(["word"] * count)


def test_agent_accepts_prompt_at_window(agent):
    text = words(8192 - CHAT_MAX_TOKENS - CHAT_PROMPT_TOKENS)

    response = agent.client.post("/api/v1/process", json={"task": "chat", "data": {"text": text}})

    assert response.status_code == 200
    assert response.get_json()["input_tokens"] == 8192 - CHAT_MAX_TOKENS


@pytest.mark.parametrize("path", ["/api/v1/process", "/api/v1/tasks"])
def test_agent_rejects_text_over_window(agent, path):
    text = words(8192 - CHAT_MAX_TOKENS - CHAT_PROMPT_TOKENS + 1)

    response = agent.client.post(path, json={"task": "chat", "data": {"text": text}})

    assert response.status_code == 400
    answer = response.get_json()
    assert answer["error"] == "context_length_exceeded"
    assert answer["field"] == "data.text"
    assert answer["context_tokens"] == 8192
    assert answer["input_tokens"] == 8192 - CHAT_MAX_TOKENS + 1
    assert answer["detail"] == (
        "field 'data.text' makes a prompt of 8065 tokens, which with max_tokens 128 exceeds the model's "
        "context window of 8192 tokens (MODEL_CONTEXT_TOKENS); shorten data.text to at most 8057 tokens "
        "or lower data.max_tokens")


def test_agent_rejects_data_over_window(agent):
    response = agent.client.post("/api/v1/process", json={"task": "summarize", "data": {"notes": words(9000)}})

    assert response.status_code == 400
    assert response.get_json()["field"] == "data"
    assert "shorten data to at most" in response.get_json()["detail"]


def test_agent_rejects_one_long_word(agent):
    # Without whitespace, a megabyte of letters would otherwise count as a single token.
    response = agent.client.post("/api/v1/process", json={"task": "chat", "data": {"text": "x" * 1_000_000}})

    assert response.status_code == 400
    assert response.get_json()["input_tokens"] == CHAT_PROMPT_TOKENS + 62_500


def test_rejected_prompt_is_not_a_task(agent):
    agent.client.post("/api/v1/process", json={"task": "chat", "data": {"text": words(9000)}})

    families = scrape(agent.client)

    assert value(families, "agent_tasks", "agent_tasks_total", task_type="chat", status="success") == 0
    assert value(families, "agent_tasks", "agent_tasks_total", task_type="chat", status="failure") == 0


def test_agent_window_follows_setting(make_agent):
    agent = make_agent(model_context_tokens=1024)
    text = words(1024 - CHAT_MAX_TOKENS - CHAT_PROMPT_TOKENS + 1)

    response = agent.client.post("/api/v1/process", json={"task": "chat", "data": {"text": text}})

    assert response.status_code == 400
    assert response.get_json()["context_tokens"] == 1024


def test_model_rejection_is_400_at_agent(make_agent, model_server):
    # The agent believes in a larger window than the model has, so the model rejects the call.
    agent = make_agent(model_context_tokens=32768)
    text = words(9000)

    response = agent.client.post("/api/v1/process", json={"task": "chat", "data": {"text": text}})

    assert response.status_code == 400
    answer = response.get_json()
    assert answer["error"] == "context_length_exceeded"
    assert answer["error_type"] == "model_error"
    assert answer["detail"].startswith("the model service rejected the prompt: field 'prompt' has 9007 tokens")


@pytest.mark.parametrize("name, window", [("sim-llm-small", 8192), ("sim-llm-large", 32768)])
def test_model_enforces_window(name, window, make_model_server):
    url = make_model_server(ModelSettings(name=name, latency_scale=0.0))
    prompt_tokens = window - 64

    inside = requests.post(f"{url}/v1/completions", json={"prompt": words(prompt_tokens), "max_tokens": 64},
                           timeout=30)
    over = requests.post(f"{url}/v1/completions", json={"prompt": words(prompt_tokens + 1), "max_tokens": 64},
                         timeout=30)

    assert inside.status_code == 200
    assert over.status_code == 400
    assert over.json() == {
        "error": "context_length_exceeded", "field": "prompt", "context_tokens": window,
        "input_tokens": prompt_tokens + 1, "max_tokens": 64,
        "detail": f"field 'prompt' has {prompt_tokens + 1} tokens and 'max_tokens' is 64, together over "
                  f"the context window of {window} tokens of {name} (MODEL_CONTEXT_TOKENS); shorten the "
                  f"prompt to at most {window - 64} tokens or lower max_tokens"}


@pytest.mark.parametrize("env, window", [
    ({}, 8192),
    ({"MODEL_NAME": "sim-llm-large"}, 32768),
    ({"MODEL_NAME": "sim-llm-large", "MODEL_CONTEXT_TOKENS": "4096"}, 4096),
])
def test_model_window_from_env(env, window):
    assert ModelSettings.from_env(env).context_window == window


def test_agent_window_from_env():
    assert AgentSettings.from_env({}).model_context_tokens == 8192
    assert AgentSettings.from_env({"MODEL_CONTEXT_TOKENS": "32768"}).model_context_tokens == 32768


@pytest.mark.parametrize("name", ["sim-llm-small", "sim-llm-large"])
def test_simulated_latency_is_capped(name):
    # The slowest request inside the window: a full window, 4096 of it generated, scale 100.
    simulator = Simulator(ModelSettings(name=name, latency_scale=100.0), random.Random(3))

    latencies = [simulator.latency_s(4096, 4096) for _ in range(50)]

    assert max(latencies) == MAX_SIMULATED_LATENCY_S


def test_long_word_counts_as_several_tokens():
    assert count_tokens("x" * 16) == 1
    assert count_tokens("x" * 17) == 2
    assert count_tokens("x" * 1_000_000) == 62_500
