"""Settings read from the environment; a bad value stops start-up with its name."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


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
    log_level: str = "INFO"


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
        log_level=log_level,
    )
