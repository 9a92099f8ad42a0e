"""Briefs from links and forwarded posts: what a message brings besides its own words.

A link in a brief is fetched through the project's one hardened client
(:class:`publishers.outbound.GuardedClient`: private addresses refused on every hop, a size
cap, a deadline), and its title, description and main text become the material of the draft.
The main text comes from a small stdlib :class:`html.parser.HTMLParser` pass that skips
scripts, styles, navigation, headers and footers and keeps the text of paragraphs, headings
and list items (an article's body, not its menu).

The link itself must stay in the post: the brief asks Claude to keep it, and
:func:`keep_link` appends it when the draft dropped it anyway. The brief ends with a line
naming the link (:func:`link_of`), so a later rewrite of the draft keeps it too.

Errors::

    LinkUnusable    the page can't be used as a brief; ``reason`` says why in plain words
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from html.parser import HTMLParser

import httpx

from publishers.outbound import DeadlineExceeded, GuardedClient, RefusedURL, TooLarge

#: How much of a page's main text goes into the brief (Claude needs the gist, not the page).
MAX_MAIN_TEXT = 3000
MAX_TITLE = 300
MAX_DESCRIPTION = 600
#: A page bigger than this is not an article (the outbound client's own cap is for feeds).
MAX_PAGE_BYTES = 2 * 1024 * 1024
#: The owner waits for this page in the chat: a short deadline.
PAGE_DEADLINE_S = 15.0
_URL = re.compile(r"https?://[^\s<>\"'«»]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}»\"'"
_KEEP_LINE = "Keep this link in the post, as a bare URL: "
_SKIPPED = frozenset(
    {"script", "style", "noscript", "nav", "footer", "header", "aside", "form", "svg", "template"}
)
_BLOCKS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "li", "blockquote", "pre", "article", "section", "div", "br"}
)
_TEXTUAL = ("text/html", "application/xhtml+xml")


class LinkUnusable(Exception):
    """The page behind a link can't serve as a brief; ``reason`` is for the owner."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class PageBrief:
    """What a page says about itself: its title, description and main text."""

    url: str
    title: str = ""
    description: str = ""
    text: str = ""


def first_link(text: str) -> str | None:
    """The first http(s) URL in `text`, without the punctuation that ends a sentence."""
    match = _URL.search(text)
    return match[0].rstrip(_TRAILING) if match else None


def without_link(text: str, url: str) -> str:
    """The owner's own words around the link."""
    return " ".join(text.replace(url, " ").split())


class _Extractor(HTMLParser):
    """Title, meta description (Open Graph first) and the visible text of content blocks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.og_title = ""
        self.description = ""
        self.og_description = ""
        self._in_title = False
        self._skipping = 0
        self._blocks: list[list[str]] = [[]]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._skipping += 1
        elif tag == "title":
            self._in_title = True
        elif tag == "meta":
            self._meta(dict(attrs))
        if tag in _BLOCKS:
            self._blocks.append([])

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "meta":
            self._meta(dict(attrs))
        elif tag == "br":
            self._blocks.append([])

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._skipping = max(0, self._skipping - 1)
        elif tag == "title":
            self._in_title = False
        if tag in _BLOCKS:
            self._blocks.append([])

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self._skipping:
            self._blocks[-1].append(data)

    def _meta(self, attrs: dict[str, str | None]) -> None:
        key = (attrs.get("property") or attrs.get("name") or "").lower()
        content = " ".join((attrs.get("content") or "").split())
        if key == "og:title":
            self.og_title = content
        elif key == "og:description":
            self.og_description = content
        elif key == "description":
            self.description = content

    def main_text(self) -> str:
        paragraphs = (" ".join("".join(block).split()) for block in self._blocks)
        return "\n".join(p for p in paragraphs if p)


def _clip(text: str, limit: int) -> str:
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(None, 1)[0] if " " in text[:limit] else text[:limit]
    return cut + "…"


def extract(url: str, page: str) -> PageBrief:
    """The page's title, description and main text, each capped."""
    parser = _Extractor()
    parser.feed(page)
    parser.close()
    title = parser.og_title or " ".join(parser.title.split())
    return PageBrief(
        url=url,
        title=_clip(title, MAX_TITLE),
        description=_clip(parser.og_description or parser.description, MAX_DESCRIPTION),
        text=_clip(parser.main_text(), MAX_MAIN_TEXT),
    )


