"""Runbook views: GET /runbooks/ lists docs/runbooks/*.md and GET /runbooks/<name> renders one.

Alert rules set ``runbook_url`` to ``http://127.0.0.1:5001/runbooks/<AlertName>``, so every
link in Slack messages, PagerDuty events, Grafana and Alertmanager opens here. The folder
is ``Settings.runbooks_dir`` (``RECEIVER_RUNBOOKS_DIR``).
"""

from __future__ import annotations

import re
from pathlib import Path

from flask import Blueprint, Response, current_app, render_template

from .errors import reject
from .markdown_html import render_markdown

bp = Blueprint("runbooks", __name__)

# Pages and error bodies never name the folder, because a server path reveals the layout of
# the host to visitors. The start-up log names it instead.

# A runbook is named after its alert. The pattern admits no "/", "\" or ".", so a name can
# never leave the runbooks folder.
RUNBOOK_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
MARKDOWN_SUFFIX = ".md"


def _runbooks_dir() -> Path:
    return Path(current_app.config["RECEIVER_SETTINGS"].runbooks_dir)


def list_runbooks(folder: Path) -> list[str]:
    """Return the sorted names of the runbooks in `folder`, leaving out files whose name is invalid."""
    if not folder.is_dir():
        return []
    names = (path.stem for path in folder.glob(f"*{MARKDOWN_SUFFIX}") if path.is_file())
    return sorted(name for name in names if RUNBOOK_NAME.fullmatch(name))


def _missing_runbook(reason: str, detail: str) -> Response:
    # An invalid name also gets 404, not 400: it names no resource, as with any unknown path.
    return reject(404, reason, "runbook not found", "name", detail)


@bp.get("/runbooks/")
def index() -> Response | str:
    """Render the list of runbooks as HTML, or 404 when the runbooks folder does not exist."""
    folder = _runbooks_dir()
    if not folder.is_dir():
        return reject(404, "runbooks_dir_missing", "runbooks folder not found", "RECEIVER_RUNBOOKS_DIR",
                      "the runbooks folder does not exist; set RECEIVER_RUNBOOKS_DIR to the "
                      "repository's docs/runbooks")

    return render_template("runbooks.html", names=list_runbooks(folder))


@bp.get("/runbooks/<path:name>")
def show(name: str) -> Response | str:
    """Render <runbooks_dir>/<name>.md as HTML (`name` may end in .md), or 404 for any other name."""
    stem = name.removesuffix(MARKDOWN_SUFFIX)
    if not RUNBOOK_NAME.fullmatch(stem):
        return _missing_runbook("invalid_runbook_name", f"runbook name {name!r} is invalid; use an alert name such as "
                                "AgentDown (letters, digits, '_' and '-'), listed at /runbooks/")
    folder = _runbooks_dir()
    path = folder / f"{stem}{MARKDOWN_SUFFIX}"
    if not path.is_file():
        return _missing_runbook("runbook_not_found", f"no runbook named {stem!r}; the list is at /runbooks/")

    body = render_markdown(path.read_text(encoding="utf-8"))
    return render_template("runbook.html", name=stem, body=body)
