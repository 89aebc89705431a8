"""Read dataset files as a stream of (line number, row) and turn rows into typed records (honed.core.records).

Every shape the ecosystem writes maps onto a record: chat (OpenAI, tool calls included), ShareGPT (with
function_call/observation turns), Alpaca (with LLaMA-Factory's system/history), prompt/completion (standard or TRL
conversational), KTO, classification columns, preference pairs (explicit prompt, TRL implicit prompt, OpenAI,
HH-RLHF transcripts) and raw text. Prepared rows are `record.to_dict()` (with `kind`), and each remembers where it
came from in `meta` ({"source": file, "line": n}) so errors and drops can name it.
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
from honed.core.records import KINDS, Conversation, KTOExample, PreferencePair, Record, Text, as_record

READABLE_SUFFIXES = (".jsonl", ".json", ".csv", ".tsv", ".parquet", ".txt")  # each also as .gz (not parquet)
SHAPES = ("chat", "sharegpt", "alpaca", "prompt_completion", "kto", "classification", "preference", "text")


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


# --- shapes → typed records -----------------------------------------------------------------------------------
# Each shape knows the keys it reads; any other key is a warning naming it (never a silent drop).

SHAPE_KEYS = {
    "chat": {"messages", "tools", "label", "completion_only", "meta", "kind"},
    "sharegpt": {"conversations", "system", "tools"},
    "alpaca": {"instruction", "input", "output", "system", "history"},
    "prompt_completion": {"prompt", "completion"},
    "kto": {"prompt", "completion", "label", "kind", "meta"},
    "preference": {"prompt", "chosen", "rejected", "kind", "meta"},
    "openai_preference": {"input", "preferred_output", "non_preferred_output"},
    "text": {"text", "kind", "meta"},
}


def detect_shape(row: dict, text_column: str = "text", label_column: str = "label") -> str:
    """Guess a row's shape from its keys; several plausible shapes is an `ambiguous_shape` error naming them."""
    if row.get("kind") in KINDS:  # a prepared row written by honed
        return {"conversation": "chat", "kto": "kto", "preference": "preference", "text": "text"}[row["kind"]]
    found = _candidate_shapes(set(row), row, text_column, label_column)
    # A more specific shape wins over the shape it extends (KTO is prompt/completion plus a boolean label).
    for specific, general in (("kto", "prompt_completion"), ("classification", "text")):
        if specific in found:
            found.discard(general)
    if len(found) == 1:
        return found.pop()
    if not found:
        raise RowError("unknown_shape", f"cannot tell the format from keys {sorted(row)}; expected one of: "
                       f"{', '.join(SHAPES)}")
    raise RowError("ambiguous_shape", f"keys {sorted(row)} fit several formats: {', '.join(sorted(found))}; "
                   "remove the extra keys or pass --format / set data.format")


def _candidate_shapes(keys: set, row: dict, text_column: str, label_column: str) -> set[str]:
    found = set()
    if "messages" in keys:
        found.add("chat")
    if "conversations" in keys:
        found.add("sharegpt")
    if {"chosen", "rejected"} <= keys or {"preferred_output", "non_preferred_output"} <= keys:
        found.add("preference")
    if {"instruction", "output"} <= keys:
        found.add("alpaca")
    if {"prompt", "completion"} <= keys:
        found.add("kto" if isinstance(row.get("label"), bool) else "prompt_completion")
    if {text_column, label_column} <= keys:
        found.add("classification")
    if "text" in keys:
        found.add("text")
    return found


