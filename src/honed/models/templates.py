"""Chat templates for base models: `model.chat_template` (a built-in name or a Jinja file), and ChatML for a
tokenizer that has none.

Base checkpoints ship without a chat template, so the first `apply_chat_template` would fail. honed gives them one:
the configured template, or ChatML by default. Template tokens the vocabulary lacks (`<|im_start|>`, `<|im_end|>`
for ChatML) are added as special tokens and the embeddings resized (new rows start at the mean embedding, as
transformers does); the resized embeddings and the tokenizer, template included, are saved with the adapter.
"""
from __future__ import annotations

from pathlib import Path

from honed.core.errors import HonedError

CHATML = ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + "
          "'<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
LLAMA3 = ("{{ bos_token }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + "
          "'<|end_header_id|>\n\n' + message['content'] + '<|eot_id|>' }}{% endfor %}{% if add_generation_prompt %}"
          "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}")
ALPACA = ("{% for message in messages %}{% if message['role'] == 'system' %}{{ message['content'] + '\n\n' }}"
          "{% elif message['role'] == 'user' %}{{ '### Instruction:\n' + message['content'] + '\n\n' }}"
          "{% elif message['role'] == 'assistant' %}{{ '### Response:\n' + message['content'] + eos_token + '\n\n' }}"
          "{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '### Response:\n' }}{% endif %}")
BUILTIN = {"chatml": CHATML, "llama3": LLAMA3, "alpaca": ALPACA}
SPECIAL_TOKENS = {"chatml": ["<|im_start|>", "<|im_end|>"],
                  "llama3": ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"], "alpaca": []}
END_OF_TURN = {"chatml": "<|im_end|>", "llama3": "<|eot_id|>"}


def resolve_template(setting: str, root: Path | None = None) -> tuple[str, str | None]:
    """(Jinja source, built-in name or None) for a `model.chat_template` value."""
    if setting in BUILTIN:
        return BUILTIN[setting], setting
    path = Path(setting).expanduser()
    if not path.is_absolute() and root is not None:
        path = root / path
    if not path.is_file():
        raise HonedError(f"`model.chat_template: {setting}` is neither a built-in template nor a file",
                         f"use one of {', '.join(BUILTIN)}, or the path of a Jinja file (relative to honed.yaml)")
    return path.read_text(encoding="utf-8"), None


def apply_chat_template_setting(model, tokenizer, setting: str | None, root: Path | None = None) -> list[int]:
    """Give `tokenizer` the configured template (or ChatML when it has none); returns the ids of added tokens.

    A tokenizer that has a template and no setting is left alone. `model` may be None (token statistics only).
    """
    if not setting and tokenizer.chat_template:
        return []
    source, name = resolve_template(setting or "chatml", root)
    tokenizer.chat_template = source
    added = [t for t in SPECIAL_TOKENS.get(name or "", []) if t not in tokenizer.get_vocab()]
    if added:
        tokenizer.add_special_tokens({"additional_special_tokens": added})
    if model is None:
        return tokenizer.convert_tokens_to_ids(added)
    if added:
        model.resize_token_embeddings(len(tokenizer))
    if name in END_OF_TURN:  # generation stops at the end of the assistant's turn
        end = tokenizer.convert_tokens_to_ids(END_OF_TURN[name])
        eos = model.generation_config.eos_token_id
        eos = eos if isinstance(eos, list) else [eos] if eos is not None else []
        model.generation_config.eos_token_id = sorted(set(eos) | {end})
    ids = tokenizer.convert_tokens_to_ids(added)
    model.honed_new_token_ids = ids  # read when saving: the resized embeddings go with the adapter
    return ids
