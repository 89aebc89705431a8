"""Typed records: what one training row *is*, whatever file shape it came from.

- `Conversation`: chat messages (tool calls and tool results included), an optional `tools` list, an optional
  classification `label`, `completion_only` for prompt/completion data (train the last answer only).
- `PreferencePair`: a prompt (messages) and a chosen and a rejected answer, each a list of assistant-side
  messages (multi-turn remainders are kept whole).
- `KTOExample`: a prompt, a completion and a boolean label (desirable or not) — never trained as SFT.
- `Text`: raw text for continued pretraining.

Prepared JSONL rows are `record.to_dict()` (an explicit `"kind"` key); `record_from_dict` reads them back, and
still reads prepared files written before `kind` existed. Code asks the record (`kind`, `texts`, `output_text`…),
never which keys a dict happens to hold.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

KINDS = ("conversation", "preference", "kto", "text")


def _content_texts(messages: list[dict]) -> list[str]:
    """Every string a model sees in these messages: contents and tool-call arguments."""
    out = []
    for m in messages:
        out.append(m.get("content") or "")
        out += [call_arguments_text(c) for c in m.get("tool_calls") or []]
    return out


def call_arguments_text(call: dict) -> str:
    args = call.get("function", {}).get("arguments", "")
    return args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)


def _map_messages(messages: list[dict], fn: Callable[[str], str]) -> list[dict]:
    """A copy with `fn` applied to every content string and every string in tool-call arguments."""
    out = []
    for m in messages:
        m = {**m, "content": fn(m.get("content") or "")}
        if m.get("tool_calls"):
            m["tool_calls"] = [_map_call(c, fn) for c in m["tool_calls"]]
        out.append(m)
    return out


def _map_call(call: dict, fn: Callable[[str], str]) -> dict:
    function = dict(call.get("function", {}))
    args = function.get("arguments")
    function["arguments"] = fn(args) if isinstance(args, str) else _map_json(args, fn)
    return {**call, "function": function}


def _map_json(value, fn):
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):
        return {k: _map_json(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_json(v, fn) for v in value]
    return value


def _join(messages: list[dict], roles: tuple[str, ...] | None = None, exclude: tuple[str, ...] = ()) -> str:
    picked = [m for m in messages if (roles is None or m["role"] in roles) and m["role"] not in exclude]
    return "\n".join(_content_texts(picked))


@dataclass
class Conversation:
    messages: list[dict]
    tools: list[dict] | None = None
    label: str | None = None
    completion_only: bool = False
    meta: dict = field(default_factory=dict)
    kind: ClassVar[str] = "conversation"

    @property
    def texts(self) -> list[str]:
        return _content_texts(self.messages)

    @property
    def input_text(self) -> str:
        return _join(self.messages, exclude=("assistant",))

    @property
    def output_text(self) -> str:
        return _join(self.messages, roles=("assistant",))

    @property
    def content_key(self) -> str:
        return _join(self.messages, exclude=("system", "developer"))

    def map_text(self, fn: Callable[[str], str]) -> "Conversation":
        return Conversation(_map_messages(self.messages, fn), self.tools, self.label, self.completion_only,
                            dict(self.meta))

    def to_dict(self) -> dict:
        out: dict = {"kind": self.kind, "messages": self.messages}
        if self.tools:
            out["tools"] = self.tools
        if self.label is not None:
            out["label"] = self.label
        if self.completion_only:
            out["completion_only"] = True
        return _with_meta(out, self.meta)


@dataclass
class PreferencePair:
    prompt: list[dict]
    chosen: list[dict]
    rejected: list[dict]
    meta: dict = field(default_factory=dict)
    kind: ClassVar[str] = "preference"

    @property
    def texts(self) -> list[str]:
        return _content_texts(self.prompt) + _content_texts(self.chosen) + _content_texts(self.rejected)

    @property
    def input_text(self) -> str:
        return _join(self.prompt, exclude=("assistant",))

    @property
    def output_text(self) -> str:
        return _join(self.chosen, roles=("assistant",))

    @property
    def content_key(self) -> str:
        return "\n".join([_join(self.prompt, exclude=("system", "developer")), _join(self.chosen), _join(self.rejected)])

    def map_text(self, fn: Callable[[str], str]) -> "PreferencePair":
        return PreferencePair(_map_messages(self.prompt, fn), _map_messages(self.chosen, fn),
                              _map_messages(self.rejected, fn), dict(self.meta))

    def to_dict(self) -> dict:
        return _with_meta({"kind": self.kind, "prompt": self.prompt, "chosen": self.chosen,
                           "rejected": self.rejected}, self.meta)


@dataclass
class KTOExample:
    prompt: list[dict]
    completion: list[dict]
    label: bool
    meta: dict = field(default_factory=dict)
    kind: ClassVar[str] = "kto"

    @property
    def texts(self) -> list[str]:
        return _content_texts(self.prompt) + _content_texts(self.completion)

    @property
    def input_text(self) -> str:
        return _join(self.prompt, exclude=("assistant",))

    @property
    def output_text(self) -> str:
        return _join(self.completion, roles=("assistant",))

    @property
    def content_key(self) -> str:
        return "\n".join([_join(self.prompt, exclude=("system", "developer")), _join(self.completion)])

    def map_text(self, fn: Callable[[str], str]) -> "KTOExample":
        return KTOExample(_map_messages(self.prompt, fn), _map_messages(self.completion, fn), self.label,
                          dict(self.meta))

    def to_dict(self) -> dict:
        return _with_meta({"kind": self.kind, "prompt": self.prompt, "completion": self.completion,
                           "label": self.label}, self.meta)


@dataclass
class Text:
    text: str
    meta: dict = field(default_factory=dict)
    kind: ClassVar[str] = "text"

    @property
    def texts(self) -> list[str]:
        return [self.text]

    @property
    def input_text(self) -> str:
        return ""

    @property
    def output_text(self) -> str:
        return self.text

    @property
    def content_key(self) -> str:
        return self.text

    def map_text(self, fn: Callable[[str], str]) -> "Text":
        return Text(fn(self.text), dict(self.meta))

    def to_dict(self) -> dict:
        return _with_meta({"kind": self.kind, "text": self.text}, self.meta)


Record = Conversation | PreferencePair | KTOExample | Text


def _with_meta(out: dict, meta: dict) -> dict:
    if meta:
        out["meta"] = meta
    return out


def record_from_dict(d: dict) -> Record:
    """The typed record of a prepared row (`to_dict()` output, or an older prepared row without `kind`)."""
    kind = d.get("kind") or _legacy_kind(d)
    meta = dict(d.get("meta") or {})
    if kind == "conversation":
        return Conversation(list(d["messages"]), d.get("tools") or None,
                            None if d.get("label") is None else str(d["label"]),
                            bool(d.get("completion_only", False)), meta)
    if kind == "preference":
        return PreferencePair(list(d["prompt"]), _answer(d["chosen"]), _answer(d["rejected"]), meta)
    if kind == "kto":
        return KTOExample(list(d["prompt"]), _answer(d["completion"]), bool(d["label"]), meta)
    if kind == "text":
        return Text(d.get("text", ""), meta)
    raise ValueError(f"unknown record kind {kind!r}; expected one of {', '.join(KINDS)}")


def as_record(value: "Record | dict") -> Record:
    return value if isinstance(value, Conversation | PreferencePair | KTOExample | Text) else record_from_dict(value)


def _legacy_kind(d: dict) -> str:
    """Prepared files written before rows carried `kind` (the only place keys decide the kind)."""
    if "messages" in d:
        return "conversation"
    if "chosen" in d:
        return "preference"
    if "completion" in d:
        return "kto"
    return "text"


def _answer(value) -> list[dict]:
    """Older prepared preference rows held answers as strings; now they are assistant message lists."""
    return [{"role": "assistant", "content": value}] if isinstance(value, str) else list(value)


@dataclass
class Drop:
    """A row set aside, with a stable `code` and a human `detail` (dropped.jsonl keeps both, plus `reason`)."""

    code: str
    detail: str
    source: str | None = None
    line: int | None = None
    step: str = ""
    row: object = None

    @property
    def reason(self) -> str:
        return f"{self.code}: {self.detail}"

    def to_dict(self) -> dict:
        return {"source": self.source, "line": self.line, "step": self.step, "code": self.code,
                "detail": self.detail, "reason": self.reason, "row": self.row}


def class_label(record: "Record | dict") -> str | None:
    """The classification label of a record (a conversation's `label`); None for every other kind."""
    typed = as_record(record)
    return typed.label if isinstance(typed, Conversation) else None
