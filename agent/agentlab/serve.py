"""Start a service under gunicorn, and the gunicorn settings both services share.

``python -m agentlab.agent`` and ``python -m agentlab.model`` (or the console scripts
``agentlab-agent`` / ``agentlab-model``) check the settings, then replace themselves with::

    python -m gunicorn -c python:agentlab.gunicorn_conf 'agentlab.<service>:create_app()'

which is what ``gunicorn -c agent/gunicorn.conf.py 'agentlab.<service>:create_app()'``
runs too. The process keeps its pid through the exec, so a supervisor's pid is gunicorn's.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Sequence

from agentlab.logging_setup import logging_dict_config
from agentlab.settings import AgentSettings, ConfigError, ModelSettings
from agentlab.telemetry import exporter_name

APPS = {"agent": "agentlab.agent:create_app()", "model": "agentlab.model:create_app()"}
GRACEFUL_TIMEOUT_S = 10


def service_from_argv(argv: Sequence[str]) -> str:
    """Return which service a gunicorn command line serves, from its app URI."""
    for argument in argv[1:]:
        if argument.startswith("agentlab.model"):
            return "model"
    return "agent"


def gunicorn_settings(service: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Return gunicorn settings for `service` from the environment, raising ConfigError."""
    env = dict(os.environ if env is None else env)
    if service == "model":
        settings: AgentSettings | ModelSettings = ModelSettings.from_env(env)
    else:
        settings = AgentSettings.from_env(env)
    # Checked here too so that a bad OTEL_* value stops the master with one line, not a
    # worker with a traceback.
    exporter_name(env)
    log_service = env.get("OTEL_SERVICE_NAME", "").strip() or service
    return {
        "bind": [f"{settings.host}:{settings.port}"],
        "workers": settings.workers,
        "worker_class": "gthread",
        "threads": settings.threads,
        # The app factory must run in the worker, after the fork: it starts the tracer's
        # export thread and the queue workers, which do not survive a fork.
        "preload_app": False,
        "graceful_timeout": GRACEFUL_TIMEOUT_S,
        # gunicorn 25.1+ opens a control socket at a fixed path under $HOME by default, so a
        # second gunicorn on the machine (agent beside model) would collide with the first.
        "control_socket_disable": True,
        # The app writes its own access line with the route template and trace ids.
        "accesslog": None,
        "logconfig_dict": logging_dict_config(log_service, settings.log_level, gunicorn_access=False),
        "proc_name": f"agentlab-{service}",
    }


def main(service: str) -> None:
    """Check the settings of `service`, then exec gunicorn for it."""
    try:
        gunicorn_settings(service)
    except ConfigError as error:
        print(f"agentlab-{service}: invalid setting: {error}", file=sys.stderr)
        sys.exit(2)
    command = [sys.executable, "-m", "gunicorn", "-c", "python:agentlab.gunicorn_conf", APPS[service]]
    os.execv(sys.executable, command)


def main_agent() -> None:
    """Console script `agentlab-agent`."""
    main("agent")


def main_model() -> None:
    """Console script `agentlab-model`."""
    main("model")
