"""amtool check-config on the shipped file and on the real-secrets variant users make."""

from __future__ import annotations

import subprocess

import pytest

from tests.alertmanager.helpers import ALERTMANAGER_DIR, CONFIG, REPO
from tests.support import require_binary


def _check_config(path):
    amtool = require_binary("amtool")
    return subprocess.run([amtool, "check-config", str(path)], capture_output=True, text=True, timeout=60)


def test_shipped_config_passes_check_config():
    result = _check_config(CONFIG)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    assert " - 2 inhibit rules" in result.stdout
    assert " - 3 receivers" in result.stdout
    assert " - 1 templates" in result.stdout


def test_every_receiver_url_uses_receiver_address():
    text = CONFIG.read_text()

    urls = [line.split(":", 1)[1].strip() for line in text.splitlines()
            if line.strip().startswith(("- url:", "url:", "- api_url:", "api_url:"))]

    assert urls == [
        "http://receiver:5001/webhook",
        "http://receiver:5001/pagerduty/v2/enqueue",
        "http://receiver:5001/slack/alerts-critical",
        "http://receiver:5001/slack/ai-platform-alerts",
    ]


def test_secrets_variant_passes_check_config(tmp_path):
    # The edit that alertmanager/secrets/README.md describes for real Slack and PagerDuty.
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "slack_api_url").write_text("https://hooks.slack.invalid/services/T0/B0/X\n")
    (secrets / "pagerduty_routing_key").write_text("0123456789abcdef0123456789abcdef\n")
    text = CONFIG.read_text()
    text = text.replace("api_url: http://receiver:5001/slack/alerts-critical", f"api_url_file: {secrets}/slack_api_url")
    text = text.replace("api_url: http://receiver:5001/slack/ai-platform-alerts", f"api_url_file: {secrets}/slack_api_url")
    text = text.replace("routing_key: lab0dummy0routing0key0not0secret", f"routing_key_file: {secrets}/pagerduty_routing_key")
    text = text.replace("        url: http://receiver:5001/pagerduty/v2/enqueue\n", "")
    variant = tmp_path / "alertmanager.yml"
    variant.write_text(text)
    (tmp_path / "templates").symlink_to(ALERTMANAGER_DIR / "templates")

    result = _check_config(variant)

    assert "receiver:5001/slack" not in text
    assert "receiver:5001/pagerduty" not in text
    assert "routing_key_file" in text
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", ["slack_api_url", "pagerduty_routing_key", "anything.txt"])
def test_secret_files_are_git_ignored(name):
    git = require_binary("git")

    result = subprocess.run([git, "check-ignore", "-q", f"alertmanager/secrets/{name}"], cwd=REPO, timeout=30)

    assert result.returncode == 0


def test_secrets_readme_is_not_ignored():
    git = require_binary("git")

    result = subprocess.run([git, "check-ignore", "-q", "alertmanager/secrets/README.md"], cwd=REPO, timeout=30)

    assert result.returncode == 1
