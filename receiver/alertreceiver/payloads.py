"""Validate the three notification formats and turn each into one record per alert.

Formats: Alertmanager's webhook (payload version 4), Slack incoming webhooks and the
PagerDuty Events API v2. Slack and PagerDuty requests carry one message per alert group,
so the per-alert details come from the ``lab.alerts.query`` block that
alertmanager/templates/lab.tmpl puts in the Slack ``callback_id`` and in PagerDuty's
``custom_details.alerts``: one URL query string per alert. Messages without that block
(sent by hand, or by another template) still get one record, from the Slack title or the
PagerDuty event.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

ALERT_STATUSES = ("firing", "resolved")
PAGERDUTY_ACTIONS = ("trigger", "acknowledge", "resolve")
PAGERDUTY_SEVERITIES = ("critical", "error", "warning", "info")
PAGERDUTY_ROUTING_KEY_LENGTH = 32
PAGERDUTY_SUMMARY_MAX_CHARS = 1024
PAGERDUTY_DEDUP_KEY_MAX_CHARS = 255
# Report this many field errors at most, so a payload with a thousand bad alerts
# gets a readable response.
MAX_REPORTED_ERRORS = 20

# RFC 3339 date-time as Go's time.Time marshals it (Alertmanager 0.25 sends
# "2026-12-04T20:07:02.123456789Z"): up to nine fraction digits, then Z or an offset.
# Firing alerts carry Go's zero time "0001-01-01T00:00:00Z" as endsAt.
RFC3339_PATTERN = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:[Zz]|([+-])(\d{2}):(\d{2}))")
RFC3339_EXAMPLE = "2026-12-04T20:07:02Z or 2026-12-04T20:07:02.123+02:00"

# "[FIRING:2] AgentHighErrorRate (agent)" as produced by lab.slack.title.
SLACK_TITLE_PATTERN = re.compile(r"^\[(FIRING|RESOLVED)(?::\d+)?\]\s+(\S+)")


@dataclass(frozen=True)
class FieldError:
    """One problem in a payload: the field path, what is wrong and how to fix it."""

    field: str
    message: str
    reason: str = "invalid_field"


class InvalidPayload(ValueError):
    """A request body failed validation; `errors` lists every problem found."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(errors[0].message)
        self.errors = errors


@dataclass
class AlertRecord:
    """One alert of one notification, as stored and served by the API."""

    kind: str
    receiver: str
    alertname: str
    status: str
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    fingerprint: str = ""
    starts_at: str = ""
    ends_at: str = ""
    generator_url: str = ""
    group_key: str = ""
    channel: str = ""
    dedup_key: str = ""


