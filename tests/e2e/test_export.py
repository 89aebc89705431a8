"""`honed export` round trips on tiny-random: the exported model generates what the in-memory one does.

One 3-step LoRA run is trained per module; every export is made from it through the public API or the CLI,
loaded back the way a user would (a plain HF directory; transformers' GGUF loader) and compared token by token.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from projectkit import tiny_config_text, write_ticket_rows

from honed.cli import main
from honed.export.api import export_run

MESSAGES = [{"role": "user", "content": "Hello, about my invoice: ticket 12, I was charged twice."}]
TEXT = ("Route the ticket: billing, shipping or login. Hello, about my parcel lost: ticket 7 311. "
        "The courier never came and the tracking number shows nothing since Monday. ") * 3


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A real `honed train` run directory (3 LoRA steps on tiny-random)."""
    root = tmp_path_factory.mktemp("export_project")
    write_ticket_rows(root / "data.jsonl")
    (root / "honed.yaml").write_text(tiny_config_text(), encoding="utf-8")
    out = root / "run"
    torch.set_num_threads(1)
    assert main(["train", str(root / "honed.yaml"), "-o", str(out), "train.max_steps=3"]) == 0
    return out


@pytest.fixture(scope="module")
def adapted(trained_run):
    """Base + adapter in memory, exactly as training left them (not merged)."""
    from peft import PeftModel

    from honed.models.load import load_model

    base, tokenizer = load_model("tiny-random")
    return PeftModel.from_pretrained(base, str(trained_run / "adapter")).eval(), tokenizer


@pytest.fixture(scope="module")
def merged_dir(trained_run):
    return export_run(trained_run, "merged", out=trained_run.parent / "merged")


@pytest.fixture(scope="module")
def f16_gguf(trained_run):
    return export_run(trained_run, "gguf", "f16", trained_run.parent / "gguf-f16")


def greedy(model, tokenizer, max_new_tokens=16, eos=None):
    ids = tokenizer.apply_chat_template(MESSAGES, add_generation_prompt=True, return_tensors="pt",
                                        return_dict=True)["input_ids"]
    with torch.no_grad():
        out = model.generate(ids, do_sample=False, max_new_tokens=max_new_tokens, min_new_tokens=max_new_tokens,
                             eos_token_id=eos, pad_token_id=tokenizer.pad_token_id)
    return out[0, ids.shape[1]:].tolist()


def load_dir(path: Path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval(), AutoTokenizer.from_pretrained(path)


def load_gguf(path: Path):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=torch.float32).eval()


def test_the_adapter_changes_the_model_so_the_merge_matters(adapted):
    model, _ = adapted
    lora_b = [p for n, p in model.named_parameters() if "lora_B" in n]
    assert lora_b and all(p.abs().max() > 0 for p in lora_b)


def test_merged_export_generates_what_base_plus_adapter_does(adapted, merged_dir):
    model, tokenizer = adapted
    exported, exported_tokenizer = load_dir(merged_dir)
    assert not any("lora" in name for name, _ in exported.named_parameters())
    assert greedy(exported, exported_tokenizer) == greedy(model, tokenizer)
    ids = exported_tokenizer(TEXT, return_tensors="pt").input_ids
    with torch.no_grad():
        assert torch.allclose(exported(ids).logits, model(ids).logits, atol=1e-4)


def test_merged_export_keeps_template_and_end_of_turn(merged_dir, trained_run):
    _, tokenizer = load_dir(merged_dir)
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    generation = json.loads((merged_dir / "generation_config.json").read_text())
    eos = generation["eos_token_id"]
    assert im_end in (eos if isinstance(eos, list) else [eos])
    assert "<|im_start|>" in tokenizer.chat_template
    assert list((merged_dir).glob("*.safetensors"))
    card = (merged_dir / "README.md").read_text()
    meta = json.loads((trained_run / "meta.json").read_text())
    assert "tiny-random" in card and meta["dataset_hash"] in card and "lora" in card
    assert "## Limitations" in card and "## Licence" in card and "## Intended use" in card


def test_f16_gguf_generates_what_the_merged_model_does(f16_gguf, merged_dir):
    import gguf

    path = f16_gguf
    merged, tokenizer = load_dir(merged_dir)
    loaded = load_gguf(path)
    assert greedy(loaded, tokenizer, max_new_tokens=24) == greedy(merged, tokenizer, max_new_tokens=24)
    reader = gguf.GGUFReader(path)
    assert reader.get_field("tokenizer.chat_template").contents() == tokenizer.chat_template
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert reader.get_field("tokenizer.ggml.eos_token_id").contents() == im_end
    assert reader.get_field("tokenizer.ggml.eot_token_id").contents() == im_end
    assert reader.get_field("tokenizer.ggml.bos_token_id").contents() == tokenizer.bos_token_id
    assert reader.get_field("llama.block_count").contents() == merged.config.num_hidden_layers
    assert reader.get_field("llama.attention.head_count_kv").contents() == merged.config.num_key_value_heads
    assert len(reader.get_field("tokenizer.ggml.tokens").data) == merged.config.vocab_size


def test_gguf_tokenizer_reads_back_like_the_original(f16_gguf, merged_dir):
    from transformers import AutoTokenizer

    path = f16_gguf
    _, tokenizer = load_dir(merged_dir)
    from_gguf = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    chat = tokenizer.apply_chat_template(MESSAGES, tokenize=False, add_generation_prompt=True)
    assert from_gguf.apply_chat_template(MESSAGES, tokenize=False, add_generation_prompt=True) == chat
    assert from_gguf(chat + TEXT).input_ids == tokenizer(chat + TEXT).input_ids


