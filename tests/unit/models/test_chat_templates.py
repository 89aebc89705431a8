"""Base models without a chat template (issue 10): `model.chat_template` built-ins or a Jinja file; ChatML by
default; tokens the template needs are added, the embeddings resized, trained and saved with the adapter."""
from __future__ import annotations

import pytest

from honed.core.errors import HonedError
from honed.models.templates import apply_chat_template_setting

CHAT = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}]


@pytest.fixture
def base():
    """tiny-random with its chat template removed: a base checkpoint."""
    from honed.models.load import load_model

    model, tokenizer = load_model("tiny-random")
    tokenizer.chat_template = None
    return model, tokenizer


def test_a_base_tokenizer_without_a_template_fails_then_gets_chatml(base):
    from honed.core.chat import TemplateError, render_prompt

    model, tokenizer = base
    with pytest.raises(TemplateError):
        render_prompt(tokenizer, CHAT[:1])
    assert apply_chat_template_setting(model, tokenizer, None) == []  # SmolLM2's vocabulary has both tokens
    assert tokenizer.apply_chat_template(CHAT, tokenize=False) == \
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>\n"
    assert tokenizer.convert_tokens_to_ids("<|im_end|>") in model.generation_config.eos_token_id


def test_missing_template_tokens_are_added_and_the_embeddings_resized(base):
    model, tokenizer = base
    before = len(tokenizer)
    ids = apply_chat_template_setting(model, tokenizer, "llama3")
    assert len(ids) == 3 and len(tokenizer) == before + 3
    assert model.get_input_embeddings().weight.shape[0] == len(tokenizer)
    text = tokenizer.apply_chat_template(CHAT, tokenize=False)
    encoded = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert set(ids) <= set(encoded)  # each added marker is one token, not split into pieces


def test_a_jinja_file_and_a_bad_name(base, tmp_path):
    model, tokenizer = base
    (tmp_path / "t.jinja").write_text("{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}")
    apply_chat_template_setting(model, tokenizer, "t.jinja", tmp_path)
    assert tokenizer.apply_chat_template(CHAT, tokenize=False) == "[user] Hi\n[assistant] Hello.\n"
    with pytest.raises(HonedError, match="neither a built-in"):
        apply_chat_template_setting(model, tokenizer, "chatmll", tmp_path)


def test_resized_embeddings_and_template_are_saved_with_the_adapter(base, tmp_path):
    import torch
    from peft import PeftModel
    from safetensors.torch import load_file
    from transformers import AutoTokenizer

    from honed.core.config import validate_config
    from honed.core.rundir import RunDir
    from honed.models.load import load_model
    from honed.train.sft import train_sft

    model, tokenizer = base
    ids = apply_chat_template_setting(model, tokenizer, "llama3")
    cfg = validate_config({"project": "t", "model": {"base": "tiny-random", "max_length": 64},
                           "method": {"kind": "lora", "r": 4, "alpha": 8, "dropout": 0.0},
                           "train": {"max_steps": 2, "learning_rate": 1e-2, "batch_size": 4, "warmup_ratio": 0.0}})
    rows = [{"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}]}
            for i in range(8)]
    result = train_sft(cfg, model, tokenizer, rows, [], RunDir.create(tmp_path / "run", "train", cfg))
    saved_tokenizer = AutoTokenizer.from_pretrained(result.adapter_dir)
    assert "<|eot_id|>" in saved_tokenizer.chat_template and len(saved_tokenizer) == len(tokenizer)
    weights = load_file(result.adapter_dir / "adapter_model.safetensors")
    (embedding,) = [v for k, v in weights.items() if "embed_tokens" in k]
    assert embedding.shape[0] == len(tokenizer)
    fresh, _ = load_model("tiny-random")
    fresh.resize_token_embeddings(len(saved_tokenizer))
    reloaded = PeftModel.from_pretrained(fresh, result.adapter_dir)
    assert torch.equal(reloaded.get_input_embeddings().weight[ids], embedding[ids])
