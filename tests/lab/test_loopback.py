"""Loopback copies of the shipped configs: only addresses change, checked by promtool and amtool."""

from pathlib import Path

import pytest
import yaml

from lab.components import REPO_ROOT, Ports
from lab.errors import LabError
from lab.loopback import (
    generate_alertmanager,
    generate_prometheus,
    loopback_address,
    loopback_url,
    rewrite_prometheus,
    write_configs,
)
from tests.support import require_binary

PORTS = Ports(agent=18080, model=18081, receiver=15001, prometheus=19090, alertmanager=19093)
PROMETHEUS_SOURCE = REPO_ROOT / "prometheus" / "prometheus.yml"
ALERTMANAGER_SOURCE = REPO_ROOT / "alertmanager" / "alertmanager.yml"


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("agent:8080", "127.0.0.1:18080"),
        ("model:8081", "127.0.0.1:18081"),
        ("receiver:5001", "127.0.0.1:15001"),
        ("alertmanager:9093", "127.0.0.1:19093"),
        ("localhost:9090", "127.0.0.1:19090"),
        ("127.0.0.1:8081", "127.0.0.1:18081"),
        ("grafana:3000", None),
        ("jaeger:8888", None),
        ("localhost:3100", None),
        ("10.1.2.3:8080", None),
    ],
)
def test_loopback_address_table(address, expected):
    assert loopback_address(address, PORTS) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://receiver:5001/webhook", "http://127.0.0.1:15001/webhook"),
        ("http://receiver:5001/slack/alerts-critical?x=1", "http://127.0.0.1:15001/slack/alerts-critical?x=1"),
        ("http://grafana:3000/d/agent", "http://grafana:3000/d/agent"),
        ("http://chat.example.invalid/hook", "http://chat.example.invalid/hook"),
        ("{{ template \"lab.grafana.url\" }}/dashboards", "{{ template \"lab.grafana.url\" }}/dashboards"),
        ("5m", "5m"),
    ],
)
def test_loopback_url_table(url, expected):
    assert loopback_url(url, PORTS) == expected


def test_rewrite_prometheus_synthetic(tmp_path):
    source = {
        "global": {"scrape_interval": "5s"},
        "rule_files": ["rules/*.yml", "/abs/extra.yml"],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": ["alertmanager:9093"]}]}]},
        "scrape_configs": [
            {"job_name": "agent", "dns_sd_configs": [{"names": ["agent"], "type": "A", "port": 8080}]},
            {"job_name": "model", "scrape_interval": "2s", "static_configs": [{"targets": ["model:8081"], "labels": {"tier": "ml"}}]},
            {"job_name": "loki", "static_configs": [{"targets": ["loki:3100"]}]},
        ],
    }

    rewritten, dropped = rewrite_prometheus(source, tmp_path, PORTS)

    assert dropped == ["loki"]
    assert rewritten["global"] == {"scrape_interval": "5s"}
    assert rewritten["rule_files"] == [str(tmp_path / "rules/*.yml"), "/abs/extra.yml"]
    assert rewritten["alerting"] == {"alertmanagers": [{"static_configs": [{"targets": ["127.0.0.1:19093"]}]}]}
    assert rewritten["scrape_configs"] == [
        {"job_name": "agent", "static_configs": [{"targets": ["127.0.0.1:18080"]}]},
        {"job_name": "model", "scrape_interval": "2s", "static_configs": [{"targets": ["127.0.0.1:18081"], "labels": {"tier": "ml"}}]},
    ]


def test_shipped_prometheus_only_addresses_change():
    source = yaml.safe_load(PROMETHEUS_SOURCE.read_text())
    generated = generate_prometheus(PROMETHEUS_SOURCE, PORTS)
    config = yaml.safe_load(generated.text)

    assert generated.dropped_jobs == ["grafana", "loki", "promtail", "jaeger"]
    assert "dropped because their targets do not run natively: grafana, loki, promtail, jaeger" in generated.text
    assert config["global"] == source["global"]
    assert config["rule_files"] == [str(REPO_ROOT / "prometheus" / "rules" / "*.yml")]
    assert config["alerting"]["alertmanagers"][0]["static_configs"] == [{"targets": ["127.0.0.1:19093"]}]
    targets = {job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]}
    assert targets == {
        "agent": ["127.0.0.1:18080"],
        "model": ["127.0.0.1:18081"],
        "receiver": ["127.0.0.1:15001"],
        "prometheus": ["127.0.0.1:19090"],
        "alertmanager": ["127.0.0.1:19093"],
    }
    for job in config["scrape_configs"]:
        assert "dns_sd_configs" not in job


def test_shipped_alertmanager_only_addresses_change():
    source = yaml.safe_load(ALERTMANAGER_SOURCE.read_text())
    generated = generate_alertmanager(ALERTMANAGER_SOURCE, PORTS)
    config = yaml.safe_load(generated.text)

    assert "receiver:5001" not in generated.text
    assert config["route"] == source["route"]
    assert config["inhibit_rules"] == source["inhibit_rules"]
    assert config["templates"] == [str(REPO_ROOT / "alertmanager" / "templates" / "*.tmpl")]
    # Mapping the loopback address back must give the source again, so nothing else changed.
    restored = yaml.safe_load(
        generated.text.replace("http://127.0.0.1:15001/", "http://receiver:5001/")
    )
    restored["templates"] = source["templates"]
    assert restored == source


def test_relative_file_settings_become_absolute(tmp_path):
    source = tmp_path / "alertmanager.yml"
    source.write_text(
        yaml.safe_dump(
            {
                "route": {"receiver": "slack"},
                "receivers": [{"name": "slack", "slack_configs": [{"api_url_file": "secrets/slack-url", "channel": "#x"}]}],
            }
        )
    )

    config = yaml.safe_load(generate_alertmanager(source, PORTS).text)

    assert config["receivers"][0]["slack_configs"][0]["api_url_file"] == str(tmp_path / "secrets" / "slack-url")


def test_write_configs_passes_promtool_and_amtool(tmp_path):
    require_binary("promtool")
    require_binary("amtool")

    paths = write_configs(tmp_path / "run", PORTS, PROMETHEUS_SOURCE, ALERTMANAGER_SOURCE)

    assert paths == {"prometheus": tmp_path / "run" / "prometheus.yml", "alertmanager": tmp_path / "run" / "alertmanager.yml"}
    assert paths["prometheus"].read_text().startswith("# Generated by `python -m lab up`")


def test_write_configs_reports_invalid_rules(tmp_path):
    require_binary("promtool")
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "bad.yml").write_text("groups:\n  - name: g\n    rules:\n      - alert: X\n        expr: rate(x[\n")
    source = tmp_path / "prometheus.yml"
    source.write_text("rule_files: [rules/*.yml]\nscrape_configs: []\n")

    with pytest.raises(LabError) as error:
        write_configs(tmp_path / "run", PORTS, source, ALERTMANAGER_SOURCE)

    assert "promtool check config" in str(error.value)
    assert "bad.yml" in str(error.value)
