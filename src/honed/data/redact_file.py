"""`honed data redact`: stream text or JSONL through the PII redactor, line by line."""
from __future__ import annotations

import json
from collections import Counter

from honed.data.pii import Redactor, redact_value


def redact_stream(source, sink, redactor: Redactor) -> Counter:
    """JSONL when the first non-empty line is a JSON object (every string value redacted, keys kept), else text.

    A JSONL line that does not parse is redacted as text, so nothing passes through unredacted.
    """
    counts: Counter = Counter()
    mode = None
    for line in source:
        body = line.rstrip("\n")
        if mode is None and body.strip():
            mode = "jsonl" if _is_object(body) else "text"
        if mode == "jsonl" and body.strip():
            try:
                value = json.loads(body)
            except (json.JSONDecodeError, RecursionError):  # too deep to walk: redacted as text below
                value = None
            if isinstance(value, dict | list):
                sink.write(_dumps(redact_value(value, redactor, counts)) + "\n")
                continue
        text, found = redactor.redact(body)
        counts.update(found)
        sink.write(text + ("\n" if line.endswith("\n") else ""))
    return counts


def _dumps(value) -> str:
    """Readable UTF-8 JSON, or \\u escapes where the input held a lone surrogate (`"\\ud800"`) UTF-8 cannot hold."""
    text = json.dumps(value, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value)
    return text


def _is_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except (json.JSONDecodeError, RecursionError):
        return False