def _charset(content_type: str) -> str:
    match = re.search(r"charset=([\w-]+)", content_type, re.IGNORECASE)
    return match[1] if match else "utf-8"


async def fetch_page(
    client: GuardedClient, url: str, *, deadline: float = PAGE_DEADLINE_S
) -> PageBrief:
    """Fetch `url` through the hardened client (within `deadline` seconds, the client's own
    deadline being longer) and extract it; LinkUnusable says why not."""
    try:
        async with asyncio.timeout(deadline):
            page = await client.fetch(url, headers={"Accept": "text/html,application/xhtml+xml"})
    except TimeoutError as exc:
        raise LinkUnusable(f"the site did not finish answering within {deadline:g} s") from exc
    except (RefusedURL, TooLarge, DeadlineExceeded) as exc:
        raise LinkUnusable(exc.reason) from exc
    except httpx.TooManyRedirects as exc:
        raise LinkUnusable(str(exc)) from exc
    except httpx.HTTPError as exc:
        raise LinkUnusable(f"the site did not answer ({type(exc).__name__})") from exc
    if page.status_code >= 400:
        raise LinkUnusable(f"the site answered {page.status_code} (the page is not there)")
    if len(page.content) > MAX_PAGE_BYTES:
        raise LinkUnusable(
            f"the page is larger than {MAX_PAGE_BYTES // 1024 // 1024} MB, more than Nexus reads"
        )
    content_type = page.headers.get("content-type", "")
    if not content_type.lower().startswith(_TEXTUAL):
        kind = content_type.split(";")[0].strip() or "unknown"
        raise LinkUnusable(f"it is not a web page but a file of type {kind}")
    html = page.content.decode(_charset(content_type), errors="replace")
    brief = extract(str(page.url), html)
    if not (brief.title or brief.description or brief.text):
        raise LinkUnusable("the page has no text to draft from")
    return PageBrief(url=url, title=brief.title, description=brief.description, text=brief.text)


def link_brief(words: str, url: str, page: PageBrief | None) -> str:
    """The brief for a link: the owner's words, what the page says (if it could be read), and
    the line that keeps the link in the post."""
    lines = [words or "Write a post about the page at this link."]
    if page is not None:
        lines += ["", f'<page url="{url}">']
        lines += [f"Title: {page.title}"] if page.title else []
        lines += [f"Description: {page.description}"] if page.description else []
        lines += [f"Main text:\n{page.text}"] if page.text else []
        lines += ["</page>", "Draft from what the page says; do not invent anything beyond it."]
    lines += ["", _KEEP_LINE + url]
    return "\n".join(lines)


def link_of(brief: str) -> str | None:
    """The link a brief asks to keep in the post, if any."""
    for line in reversed(brief.splitlines()):
        if line.startswith(_KEEP_LINE):
            return line.removeprefix(_KEEP_LINE).strip() or None
    return None


def keep_link(text: str, url: str | None) -> str:
    """`text` with `url` in it: appended on its own line when the draft dropped it."""
    if not url or url in text:
        return text
    return f"{text.rstrip()}\n\n{url}"


def forward_brief(text: str, origin: str, origin_url: str | None, links: list[str]) -> str:
    """The brief for a post forwarded from elsewhere: who posted it, its text, and the links
    its words hid (a forwarded post's "read more" is often a link behind a word)."""
    source = f"{origin} ({origin_url})" if origin_url else origin
    lines = [
        f"Forwarded post from {source}. Write our own post from it (do not copy it word for"
        " word); credit the source if it fits.",
        "<forwarded>",
        text,
        "</forwarded>",
    ]
    hidden = [link for link in dict.fromkeys(links) if link not in text]
    if hidden:
        lines.append("Links in it: " + " ".join(hidden))
    return "\n".join(lines)
