"""Benchmarks of the native lab: start-up time, memory under load, alert latency.

Run with `make bench` or `python -m lab.bench`. It starts its own lab on free ports in a
temporary run folder (a lab on the standard ports is left alone), measures, stops the lab,
and writes docs/benchmarks.md. Measured:

- `python -m lab up` from a cold start to all components ready (wall clock, as a user waits);
- the summed resident memory (VmRSS from /proc) of every lab process while Locust drives the
  agent, sampled each second; Locust itself is not counted. Summed RSS counts pages that
  gunicorn's master and worker share twice, so it overstates; the summed PSS is given beside it;
- when the error-burst drill's AgentHighErrorRate reaches the receiver, against the earliest
  time the configuration allows.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from lab.components import COMPONENTS, REPO_ROOT, port_env_var
from lab.processes import ProcessRecord, group_members
from lab.stack import free_port

TARGET_UP_S = 10.0
TARGET_RSS_MB = 600.0
TARGET_ALERT_S = 90.0
LOAD_USERS = 20
LOAD_SPAWN_RATE = 10
LOAD_RUN_TIME_S = 60
OUTPUT = REPO_ROOT / "docs" / "benchmarks.md"


def memory_kb(pid: int) -> tuple[int, int]:
    """Return (RSS, PSS) of `pid` in kB, or (0, 0) if it has gone."""
    rss_kb = pss_kb = 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss_kb = int(line.split()[1])
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss_kb = int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return rss_kb, pss_kb


def lab_memory_mb(records: list[ProcessRecord]) -> tuple[float, float]:
    """Return the summed (RSS, PSS) in MB of every process in the lab's process groups."""
    rss_kb = pss_kb = 0
    for record in records:
        for pid in group_members(record.pgid):
            rss, pss = memory_kb(pid)
            rss_kb += rss
            pss_kb += pss
    return rss_kb / 1024, pss_kb / 1024


def lab(env: dict, *arguments: str, timeout_s: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lab", *arguments], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout_s
    )


def check(result: subprocess.CompletedProcess, what: str) -> None:
    if result.returncode != 0:
        raise SystemExit(f"lab.bench: {what} failed (exit {result.returncode}):\n{result.stdout}{result.stderr}")


def machine() -> str:
    """Return a one-line description of CPU, memory, OS and the Prometheus version."""
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
        platform.processor() or "unknown CPU",
    )
    memory_kb_total = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal:")
    )
    prometheus = subprocess.run(["prometheus", "--version"], capture_output=True, text=True, check=False)
    prometheus_version = (prometheus.stdout or prometheus.stderr).splitlines()[0]
    return (
        f"{os.cpu_count()} cores ({cpu}), {memory_kb_total / 1024 / 1024:.1f} GiB RAM, "
        f"Linux {platform.release()}, Python {platform.python_version()}, {prometheus_version}"
    )


def measure_memory(env: dict, records: list[ProcessRecord], run_dir: Path) -> dict:
    samples: list[tuple[float, float]] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            samples.append(lab_memory_mb(records))
            stop.wait(1.0)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        load = lab(
            env, "load", "--users", str(LOAD_USERS), "--spawn-rate", str(LOAD_SPAWN_RATE),
            "--run-time", f"{LOAD_RUN_TIME_S}s", timeout_s=LOAD_RUN_TIME_S + 120,
        )
    finally:
        stop.set()
        sampler.join()
    check(load, "lab load")
    stats = _locust_totals(run_dir / "locust" / "locust_stats.csv")
    return {
        "max_rss_mb": max(rss for rss, _ in samples),
        "mean_rss_mb": sum(rss for rss, _ in samples) / len(samples),
        "max_pss_mb": max(pss for _, pss in samples),
        "samples": len(samples),
        **stats,
    }


def _locust_totals(path: Path) -> dict:
    with open(path, newline="") as stats:
        totals = next(row for row in csv.DictReader(stats) if row["Name"] == "Aggregated")
    return {
        "requests": int(totals["Request Count"]),
        "failures": int(totals["Failure Count"]),
        "requests_per_s": float(totals["Requests/s"]),
    }


