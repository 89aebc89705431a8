"""GPU checks a user with an NVIDIA GPU can run in one go (see benchmarks/gpu_verify.sh). NOT yet run by us.

    python benchmarks/gpu_verify.py planner [--models smollm2-135m,smollm2-1.7b] [--seq 512] [--batch 4]

`planner`: for each catalog model (random-initialised from its architecture, no download) and method
(full / lora / qlora when bitsandbytes is installed), three training steps on random tokens in bf16 with
`torch.cuda.max_memory_allocated()` measured, printed next to `honed plan`'s estimate (target: within ±15 %).
Prints one JSON line per (model, method) and a summary table.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def random_model(base, method: str):
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig

    config = LlamaConfig(hidden_size=base.hidden, intermediate_size=base.intermediate,
                         num_hidden_layers=base.layers, num_attention_heads=base.heads,
                         num_key_value_heads=base.kv_heads, head_dim=base.dim_head, vocab_size=base.vocab,
                         tie_word_embeddings=getattr(base, "tied_embeddings", False))
    if method == "qlora":
        from transformers import BitsAndBytesConfig

        quant = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                                   bnb_4bit_compute_dtype=torch.bfloat16)
        model = AutoModelForCausalLM.from_config(config, torch_dtype=torch.bfloat16)
        model.save_pretrained("/tmp/honed-gpu-verify-model")
        return AutoModelForCausalLM.from_pretrained("/tmp/honed-gpu-verify-model", quantization_config=quant,
                                                    device_map={"": 0})
    return AutoModelForCausalLM.from_config(config, torch_dtype=torch.bfloat16).cuda()


def measure(base, method: str, seq: int, batch: int) -> float:
    """Peak GB allocated over three optimizer steps (bf16 weights, float32 adapters, AdamW)."""
    import torch
    from peft import LoraConfig, get_peft_model

    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    model = random_model(base, method)
    if method != "full":
        model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, target_modules="all-linear",
                                                 task_type="CAUSAL_LM"))
        for p in model.parameters():
            if p.requires_grad:
                p.data = p.data.float()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    ids = torch.randint(0, base.vocab, (batch, seq), device="cuda")
    for _ in range(3):
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    peak = torch.cuda.max_memory_allocated() / 1024**3
    del model, optimizer
    return peak


def planner(args) -> None:
    import importlib.util

    from honed.models.catalog import find_base
    from honed.models.memory import PlanInput, estimate

    methods = ["full", "lora"] + (["qlora"] if importlib.util.find_spec("bitsandbytes") else [])
    rows = []
    for name in args.models.split(","):
        base = find_base(name)
        plan = PlanInput(seq_len=args.seq, batch_size=args.batch, weight_bytes=2)
        for method in methods:
            planned = estimate(base, method, plan)["peak_gb"]
            try:
                measured = measure(base, method, args.seq, args.batch) + 0.0
            except Exception as exc:  # an OOM or a missing kernel is a finding, not a crash
                print(json.dumps({"model": name, "method": method, "error": repr(exc)[:200]}))
                continue
            # The planner adds 1 GB of CUDA context that max_memory_allocated does not see.
            row = {"model": name, "method": method, "seq": args.seq, "batch": args.batch, "planned_gb": planned,
                   "measured_allocated_gb": round(measured, 3),
                   "planned_without_context_gb": round(planned - 1.0, 3),
                   "error_pct": round(100 * ((planned - 1.0) / measured - 1), 1)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    print(f"\n{'model':<24} {'method':<6} {'planned':>8} {'measured':>9} {'error':>7}")
    for r in rows:
        print(f"{r['model']:<24} {r['method']:<6} {r['planned_without_context_gb']:>8.2f} "
              f"{r['measured_allocated_gb']:>9.2f} {r['error_pct']:>6.1f}%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("check", choices=("planner",))
    parser.add_argument("--models", default="smollm2-135m,smollm2-360m,smollm2-1.7b")
    parser.add_argument("--seq", type=int, default=512)
    parser.add_argument("--batch", type=int, default=4)
    args = parser.parse_args()
    import torch

    if not torch.cuda.is_available():
        sys.exit("no CUDA device: this script checks GPU behaviour only")
    planner(args)


if __name__ == "__main__":
    main()
