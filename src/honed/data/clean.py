"""Cleaning steps: small functions over records; each drop carries a reason, nothing vanishes.

`normalise_text` fixes text in place (Unicode NFC, control characters, stray whitespace, leftover HTML); the
filters decide which records to drop (empty, too short, too long, matching a configured regex). A step returns
(kept, dropped) where each dropped entry is (record, reason); `honed.data.prepare` writes them to dropped.jsonl
and the audit counts every row the normalisation changed (and how many of those lost HTML).

HTML is read with the standard library's `html.parser`, never guessed with a regex. `strip_html`:
- "auto" (the default): only text that is markup beyond doubt loses its tags — a whole document (doctype, <html>,
  <body>), a <script>/<style> block, or a tag with attributes (`<a href=…>`, `<div class=…>`). An answer that says
  "Use the <br> tag" or "wrap it in <b>…</b>" is content and stays as written.
- true: every known HTML tag goes (text scraped from web pages); false: nothing is touched.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Literal

from honed.data.formats import map_record_text, output_text, record_texts

# Control characters except tab and newline (C0, DEL, C1) plus zero-width and BOM characters.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u200c\u200d\u2060\ufeff]")
_ODD_SPACES = re.compile(r"[\u00a0\u2000-\u200a\u202f\u205f\u3000]")
_SPACE_RUNS = re.compile(r"(?<=\S)[ \t]{2,}(?=\S)")  # inside a line only: code indentation survives
_BLANK_LINES = re.compile(r"\n\s*\n(\s*\n)+")
_TRAILING = re.compile(r"[ \t]+\n")
_MAYBE_MARKUP = re.compile(r"<[A-Za-z!/]|&(?:#\d{1,7}|#x[0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});")
HTML_TAGS = frozenset(
    "p br div span a b i u em strong li ul ol h1 h2 h3 h4 h5 h6 table tr td th tbody thead tfoot img hr font center "
    "blockquote pre code small sup sub section article header footer nav label button input form html body head "
    "title meta link style script main aside figure figcaption iframe noscript svg".split())
_BREAK_BEFORE = frozenset({"br", "hr"})
_BREAK_AFTER = frozenset({"p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table",
                          "section", "article", "header", "footer"})
_INVISIBLE = frozenset({"script", "style", "head", "noscript"})
_DOCUMENT = frozenset({"html", "body", "head"})

StripHtml = bool | Literal["auto"]


@dataclass
class CleanOptions:
    min_chars: int = 1
    max_chars: int = 20000
    strip_html: StripHtml = "auto"
    drop_patterns: list[str] = field(default_factory=list)

    @classmethod
    def from_config(cls, data) -> "CleanOptions":
        return cls(data.min_chars, data.max_chars, data.strip_html, list(data.drop_patterns))


def normalise_text(text: str, strip_html: StripHtml = True) -> str:
    """NFC, no control characters, single spaces, at most one blank line, no leftover HTML, trimmed."""
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if strip_html and _MAYBE_MARKUP.search(text) and (strip_html is True or is_markup(text)):
        text = remove_html(text)
    text = _CONTROL.sub("", text)
    if not text.isascii():
        text = _ODD_SPACES.sub(" ", text)
    text = _SPACE_RUNS.sub(" ", text)
    if "\n" in text:
        text = _TRAILING.sub("\n", text)
        text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


class _TagScan(HTMLParser):
    """Collects the known HTML tags of a text and whether any of them is unmistakably markup."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.markup = False

    def handle_starttag(self, tag, attrs):
        if tag in HTML_TAGS and (attrs or tag in _DOCUMENT or tag in ("script", "style")):
            self.markup = True

    def handle_decl(self, decl):
        if decl.lower().startswith("doctype html"):
            self.markup = True


def is_markup(text: str) -> bool:
    """True for a whole HTML document, a script/style block, or a known tag carrying attributes."""
    scan = _TagScan()
    try:
        scan.feed(text)
        scan.close()
    except Exception:  # html.parser is lenient, but never let a parser quirk stop a pipeline
        return False
    return scan.markup


class _Stripper(HTMLParser):
    """Text without known HTML tags: line-breaking tags become newlines, script/style/head content disappears,
    entities are decoded, and anything that only looks like a tag (`<EMAIL>`, `List<int>`) is written back."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag not in HTML_TAGS:
            self.out.append(self.get_starttag_text() or "")
        elif tag in _INVISIBLE:
            self.hidden += 1
        elif tag in _BREAK_BEFORE:
            self.out.append("\n")

    def handle_startendtag(self, tag, attrs):
        if tag not in HTML_TAGS:
            self.out.append(self.get_starttag_text() or "")
        elif tag in _BREAK_BEFORE:
            self.out.append("\n")

    def handle_endtag(self, tag):
        if tag not in HTML_TAGS:
            self.out.append(f"</{tag}>")
        elif tag in _INVISIBLE:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BREAK_AFTER:
            self.out.append("\n")

    def handle_data(self, data):
        if not self.hidden:
            self.out.append(data)


def remove_html(text: str) -> str:
    """Known HTML tags removed (see _Stripper), entities decoded; `a < b` and placeholders stay."""
    stripper = _Stripper()
    try:
        stripper.feed(text)
        stripper.close()
    except Exception:  # keep the text as it was rather than lose it
        return text
    return "".join(stripper.out)


def drop_reason(record: dict, options: CleanOptions,
                patterns: list[re.Pattern] | None = None) -> tuple[str, str] | None:
    """(code, detail) when cleaning leaves nothing worth training on, else None."""
    texts = record_texts(record)
    size = sum(len(t) for t in texts)
    if not output_text(record).strip():
        return "empty", "no answer text left after cleaning"
    if any(m["role"] == "user" and not m["content"] for m in record.get("messages") or record.get("prompt") or []):
        return "empty", "a user message is empty after cleaning"
    if size < options.min_chars:
        return "too_short", f"{size} characters < data.min_chars={options.min_chars}"
    if size > options.max_chars:
        return "too_long", f"{size} characters > data.max_chars={options.max_chars}"
    for pattern in patterns if patterns is not None else [re.compile(p) for p in options.drop_patterns]:
        for text in texts:
            if pattern.search(text):
                return "pattern", f"matches data.drop_patterns `{pattern.pattern}`"
    return None


def clean_records(records: list[dict], options: CleanOptions,
                  changes: Counter | None = None) -> tuple[list[dict], list[tuple[dict, str]]]:
    """Normalise every record; return (kept, [(dropped record, (code, detail))]). `changes` counts the rows the
    normalisation rewrote (`changed`) and, of those, the ones that lost HTML markup (`html_stripped`)."""
    patterns = [re.compile(p) for p in options.drop_patterns]
    kept, dropped = [], []
    for record in records:
        cleaned = map_record_text(record, lambda t: normalise_text(t, options.strip_html))
        if changes is not None and record_texts(cleaned) != record_texts(record):
            changes["changed"] += 1
            unstripped = map_record_text(record, lambda t: normalise_text(t, False))
            if options.strip_html and record_texts(cleaned) != record_texts(unstripped):
                changes["html_stripped"] += 1
        record = cleaned
        reason = drop_reason(record, options, patterns)
        if reason:
            dropped.append((record, reason))
        else:
            kept.append(record)
    return kept, dropped
