"""`honed data check FILE`: every problem with its 1-based line number and a stable code.

Errors (the row cannot train): not_json, not_object, unknown_shape, missing_messages, message_not_object,
message_missing_field, unknown_role, unknown_message_key, content_not_string, no_assistant, empty_assistant,
missing_conversations, bad_turn, wrong_type, missing_label, label_not_in_set, too_few_rows (line 0).
Warnings (worth a look): no_user_message, no_system_message (line 0, counted), duplicate, near_duplicate,
identical_pair, mixed_formats (line 0), too_long (needs the model's tokenizer, via --config), few_rows (line 0).
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from honed.data.formats import RowError, content_key, detect_shape, iter_rows, to_record

MIN_ROWS_ERROR, MIN_ROWS_WARNING = 10, 100


def check_file(path: Path, fmt: str = "auto", cfg=None, tokenizer=None, throughput: float | None = None) -> dict:
    """{"rows", "errors": [{"line", "code", "message"}], "warnings": [...]} for one file (+ "tokens" with a
    tokenizer)."""
    errors, warnings, rows = [], [], 0
    labels = set(cfg.objective.labels) if cfg and cfg.objective.labels else None
    kwargs = {"instruction": cfg.data.instruction if cfg else "",
              "text_column": cfg.data.text_column if cfg else "text",
              "label_column": cfg.data.label_column if cfg else "label"}
    records, lines, shapes = [], [], Counter()
    for line, row in iter_rows(path):
        rows += 1
        try:
            record = to_record(row, fmt, **kwargs)
        except RowError as exc:
            errors.append({"line": line, "code": exc.code, "message": str(exc)})
            continue
        if fmt == "auto":
            shapes[detect_shape(row, kwargs["text_column"], kwargs["label_column"])] += 1
        problems = record_problems(record, labels)
        errors += [{"line": line, **p} for p in problems if p["code"] not in WARNING_CODES]
        warnings += [{"line": line, **p} for p in problems if p["code"] in WARNING_CODES]
        records.append(record)
        lines.append(line)
    warnings += _duplicates(records, lines) + _dataset_warnings(records, shapes)
    result = {"rows": rows, "errors": sorted(errors, key=lambda e: e["line"]), "warnings": []}
    tokens = None
    if tokenizer is not None and records:
        tokens, long_rows = _token_stats(records, lines, tokenizer, cfg, throughput)
        warnings += long_rows
    if rows < MIN_ROWS_ERROR:
        result["errors"].append({"line": 0, "code": "too_few_rows",
                                 "message": f"{rows} rows; at least {MIN_ROWS_ERROR} needed"})
    elif rows < MIN_ROWS_WARNING:
        warnings.append({"line": 0, "code": "few_rows", "message": f"{rows} rows; {MIN_ROWS_WARNING}+ recommended"})
    result["warnings"] = sorted(warnings, key=lambda w: w["line"])
    if tokens is not None:
        result["tokens"] = tokens
    return result


WARNING_CODES = {"no_user_message", "identical_pair"}


def record_problems(record: dict, labels: set[str] | None) -> list[dict]:
    """Problems of one canonical record; codes in WARNING_CODES are warnings, the rest errors."""
    problems = []
    if "messages" in record:
        roles = [m["role"] for m in record["messages"]]
        assistant = [m for m in record["messages"] if m["role"] == "assistant"]
        if not assistant:
            problems.append({"code": "no_assistant", "message": "no assistant message to learn from"})
        elif not assistant[-1]["content"].strip():
            problems.append({"code": "empty_assistant", "message": "the last assistant message is empty"})
        if "user" not in roles:
            problems.append({"code": "no_user_message", "message": "no user message: the answer has no question"})
    elif "chosen" in record:
        for side in ("chosen", "rejected"):
            if not record[side].strip():
                problems.append({"code": "empty_assistant", "message": f"the {side} answer is empty"})
        if record["chosen"].strip() and record["chosen"].strip() == record["rejected"].strip():
            problems.append({"code": "identical_pair", "message": "chosen and rejected are the same"})
    if labels is not None and "label" in record and record["label"] not in labels:
        problems.append({"code": "label_not_in_set",
                         "message": f"label {record['label']!r} is not in objective.labels"})
    return problems


def _duplicates(records: list[dict], lines: list[int]) -> list[dict]:
    from honed.data.dedup import find_duplicates

    result = find_duplicates([content_key(r) for r in records], threshold=0.8)
    code = {"exact": "duplicate", "near": "near_duplicate"}
    return [{"line": lines[d.index], "code": code[d.kind],
             "message": f"same content as line {lines[d.of]}" if d.kind == "exact"
             else f"word-5-gram Jaccard {d.similarity:.2f} with line {lines[d.of]}"} for d in result.duplicates]


def _dataset_warnings(records: list[dict], shapes: Counter) -> list[dict]:
    warnings = []
    conversations = [r for r in records if "messages" in r]
    without_system = sum(all(m["role"] != "system" for m in r["messages"]) for r in conversations)
    if without_system:
        warnings.append({"line": 0, "code": "no_system_message",
                         "message": f"{without_system} of {len(conversations)} conversations have no system message "
                                    "(fine if you set data.instruction)"})
    if len(shapes) > 1:
        warnings.append({"line": 0, "code": "mixed_formats",
                         "message": "rows in different formats: " + ", ".join(f"{k} ×{v}" for k, v in shapes.items())})
    return warnings


def _token_stats(records, lines, tokenizer, cfg, throughput):
    from honed.data.tokens import DEFAULT_TOKENS_PER_SECOND, summarise, token_lengths

    lengths = token_lengths(tokenizer, records)
    max_length = cfg.model.max_length
    long_rows = [{"line": line, "code": "too_long",
                  "message": f"{total} tokens > model.max_length={max_length} (reported, not truncated)"}
                 for line, (total, _) in zip(lines, lengths) if total > max_length]
    stats = summarise(lengths, max_length, cfg.data.split.train, throughput or DEFAULT_TOKENS_PER_SECOND)
    return {"model": cfg.model.base, **stats}, long_rows
