"""One-line errors of the lab command: unreachable lab, unexpected HTTP responses, bad load options, port clashes."""

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from lab import cli
from lab.burn_forecast import query_value
from lab.components import REPO_ROOT, Ports
from lab.drill import ReceiverClient, active_alerts, active_in_alertmanager, queue_depth
from lab.errors import LabError
from lab.http_client import START_HINT, get
from lab.load import parse_run_time, parse_spawn_rate, parse_users
from lab.stack import stop_command
from lab.target import Target
from tests.support import StubServer, free_port

PORT_VARIABLES = ("LAB_AGENT_PORT", "LAB_MODEL_PORT", "LAB_RECEIVER_PORT", "LAB_PROMETHEUS_PORT", "LAB_ALERTMANAGER_PORT")


@pytest.fixture
def lab_env(monkeypatch, tmp_path):
    """Point every lab port at a free port where nothing listens, and the run folder at tmp_path."""
    ports = {}
    for name in PORT_VARIABLES:
        ports[name] = free_port()
        monkeypatch.setenv(name, str(ports[name]))
    monkeypatch.setenv("LAB_RUN_DIR", str(tmp_path / "run"))
    return ports


# -- drill: every HTTP call fails with one LabError --------------------------------------

# (name, call, component, path) for each HTTP call the drill makes.
DRILL_CALLS = [
    ("receiver", lambda url: ReceiverClient(url).first_arrival("AgentDown", "firing", 0.0), "receiver", "/api/notifications"),
    ("prometheus alerts", active_alerts, "prometheus", "/api/v1/alerts"),
    ("alertmanager alerts", active_in_alertmanager, "alertmanager", "/api/v2/alerts"),
    ("prometheus query", lambda url: query_value(url, "up"), "prometheus", "/api/v1/query"),
    ("agent queue", queue_depth, "agent", "/metrics"),
]
DRILL_IDS = [case[0] for case in DRILL_CALLS]


@pytest.mark.parametrize(("name", "call", "component", "path"), DRILL_CALLS, ids=DRILL_IDS)
def test_drill_call_without_server(name, call, component, path):
    url = f"http://127.0.0.1:{free_port()}"

    with pytest.raises(LabError) as error:
        call(url)

    assert str(error.value) == f"the lab is not reachable at {url}{path} (no connection to the {component}); {START_HINT}"


@pytest.mark.parametrize(("name", "call", "component", "path"), DRILL_CALLS, ids=DRILL_IDS)
def test_drill_call_error_status(name, call, component, path):
    with StubServer(503, "text/plain", "Service Unavailable") as stub:
        with pytest.raises(LabError) as error:
            call(stub.url)

    assert str(error.value) == f"the {component} at {stub.url}{path} returned HTTP 503: 'Service Unavailable'"


@pytest.mark.parametrize(("name", "call", "component", "path"), DRILL_CALLS[:4], ids=DRILL_IDS[:4])
def test_drill_call_body_not_json(name, call, component, path):
    with StubServer(200, "text/html", "<html>Grafana</html>") as stub:
        with pytest.raises(LabError) as error:
            call(stub.url)

    assert str(error.value) == (
        f"the {component} at {stub.url}{path} returned HTTP 200 with a body that is not JSON "
        "('<html>Grafana</html>'); is another program listening on that port?"
    )


@pytest.mark.parametrize(("name", "call", "component", "path"), DRILL_CALLS[:4], ids=DRILL_IDS[:4])
def test_drill_call_json_without_fields(name, call, component, path):
    with StubServer(200, "application/json", json.dumps([{"unexpected": 1}])) as stub:
        with pytest.raises(LabError) as error:
            call(stub.url)

    message = str(error.value)
    assert message.startswith(f"the {component} at {stub.url}{path} returned JSON without the expected fields (")
    assert message.endswith("); is another program listening on that port?")


