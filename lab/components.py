"""The lab's components: names, standard ports, the environment variables that move them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# Start order: the model before the agent that calls it, the receiver before the
# Alertmanager that posts to it, Prometheus last so its first scrapes find everyone up.
COMPONENTS: tuple[str, ...] = ("model", "agent", "receiver", "alertmanager", "prometheus")

# The compose stack's ports, which the native lab keeps so the same URLs work for both.
STANDARD_PORTS: dict[str, int] = {
    "agent": 8080,
    "model": 8081,
    "receiver": 5001,
    "prometheus": 9090,
    "alertmanager": 9093,
}

# The path where each component returns 200 once it serves requests.
READY_PATHS: dict[str, str] = {
    "agent": "/readyz",
    "model": "/readyz",
    "receiver": "/healthz",
    "prometheus": "/-/ready",
    "alertmanager": "/-/ready",
}


def port_env_var(component: str) -> str:
    """Return the environment variable that overrides `component`'s port, e.g. LAB_AGENT_PORT."""
    return f"LAB_{component.upper()}_PORT"


@dataclass(frozen=True)
class Ports:
    """The TCP port of each component on 127.0.0.1."""

    agent: int = STANDARD_PORTS["agent"]
    model: int = STANDARD_PORTS["model"]
    receiver: int = STANDARD_PORTS["receiver"]
    prometheus: int = STANDARD_PORTS["prometheus"]
    alertmanager: int = STANDARD_PORTS["alertmanager"]

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Ports:
        """Read LAB_<COMPONENT>_PORT overrides; unset ones keep the standard port."""
        environ = os.environ if environ is None else environ
        values: dict[str, int] = {}
        for component in COMPONENTS:
            name = port_env_var(component)
            raw = environ.get(name)
            if raw is None or raw == "":
                continue
            try:
                port = int(raw)
            except ValueError:
                raise ValueError(f"{name}={raw!r} is not a port number") from None
            if not 1 <= port <= 65535:
                raise ValueError(f"{name}={port} is outside 1-65535")
            values[component] = port
        return cls(**values)

    def as_dict(self) -> dict[str, int]:
        """Return {component: port} in start order."""
        return {component: getattr(self, component) for component in COMPONENTS}

    def urls(self) -> dict[str, str]:
        """Return {component: base URL} on 127.0.0.1."""
        return {name: f"http://127.0.0.1:{port}" for name, port in self.as_dict().items()}

    def conflicts(self) -> list[tuple[int, list[str]]]:
        """Return (port, components) for each port that more than one component is configured on."""
        by_port: dict[int, list[str]] = {}
        for component, port in self.as_dict().items():
            by_port.setdefault(port, []).append(component)
        return [(port, names) for port, names in by_port.items() if len(names) > 1]

    def check_distinct(self) -> None:
        """Raise ValueError naming the components and variables of the first port used twice."""
        for port, names in self.conflicts():
            labels = [f"the {name}" for name in names]
            components = ", ".join(labels[:-1]) + " and " + labels[-1]
            variables = ", ".join(port_env_var(name) for name in names[:-1]) + " or " + port_env_var(names[-1])
            both = "both" if len(names) == 2 else "all"
            raise ValueError(f"{components} are {both} configured on port {port}; set {variables} to a different free port")
