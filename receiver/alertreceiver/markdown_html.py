"""Render the Markdown subset the runbooks use as HTML, escaping every piece of source text.

Blocks: ATX headings (``#`` to ``######``), paragraphs, bullet (``-``, ``*``, ``+``) and
ordered (``1.``, ``1)``) lists nested by indentation, fenced code blocks (three or more
backticks or tildes), block quotes and horizontal rules. Inline: code spans, links,
``<url>`` and bare http(s) URLs, ``**strong**`` and ``*emphasis*``.

Raw HTML in the source is shown as text, never passed through. A link whose target is
neither an http(s) URL nor a relative path (``javascript:``, ``data:`` and the like) keeps
only its text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import escape
from urllib.parse import urlsplit

from markupsafe import Markup

_FENCE = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\s]*)")
_HEADING = re.compile(r"^ {0,3}(?P<level>#{1,6})(?:\s+(?P<text>.*?))?(?:\s+#+)?\s*$")
_RULE = re.compile(r"^ {0,3}(?:(?:-\s*){3,}|(?:\*\s*){3,}|(?:_\s*){3,})$")
_LIST_ITEM = re.compile(r"^(?P<indent> *)(?P<marker>[-*+]|(?P<number>\d{1,9})[.)])(?:\s+(?P<text>.*)|$)")
_QUOTE = re.compile(r"^ {0,3}> ?(?P<text>.*)$")
_LANGUAGE = re.compile(r"^[A-Za-z0-9_+-]+$")

_INLINE = re.compile(
    r"(?P<code_fence>`+)(?P<code>.+?)(?P=code_fence)"
    r"|\[(?P<link_text>[^\]]+)\]\((?P<link_url>[^()\s]+)\)"
    r"|<(?P<autolink>https?://[^>\s]+)>"
    # A bare URL stops before closing punctuation, so "(http://host:3000)." links the URL only.
    r"|(?P<bare_url>https?://[^\s<>()\[\]]*[^\s<>()\[\].,;:!?'\"])"
    r"|\*\*(?P<strong>[^*\s](?:.*?[^*\s])?)\*\*"
    r"|\*(?P<emphasis>[^*\s](?:[^*]*?[^*\s])?)\*"
)


def http_link(url: str) -> str | None:
    """Return `url` if it is an absolute http(s) URL; alert text is untrusted, so no javascript: links."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme in ("http", "https") and parts.netloc:
        return url
    return None


def safe_href(url: str) -> str | None:
    """Return `url` if a browser may follow it from a runbook: http(s) or a relative path."""
    if http_link(url):
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    # "//host/path" has no scheme but leaves the site, and "a:b" without // is some other scheme.
    if not parts.scheme and not parts.netloc and not url.startswith("//"):
        return url
    return None


def _link(href: str | None, text_html: str) -> str:
    if href is None:
        return text_html
    return f'<a href="{escape(href, quote=True)}">{text_html}</a>'


def render_inline(text: str) -> str:
    """Render one block's text: code spans, links, strong and emphasis, the rest escaped."""
    parts: list[str] = []
    position = 0
    for match in _INLINE.finditer(text):
        parts.append(escape(text[position:match.start()], quote=False))
        position = match.end()
        if match["code"] is not None:
            parts.append(f"<code>{escape(match['code'].strip(), quote=False)}</code>")
        elif match["link_text"] is not None:
            parts.append(_link(safe_href(match["link_url"]), render_inline(match["link_text"])))
        elif match["autolink"] is not None or match["bare_url"] is not None:
            url = match["autolink"] or match["bare_url"]
            parts.append(_link(safe_href(url), escape(url, quote=False)))
        elif match["strong"] is not None:
            parts.append(f"<strong>{render_inline(match['strong'])}</strong>")
        else:
            parts.append(f"<em>{render_inline(match['emphasis'])}</em>")
    parts.append(escape(text[position:], quote=False))
    return "".join(parts)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@dataclass
class _List:
    """An open list: its tag, the indentation of its markers, and its items' HTML so far."""

    tag: str
    indent: int
    start: int
    items: list[list[str]] = field(default_factory=list)

    def html(self) -> str:
        start = f' start="{self.start}"' if self.tag == "ol" and self.start != 1 else ""
        body = "".join(f"<li>{''.join(item)}</li>" for item in self.items)
        return f"<{self.tag}{start}>{body}</{self.tag}>"


