"""Read dataset files as a stream of (line number, row) and turn rows into canonical records.

Canonical records are plain dicts:
- a conversation: {"messages": [{"role", "content"[, "weight"]}...], "label"?: str}
- a preference pair: {"prompt": [messages], "chosen": str, "rejected": str}
Every record remembers where it came from in `meta` ({"source": file, "line": n}) so errors and drops can name it.
"""
from __future__ import annotations

import contextlib
import csv
import gzip
import json
import zlib
from collections.abc import Iterator
from pathlib import Path

from honed.core.errors import HonedError

READABLE_SUFFIXES = (".jsonl", ".json", ".csv", ".tsv", ".parquet", ".txt")  # each also as .gz (not parquet)
SHAPES = ("chat", "sharegpt", "alpaca", "prompt_completion", "classification", "preference", "text")


class RowError(ValueError):
    """A row that cannot become a record; `code` is the stable machine-readable reason."""

    def __init__(self, code: str, message: str, raw: str | None = None):
        self.code = code
        self.raw = raw  # the unparsed line, kept so a dropped row is never lost
        super().__init__(message)


def iter_rows(path: Path) -> Iterator[tuple[int, object]]:
    """Yield (1-based line or row number, parsed row), streaming. JSONL lines that are not JSON yield a RowError.

    Line numbers are file lines for JSONL/TXT, file lines for CSV/TSV (the header is line 1), element numbers for
    JSON arrays and row numbers for Parquet. `.gz` files are read transparently, a UTF-8 byte-order mark (Excel's
    CSV) is accepted; a file that is not UTF-8, a truncated `.gz` or a JSON file that is not a list of rows stops
    with a HonedError naming the file and where.
    """
    path = Path(path)
    if path.is_dir():
        raise HonedError(f"data file `{path}` is a directory", "name the data files inside it in `data.train`")
    if not path.is_file():
        raise HonedError(f"data file `{path}` does not exist", "check `data.train` in honed.yaml (paths are relative to it)")
    suffix = file_suffix(path)
    if suffix == ".jsonl":
        yield from _iter_jsonl(path)
    elif suffix == ".json":
        yield from _iter_json_array(path)
    elif suffix in (".csv", ".tsv"):
        yield from _iter_csv(path, "\t" if suffix == ".tsv" else ",")
    elif suffix == ".parquet":
        yield from _iter_parquet(path)
    elif suffix == ".txt":
        with open_text(path) as lines:
            for number, line in enumerate(lines, start=1):
                if line.strip():
                    yield number, {"text": line.rstrip("\r\n")}
    else:
        raise HonedError(f"`{path.name}` has an unsupported extension `{suffix}`",
                         f"convert it to one of {', '.join(READABLE_SUFFIXES)}")


def file_suffix(path: Path) -> str:
    """The format suffix, looking through a trailing `.gz` (`data.jsonl.gz` → `.jsonl`)."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


@contextlib.contextmanager
def open_text(path: Path, newline: str | None = None) -> Iterator[Iterator[str]]:
    """The lines of a UTF-8 text file (`.gz` transparently, a leading BOM dropped); decoding and gzip errors
    become a HonedError that names the file, the line and the fix."""
    path = Path(path)
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    try:
        handle = opener(path, "rt", encoding="utf-8-sig", newline=newline)
    except OSError as exc:
        raise HonedError(f"cannot open `{path}`: {exc.strerror or exc}", "check the path and its permissions") from None
    with handle:
        yield _checked_lines(path, handle)


_open_text = open_text  # the former private name


def _checked_lines(path: Path, handle) -> Iterator[str]:
    number = 0
    try:
        for line in handle:
            number += 1
            yield line
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, exc) from None
    except (EOFError, OSError, zlib.error) as exc:  # gzip: truncated stream, bad header, bad CRC
        raise HonedError(f"`{path}` is damaged after line {number}: {exc}",
                         "the compressed file is truncated or corrupt: copy or download it again "
                         "(`gzip -t FILE` checks it)") from None


def _not_utf8(path: Path, exc: UnicodeDecodeError) -> HonedError:
    """Find the first undecodable line (a decoder reads ahead, so the position it fails at is not the line)."""
    offset = 0
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rb") as raw:
        if raw.read(2) in (b"\xff\xfe", b"\xfe\xff"):
            return HonedError(f"`{path}` is UTF-16 text (it starts with a UTF-16 byte-order mark), not UTF-8",
                              f"convert it: `iconv -f utf-16 -t utf-8 {path.name} > utf8-{path.name}`")
        raw.seek(0)
        for number, line in enumerate(raw, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as bad:
                return HonedError(
                    f"`{path}` is not UTF-8 text: line {number}, byte offset {offset + bad.start} "
                    f"(byte 0x{line[bad.start]:02x}: {bad.reason})",
                    f"convert it to UTF-8, e.g. `iconv -f latin1 -t utf-8 {path.name} > utf8-{path.name}` "
                    "(or -f cp1252 for files saved by Excel on Windows)")
            offset += len(line)
    return HonedError(f"`{path}` is not UTF-8 text: {exc.reason}", "convert it to UTF-8 with `iconv`")


def _iter_jsonl(path: Path) -> Iterator[tuple[int, object]]:
    with open_text(path) as lines:
        for number, line in enumerate(lines, start=1):
            body = line.rstrip("\r\n")
            if not body.strip():
                continue
            try:
                value = json.loads(body)
                problem = _lone_surrogate(value) if "\\u" in body else None
                yield number, RowError("not_utf8", problem, raw=body) if problem else value
            except json.JSONDecodeError as exc:  # positions within this line: the decoder saw nothing else
                yield number, RowError("not_json", f"not valid JSON: {exc.msg} (column {exc.pos + 1})", raw=body)
            except RecursionError:
                yield number, RowError("not_json", "JSON nested too deeply to read", raw=body[:1000])


def _lone_surrogate(value: object) -> str | None:
    """`"\\ud800"` is valid JSON but no valid text: it could never be written back as UTF-8."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"escaped lone surrogate {exc.object[exc.start]!r} is not a character (broken UTF-16 escape)"
    return None


