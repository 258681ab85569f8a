"""The native stack: start, watch and stop the lab's processes on 127.0.0.1.

`Stack` is shared by the CLI (`python -m lab up|down|status`) and the tests' `native_stack`
fixture. Everything a run needs lives in one run folder: the generated configs, the state
file (`lab-state.json`) naming every started process, `logs/<component>.log`, and the data
of Prometheus, Alertmanager and the receiver.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import requests

from lab import processes
from lab.components import COMPONENTS, READY_PATHS, REPO_ROOT, Ports, port_env_var
from lab.errors import LabError
from lab.loopback import write_configs
from lab.processes import ProcessRecord

STATE_FILE = "lab-state.json"
BINARIES = ("prometheus", "prometheus-alertmanager", "promtool", "amtool")
PYTHON_PACKAGES = ("gunicorn", "agentlab", "alertreceiver")

Progress = Callable[[str], None]


def _quiet(_message: str) -> None:
    pass


@dataclass
class ComponentStatus:
    """One line of `lab status`: the process (native only) and the ready endpoint."""

    name: str
    url: str
    process: str
    healthy: bool
    detail: str


def probe_ready(url: str, timeout_s: float = 2.0) -> tuple[bool, str]:
    """GET `url`; return (True, "HTTP 200") on status 200, else False and the status or the failure."""
    try:
        response = requests.get(url, timeout=timeout_s)
    except requests.Timeout:
        # Checked before ConnectionError, because ConnectTimeout is both.
        return False, f"no answer in {timeout_s:g} s"
    except requests.ConnectionError:
        return False, "connection failed"
    except requests.RequestException as error:
        return False, type(error).__name__
    return response.status_code == 200, f"HTTP {response.status_code}"


def port_in_use(port: int) -> bool:
    """Return True if something listens on 127.0.0.1:port (or on all addresses)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Servers set SO_REUSEADDR too, so a port left in TIME_WAIT counts as free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_command(run_dir: Path, *, prefix: str = sys.prefix, cwd: Path | None = None) -> str:
    """Return the shell command that stops the lab in `run_dir`, for the Python that runs `lab up`.

    `make lab-down` only fits a lab that `make lab` would stop: the repository's .venv and the
    default run folder. Otherwise the command names this interpreter and the run folder, and a
    `cd` to the repository, because `lab` is importable only from there.
    """
    cwd = Path.cwd() if cwd is None else cwd
    in_repo = cwd.resolve() == REPO_ROOT
    venv = REPO_ROOT / ".venv"
    from_venv = Path(prefix).resolve() == venv.resolve()
    default_run_dir = run_dir.resolve() == (REPO_ROOT / "run").resolve()
    if from_venv and default_run_dir and in_repo:
        return "make lab-down"
    if from_venv:
        python = ".venv/bin/python" if in_repo else str(venv / "bin" / "python")
    else:
        python = sys.executable
    command = f"{python} -m lab down"
    if not default_run_dir:
        command += f" --run-dir {run_dir}"
    return command if in_repo else f"cd {REPO_ROOT} && {command}"


def _log_tail(path: str, lines: int = 15) -> str:
    try:
        text = Path(path).read_text(errors="replace")
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


