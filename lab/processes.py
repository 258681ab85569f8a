"""Detached processes that outlive `lab up`, and stopping exactly those later.

Each component runs in its own session and process group, so `lab down` can signal a
gunicorn master together with its workers. A pid alone is not proof of identity once the
starting process has exited, because the kernel reuses pids: the state file also records
the process start time from /proc/<pid>/stat, and a process whose start time differs is
left alone. Linux only, like the rest of the native lab.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path


# Children started by this Python process. Holding them keeps Popen from warning about a
# running child when the object is garbage-collected; `lab up` exits and leaves them to init.
_children: dict[int, subprocess.Popen] = {}


@dataclass(frozen=True)
class ProcessRecord:
    """State-file entry of one started process: ids, start time, command and log path."""

    pid: int
    pgid: int
    start_ticks: int
    command: list[str]
    log: str

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> ProcessRecord:
        return cls(
            pid=int(data["pid"]),
            pgid=int(data["pgid"]),
            start_ticks=int(data["start_ticks"]),
            command=list(data["command"]),
            log=str(data["log"]),
        )


def _stat_fields(pid: int) -> list[str] | None:
    """Return the fields of /proc/<pid>/stat after the command name, or None if pid is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name is in parentheses and may itself contain spaces or parentheses.
    return text[text.rindex(")") + 2 :].split()


def start_ticks(pid: int) -> int | None:
    """Return the start time of `pid` in clock ticks since boot, or None if it does not exist."""
    fields = _stat_fields(pid)
    # Field 22 of the full line; after the pid and the command name it is index 19.
    return int(fields[19]) if fields else None


def is_running(record: ProcessRecord) -> bool:
    """Return True if the recorded process still runs and is the same process (not a zombie)."""
    fields = _stat_fields(record.pid)
    if fields is None or fields[0] == "Z":
        return False
    return int(fields[19]) == record.start_ticks


def group_members(pgid: int) -> list[int]:
    """Return the pids of live (non-zombie) processes in process group `pgid`."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        # After the command name: state, ppid, pgrp.
        if fields and fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def spawn(command: list[str], *, env: dict[str, str], log_path: Path, cwd: Path) -> ProcessRecord:
    """Start `command` detached, in its own session, with stdout and stderr appended to log_path."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _children[process.pid] = process
    ticks = start_ticks(process.pid)
    if ticks is None:
        ticks = -1
    return ProcessRecord(process.pid, process.pid, ticks, command, str(log_path))


def _reap(pid: int) -> None:
    """Collect the exit status if `pid` is our child, so it does not linger as a zombie."""
    child = _children.pop(pid, None)
    if child is None:
        return
    try:
        # The group is empty by now, so the leader has exited or is about to.
        child.wait(timeout=2.0)
    except subprocess.TimeoutExpired:
        _children[pid] = child


def stop(record: ProcessRecord, *, timeout_s: float = 10.0) -> str:
    """Stop the process group of `record`: SIGTERM, then SIGKILL after timeout_s.

    Return what happened: "stopped", "killed", or "not running" when the recorded process is
    gone or its pid now belongs to another process (then nothing is signalled).
    """
    if not is_running(record):
        _reap(record.pid)
        return "not running"
    _signal_group(record.pgid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not group_members(record.pgid):
            _reap(record.pid)
            return "stopped"
        time.sleep(0.1)
    _signal_group(record.pgid, signal.SIGKILL)
    deadline = time.monotonic() + 5.0
    while group_members(record.pgid) and time.monotonic() < deadline:
        _reap(record.pid)
        time.sleep(0.1)
    _reap(record.pid)
    return "killed"


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        pass
