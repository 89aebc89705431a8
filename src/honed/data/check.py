"""`honed data check FILE`: every problem with its 1-based line number and a stable code."""
from __future__ import annotations

from pathlib import Path

from honed.data.formats import RowError, iter_rows, to_record

MIN_ROWS_ERROR, MIN_ROWS_WARNING = 10, 100


def check_file(path: Path, fmt: str = "auto", cfg=None) -> dict:
    """{"rows", "errors": [{"line", "code", "message"}], "warnings": [...]} for one file."""
    errors, warnings, rows = [], [], 0
    labels = set(cfg.objective.labels) if cfg and cfg.objective.labels else None
    kwargs = {"instruction": "", "text_column": cfg.data.text_column if cfg else "text",
              "label_column": cfg.data.label_column if cfg else "label"}
    seen: dict[str, int] = {}
    for line, row in iter_rows(path):
        rows += 1
        try:
            record = to_record(row, fmt, **kwargs)
        except RowError as exc:
            errors.append({"line": line, "code": exc.code, "message": str(exc)})
            continue
        errors += [{"line": line, **problem} for problem in record_problems(record, labels)]
        key = repr(record)
        if key in seen:
            warnings.append({"line": line, "code": "duplicate", "message": f"same content as line {seen[key]}"})
        seen.setdefault(key, line)
    if rows < MIN_ROWS_ERROR:
        errors.append({"line": 0, "code": "too_few_rows", "message": f"{rows} rows; at least {MIN_ROWS_ERROR} needed"})
    elif rows < MIN_ROWS_WARNING:
        warnings.append({"line": 0, "code": "few_rows", "message": f"{rows} rows; {MIN_ROWS_WARNING}+ recommended"})
    return {"rows": rows, "errors": errors, "warnings": warnings}


def record_problems(record: dict, labels: set[str] | None) -> list[dict]:
    problems = []
    if "messages" in record:
        assistant = [m for m in record["messages"] if m["role"] == "assistant"]
        if not assistant:
            problems.append({"code": "no_assistant", "message": "no assistant message to learn from"})
        elif not assistant[-1]["content"].strip():
            problems.append({"code": "empty_assistant", "message": "the last assistant message is empty"})
    if labels is not None and "label" in record and record["label"] not in labels:
        problems.append({"code": "label_not_in_set",
                         "message": f"label {record['label']!r} is not in objective.labels"})
    return problems
