"""Assistant-only masks against hand-computed spans, for ChatML (SmolLM2), Llama-3-style and Zephyr- and
Mistral-style templates (none of which has generation markers, so honed builds the mask itself)."""
from __future__ import annotations

import copy

import pytest

from honed.core.chat import assistant_spans, render_conversation, render_text

CONVERSATION = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Capital of France?"},
    {"role": "assistant", "content": "Paris"},
    {"role": "user", "content": "And of Italy?"},
    {"role": "assistant", "content": "Rome"},
]

LLAMA3 = ("{{ bos_token }}{% for m in messages %}<|start_header_id|>{{ m['role'] }}<|end_header_id|>\n\n"
          "{{ m['content'] | trim }}<|eot_id|>{% endfor %}{% if add_generation_prompt %}"
          "<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}")
ZEPHYR = ("{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}{{ eos_token }}\n{% endfor %}"
          "{% if add_generation_prompt %}<|assistant|>\n{% endif %}")
MISTRAL = ("{{ bos_token }}{% for m in messages %}{% if m['role'] == 'user' %}[INST] {{ m['content'] }} [/INST]"
           "{% elif m['role'] == 'assistant' %}{{ m['content'] }}{{ eos_token }}{% endif %}{% endfor %}")

# Hand-written renderings and the exact text each assistant turn trains on (its answer plus end-of-turn token).
EXPECTED = {
    "chatml": (None,
               ("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nCapital of France?<|im_end|>\n"
               "<|im_start|>assistant\nParis<|im_end|>\n<|im_start|>user\nAnd of Italy?<|im_end|>\n"
               "<|im_start|>assistant\nRome<|im_end|>\n"),
               ["Paris<|im_end|>", "Rome<|im_end|>"]),
    "llama3": (LLAMA3,
               ("<|im_start|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
               "<|start_header_id|>user<|end_header_id|>\n\nCapital of France?<|eot_id|>"
               "<|start_header_id|>assistant<|end_header_id|>\n\nParis<|eot_id|>"
               "<|start_header_id|>user<|end_header_id|>\n\nAnd of Italy?<|eot_id|>"
               "<|start_header_id|>assistant<|end_header_id|>\n\nRome<|eot_id|>"),
               ["Paris<|eot_id|>", "Rome<|eot_id|>"]),
    "zephyr": (ZEPHYR,
               ("<|system|>\nBe brief.<|im_end|>\n<|user|>\nCapital of France?<|im_end|>\n<|assistant|>\nParis<|im_end|>\n"
               "<|user|>\nAnd of Italy?<|im_end|>\n<|assistant|>\nRome<|im_end|>\n"),
               ["Paris<|im_end|>", "Rome<|im_end|>"]),
    "mistral": (MISTRAL,
                "<|im_start|>[INST] Capital of France? [/INST]Paris<|im_end|>[INST] And of Italy? [/INST]Rome<|im_end|>",
                ["Paris<|im_end|>", "Rome<|im_end|>"]),
}


LLAMA3_SPECIALS = ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]


def with_template(tokenizer, template):
    """A copy of the tokenizer with another chat template; for Llama 3 its header and end-of-turn markers become
    special tokens, as they are in Llama 3's own tokenizer."""
    if template is None:
        return tokenizer
    copied = copy.deepcopy(tokenizer)
    copied.chat_template = template
    if template is LLAMA3:
        copied.add_tokens(LLAMA3_SPECIALS, special_tokens=True)
    return copied


def hand_spans(text: str, pieces: list[str]) -> list[tuple[int, int]]:
    """Where each trained piece sits, found left to right in the hand-written rendering."""
    spans, cursor = [], 0
    for piece in pieces:
        start = text.index(piece, cursor)
        spans.append((start, start + len(piece)))
        cursor = start + len(piece)
    return spans


@pytest.mark.parametrize("name", list(EXPECTED))
def test_spans_match_hand_computed(tokenizer, name):
    template, text, pieces = EXPECTED[name]
    tok = with_template(tokenizer, template)
    rendered, spans = assistant_spans(tok, CONVERSATION)
    assert rendered == text
    assert spans == hand_spans(text, pieces)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_mask_covers_exactly_the_assistant_tokens(tokenizer, name):
    template, text, pieces = EXPECTED[name]
    tok = with_template(tokenizer, template)
    rendered = render_conversation(tok, CONVERSATION)
    assert tok.decode(rendered.input_ids) == text
    runs, current = [], []
    for token, keep in zip(rendered.input_ids, rendered.assistant_mask):
        if keep:
            current.append(token)
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    assert [tok.decode(r) for r in runs] == pieces


def test_completion_only_trains_the_last_turn(tokenizer):
    rendered = render_conversation(tokenizer, CONVERSATION, completion_only=True)
    masked = [t for t, keep in zip(rendered.input_ids, rendered.assistant_mask) if keep]
    assert tokenizer.decode(masked) == "Rome<|im_end|>"


def test_weight_zero_turn_is_not_trained(tokenizer):
    messages = [dict(m) for m in CONVERSATION]
    messages[2]["weight"] = 0
    rendered = render_conversation(tokenizer, messages)
    masked = [t for t, keep in zip(rendered.input_ids, rendered.assistant_mask) if keep]
    assert tokenizer.decode(masked) == "Rome<|im_end|>"


def test_raw_text_windows_train_every_token(tokenizer):
    text = " ".join(f"word{i}" for i in range(60))
    ids = tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    windows = render_text(tokenizer, text, max_length=16)
    assert [t for w in windows for t in w.input_ids] == ids
    assert all(len(w.input_ids) <= 16 and w.assistant_mask == [1] * len(w.input_ids) for w in windows)
