"""`honed data check FILE`: every problem with its 1-based line number and a stable code.

Errors (the row cannot train): not_json, not_object, unknown_shape, ambiguous_shape, missing_messages,
message_not_object, message_missing_field, unknown_role, content_not_string, non_text_content, bad_tool_call,
bad_tools, no_assistant, empty_assistant, role_order, no_trained_turn, missing_conversations, bad_turn,
wrong_type, missing_label, label_not_in_set, no_shared_prompt, too_few_rows (line 0), only_duplicates (line 0).
Warnings (worth a look): unused_key, no_user_message, no_system_message (line 0, counted), duplicate,
near_duplicate, identical_pair, mixed_formats (line 0), too_long (needs the model's tokenizer, via --config),
few_rows (line 0).
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from honed.core.records import Conversation, KTOExample, PreferencePair, as_record
from honed.data.formats import MISSING_LABEL, RowError, content_key, convert, detect_shape, iter_rows, unlabelled_text

MIN_ROWS_ERROR, MIN_ROWS_WARNING = 10, 100
WARNING_CODES = {"no_user_message", "identical_pair", "unused_key"}


def check_file(path: Path, fmt: str = "auto", cfg=None, tokenizer=None, throughput: float | None = None,
               text_column: str | None = None, label_column: str | None = None) -> dict:
    """{"rows", "format", "errors": [{"line", "code", "message"}], "warnings": [...], "groups": [...]} for one
    file (+ "tokens" with a tokenizer). Column flags override the config's."""
    labels = set(cfg.objective.labels) if cfg and cfg.objective.labels else None
    kwargs = {"instruction": cfg.data.instruction if cfg else "",
              "text_column": text_column or (cfg.data.text_column if cfg else "text"),
              "label_column": label_column or (cfg.data.label_column if cfg else "label"),
              "labelled": bool(label_column) or bool(cfg and (cfg.objective.labels or cfg.data.format == "classification"))}
    errors, warnings, records, lines, shapes, rows = [], [], [], [], Counter(), 0
    for line, row in iter_rows(path):
        rows += 1
        try:
            record, row_warnings = convert(row, fmt, **kwargs)
        except RowError as exc:
            errors.append({"line": line, "code": exc.code, "message": str(exc)})
            continue
        shapes[fmt if fmt != "auto" else detect_shape(row, kwargs["text_column"], kwargs["label_column"])] += 1
        problems = row_warnings + record_problems(record, labels)
        errors += [{"line": line, **p} for p in problems if p["code"] not in WARNING_CODES]
        warnings += [{"line": line, **p} for p in problems if p["code"] in WARNING_CODES]
        records.append(record)
        lines.append(line)
    records, lines = _without_unlabelled(records, lines, errors)
    duplicates = _duplicates(records, lines, cfg.data.dedup_threshold if cfg else 0.8)
    warnings += duplicates + _dataset_warnings(records, shapes)
    errors += _dataset_errors(rows, records, duplicates)
    result = {"rows": rows, "format": _format_name(shapes, fmt), "errors": [], "warnings": []}
    if tokenizer is not None and records:
        result["tokens"], long_rows = _token_stats(records, lines, tokenizer, cfg, throughput)
        warnings += long_rows
    if MIN_ROWS_ERROR <= rows < MIN_ROWS_WARNING:
        warnings.append({"line": 0, "code": "few_rows", "message": f"{rows} rows; {MIN_ROWS_WARNING}+ recommended"})
    result["errors"] = sorted(errors, key=lambda e: e["line"])
    result["warnings"] = sorted(warnings, key=lambda w: w["line"])
    result["groups"] = group_problems(result["errors"]) + group_problems(result["warnings"])
    return result


def _without_unlabelled(records: list, lines: list[int], errors: list[dict]) -> tuple[list, list[int]]:
    missing = set(unlabelled_text(records))
    errors += [{"line": lines[i], "code": "missing_label", "message": MISSING_LABEL} for i in sorted(missing)]
    return [r for i, r in enumerate(records) if i not in missing], [n for i, n in enumerate(lines) if i not in missing]


def _format_name(shapes: Counter, fmt: str) -> str:
    if fmt != "auto":
        return fmt
    if not shapes:
        return "unknown"
    return next(iter(shapes)) if len(shapes) == 1 else "mixed"