def test_q8_0_gguf_keeps_the_top_choice_on_99_percent_of_positions(trained_run, merged_dir, f16_gguf):
    path = export_run(trained_run, "gguf", "q8_0", trained_run.parent / "gguf-q8")
    merged, tokenizer = load_dir(merged_dir)
    ids = tokenizer(TEXT, return_tensors="pt").input_ids
    with torch.no_grad():
        agree = (load_gguf(path)(ids).logits.argmax(-1) == merged(ids).logits.argmax(-1)).float().mean().item()
    print(f"q8_0 top-1 agreement {agree:.4f} over {ids.shape[1]} positions")
    assert ids.shape[1] > 100 and agree >= 0.99, agree
    assert path.stat().st_size < f16_gguf.stat().st_size


def test_modelfile_points_at_the_gguf_with_template_and_stops(f16_gguf):
    path = f16_gguf
    text = (path.parent / "Modelfile").read_text()
    lines = text.splitlines()
    from_line = next(line for line in lines if line.startswith("FROM "))
    assert (path.parent / from_line.split(" ", 1)[1]).resolve() == path.resolve()
    assert 'TEMPLATE """' in text and "{{ .Content }}" in text and "{{ .Role }}" in text
    assert [line for line in lines if line.startswith("PARAMETER stop")] == ['PARAMETER stop "<|im_end|>"']


def test_cli_exports_and_prints_the_path_last(trained_run, capsys):
    out = trained_run.parent / "cli-gguf"
    assert main(["export", str(trained_run), "--format", "gguf", "--quant", "q8_0", "-o", str(out)]) == 0
    printed = Path(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed.suffix == ".gguf" and printed.is_file() and printed.parent == out


def test_cli_rejects_a_missing_run_an_empty_run_and_an_unknown_quant(trained_run, tmp_path, capsys):
    assert main(["export", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["export", str(tmp_path)]) == 2
    assert "holds no trained model" in capsys.readouterr().err
    assert main(["export", str(trained_run), "--format", "gguf", "--quant", "q3_k"]) == 2
    err = capsys.readouterr().err
    assert "unsupported GGUF quantisation" in err and "q8_0" in err
    assert main(["export", str(trained_run), "--quant", "q8_0"]) == 2
    assert "GGUF only" in capsys.readouterr().err


@pytest.fixture(scope="module")
def stopping_run(merged_dir, tmp_path_factory):
    """A full fine-tune run whose model greedily answers <|im_end|> straight away (the turn is over).

    The output embeddings are untied (so the GGUF carries its own `output.weight`) and the end-of-turn row is
    pointed along the final hidden state at the prompt's last position, so its logit (60) dominates there. A
    random tiny model repeats one token forever, so stopping at once is the case it can be made to show. The run
    holds a full model (no adapter_config.json), which also exercises exporting a full fine-tune as it is.
    """
    model, tokenizer = load_dir(merged_dir)
    end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    prompt = tokenizer.apply_chat_template(MESSAGES, add_generation_prompt=True, return_tensors="pt",
                                           return_dict=True)["input_ids"]
    with torch.no_grad():
        hidden = model.model(prompt).last_hidden_state[0, -1]
        head = model.get_output_embeddings().weight.detach().clone()
        head[end] = hidden * (60.0 / hidden.norm() ** 2)
    model.config.tie_word_embeddings = False
    model.lm_head.weight = torch.nn.Parameter(head)
    run = tmp_path_factory.mktemp("stopping") / "run"
    model.save_pretrained(run / "adapter")
    tokenizer.save_pretrained(run / "adapter")
    (run / "config.yaml").write_text("model: {base: tiny-random}\n")
    (run / "meta.json").write_text(json.dumps({"run_id": "stop-run", "method": "full", "dataset_hash": "abc123"}))
    return run, end


def generate_until_eos(model, tokenizer, max_new_tokens=20):
    """Greedy generation with the model's own generation config (its eos ids), as a user would run it."""
    ids = tokenizer.apply_chat_template(MESSAGES, add_generation_prompt=True, return_tensors="pt",
                                        return_dict=True)["input_ids"]
    with torch.no_grad():
        out = model.generate(ids, do_sample=False, max_new_tokens=max_new_tokens)
    return out[0, ids.shape[1]:].tolist()


@pytest.mark.parametrize("fmt,quant", [("merged", None), ("gguf", "f16"), ("gguf", "q8_0")])
def test_generation_stops_at_the_end_of_turn_in_every_export(stopping_run, fmt, quant):
    run, end = stopping_run
    path = export_run(run, fmt, quant)
    if fmt == "merged":
        model, tokenizer = load_dir(path)
    else:
        _, tokenizer = load_dir(run / "adapter")
        model = load_gguf(path)
        assert "output.weight" in {t.name for t in __import__("gguf").GGUFReader(path).tensors}
    eos = model.generation_config.eos_token_id
    assert end in (eos if isinstance(eos, list) else [eos])
    prompt = tokenizer.apply_chat_template(MESSAGES, add_generation_prompt=True, return_tensors="pt",
                                           return_dict=True)["input_ids"]
    with torch.no_grad():
        assert model(prompt).logits[0, -1].argmax().item() == end  # the model does emit it
    assert generate_until_eos(model, tokenizer) == [end]  # and generation stops there: 1 token of 20 allowed