def _iter_json_array(path: Path) -> Iterator[tuple[int, object]]:
    with open_text(path) as lines:
        text = "".join(lines)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HonedError(f"`{path}` is not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}",
                         "fix the file, or save it as JSONL (one object per line)") from None
    except RecursionError:
        raise HonedError(f"`{path}` is JSON nested too deeply to read", "flatten the file or save it as JSONL") from None
    if isinstance(data, dict):
        data = next((v for v in data.values() if isinstance(v, list)), [data])
    if not isinstance(data, list):
        raise HonedError(f"`{path}` holds a single JSON {type(data).__name__}, not rows",
                         "a .json data file must hold a list of objects (or an object with such a list); "
                         "or save the rows as JSONL")
    for number, row in enumerate(data, start=1):  # element index, 1-based
        yield number, row


def _iter_csv(path: Path, delimiter: str) -> Iterator[tuple[int, object]]:
    with open_text(path, newline="") as lines:
        reader = csv.DictReader(lines, delimiter=delimiter)
        try:
            for row in reader:
                extra = row.pop(None, None)  # cells beyond the header
                if extra:
                    yield reader.line_num, RowError(
                        "csv_columns", f"{len(extra)} more cell(s) than the header has columns", raw=json.dumps(
                            {**row, "_extra": extra}, ensure_ascii=False))
                    continue
                yield reader.line_num, dict(row)
        except csv.Error as exc:
            raise HonedError(f"`{path}` line {reader.line_num} is not readable CSV: {exc}",
                             "fix that line (quotes, NUL bytes), or export the file again as UTF-8 CSV") from None


def _iter_parquet(path: Path) -> Iterator[tuple[int, object]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    number = 0
    try:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=4096):
            for row in batch.to_pylist():
                number += 1
                yield number, row
    except (pa.ArrowException, OSError) as exc:
        raise HonedError(f"`{path}` is not a readable Parquet file (after row {number}): {exc}",
                         "write it again, or convert it to JSONL") from None


def detect_shape(row: dict, text_column: str = "text", label_column: str = "label") -> str:
    """Guess a row's shape from its keys."""
    keys = set(row)
    if "messages" in keys:
        return "chat"
    if "conversations" in keys:
        return "sharegpt"
    if {"chosen", "rejected"} <= keys or {"preferred_output", "non_preferred_output"} <= keys:
        return "preference"
    if "instruction" in keys and "output" in keys:
        return "alpaca"
    if {"prompt", "completion"} <= keys:
        return "prompt_completion"
    if text_column in keys and label_column in keys:
        return "classification"
    if "text" in keys:
        return "text"
    raise RowError("unknown_shape", f"cannot tell the format from keys {sorted(keys)}")


def to_record(row: object, shape: str, *, instruction: str = "", text_column: str = "text",
              label_column: str = "label") -> dict:
    """Convert one parsed row into a canonical record, or raise RowError naming what is wrong."""
    if isinstance(row, RowError):
        raise row
    if not isinstance(row, dict):
        raise RowError("not_object", f"expected a JSON object, got {type(row).__name__}")
    if shape == "auto":
        shape = detect_shape(row, text_column, label_column)
    converter = _CONVERTERS.get(shape)
    if converter is None:
        raise RowError("unknown_shape", f"unknown format `{shape}`; use one of {', '.join(SHAPES)}")
    return converter(row, instruction=instruction, text_column=text_column, label_column=label_column)


