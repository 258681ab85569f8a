"""The runbook Markdown renderer: each block and inline form, and what it never passes through."""

from __future__ import annotations

import pytest
from markupsafe import Markup

from alertreceiver.markdown_html import render_markdown, safe_href

CASES = [
    ("heading", "## Likely causes", '<h2 id="likely-causes">Likely causes</h2>'),
    ("heading with closing hashes", "### Drill ###", '<h3 id="drill">Drill</h3>'),
    ("seven hashes are text", "####### x", "<p>####### x</p>"),
    ("hash without space is text", "#tag", "<p>#tag</p>"),
    ("paragraph joins lines", "one\ntwo\n\nthree", "<p>one\ntwo</p>\n<p>three</p>"),
    ("bullet list", "- a\n- b", "<ul><li>a</li><li>b</li></ul>"),
    ("star and plus bullets", "* a\n+ b", "<ul><li>a</li><li>b</li></ul>"),
    ("ordered list", "1. a\n2. b", "<ol><li>a</li><li>b</li></ol>"),
    ("ordered list start", "3. c\n4. d", '<ol start="3"><li>c</li><li>d</li></ol>'),
    ("nested list", "- a\n  - b\n  - c\n- d", "<ul><li>a<ul><li>b</li><li>c</li></ul></li><li>d</li></ul>"),
    ("bullets under numbers", "1. a\n   - b\n2. c", "<ol><li>a<ul><li>b</li></ul></li><li>c</li></ol>"),
    ("indented continuation", "1. a\n   more", "<ol><li>a\nmore</li></ol>"),
    ("lazy continuation", "- a\nmore", "<ul><li>a\nmore</li></ul>"),
    ("second paragraph in item", "- a\n\n  b", "<ul><li>a<p>b</p></li></ul>"),
    ("paragraph after list", "- a\n\ntext", "<ul><li>a</li></ul>\n<p>text</p>"),
    ("list interrupts paragraph", "text\n- a", "<p>text</p>\n<ul><li>a</li></ul>"),
    ("bullet then numbers", "- a\n1. b", "<ul><li>a</li></ul>\n<ol><li>b</li></ol>"),
    ("fenced code", "```sh\necho <x> & y\n  indented\n```", '<pre><code class="language-sh">echo &lt;x&gt; &amp; y\n'
     "  indented</code></pre>"),
    ("tilde fence", "~~~\n# not a heading\n~~~", "<pre><code># not a heading</code></pre>"),
    ("unclosed fence runs to end", "```\na\nb", "<pre><code>a\nb</code></pre>"),
    ("bad language dropped", '```x"onload\na\n```', "<pre><code>a</code></pre>"),
    ("fence ends list", "- a\n```\nb\n```", "<ul><li>a</li></ul>\n<pre><code>b</code></pre>"),
    ("block quote", "> careful", "<blockquote><p>careful</p></blockquote>"),
    ("horizontal rule", "a\n\n---\n\nb", "<p>a</p>\n<hr>\n<p>b</p>"),
    ("code span", "run `a < b`", "<p>run <code>a &lt; b</code></p>"),
    ("double backtick span", "``a ` b``", "<p><code>a ` b</code></p>"),
    ("star inside code", "`x * y` and *z*", "<p><code>x * y</code> and <em>z</em></p>"),
    ("lone star is text", "5 * 3 * 2", "<p>5 * 3 * 2</p>"),
    ("strong", "**Severity:** high", "<p><strong>Severity:</strong> high</p>"),
    ("strong around code", "**see `x`**", "<p><strong>see <code>x</code></strong></p>"),
    ("underscores stay", "agent_errors_total", "<p>agent_errors_total</p>"),
    ("relative link", "[down](AgentDown.md)", '<p><a href="AgentDown.md">down</a></p>'),
    ("absolute link", "[p](http://localhost:9090/graph)", '<p><a href="http://localhost:9090/graph">p</a></p>'),
    ("anchor link", "[m](#meaning)", '<p><a href="#meaning">m</a></p>'),
    ("angle autolink", "<https://a.example/x>", '<p><a href="https://a.example/x">https://a.example/x</a></p>'),
    ("bare url stops at punctuation", "UI (http://localhost:3000/d/x), then",
     '<p>UI (<a href="http://localhost:3000/d/x">http://localhost:3000/d/x</a>), then</p>'),
    ("bare url with query", "http://h:1/?a=1&b=2.",
     '<p><a href="http://h:1/?a=1&amp;b=2">http://h:1/?a=1&amp;b=2</a>.</p>'),
    ("javascript link dropped", "[x](javascript:alert)", "<p>x</p>"),
    ("data link dropped", "[x](data:text/html;base64,PHNjcmlwdD4=)", "<p>x</p>"),
    ("protocol-relative link dropped", "[x](//evil.example/a)", "<p>x</p>"),
    ("raw html escaped", '<div onclick="x">hi</div>', "<p>&lt;div onclick=\"x\"&gt;hi&lt;/div&gt;</p>"),
    ("entity escaped", "&amp; &lt;", "<p>&amp;amp; &amp;lt;</p>"),
    ("html in link text escaped", "[<b>x</b>](a.md)", '<p><a href="a.md">&lt;b&gt;x&lt;/b&gt;</a></p>'),
    ("html in heading escaped", "# <i>x</i>", '<h1 id="i-x-i">&lt;i&gt;x&lt;/i&gt;</h1>'),
    ("empty document", "", ""),
]


@pytest.mark.parametrize(("source", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_render_markdown(source, expected):
    assert render_markdown(source) == expected


def test_result_is_markup():
    assert isinstance(render_markdown("x"), Markup)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.invalid/a", "https://example.invalid/a"),
        ("http://127.0.0.1:5001/runbooks/AgentDown", "http://127.0.0.1:5001/runbooks/AgentDown"),
        ("AgentDown.md", "AgentDown.md"),
        ("/runbooks/", "/runbooks/"),
        ("#confirm", "#confirm"),
        ("javascript:alert(1)", None),
        ("JavaScript:alert(1)", None),
        ("vbscript:x", None),
        ("data:text/html,x", None),
        ("mailto:a@example.invalid", None),
        ("//evil.example/", None),
        ("http://", None),
        ("http://[::1", None),
    ],
)
def test_safe_href(url, expected):
    assert safe_href(url) == expected
