"""Command line for the fault scenarios: `python -m loadgen.faults SCENARIO [options]`.

Exit status:
- 0: the scenario ran and its faults were cleared;
- 1: the agent was unreachable, or a fault could not be set or cleared;
- 2: an argument was invalid;
- 130: Ctrl-C or SIGTERM interrupted the run. The faults are cleared in this case too.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from contextlib import contextmanager
from typing import Iterator

from loadgen.faults.client import AgentUnreachable, FaultApiError, default_host
from loadgen.faults.scenarios import (
    DEFAULT_TIMEOUT_S,
    SCENARIOS,
    ErrorBurst,
    LatencySpike,
    QueueFlood,
    Scenario,
    SlowModel,
)

PROG = "python -m loadgen.faults"
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class OneLineErrorParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr instead of usage plus message."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
    return value


def positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text!r}")
    return value


# argparse names the type function in its message, so give the validators readable names.
positive_float.__name__ = "positive number"
positive_int.__name__ = "positive integer"
fraction.__name__ = "fraction"


def add_common_arguments(parser: argparse.ArgumentParser, scenario: type[Scenario]) -> None:
    parser.add_argument(
        "--host",
        default=default_host(),
        help="agent base URL; the only host that gets traffic (default: LOADGEN_HOST or %(default)s)",
    )
    parser.add_argument(
        "--duration-s",
        type=positive_float,
        default=scenario.default_duration_s,
        help="stop sending after this many seconds (default: %(default)s)",
    )
    parser.add_argument(
        "--max-requests",
        type=positive_int,
        default=scenario.default_max_requests,
        help="stop sending after this many requests (default: %(default)s)",
    )
    parser.add_argument(
        "--rate",
        type=positive_float,
        default=scenario.default_rate_per_s,
        help="requests per second while responses keep up (default: %(default)s)",
    )
    parser.add_argument(
        "--concurrency",
        type=positive_int,
        default=scenario.default_concurrency,
        help="maximum requests in flight (default: %(default)s)",
    )
    parser.add_argument(
        "--timeout-s",
        type=positive_float,
        default=DEFAULT_TIMEOUT_S,
        help="per-request timeout in seconds (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, help="seed for the request mix, to repeat a run exactly")
    parser.add_argument("-v", "--verbose", action="store_true", help="log faults and progress to stderr")


def describe_scenario(scenario: type[Scenario]) -> str:
    text = f"{scenario.description[0].upper()}{scenario.description[1:]}. Expected alerts: {', '.join(scenario.alerts)}."
    if scenario.may_fire:
        text += f" May also fire: {', '.join(scenario.may_fire)}."
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog=PROG,
        description="Inject a fault into the agent or model and send traffic until a time or request "
        "bound is reached; the fault is cleared at the end, on Ctrl-C and on SIGTERM.",
        epilog="Each scenario has its own --help.",
    )
    subparsers = parser.add_subparsers(dest="scenario", required=True, metavar="SCENARIO")
    for name, scenario in SCENARIOS.items():
        subparser = subparsers.add_parser(
            name,
            help=scenario.description,
            description=describe_scenario(scenario),
        )
        add_common_arguments(subparser, scenario)
        SCENARIO_ARGUMENTS[scenario](subparser)
    return parser


def add_error_burst_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--mode",
        choices=ErrorBurst.modes,
        default=ErrorBurst.default_mode,
        help="payload: send trigger_error tasks; fault: set an agent error_rate fault; "
        "both (default): do both",
    )
    parser.add_argument(
        "--error-rate",
        type=fraction,
        default=ErrorBurst.default_error_rate,
        help="share of requests the agent fault fails, 0-1 (default: %(default)s)",
    )
    parser.add_argument(
        "--payload-ratio",
        type=fraction,
        default=ErrorBurst.default_payload_ratio,
        help="share of requests sent with trigger_error, 0-1 (default: %(default)s)",
    )


def latency_arguments(scenario: type[LatencySpike | SlowModel | QueueFlood], component: str):
    """Return a function that adds --latency-ms for the fault on `component`."""

    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--latency-ms",
            type=positive_int,
            default=scenario.default_latency_ms,
            help=f"delay the {component} adds to each request, in ms, at most 30000 (default: %(default)s)",
        )

    return add_arguments


SCENARIO_ARGUMENTS = {
    ErrorBurst: add_error_burst_arguments,
    LatencySpike: latency_arguments(LatencySpike, "agent"),
    SlowModel: latency_arguments(SlowModel, "model"),
    QueueFlood: latency_arguments(QueueFlood, "model"),
}


def scenario_options(args: argparse.Namespace) -> dict:
    """Map parsed arguments to the keyword arguments of the chosen scenario class."""
    options = {
        "duration_s": args.duration_s,
        "max_requests": args.max_requests,
        "rate_per_s": args.rate,
        "concurrency": args.concurrency,
        "timeout_s": args.timeout_s,
        "seed": args.seed,
    }
    if args.scenario == ErrorBurst.name:
        options.update(mode=args.mode, error_rate=args.error_rate, payload_ratio=args.payload_ratio)
    else:
        options["latency_ms"] = args.latency_ms
    return options


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt so that `kill` clears the faults like Ctrl-C does."""

    def interrupt(_signum, _frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        scenario = SCENARIOS[args.scenario](args.host, **scenario_options(args))
    except ValueError as error:
        print(f"{PROG} {args.scenario}: error: {error} (see --help)", file=sys.stderr)
        return EXIT_USAGE

    interrupted = False
    with sigterm_as_interrupt():
        try:
            scenario.start()
            # Short waits keep the main thread responsive to Ctrl-C.
            while not scenario.wait(0.5):
                pass
        except (AgentUnreachable, FaultApiError) as error:
            print(f"{scenario.name}: error: {error}", file=sys.stderr)
            return EXIT_FAILED
        except KeyboardInterrupt:
            interrupted = True
        finally:
            scenario.stop()

    print(scenario.summary() + ("; interrupted" if interrupted else ""), flush=True)
    if scenario.clear_errors:
        return EXIT_FAILED
    return EXIT_INTERRUPTED if interrupted else EXIT_OK
