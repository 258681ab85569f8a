"""Exposition parsing helpers for the agent tests."""

from __future__ import annotations

from typing import Any

from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text

OPENMETRICS_ACCEPT = "application/openmetrics-text; version=1.0.0"


def scrape(client: Any, openmetrics: bool = False) -> dict[str, Metric]:
    """GET /metrics through a Flask test client and parse it into families by name."""
    headers = {"Accept": OPENMETRICS_ACCEPT} if openmetrics else {}
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    families = parse_openmetrics(text) if openmetrics else parse_text(text)
    return {family.name: family for family in families}


def value(families: dict[str, Metric], family: str, sample: str, **labels: str) -> float:
    """Return the value of the one sample named `sample` with exactly `labels`."""
    matches = [s.value for s in families[family].samples if s.name == sample and s.labels == labels]
    assert len(matches) == 1, f"{sample}{labels}: {len(matches)} samples"
    return matches[0]


def label_sets(families: dict[str, Metric], family: str, sample: str) -> set[tuple[tuple[str, str], ...]]:
    """Return the label sets of every `sample` in `family`."""
    return {tuple(sorted(s.labels.items())) for s in families[family].samples if s.name == sample}


def bucket_bounds(families: dict[str, Metric], family: str, **labels: str) -> list[str]:
    """Return the `le` values of one histogram series, in exposition order."""
    return [s.labels["le"] for s in families[family].samples
            if s.name == f"{family}_bucket" and {k: v for k, v in s.labels.items() if k != "le"} == labels]