def _chat(row: dict, **_) -> dict:
    messages = row.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RowError("missing_messages", "`messages` must be a non-empty list of {role, content} objects")
    record = {"messages": [_message(m, i) for i, m in enumerate(messages)]}
    # Canonical records read back unchanged (prepared splits are valid input): keep their extra fields.
    if "label" in row:
        if not isinstance(row["label"], str | int) or isinstance(row["label"], bool):
            raise RowError("wrong_type", "`label` must be a string")
        record["label"] = str(row["label"])
    if isinstance(row.get("completion_only"), bool):
        record["completion_only"] = row["completion_only"]
    if isinstance(row.get("meta"), dict):
        record["meta"] = row["meta"]
    return record


ROLES = ("system", "user", "assistant")
MESSAGE_KEYS = {"role", "content", "weight", "name"}


def _message(message: object, index: int) -> dict:
    if not isinstance(message, dict):
        raise RowError("message_not_object", f"messages[{index}] is not an object")
    extra = set(message) - MESSAGE_KEYS
    if extra:
        raise RowError("unknown_message_key", f"messages[{index}] has unrecognised key(s) {sorted(extra)}")
    if "role" not in message or "content" not in message:
        raise RowError("message_missing_field", f"messages[{index}] needs both `role` and `content`")
    if message["role"] not in ROLES:
        raise RowError("unknown_role", f"messages[{index}] has role {message['role']!r}; use one of {', '.join(ROLES)}")
    if not isinstance(message["content"], str):
        raise RowError("content_not_string", f"messages[{index}].content must be a string")
    out = {"role": message["role"], "content": message["content"]}
    if "weight" in message:
        if message["weight"] not in (0, 1) or isinstance(message["weight"], bool):
            raise RowError("wrong_type", f"messages[{index}].weight must be 0 or 1, got {message['weight']!r}")
        out["weight"] = message["weight"]
    return out


def _sharegpt(row: dict, **_) -> dict:
    roles = {"system": "system", "human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant"}
    turns = row.get("conversations")
    if not isinstance(turns, list):
        raise RowError("missing_conversations", "`conversations` must be a list of {from, value} objects")
    messages = []
    for i, turn in enumerate(turns):
        if not isinstance(turn, dict) or turn.get("from") not in roles or not isinstance(turn.get("value"), str):
            raise RowError("bad_turn", f"conversations[{i}] needs `from` (human/gpt/system) and a string `value`")
        messages.append({"role": roles[turn["from"]], "content": turn["value"]})
    return {"messages": messages}


def _alpaca(row: dict, **_) -> dict:
    instruction, extra, output = row.get("instruction"), row.get("input") or "", row.get("output")
    if not isinstance(instruction, str) or not isinstance(output, str) or not isinstance(extra, str):
        raise RowError("wrong_type", "alpaca rows need string `instruction`, `output` (and optional `input`)")
    prompt = f"{instruction}\n\n{extra}" if extra.strip() else instruction
    return {"messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": output}]}


def _prompt_completion(row: dict, **_) -> dict:
    prompt, completion = row.get("prompt"), row.get("completion")
    if not isinstance(prompt, str) or not isinstance(completion, str):
        raise RowError("wrong_type", "`prompt` and `completion` must be strings")
    return {"messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": completion}],
            "completion_only": True}


def _classification(row: dict, *, instruction: str, text_column: str, label_column: str, **_) -> dict:
    text, label = row.get(text_column), row.get(label_column)
    if not isinstance(text, str):
        raise RowError("wrong_type", f"column `{text_column}` must hold text")
    if label is None or (isinstance(label, str) and not label.strip()):
        raise RowError("missing_label", f"column `{label_column}` is empty")
    label = str(label).strip()
    messages = [{"role": "system", "content": instruction}] if instruction else []
    messages += [{"role": "user", "content": text}, {"role": "assistant", "content": label}]
    return {"messages": messages, "label": label}


