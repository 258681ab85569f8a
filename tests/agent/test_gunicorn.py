"""The services under the real gunicorn command, exporting OTLP to an endpoint the test runs."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest
import requests
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SpanExportResult
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from agentlab.logging_setup import RateLimitFilter
from agentlab.telemetry import EXPORTER_LOGGERS
from tests.support import free_port, wait_until

REPO = Path(__file__).resolve().parents[2]
CONF = REPO / "agent" / "gunicorn.conf.py"
OPENMETRICS_ACCEPT = "application/openmetrics-text; version=1.0.0"


class OtlpReceiver:
    """An OTLP/HTTP trace endpoint on loopback that decodes and keeps every span."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, object]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                payload = self.rfile.read(int(self.headers["Content-Length"]))
                request = ExportTraceServiceRequest()
                request.ParseFromString(payload)
                with receiver.lock:
                    for resource_spans in request.resource_spans:
                        attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
                        for scope_spans in resource_spans.scope_spans:
                            for span in scope_spans.spans:
                                receiver.spans.append((attributes["service.name"], span))
                body = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def of_trace(self, trace_id: str) -> list[tuple[str, object]]:
        """Return (service, span) pairs of one trace."""
        with self.lock:
            return [(service, span) for service, span in self.spans if span.trace_id.hex() == trace_id]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def otlp() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver()
    yield receiver
    receiver.close()


class Services:
    """Starts gunicorn processes and stops them at teardown."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.processes: list[subprocess.Popen] = []

    def start(self, name: str, command: list[str], env: dict[str, str], port: int) -> subprocess.Popen:
        """Start `command` with a clean OTEL_* environment plus `env`; wait for /healthz."""
        base = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AGENT_", "MODEL_"))}
        log = open(self.tmp_path / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(command, cwd=REPO, env={**base, **env}, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.processes.append(process)

        def healthy() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"{name} exited with {process.returncode}: {self.log(name)[-2000:]}")
            return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200

        wait_until(healthy, timeout_s=30, what=f"{name} on port {port} to answer /healthz", interval_s=0.1)
        return process

    def log(self, name: str) -> str:
        return (self.tmp_path / f"{name}.log").read_text()

    def log_lines(self, name: str) -> list[dict]:
        """Parse the JSON lines of a service's stdout."""
        return [json.loads(line) for line in self.log(name).splitlines() if line.startswith("{")]

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


@pytest.fixture
def services(tmp_path) -> Iterator[Services]:
    started = Services(tmp_path)
    yield started
    started.stop_all()


def start_pair(services: Services, otlp_url: str, agent_env: dict[str, str] | None = None,
               model_env: dict[str, str] | None = None) -> tuple[str, str]:
    """Start the model with the gunicorn command and the agent with `python -m`; return URLs."""
    model_port, agent_port = free_port(), free_port()
    otel = {"OTEL_EXPORTER_OTLP_ENDPOINT": otlp_url, "OTEL_BSP_SCHEDULE_DELAY": "100"}
    services.start("model", [sys.executable, "-m", "gunicorn", "-c", str(CONF), "agentlab.model:create_app()"],
                   {**otel, "MODEL_HOST": "127.0.0.1", "MODEL_PORT": str(model_port), "MODEL_LATENCY_SCALE": "0.1",
                    **(model_env or {})}, model_port)
    services.start("agent", [sys.executable, "-m", "agentlab.agent"],
                   {**otel, "AGENT_HOST": "127.0.0.1", "AGENT_PORT": str(agent_port), "AGENT_THREADS": "4",
                    "MODEL_URL": f"http://127.0.0.1:{model_port}", **(agent_env or {})}, agent_port)
    return f"http://127.0.0.1:{agent_port}", f"http://127.0.0.1:{model_port}"


