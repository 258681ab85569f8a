"""Check prometheus.yml: one job per component, DNS discovery for the agent, lab timings."""

from __future__ import annotations

import pytest
import yaml

from tests.prometheus.helpers import CONFIG, parse_duration_s

JOB_TARGETS = {
    "model": "model:8081",
    "receiver": "receiver:5001",
    "prometheus": "localhost:9090",
    "alertmanager": "alertmanager:9093",
    "grafana": "grafana:3000",
    "loki": "loki:3100",
    "promtail": "promtail:9080",
    "jaeger": "jaeger:8888",
}


@pytest.fixture(scope="module")
def config() -> dict:
    return yaml.safe_load(CONFIG.read_text())


@pytest.fixture(scope="module")
def jobs(config) -> dict[str, dict]:
    return {job["job_name"]: job for job in config["scrape_configs"]}


def test_job_names_are_the_components(config):
    names = [job["job_name"] for job in config["scrape_configs"]]

    assert names == ["agent", *JOB_TARGETS]


def test_agent_found_through_dns(jobs):
    agent = jobs["agent"]

    assert agent["dns_sd_configs"] == [{"names": ["agent"], "type": "A", "port": 8080, "refresh_interval": "5s"}]
    assert "static_configs" not in agent


@pytest.mark.parametrize(("job_name", "target"), JOB_TARGETS.items())
def test_component_scraped_at_service_address(jobs, job_name, target):
    job = jobs[job_name]

    assert job["static_configs"] == [{"targets": [target]}]
    assert set(job) == {"job_name", "static_configs"}


def test_lab_timings(config):
    scrape_interval_s = parse_duration_s(config["global"]["scrape_interval"])

    assert scrape_interval_s == 5
    assert parse_duration_s(config["global"]["evaluation_interval"]) == 5
    assert parse_duration_s(config["global"]["scrape_timeout"]) < scrape_interval_s


def test_rule_files_relative_to_config(config):
    assert config["rule_files"] == ["rules/*.yml"]


def test_alerts_sent_to_alertmanager_service(config):
    assert config["alerting"]["alertmanagers"] == [{"static_configs": [{"targets": ["alertmanager:9093"]}]}]


def test_external_labels_absent(config):
    # External labels are added to every alert and would change what routing tests match.
    assert "external_labels" not in config["global"]


def config_keys(node) -> set[str]:
    """Return every mapping key anywhere in a parsed YAML document."""
    if isinstance(node, dict):
        return set(node) | {key for value in node.values() for key in config_keys(value)}
    if isinstance(node, list):
        return {key for item in node for key in config_keys(item)}
    return set()


# Settings that only Prometheus 3.x accepts. Version 2.42 rejects them as unknown fields.
@pytest.mark.parametrize("setting", ["scrape_protocols", "fallback_scrape_protocol"])
def test_no_setting_of_one_version_only(config, setting):
    assert setting not in config_keys(config)