class Stack:
    """The native lab in one run folder.

    `Stack(run_dir, ports).up()` starts the lab. `Stack.load(run_dir)` returns the stack a
    state file describes, so a later command can stop or inspect it.
    """

    def __init__(self, run_dir: Path, ports: Ports, *, python: str = sys.executable) -> None:
        self.run_dir = Path(run_dir).resolve()
        self.ports = ports
        self.python = python
        self.records: dict[str, ProcessRecord] = {}
        self.started_at: str | None = None
        self.ready_after_s: float | None = None

    # -- state -----------------------------------------------------------------------

    @property
    def state_path(self) -> Path:
        return self.run_dir / STATE_FILE

    @property
    def urls(self) -> dict[str, str]:
        return self.ports.urls()

    @classmethod
    def load(cls, run_dir: Path) -> Stack | None:
        """Return the stack described by run_dir's state file, or None if there is none."""
        path = Path(run_dir).resolve() / STATE_FILE
        try:
            state = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except json.JSONDecodeError as error:
            raise LabError(f"state file {path} is not valid JSON ({error}); remove it if no lab runs") from None
        stack = cls(Path(run_dir), Ports(**state["ports"]), python=state.get("python", sys.executable))
        stack.records = {name: ProcessRecord.from_json(data) for name, data in state["processes"].items()}
        stack.started_at = state.get("started_at")
        stack.ready_after_s = state.get("ready_after_s")
        return stack

    def _save(self) -> None:
        state = {
            "started_at": self.started_at,
            "ready_after_s": self.ready_after_s,
            "python": self.python,
            "ports": self.ports.as_dict(),
            "urls": self.urls,
            "processes": {name: record.to_json() for name, record in self.records.items()},
        }
        self.state_path.write_text(json.dumps(state, indent=2) + "\n")

    def running(self) -> dict[str, ProcessRecord]:
        """Return the recorded processes that still run."""
        return {name: record for name, record in self.records.items() if processes.is_running(record)}

    # -- commands and environment ----------------------------------------------------

    def command(self, component: str) -> list[str]:
        """Return the command line that starts `component`."""
        port = self.ports.as_dict()[component]
        # The same entry points as the compose services: each runs gunicorn with its
        # package's settings and binds to the address its environment names.
        if component == "agent":
            return [self.python, "-m", "agentlab.agent"]
        if component == "model":
            return [self.python, "-m", "agentlab.model"]
        if component == "receiver":
            return [self.python, "-m", "alertreceiver"]
        if component == "prometheus":
            return [
                "prometheus",
                f"--config.file={self.run_dir / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.run_dir / 'data' / 'prometheus'}",
                f"--web.listen-address=127.0.0.1:{port}",
                f"--web.external-url=http://127.0.0.1:{port}/",
                # Lets `curl -X POST .../-/reload` pick up an edited run/prometheus.yml.
                "--web.enable-lifecycle",
                # The agent's latency histograms carry trace ids as exemplars.
                "--enable-feature=exemplar-storage",
            ]
        if component == "alertmanager":
            return [
                "prometheus-alertmanager",
                f"--config.file={self.run_dir / 'alertmanager.yml'}",
                f"--storage.path={self.run_dir / 'data' / 'alertmanager'}",
                f"--web.listen-address=127.0.0.1:{port}",
                f"--web.external-url=http://127.0.0.1:{port}/",
                # A single instance: no gossip port to collide with a second lab.
                "--cluster.listen-address=",
            ]
        raise ValueError(f"unknown component {component!r}")

    def environment(self, component: str) -> dict[str, str]:
        """Return the environment `component` starts with: ours plus its bind and peer settings."""
        env = dict(os.environ)
        ports = self.ports
        env.update(
            {
                "PYTHONUNBUFFERED": "1",
                # No Jaeger runs natively, so the services keep their spans to themselves.
                "OTEL_TRACES_EXPORTER": "none",
                "OTEL_METRICS_EXPORTER": "none",
                "OTEL_LOGS_EXPORTER": "none",
            }
        )
        if component == "agent":
            env.update(
                {
                    "AGENT_HOST": "127.0.0.1",
                    "AGENT_PORT": str(ports.agent),
                    "MODEL_URL": f"http://127.0.0.1:{ports.model}",
                    "OTEL_SERVICE_NAME": "agent",
                }
            )
        elif component == "model":
            env.update({"MODEL_HOST": "127.0.0.1", "MODEL_PORT": str(ports.model), "OTEL_SERVICE_NAME": "model"})
        elif component == "receiver":
            env.update(
                {
                    "RECEIVER_HOST": "127.0.0.1",
                    "RECEIVER_PORT": str(ports.receiver),
                    "RECEIVER_DB": str(self.run_dir / "data" / "receiver" / "notifications.db"),
                    "RECEIVER_ALERTMANAGER_URL": f"http://127.0.0.1:{ports.alertmanager}",
                    "OTEL_SERVICE_NAME": "receiver",
                }
            )
        return env

    # -- start -----------------------------------------------------------------------

    def check_prerequisites(self) -> None:
        """Raise LabError unless ports are distinct and free, binaries and packages exist and no lab runs here."""
        try:
            self.ports.check_distinct()
        except ValueError as error:
            # Before anything starts: the second server on a port would only fail later, as
            # "exited during start-up" with its own bind error in the log.
            raise LabError(str(error)) from None
        for binary in BINARIES:
            if shutil.which(binary) is None:
                raise LabError(
                    f"{binary} not found on PATH; install it with `make debs` "
                    "(or: sudo apt-get install prometheus prometheus-alertmanager)"
                )
        for package in PYTHON_PACKAGES:
            if importlib.util.find_spec(package) is None:
                raise LabError(f"Python package {package!r} is not installed in {self.python}; run `make setup`")
        existing = Stack.load(self.run_dir)
        if existing is not None and existing.running():
            names = ", ".join(sorted(existing.running()))
            raise LabError(
                f"the lab is already running from {self.run_dir} ({names}); "
                f"stop it with `{stop_command(self.run_dir)}` first"
            )
        for component, port in self.ports.as_dict().items():
            if port_in_use(port):
                raise LabError(
                    f"port {port} for the {component} is already in use on 127.0.0.1; stop what uses it "
                    f"or pick another port with {port_env_var(component)}=<port>"
                )

    def up(self, *, timeout_s: float = 60.0, progress: Progress = _quiet) -> None:
        """Start every component and wait until all are ready; on failure stop what started."""
        self.check_prerequisites()
        began = time.monotonic()
        write_configs(
            self.run_dir,
            self.ports,
            REPO_ROOT / "prometheus" / "prometheus.yml",
            REPO_ROOT / "alertmanager" / "alertmanager.yml",
        )
        for folder in ("logs", "data/prometheus", "data/alertmanager", "data/receiver"):
            (self.run_dir / folder).mkdir(parents=True, exist_ok=True)
        self.records = {}
        self.started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        try:
            for component in COMPONENTS:
                self.start_component(component)
            self.wait_ready(COMPONENTS, timeout_s=timeout_s, progress=progress, began=began)
        except BaseException:
            self.down()
            raise
        self.ready_after_s = round(time.monotonic() - began, 2)
        self._save()

    def start_component(self, component: str) -> ProcessRecord:
        """Start one component detached and record it in the state file."""
        log_path = self.run_dir / "logs" / f"{component}.log"
        record = processes.spawn(
            self.command(component), env=self.environment(component), log_path=log_path, cwd=REPO_ROOT
        )
        self.records[component] = record
        self._save()
        return record

    def wait_ready(
        self,
        components: tuple[str, ...] | list[str],
        *,
        timeout_s: float,
        progress: Progress = _quiet,
        began: float | None = None,
    ) -> None:
        """Poll the ready endpoints until all return 200; raise LabError if a process exits or the timeout passes."""
        began = time.monotonic() if began is None else began
        pending = list(components)
        last_detail: dict[str, str] = {}
        while pending:
            for component in list(pending):
                record = self.records.get(component)
                if record is not None and not processes.is_running(record):
                    raise LabError(
                        f"the {component} exited during start-up; last lines of {record.log}:\n{_log_tail(record.log)}"
                    )
                ready, detail = probe_ready(self.urls[component] + READY_PATHS[component])
                last_detail[component] = detail
                if ready:
                    pending.remove(component)
            elapsed_s = time.monotonic() - began
            if not pending:
                progress(f"all components ready after {elapsed_s:.1f} s")
                return
            progress(f"waiting for {', '.join(pending)} to be ready ({elapsed_s:.1f} s)")
            if elapsed_s > timeout_s:
                details = ", ".join(f"{name}: {last_detail.get(name, '?')}" for name in pending)
                raise LabError(f"timed out after {timeout_s:.0f} s waiting for {details}; see {self.run_dir / 'logs'}")
            time.sleep(0.2)

    # -- stop ------------------------------------------------------------------------

    def stop_component(self, component: str, *, timeout_s: float = 10.0) -> str:
        """Stop one component's process group; return "stopped", "killed" or "not running"."""
        record = self.records.get(component)
        if record is None:
            return "not running"
        return processes.stop(record, timeout_s=timeout_s)

    def restart_component(self, component: str, *, timeout_s: float = 30.0, progress: Progress = _quiet) -> None:
        """Stop and start one component, then wait until it is ready again."""
        self.stop_component(component)
        self.start_component(component)
        self.wait_ready([component], timeout_s=timeout_s, progress=progress)

    def down(self) -> dict[str, str]:
        """Stop every recorded process, newest first, and remove the state file."""
        outcomes = {}
        for component in reversed(list(self.records)):
            outcomes[component] = self.stop_component(component)
        self.state_path.unlink(missing_ok=True)
        return outcomes

    # -- inspect ---------------------------------------------------------------------

    def status(self) -> list[ComponentStatus]:
        """Return each component's process state and ready check."""
        rows = []
        for component in COMPONENTS:
            record = self.records.get(component)
            if record is None:
                process = "not started"
            elif processes.is_running(record):
                process = f"running (pid {record.pid})"
            else:
                process = "exited"
            url = self.urls[component]
            healthy, detail = probe_ready(url + READY_PATHS[component])
            rows.append(ComponentStatus(component, url, process, healthy, detail))
        return rows
