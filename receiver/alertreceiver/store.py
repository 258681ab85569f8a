"""SQLite storage: every accepted request body and one row per alert it reported.

The database runs in WAL mode with synchronous=FULL, so a committed notification
survives a crash or restart of the receiver, and readers never block the writer.
Each request opens its own connection, which suits gunicorn's threaded worker.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

from .payloads import AlertRecord

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 5000

SCHEMA = """
CREATE TABLE IF NOT EXISTS payloads (
    id INTEGER PRIMARY KEY,
    received_at REAL NOT NULL,
    kind TEXT NOT NULL,
    path TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY,
    payload_id INTEGER NOT NULL REFERENCES payloads(id),
    received_at REAL NOT NULL,
    kind TEXT NOT NULL,
    receiver TEXT NOT NULL,
    alertname TEXT NOT NULL,
    status TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    labels TEXT NOT NULL,
    annotations TEXT NOT NULL,
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    generator_url TEXT NOT NULL,
    group_key TEXT NOT NULL,
    channel TEXT NOT NULL,
    dedup_key TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS notifications_received_at ON notifications (received_at);
CREATE INDEX IF NOT EXISTS notifications_alertname ON notifications (alertname, received_at);
"""

# Columns copied from an AlertRecord; labels and annotations are stored as JSON text.
RECORD_COLUMNS = ("kind", "receiver", "alertname", "status", "fingerprint", "labels", "annotations",
                  "starts_at", "ends_at", "generator_url", "group_key", "channel", "dedup_key")


@dataclass(frozen=True)
class NotificationFilter:
    """Filters of GET /api/notifications; None means no filter on that column."""

    kind: str | None = None
    receiver: str | None = None
    alertname: str | None = None
    status: str | None = None
    since_unix: float | None = None
    limit: int = 100


def connect(db_path: str) -> sqlite3.Connection:
    """Open the database file with the pragmas every connection needs."""
    connection = sqlite3.connect(db_path, timeout=BUSY_TIMEOUT_MS / 1000)
    connection.row_factory = sqlite3.Row
    connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    connection.execute("PRAGMA synchronous = FULL")
    connection.execute("PRAGMA foreign_keys = ON")
    return connection


def initialize(db_path: str) -> None:
    """Create the folder, switch the file to WAL mode and create the tables if missing."""
    folder = os.path.dirname(os.path.abspath(db_path))
    os.makedirs(folder, exist_ok=True)
    connection = connect(db_path)
    try:
        mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise RuntimeError(f"switching {db_path} to WAL mode failed (journal mode is {mode}); use a local file system")
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, SCHEMA_VERSION):
            raise RuntimeError(f"{db_path} has schema version {version}; this receiver reads {SCHEMA_VERSION}")
        with connection:
            connection.executescript(SCHEMA)
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    finally:
        connection.close()


def save_notification(connection: sqlite3.Connection, *, kind: str, path: str, body: str,
                      records: Iterable[AlertRecord], received_at: float, max_rows: int | None = None) -> int:
    """Store the raw body and its alert records in one transaction; return the payload id.

    With `max_rows`, the same transaction deletes the oldest rows beyond that count, and the
    stored bodies that no longer have any row.
    """
    with connection:
        cursor = connection.execute(
            "INSERT INTO payloads (received_at, kind, path, body) VALUES (?, ?, ?, ?)",
            (received_at, kind, path, body),
        )
        payload_id = cursor.lastrowid
        rows = []
        for record in records:
            values = asdict(record)
            values["labels"] = json.dumps(record.labels, sort_keys=True)
            values["annotations"] = json.dumps(record.annotations, sort_keys=True)
            rows.append((payload_id, received_at, *(values[column] for column in RECORD_COLUMNS)))
        placeholders = ", ".join("?" for _ in range(len(RECORD_COLUMNS) + 2))
        connection.executemany(
            f"INSERT INTO notifications (payload_id, received_at, {', '.join(RECORD_COLUMNS)}) VALUES ({placeholders})",
            rows,
        )
        if max_rows is not None:
            _prune(connection, max_rows)
    return payload_id


def _prune(connection: sqlite3.Connection, max_rows: int) -> None:
    # Row ids grow with each insert, so the ids below the newest max_rows are the oldest rows.
    connection.execute(
        "DELETE FROM notifications WHERE id <= (SELECT id FROM notifications ORDER BY id DESC LIMIT 1 OFFSET ?)",
        (max_rows,),
    )
    # Every stored body produced at least one row, and rows go oldest first, so the bodies
    # older than the oldest remaining row have no rows left.
    connection.execute("DELETE FROM payloads WHERE id < (SELECT MIN(payload_id) FROM notifications)")


@dataclass(frozen=True)
class NotificationGroup:
    """The newest rows of one alert name, and how many rows of it match in total."""

    alertname: str
    total: int
    rows: list[dict[str, Any]]


def _where(filters: NotificationFilter) -> tuple[str, list[Any]]:
    """Build the WHERE clause (over alias n) and its arguments; `limit` is not part of it."""
    clauses = []
    arguments: list[Any] = []
    for column in ("kind", "receiver", "alertname", "status"):
        value = getattr(filters, column)
        if value is not None:
            clauses.append(f"n.{column} = ?")
            arguments.append(value)
    if filters.since_unix is not None:
        clauses.append("n.received_at >= ?")
        arguments.append(filters.since_unix)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    return where, arguments


def list_notification_groups(connection: sqlite3.Connection, filters: NotificationFilter, *,
                             rows_per_group: int, max_groups: int) -> tuple[list[NotificationGroup], int]:
    """Return the newest `rows_per_group` rows of each alert name, and the number of alert names.

    Groups are ordered by their newest row, and only the newest `max_groups` are returned,
    so one alert that floods the table cannot push the others out.
    """
    where, arguments = _where(filters)
    query = (
        "WITH matched AS ("
        " SELECT n.*, p.path,"
        " ROW_NUMBER() OVER (PARTITION BY n.alertname ORDER BY n.received_at DESC, n.id DESC) AS group_rank,"
        " COUNT(*) OVER (PARTITION BY n.alertname) AS group_total"
        f" FROM notifications n JOIN payloads p ON p.id = n.payload_id {where}),"
        " newest AS (SELECT alertname, received_at AS newest_at, id AS newest_id FROM matched"
        " WHERE group_rank = 1 ORDER BY received_at DESC, id DESC LIMIT ?)"
        " SELECT matched.* FROM matched JOIN newest USING (alertname) WHERE group_rank <= ?"
        " ORDER BY newest.newest_at DESC, newest.newest_id DESC, group_rank"
    )
    groups: list[NotificationGroup] = []
    for row in connection.execute(query, (*arguments, max_groups, rows_per_group)):
        if not groups or groups[-1].alertname != row["alertname"]:
            groups.append(NotificationGroup(alertname=row["alertname"], total=row["group_total"], rows=[]))
        groups[-1].rows.append(_row_to_dict(row))
    count_query = f"SELECT COUNT(DISTINCT n.alertname) FROM notifications n {where}"
    group_count = connection.execute(count_query, arguments).fetchone()[0]
    return groups, group_count


def list_notifications(connection: sqlite3.Connection, filters: NotificationFilter) -> list[dict[str, Any]]:
    """Return the matching rows, newest first, as API dictionaries."""
    where, arguments = _where(filters)
    query = (
        "SELECT n.*, p.path FROM notifications n JOIN payloads p ON p.id = n.payload_id "
        f"{where} ORDER BY n.received_at DESC, n.id DESC LIMIT ?"
    )
    rows = connection.execute(query, (*arguments, filters.limit)).fetchall()
    return [_row_to_dict(row) for row in rows]


def format_rfc3339(unix_s: float) -> str:
    """Format unix seconds as RFC 3339 UTC with milliseconds, e.g. 2024-05-01T12:00:00.123Z."""
    moment = datetime.fromtimestamp(unix_s, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _row_to_dict(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "payload_id": row["payload_id"],
        "received_at": format_rfc3339(row["received_at"]),
        "received_at_unix": row["received_at"],
        "kind": row["kind"],
        "path": row["path"],
        "receiver": row["receiver"],
        "alertname": row["alertname"],
        "status": row["status"],
        "fingerprint": row["fingerprint"],
        "labels": json.loads(row["labels"]),
        "annotations": json.loads(row["annotations"]),
        "starts_at": row["starts_at"],
        "ends_at": row["ends_at"],
        "generator_url": row["generator_url"],
        "group_key": row["group_key"],
        "channel": row["channel"],
        "dedup_key": row["dedup_key"],
    }
