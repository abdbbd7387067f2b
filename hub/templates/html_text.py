"""The plain-text part of a letter, derived from its HTML with the standard `html.parser`.

Keeps what a reader of the text part needs: paragraphs and headings as blocks separated
by a blank line, `<br>` as a line break, list items as "- " (or "1. " in ordered lists),
links as "text (url)", table cells separated by " | ". Drops scripts, styles and the
head. Whitespace inside text collapses as a browser would show it.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

#: Elements that start and end a block (a blank line around them).
_BLOCKS = frozenset(
    {
        "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table",
        "ul", "ol", "section", "article", "header", "footer", "address", "hr", "form",
    }
)  # fmt: skip
#: Elements that end a line without a blank one.
_LINES = frozenset({"li", "tr", "dt", "dd"})
#: Elements whose content is never shown.
_HIDDEN = frozenset({"script", "style", "head", "title", "template"})
_SPACE = re.compile(r"[ \t\r\n\f\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")
#: Opens a variable's mark in a skeleton (a private-use character: never markup, never space).
MARK = "\ue000"
#: A mark right after an unfinished character reference or tag: its value could finish them.
_UNFINISHED = re.compile(r"(?:&[#\w]*|<[/!?]?[^\s>]*)" + MARK)


class _Converter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.hidden = 0
        self.pre = 0
        self.lists: list[list[int]] = []  # per open list: [next number] for <ol>, [] for <ul>
        self.links: list[tuple[str | None, int]] = []  # (href, position in out)
        self.cells = 0

    def _newlines(self, count: int) -> None:
        text = "".join(self.out).rstrip(" ")
        if not text:
            self.out = []
            return
        have = len(text) - len(text.rstrip("\n"))
        self.out = [text + "\n" * max(0, count - have)]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag == "br":
            self.out.append("\n")
        elif tag in _BLOCKS:
            self._newlines(2)
            if tag == "pre":
                self.pre += 1
            elif tag == "ol":
                self.lists.append([1])
            elif tag == "ul":
                self.lists.append([])
            elif tag == "hr":
                self.out.append("----------")
                self._newlines(2)
        elif tag == "li":
            self._newlines(1)
            indent = "  " * max(0, len(self.lists) - 1)
            if self.lists and self.lists[-1]:
                number = self.lists[-1][0]
                self.lists[-1][0] += 1
                self.out.append(f"{indent}{number}. ")
            else:
                self.out.append(f"{indent}- ")
        elif tag in _LINES:
            self._newlines(1)
            self.cells = 0
        elif tag in ("td", "th"):
            if self.cells:
                self.out.append(" | ")
            self.cells += 1
        elif tag == "a":
            self.links.append((dict(attrs).get("href"), len(self.out)))
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.out.append(alt)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in ("br", "hr", "img"):
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCKS:
            if tag == "pre":
                self.pre = max(0, self.pre - 1)
            elif tag in ("ol", "ul") and self.lists:
                self.lists.pop()
            self._newlines(2)
        elif tag in _LINES:
            self._newlines(1)
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            label = "".join(self.out[start:]).strip()
            if href and not href.startswith(("#", "javascript:")):
                target = href.removeprefix("mailto:")
                if not label:
                    self.out.append(target)
                elif label != target:
                    self.out.append(f" ({target})")

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        if self.pre:
            self.out.append(data)
            return
        text = _SPACE.sub(" ", data)
        current = "".join(self.out[-1:])
        if text.startswith(" ") and (not current or current.endswith((" ", "\n"))):
            text = text.lstrip(" ")
        self.out.append(text)


class _Marked(_Converter):
    """The converter, noting whether a mark stood anywhere but in shown plain text."""

    def __init__(self) -> None:
        super().__init__()
        self.misplaced = False

    def _note(self, *texts: str | None) -> None:
        if any(t is not None and MARK in t for t in texts):
            self.misplaced = True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._note(tag, *(name for name, _ in attrs), *(value for _, value in attrs))
        super().handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        self._note(tag)
        if tag == "a" and self.links:  # a label is compared with its link: values matter
            self._note("".join(self.out[self.links[-1][1] :]))
        super().handle_endtag(tag)

    def handle_comment(self, data: str) -> None:
        self._note(data)

    def handle_decl(self, decl: str) -> None:
        self._note(decl)

    def handle_pi(self, data: str) -> None:
        self._note(data)

    def unknown_decl(self, data: str) -> None:
        self._note(data)


def _convert(parser: _Converter, html: str) -> str:
    parser.feed(html)
    parser.close()
    text = "\n".join(line.rstrip() for line in "".join(parser.out).split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip("\n")


def html_to_text(html: str) -> str:
    """The readable plain text of `html` (see the module docstring for what is kept)."""
    return _convert(_Converter(), html)


def text_skeleton(html: str) -> str | None:
    """`html_to_text` of `html` whose variables are marks (`MARK`, digits, a closing
    private-use character), when every mark stands in plain text: then putting a value
    in its mark's place gives the text of the HTML with that value in it, for a value
    that is one or more words separated by single spaces without ``& < > " '`` (see
    `hub.templates.rendering`). None when a mark is in a tag, an attribute, a comment,
    a link's label or right after an unfinished ``&…`` or ``<…``."""
    if _UNFINISHED.search(html):
        return None
    parser = _Marked()
    text = _convert(parser, html)
    return None if parser.misplaced else text