def convert(row: object, shape: str = "auto", *, instruction: str = "", text_column: str = "text",
            label_column: str = "label", labelled: bool = False) -> tuple[Record, list[dict]]:
    """One parsed row → (typed record, warnings [{"code", "message"}]), or a RowError naming what is wrong.

    `labelled`: the project is a classification task, so a row without the label column is an error
    (`missing_label`), not a silent pretraining text row.
    """
    if isinstance(row, RowError):
        raise row
    if not isinstance(row, dict):
        raise RowError("not_object", f"expected a JSON object, got {type(row).__name__}")
    if labelled and text_column in row and label_column not in row and not _candidate_shapes(
            set(row) - {text_column, "text"}, row, text_column, label_column):
        raise RowError("missing_label", f"no `{label_column}` column: a classification row needs its label "
                       f"(set data.label_column / --label-column if it has another name)")
    if shape == "auto":
        shape = detect_shape(row, text_column, label_column)
    converter = _CONVERTERS.get(shape)
    if converter is None:
        raise RowError("unknown_shape", f"unknown format `{shape}`; use one of {', '.join(SHAPES)}")
    warnings: list[dict] = []
    record = converter(row, instruction=instruction, text_column=text_column, label_column=label_column,
                       warn=warnings)
    known = {text_column, label_column} if shape == "classification" else SHAPE_KEYS.get(shape, set())
    if shape == "preference" and "preferred_output" in row:
        known = SHAPE_KEYS["openai_preference"]
    unused = sorted(set(row) - known)
    if unused:
        warnings.insert(0, {"code": "unused_key", "message": f"key(s) {', '.join(map(repr, unused))} not used by "
                                                             f"the {shape} format (ignored)"})
    return record, warnings


def to_record(row: object, shape: str = "auto", **kwargs) -> dict:
    """Convert one parsed row into a canonical prepared row (`record.to_dict()`), or raise RowError."""
    return convert(row, shape, **kwargs)[0].to_dict()


def unlabelled_text(records: list) -> list[int]:
    """Indexes of text rows in a file that also holds labelled rows: classification rows that lost their label
    column, not pretraining text (they would otherwise land silently in every split)."""
    if not any(labelled_conversation(r) for r in records):
        return []
    return [i for i, r in enumerate(records) if is_text(r)]


def labelled_conversation(record: dict) -> bool:
    typed = as_record(record)
    return isinstance(typed, Conversation) and typed.label is not None


def is_text(record: dict) -> bool:
    return isinstance(as_record(record), Text)


MISSING_LABEL = "a text row in a file of labelled rows has no label column (set data.label_column / --label-column)"


# --- messages ---------------------------------------------------------------------------------------------------

ROLES = ("system", "developer", "user", "assistant", "tool")
MESSAGE_KEYS = {"role", "content", "weight", "name", "tool_calls", "tool_call_id"}


def _messages(messages: object, where: str, warn: list[dict]) -> list[dict]:
    if not isinstance(messages, list) or not messages:
        raise RowError("missing_messages", f"`{where}` must be a non-empty list of {{role, content}} objects")
    return [_message(m, f"{where}[{i}]", warn) for i, m in enumerate(messages)]


def _message(message: object, where: str, warn: list[dict]) -> dict:
    if not isinstance(message, dict):
        raise RowError("message_not_object", f"{where} is not an object")
    extra = set(message) - MESSAGE_KEYS
    if extra:
        warn.append({"code": "unused_key", "message": f"{where} has key(s) {sorted(extra)} honed does not use "
                                                      "(ignored)"})
    role = message.get("role")
    if role is None or ("content" not in message and not message.get("tool_calls")):
        raise RowError("message_missing_field", f"{where} needs both `role` and `content`")
    if role not in ROLES:
        raise RowError("unknown_role", f"{where} has role {role!r}; use one of {', '.join(ROLES)}")
    out = {"role": role, "content": _content(message.get("content"), where)}
    if message.get("tool_calls"):
        if role != "assistant":
            raise RowError("bad_tool_call", f"{where}: only assistant turns carry `tool_calls`")
        out["tool_calls"] = [_tool_call(c, f"{where}.tool_calls[{i}]") for i, c in enumerate(message["tool_calls"])]
    for key in ("tool_call_id", "name"):
        if isinstance(message.get(key), str):
            out[key] = message[key]
    if "weight" in message:
        if message["weight"] not in (0, 1) or isinstance(message["weight"], bool):
            raise RowError("wrong_type", f"{where}.weight must be 0 or 1, got {message['weight']!r}")
        out["weight"] = message["weight"]
    return out


