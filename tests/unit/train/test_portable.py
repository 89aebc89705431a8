"""Portable artifacts (issue 10): an adapter names its base by the id the world knows, never a path into honed's
cache, and loads with plain PEFT in a fresh process given a local copy of the base."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from trainkit import chats, tiny_cfg


def test_adapter_loads_with_plain_peft_in_a_fresh_process(run_dir, tmp_path):
    import torch

    from honed.models.load import load_model
    from honed.train.sft import train_sft

    cfg = tiny_cfg(max_steps=2)
    model, tokenizer = load_model("tiny-random")
    base_copy = tmp_path / "base"
    model.save_pretrained(base_copy)  # the "local copy of the base" another machine would have
    result = train_sft(cfg, model, tokenizer, chats(8), [], run_dir(cfg))
    config = json.loads((result.adapter_dir / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == "tiny-random"
    ids = torch.tensor([tokenizer("hi number 3", add_special_tokens=False)["input_ids"]])
    result.model.eval()
    with torch.no_grad():
        expected = result.model(input_ids=ids).logits[0, -1, :5].tolist()
    script = textwrap.dedent(f"""
        import json, torch
        from peft import PeftModel
        from transformers import AutoModelForCausalLM
        base = AutoModelForCausalLM.from_pretrained({str(base_copy)!r})
        model = PeftModel.from_pretrained(base, {str(result.adapter_dir)!r}).eval()
        with torch.no_grad():
            print(json.dumps(model(input_ids=torch.tensor({ids.tolist()})).logits[0, -1, :5].tolist()))
    """)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # plain PEFT: no honed on the path
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120,
                         check=True)
    assert torch.allclose(torch.tensor(json.loads(out.stdout.strip().splitlines()[-1])), torch.tensor(expected),
                          atol=1e-5)


def test_the_embedded_model_is_named_by_its_hub_id_and_quantisation():
    from honed.models.load import EMBEDDED_FILE, provenance

    origin = provenance("smollm2-135m-instruct")
    assert origin["id"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert origin["gguf"] == EMBEDDED_FILE and "Q4_1" in origin["note"]


def test_model_card_names_the_public_id_and_the_gguf(tmp_path):
    from peft import LoraConfig, get_peft_model

    from honed.models.load import load_model
    from honed.train.loop import save_model

    model, tokenizer = load_model("tiny-random")
    peft_model = get_peft_model(model, LoraConfig(r=2, target_modules=["q_proj"], task_type="CAUSAL_LM"))
    save_model(peft_model, tokenizer, tmp_path / "adapter", "smollm2-135m-instruct")
    card = (tmp_path / "adapter" / "README.md").read_text()
    assert "base_model: HuggingFaceTB/SmolLM2-135M-Instruct" in card and "Q4_1.gguf" in card
    config = json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
