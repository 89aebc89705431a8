"""Overlapping chunks of a document, sized in characters or in tokens of the embedding model's tokenizer.

Character chunks end at the last whitespace inside the window when there is one (no word cut in half); the next
chunk starts `overlap` units before the previous end, so a fact near a boundary is whole in at least one chunk
when it is shorter than the overlap.
"""
from __future__ import annotations

import re

_WORD = re.compile(r"\S+")


def chunk_text(text: str, size: int, overlap: int, unit: str = "chars", tokenizer=None) -> list[tuple[int, str]]:
    """[(start character, chunk text)] covering `text`; whitespace-only chunks are left out."""
    spans = _token_spans(text, tokenizer) if unit == "tokens" else None
    chunks = _by_tokens(text, spans, size, overlap) if spans is not None else _by_chars(text, size, overlap)
    return [(start, piece.strip()) for start, piece in chunks if piece.strip()]


def _by_chars(text: str, size: int, overlap: int) -> list[tuple[int, str]]:
    chunks, start = [], 0
    while start < len(text):
        end = min(start + size, len(text))
        if end < len(text):
            cut = text.rfind(" ", start + size // 2, end)  # prefer a word boundary in the second half
            end = cut if cut > start else end
        chunks.append((start, text[start:end]))
        if end >= len(text):
            break
        start = max(end - overlap, start + 1)
    return chunks


def _by_tokens(text: str, spans: list[tuple[int, int]], size: int, overlap: int) -> list[tuple[int, str]]:
    chunks, first = [], 0
    while first < len(spans):
        last = min(first + size, len(spans))
        start, end = spans[first][0], spans[last - 1][1]
        chunks.append((start, text[start:end]))
        if last >= len(spans):
            break
        first = max(last - overlap, first + 1)
    return chunks


def _token_spans(text: str, tokenizer) -> list[tuple[int, int]]:
    """Character span of every token: the tokenizer's offsets when it is a fast one, else whitespace words."""
    if tokenizer is not None and getattr(tokenizer, "is_fast", False):
        offsets = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True,
                            truncation=False)["offset_mapping"]
        return [tuple(o) for o in offsets if o[1] > o[0]]
    return [m.span() for m in _WORD.finditer(text)]
