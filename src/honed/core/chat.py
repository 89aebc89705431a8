"""Render conversations with the model's own chat template and mark which tokens carry the loss.

Templates with `{% generation %}` markers give the assistant mask directly. Most (SmolLM2's included) have none,
so the mask is built from character spans: the template is rendered for each prefix of the conversation, and
the text an assistant turn adds (its content and end-of-turn token) is the span that trains. Tokens are mapped to
characters through the fast tokenizer's offsets, so no assumption about token boundaries is needed.
"""
from __future__ import annotations

from dataclasses import dataclass

IGNORE_INDEX = -100  # the label PyTorch's cross-entropy skips: tokens that carry no loss


@dataclass
class Rendered:
    input_ids: list[int]
    assistant_mask: list[int]  # 1 where the token is trained on

    @property
    def supervised(self) -> int:
        return sum(self.assistant_mask)


def render_prompt(tokenizer, messages: list[dict]) -> str:
    """The prompt text for generation: the conversation followed by the assistant header."""
    return tokenizer.apply_chat_template(_plain(messages), tokenize=False, add_generation_prompt=True)


def assistant_spans(tokenizer, messages: list[dict]) -> tuple[str, list[tuple[int, int]]]:
    """Full rendered text and the (start, end) character spans of trained assistant turns."""
    plain = _plain(messages)
    text = tokenizer.apply_chat_template(plain, tokenize=False)
    spans = []
    for index, message in enumerate(messages):
        if message["role"] != "assistant" or message.get("weight", 1) == 0:
            continue
        start = len(tokenizer.apply_chat_template(plain[:index], tokenize=False, add_generation_prompt=True))
        end = len(tokenizer.apply_chat_template(plain[: index + 1], tokenize=False))
        if not text.startswith(tokenizer.apply_chat_template(plain[: index + 1], tokenize=False)):
            raise ValueError("the chat template does not render conversations prefix by prefix; "
                             "cannot locate assistant turns")
        spans.append((start, _trim_trailing_newline(text, start, end)))
    return text, spans


def render_conversation(tokenizer, messages: list[dict], completion_only: bool = False) -> Rendered:
    """Token ids plus the assistant-only loss mask for one conversation.

    `completion_only` (prompt/completion data) trains only the last assistant turn.
    """
    text, spans = assistant_spans(tokenizer, messages)
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


def _plain(messages: list[dict]) -> list[dict]:
    return [{"role": m["role"], "content": m["content"]} for m in messages]
