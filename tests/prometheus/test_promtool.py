"""Run the real promtool on the shipped config, rule files and unit tests."""

from __future__ import annotations

import subprocess

from tests.prometheus.helpers import REPO, RULE_FILES, TEST_FILES
from tests.support import require_binary


def run_promtool(*args: str) -> subprocess.CompletedProcess:
    """Run promtool from the repository root, where the README's commands run."""
    promtool = require_binary("promtool")
    return subprocess.run(
        [promtool, *args], cwd=REPO, capture_output=True, text=True, timeout=300, check=False
    )


def test_check_config_passes():
    result = run_promtool("check", "config", "prometheus/prometheus.yml")

    assert result.returncode == 0, result.stdout + result.stderr
    # check config also checks every rule file the config names.
    for path in RULE_FILES:
        assert f"Checking {path.relative_to(REPO).as_posix()}" in result.stdout, result.stdout


def test_check_rules_passes():
    paths = [path.relative_to(REPO).as_posix() for path in RULE_FILES]

    result = run_promtool("check", "rules", *paths)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(paths), result.stdout


def test_unit_tests_pass():
    paths = [path.relative_to(REPO).as_posix() for path in TEST_FILES]

    result = run_promtool("test", "rules", *paths)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(paths), result.stdout
    assert "FAILED" not in result.stdout
