"""CPU training throughput: plain HF + PEFT vs TRL defaults vs honed's fast path, side by side.

    .venv/bin/python benchmarks/cpu_train_throughput.py [--steps 16] [--model smollm2-135m-instruct]

Same model weights, same LoRA (r=16, all-linear), same rendered support-ticket conversations (the example's
instruction + ticket + queue, assistant-only loss), same batches, same seed, in one process:
- hf_peft:     transformers Trainer + PEFT, batch padded to its longest row, full-vocabulary logits everywhere.
- trl_default: TRL SFTTrainer defaults: padded batch, TRL's chunked fused LM head (scores every position on CPU).
- honed_pack:  honed.train.fast without prefix sharing: padding-free packing, segment attention (each sequence
               attends to itself), logits only at supervised positions.
- honed:       what `honed train` uses on CPU: the same plus the rows' shared prefix (the instruction) computed
               once per batch, each row attending to it (exact; tests/unit/fast/test_prefix_sharing.py).
- honed_bf16:  the same with bf16 autocast (`train.precision: fast` on a CPU with AVX512-BF16/AMX).
Real tokens/s counts the rows' non-pad tokens (a shared prefix counts once per row, as the others compute it),
from the median of per-step wall times after 2 warm-up steps; beside it, CPU seconds per real token from the
median of per-step process CPU times (user + system, the same steps), the fair basis on a shared machine
(`--threads 1` keeps OpenMP's spin-waiting out of it). Loss parity: the per-step training losses of each
system against hf_peft. MFU: nominal 4·N FLOPs per real token (forward + activation gradients; N = all
parameters; frozen weights get no weight gradient) over this machine's matmul peak (benchmarks/cpu_roofline.py,
float32, or bf16 for honed_bf16), measured in the same run.
`--device cuda` (benchmarks/gpu_verify.sh) runs hf_peft, trl_default and honed's GPU path (TRL padding-free
packing, bf16) instead; not yet run by us.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))


def rendered_rows(tokenizer, n: int) -> list[dict]:
    from honed.core.chat import render_conversation
    from honed.core.config import load_config
    from honed.data.prepare import load_records

    cfg = load_config(ROOT / "examples" / "support-tickets" / "honed.yaml")
    records, _ = load_records(cfg)
    rows = []
    for record in records[:n]:
        r = render_conversation(tokenizer, record["messages"])
        rows.append({"input_ids": r.input_ids, "labels": [t if m else -100 for t, m in zip(r.input_ids, r.assistant_mask)]})
    return rows


SYSTEMS = ("hf_peft", "trl_default", "honed_pack", "honed", "honed_bf16")
GPU_SYSTEMS = ("hf_peft", "trl_default", "honed_gpu")


class StepTimer:
    """A TrainerCallback recording wall time and loss per optimizer step."""

    def __new__(cls):
        from transformers import TrainerCallback

        class _Timer(TrainerCallback):
            def __init__(self):
                self.times, self.cpu_times, self.losses, self._t, self._cpu = [], [], [], None, None

            def on_step_begin(self, args, state, control, **kw):
                self._t, self._cpu = time.perf_counter(), time.process_time()

            def on_step_end(self, args, state, control, **kw):
                self.times.append(time.perf_counter() - self._t)
                self.cpu_times.append(time.process_time() - self._cpu)

            def on_log(self, args, state, control, logs=None, **kw):
                if logs and "loss" in logs:
                    self.losses.append(float(logs["loss"]))

        return _Timer()


def run_system(name: str, model_ref: str, rows: list[dict], steps: int, batch: int, tokenizer,
               device: str = "cpu") -> dict:
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import Trainer, TrainingArguments
    from trl import SFTConfig, SFTTrainer
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    from honed.models.load import load_model

    torch.manual_seed(0)
    model, _ = load_model(model_ref)
    if device == "cuda":
        model = model.to(torch.bfloat16 if name == "honed_gpu" else torch.float32).cuda()
    lora = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules="all-linear", task_type="CAUSAL_LM")
    common = dict(output_dir=f"/tmp/honed-bench-{name}", max_steps=steps, per_device_train_batch_size=batch,
                  learning_rate=1e-3, logging_steps=1, report_to="none", save_strategy="no", seed=0, data_seed=0,
                  use_cpu=device == "cpu", disable_tqdm=True, lr_scheduler_type="constant",
                  dataloader_num_workers=0)
    dataset = Dataset.from_list(rows)
    timer = StepTimer()
    if name.startswith("honed"):
        from transformers import TrainingArguments

        from honed.core.config import validate_config
        from honed.train.fast import plain_trainer

        cfg = validate_config({"method": {"r": 16, "alpha": 32, "dropout": 0.0}})
        args = TrainingArguments(**common, remove_unused_columns=False, bf16=name == "honed_bf16")
        rows_ = [{"input_ids": r["input_ids"], "assistant_masks": [int(t != -100) for t in r["labels"]]} for r in rows]
        if name == "honed_gpu":  # honed.train.sft on CUDA: TRL padding-free packing + fused LM head, bf16
            args = SFTConfig(**common, max_length=None, padding_free=True, bf16=True)
            trainer = SFTTrainer(model=model, args=args, processing_class=tokenizer, train_dataset=dataset,
                                 peft_config=lora, callbacks=[timer])
        else:
            trainer = plain_trainer(cfg, model, args, Dataset.from_list(rows_), None, [timer],
                                    share_prefix=name != "honed_pack")
    elif name == "hf_peft":
        from peft import get_peft_model

        model = get_peft_model(model, lora)
        trainer = Trainer(model=model, args=TrainingArguments(**common, remove_unused_columns=False),
                          train_dataset=dataset, callbacks=[timer],
                          data_collator=DataCollatorForLanguageModeling(pad_token_id=tokenizer.pad_token_id))
    else:
        args = SFTConfig(**common, max_length=None)
        trainer = SFTTrainer(model=model, args=args, processing_class=tokenizer, train_dataset=dataset,
                             peft_config=lora, callbacks=[timer])
    trainer.train()
    # steps × batch == len(rows): each row is seen exactly once, so real tokens per step is the same for all.
    real_tokens_per_step = sum(len(r["input_ids"]) for r in rows) / steps
    step_times, cpu_times = timer.times[2:], timer.cpu_times[2:]
    return {"system": name, "median_step_s": statistics.median(step_times),
            "real_tokens_per_s": real_tokens_per_step / statistics.median(step_times),
            "median_step_cpu_s": statistics.median(cpu_times),
            "cpu_s_per_real_token": statistics.median(cpu_times) / real_tokens_per_step,
            "load_average": os.getloadavg()[0], "losses": timer.losses}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--steps", type=int, default=16)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--json", type=Path, help="also write results here")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--systems", help="comma-separated subset of " + ", ".join(SYSTEMS + GPU_SYSTEMS))
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's, one per core)")
    args = parser.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    import transformers
    import trl
    from cpu_roofline import matmul_peak

    from honed.models.load import load_model, load_tokenizer

    tokenizer = load_tokenizer(args.model)
    rows = rendered_rows(tokenizer, args.steps * args.batch)
    params = sum(p.numel() for p in load_model(args.model)[0].parameters())
    load_start = os.getloadavg()[0]
    peaks = {"float32": matmul_peak("float32"), "bf16": matmul_peak("bf16")} if args.device == "cpu" else {}
    systems = args.systems.split(",") if args.systems else (SYSTEMS if args.device == "cpu" else GPU_SYSTEMS)
    results = [run_system(name, args.model, rows, args.steps, args.batch, tokenizer, args.device)
               for name in systems]
    base = results[0]
    print(f"\nmodel {args.model}, LoRA r=16 all-linear, batch {args.batch}, {args.steps} steps, "
          f"{torch.get_num_threads()} threads, {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"transformers {transformers.__version__}, trl {trl.__version__}, {time.strftime('%Y-%m-%d %H:%M')}, "
          f"load average {load_start:.1f} → {os.getloadavg()[0]:.1f}")
    if peaks:
        print(f"matmul peak: float32 {peaks['float32']:.0f} GFLOP/s, bf16 {peaks['bf16']:.0f} GFLOP/s; "
              f"{params / 1e6:.1f}M parameters, 4·N = {4 * params / 1e9:.2f} GFLOP per real token")
    print(f"{'system':<12} {'real tok/s':>10} {'speed-up':>9} {'step s':>8} {'CPU ms/tok':>10} {'CPU speed-up':>12} "
          f"{'step-1 Δloss':>13} {'mean loss':>10} {'MFU':>6} {'load':>5}")
    for r in results:
        # Step 1 sees identical weights and data, so its loss isolates numerical differences; later steps also
        # carry the optimizer's amplification of them.
        r["step1_rel_loss_diff"] = abs(r["losses"][0] - base["losses"][0]) / base["losses"][0]
        r["mean_loss"] = statistics.mean(r["losses"])
        r["speedup"] = r["real_tokens_per_s"] / base["real_tokens_per_s"]
        r["cpu_speedup"] = base["cpu_s_per_real_token"] / r["cpu_s_per_real_token"]
        peak = peaks.get("bf16" if r["system"] == "honed_bf16" else "float32")
        r["mfu"] = 4 * params * r["real_tokens_per_s"] / (peak * 1e9) if peak else None
        print(f"{r['system']:<12} {r['real_tokens_per_s']:>10.0f} {r['speedup']:>8.2f}x {r['median_step_s']:>8.2f} "
              f"{r['cpu_s_per_real_token'] * 1000:>10.2f} {r['cpu_speedup']:>11.2f}x "
              f"{r['step1_rel_loss_diff'] * 100:>12.2f}% {r['mean_loss']:>10.3f} "
              + (f"{r['mfu'] * 100:>5.1f}%" if r["mfu"] is not None else "     -") + f" {r['load_average']:>5.1f}")
    import resource

    from honed.core.config import validate_config
    from honed.models.memory import base_for_reference, estimate_cpu

    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    cfg = validate_config({"model": {"base": args.model}, "method": {"r": 16, "alpha": 32, "dropout": 0.0},
                           "train": {"batch_size": args.batch}})
    planned = estimate_cpu(base_for_reference(args.model), cfg,
                           mean_tokens=statistics.mean(len(r["input_ids"]) for r in rows), packed=False)
    print(f"process peak RSS {peak_rss:.2f} GB (the largest system, padded hf_peft); honed plan CPU estimate for "
          f"the padded path on these rows: {planned['peak_gb']:.2f} GB")
    if args.json:
        args.json.write_text(json.dumps({"peak_rss_gb": peak_rss, "planned_padded_gb": planned["peak_gb"],
                                         "peaks_gflops": peaks, "params": params, "load_average_start": load_start,
                                         "load_average_end": os.getloadavg()[0], "systems": results}, indent=2))


if __name__ == "__main__":
    main()