class _Renderer:
    """Line-by-line block parser that keeps the open paragraph and list stack between lines."""

    def __init__(self) -> None:
        self.blocks: list[str] = []
        self.paragraph: list[str] = []
        self.lists: list[_List] = []
        # The text lines of the list item being read, rendered when the item ends.
        self.item_lines: list[str] = []

    def render(self, lines: list[str]) -> str:
        index = 0
        while index < len(lines):
            line = lines[index].rstrip()
            fence = _FENCE.match(line)
            if fence:
                index = self._code_block(lines, index, fence)
                continue
            self._line(line)
            index += 1
        self._close_blocks()
        return "\n".join(self.blocks)

    def _line(self, line: str) -> None:
        if not line.strip():
            self._close_paragraph()
            self._close_item_text()
            return
        heading = _HEADING.match(line)
        if heading:
            self._close_blocks()
            level = len(heading["level"])
            text = heading["text"] or ""
            self.blocks.append(f'<h{level} id="{_slug(text)}">{render_inline(text)}</h{level}>')
            return
        if _RULE.match(line):
            self._close_blocks()
            self.blocks.append("<hr>")
            return
        item = _LIST_ITEM.match(line)
        if item:
            self._list_item(item)
            return
        quote = _QUOTE.match(line)
        if quote and not self.lists:
            self._close_paragraph()
            self.blocks.append(f"<blockquote><p>{render_inline(quote['text'])}</p></blockquote>")
            return
        if self.lists:
            # An indented or lazy continuation line belongs to the open list item, unless a
            # blank line ended that item and this line is not indented under it.
            if self.item_lines or len(line) - len(line.lstrip()) > self.lists[-1].indent:
                self.item_lines.append(line.strip())
                return
            self._close_lists(0)
        self.paragraph.append(line.strip())

    def _list_item(self, item: re.Match[str]) -> None:
        self._close_paragraph()
        self._close_item_text()
        indent = len(item["indent"])
        tag = "ol" if item["number"] is not None else "ul"
        # Close lists nested deeper than this marker, then continue or open a list at its level.
        while self.lists and self.lists[-1].indent > indent:
            self._close_top_list()
        if self.lists and self.lists[-1].indent == indent and self.lists[-1].tag != tag:
            self._close_top_list()
        if not self.lists or self.lists[-1].indent < indent:
            start = int(item["number"]) if item["number"] is not None else 1
            self.lists.append(_List(tag, indent, start))
        self.lists[-1].items.append([])
        self.item_lines = [item["text"] or ""]

    def _code_block(self, lines: list[str], index: int, fence: re.Match[str]) -> int:
        self._close_blocks()
        marker = fence["fence"]
        language = fence["info"] if _LANGUAGE.match(fence["info"] or "") else ""
        body: list[str] = []
        index += 1
        while index < len(lines) and not lines[index].strip().startswith(marker):
            body.append(lines[index].rstrip("\n"))
            index += 1
        css_class = f' class="language-{language}"' if language else ""
        code = escape("\n".join(body), quote=False)
        self.blocks.append(f"<pre><code{css_class}>{code}</code></pre>")
        # Skip the closing fence; an unclosed fence runs to the end of the file, as in CommonMark.
        return index + 1

    def _close_paragraph(self) -> None:
        if self.paragraph:
            text = render_inline("\n".join(self.paragraph))
            self.blocks.append(f"<p>{text}</p>")
            self.paragraph = []

    def _close_item_text(self) -> None:
        if self.lists and self.item_lines:
            item = self.lists[-1].items[-1]
            text = render_inline("\n".join(self.item_lines))
            # Text after a blank line inside an item is a second paragraph of that item.
            item.append(f"<p>{text}</p>" if item else text)
        self.item_lines = []

    def _close_top_list(self) -> None:
        self._close_item_text()
        closed = self.lists.pop()
        if self.lists:
            self.lists[-1].items[-1].append(closed.html())
        else:
            self.blocks.append(closed.html())

    def _close_lists(self, keep: int) -> None:
        while len(self.lists) > keep:
            self._close_top_list()

    def _close_blocks(self) -> None:
        self._close_paragraph()
        self._close_lists(0)


def render_markdown(text: str) -> Markup:
    """Return `text` (Markdown) as HTML that is safe to insert into a page."""
    return Markup(_Renderer().render(text.splitlines()))
