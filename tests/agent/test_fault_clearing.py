"""DELETE /admin/faults clears every target, or only the one in ?target= or the body."""

from __future__ import annotations

import pytest
import requests

from agentlab.faults import FaultStore
from tests.support import free_port


def set_both_faults(agent, model_server) -> None:
    for target in ("agent", "model"):
        response = agent.client.post("/admin/faults", json={"target": target, "error_rate": 0.5, "duration_s": 60})
        assert response.status_code == 201


def targets_left(agent) -> list[str]:
    return sorted(f["target"] for f in agent.client.get("/admin/faults").get_json()["faults"])


def test_clear_without_target_clears_both(agent, model_server):
    set_both_faults(agent, model_server)

    response = agent.client.delete("/admin/faults")

    assert response.status_code == 200
    assert response.get_json() == {"cleared": {"agent": 1, "model": 1}, "faults": []}
    assert targets_left(agent) == []


@pytest.mark.parametrize("query, payload, cleared, left", [
    ("?target=model", None, {"model": 1}, ["agent"]),
    ("?target=agent", None, {"agent": 1}, ["model"]),
    ("", {"target": "model"}, {"model": 1}, ["agent"]),
    ("?target=agent", {"target": "agent"}, {"agent": 1}, ["model"]),
])
def test_clear_one_target(agent, model_server, query, payload, cleared, left):
    set_both_faults(agent, model_server)

    response = agent.client.delete(f"/admin/faults{query}", json=payload)

    assert response.status_code == 200
    assert response.get_json()["cleared"] == cleared
    assert [f["target"] for f in response.get_json()["faults"]] == left
    assert targets_left(agent) == left


@pytest.mark.parametrize("query, payload", [
    ("?target=nonsense", None),
    ("?target=", None),
    ("", {"target": "nonsense"}),
    ("", {"target": None}),
    ("?target=agent", {"target": "model"}),
])
def test_clear_bad_target_clears_nothing(agent, model_server, query, payload):
    set_both_faults(agent, model_server)

    response = agent.client.delete(f"/admin/faults{query}", json=payload)

    assert response.status_code == 400
    assert response.get_json()["field"] == "target"
    assert targets_left(agent) == ["agent", "model"]


def test_clear_model_target_with_model_down_is_502(make_agent):
    agent = make_agent(model_url=f"http://127.0.0.1:{free_port()}")
    agent.client.post("/admin/faults", json={"target": "agent", "error_rate": 0.5})

    response = agent.client.delete("/admin/faults?target=model")

    assert response.status_code == 502
    assert response.get_json()["error"] == "model_unreachable"
    assert len(agent.runtime.faults.active()) == 1


def test_clear_all_with_model_down_still_clears_agent(make_agent):
    agent = make_agent(model_url=f"http://127.0.0.1:{free_port()}")
    agent.client.post("/admin/faults", json={"target": "agent", "error_rate": 0.5})

    response = agent.client.delete("/admin/faults")

    assert response.status_code == 200
    assert response.get_json()["cleared"] == {"agent": 1, "model": None}
    assert "unreachable" in response.get_json()["model_error"]
    assert agent.runtime.faults.active() == []


@pytest.mark.parametrize("query", ["", "?target=model"])
def test_model_clear_accepts_own_target(model_server, query):
    model_server.faults.add("model", 1.0, 0, 60)

    response = requests.delete(f"{model_server.url}/admin/faults{query}", timeout=5)

    assert response.status_code == 200
    assert response.json()["cleared"] == 1
    assert model_server.faults.active() == []


def test_fault_store_clear_by_target():
    now = [0.0]
    store = FaultStore(clock=lambda: now[0])
    store.add("agent", 0.5, 0, 10)
    store.add("model", 0.5, 0, 10)
    store.add("model", 0.5, 0, 1)
    now[0] = 5.0

    cleared_model = store.clear("model")

    assert cleared_model == 1
    assert [f.target for f in store.active()] == ["agent"]
    assert store.clear() == 1
    assert store.active() == []
