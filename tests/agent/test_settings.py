"""Settings from the environment, and the gunicorn settings built from them."""

from __future__ import annotations

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import ConsoleSpanExporter

from agentlab.serve import gunicorn_settings, service_from_argv
from agentlab.settings import AgentSettings, ConfigError, ModelSettings
from agentlab.telemetry import build_exporter, build_provider


def test_agent_defaults():
    assert AgentSettings.from_env({}) == AgentSettings(
        host="0.0.0.0", port=8080, workers=1, threads=8, queue_max=500, queue_workers=2, tasks_kept=10000,
        allow_header_faults=True, model_url="http://127.0.0.1:8081", model_timeout_s=30.0,
        model_context_tokens=8192, log_level="INFO")


def test_model_defaults():
    assert ModelSettings.from_env({}) == ModelSettings(
        host="0.0.0.0", port=8081, workers=1, threads=8, name="sim-llm-small", version="1.0.0",
        latency_scale=1.0, context_tokens=8192, log_level="INFO")


def test_values_are_parsed():
    settings = AgentSettings.from_env({"AGENT_PORT": "9000", "AGENT_ALLOW_HEADER_FAULTS": "off",
                                       "MODEL_URL": "http://model:8081/", "LOG_LEVEL": "debug",
                                       "MODEL_TIMEOUT_S": "2.5"})

    assert settings.port == 9000
    assert settings.allow_header_faults is False
    assert settings.model_url == "http://model:8081"
    assert settings.log_level == "DEBUG"
    assert settings.model_timeout_s == 2.5


@pytest.mark.parametrize("env, message", [
    ({"AGENT_PORT": "http"}, "AGENT_PORT='http' is not an integer"),
    ({"AGENT_PORT": "70000"}, "AGENT_PORT=70000 is out of range"),
    ({"AGENT_WORKERS": "4"}, "AGENT_WORKERS=4 is not supported; set it to 1"),
    ({"AGENT_THREADS": "0"}, "AGENT_THREADS=0 is out of range"),
    ({"AGENT_QUEUE_MAX": "-1"}, "AGENT_QUEUE_MAX=-1 is out of range"),
    ({"AGENT_QUEUE_WORKERS": "x"}, "AGENT_QUEUE_WORKERS='x' is not an integer"),
    ({"AGENT_ALLOW_HEADER_FAULTS": "maybe"}, "AGENT_ALLOW_HEADER_FAULTS='maybe' is not a boolean"),
    ({"MODEL_URL": "ftp://model"}, "MODEL_URL='ftp://model' is not an http(s) URL"),
    ({"MODEL_TIMEOUT_S": "soon"}, "MODEL_TIMEOUT_S='soon' is not a number"),
    ({"MODEL_TIMEOUT_S": "0"}, "MODEL_TIMEOUT_S=0 is out of range"),
    ({"LOG_LEVEL": "chatty"}, "LOG_LEVEL='CHATTY' is not valid; set it to one of DEBUG, INFO"),
])
def test_bad_agent_setting_named(env, message):
    with pytest.raises(ConfigError) as raised:
        AgentSettings.from_env(env)

    assert message in str(raised.value)


@pytest.mark.parametrize("env, message", [
    ({"MODEL_NAME": "gpt-9"}, "MODEL_NAME='gpt-9' is not valid; set it to one of sim-llm-small, sim-llm-large"),
    ({"MODEL_WORKERS": "2"}, "MODEL_WORKERS=2 is not supported"),
    ({"MODEL_LATENCY_SCALE": "-1"}, "MODEL_LATENCY_SCALE=-1 is out of range"),
    ({"MODEL_PORT": ""}, None),
])
def test_bad_model_setting_named(env, message):
    if message is None:
        assert ModelSettings.from_env(env).port == 8081
        return
    with pytest.raises(ConfigError) as raised:
        ModelSettings.from_env(env)

    assert message in str(raised.value)


@pytest.mark.parametrize("argv, service", [
    (["gunicorn", "-c", "agent/gunicorn.conf.py", "agentlab.model:create_app()"], "model"),
    (["gunicorn", "-c", "agent/gunicorn.conf.py", "agentlab.agent:create_app()"], "agent"),
    (["gunicorn"], "agent"),
])
def test_service_from_argv(argv, service):
    assert service_from_argv(argv) == service


def test_gunicorn_settings_per_service():
    agent = gunicorn_settings("agent", {"AGENT_PORT": "9100", "AGENT_THREADS": "3", "MODEL_PORT": "9101"})
    model = gunicorn_settings("model", {"AGENT_PORT": "9100", "MODEL_PORT": "9101", "MODEL_THREADS": "5",
                                        "OTEL_SERVICE_NAME": "model-a"})

    assert (agent["bind"], agent["threads"], agent["workers"]) == (["0.0.0.0:9100"], 3, 1)
    assert (model["bind"], model["threads"], model["workers"]) == (["0.0.0.0:9101"], 5, 1)
    assert agent["worker_class"] == "gthread"
    assert agent["preload_app"] is False
    assert agent["control_socket_disable"] is True
    assert agent["logconfig_dict"]["formatters"]["json"]["service"] == "agent"
    assert model["logconfig_dict"]["formatters"]["json"]["service"] == "model-a"


@pytest.mark.parametrize("env, exporter_type", [
    ({}, OTLPSpanExporter),
    ({"OTEL_TRACES_EXPORTER": "console"}, ConsoleSpanExporter),
    ({"OTEL_TRACES_EXPORTER": "NONE"}, type(None)),
    ({"OTEL_SDK_DISABLED": "true"}, type(None)),
])
def test_exporter_from_environment(env, exporter_type):
    exporter = build_exporter(env)

    assert type(exporter) is exporter_type
    if exporter is not None:
        exporter.shutdown()


def test_provider_without_export(monkeypatch):
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    provider = build_provider("model")
    span = provider.get_tracer("probe").start_span("probe")
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")

    assert span.get_span_context().is_valid
    assert span.get_span_context().trace_flags.sampled
    assert provider._active_span_processor._span_processors == ()
    assert build_provider("model") is None
    span.end()
    provider.shutdown()


def test_provider_resource_names(monkeypatch):
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=lab")
    default = build_provider("agent")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "agent-2")
    named = build_provider("agent")

    assert default.resource.attributes["service.name"] == "agent"
    assert default.resource.attributes["deployment.environment"] == "lab"
    assert named.resource.attributes["service.name"] == "agent-2"
    default.shutdown()
    named.shutdown()
