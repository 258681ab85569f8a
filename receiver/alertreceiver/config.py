"""Settings read from the environment; a bad value stops start-up with its name."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# Mount point of docs/runbooks in the compose file.
MOUNTED_RUNBOOKS_DIR = "/runbooks"


def default_runbooks_dir() -> str:
    """Return the repository's docs/runbooks when the package runs from a checkout, else /runbooks.

    An editable install (the native lab's) imports this file from <repo>/receiver/alertreceiver/,
    so the folder two levels up is the repository. A regular install into site-packages has no
    docs/runbooks there and falls back to the compose mount.
    """
    checkout_dir = Path(__file__).resolve().parents[2] / "docs" / "runbooks"
    if checkout_dir.is_dir():
        return str(checkout_dir)
    return MOUNTED_RUNBOOKS_DIR


class ConfigError(ValueError):
    """A setting in the environment is invalid."""


@dataclass(frozen=True)
class Settings:
    """Receiver settings, one field per RECEIVER_* variable."""

    host: str = "0.0.0.0"
    port: int = 5001
    db_path: str = "/data/notifications.db"
    grafana_url: str = "http://127.0.0.1:3000"
    alertmanager_url: str = "http://127.0.0.1:9093"
    max_body_bytes: int = 1024 * 1024
    # RECEIVER_MAX_NOTIFICATIONS: rows kept; each insert deletes the oldest rows beyond it.
    max_notifications: int = 100_000
    log_level: str = "INFO"
    # RECEIVER_RUNBOOKS_DIR: the <AlertName>.md files served at /runbooks/. A set value must
    # be an existing folder; the default may be missing, and then /runbooks/ returns 404.
    runbooks_dir: str = default_runbooks_dir()


def _int_setting(environ: Mapping[str, str], name: str, default: int, minimum: int, maximum: int) -> int:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer; set it to a whole number") from None
    if not minimum <= value <= maximum:
        raise ConfigError(f"{name}={value} is out of range; use {minimum}..{maximum}")
    return value


def _url_setting(environ: Mapping[str, str], name: str, default: str) -> str:
    value = environ.get(name) or default
    if not value.startswith(("http://", "https://")):
        raise ConfigError(f"{name}={value!r} is not an http(s) URL; set it like {default}")
    return value.rstrip("/")


def _directory_setting(environ: Mapping[str, str], name: str, default: str) -> str:
    """Return the folder named by `name`; a set value must exist, the default may be missing."""
    value = environ.get(name)
    if not value:
        return default
    if not Path(value).is_dir():
        raise ConfigError(f"{name}={value!r} is not an existing folder; point it at the repository's docs/runbooks")
    return value


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read the RECEIVER_* variables (and LOG_LEVEL), raising ConfigError on a bad value."""
    env = os.environ if environ is None else environ
    log_level = (env.get("LOG_LEVEL") or "INFO").upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigError(f"LOG_LEVEL={log_level!r} is invalid; use DEBUG, INFO, WARNING or ERROR")
    return Settings(
        host=env.get("RECEIVER_HOST") or Settings.host,
        port=_int_setting(env, "RECEIVER_PORT", Settings.port, 1, 65535),
        db_path=env.get("RECEIVER_DB") or Settings.db_path,
        grafana_url=_url_setting(env, "RECEIVER_GRAFANA_URL", Settings.grafana_url),
        alertmanager_url=_url_setting(env, "RECEIVER_ALERTMANAGER_URL", Settings.alertmanager_url),
        max_body_bytes=_int_setting(env, "RECEIVER_MAX_BODY_BYTES", Settings.max_body_bytes, 1024, 64 * 1024 * 1024),
        max_notifications=_int_setting(env, "RECEIVER_MAX_NOTIFICATIONS", Settings.max_notifications, 1, 10**9),
        log_level=log_level,
        runbooks_dir=_directory_setting(env, "RECEIVER_RUNBOOKS_DIR", Settings.runbooks_dir),
    )