@pytest.mark.e2e
def test_one_trace_reaches_otlp_from_both_services(services, otlp):
    agent_url, _ = start_pair(services, otlp.url)

    answer = requests.post(f"{agent_url}/api/v1/process", json={"task": "test", "data": {}},
                           headers={"X-Request-ID": "gunicorn-1"}, timeout=10).json()
    trace_id = answer["trace_id"]

    def both_services() -> list | None:
        found = otlp.of_trace(trace_id)
        return found if {"agent", "model"} <= {service for service, _ in found} and len(found) >= 6 else None

    found = wait_until(both_services, timeout_s=20, what=f"spans of trace {trace_id} from agent and model")
    named = {(service, span.name): span for service, span in found}
    assert set(named) == {("agent", "POST /api/v1/process"), ("agent", "invoke_agent test"),
                          ("agent", "text_completion sim-llm-small"), ("agent", "POST"),
                          ("model", "POST /v1/completions"), ("model", "text_completion sim-llm-small")}
    assert named[("model", "POST /v1/completions")].parent_span_id == named[("agent", "POST")].span_id
    agent_lines = [line for line in services.log_lines("agent") if line.get("request_id") == "gunicorn-1"]
    assert {line["trace_id"] for line in agent_lines} == {trace_id}
    assert {line["message"] for line in agent_lines} == {"task received", "task completed", "POST /api/v1/process 200"}
    assert [line for line in services.log_lines("agent") if line.get("logger") == "gunicorn.access"] == []


@pytest.mark.e2e
def test_gunicorn_serves_openmetrics_with_exemplars(services, otlp):
    agent_url, model_url = start_pair(services, otlp.url)
    trace_id = requests.post(f"{agent_url}/api/v1/process", json={"task": "test"}, timeout=10).json()["trace_id"]

    plain = requests.get(f"{agent_url}/metrics", timeout=5)
    scraped = requests.get(f"{agent_url}/metrics", headers={"Accept": OPENMETRICS_ACCEPT}, timeout=5)
    model_scraped = requests.get(f"{model_url}/metrics", headers={"Accept": OPENMETRICS_ACCEPT}, timeout=5)

    assert plain.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert scraped.headers["Content-Type"] == "application/openmetrics-text; version=1.0.0; charset=utf-8; " \
                                              "escaping=underscores"
    families = {f.name: f for f in text_string_to_metric_families(scraped.text)}
    model_families = {f.name: f for f in text_string_to_metric_families(model_scraped.text)}
    for scraped_families, family in [(families, "http_request_duration_seconds"),
                                     (families, "model_inference_latency_seconds"),
                                     (families, "agent_task_duration_seconds"),
                                     (model_families, "model_server_inference_duration_seconds")]:
        exemplars = {s.exemplar.labels["trace_id"] for s in scraped_families[family].samples if s.exemplar}
        assert exemplars == {trace_id}, family


@pytest.mark.e2e
def test_shutdown_flushes_queued_spans(services, otlp):
    # A 10-minute batch delay: only the flush at shutdown can deliver these spans.
    agent_url, _ = start_pair(services, otlp.url, agent_env={"OTEL_BSP_SCHEDULE_DELAY": "600000"})
    trace_id = requests.post(f"{agent_url}/api/v1/process", json={"trigger_error": True}, timeout=10).json()["trace_id"]
    assert otlp.of_trace(trace_id) == []

    agent = services.processes[1]
    agent.send_signal(signal.SIGTERM)
    agent.wait(20)

    assert agent.returncode == 0
    assert {span.name for _, span in otlp.of_trace(trace_id)} == {"POST /api/v1/process", "invoke_agent none"}


@pytest.mark.e2e
def test_dead_otlp_endpoint_never_fails_requests(services):
    dead = f"http://127.0.0.1:{free_port()}"
    agent_url, model_url = start_pair(services, dead, agent_env={"OTEL_EXPORTER_OTLP_TIMEOUT": "1",
                                                         "OTEL_BSP_SCHEDULE_DELAY": "20"},
                              model_env={"OTEL_TRACES_EXPORTER": "none"})

    statuses = [requests.post(f"{agent_url}/api/v1/process", json={"task": "test"}, timeout=10).status_code
                for _ in range(5)]

    def exporter_lines() -> list[dict]:
        return [line for line in services.log_lines("agent") if line["logger"].startswith("opentelemetry.")]

    lines = wait_until(exporter_lines, timeout_s=20, what="the agent to log the failed span export")
    assert statuses == [200] * 5
    assert lines[0]["level"] in ("WARNING", "ERROR")
    messages = [line["message"] for line in lines]
    assert len(messages) == len(set(messages)), messages
    # The model exports nothing (OTEL_TRACES_EXPORTER=none) yet still has trace ids.
    model_scraped = requests.get(f"{model_url}/metrics", headers={"Accept": OPENMETRICS_ACCEPT}, timeout=5)
    inference = {f.name: f for f in text_string_to_metric_families(model_scraped.text)}[
        "model_server_inference_duration_seconds"]
    assert len({s.exemplar.labels["trace_id"] for s in inference.samples if s.exemplar}) >= 1


