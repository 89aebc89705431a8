"""`honed data dedup FILE -o OUT`: kept rows unchanged to OUT, removed rows with their reason to a side file."""
from __future__ import annotations

import json
from pathlib import Path

from honed.core.config import DEFAULT_SEED
from honed.core.io import atomic_writer
from honed.data.dedup import find_duplicates
from honed.data.formats import RowError, content_key, iter_rows, to_record


def row_text(row: object, fmt: str) -> str:
    """The text a row is compared on: its canonical record's turns, or its string values if it has no known shape."""
    try:
        return content_key(to_record(row, fmt))
    except RowError:
        if isinstance(row, dict):
            return "\n".join(str(v) for v in row.values() if isinstance(v, str | int | float))
        raise


def dedup_file(path: Path, out: Path, removed: Path, threshold: float = 0.8, fmt: str = "auto",
               seed: int = DEFAULT_SEED) -> dict:
    rows, lines, texts, unreadable = [], [], [], []
    for line, row in iter_rows(path):
        try:
            texts.append(row_text(row, fmt))
        except RowError as exc:
            unreadable.append({"line": line, "reason": f"{exc.code}: {exc}", "row": exc.raw if row is exc else row})
            continue
        rows.append(row)
        lines.append(line)
    result = find_duplicates(texts, threshold=threshold, seed=seed)
    # every row is in memory now, so OUT may be the input file: each output replaces its target atomically
    with atomic_writer(out) as f:
        for index in result.kept:
            f.write(json.dumps(rows[index], ensure_ascii=False) + "\n")
    with atomic_writer(removed) as f:
        for entry in unreadable:
            f.write(json.dumps(entry, ensure_ascii=False) + "\n")
        for dup in result.duplicates:
            what = "exact_duplicate" if dup.kind == "exact" else "near_duplicate"
            f.write(json.dumps({"line": lines[dup.index], "reason": f"{what}: Jaccard {dup.similarity:.2f} with "
                                f"line {lines[dup.of]}", "duplicate_of": lines[dup.of], "similarity": dup.similarity,
                                "row": rows[dup.index]}, ensure_ascii=False) + "\n")
    return {"rows": len(rows) + len(unreadable), "kept": len(result.kept), "exact": result.exact,
            "near": result.near, "unreadable": len(unreadable)}