def _dataset_errors(rows: int, records: list, duplicates: list[dict]) -> list[dict]:
    errors = []
    if rows < MIN_ROWS_ERROR:
        errors.append({"line": 0, "code": "too_few_rows", "message": f"{rows} rows; at least {MIN_ROWS_ERROR} needed"})
    distinct = len(records) - sum(d["code"] in ("duplicate", "near_duplicate") for d in duplicates)
    if rows >= MIN_ROWS_ERROR and records and distinct < MIN_ROWS_ERROR:
        errors.append({"line": 0, "code": "only_duplicates",
                       "message": f"{len(records)} readable rows but only {distinct} distinct (the rest duplicate "
                                  f"them); at least {MIN_ROWS_ERROR} distinct rows needed"})
    return errors


def group_problems(problems: list[dict]) -> list[dict]:
    """Problems sharing a code, summarised: {"code", "count", "lines", "message"} (first message as example)."""
    by_code: dict[str, list[dict]] = {}
    for p in problems:
        by_code.setdefault(p["code"], []).append(p)
    return [{"code": code, "count": len(found), "lines": [p["line"] for p in found], "message": found[0]["message"]}
            for code, found in by_code.items()]


def describe_lines(lines: list[int]) -> str:
    """`1–12` for a run, `3, 7, 9` for a few, `3, 7, 9 … (+40 more)` for many."""
    ordered = sorted(set(lines))
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{ordered[0]}–{ordered[-1]}"
    shown = ", ".join(map(str, ordered[:8]))
    return shown + (f" … (+{len(ordered) - 8} more)" if len(ordered) > 8 else "")


def record_problems(record, labels: set[str] | None) -> list[dict]:
    """Problems of one record; codes in WARNING_CODES are warnings, the rest errors."""
    record = as_record(record)
    problems = []
    if isinstance(record, Conversation):
        problems += conversation_problems(record.messages)
    elif isinstance(record, PreferencePair):
        problems += _answer_problems(record.chosen, "chosen") + _answer_problems(record.rejected, "rejected")
        if record.chosen and record.chosen == record.rejected:
            problems.append({"code": "identical_pair", "message": "chosen and rejected are the same"})
    elif isinstance(record, KTOExample):
        problems += _answer_problems(record.completion, "completion")
    if labels is not None and isinstance(record, Conversation) and record.label is not None \
            and record.label not in labels:
        problems.append({"code": "label_not_in_set", "message": f"label {record.label!r} is not in objective.labels"})
    return problems


def conversation_problems(messages: list[dict]) -> list[dict]:
    roles = [m["role"] for m in messages]
    turns = [r for r in roles if r not in ("system", "developer")]
    assistant = [m for m in messages if m["role"] == "assistant"]
    if not assistant:
        return [{"code": "no_assistant", "message": "no assistant message to learn from"}]
    problems = []
    if not (assistant[-1]["content"].strip() or assistant[-1].get("tool_calls")):
        problems.append({"code": "empty_assistant", "message": "the last assistant message is empty"})
    if "user" not in roles:
        problems.append({"code": "no_user_message", "message": "no user message: the answer has no question"})
    elif turns[0] == "assistant":
        problems.append({"code": "role_order", "message": "the conversation starts with an assistant turn before "
                                                          "any user turn"})
    if roles[-1] != "assistant":
        problems.append({"code": "role_order", "message": f"the conversation ends with a {roles[-1]} turn: "
                                                          "nothing answers it"})
    if all(m.get("weight", 1) == 0 for m in assistant):
        problems.append({"code": "no_trained_turn", "message": "every assistant turn has weight 0: nothing trains"})
    return problems


def _answer_problems(answer: list[dict], side: str) -> list[dict]:
    if not any((m.get("content") or "").strip() or m.get("tool_calls") for m in answer if m["role"] == "assistant"):
        return [{"code": "empty_assistant", "message": f"the {side} answer is empty"}]
    return []


def _duplicates(records: list, lines: list[int], threshold: float) -> list[dict]:
    from honed.data.dedup import find_duplicates

    result = find_duplicates([content_key(r) for r in records], threshold=threshold)
    code = {"exact": "duplicate", "near": "near_duplicate"}
    return [{"line": lines[d.index], "code": code[d.kind],
             "message": f"same content as line {lines[d.of]}" if d.kind == "exact"
             else f"word-5-gram Jaccard {d.similarity:.2f} with line {lines[d.of]}"} for d in result.duplicates]


def _dataset_warnings(records: list, shapes: Counter) -> list[dict]:
    warnings = []
    conversations = [r for r in records if isinstance(r, Conversation)]
    without_system = sum(all(m["role"] not in ("system", "developer") for m in r.messages) for r in conversations)
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
