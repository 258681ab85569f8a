"""GET /runbooks/ and /runbooks/<name>: the real docs/runbooks, bad names, escaping, the setting."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from alertreceiver import config
from alertreceiver.app import create_app
from alertreceiver.config import ConfigError, default_runbooks_dir, load_settings

REPO_RUNBOOKS = Path(__file__).resolve().parents[2] / "docs" / "runbooks"
REPO_RUNBOOK_NAMES = sorted(path.stem for path in REPO_RUNBOOKS.glob("*.md"))


@pytest.fixture
def runbooks_dir(tmp_path):
    """A runbooks folder with one runbook, and a file beside the folder that must stay unreachable."""
    folder = tmp_path / "runbooks"
    folder.mkdir()
    (folder / "AgentDown.md").write_text("# AgentDown\n\nThe agent is down.\n")
    (folder / "notes.txt").write_text("not a runbook\n")
    (folder / "has.dot.md").write_text("# has.dot\n")
    (tmp_path / "secret.md").write_text("# secret\n\nTOP-SECRET\n")
    return folder


@pytest.fixture
def local_client(settings, runbooks_dir):
    return create_app(dataclasses.replace(settings, runbooks_dir=str(runbooks_dir))).test_client()


def test_default_dir_is_repository_runbooks():
    # The tests run against the editable install, as the native lab does.
    assert default_runbooks_dir() == str(REPO_RUNBOOKS)


def test_default_dir_outside_checkout_is_mount(monkeypatch, tmp_path):
    # A regular install: the package sits in site-packages, with no docs/runbooks two levels up.
    installed = tmp_path / "lib" / "python3.11" / "site-packages" / "alertreceiver" / "config.py"
    monkeypatch.setattr(config, "__file__", str(installed))

    assert default_runbooks_dir() == "/runbooks"


def test_repository_has_runbooks():
    assert "AgentHighErrorRate" in REPO_RUNBOOK_NAMES


def test_runbook_renders_as_html(client):
    response = client.get("/runbooks/AgentHighErrorRate")

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "<title>AgentHighErrorRate runbook</title>" in html
    assert '<h1 id="agenthigherrorrate">AgentHighErrorRate</h1>' in html
    assert '<h2 id="meaning">Meaning</h2>' in html
    assert "<strong>Severity:</strong> critical (pages)" in html
    assert "<li>List active faults: <code>curl -s 127.0.0.1:8080/admin/faults</code>;" in html
    assert '<a href="http://127.0.0.1:9090">http://127.0.0.1:9090</a>' in html
    assert '<a href="/runbooks/">All runbooks</a>' in html
    assert '<a href="/?alertname=AgentHighErrorRate">Notifications for AgentHighErrorRate</a>' in html


def test_md_suffix_is_optional(client):
    plain = client.get("/runbooks/AgentDown")
    suffixed = client.get("/runbooks/AgentDown.md")

    assert plain.status_code == 200
    assert suffixed.status_code == 200
    assert suffixed.get_data() == plain.get_data()


@pytest.mark.parametrize("name", REPO_RUNBOOK_NAMES)
def test_every_repository_runbook_renders(client, name):
    response = client.get(f"/runbooks/{name}")

    assert response.status_code == 200
    assert f'<h1 id="{name.lower()}">{name}</h1>' in response.get_data(as_text=True)


def test_index_lists_every_runbook(client):
    response = client.get("/runbooks/")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert re.findall(r'<li><a href="/runbooks/(\w+)">(\w+)</a></li>', html) == [
        (name, name) for name in REPO_RUNBOOK_NAMES
    ]
    assert f"{len(REPO_RUNBOOK_NAMES)} runbooks, one per alert" in html


def test_index_skips_invalid_names(local_client, runbooks_dir):
    html = local_client.get("/runbooks/").get_data(as_text=True)

    assert re.findall(r'<li><a href="/runbooks/([^"]+)">', html) == ["AgentDown"]
    assert "1 runbooks, one per alert." in html
    assert str(runbooks_dir) not in html


def test_path_without_slash_redirects(client):
    response = client.get("/runbooks")

    assert response.status_code == 308
    assert response.headers["Location"] == "http://localhost/runbooks/"


def test_notification_page_links_runbooks(client):
    assert '<a href="/runbooks/">Runbooks</a>' in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/runbooks/../secret", "../secret"),
        ("/runbooks/..%2Fsecret", "../secret"),
        ("/runbooks/%2e%2e/secret.md", "../secret.md"),
        ("/runbooks/../../etc/passwd", "../../etc/passwd"),
        ("/runbooks/..%5Csecret", "..\\secret"),
        ("/runbooks/sub/AgentDown", "sub/AgentDown"),
        ("/runbooks/.hidden", ".hidden"),
        ("/runbooks/has.dot", "has.dot"),
        ("/runbooks/AgentDown.md.md", "AgentDown.md.md"),
        ("/runbooks/1AgentDown", "1AgentDown"),
        ("/runbooks/AgentDown%00", "AgentDown\x00"),
        ("/runbooks/Agent%20Down", "Agent Down"),
        ("/runbooks/.md", ".md"),
        # Werkzeug merges the double slash with a 308 first; the redirected name is still rejected.
        ("/runbooks/%2Fetc%2Fpasswd", "etc/passwd"),
    ],
)
def test_invalid_name_gets_404_json(local_client, path, name):
    response = local_client.get(path, follow_redirects=True)

    assert response.status_code == 404
    assert response.mimetype == "application/json"
    answer = response.get_json()
    assert answer["error"] == "runbook not found"
    assert answer["field"] == "name"
    assert answer["detail"] == (f"runbook name {name!r} is invalid; use an alert name such as AgentDown "
                                "(letters, digits, '_' and '-'), listed at /runbooks/")
    assert "TOP-SECRET" not in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/runbooks/NoSuchAlert", "/runbooks/NoSuchAlert.md", "/runbooks/notes"])
def test_unknown_name_gets_404_json(local_client, runbooks_dir, path):
    response = local_client.get(path)

    assert response.status_code == 404
    answer = response.get_json()
    stem = path.rsplit("/", 1)[1].removesuffix(".md")
    assert answer["error"] == "runbook not found"
    assert answer["field"] == "name"
    assert answer["detail"] == f"no runbook named {stem!r}; the list is at /runbooks/"
    assert str(runbooks_dir) not in response.get_data(as_text=True)


def test_rejections_are_counted(local_client):
    local_client.get("/runbooks/NoSuchAlert")
    local_client.get("/runbooks/..%2Fsecret")

    metrics = local_client.get("/metrics").get_data(as_text=True)

    assert 'receiver_rejected_requests_total{kind="runbooks",reason="runbook_not_found"} 1.0' in metrics
    assert 'receiver_rejected_requests_total{kind="runbooks",reason="invalid_runbook_name"} 1.0' in metrics


def test_html_inside_markdown_is_escaped(local_client, runbooks_dir):
    (runbooks_dir / "Hostile.md").write_text(
        "# Hostile <script>alert(1)</script>\n"
        "\n"
        'Text <img src=x onerror="alert(2)"> and [click](javascript:alert) and [ok](AgentDown.md).\n'
        "\n"
        "- item <b>bold</b>\n"
        "\n"
        "```html\n"
        "<iframe src=\"x\"></iframe>\n"
        "```\n"
        "\n"
        "`<code>` and [q](https://example.invalid/?a=1&b=\"2\")\n"
    )

    html = local_client.get("/runbooks/Hostile").get_data(as_text=True)

    assert "<script>" not in html
    assert "<img" not in html
    assert "<iframe" not in html
    assert "<b>" not in html
    assert "javascript:" not in html
    assert "<title>Hostile runbook</title>" in html
    assert '<h1 id="hostile-script-alert-1-script">Hostile &lt;script&gt;alert(1)&lt;/script&gt;</h1>' in html
    assert ('<p>Text &lt;img src=x onerror="alert(2)"&gt; and click and <a href="AgentDown.md">ok</a>.</p>'
            in html)
    assert "<ul><li>item &lt;b&gt;bold&lt;/b&gt;</li></ul>" in html
    assert '<pre><code class="language-html">&lt;iframe src="x"&gt;&lt;/iframe&gt;</code></pre>' in html
    assert ('<p><code>&lt;code&gt;</code> and <a href="https://example.invalid/?a=1&amp;b=&quot;2&quot;">q</a></p>'
            in html)


def test_missing_folder_gets_404_json(settings, tmp_path):
    missing = tmp_path / "no-runbooks"
    client = create_app(dataclasses.replace(settings, runbooks_dir=str(missing))).test_client()

    response = client.get("/runbooks/")

    assert response.status_code == 404
    answer = response.get_json()
    assert answer["error"] == "runbooks folder not found"
    assert answer["field"] == "RECEIVER_RUNBOOKS_DIR"
    assert answer["detail"] == ("the runbooks folder does not exist; set RECEIVER_RUNBOOKS_DIR "
                                "to the repository's docs/runbooks")
    assert str(missing) not in response.get_data(as_text=True)
    assert client.get("/runbooks/AgentDown").status_code == 404


def test_missing_default_folder_is_logged(settings, tmp_path, caplog):
    missing = tmp_path / "no-runbooks"

    create_app(dataclasses.replace(settings, runbooks_dir=str(missing)))

    warnings = [record.getMessage() for record in caplog.records if record.levelname == "WARNING"]
    assert warnings == [f"runbooks folder {missing} does not exist; /runbooks/ returns 404 until "
                        "RECEIVER_RUNBOOKS_DIR names the repository's docs/runbooks"]


def test_setting_names_the_folder(runbooks_dir):
    settings = load_settings({"RECEIVER_RUNBOOKS_DIR": str(runbooks_dir)})

    assert settings.runbooks_dir == str(runbooks_dir)


def test_setting_defaults_to_repository(runbooks_dir):
    assert load_settings({}).runbooks_dir == str(REPO_RUNBOOKS)
    assert load_settings({"RECEIVER_RUNBOOKS_DIR": ""}).runbooks_dir == str(REPO_RUNBOOKS)


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_setting_rejects_non_folder(tmp_path, kind):
    target = tmp_path / "runbooks"
    if kind == "file":
        target.write_text("not a folder\n")

    with pytest.raises(ConfigError) as raised:
        load_settings({"RECEIVER_RUNBOOKS_DIR": str(target)})

    assert str(raised.value) == (f"RECEIVER_RUNBOOKS_DIR={str(target)!r} is not an existing folder; "
                                 "point it at the repository's docs/runbooks")


@pytest.mark.parametrize("path", ["/runbooks/", "/runbooks/AgentHighErrorRate", "/runbooks/NoSuchAlert"])
def test_pages_hide_server_paths(client, path):
    html = client.get(path).get_data(as_text=True)

    assert str(REPO_RUNBOOKS) not in html
    assert str(REPO_RUNBOOKS.parents[1]) not in html
