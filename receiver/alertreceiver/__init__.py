"""Alert receiver: a local stand-in for the outside services Alertmanager notifies.

It accepts Alertmanager's webhook (payload version 4), Slack incoming-webhook and
PagerDuty Events API v2 requests, stores one row per alert per notification in SQLite,
and shows them at ``GET /`` (HTML) and ``GET /api/notifications`` (JSON). It also serves
the alert runbooks, so the ``runbook_url`` of every alert opens locally.

Environment variables (read once by ``create_app``):

- ``RECEIVER_HOST`` (default ``0.0.0.0``) and ``RECEIVER_PORT`` (default ``5001``): bind
  address, used by the gunicorn configuration and ``python -m alertreceiver``.
- ``RECEIVER_DB`` (default ``/data/notifications.db``): SQLite file; its folder is created.
- ``RECEIVER_GRAFANA_URL`` (default ``http://127.0.0.1:3000``) and
  ``RECEIVER_ALERTMANAGER_URL`` (default ``http://127.0.0.1:9093``): link targets on the page.
- ``RECEIVER_MAX_BODY_BYTES`` (default 1048576): larger request bodies get 413.
- ``RECEIVER_MAX_NOTIFICATIONS`` (default 100000): rows kept. Each insert deletes the
  oldest rows beyond this count, and the stored request bodies left without rows.
- ``RECEIVER_RUNBOOKS_DIR``: folder of ``<AlertName>.md`` runbooks served as HTML at
  ``GET /runbooks/<AlertName>`` and listed at ``GET /runbooks/``. The default is the
  repository's ``docs/runbooks`` when the package runs from a checkout (editable install,
  as in the native lab), else ``/runbooks``, where the compose file mounts that folder. A
  set value must be an existing folder; a missing default folder only makes those pages 404.
- ``LOG_LEVEL`` (default ``INFO``).
"""
