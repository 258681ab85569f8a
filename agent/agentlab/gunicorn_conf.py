"""gunicorn configuration of the agent and model services (``-c python:agentlab.gunicorn_conf``).

The service is read from the app URI on the command line: ``agentlab.model:...`` means
the model, anything else the agent. Its bind address, threads and log level come from
the variables listed in ``agentlab.settings``. An invalid value stops start-up with a
one-line message naming it.
"""

import sys

from agentlab.serve import gunicorn_settings, service_from_argv
from agentlab.settings import ConfigError
from agentlab.telemetry import shutdown_tracing

_service = service_from_argv(sys.argv)
try:
    _settings = gunicorn_settings(_service)
except ConfigError as _error:
    print(f"agentlab-{_service}: invalid setting: {_error}", file=sys.stderr)
    sys.exit(2)

bind = _settings["bind"]
workers = _settings["workers"]
worker_class = _settings["worker_class"]
threads = _settings["threads"]
preload_app = _settings["preload_app"]
graceful_timeout = _settings["graceful_timeout"]
control_socket_disable = _settings["control_socket_disable"]
accesslog = _settings["accesslog"]
logconfig_dict = _settings["logconfig_dict"]
proc_name = _settings["proc_name"]


def worker_exit(server, worker):
    """Flush the spans still queued before the worker process ends."""
    shutdown_tracing()
