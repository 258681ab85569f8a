"""A real agent and model service on free loopback ports, served by werkzeug in threads."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import requests
from werkzeug.serving import make_server

from tests.support import free_port, wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Service:
    """One app served over HTTP; `app` gives tests the runtime behind it."""

    app: Any
    url: str
    server: Any

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def serve(app) -> Service:
    """Serve `app` with werkzeug on a free 127.0.0.1 port in a daemon thread."""
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, name=f"werkzeug-{port}", daemon=True).start()
    return Service(app, f"http://127.0.0.1:{port}", server)


@pytest.fixture(scope="session")
def no_trace_export() -> Iterator[None]:
    """Keep the services from exporting spans: nothing listens on the OTLP port in tests."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OTEL_TRACES_EXPORTER", "none")
        yield


@pytest.fixture(scope="session")
def start_agent(no_trace_export) -> Iterator[Callable[..., Service]]:
    """Start agents (each with its own model service unless `model_url` is given).

    Keyword arguments override AgentSettings; the model runs with its default latency
    profile, so traffic looks like the lab's.
    """
    from agentlab.agent import create_app as create_agent_app
    from agentlab.model import create_app as create_model_app
    from agentlab.settings import AgentSettings, ModelSettings

    started: list[Service] = []

    def start(**overrides: Any) -> Service:
        if "model_url" not in overrides:
            model = serve(create_model_app(ModelSettings()))
            started.append(model)
            overrides["model_url"] = model.url
        agent = serve(create_agent_app(AgentSettings(**{"model_timeout_s": 10.0, **overrides})))
        started.append(agent)
        wait_until(lambda: requests.get(agent.url + "/healthz", timeout=2).ok, timeout_s=10,
                   what=f"agent health check at {agent.url}")
        return agent

    yield start
    for service in reversed(started):
        runtime = service.app.extensions["agentlab"]
        if hasattr(runtime, "stop"):
            runtime.stop()
        service.stop()


@pytest.fixture(scope="session")
def shared_agent(start_agent) -> Service:
    """An agent with default settings, shared by the tests of this folder."""
    return start_agent()


@pytest.fixture
def agent_url(shared_agent: Service) -> Iterator[str]:
    """Base URL of the shared agent; its faults are cleared after each test."""
    yield shared_agent.url
    requests.delete(shared_agent.url + "/admin/faults", timeout=5)


def active_faults(agent_url: str) -> list[dict]:
    """Return GET /admin/faults of the agent: its own faults and the model's."""
    response = requests.get(agent_url + "/admin/faults", timeout=5)
    response.raise_for_status()
    return response.json()["faults"]


def run_faults_cli(*args: str, timeout_s: float = 60) -> subprocess.CompletedProcess:
    """Run `python -m loadgen.faults ARGS` from the repository root and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "loadgen.faults", *args],
        cwd=REPO_ROOT,
        env={**os.environ, "LOADGEN_HOST": ""},
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
