"""Render conversations with the model's own chat template and mark which tokens carry the loss.

Templates with `{% generation %}` markers give the assistant mask directly. Most (SmolLM2's included) have none,
so the mask is built from character spans: the template is rendered for each prefix of the conversation, and
the text an assistant turn adds (its content and end-of-turn token) is the span that trains. Tokens are mapped to
characters through the fast tokenizer's offsets, so no assumption about token boundaries is needed.

Tool calls and tool results go through the template with `tools=`. A template that knows no tool calls (SmolLM2's
does not) gets them written into the assistant's content in the Hermes/Qwen form (`<tool_call>{json}</tool_call>`)
and the tool specifications into the system turn, so nothing a row holds is silently left out of training. The
`developer` role becomes `system` for templates that do not mention it. Tool results are never trained.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from honed.core.errors import HonedError

IGNORE_INDEX = -100  # the label PyTorch's cross-entropy skips: tokens that carry no loss


class TemplateError(HonedError):
    """The chat template cannot render this conversation the way training needs (prefix by prefix)."""


@dataclass
class Rendered:
    input_ids: list[int]
    assistant_mask: list[int]  # 1 where the token is trained on

    @property
    def supervised(self) -> int:
        return sum(self.assistant_mask)


def render_prompt(tokenizer, messages: list[dict], tools: list[dict] | None = None) -> str:
    """The prompt text for generation: the conversation followed by the assistant header."""
    return _apply(tokenizer, template_messages(tokenizer, messages, tools), tools, add_generation_prompt=True)


def render_chat(tokenizer, messages: list[dict], tools: list[dict] | None = None) -> str:
    """The whole conversation as the template renders it for training (no generation prompt)."""
    return _apply(tokenizer, template_messages(tokenizer, messages, tools), tools)


def assistant_spans(tokenizer, messages: list[dict], tools: list[dict] | None = None
                    ) -> tuple[str, list[tuple[int, int]]]:
    """Full rendered text and the (start, end) character spans of trained assistant turns.

    Raises TemplateError when the template does not render the conversation prefix by prefix.
    """
    plain = template_messages(tokenizer, messages, tools)
    shift = len(plain) - len(messages)  # a system turn added to carry the tool specifications
    text = _apply(tokenizer, plain, tools)
    spans = []
    for index, message in enumerate(messages):
        if message["role"] != "assistant" or message.get("weight", 1) == 0:
            continue
        start = len(_apply(tokenizer, plain[:index + shift], tools, add_generation_prompt=True))
        upto = _apply(tokenizer, plain[: index + shift + 1], tools)
        if not text.startswith(upto) or not upto.startswith(text[:start]):
            raise TemplateError("the chat template does not render conversations prefix by prefix, so the "
                                "assistant turns cannot be located", "use a model whose chat template renders "
                                "conversations prefix by prefix, or set `model.chat_template` (e.g. chatml)")
        spans.append((start, _trim_trailing_newline(text, start, len(upto))))
    return text, spans


def render_conversation(tokenizer, messages: list[dict], completion_only: bool = False,
                        tools: list[dict] | None = None) -> Rendered:
    """Token ids plus the assistant-only loss mask for one conversation.

    `completion_only` (prompt/completion data) trains only the last assistant turn.
    """
    text, spans = assistant_spans(tokenizer, messages, tools)
    if completion_only:
        spans = spans[-1:]
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    mask = [int(any(s <= start < e for s, e in spans)) for start, _ in encoded["offset_mapping"]]
    return Rendered(list(encoded["input_ids"]), mask)


def render_text(tokenizer, text: str, max_length: int) -> list[Rendered]:
    """Continued pretraining: raw text plus an end-of-text token, cut into windows of `max_length` tokens.

    Every token trains (the mask is all ones); long documents become several consecutive windows.
    """
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    if tokenizer.eos_token_id is not None:
        ids = ids + [tokenizer.eos_token_id]
    return [Rendered(ids[i:i + max_length], [1] * len(ids[i:i + max_length])) for i in range(0, len(ids), max_length)
            if len(ids[i:i + max_length]) > 1]


def _trim_trailing_newline(text: str, start: int, end: int) -> int:
    """Train on the end-of-turn token but not on the newline the template puts after it."""
    while end > start and text[end - 1] == "\n":
        end -= 1
    return end


def template_messages(tokenizer, messages: list[dict], tools: list[dict] | None = None) -> list[dict]:
    """The messages as this tokenizer's template expects them (see the module docstring)."""
    source = tokenizer.chat_template or ""
    if not isinstance(source, str):
        source = json.dumps(source)
    out = [_plain_message(m, native_tools="tool_calls" in source) for m in messages]
    if "developer" not in source:
        out = [{**m, "role": "system"} if m["role"] == "developer" else m for m in out]
    if tools and "tools" not in source:
        spec = "# Tools\n\nYou may call one or more functions:\n<tools>\n" + "\n".join(
            json.dumps(t, ensure_ascii=False) for t in tools) + "\n</tools>"
        if out and out[0]["role"] == "system":
            out[0] = {**out[0], "content": f"{out[0]['content']}\n\n{spec}"}
        else:
            out.insert(0, {"role": "system", "content": spec})
    return out


def _plain_message(message: dict, native_tools: bool) -> dict:
    out = {"role": message["role"], "content": message.get("content") or ""}
    calls = message.get("tool_calls")
    if calls and native_tools:
        out["tool_calls"] = calls
    elif calls:  # written into the content so the model still learns the call
        text = "\n".join("<tool_call>\n" + json.dumps({"name": c["function"]["name"], "arguments":
                                                       c["function"]["arguments"]}, ensure_ascii=False)
                         + "\n</tool_call>" for c in calls)
        out["content"] = f"{out['content']}\n{text}" if out["content"] else text
    for key in ("tool_call_id", "name"):
        if key in message and native_tools:
            out[key] = message[key]
    return out


def _apply(tokenizer, messages: list[dict], tools: list[dict] | None, add_generation_prompt: bool = False) -> str:
    from jinja2 import TemplateError as JinjaError

    kwargs = {"tools": tools} if tools else {}
    try:
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt,
                                             **kwargs)
    except (JinjaError, ValueError) as exc:  # a template's raise_exception() on turns it refuses, or no template
        raise TemplateError(f"the chat template cannot render this conversation: {exc}",
                            "reorder the turns (user/assistant alternating), or set `model.chat_template` "
                            "(e.g. chatml)") from None


def trl_messages(messages: list[dict]) -> list[dict]:
    """Messages as TRL hands them to the chat template (honed's `weight` dropped, tool calls kept)."""
    keep = ("role", "content", "tool_calls", "tool_call_id", "name")
    return [{k: m[k] for k in keep if k in m} for m in messages]
