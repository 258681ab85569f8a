"""Loopback copies of the shipped Prometheus and Alertmanager configs for the native lab.

Only addresses change. Compose service names and ports (`receiver:5001`, `agent` found by
DNS service discovery) become 127.0.0.1 and the native ports; the agent's `dns_sd_configs`
becomes a static target because there is no DNS for it outside compose; relative file
paths (rule files, templates, `*_file` settings) become absolute, so rules and templates are
read from the repository and never copied. Scrape jobs whose targets do not run natively
(Grafana, Loki, Promtail, Jaeger) are dropped, and the generated file's header says which.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

from lab.components import STANDARD_PORTS, Ports
from lab.errors import LabError

LOOPBACK_HOST = "127.0.0.1"
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "0.0.0.0")


@dataclass
class GeneratedConfig:
    """A config rewritten for loopback: its text and what was left out."""

    text: str
    dropped_jobs: list[str] = field(default_factory=list)


def loopback_address(address: str, ports: Ports) -> str | None:
    """Map a compose `host:port` to 127.0.0.1 and the native port of the same component.

    The component is found by service name (`model:8081`) or, for a local address, by its
    standard port (`localhost:9090`). Return None for anything else, such as `grafana:3000`,
    which has no native counterpart.
    """
    host, _, port_text = address.rpartition(":")
    if not host:
        host, port_text = address, ""
    component = _component_for(host, port_text)
    if component is None:
        return None
    return f"{LOOPBACK_HOST}:{ports.as_dict()[component]}"


def _component_for(host: str, port_text: str) -> str | None:
    if host in STANDARD_PORTS:
        return host
    if host in _LOCAL_HOSTS and port_text.isdigit():
        for component, port in STANDARD_PORTS.items():
            if port == int(port_text):
                return component
    return None


def loopback_url(url: str, ports: Ports) -> str:
    """Rewrite an http(s) URL aimed at a lab component to 127.0.0.1; leave others as they are."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.hostname is None:
        return url
    port_text = str(parts.port) if parts.port is not None else ""
    if _component_for(parts.hostname, port_text) is None:
        return url
    address = loopback_address(f"{parts.hostname}:{port_text}", ports)
    return urlunsplit((parts.scheme, address, parts.path, parts.query, parts.fragment))


def _absolute(path: str, base_dir: Path) -> str:
    return path if Path(path).is_absolute() else str((base_dir / path).resolve())


def _rewrite_static_configs(static_configs: list[dict], ports: Ports) -> list[dict]:
    rewritten = []
    for group in static_configs:
        targets = [loopback_address(target, ports) for target in group.get("targets", [])]
        targets = [target for target in targets if target is not None]
        if targets:
            rewritten.append({**group, "targets": targets})
    return rewritten


def _dns_sd_as_static(dns_sd_configs: list[dict], ports: Ports) -> list[dict]:
    """Replace DNS service discovery with the static address each name maps to."""
    targets = []
    for sd_config in dns_sd_configs:
        if sd_config.get("type", "SRV") != "A":
            # SRV records carry their own ports, which have no loopback equivalent here.
            continue
        for name in sd_config.get("names", []):
            target = loopback_address(f"{name}:{sd_config.get('port', '')}", ports)
            if target is not None:
                targets.append(target)
    return [{"targets": targets}] if targets else []


def _rewrite_target_config(config: dict, ports: Ports) -> list[dict]:
    """Return the static target groups of a scrape job or Alertmanager entry on loopback."""
    groups = _rewrite_static_configs(config.get("static_configs", []), ports)
    groups += _dns_sd_as_static(config.get("dns_sd_configs", []), ports)
    return groups


def _replace_discovery(config: dict, groups: list[dict]) -> dict:
    rewritten = {key: value for key, value in config.items() if key not in ("static_configs", "dns_sd_configs")}
    rewritten["static_configs"] = groups
    return rewritten


