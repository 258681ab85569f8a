"""Command line of the lab: `python -m lab up|down|status|load|drill`.

Ports come from LAB_AGENT_PORT, LAB_MODEL_PORT, LAB_RECEIVER_PORT, LAB_PROMETHEUS_PORT and
LAB_ALERTMANAGER_PORT (default: the compose ports 8080, 8081, 5001, 9090, 9093); the run
folder from --run-dir or LAB_RUN_DIR (default: run/ in the repository).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

from lab.components import COMPONENTS, REPO_ROOT, Ports
from lab.drill import SCENARIO_NAMES, PROCESS_SCENARIOS, AlertResult, Drill, format_results
from lab.errors import LabError
from lab.http_client import START_HINT, get, require_ready
from lab.load import (
    DEFAULT_RUN_TIME,
    DEFAULT_SPAWN_RATE,
    DEFAULT_USERS,
    locust_command,
    parse_run_time,
    parse_spawn_rate,
    parse_users,
    run_locust,
)
from lab.stack import Stack, stop_command
from lab.target import detect_target


class Reporter:
    """Progress on stderr: one line rewritten in place on a terminal, throttled lines otherwise."""

    def __init__(self, stream=sys.stderr, *, throttle_s: float = 10.0) -> None:
        self.stream = stream
        self.interactive = stream.isatty()
        self.throttle_s = throttle_s
        self._last_key = ""
        self._last_printed = 0.0
        self._line_open = False

    def __call__(self, message: str) -> None:
        if self.interactive:
            self.stream.write("\r\033[K" + message)
            self._line_open = True
            self.stream.flush()
            return
        # Without a terminal, print a message when it changes beyond its numbers, or now and then.
        key = re.sub(r"[\d.]+", "", message)
        now = time.monotonic()
        if key != self._last_key or now - self._last_printed >= self.throttle_s:
            self.stream.write(message + "\n")
            self.stream.flush()
            self._last_key = key
            self._last_printed = now

    def done(self) -> None:
        """End the in-place line so the next output starts on its own line."""
        if self._line_open:
            self.stream.write("\n")
            self.stream.flush()
            self._line_open = False


class OneLineErrorParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr, exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _run_dir(args: argparse.Namespace) -> Path:
    return Path(args.run_dir or os.environ.get("LAB_RUN_DIR") or REPO_ROOT / "run").resolve()


def _print_urls(urls: dict[str, str]) -> None:
    links = {
        "agent": "/api/v1/process",
        "model": "/metrics",
        "receiver": "/",
        "prometheus": "/alerts",
        "alertmanager": "/#/alerts",
    }
    width = max(len(name) for name in urls)
    for name, url in urls.items():
        print(f"  {name.ljust(width)}  {url}{links.get(name, '')}")


def command_up(args: argparse.Namespace) -> int:
    stack = Stack(_run_dir(args), Ports.from_env())
    reporter = Reporter()
    try:
        stack.up(timeout_s=args.timeout_s, progress=reporter)
    finally:
        reporter.done()
    print(f"native lab ready in {stack.ready_after_s:.1f} s (run folder {stack.run_dir}, logs in {stack.run_dir / 'logs'})")
    _print_urls(stack.urls)
    print(f"stop it with: {stop_command(stack.run_dir)}")
    return 0


def command_down(args: argparse.Namespace) -> int:
    stack = Stack.load(_run_dir(args))
    if stack is None:
        print(f"no native lab recorded in {_run_dir(args)}; nothing to stop")
        return 0
    for component, outcome in stack.down().items():
        print(f"  {component}: {outcome}")
    return 0


def command_status(args: argparse.Namespace) -> int:
    target = detect_target(_run_dir(args))
    print(f"status of {target.describe()}")
    if target.stack is not None:
        rows = target.stack.status()
    else:
        rows = Stack(_run_dir(args), Ports.from_env()).status()
    healthy = True
    for row in rows:
        process = row.process if target.mode == "native" else "-"
        state = "healthy" if row.healthy else "UNHEALTHY"
        healthy &= row.healthy
        print(f"  {row.name.ljust(12)}  {state.ljust(9)}  {row.detail.ljust(22)}  {row.url.ljust(24)}  {process}")
    if not any(row.healthy for row in rows):
        print(f"lab status: no component is ready; if the lab is not running, {START_HINT}", file=sys.stderr)
    return 0 if healthy else 1


def command_load(args: argparse.Namespace, extra_args: list[str]) -> int:
    target = detect_target(_run_dir(args))
    # Without this check Locust runs for the whole --run-time and fails every request.
    get(target.urls["agent"] + "/healthz", component="agent", timeout_s=3.0)
    csv_dir = _run_dir(args) / "locust"
    command = locust_command(
        target.urls["agent"],
        csv_dir,
        users=args.users,
        spawn_rate=args.spawn_rate,
        run_time=args.run_time,
        extra_args=extra_args,
    )
    print(f"Locust against {target.urls['agent']} ({target.describe()}); CSV stats in {csv_dir}", file=sys.stderr)
    return run_locust(command, csv_dir)


def command_drill(args: argparse.Namespace) -> int:
    target = detect_target(_run_dir(args))
    scenarios = list(SCENARIO_NAMES) if args.scenario == "all" else [args.scenario]
    if target.mode == "unknown" and any(name in PROCESS_SCENARIOS for name in scenarios):
        raise LabError(
            f"{', '.join(PROCESS_SCENARIOS)} stop the agent or the model, which needs a lab started by "
            "`python -m lab up` (or docker compose); none was found"
        )
    # Checked first, so a stopped lab gives one line here and not an error in mid-drill.
    require_ready(target.urls, COMPONENTS)
    reporter = Reporter()
    print(f"drilling {target.describe()}", file=sys.stderr)
    results: list[AlertResult] = []
    for scenario in scenarios:
        try:
            results += Drill(scenario, target, progress=reporter).run()
        finally:
            reporter.done()
    if args.json:
        print(json.dumps([result.as_dict() for result in results], indent=2))
    else:
        print(format_results(results))
    return 0 if all(result.ok for result in results) else 1


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog="python -m lab",
        description=__doc__.split("\n\n")[0],
        epilog="Benchmarks (start-up time, memory under load, alert latency): "
        "`python -m lab.bench` or `make bench`, which start their own lab on free ports.",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--run-dir", help="run folder of the native lab (default: LAB_RUN_DIR or run/)")
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", parents=[common], help="start the native lab and wait until it is healthy")
    up.add_argument("--timeout-s", type=float, default=60.0, help="seconds to wait for all components (default 60)")

    commands.add_parser("down", parents=[common], help="stop what `up` started")
    commands.add_parser("status", parents=[common], help="show each component's health")

    load = commands.add_parser(
        "load", parents=[common], help="run Locust headless against the agent; unknown options go to Locust"
    )
    load.add_argument(
        "-u", "--users", type=parse_users, default=DEFAULT_USERS, help=f"concurrent users, at least 1 (default {DEFAULT_USERS})"
    )
    load.add_argument(
        "-r",
        "--spawn-rate",
        type=parse_spawn_rate,
        default=DEFAULT_SPAWN_RATE,
        help=f"users started per second, greater than 0 (default {DEFAULT_SPAWN_RATE:g})",
    )
    load.add_argument(
        "-t",
        "--run-time",
        type=parse_run_time,
        default=DEFAULT_RUN_TIME,
        help=f"how long to run, in Locust's format: 30, 30s, 2m, 1h30m (default {DEFAULT_RUN_TIME})",
    )

    drill = commands.add_parser("drill", parents=[common], help="cause a fault and time its alerts at the receiver")
    drill.add_argument("scenario", choices=[*SCENARIO_NAMES, "all"], help="scenario to run, or all in turn")
    drill.add_argument("--json", action="store_true", help="print the results as a JSON list, one object per alert")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra_args = parser.parse_known_args(argv)
    if extra_args and args.command != "load":
        parser.error(f"unrecognized arguments: {' '.join(extra_args)}")
    try:
        if args.command == "up":
            return command_up(args)
        if args.command == "down":
            return command_down(args)
        if args.command == "status":
            return command_status(args)
        if args.command == "load":
            return command_load(args, extra_args)
        return command_drill(args)
    except LabError as error:
        print(f"lab {args.command}: {error}", file=sys.stderr)
        return 1
    except ValueError as error:
        # Invalid LAB_*_PORT values and scenario options.
        print(f"lab {args.command}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"lab {args.command}: interrupted", file=sys.stderr)
        return 130