def _content(content: object, where: str) -> str:
    """A string; OpenAI-style lists of parts have their text parts joined, other parts are an error."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for i, part in enumerate(content):
            kind = part.get("type") if isinstance(part, dict) else type(part).__name__
            if kind != "text" or not isinstance(part.get("text"), str):
                raise RowError("non_text_content", f"{where}.content[{i}] is a {kind!r} part; honed trains text "
                               "models only: remove image/audio parts or describe them in text")
            texts.append(part["text"])
        return "".join(texts)
    raise RowError("content_not_string", f"{where}.content must be a string or a list of text parts")


def _tool_call(call: object, where: str) -> dict:
    """OpenAI `{id, type, function: {name, arguments: JSON string}}` (or a flat `{name, arguments}`) → the
    transformers form, arguments parsed into an object (what chat templates expect)."""
    if not isinstance(call, dict):
        raise RowError("bad_tool_call", f"{where} is not an object")
    function = call.get("function", call)
    name, args = function.get("name") if isinstance(function, dict) else None, (function or {}).get("arguments", {})
    if not isinstance(name, str) or not name:
        raise RowError("bad_tool_call", f"{where} needs `function.name`")
    if isinstance(args, str):
        try:
            args = json.loads(args) if args.strip() else {}
        except json.JSONDecodeError as exc:
            raise RowError("bad_tool_call", f"{where}.function.arguments is not valid JSON ({exc.msg})") from None
    out = {"type": "function", "function": {"name": name, "arguments": args}}
    if isinstance(call.get("id"), str):
        out["id"] = call["id"]
    return out


def _tools(tools: object) -> list[dict] | None:
    """A `tools` list (OpenAI/transformers `{type: function, function: {...}}`, or LLaMA-Factory's bare function
    specs, possibly as a JSON string) in the transformers form."""
    if tools in (None, "", []):
        return None
    if isinstance(tools, str):
        try:
            tools = json.loads(tools)
        except json.JSONDecodeError as exc:
            raise RowError("bad_tools", f"`tools` is not valid JSON ({exc.msg})") from None
    if not isinstance(tools, list) or not all(isinstance(t, dict) for t in tools):
        raise RowError("bad_tools", "`tools` must be a list of function specifications")
    out = [t if "function" in t else {"type": "function", "function": t} for t in tools]
    if not all(isinstance(t["function"], dict) and isinstance(t["function"].get("name"), str) for t in out):
        raise RowError("bad_tools", "every tool needs `function.name`")
    return out


def _side(value: object, where: str, warn: list[dict], role: str = "user") -> list[dict]:
    """A prompt or an answer given as a string (one `role` message) or as a list of messages."""
    if isinstance(value, str):
        return [{"role": role, "content": value}]
    return _messages(value, where, warn)


# --- one converter per shape ------------------------------------------------------------------------------------


def _chat(row: dict, *, warn: list[dict], **_) -> Conversation:
    record = Conversation(_messages(row.get("messages"), "messages", warn), _tools(row.get("tools")))
    # Canonical records read back unchanged (prepared splits are valid input): keep their extra fields.
    if "label" in row:
        if not isinstance(row["label"], str | int) or isinstance(row["label"], bool):
            raise RowError("wrong_type", "`label` must be a string")
        record.label = str(row["label"])
    record.completion_only = row.get("completion_only") is True
    if isinstance(row.get("meta"), dict):
        record.meta = row["meta"]
    return record


SHAREGPT_ROLES = {"system": "system", "human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
                  "function_call": "assistant", "observation": "tool", "tool": "tool"}


def _sharegpt(row: dict, **_) -> Conversation:
    """ShareGPT / LLaMA-Factory: `function_call` turns are assistant tool calls, `observation` turns tool results."""
    turns = row.get("conversations")
    if not isinstance(turns, list) or not turns:
        raise RowError("missing_conversations", "`conversations` must be a list of {from, value} objects")
    messages = [{"role": "system", "content": row["system"]}] if isinstance(row.get("system"), str) else []
    for i, turn in enumerate(turns):
        if not isinstance(turn, dict) or turn.get("from") not in SHAREGPT_ROLES or not isinstance(turn.get("value"), str):
            raise RowError("bad_turn", f"conversations[{i}] needs `from` ({', '.join(SHAREGPT_ROLES)}) and a "
                           "string `value`")
        if turn["from"] == "function_call":
            messages.append(_sharegpt_call(turn["value"], i))
        else:
            messages.append({"role": SHAREGPT_ROLES[turn["from"]], "content": turn["value"]})
    return Conversation(messages, _tools(row.get("tools")))


def _sharegpt_call(value: str, index: int) -> dict:
    try:
        call = json.loads(value)
    except json.JSONDecodeError as exc:
        raise RowError("bad_tool_call", f"conversations[{index}] (function_call) is not JSON ({exc.msg})") from None
    calls = call if isinstance(call, list) else [call]  # LLaMA-Factory allows parallel calls as a list
    return {"role": "assistant", "content": "",
            "tool_calls": [_tool_call(c, f"conversations[{index}]") for c in calls]}


def _alpaca(row: dict, **_) -> Conversation:
    """Alpaca, with LLaMA-Factory's optional `system` prompt and `history` ([[question, answer], …]) of earlier turns."""
    instruction, extra, output = row.get("instruction"), row.get("input") or "", row.get("output")
    if not isinstance(instruction, str) or not isinstance(output, str) or not isinstance(extra, str):
        raise RowError("wrong_type", "alpaca rows need string `instruction`, `output` (and optional `input`)")
    messages = [{"role": "system", "content": row["system"]}] if isinstance(row.get("system"), str) and row["system"] else []
    history = row.get("history") or []
    if not isinstance(history, list) or not all(isinstance(h, list) and len(h) == 2 and all(isinstance(x, str) for x in h)
                                                 for h in history):
        raise RowError("wrong_type", "alpaca `history` must be a list of [question, answer] string pairs")
    for question, answer in history:
        messages += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
    prompt = f"{instruction}\n\n{extra}" if extra.strip() else instruction
    return Conversation(messages + [{"role": "user", "content": prompt}, {"role": "assistant", "content": output}])