def test_queue_depth_text_not_metrics():
    with StubServer(200, "text/plain", "<html>not metrics</html>") as stub:
        with pytest.raises(LabError) as error:
            queue_depth(stub.url)

    assert str(error.value).startswith(f"the agent at {stub.url}/metrics returned text that is not in the Prometheus format: ")


def test_get_times_out_on_silent_server():
    # A listening socket that never accepts: the connection completes in the kernel's
    # backlog, and the request then waits for a response that never comes.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/api/v1/alerts"

        with pytest.raises(LabError) as error:
            get(url, component="prometheus", timeout_s=0.2)

    assert str(error.value) == (
        f"GET {url} to the prometheus timed out after 0.2 s; check its log and `python -m lab status`"
    )


def test_drill_without_lab_one_line(lab_env):
    model_url = f"http://127.0.0.1:{lab_env['LAB_MODEL_PORT']}"

    result = subprocess.run(
        [sys.executable, "-m", "lab", "drill", "error-burst"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == f"lab drill: the lab is not reachable at {model_url}/readyz (no connection to the model); {START_HINT}\n"


def test_unknown_target_description_reads():
    target = Target("unknown", Ports(agent=18080).urls())

    assert f"drilling {target.describe()}" == (
        "drilling the lab expected at http://127.0.0.1:18080 and the other LAB_*_PORT ports "
        "(no native lab runs from the run folder and docker compose runs no agent)"
    )


# -- status --------------------------------------------------------------------------


def test_status_without_lab(lab_env, capsys):
    status = cli.main(["status"])

    out, err = capsys.readouterr()
    assert status == 1
    assert out.count("UNHEALTHY  connection failed") == 5
    assert err == f"lab status: no component is ready; if the lab is not running, {START_HINT}\n"


# -- load ----------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "users"), [("1", 1), ("20", 20), ("500", 500)])
def test_parse_users_valid(text, users):
    assert parse_users(text) == users


@pytest.mark.parametrize(("text", "rate"), [("5", 5.0), ("0.5", 0.5), ("100", 100.0)])
def test_parse_spawn_rate_valid(text, rate):
    assert parse_spawn_rate(text) == rate


@pytest.mark.parametrize("text", ["1", "30", "30s", "2m", "1h", "1h30m", "3h30m10s", "90m", "0h1s"])
def test_parse_run_time_valid(text):
    assert parse_run_time(text) == text


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("-u", "-3", "argument -u/--users: invalid user count -3: must be at least 1"),
        ("-u", "0", "argument -u/--users: invalid user count 0: must be at least 1"),
        ("--users", "many", "argument -u/--users: invalid user count 'many': expected a whole number, at least 1"),
        ("-u", "2.5", "argument -u/--users: invalid user count '2.5': expected a whole number, at least 1"),
        ("-r", "0", "argument -r/--spawn-rate: invalid spawn rate '0': must be a number greater than 0"),
        ("-r", "-1", "argument -r/--spawn-rate: invalid spawn rate '-1': must be a number greater than 0"),
        ("-r", "nan", "argument -r/--spawn-rate: invalid spawn rate 'nan': must be a number greater than 0"),
        ("--spawn-rate", "fast", "argument -r/--spawn-rate: invalid spawn rate 'fast': expected users per second, e.g. 5 or 0.5"),
        ("-t", "0", "argument -t/--run-time: invalid run time '0': must be at least 1 s"),
        ("-t", "0s", "argument -t/--run-time: invalid run time '0s': must be at least 1 s"),
        *[
            ("-t", text, f"argument -t/--run-time: invalid run time {text!r}: expected seconds or h/m/s parts in that order, e.g. 30, 30s, 2m, 1h30m")
            for text in ("5x", "2 m", "30m1h", "1.5m", "m", "+30s", "1d")
        ],
    ],
)
def test_load_rejects_invalid_option(option, value, message, lab_env, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["load", option, value])

    assert exit_info.value.code == 2
    assert capsys.readouterr().err == f"python -m lab load: error: {message} (see --help)\n"


