"""`lab load`: Locust headless against the lab's agent, with defaults for a quick look."""

from __future__ import annotations

import argparse
import math
import re
import subprocess
import sys
from pathlib import Path

from lab.components import REPO_ROOT

DEFAULT_USERS = 20
DEFAULT_SPAWN_RATE = 5.0
DEFAULT_RUN_TIME = "1m"

# Locust's --run-time format (locust.util.timespan): whole seconds, or hours, minutes and
# seconds in that order, each optional, e.g. 30s, 2m, 1h30m. Not imported from Locust,
# because importing locust monkey-patches the standard library with gevent.
RUN_TIME_PATTERN = re.compile(r"(?:(?P<hours>\d+)h)?(?:(?P<minutes>\d+)m)?(?:(?P<seconds>\d+)s)?")


def parse_users(text: str) -> int:
    """Parse --users: a whole number of at least 1."""
    try:
        users = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid user count {text!r}: expected a whole number, at least 1") from None
    if users < 1:
        raise argparse.ArgumentTypeError(f"invalid user count {users}: must be at least 1")
    return users


def parse_spawn_rate(text: str) -> float:
    """Parse --spawn-rate: users started per second, greater than 0."""
    try:
        rate = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid spawn rate {text!r}: expected users per second, e.g. 5 or 0.5") from None
    if not math.isfinite(rate) or rate <= 0:
        raise argparse.ArgumentTypeError(f"invalid spawn rate {text!r}: must be a number greater than 0")
    return rate


def parse_run_time(text: str) -> str:
    """Check --run-time against Locust's format and return it unchanged; it must be at least 1 s."""
    match = RUN_TIME_PATTERN.fullmatch(text)
    if text.isdigit():
        seconds = int(text)
    elif text and match is not None:
        parts = {name: int(value) for name, value in match.groupdict().items() if value}
        seconds = parts.get("hours", 0) * 3600 + parts.get("minutes", 0) * 60 + parts.get("seconds", 0)
    else:
        raise argparse.ArgumentTypeError(
            f"invalid run time {text!r}: expected seconds or h/m/s parts in that order, e.g. 30, 30s, 2m, 1h30m"
        )
    if seconds < 1:
        raise argparse.ArgumentTypeError(f"invalid run time {text!r}: must be at least 1 s")
    return text


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