def _prompt_completion(row: dict, *, warn: list[dict], **_) -> Conversation:
    """Standard (strings: the completion alone trains) or TRL conversational (message lists: the prompt's
    assistant turns get weight 0, every completion turn trains)."""
    prompt, completion = row.get("prompt"), row.get("completion")
    if isinstance(prompt, str) and isinstance(completion, str):
        return Conversation([{"role": "user", "content": prompt}, {"role": "assistant", "content": completion}],
                            completion_only=True)
    if not isinstance(prompt, list | str) or not isinstance(completion, list | str):
        raise RowError("wrong_type", "`prompt` and `completion` must be strings or lists of messages")
    head = [{**m, "weight": 0} if m["role"] == "assistant" else m for m in _side(prompt, "prompt", warn)]
    return Conversation(head + _side(completion, "completion", warn, role="assistant"), _tools(row.get("tools")))


def _kto(row: dict, *, warn: list[dict], **_) -> KTOExample:
    if not isinstance(row.get("label"), bool):
        raise RowError("wrong_type", "KTO rows need a boolean `label` (true = desirable completion)")
    prompt, completion = row.get("prompt"), row.get("completion")
    if not isinstance(prompt, list | str) or not isinstance(completion, list | str):
        raise RowError("wrong_type", "`prompt` and `completion` must be strings or lists of messages")
    return KTOExample(_side(prompt, "prompt", warn), _side(completion, "completion", warn, role="assistant"),
                      row["label"])


def _classification(row: dict, *, instruction: str, text_column: str, label_column: str, **_) -> Conversation:
    text, label = row.get(text_column), row.get(label_column)
    if not isinstance(text, str):
        raise RowError("wrong_type", f"column `{text_column}` must hold text")
    if label is None or (isinstance(label, str) and not label.strip()):
        raise RowError("missing_label", f"column `{label_column}` is empty")
    label = str(label).strip()
    messages = [{"role": "system", "content": instruction}] if instruction else []
    messages += [{"role": "user", "content": text}, {"role": "assistant", "content": label}]
    return Conversation(messages, label=label)


