"""Fixtures for the agent and model services: real apps, a real model server, spans and logs."""

from __future__ import annotations

import io
import json
import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from werkzeug.serving import make_server

from agentlab import telemetry
from agentlab.agent import create_app as create_agent_app
from agentlab.logging_setup import LabJsonFormatter
from agentlab.model import create_app as create_model_app
from agentlab.settings import AgentSettings, ModelSettings

_EXPORTER = InMemorySpanExporter()


@pytest.fixture(scope="session", autouse=True)
def tracer_provider() -> TracerProvider:
    """One in-memory tracer provider for the whole session (the global can be set once)."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
    telemetry.install_provider(provider)
    return provider


@pytest.fixture
def spans() -> Callable[[], list[ReadableSpan]]:
    """Return a function listing the spans finished since the test started."""
    _EXPORTER.clear()
    return _EXPORTER.get_finished_spans


@dataclass
class ModelServer:
    """A model app served over real HTTP on a free loopback port."""

    app: Any
    url: str

    @property
    def faults(self):
        return self.app.extensions["agentlab"]["faults"]


def serve(app) -> tuple[Any, str]:
    """Serve `app` with werkzeug on 127.0.0.1 in a daemon thread; return (server, url)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return server, f"http://127.0.0.1:{server.server_port}"


@pytest.fixture
def model_server() -> Iterator[ModelServer]:
    """A model service without simulated latency, so tests run fast."""
    app = create_model_app(ModelSettings(latency_scale=0.0))
    server, url = serve(app)
    yield ModelServer(app, url)
    server.shutdown()
    server.server_close()


@pytest.fixture
def make_model_server() -> Iterator[Callable[[ModelSettings], str]]:
    """Serve model apps with the given settings; return each one's base URL."""
    servers = []

    def build(settings: ModelSettings) -> str:
        server, url = serve(create_model_app(settings))
        servers.append(server)
        return url

    yield build
    for server in servers:
        server.shutdown()
        server.server_close()


@dataclass
class AgentUnderTest:
    """An agent app, its test client and its runtime."""

    app: Any
    client: Any
    sleeps: list[float]

    @property
    def runtime(self):
        return self.app.extensions["agentlab"]


@pytest.fixture
def make_agent(model_server: ModelServer) -> Iterator[Callable[..., AgentUnderTest]]:
    """Build agents wired to the real model server; keyword arguments override settings.

    The agent's own sleeps (injected delays) are recorded instead of slept.
    """
    built: list[AgentUnderTest] = []

    def build(start_workers: bool = True, **overrides: Any) -> AgentUnderTest:
        settings = AgentSettings(**{"model_url": model_server.url, "model_timeout_s": 5.0, **overrides})
        sleeps: list[float] = []
        app = create_agent_app(settings, sleep=sleeps.append, start_workers=start_workers)
        agent = AgentUnderTest(app, app.test_client(), sleeps)
        built.append(agent)
        return agent

    yield build
    for agent in built:
        agent.runtime.stop()


@pytest.fixture
def agent(make_agent) -> AgentUnderTest:
    """An agent with default settings."""
    return make_agent()


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Capture JSON log lines of every logger; return a function parsing them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(LabJsonFormatter(service="agent"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)

    def parse() -> list[dict[str, Any]]:
        handler.flush()
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    yield parse
    root.removeHandler(handler)
    root.setLevel(old_level)
