"""Every Prometheus query of every dashboard panel returns data from the native stack under load.

The native stack (tests/conftest.py, fixture `native_stack`) runs the agent, the model
service, the receiver, Prometheus with the lab's rules and Alertmanager on free loopback
ports. A background thread keeps a mixed load on the agent (every task type, triggered
errors, queued tasks) while each test polls Prometheus until its query returns at least
one sample that is a number. Template variables take the values Grafana sends for "All".

NOTE: Loki and Jaeger panels are not checked here because neither runs natively; only a
compose run proves that they show data.
"""

from __future__ import annotations

import math
import random
import threading
import time

import pytest
import requests

from loadgen.workload import TASK_TYPE_WEIGHTS, error_task, random_task
from tests.grafana.queries import (
    PanelQuery,
    committed_dashboards,
    metric_names,
    panel_queries,
    substitute_variables,
)
from tests.support import wait_until

pytestmark = pytest.mark.e2e

# The long-window SLO rules (6h, 3d, 30d) are evaluated once a minute, so a fresh stack
# needs up to a minute plus a few scrapes before those series exist.
QUERY_TIMEOUT_S = 150.0
# The background load stops by itself after this long even if teardown never runs.
LOAD_MAX_DURATION_S = 900.0
REQUEST_TIMEOUT_S = 35.0

PROMQL_QUERIES = [query for query in panel_queries(committed_dashboards()) if query.datasource_type == "prometheus"]
VARIABLE_SELECTORS = sorted(
    {
        variable["query"][len("label_values(") : variable["query"].rindex(",")]
        for dashboard in committed_dashboards().values()
        for variable in dashboard["templating"].get("list", [])
    }
)


def empty_without_incident(query: PanelQuery) -> bool:
    """Return True for alert-state queries, which have no series while nothing fires."""
    return metric_names(substitute_variables(query.expr)) == {"ALERTS"} and "vector(0)" not in query.expr


def drive_load(agent_url: str, stop: threading.Event) -> None:
    """Send a mix of tasks to the agent until `stop` is set or LOAD_MAX_DURATION_S passes."""
    rng = random.Random(20261204)
    task_types = list(TASK_TYPE_WEIGHTS)
    deadline = time.monotonic() + LOAD_MAX_DURATION_S
    sent = 0
    with requests.Session() as session:
        while not stop.is_set() and time.monotonic() < deadline:
            if sent % 10 == 9:
                path, body = "/api/v1/process", error_task(rng)
            elif sent % 5 == 4:
                path, body = "/api/v1/tasks", random_task(rng)
            else:
                path, body = "/api/v1/process", random_task(rng, task_types[sent % len(task_types)])
            try:
                session.post(agent_url + path, json=body, timeout=REQUEST_TIMEOUT_S)
            except requests.RequestException:
                # A slow or failed request is part of the load; the queries decide.
                pass
            sent += 1
            stop.wait(0.05)


@pytest.fixture(scope="module")
def loaded_stack(native_stack):
    """The native stack with a background load running for the whole module."""
    stop = threading.Event()
    worker = threading.Thread(target=drive_load, args=(native_stack.urls["agent"], stop), daemon=True)
    worker.start()
    yield native_stack
    stop.set()
    worker.join(timeout=REQUEST_TIMEOUT_S + 5)


def query_prometheus(base_url: str, expr: str) -> list[dict]:
    response = requests.get(f"{base_url}/api/v1/query", params={"query": expr}, timeout=10)
    response.raise_for_status()
    body = response.json()
    assert body["status"] == "success", body
    return body["data"]["result"]


def has_number(result: list[dict]) -> bool:
    """Return True when an instant-query result contains at least one sample that is not NaN."""
    for series in result:
        value = series.get("value") or [None, "NaN"]
        if not math.isnan(float(value[1])):
            return True
    return False


@pytest.mark.parametrize("query", PROMQL_QUERIES, ids=lambda query: query.label)
def test_panel_query_returns_data(loaded_stack, query):
    prometheus = loaded_stack.urls["prometheus"]
    expr = substitute_variables(query.expr)

    if empty_without_incident(query):
        # Without a firing alert the result is empty; the query must still run.
        assert isinstance(query_prometheus(prometheus, expr), list)
        return

    wait_until(
        lambda: has_number(query_prometheus(prometheus, expr)),
        timeout_s=QUERY_TIMEOUT_S,
        what=f"data for panel {query.dashboard}/{query.panel!r}: {expr}",
        interval_s=2.0,
    )


@pytest.mark.parametrize("selector", VARIABLE_SELECTORS)
def test_variable_query_returns_data(loaded_stack, selector):
    prometheus = loaded_stack.urls["prometheus"]
    wait_until(
        lambda: query_prometheus(prometheus, selector),
        timeout_s=QUERY_TIMEOUT_S,
        what=f"series for template variable selector {selector}",
        interval_s=2.0,
    )


def test_alert_state_queries_are_few():
    # Guards the exemption above: only the ALERTS tables and the firing-history graph.
    exempt = [query.label for query in PROMQL_QUERIES if empty_without_incident(query)]
    assert len(exempt) == 4, exempt
