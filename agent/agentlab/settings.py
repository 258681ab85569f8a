"""Settings of the agent and model services, read from environment variables.

Agent (``agentlab.agent``):

=========================== ======================= ==========================================
Variable                    Default                 Meaning
=========================== ======================= ==========================================
AGENT_HOST                  0.0.0.0                 address gunicorn binds
AGENT_PORT                  8080                    port gunicorn binds
AGENT_WORKERS               1                       gunicorn processes; only 1 is accepted
AGENT_THREADS               8                       gthread threads serving requests
AGENT_QUEUE_MAX             500                     queued tasks at which POST gets 429
AGENT_QUEUE_WORKERS         2                       threads taking tasks from the queue
AGENT_TASKS_KEPT            10000                   tasks kept for GET /api/v1/tasks/<id>
AGENT_ALLOW_HEADER_FAULTS   true                    honour X-Fault-Error / X-Fault-Delay-Ms
MODEL_URL                   http://127.0.0.1:8081   base URL of the model service
MODEL_TIMEOUT_S             30                      timeout of one inference call, seconds
MODEL_CONTEXT_TOKENS        8192                    context window of the model at MODEL_URL:
                                                    tasks whose prompt tokens plus max_tokens
                                                    exceed it get 400 before any model call
LOG_LEVEL                   INFO                    DEBUG, INFO, WARNING, ERROR or CRITICAL
=========================== ======================= ==========================================

Model (``agentlab.model``):

=========================== ======================= ==========================================
MODEL_HOST                  0.0.0.0                 address gunicorn binds
MODEL_PORT                  8081                    port gunicorn binds
MODEL_WORKERS               1                       gunicorn processes; only 1 is accepted
MODEL_THREADS               8                       gthread threads serving requests
MODEL_NAME                  sim-llm-small           latency profile, one of MODEL_PROFILES
MODEL_VERSION               1.0.0                   version reported in metrics and spans
MODEL_LATENCY_SCALE         1.0                     multiplies every simulated latency (0 = none)
MODEL_CONTEXT_TOKENS        8192 or 32768           context window (prompt tokens + max_tokens);
                                                    default from MODEL_CONTEXT_WINDOWS by name
LOG_LEVEL                   INFO                    as above
=========================== ======================= ==========================================

Why only one worker process: queued tasks and their results live in the process that
accepted them, so a second worker would return 404 for half of the task ids, and
prometheus_client's multiprocess mode drops exemplars (its ``set_exemplar`` is a no-op
in 0.26). The lab scales out with more containers instead.

A missing or invalid value raises ``ConfigError`` whose message names the variable, the
value and what is accepted; the entry points turn it into a one-line start-up failure.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import urlsplit

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# Name -> (base latency s, latency per output token s, lognormal sigma).
MODEL_PROFILES: dict[str, tuple[float, float, float]] = {
    "sim-llm-small": (0.04, 0.002, 0.35),
    "sim-llm-large": (0.15, 0.008, 0.45),
}
# Name -> context window in tokens: the prompt's tokens plus max_tokens may not exceed it.
MODEL_CONTEXT_WINDOWS: dict[str, int] = {
    "sim-llm-small": 8192,
    "sim-llm-large": 32768,
}
DEFAULT_MODEL_NAME = "sim-llm-small"
MIN_CONTEXT_TOKENS = 256
MAX_CONTEXT_TOKENS = 1_000_000


class ConfigError(ValueError):
    """An environment variable is missing or has an invalid value."""


def _raw(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip()


def env_int(env: Mapping[str, str], name: str, default: int, minimum: int, maximum: int) -> int:
    """Read integer `name`, which must lie in [minimum, maximum]."""
    raw = _raw(env, name, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer; set it to a whole number "
                          f"from {minimum} to {maximum} (default {default})") from None
    if not minimum <= value <= maximum:
        raise ConfigError(f"{name}={value} is out of range; set it to a whole number "
                          f"from {minimum} to {maximum} (default {default})")
    return value


def env_float(env: Mapping[str, str], name: str, default: float, minimum: float, maximum: float) -> float:
    """Read number `name`, which must lie in [minimum, maximum]."""
    raw = _raw(env, name, str(default))
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number; set it to a number "
                          f"from {minimum:g} to {maximum:g} (default {default:g})") from None
    if not minimum <= value <= maximum:
        raise ConfigError(f"{name}={raw} is out of range; set it to a number "
                          f"from {minimum:g} to {maximum:g} (default {default:g})")
    return value


def env_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    """Read boolean `name`: true/false, 1/0, yes/no, on/off."""
    raw = _raw(env, name, "true" if default else "false").lower()
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean; set it to true or false")


def env_choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...],
               normalize=str.upper) -> str:
    """Read `name`, which must be one of `choices` after `normalize`."""
    raw = normalize(_raw(env, name, default))
    if raw not in choices:
        raise ConfigError(f"{name}={raw!r} is not valid; set it to one of {', '.join(choices)}")
    return raw


def env_url(env: Mapping[str, str], name: str, default: str) -> str:
    """Read an http(s) base URL `name`, returned without a trailing slash."""
    raw = _raw(env, name, default)
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name}={raw!r} is not an http(s) URL; set it like {default}")
    return raw.rstrip("/")


def env_workers(env: Mapping[str, str], name: str) -> int:
    """Read a gunicorn worker count, which must be 1 (see the module docstring)."""
    workers = env_int(env, name, 1, 1, 64)
    if workers != 1:
        raise ConfigError(
            f"{name}={workers} is not supported; set it to 1. Queued tasks and metric "
            "exemplars live in one process, so scale out with more replicas (containers) "
            "and raise AGENT_THREADS/MODEL_THREADS for concurrency")
    return workers


@dataclass(frozen=True)
class AgentSettings:
    """Configuration of the agent service."""

    host: str = "0.0.0.0"
    port: int = 8080
    workers: int = 1
    threads: int = 8
    queue_max: int = 500
    queue_workers: int = 2
    tasks_kept: int = 10000
    allow_header_faults: bool = True
    model_url: str = "http://127.0.0.1:8081"
    model_timeout_s: float = 30.0
    model_context_tokens: int = MODEL_CONTEXT_WINDOWS[DEFAULT_MODEL_NAME]
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "AgentSettings":
        """Build the settings from `env` (default: os.environ), raising ConfigError."""
        env = os.environ if env is None else env
        return cls(
            host=_raw(env, "AGENT_HOST", "0.0.0.0"),
            port=env_int(env, "AGENT_PORT", 8080, 1, 65535),
            workers=env_workers(env, "AGENT_WORKERS"),
            threads=env_int(env, "AGENT_THREADS", 8, 1, 256),
            queue_max=env_int(env, "AGENT_QUEUE_MAX", 500, 1, 1_000_000),
            queue_workers=env_int(env, "AGENT_QUEUE_WORKERS", 2, 1, 64),
            tasks_kept=env_int(env, "AGENT_TASKS_KEPT", 10000, 1, 10_000_000),
            allow_header_faults=env_bool(env, "AGENT_ALLOW_HEADER_FAULTS", True),
            model_url=env_url(env, "MODEL_URL", "http://127.0.0.1:8081"),
            model_timeout_s=env_float(env, "MODEL_TIMEOUT_S", 30.0, 0.1, 600.0),
            model_context_tokens=env_int(env, "MODEL_CONTEXT_TOKENS", MODEL_CONTEXT_WINDOWS[DEFAULT_MODEL_NAME],
                                         MIN_CONTEXT_TOKENS, MAX_CONTEXT_TOKENS),
            log_level=env_choice(env, "LOG_LEVEL", "INFO", LOG_LEVELS),
        )


@dataclass(frozen=True)
class ModelSettings:
    """Configuration of the model service."""

    host: str = "0.0.0.0"
    port: int = 8081
    workers: int = 1
    threads: int = 8
    name: str = DEFAULT_MODEL_NAME
    version: str = "1.0.0"
    latency_scale: float = 1.0
    # None: the window of `name` in MODEL_CONTEXT_WINDOWS.
    context_tokens: int | None = None
    log_level: str = "INFO"

    @property
    def context_window(self) -> int:
        """Tokens one completion may use, prompt plus max_tokens."""
        return self.context_tokens if self.context_tokens is not None else MODEL_CONTEXT_WINDOWS[self.name]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "ModelSettings":
        """Build the settings from `env` (default: os.environ), raising ConfigError."""
        env = os.environ if env is None else env
        name = env_choice(env, "MODEL_NAME", DEFAULT_MODEL_NAME, tuple(MODEL_PROFILES), normalize=str.lower)
        return cls(
            host=_raw(env, "MODEL_HOST", "0.0.0.0"),
            port=env_int(env, "MODEL_PORT", 8081, 1, 65535),
            workers=env_workers(env, "MODEL_WORKERS"),
            threads=env_int(env, "MODEL_THREADS", 8, 1, 256),
            name=name,
            version=_raw(env, "MODEL_VERSION", "1.0.0"),
            latency_scale=env_float(env, "MODEL_LATENCY_SCALE", 1.0, 0.0, 100.0),
            context_tokens=env_int(env, "MODEL_CONTEXT_TOKENS", MODEL_CONTEXT_WINDOWS[name],
                                   MIN_CONTEXT_TOKENS, MAX_CONTEXT_TOKENS),
            log_level=env_choice(env, "LOG_LEVEL", "INFO", LOG_LEVELS),
        )
