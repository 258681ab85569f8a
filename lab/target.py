"""Which lab a command talks to: the native one in the run folder, or the compose one.

`lab status` and `lab drill` use only HTTP against the component URLs, so they work the
same for both. Stopping and restarting the agent or the model (the agent-down, agent-restart
and model-down drills) needs process control: the native lab's state file, or
`docker compose stop|start|restart`.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from lab.components import READY_PATHS, REPO_ROOT, Ports
from lab.errors import LabError
from lab.stack import Stack, probe_ready


@dataclass
class Target:
    """A running lab: how it was started ("native", "compose" or "unknown") and its URLs."""

    mode: str
    urls: dict[str, str]
    stack: Stack | None = None

    def describe(self) -> str:
        """Return a noun phrase, with its article, naming this lab for "drilling ..." and similar lines."""
        if self.mode == "native":
            return f"the native lab started from {self.stack.run_dir}"
        if self.mode == "compose":
            return "the compose lab (docker compose in the repository root)"
        return (
            f"the lab expected at {self.urls['agent']} and the other LAB_*_PORT ports "
            "(no native lab runs from the run folder and docker compose runs no agent)"
        )

    def stop(self, component: str) -> None:
        """Stop the agent's or model's process (native) or container (compose)."""
        if self.mode == "native":
            self.stack.stop_component(component)
        elif self.mode == "compose":
            _compose("stop", component)
        else:
            raise LabError(f"cannot stop the {component}: this lab was not started by `lab up` or docker compose")

    def start(self, component: str, *, timeout_s: float = 60.0) -> None:
        """Start the agent or model again and wait until it and the agent are ready.

        The agent's /readyz calls the model's, so after a model restart both must return 200.
        """
        ready_components = [component] if component == "agent" else [component, "agent"]
        if self.mode == "native":
            self.stack.start_component(component)
            self.stack.wait_ready(ready_components, timeout_s=timeout_s)
            return
        if self.mode == "compose":
            _compose("start", component)
            for name in ready_components:
                self._wait_ready(name, timeout_s)
            return
        raise LabError(f"cannot start the {component}: this lab was not started by `lab up` or docker compose")

    def restart_agent(self, *, timeout_s: float = 60.0) -> None:
        """Restart the agent so it comes back with a new process start time."""
        if self.mode == "native":
            self.stack.restart_component("agent", timeout_s=timeout_s)
            return
        if self.mode == "compose":
            _compose("restart", "agent")
            self._wait_ready("agent", timeout_s)
            return
        raise LabError("cannot restart the agent: this lab was not started by `lab up` or docker compose")

    def _wait_ready(self, component: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        url = self.urls[component] + READY_PATHS[component]
        while True:
            ready, detail = probe_ready(url)
            if ready:
                return
            if time.monotonic() > deadline:
                raise LabError(f"timed out after {timeout_s:.0f} s waiting for the {component} at {url} ({detail})")
            time.sleep(0.5)


def _compose(*arguments: str) -> str:
    command = ["docker", "compose", *arguments]
    try:
        result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False)
    except FileNotFoundError:
        raise LabError("docker not found on PATH") from None
    if result.returncode != 0:
        raise LabError(f"`{' '.join(command)}` failed: {result.stderr.strip()}")
    return result.stdout


def compose_agent_running() -> bool:
    """Return True if docker is installed and the compose project has a running agent."""
    if shutil.which("docker") is None:
        return False
    try:
        output = _compose("ps", "--status", "running", "--services")
    except LabError:
        return False
    return "agent" in output.split()


def detect_target(run_dir: Path) -> Target:
    """Return the native lab of run_dir if its processes run, else the compose lab if any."""
    stack = Stack.load(run_dir)
    if stack is not None and stack.running():
        return Target("native", stack.urls, stack)
    urls = Ports.from_env().urls()
    if compose_agent_running():
        return Target("compose", urls)
    return Target("unknown", urls)