def rewrite_prometheus(config: dict, config_dir: Path, ports: Ports) -> tuple[dict, list[str]]:
    """Return the loopback version of a parsed prometheus.yml and the names of dropped jobs."""
    rewritten = dict(config)
    rewritten["rule_files"] = [_absolute(path, config_dir) for path in config.get("rule_files", [])]

    alerting = dict(config.get("alerting", {}))
    alertmanagers = []
    for entry in alerting.get("alertmanagers", []):
        groups = _rewrite_target_config(entry, ports)
        if groups:
            alertmanagers.append(_replace_discovery(entry, groups))
    if alerting:
        alerting["alertmanagers"] = alertmanagers
        rewritten["alerting"] = alerting

    scrape_configs = []
    dropped_jobs = []
    for job in config.get("scrape_configs", []):
        groups = _rewrite_target_config(job, ports)
        if groups:
            scrape_configs.append(_replace_discovery(job, groups))
        else:
            dropped_jobs.append(job["job_name"])
    rewritten["scrape_configs"] = scrape_configs
    return rewritten, dropped_jobs


def rewrite_alertmanager(config: Any, config_dir: Path, ports: Ports, key: str = "") -> Any:
    """Return the loopback version of a parsed alertmanager.yml.

    Walks the whole tree: every URL aimed at a lab component moves to 127.0.0.1, and
    `templates` and `*_file` paths become absolute (Alertmanager reads them relative to
    the config file, which now lives in the run folder).
    """
    if isinstance(config, dict):
        return {name: rewrite_alertmanager(value, config_dir, ports, name) for name, value in config.items()}
    if isinstance(config, list):
        if key == "templates":
            return [_absolute(path, config_dir) for path in config]
        return [rewrite_alertmanager(item, config_dir, ports, key) for item in config]
    if isinstance(config, str):
        if key.endswith("_file"):
            return _absolute(config, config_dir)
        return loopback_url(config, ports)
    return config


def _header(source: Path, dropped_jobs: list[str]) -> str:
    lines = [
        f"# Generated by `python -m lab up` from {source} for the native lab.",
        "# Do not edit: it is rewritten on every start. Only addresses differ from the source:",
        "# compose service names point to 127.0.0.1 and the native ports, and relative paths",
        "# are absolute so rules and templates are read from the repository.",
    ]
    if dropped_jobs:
        lines.append(
            "# Scrape jobs dropped because their targets do not run natively: "
            + ", ".join(dropped_jobs)
            + "."
        )
    return "\n".join(lines) + "\n"


def _dump(config: Any) -> str:
    return yaml.safe_dump(config, sort_keys=False, default_flow_style=False, width=1000)


def _load(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise LabError(f"config file not found: {path}") from None
    except yaml.YAMLError as error:
        raise LabError(f"invalid YAML in {path}: {error}") from None


def generate_prometheus(source: Path, ports: Ports) -> GeneratedConfig:
    """Return the loopback prometheus.yml text for `source`."""
    config, dropped_jobs = rewrite_prometheus(_load(source), source.parent.resolve(), ports)
    return GeneratedConfig(_header(source, dropped_jobs) + _dump(config), dropped_jobs)


def generate_alertmanager(source: Path, ports: Ports) -> GeneratedConfig:
    """Return the loopback alertmanager.yml text for `source`."""
    config = rewrite_alertmanager(_load(source), source.parent.resolve(), ports)
    return GeneratedConfig(_header(source, []) + _dump(config))


def validate(command: list[str]) -> None:
    """Run a config checker (promtool, amtool) and raise LabError with its output on failure."""
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    except FileNotFoundError:
        raise LabError(f"{command[0]} not found; install it with `make debs` (apt-get install prometheus prometheus-alertmanager)") from None
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        raise LabError(f"`{' '.join(command)}` failed:\n{output}")


def write_configs(run_dir: Path, ports: Ports, prometheus_source: Path, alertmanager_source: Path) -> dict[str, Path]:
    """Write and validate run_dir/prometheus.yml and run_dir/alertmanager.yml; return their paths."""
    run_dir.mkdir(parents=True, exist_ok=True)
    prometheus_path = run_dir / "prometheus.yml"
    alertmanager_path = run_dir / "alertmanager.yml"
    prometheus_path.write_text(generate_prometheus(prometheus_source, ports).text)
    alertmanager_path.write_text(generate_alertmanager(alertmanager_source, ports).text)
    validate(["promtool", "check", "config", str(prometheus_path)])
    validate(["amtool", "check-config", str(alertmanager_path)])
    return {"prometheus": prometheus_path, "alertmanager": alertmanager_path}
