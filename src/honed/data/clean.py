"""Cleaning steps: small functions over records; each drop carries a reason, nothing vanishes.

`normalise_text` fixes text in place (Unicode NFC, control characters, stray whitespace, leftover HTML); the
filters decide which records to drop (empty, too short, too long, matching a configured regex). A step returns
(kept, dropped) where each dropped entry is (record, reason); `honed.data.prepare` writes them to dropped.jsonl.
"""
from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field

from honed.data.formats import map_record_text, output_text, record_texts

# Control characters except tab and newline (C0, DEL, C1) plus zero-width and BOM characters.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u200c\u200d\u2060\ufeff]")
_ODD_SPACES = re.compile(r"[\u00a0\u2000-\u200a\u202f\u205f\u3000]")
_SPACE_RUNS = re.compile(r"(?<=\S)[ \t]{2,}(?=\S)")  # inside a line only: code indentation survives
_BLANK_LINES = re.compile(r"\n\s*\n(\s*\n)+")
_TRAILING = re.compile(r"[ \t]+\n")
_HTML_TAG = re.compile(
    r"</?(?:p|br|div|span|a|b|i|u|em|strong|li|ul|ol|h[1-6]|table|tr|td|th|tbody|thead|img|hr|font|center|"
    r"blockquote|pre|code|small|sup|sub|section|article|header|footer|nav|label|button|input|form|html|body|head|"
    r"title|meta|link|style|script)(?:\s[^<>]*)?/?>", re.IGNORECASE)
_HTML_BLOCK = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_HTML_BREAK = re.compile(r"<(?:br|/p|/div|/li|/tr|/h[1-6])\s*/?>", re.IGNORECASE)
_HTML_ENTITY = re.compile(r"&(?:#\d{1,7}|#x[0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});")


@dataclass
class CleanOptions:
    min_chars: int = 1
    max_chars: int = 20000
    strip_html: bool = True
    drop_patterns: list[str] = field(default_factory=list)

    @classmethod
    def from_config(cls, data) -> "CleanOptions":
        return cls(data.min_chars, data.max_chars, data.strip_html, list(data.drop_patterns))


def normalise_text(text: str, strip_html: bool = True) -> str:
    """NFC, no control characters, single spaces, at most one blank line, no leftover HTML, trimmed."""
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if strip_html and ("<" in text or "&" in text):
        text = remove_html(text)
    text = _CONTROL.sub("", text)
    if not text.isascii():
        text = _ODD_SPACES.sub(" ", text)
    text = _SPACE_RUNS.sub(" ", text)
    if "\n" in text:
        text = _TRAILING.sub("\n", text)
        text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


def remove_html(text: str) -> str:
    """Drop script/style blocks and known HTML tags (line-breaking ones become newlines); decode entities.

    Only real HTML tag names are touched, so `a < b`, `<EMAIL>` placeholders and generics like `List<int>` stay.
    """
    if "<" in text:
        text = _HTML_BLOCK.sub("", text)
        text = _HTML_BREAK.sub("\n", text)
        text = _HTML_TAG.sub("", text)
    if "&" in text and _HTML_ENTITY.search(text):
        text = html.unescape(text)
    return text


def drop_reason(record: dict, options: CleanOptions, patterns: list[re.Pattern] | None = None) -> str | None:
    texts = record_texts(record)
    size = sum(len(t) for t in texts)
    if not output_text(record).strip():
        return "empty: no answer text left after cleaning"
    if any(m["role"] == "user" and not m["content"] for m in record.get("messages") or record.get("prompt") or []):
        return "empty: a user message is empty after cleaning"
    if size < options.min_chars:
        return f"too_short: {size} characters < data.min_chars={options.min_chars}"
    if size > options.max_chars:
        return f"too_long: {size} characters > data.max_chars={options.max_chars}"
    for pattern in patterns if patterns is not None else [re.compile(p) for p in options.drop_patterns]:
        for text in texts:
            if pattern.search(text):
                return f"pattern: matches data.drop_patterns `{pattern.pattern}`"
    return None


def clean_records(records: list[dict], options: CleanOptions) -> tuple[list[dict], list[tuple[dict, str]]]:
    """Normalise every record; return (kept, [(dropped record, reason)])."""
    patterns = [re.compile(p) for p in options.drop_patterns]
    kept, dropped = [], []
    for record in records:
        record = map_record_text(record, lambda t: normalise_text(t, options.strip_html))
        reason = drop_reason(record, options, patterns)
        if reason:
            dropped.append((record, reason))
        else:
            kept.append(record)
    return kept, dropped