def _preference(row: dict, **_) -> dict:
    if "preferred_output" in row:  # OpenAI preference format
        prompt = row.get("input", {}).get("messages") if isinstance(row.get("input"), dict) else None
        chosen, rejected = _last_content(row["preferred_output"]), _last_content(row["non_preferred_output"])
        return _pair(prompt, chosen, rejected)
    chosen, rejected = row.get("chosen"), row.get("rejected")
    if "prompt" in row:
        prompt = row["prompt"]
        prompt = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt
        return _pair(prompt, _last_content(chosen), _last_content(rejected))
    if isinstance(chosen, str) and isinstance(rejected, str):  # HH-RLHF full transcripts
        return _split_hh(chosen, rejected)
    raise RowError("wrong_type", "preference rows need prompt/chosen/rejected strings or transcripts")


def _last_content(value: object) -> str:
    if isinstance(value, list) and value and isinstance(value[-1], dict):
        value = value[-1].get("content")
    if not isinstance(value, str):
        raise RowError("wrong_type", "a preferred/rejected answer must be a string or a list of messages")
    return value


def _pair(prompt: object, chosen: str, rejected: str) -> dict:
    if not isinstance(prompt, list) or not prompt:
        raise RowError("wrong_type", "the preference prompt must be a string or a non-empty list of messages")
    return {"prompt": [_message(m, i) for i, m in enumerate(prompt)], "chosen": chosen, "rejected": rejected}


def _split_hh(chosen: str, rejected: str) -> dict:
    """HH-RLHF rows hold two transcripts sharing a prefix; the prompt is the shared part up to the last answer."""
    marker = "\n\nAssistant:"
    cut = chosen.rfind(marker)
    if cut < 0 or not rejected.startswith(chosen[:cut + len(marker)]):
        raise RowError("wrong_type", "chosen and rejected transcripts do not share a prompt")
    prompt_text = chosen[:cut]
    messages = []
    for chunk in prompt_text.split("\n\n"):
        for tag, role in (("Human:", "user"), ("Assistant:", "assistant")):
            if chunk.startswith(tag):
                messages.append({"role": role, "content": chunk[len(tag):].strip()})
            elif messages and not chunk.startswith(("Human:", "Assistant:")) and chunk and tag == "Human:":
                messages[-1]["content"] += "\n\n" + chunk
    head = len(marker)
    return _pair(messages, chosen[cut + head:].strip(), rejected[cut + head:].strip())


def _text(row: dict, **_) -> dict:
    text = row.get("text")
    if not isinstance(text, str):
        raise RowError("wrong_type", "`text` must be a string")
    return {"text": text}


_CONVERTERS = {
    "chat": _chat, "sharegpt": _sharegpt, "alpaca": _alpaca, "prompt_completion": _prompt_completion,
    "classification": _classification, "preference": _preference, "text": _text,
}


# --- record text helpers (shared by clean, pii, dedup, audit) -------------------------------------------------


def record_kind(record: dict) -> str:
    """"conversation", "preference" or "text"."""
    if "messages" in record:
        return "conversation"
    return "preference" if "chosen" in record else "text"


def record_texts(record: dict) -> list[str]:
    """Every piece of content a record holds, in order."""
    if "messages" in record:
        return [m["content"] for m in record["messages"]]
    if "chosen" in record:
        return [m["content"] for m in record["prompt"]] + [record["chosen"], record["rejected"]]
    return [record.get("text", "")]


def map_record_text(record: dict, fn) -> dict:
    """A copy of `record` with `fn` applied to every content string (meta, label and roles untouched)."""
    out = dict(record)
    if "messages" in record:
        out["messages"] = [{**m, "content": fn(m["content"])} for m in record["messages"]]
    elif "chosen" in record:
        out["prompt"] = [{**m, "content": fn(m["content"])} for m in record["prompt"]]
        out["chosen"], out["rejected"] = fn(record["chosen"]), fn(record["rejected"])
    else:
        out["text"] = fn(record.get("text", ""))
    return out


def content_key(record: dict) -> str:
    """The text that identifies a record for deduplication: user and assistant turns in order.

    System messages are left out: a shared instruction on every row would make all short rows look alike.
    """
    if "messages" in record:
        return "\n".join(m["content"] for m in record["messages"] if m["role"] != "system")
    if "chosen" in record:
        return "\n".join([*(m["content"] for m in record["prompt"] if m["role"] != "system"),
                          record["chosen"], record["rejected"]])
    return record.get("text", "")


def output_text(record: dict) -> str:
    """What the model learns to say: the assistant turns (or the chosen answer, or the text)."""
    if "messages" in record:
        return "\n".join(m["content"] for m in record["messages"] if m["role"] == "assistant")
    return record["chosen"] if "chosen" in record else record.get("text", "")


def input_text(record: dict) -> str:
    """What the model is given: system and user turns (or the preference prompt)."""
    messages = record.get("messages") or record.get("prompt") or []
    return "\n".join(m["content"] for m in messages if m["role"] != "assistant")