def main() -> int:
    run_dir = Path(tempfile.mkdtemp(prefix="lab-bench-")) / "run"
    env = dict(os.environ)
    for component in COMPONENTS:
        env[port_env_var(component)] = str(free_port())
    env["LAB_RUN_DIR"] = str(run_dir)
    date = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")

    print("starting the lab ...", file=sys.stderr)
    began = time.monotonic()
    up = lab(env, "up", timeout_s=180)
    up_s = time.monotonic() - began
    check(up, "lab up")
    try:
        state = json.loads((run_dir / "lab-state.json").read_text())
        records = [ProcessRecord.from_json(data) for data in state["processes"].values()]
        print(f"lab up: {up_s:.1f} s; Locust for {LOAD_RUN_TIME_S} s ...", file=sys.stderr)
        memory = measure_memory(env, records, run_dir)
        print(f"max RSS {memory['max_rss_mb']:.0f} MB; error-burst drill (about 6 minutes) ...", file=sys.stderr)
        drill = lab(env, "drill", "error-burst", "--json", timeout_s=900)
        rows = json.loads(drill.stdout) if drill.stdout.strip() else []
    finally:
        lab(env, "down", timeout_s=120)
    alert = next((row for row in rows if row["alert"] == "AgentHighErrorRate"), None)
    if alert is None:
        raise SystemExit(f"lab.bench: the error-burst drill gave no AgentHighErrorRate result:\n{drill.stderr}")

    text = render(date, up_s, state.get("ready_after_s"), memory, alert)
    OUTPUT.write_text(text)
    print(text)
    return 0


def render(date: str, up_s: float, ready_after_s: float | None, memory: dict, alert: dict) -> str:
    evaluation_s = _evaluation_interval_s()
    fired_s = alert["fired_after_s"]
    earliest_s = alert["earliest_possible_s"]
    alert_met = fired_s is not None and fired_s <= TARGET_ALERT_S and fired_s <= earliest_s + 2 * evaluation_s
    rows = [
        ("`lab up`, cold start to all ready", f"{up_s:.1f} s (inside the runner: {ready_after_s} s)", f"≤ {TARGET_UP_S:.0f} s", up_s <= TARGET_UP_S),
        (
            f"Summed RSS of the lab's processes, Locust at {LOAD_USERS} users",
            f"max {memory['max_rss_mb']:.0f} MB, mean {memory['mean_rss_mb']:.0f} MB (max PSS {memory['max_pss_mb']:.0f} MB)",
            f"< {TARGET_RSS_MB:.0f} MB",
            memory["max_rss_mb"] < TARGET_RSS_MB,
        ),
        (
            "Error burst: AgentHighErrorRate at the receiver after the fault's start",
            f"{fired_s} s (earliest possible {earliest_s:.0f} s, so {fired_s - earliest_s:+.1f} s)" if fired_s is not None else "never",
            f"≤ {TARGET_ALERT_S:.0f} s and ≤ earliest + 2 × {evaluation_s:.0f} s",
            alert_met,
        ),
    ]
    lines = [
        "# Benchmarks",
        "",
        "Measured by `make bench` (`python -m lab.bench`), which starts its own native lab on free",
        "ports, measures and stops it. The numbers below are from one run; rerun it to refresh them.",
        "",
        f"- Date: {date}",
        f"- Machine: {machine()}",
        "- Command: `make bench`",
        "",
        "| Measure | Result | Target | Met |",
        "|---|---|---|---|",
    ]
    lines += [f"| {name} | {result} | {target} | {'yes' if met else 'NO'} |" for name, result, target, met in rows]
    lines += [
        "",
        "Notes:",
        "",
        f"- Load: Locust headless, {LOAD_USERS} users spawned at {LOAD_SPAWN_RATE}/s for {LOAD_RUN_TIME_S} s "
        f"(`python -m lab load`), {memory['requests']} requests at {memory['requests_per_s']:.1f}/s, "
        f"{memory['failures']} failures. Memory was sampled {memory['samples']} times, once a second.",
        "- Summed RSS counts memory that processes share (the gunicorn master and its worker) once per",
        "  process, so it overstates the real use; PSS splits shared pages between the processes.",
        "- The earliest possible time is the rule's `for` (rounded up to whole evaluation intervals) plus",
        "  Alertmanager's `group_wait`, read from prometheus/prometheus.yml, the rule files and",
        "  alertmanager/alertmanager.yml by `lab.alert_timing`. The rest is where the fault fell between",
        "  scrapes and evaluations.",
        "- Load generator, services, Prometheus and Alertmanager share the same cores, so the numbers",
        "  include their competition for CPU.",
        "",
    ]
    return "\n".join(lines)


def _evaluation_interval_s() -> float:
    from lab.alert_timing import load_prometheus

    return load_prometheus(REPO_ROOT / "prometheus" / "prometheus.yml").evaluation_interval_s


if __name__ == "__main__":
    sys.exit(main())