def _preference(row: dict, *, warn: list[dict], **_) -> PreferencePair:
    if "preferred_output" in row:  # OpenAI preference fine-tuning format
        prompt = row["input"].get("messages") if isinstance(row.get("input"), dict) else None
        return _pair(_messages(prompt, "input.messages", warn),
                     _side(row["preferred_output"], "preferred_output", warn, "assistant"),
                     _side(row["non_preferred_output"], "non_preferred_output", warn, "assistant"))
    chosen, rejected = row.get("chosen"), row.get("rejected")
    if "prompt" in row:  # explicit prompt; every turn of a multi-turn answer is kept
        return _pair(_side(row["prompt"], "prompt", warn), _side(chosen, "chosen", warn, "assistant"),
                     _side(rejected, "rejected", warn, "assistant"))
    if isinstance(chosen, list) and isinstance(rejected, list):  # TRL implicit prompt: whole conversations
        return _implicit_pair(_messages(chosen, "chosen", warn), _messages(rejected, "rejected", warn))
    if isinstance(chosen, str) and isinstance(rejected, str):  # HH-RLHF full transcripts
        return _split_hh(chosen, rejected)
    raise RowError("wrong_type", "preference rows need prompt/chosen/rejected, two conversations, or transcripts")


def _implicit_pair(chosen: list[dict], rejected: list[dict]) -> PreferencePair:
    """TRL's implicit prompt: the longest shared prefix of turns is the prompt (trl.data_utils.extract_prompt)."""
    from trl.data_utils import extract_prompt

    split = extract_prompt({"chosen": chosen, "rejected": rejected})
    if not split["prompt"] or split["chosen"] == split["rejected"]:
        raise RowError("no_shared_prompt", "chosen and rejected share no prompt turns (or are identical)")
    return _pair(split["prompt"], split["chosen"], split["rejected"])


def _pair(prompt: list[dict], chosen: list[dict], rejected: list[dict]) -> PreferencePair:
    for side, answer in (("chosen", chosen), ("rejected", rejected)):
        if not answer or answer[0]["role"] != "assistant":
            raise RowError("wrong_type", f"the {side} answer must start with an assistant turn")
    if prompt[-1]["role"] == "assistant":
        raise RowError("role_order", "the preference prompt ends with an assistant turn")
    return PreferencePair(prompt, chosen, rejected)


def _split_hh(chosen: str, rejected: str) -> PreferencePair:
    """HH-RLHF rows hold two transcripts sharing a prefix; the prompt is the shared part up to the last answer."""
    marker = "\n\nAssistant:"
    cut = chosen.rfind(marker)
    if cut < 0 or not rejected.startswith(chosen[:cut + len(marker)]):
        raise RowError("wrong_type", "chosen and rejected transcripts do not share a prompt")
    messages = []
    for chunk in chosen[:cut].split("\n\n"):
        for tag, role in (("Human:", "user"), ("Assistant:", "assistant")):
            if chunk.startswith(tag):
                messages.append({"role": role, "content": chunk[len(tag):].strip()})
            elif messages and not chunk.startswith(("Human:", "Assistant:")) and chunk and tag == "Human:":
                messages[-1]["content"] += "\n\n" + chunk
    head = len(marker)
    return _pair(messages, [{"role": "assistant", "content": chosen[cut + head:].strip()}],
                 [{"role": "assistant", "content": rejected[cut + head:].strip()}])


def _text(row: dict, **_) -> Text:
    text = row.get("text")
    if not isinstance(text, str):
        raise RowError("wrong_type", "`text` must be a string")
    return Text(text)


_CONVERTERS = {
    "chat": _chat, "sharegpt": _sharegpt, "alpaca": _alpaca, "prompt_completion": _prompt_completion,
    "kto": _kto, "classification": _classification, "preference": _preference, "text": _text,
}


# --- record text helpers (shared by clean, pii, dedup, audit): each asks the typed record ----------------------


def record_texts(record: dict) -> list[str]:
    """Every piece of content a record holds, in order."""
    return as_record(record).texts


def map_record_text(record: dict, fn) -> dict:
    """A copy of `record` with `fn` applied to every content string (meta, label and roles untouched)."""
    return as_record(record).map_text(fn).to_dict()


def content_key(record: dict) -> str:
    """The text that identifies a record for deduplication: the non-system turns in order.

    System messages are left out: a shared instruction on every row would make all short rows look alike.
    """
    return as_record(record).content_key


def output_text(record: dict) -> str:
    """What the model learns to say: the assistant turns (or the chosen answer, or the text)."""
    return as_record(record).output_text


def input_text(record: dict) -> str:
    """What the model is given: system and user turns (or the preference prompt)."""
    return as_record(record).input_text