class _Checker:
    """Collects FieldErrors while walking a payload."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, path: str, message: str, reason: str = "invalid_field") -> None:
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(FieldError(path, message, reason))

    def get(self, obj: dict[str, Any], key: str, path: str, kind: type | tuple[type, ...], *, required: bool) -> Any:
        """Return obj[key] if it has the expected type; record an error and return None otherwise."""
        full_path = f"{path}.{key}" if path else key
        if key not in obj or obj[key] is None:
            if required:
                self.add(full_path, f"{full_path} is missing; add it", "missing_field")
            return None
        value = obj[key]
        # bool is an int subclass, but true is never a valid count or string here.
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            self.add(full_path, f"{full_path} must be {_type_name(kind)}, got {_type_name(type(value))}")
            return None
        return value

    def string_map(self, obj: dict[str, Any], key: str, path: str, *, required: bool) -> dict[str, str]:
        """Return obj[key] if it is an object of string values; record errors otherwise."""
        value = self.get(obj, key, path, dict, required=required)
        if value is None:
            return {}
        full_path = f"{path}.{key}" if path else key
        for name, item in value.items():
            if not isinstance(item, str):
                self.add(f"{full_path}.{name}", f"{full_path}.{name} must be a string, got {_type_name(type(item))}")
                return {}
        return value

    def enum(self, obj: dict[str, Any], key: str, path: str, allowed: tuple[str, ...], *, required: bool) -> str | None:
        value = self.get(obj, key, path, str, required=required)
        if value is not None and value not in allowed:
            full_path = f"{path}.{key}" if path else key
            self.add(full_path, f"{full_path}={value!r} is invalid; use one of {', '.join(allowed)}")
            return None
        return value

    def timestamp(self, obj: dict[str, Any], key: str, path: str, *, required: bool) -> str | None:
        """Return obj[key] if it is an RFC 3339 date-time string; record an error otherwise."""
        value = self.get(obj, key, path, str, required=required)
        if value is not None and not is_rfc3339(value):
            full_path = f"{path}.{key}" if path else key
            self.add(full_path, f"{full_path}={value!r} is not an RFC 3339 timestamp; use the form {RFC3339_EXAMPLE}")
            return None
        return value

    def raise_if_any(self) -> None:
        if self.errors:
            raise InvalidPayload(self.errors)


def _type_name(kind: type | tuple[type, ...]) -> str:
    names = {dict: "an object", list: "an array", str: "a string", int: "an integer", float: "a number",
             bool: "a boolean", type(None): "null"}
    if isinstance(kind, tuple):
        return " or ".join(names.get(k, k.__name__) for k in kind)
    return names.get(kind, kind.__name__)


def is_rfc3339(value: str) -> bool:
    """Return whether `value` is an RFC 3339 date-time with valid date, time and offset fields."""
    match = RFC3339_PATTERN.fullmatch(value)
    if match is None:
        return False
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    try:
        datetime(year, month, day, hour, minute, second)
    except ValueError:
        return False
    offset_hours, offset_minutes = int(match.group(8) or 0), int(match.group(9) or 0)
    return offset_hours < 24 and offset_minutes < 60


def _require_object(body: Any, expected: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidPayload([FieldError("(body)", f"the body must be a JSON object ({expected}), got {_type_name(type(body))}")])
    return body


def parse_webhook(body: Any) -> list[AlertRecord]:
    """Validate an Alertmanager webhook payload (version 4) and return one record per alert."""
    payload = _require_object(body, "an Alertmanager webhook payload")
    check = _Checker()
    version = check.get(payload, "version", "", str, required=True)
    if version is not None and version != "4":
        check.add("version", f'version={version!r} is not supported; this endpoint accepts Alertmanager webhook version "4"')
    check.enum(payload, "status", "", ALERT_STATUSES, required=True)
    receiver = check.get(payload, "receiver", "", str, required=True)
    group_key = check.get(payload, "groupKey", "", str, required=True)
    for key in ("groupLabels", "commonLabels", "commonAnnotations"):
        check.string_map(payload, key, "", required=False)
    check.get(payload, "externalURL", "", str, required=False)
    check.get(payload, "truncatedAlerts", "", int, required=False)
    alerts = check.get(payload, "alerts", "", list, required=True)
    if alerts is not None and not alerts:
        check.add("alerts", "alerts is empty; a notification lists at least one alert")

    records = []
    for index, alert in enumerate(alerts or []):
        path = f"alerts[{index}]"
        if not isinstance(alert, dict):
            check.add(path, f"{path} must be an object, got {_type_name(type(alert))}")
            continue
        status = check.enum(alert, "status", path, ALERT_STATUSES, required=True)
        labels = check.string_map(alert, "labels", path, required=True)
        annotations = check.string_map(alert, "annotations", path, required=False)
        starts_at = check.timestamp(alert, "startsAt", path, required=True)
        ends_at = check.timestamp(alert, "endsAt", path, required=False)
        generator_url = check.get(alert, "generatorURL", path, str, required=False)
        fingerprint = check.get(alert, "fingerprint", path, str, required=False)
        records.append(AlertRecord(
            kind="webhook", receiver=receiver or "", alertname=labels.get("alertname", ""),
            status=status or "", labels=labels, annotations=annotations, fingerprint=fingerprint or "",
            starts_at=starts_at or "", ends_at=ends_at or "", generator_url=generator_url or "",
            group_key=group_key or "",
        ))
    check.raise_if_any()
    return records


def parse_alert_lines(text: str) -> list[dict[str, Any]]:
    """Decode a lab.alerts.query block: one URL query string per line, one line per alert.

    Lines without a valid status are skipped, so a block from another template yields
    nothing and the caller falls back to the human-readable fields.
    """
    alerts = []
    for line in text.splitlines():
        if not line.strip():
            continue
        fields: dict[str, str] = {}
        labels: dict[str, str] = {}
        annotations: dict[str, str] = {}
        for name, value in parse_qsl(line, keep_blank_values=True):
            if name.startswith("label."):
                labels[name[len("label."):]] = value
            elif name.startswith("annotation."):
                annotations[name[len("annotation."):]] = value
            else:
                fields[name] = value
        if fields.get("status") not in ALERT_STATUSES:
            continue
        alerts.append({"fields": fields, "labels": labels, "annotations": annotations})
    return alerts


def _records_from_lines(kind: str, block: str, *, channel: str = "", dedup_key: str = "") -> list[AlertRecord]:
    records = []
    # NOTE: startsAt and endsAt in these lines are stored unchecked. lab.tmpl writes them
    # from Alertmanager's own times, but a hand-made block can carry any text there.
    for alert in parse_alert_lines(block):
        fields = alert["fields"]
        records.append(AlertRecord(
            kind=kind, receiver=fields.get("receiver", ""), alertname=alert["labels"].get("alertname", ""),
            status=fields["status"], labels=alert["labels"], annotations=alert["annotations"],
            fingerprint=fields.get("fingerprint", ""), starts_at=fields.get("startsAt", ""),
            ends_at=fields.get("endsAt", ""), generator_url=fields.get("generatorURL", ""),
            channel=channel, dedup_key=dedup_key,
        ))
    return records


def parse_slack(body: Any) -> list[AlertRecord]:
    """Validate a Slack incoming-webhook message and return one record per alert it reports."""
    message = _require_object(body, "a Slack message")
    check = _Checker()
    text = check.get(message, "text", "", str, required=False)
    channel = check.get(message, "channel", "", str, required=False) or ""
    blocks = check.get(message, "blocks", "", list, required=False)
    attachments = check.get(message, "attachments", "", list, required=False) or []
    for index, attachment in enumerate(attachments):
        path = f"attachments[{index}]"
        if not isinstance(attachment, dict):
            check.add(path, f"{path} must be an object, got {_type_name(type(attachment))}")
            continue
        for key in ("title", "text", "fallback", "callback_id", "color", "title_link"):
            check.get(attachment, key, path, str, required=False)
    check.raise_if_any()
    if not text and not attachments and not blocks:
        raise InvalidPayload([FieldError(
            "text", "text is missing; a Slack message needs text, attachments or blocks", "missing_field")])

    records: list[AlertRecord] = []
    for attachment in attachments:
        found = _records_from_lines("slack", attachment.get("callback_id") or "", channel=channel)
        if not found:
            found = [_record_from_title("slack", attachment.get("title") or "", channel)]
        records.extend(found)
    if not records:
        records.append(_record_from_title("slack", text or "", channel))
    return records


def _record_from_title(kind: str, title: str, channel: str) -> AlertRecord:
    match = SLACK_TITLE_PATTERN.match(title)
    if match is None:
        return AlertRecord(kind=kind, receiver="", alertname="", status="unknown", channel=channel)
    return AlertRecord(kind=kind, receiver="", alertname=match.group(2), status=match.group(1).lower(), channel=channel)


def parse_pagerduty(body: Any) -> tuple[list[AlertRecord], str]:
    """Validate a PagerDuty Events API v2 event; return its records and the dedup key.

    Raises InvalidPayload listing every problem, as PagerDuty's own `errors` array does.
    """
    event = _require_object(body, "a PagerDuty Events API v2 event")
    check = _Checker()
    routing_key = check.get(event, "routing_key", "", str, required=True)
    if routing_key is not None and len(routing_key) != PAGERDUTY_ROUTING_KEY_LENGTH:
        check.add("routing_key", f"routing_key must be the {PAGERDUTY_ROUTING_KEY_LENGTH}-character integration key, "
                  f"got {len(routing_key)} characters")
    action = check.enum(event, "event_action", "", PAGERDUTY_ACTIONS, required=True)
    dedup_key = check.get(event, "dedup_key", "", str, required=action in ("acknowledge", "resolve"))
    if dedup_key is not None and not 0 < len(dedup_key) <= PAGERDUTY_DEDUP_KEY_MAX_CHARS:
        check.add("dedup_key", f"dedup_key must have 1..{PAGERDUTY_DEDUP_KEY_MAX_CHARS} characters, got {len(dedup_key)}")
    for key in ("links", "images"):
        check.get(event, key, "", list, required=False)
    payload = check.get(event, "payload", "", dict, required=action == "trigger")
    details: dict[str, Any] = {}
    if payload is not None:
        summary = check.get(payload, "summary", "payload", str, required=action == "trigger")
        if summary is not None and not 0 < len(summary) <= PAGERDUTY_SUMMARY_MAX_CHARS:
            check.add("payload.summary",
                      f"payload.summary must have 1..{PAGERDUTY_SUMMARY_MAX_CHARS} characters, got {len(summary)}")
        source = check.get(payload, "source", "payload", str, required=action == "trigger")
        if source is not None and not source:
            check.add("payload.source", "payload.source is empty; name the host or service that has the problem")
        check.enum(payload, "severity", "payload", PAGERDUTY_SEVERITIES, required=action == "trigger")
        # PagerDuty takes any JSON as custom_details; only an object can hold the alerts block.
        if isinstance(payload.get("custom_details"), dict):
            details = payload["custom_details"]
    check.raise_if_any()

    dedup_key = dedup_key or uuid.uuid4().hex
    alerts_block = details.get("alerts")
    records = _records_from_lines("pagerduty", alerts_block, dedup_key=dedup_key) if isinstance(alerts_block, str) else []
    if not records:
        status = {"trigger": "firing", "resolve": "resolved", "acknowledge": "acknowledged"}[action]
        alertname = _first_string(details.get("alertname"), (payload or {}).get("class"))
        receiver = _first_string(details.get("receiver"))
        records = [AlertRecord(kind="pagerduty", receiver=receiver, alertname=alertname, status=status,
                               dedup_key=dedup_key)]
    return records, dedup_key


def _first_string(*values: Any) -> str:
    return next((value for value in values if isinstance(value, str) and value), "")
