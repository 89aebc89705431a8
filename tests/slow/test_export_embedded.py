"""Export round trip on the embedded SmolLM2-135M-Instruct: merged and f16 GGUF give the in-memory tokens."""
from __future__ import annotations

import json

import pytest
import torch

from honed.export.api import export_run

MESSAGES = [{"role": "user", "content": "My parcel is late and the tracking number shows nothing. Which team?"}]


def greedy(model, tokenizer, n=20):
    ids = tokenizer.apply_chat_template(MESSAGES, add_generation_prompt=True, return_tensors="pt",
                                        return_dict=True)["input_ids"]
    with torch.no_grad():
        out = model.generate(ids, do_sample=False, max_new_tokens=n, pad_token_id=tokenizer.pad_token_id)
    return out[0, ids.shape[1]:].tolist()


@pytest.mark.slow
def test_embedded_model_merged_and_f16_gguf_round_trip(tmp_path, one_thread):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from honed.models.load import load_model

    base, tokenizer = load_model("smollm2-135m-instruct")
    # A non-zero adapter (PEFT's init_lora_weights=False), scaled so the model still talks sense.
    torch.manual_seed(0)
    adapted = get_peft_model(base, LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "k_proj", "v_proj",
                                              "o_proj"], init_lora_weights=False)).eval()
    with torch.no_grad():
        for name, param in adapted.named_parameters():
            if "lora_B" in name:
                param.mul_(0.05)
    run = tmp_path / "run"
    adapted.save_pretrained(run / "adapter")
    tokenizer.save_pretrained(run / "adapter")
    (run / "config.yaml").write_text("model: {base: smollm2-135m-instruct}\n")
    (run / "meta.json").write_text(json.dumps({"run_id": "embedded", "method": "lora", "dataset_hash": "h"}))
    expected = greedy(adapted, tokenizer)
    with adapted.disable_adapter():
        assert greedy(adapted, tokenizer) != expected  # the adapter changes the answer, so the merge matters

    merged_dir = export_run(run, "merged")
    merged = AutoModelForCausalLM.from_pretrained(merged_dir, dtype=torch.float32).eval()
    merged_tokenizer = AutoTokenizer.from_pretrained(merged_dir)
    assert greedy(merged, merged_tokenizer) == expected
    eos = merged.generation_config.eos_token_id
    assert merged_tokenizer.convert_tokens_to_ids("<|im_end|>") in (eos if isinstance(eos, list) else [eos])

    path = export_run(run, "gguf", "f16")
    from_gguf = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=torch.float32).eval()
    assert greedy(from_gguf, merged_tokenizer) == expected
    assert "FROM ./" in (path.parent / "Modelfile").read_text()
