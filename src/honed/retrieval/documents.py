"""The documents of a retrieval corpus: `data.documents` files and folders → (path, content hash, text).

Markdown and plain text are read as UTF-8; PDF pages through `pypdf` (text layer only: a scanned PDF without one
yields nothing and is reported); JSONL rows contribute their `data.retrieval.text_field` (one document per row,
joined with blank lines so chunks never straddle two rows mid-sentence more than the overlap allows).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from honed.core.errors import HonedError

SUFFIXES = (".md", ".markdown", ".txt", ".text", ".rst", ".pdf", ".jsonl")


def find_documents(root: Path, entries: list[str]) -> list[Path]:
    """Every readable document named by `entries` (files, or folders searched recursively), sorted, unique."""
    found: set[Path] = set()
    for entry in entries:
        path = (root / entry).resolve() if not Path(entry).is_absolute() else Path(entry)
        if path.is_dir():
            found.update(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
        elif path.is_file():
            if path.suffix.lower() not in SUFFIXES:
                raise HonedError(f"`{entry}` is not a document honed can read ({path.suffix or 'no suffix'})",
                                 f"use Markdown, text, PDF or JSONL ({', '.join(SUFFIXES)})")
            found.add(path)
        else:
            raise HonedError(f"data.documents: `{entry}` does not exist (looked at {path})",
                             "fix the path (relative to honed.yaml) or remove it from data.documents")
    return sorted(found)


def content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_document(path: Path, text_field: str = "text") -> str:
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return _read_pdf(path)
    if suffix == ".jsonl":
        return _read_jsonl(path, text_field)
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise HonedError(f"`{path}` is not UTF-8 text ({exc.reason} at byte {exc.start})",
                         "convert it to UTF-8 (e.g. `iconv -t utf-8`) or remove it from data.documents") from None


def _read_pdf(path: Path) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        return "\n\n".join((page.extract_text() or "") for page in PdfReader(path).pages)
    except (PdfReadError, ValueError, OSError) as exc:
        raise HonedError(f"`{path}` could not be read as a PDF: {exc}",
                         "check the file opens in a PDF viewer, or remove it from data.documents") from None


def _read_jsonl(path: Path, text_field: str) -> str:
    texts = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise HonedError(f"`{path}` line {number} is not JSON ({exc.msg})",
                             "fix the line, or remove the file from data.documents") from None
        value = row.get(text_field) if isinstance(row, dict) else None
        if isinstance(value, str) and value.strip():
            texts.append(value.strip())
    return "\n\n".join(texts)