def test_exporter_failures_pass_the_rate_limit(caplog):
    """The real OTLP exporter logs through the loggers that telemetry rate-limits."""
    provider = TracerProvider()
    span = provider.get_tracer("probe").start_span("probe")
    span.end()
    exporter = OTLPSpanExporter(endpoint=f"http://127.0.0.1:{free_port()}/v1/traces", timeout=0.5)
    limiters = {name: RateLimitFilter(interval_s=60) for name in EXPORTER_LOGGERS}
    for name, limiter in limiters.items():
        logging.getLogger(name).addFilter(limiter)
    try:
        with caplog.at_level(logging.WARNING):
            results = [exporter.export([span]) for _ in range(3)]
    finally:
        for name, limiter in limiters.items():
            logging.getLogger(name).removeFilter(limiter)
        exporter.shutdown()

    assert results == [SpanExportResult.FAILURE] * 3
    exporter_records = [r for r in caplog.records if r.name in EXPORTER_LOGGERS]
    assert len(exporter_records) == 1
    assert exporter_records[0].name == "opentelemetry.exporter.otlp.proto.http.trace_exporter"


@pytest.mark.parametrize("command, env, message", [
    ([sys.executable, "-m", "agentlab.agent"], {"AGENT_WORKERS": "2"}, "AGENT_WORKERS=2 is not supported"),
    ([sys.executable, "-m", "agentlab.agent"], {"AGENT_THREADS": "many"}, "AGENT_THREADS='many' is not an integer"),
    ([sys.executable, "-m", "agentlab.model"], {"MODEL_NAME": "gpt-9"}, "MODEL_NAME='gpt-9' is not valid"),
    ([sys.executable, "-m", "gunicorn", "-c", str(CONF), "agentlab.model:create_app()"],
     {"MODEL_WORKERS": "3"}, "MODEL_WORKERS=3 is not supported"),
    ([sys.executable, "-m", "gunicorn", "-c", str(CONF), "agentlab.agent:create_app()"],
     {"MODEL_URL": "localhost:8081"}, "MODEL_URL='localhost:8081' is not an http(s) URL"),
    ([sys.executable, "-m", "agentlab.agent"], {"OTEL_TRACES_EXPORTER": "jaeger"},
     "OTEL_TRACES_EXPORTER='jaeger' is not valid; set it to one of otlp, console, none"),
    ([sys.executable, "-m", "agentlab.model"], {"OTEL_TRACES_SAMPLER": "sometimes"},
     "OTEL_TRACES_SAMPLER='sometimes' is not valid"),
    ([sys.executable, "-m", "agentlab.agent"], {"OTEL_TRACES_SAMPLER": "traceidratio",
                                                "OTEL_TRACES_SAMPLER_ARG": "2"}, "OTEL_TRACES_SAMPLER_ARG=2 is out of range"),
    ([sys.executable, "-m", "agentlab.agent"], {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
     "OTEL_EXPORTER_OTLP_PROTOCOL='grpc' is not supported"),
    ([sys.executable, "-m", "agentlab.agent"], {"LOG_LEVEL": "LOUD"}, "LOG_LEVEL='LOUD' is not valid"),
])
def test_bad_setting_stops_start_up(command, env, message):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AGENT_", "MODEL_"))}

    result = subprocess.run(command, cwd=REPO, env={**base, **env}, capture_output=True, text=True, timeout=60)

    assert result.returncode == 2
    assert message in result.stderr
    assert result.stderr.count("\n") == 1
