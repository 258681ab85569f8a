"""Session fixtures shared by the test folders.

`native_stack` runs the whole native lab (agent, model, receiver, Prometheus, Alertmanager)
once per session through `lab.stack.Stack`, the runner of `python -m lab up`. It takes free
ports and a temporary run folder, so a lab on the standard ports is left alone.
"""

from __future__ import annotations

import pytest

from lab.components import COMPONENTS, Ports
from lab.stack import Stack
from tests.support import free_port, require_binary


@pytest.fixture(scope="session")
def native_stack(tmp_path_factory):
    """Yield a running Stack; `.urls` maps agent, model, receiver, prometheus, alertmanager to base URLs."""
    for binary in ("prometheus", "prometheus-alertmanager", "promtool", "amtool"):
        require_binary(binary)
    ports = Ports(**{component: free_port() for component in COMPONENTS})
    stack = Stack(tmp_path_factory.mktemp("native-lab"), ports)
    stack.up(timeout_s=90)
    try:
        yield stack
    finally:
        stack.down()
