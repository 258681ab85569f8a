"""Start the real Alertmanager against a receiver on loopback, for the delivery tests."""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from werkzeug.serving import make_server

from alertreceiver.app import create_app
from alertreceiver.config import Settings
from tests.support import free_port, wait_until

REPO = Path(__file__).resolve().parents[2]
ALERTMANAGER_DIR = REPO / "alertmanager"
CONFIG = ALERTMANAGER_DIR / "alertmanager.yml"
# The receiver address every URL in alertmanager.yml uses (the compose service name).
RECEIVER_ADDRESS = "receiver:5001"


def rewrite_alertmanager_config(target_dir: Path, receiver_address: str, source: Path = CONFIG) -> Path:
    """Copy alertmanager.yml and its templates into target_dir, pointing at receiver_address.

    receiver_address is host:port, e.g. 127.0.0.1:40123. Only that address changes, so
    the copy routes, groups and renders exactly as the shipped file. Returns the new path.
    """
    text = source.read_text()
    if RECEIVER_ADDRESS not in text:
        raise ValueError(f"{source} has no {RECEIVER_ADDRESS} URL to rewrite")
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / "alertmanager.yml"
    target.write_text(text.replace(RECEIVER_ADDRESS, receiver_address))
    # Alertmanager resolves `templates:` relative to the config file.
    shutil.copytree(source.parent / "templates", target_dir / "templates", dirs_exist_ok=True)
    return target


@contextmanager
def running_receiver(db_path: Path) -> Iterator[str]:
    """Serve a receiver app on a free loopback port in a thread; yield its base URL."""
    app = create_app(Settings(db_path=str(db_path)))
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="receiver", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@contextmanager
def running_alertmanager(binary: str, config: Path, work_dir: Path) -> Iterator[str]:
    """Run the Alertmanager binary on a free port with its own storage; yield its base URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = work_dir / "alertmanager.log"
    command = [
        binary,
        f"--config.file={config}",
        f"--storage.path={work_dir / 'alertmanager-data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        f"--web.external-url={url}",
        # An empty address turns clustering off, so no gossip port can clash.
        "--cluster.listen-address=",
    ]
    with log_path.open("w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)

    def ready() -> bool:
        if process.poll() is not None:
            pytest.fail(f"Alertmanager exited with status {process.returncode}:\n{log_path.read_text()[-2000:]}")
        return requests.get(f"{url}/-/ready", timeout=2).ok

    try:
        wait_until(ready, timeout_s=30, what=f"Alertmanager ready at {url} (log: {log_path})")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
