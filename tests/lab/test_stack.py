"""Process control, start-up checks and the command line's error messages (no services run)."""

import io
import json
import os
import socket
import sys

import pytest

from lab import cli, processes
from lab.components import Ports
from lab.processes import ProcessRecord
from lab.stack import STATE_FILE, Stack, stop_command
from tests.support import free_port, wait_until

SLEEP = [sys.executable, "-c", "import time; time.sleep(60)"]
# A parent that ignores SIGTERM and a child in the same group, as gunicorn's master and worker.
STUBBORN_GROUP = [
    sys.executable,
    "-c",
    "import signal, subprocess, sys, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
    "time.sleep(60)\n",
]


def spawn(tmp_path, command):
    return processes.spawn(command, env=dict(os.environ), log_path=tmp_path / "logs" / "p.log", cwd=tmp_path)


def test_stop_ends_the_process_group(tmp_path):
    record = spawn(tmp_path, SLEEP)
    assert processes.is_running(record)

    assert processes.stop(record) == "stopped"

    assert not processes.is_running(record)
    assert processes.group_members(record.pgid) == []


def test_stop_kills_a_group_that_ignores_sigterm(tmp_path):
    record = spawn(tmp_path, STUBBORN_GROUP)
    wait_until(lambda: len(processes.group_members(record.pgid)) == 2, timeout_s=10, what="the child process")

    assert processes.stop(record, timeout_s=0.5) == "killed"

    assert processes.group_members(record.pgid) == []


def test_stop_leaves_a_reused_pid_alone(tmp_path):
    record = spawn(tmp_path, SLEEP)
    impostor = ProcessRecord(record.pid, record.pgid, record.start_ticks + 1, record.command, record.log)

    assert processes.stop(impostor) == "not running"

    assert processes.is_running(record)
    processes.stop(record)


def test_record_round_trips_through_json(tmp_path):
    record = ProcessRecord(12, 12, 345, ["a", "b"], "/x.log")

    assert ProcessRecord.from_json(json.loads(json.dumps(record.to_json()))) == record


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"LAB_AGENT_PORT": "http"}, "LAB_AGENT_PORT='http' is not a port number"),
        ({"LAB_PROMETHEUS_PORT": "70000"}, "LAB_PROMETHEUS_PORT=70000 is outside 1-65535"),
    ],
)
def test_ports_from_env_rejects_invalid(environ, message):
    with pytest.raises(ValueError) as error:
        Ports.from_env(environ)
    assert str(error.value) == message


def test_ports_from_env_overrides_one():
    assert Ports.from_env({"LAB_RECEIVER_PORT": "15001"}) == Ports(receiver=15001)


def free_ports_env(monkeypatch, tmp_path):
    for name in ("AGENT", "MODEL", "RECEIVER", "PROMETHEUS", "ALERTMANAGER"):
        monkeypatch.setenv(f"LAB_{name}_PORT", str(free_port()))
    monkeypatch.setenv("LAB_RUN_DIR", str(tmp_path / "run"))


def test_up_names_a_taken_port(monkeypatch, tmp_path, capsys):
    free_ports_env(monkeypatch, tmp_path)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        monkeypatch.setenv("LAB_RECEIVER_PORT", str(port))

        status = cli.main(["up"])

    assert status == 1
    assert capsys.readouterr().err == (
        f"lab up: port {port} for the receiver is already in use on 127.0.0.1; stop what uses it "
        "or pick another port with LAB_RECEIVER_PORT=<port>\n"
    )


def test_up_names_a_missing_binary(monkeypatch, tmp_path, capsys):
    free_ports_env(monkeypatch, tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))

    status = cli.main(["up"])

    assert status == 1
    assert capsys.readouterr().err == (
        "lab up: prometheus not found on PATH; install it with `make debs` "
        "(or: sudo apt-get install prometheus prometheus-alertmanager)\n"
    )


def test_up_refuses_a_running_lab(monkeypatch, tmp_path, capsys):
    free_ports_env(monkeypatch, tmp_path)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    record = spawn(tmp_path, SLEEP)
    stack = Stack(run_dir, Ports.from_env())
    stack.records = {"agent": record}
    stack._save()

    try:
        status = cli.main(["up"])
    finally:
        processes.stop(record)

    assert status == 1
    assert capsys.readouterr().err == (
        f"lab up: the lab is already running from {run_dir} (agent); stop it with `{stop_command(run_dir)}` first\n"
    )


def test_down_stops_recorded_processes(monkeypatch, tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    record = spawn(tmp_path, SLEEP)
    stack = Stack(run_dir, Ports())
    stack.records = {"model": record}
    stack._save()

    status = cli.main(["down", "--run-dir", str(run_dir)])

    assert status == 0
    assert capsys.readouterr().out == "  model: stopped\n"
    assert not processes.is_running(record)
    assert not (run_dir / STATE_FILE).exists()


def test_down_without_state(tmp_path, capsys):
    assert cli.main(["down", "--run-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out == f"no native lab recorded in {tmp_path}; nothing to stop\n"


def test_drill_rejects_unknown_scenario(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["drill", "power-cut"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'power-cut'" in capsys.readouterr().err


def test_reporter_throttles_without_terminal():
    stream = io.StringIO()
    reporter = cli.Reporter(stream, throttle_s=60)

    reporter("waiting for agent (1.0 s)")
    reporter("waiting for agent (1.2 s)")
    reporter("waiting for model (1.4 s)")

    assert stream.getvalue() == "waiting for agent (1.0 s)\nwaiting for model (1.4 s)\n"
