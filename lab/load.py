"""`lab load`: Locust headless against the lab's agent, with defaults for a quick look."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from lab.components import REPO_ROOT

DEFAULT_USERS = 20
DEFAULT_SPAWN_RATE = 5.0
DEFAULT_RUN_TIME = "1m"


def locust_command(
    agent_url: str,
    csv_dir: Path,
    *,
    users: int = DEFAULT_USERS,
    spawn_rate: float = DEFAULT_SPAWN_RATE,
    run_time: str = DEFAULT_RUN_TIME,
    extra_args: list[str] | None = None,
    python: str = sys.executable,
) -> list[str]:
    """Return the Locust command line; `extra_args` go last, so they override the defaults."""
    return [
        python,
        "-m",
        "locust",
        "--locustfile",
        str(REPO_ROOT / "loadgen" / "locustfile.py"),
        "--headless",
        "--host",
        agent_url,
        "--users",
        str(users),
        "--spawn-rate",
        f"{spawn_rate:g}",
        "--run-time",
        run_time,
        "--csv",
        str(csv_dir / "locust"),
        "--only-summary",
        *(extra_args or []),
    ]


def run_locust(command: list[str], csv_dir: Path) -> int:
    """Run Locust in the foreground and return its exit status (1 when any request failed)."""
    csv_dir.mkdir(parents=True, exist_ok=True)
    return subprocess.run(command, cwd=REPO_ROOT, check=False).returncode