def test_load_without_agent(lab_env, capsys):
    agent_url = f"http://127.0.0.1:{lab_env['LAB_AGENT_PORT']}"

    status = cli.main(["load", "-t", "5s"])

    assert status == 1
    assert capsys.readouterr().err == (
        f"lab load: the lab is not reachable at {agent_url}/healthz (no connection to the agent); {START_HINT}\n"
    )


def test_load_with_unhealthy_agent(lab_env, monkeypatch, capsys):
    with StubServer(503, "application/json", '{"status": "starting"}') as stub:
        monkeypatch.setenv("LAB_AGENT_PORT", stub.url.rsplit(":", 1)[1])

        status = cli.main(["load", "-t", "5s"])

    assert status == 1
    assert capsys.readouterr().err == f"lab load: the agent at {stub.url}/healthz returned HTTP 503: '{{\"status\": \"starting\"}}'\n"


# -- up: duplicate ports -------------------------------------------------------------


@pytest.mark.parametrize(
    ("ports", "message"),
    [
        (
            Ports(prometheus=8080),
            "the agent and the prometheus are both configured on port 8080; "
            "set LAB_AGENT_PORT or LAB_PROMETHEUS_PORT to a different free port",
        ),
        (
            Ports(model=9000, receiver=9000),
            "the model and the receiver are both configured on port 9000; "
            "set LAB_MODEL_PORT or LAB_RECEIVER_PORT to a different free port",
        ),
        (
            Ports(model=9000, agent=9000, alertmanager=9000),
            "the model, the agent and the alertmanager are all configured on port 9000; "
            "set LAB_MODEL_PORT, LAB_AGENT_PORT or LAB_ALERTMANAGER_PORT to a different free port",
        ),
    ],
)
def test_ports_check_distinct_names_both(ports, message):
    with pytest.raises(ValueError) as error:
        ports.check_distinct()

    assert str(error.value) == message


def test_ports_distinct_standard():
    Ports().check_distinct()

    assert Ports().conflicts() == []


def test_up_rejects_duplicate_port_first(lab_env, monkeypatch, tmp_path, capsys):
    port = lab_env["LAB_AGENT_PORT"]
    monkeypatch.setenv("LAB_PROMETHEUS_PORT", str(port))
    # No binaries on PATH either: the port check must come before anything else.
    monkeypatch.setenv("PATH", str(tmp_path))

    status = cli.main(["up"])

    assert status == 1
    assert capsys.readouterr().err == (
        f"lab up: the agent and the prometheus are both configured on port {port}; "
        "set LAB_AGENT_PORT or LAB_PROMETHEUS_PORT to a different free port\n"
    )
    assert not (tmp_path / "run").exists()


# -- help and the stop command ---------------------------------------------------------


def test_help_mentions_benchmarks():
    result = subprocess.run([sys.executable, "-m", "lab", "--help"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)

    assert result.returncode == 0
    assert "`python -m lab.bench` or `make bench`" in " ".join(result.stdout.split())


VENV = str(REPO_ROOT / ".venv")


@pytest.mark.parametrize(
    ("prefix", "run_dir", "cwd", "command"),
    [
        (VENV, REPO_ROOT / "run", REPO_ROOT, "make lab-down"),
        (VENV, Path("/tmp/lab-a"), REPO_ROOT, ".venv/bin/python -m lab down --run-dir /tmp/lab-a"),
        (VENV, REPO_ROOT / "run", Path("/"), f"cd {REPO_ROOT} && {REPO_ROOT}/.venv/bin/python -m lab down"),
        ("/usr", REPO_ROOT / "run", REPO_ROOT, f"{sys.executable} -m lab down"),
        ("/usr", Path("/tmp/lab-a"), Path("/"), f"cd {REPO_ROOT} && {sys.executable} -m lab down --run-dir /tmp/lab-a"),
    ],
)
def test_stop_command_table(prefix, run_dir, cwd, command):
    assert stop_command(run_dir, prefix=prefix, cwd=cwd) == command

