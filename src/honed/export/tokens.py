"""End tokens, read from the chat template itself rather than from a list of model names.

The end-of-turn token is the special token the template writes right after an assistant message's content
(`<|im_end|>` for ChatML, `<|eot_id|>` for Llama 3, `<end_of_turn>` for Gemma). A model fine-tuned on that
template ends its answers with it, so every export must treat it as an end of sequence.
"""
from __future__ import annotations

from honed.core.errors import HonedError

PROBE = "honed-probe-content"


def end_of_turn_token(tokenizer) -> str | None:
    """The special token that closes an assistant turn in the chat template, or None without a template."""
    if not getattr(tokenizer, "chat_template", None):
        return None
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": PROBE}]
    text = tokenizer.apply_chat_template(messages, tokenize=False)
    after = text[text.rfind(PROBE) + len(PROBE):]
    specials = sorted(_special_strings(tokenizer), key=len, reverse=True)
    # The first special token after the content, skipping whitespace the template adds before it.
    stripped = after.lstrip()
    return next((s for s in specials if stripped.startswith(s)), None)


def end_token_ids(tokenizer) -> list[int]:
    """The ids generation must stop at: the tokenizer's EOS and the template's end-of-turn token."""
    ids = []
    for token in (end_of_turn_token(tokenizer), tokenizer.eos_token):
        token_id = tokenizer.convert_tokens_to_ids(token) if token else None
        if token_id is not None and token_id != tokenizer.unk_token_id and token_id not in ids:
            ids.append(token_id)
    if not ids:
        raise HonedError("the tokenizer has neither an EOS token nor a chat template with an end-of-turn token",
                         "set `eos_token` in the base model's tokenizer_config.json")
    return ids


def _special_strings(tokenizer) -> set[str]:
    found = set(tokenizer.all_special_tokens)
    found.update(t.content for t in tokenizer.added_tokens_decoder.values() if t.special)
    return found
