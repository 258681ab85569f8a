"""Gunicorn settings for the receiver: `gunicorn -c python:alertreceiver.gunicorn_conf 'alertreceiver.app:create_app()'`."""

from alertreceiver.config import load_settings
from alertreceiver.logging_setup import logging_config

_settings = load_settings()

bind = f"{_settings.host}:{_settings.port}"
# One process, because the Prometheus counters live in process memory and a second
# worker would split them. Threads serve the parallel deliveries of Alertmanager.
workers = 1
worker_class = "gthread"
threads = 4
timeout = 30
graceful_timeout = 10
# gunicorn 25.1+ opens a control socket at one path per user, which two gunicorn
# processes (agent and receiver) would both claim. Older versions ignore this name.
control_socket_disable = True
# Alertmanager and Prometheus call this every few seconds; access lines would drown the
# notification log lines, which carry the same facts. logging_config keeps
# gunicorn.access at WARNING for the same reason.
accesslog = None
logconfig_dict = logging_config(_settings.log_level)
