"""Checks of docker-compose.yml through the real Compose parser (no Docker engine here).

NOTE: only a compose run proves that the images start, that the healthchecks pass and
that the services reach each other. These tests check what parsing can show.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.compose.conftest import COMPOSE_FILE, ENV_EXAMPLE, REPO, run_compose

SERVICES = {
    "gateway", "agent", "model", "receiver", "loadgen",
    "prometheus", "alertmanager", "jaeger", "loki", "promtail", "grafana",
}
# Services built from this repository's Dockerfiles; their images carry a local tag.
BUILT = {"agent", "model", "receiver"}
MEMORY_BUDGET_BYTES = 2 * 1024**3

# The program each healthcheck may run, by image: only tools that ship in that image.
# Prometheus, Alertmanager, Jaeger, Grafana and nginx (alpine) have busybox wget. The Loki
# 3.6+ image is distroless and checks itself with `loki -health`. The Promtail image
# (Ubuntu) has bash but no curl or wget. Locust and our images have Python.
PROBE_PROGRAM = {
    "prom/prometheus": "wget",
    "prom/alertmanager": "wget",
    "jaegertracing/jaeger": "wget",
    "grafana/grafana": "wget",
    "nginx": "wget",
    "grafana/loki": "/usr/bin/loki",
    "grafana/promtail": "bash",
    "locustio/locust": "python",
    "agent-observability-lab/agent": "python",
    "agent-observability-lab/receiver": "python",
}
# The readiness endpoint (not liveness) each service's healthcheck must request.
READINESS_PROBE = {
    "gateway": "http://127.0.0.1:8080/readyz",
    "agent": "http://127.0.0.1:8080/readyz",
    "model": "http://127.0.0.1:8081/readyz",
    "receiver": "http://127.0.0.1:5001/readyz",
    "loadgen": "http://127.0.0.1:8089/",
    "prometheus": "http://127.0.0.1:9090/-/ready",
    "alertmanager": "http://127.0.0.1:9093/-/ready",
    "jaeger": "http://127.0.0.1:13133/status",
    "loki": "-health",
    "promtail": "/dev/tcp/127.0.0.1/9080",
    "grafana": "http://127.0.0.1:3000/api/health",
}
# Healthchecks are on every service; an image that cannot run one would be listed here
# with the reason.
NO_HEALTHCHECK: dict[str, str] = {}
# Start order that matters: the dependant needs the dependency ready, not just started.
ORDER = [
    ("gateway", "agent"),
    ("agent", "model"),
    ("agent", "jaeger"),
    ("model", "jaeger"),
    ("alertmanager", "receiver"),
    ("prometheus", "alertmanager"),
    ("promtail", "loki"),
    ("grafana", "prometheus"),
    ("grafana", "loki"),
    ("loadgen", "gateway"),
]
NAMED_VOLUMES = {
    "prometheus": "/prometheus",
    "alertmanager": "/alertmanager",
    "grafana": "/var/lib/grafana",
    "loki": "/loki",
    "receiver": "/data",
}
# Host paths that are not repository files, by design.
HOST_BIND_SOURCES = {"/var/run/docker.sock"}
VARIABLE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)(?::?[-?]([^}]*))?\}")


def image_repository(image: str) -> str:
    return image.rsplit(":", 1)[0]


def image_tag(image: str) -> str:
    return image.rsplit(":", 1)[1] if ":" in image.split("/")[-1] else ""


def env_example_values() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name] = value
    return values


def compose_defaults() -> dict[str, str]:
    """Return {variable: default} for every ${VAR:-default} in docker-compose.yml."""
    defaults: dict[str, str] = {}
    for match in VARIABLE.finditer(COMPOSE_FILE.read_text(encoding="utf-8")):
        defaults.setdefault(match.group(1), match.group(2) or "")
    return defaults


# --- the Compose parser --------------------------------------------------------------


@pytest.mark.parametrize("env_source", ["no .env", ".env.example"])
def test_config_quiet_passes(compose_binary, empty_env_file, env_source):
    env_file = empty_env_file if env_source == "no .env" else ENV_EXAMPLE
    result = run_compose(compose_binary, env_file, "config", "--quiet")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_env_example_matches_defaults(compose_config, example_config):
    assert example_config == compose_config


def test_env_example_lists_every_variable():
    defaults = compose_defaults()
    example = env_example_values()
    assert sorted(defaults) == sorted(example)
    for name, default in defaults.items():
        assert example[name] == default, f"{name}: .env.example has {example[name]!r}, compose default {default!r}"


def test_every_variable_has_default():
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    bare = re.findall(r"\$\{([A-Z][A-Z0-9_]*)\}|\$([A-Z][A-Z0-9_]*)", text)
    assert bare == []


def test_services_are_the_lab(compose_config):
    assert set(compose_config["services"]) == SERVICES


# --- images ---------------------------------------------------------------------------


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_image_pinned(compose_config, service):
    image = compose_config["services"][service]["image"]
    tag = image_tag(image)
    assert tag, f"{service}: image {image!r} has no tag"
    assert tag != "latest"
    if service in BUILT:
        assert "build" in compose_config["services"][service]
        assert image_repository(image).startswith("agent-observability-lab/")
    else:
        # A release version: v1.2.3 or 1.2.3, with an optional variant such as -alpine.
        assert re.fullmatch(r"v?\d+\.\d+\.\d+(-[a-z0-9.]+)?", tag), f"{service}: tag {tag!r} is not a release"


@pytest.mark.parametrize("service", sorted(BUILT))
def test_built_service_has_dockerfile(compose_config, service):
    build = compose_config["services"][service]["build"]
    dockerfile = Path(build["context"]) / build["dockerfile"]
    assert dockerfile.is_file(), f"{service}: {dockerfile} is missing"


# --- ports ----------------------------------------------------------------------------


def test_ports_bound_to_loopback(compose_config):
    published = []
    for name, service in compose_config["services"].items():
        for port in service.get("ports", []):
            published.append((name, port["target"]))
            assert port.get("host_ip") == "127.0.0.1", f"{name}: port {port} is not bound to 127.0.0.1"
    assert ("gateway", 8080) in published


def test_agent_is_scalable(compose_config):
    agent = compose_config["services"]["agent"]
    assert agent.get("ports", []) == []
    assert "container_name" not in agent


def test_gateway_publishes_agent_port(compose_config):
    gateway = compose_config["services"]["gateway"]
    assert [(port["host_ip"], port["published"], port["target"]) for port in gateway["ports"]] == [
        ("127.0.0.1", "8080", 8080)
    ]
    mounts = {volume["target"]: volume["source"] for volume in gateway["volumes"]}
    assert mounts["/etc/nginx/conf.d/default.conf"] == str(REPO / "gateway" / "nginx.conf")


def test_gateway_resolves_agent_per_request():
    config = (REPO / "gateway" / "nginx.conf").read_text(encoding="utf-8")
    directives = [line.split("#")[0].strip() for line in config.splitlines()]
    # Docker's embedded DNS server, and a variable in proxy_pass so nginx resolves at
    # request time instead of once at start.
    assert "resolver 127.0.0.11 valid=5s ipv6=off;" in directives
    assert "set $agent_upstream http://agent:8080;" in directives
    assert "proxy_pass $agent_upstream;" in directives
    assert "listen 8080;" in directives
    # NOTE: only a compose run proves that requests spread across the replicas.


# --- healthchecks and start order -----------------------------------------------------


@pytest.mark.parametrize("service", sorted(SERVICES - set(NO_HEALTHCHECK)))
def test_healthcheck_uses_image_tool(compose_config, service):
    definition = compose_config["services"][service]
    test = definition["healthcheck"]["test"]
    assert test[0] == "CMD", f"{service}: use exec form; CMD-SHELL needs /bin/sh"
    assert test[1] == PROBE_PROGRAM[image_repository(definition["image"])]
    assert READINESS_PROBE[service] in " ".join(test[2:])


@pytest.mark.parametrize("dependant, dependency", ORDER)
def test_depends_on_healthy(compose_config, dependant, dependency):
    depends_on = compose_config["services"][dependant]["depends_on"]
    assert depends_on[dependency]["condition"] == "service_healthy"


def test_dependencies_have_healthchecks(compose_config):
    for name, service in compose_config["services"].items():
        for dependency, rule in service.get("depends_on", {}).items():
            assert rule["condition"] == "service_healthy", f"{name} -> {dependency}"
            assert "healthcheck" in compose_config["services"][dependency], f"{name} waits on {dependency}"


# --- volumes and mounted files --------------------------------------------------------


@pytest.mark.parametrize("service, target", sorted(NAMED_VOLUMES.items()))
def test_data_on_named_volume(compose_config, service, target):
    volumes = {volume["target"]: volume for volume in compose_config["services"][service]["volumes"]}
    assert volumes[target]["type"] == "volume"
    assert volumes[target]["source"] in compose_config["volumes"]


def test_bind_mounts_exist_in_repo(compose_config):
    for name, service in compose_config["services"].items():
        for volume in service.get("volumes", []):
            if volume["type"] != "bind" or volume["source"] in HOST_BIND_SOURCES:
                continue
            source = Path(volume["source"])
            assert source.is_relative_to(REPO), f"{name}: {source} is outside the repository"
            assert source.exists(), f"{name}: {source} is missing"
            assert volume.get("read_only") is True, f"{name}: config mount {source} should be read-only"


def test_docker_socket_read_only(compose_config):
    promtail = compose_config["services"]["promtail"]
    socket = [volume for volume in promtail["volumes"] if volume["source"] == "/var/run/docker.sock"]
    assert len(socket) == 1
    assert socket[0]["read_only"] is True
    assert promtail["user"] == "10001"
    assert promtail["group_add"] == ["999"]


# --- memory ---------------------------------------------------------------------------


def test_memory_limits_fit_budget(compose_config):
    limits = {}
    for name, service in compose_config["services"].items():
        memory = service.get("deploy", {}).get("resources", {}).get("limits", {}).get("memory")
        assert memory, f"{name} has no memory limit"
        limits[name] = int(memory)
    assert sum(limits.values()) <= MEMORY_BUDGET_BYTES, limits


# --- settings the issue fixes ----------------------------------------------------------


def test_prometheus_flags(compose_config):
    command = compose_config["services"]["prometheus"]["command"]
    assert "--enable-feature=exemplar-storage" in command
    assert "--storage.tsdb.retention.time=7d" in command


def test_grafana_settings(compose_config):
    environment = compose_config["services"]["grafana"]["environment"]
    assert environment["GF_AUTH_ANONYMOUS_ENABLED"] == "true"
    assert environment["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"
    assert environment["GF_ANALYTICS_REPORTING_ENABLED"] == "false"
    assert environment["GF_ANALYTICS_CHECK_FOR_UPDATES"] == "false"
    assert environment["GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES"] == "false"
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    assert "GF_SECURITY_ADMIN_USER: ${GRAFANA_ADMIN_USER:-" in text
    assert "GF_SECURITY_ADMIN_PASSWORD: ${GRAFANA_ADMIN_PASSWORD:-" in text


def test_grafana_credentials_from_env_file(compose_binary, tmp_path):
    env_file = tmp_path / "custom.env"
    env_file.write_text("GRAFANA_ADMIN_USER=lab-admin\nGRAFANA_ADMIN_PASSWORD=s3cret-from-env\n", encoding="utf-8")
    from tests.compose.conftest import load_config

    environment = load_config(compose_binary, env_file)["services"]["grafana"]["environment"]
    assert environment["GF_SECURITY_ADMIN_USER"] == "lab-admin"
    assert environment["GF_SECURITY_ADMIN_PASSWORD"] == "s3cret-from-env"


def test_env_file_ignored_by_git():
    patterns = (REPO / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert ".env" in patterns


@pytest.mark.parametrize("service, name", [("agent", "agent"), ("model", "model")])
def test_services_send_traces_to_jaeger(compose_config, service, name):
    environment = compose_config["services"][service]["environment"]
    assert environment["OTEL_SERVICE_NAME"] == name
    assert environment["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://jaeger:4318"
    assert environment["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    assert environment["OTEL_TRACES_EXPORTER"] == "otlp"


def test_agent_reaches_model_by_service_name(compose_config):
    assert compose_config["services"]["agent"]["environment"]["MODEL_URL"] == "http://model:8081"


# --- scrape targets against the compose services ---------------------------------------


def test_scrape_targets_are_compose_services(compose_config):
    prometheus = yaml.safe_load((REPO / "prometheus" / "prometheus.yml").read_text(encoding="utf-8"))
    jobs = {job["job_name"]: job for job in prometheus["scrape_configs"]}
    assert jobs["agent"]["dns_sd_configs"][0]["names"] == ["agent"]
    assert jobs["agent"]["dns_sd_configs"][0]["port"] == 8080
    for name, job in jobs.items():
        for static in job.get("static_configs", []):
            for target in static["targets"]:
                host, _, port = target.partition(":")
                if host == "localhost":
                    continue
                assert host in compose_config["services"], f"job {name}: {target} is no compose service"
                assert port.isdigit(), f"job {name}: {target} has no port"


def test_loadgen_targets_gateway(compose_config):
    loadgen = compose_config["services"]["loadgen"]
    assert loadgen["environment"]["LOADGEN_HOST"] == "http://gateway:8080"
    assert loadgen["working_dir"] == "/mnt/locust"
    assert loadgen["command"][:2] == ["-f", "loadgen/locustfile.py"]
    assert (REPO / "loadgen" / "locustfile.py").is_file()
