"""Peak resident memory of one CPU LoRA training run on dialogue-length rows, against `honed plan`'s CPU estimate.

    python benchmarks/cpu_memory.py --path packed|padded [--rows 8] [--tokens 300] [--steps 3] [--max-length 512]

Short rows for the tokens/s comparison: `--tokens 80`. CPU milliseconds per token (process time, all threads)
are printed beside wall tokens/s: on a shared machine they are the comparable figure.

Runs in its own process so the peak (resource.getrusage maxrss) belongs to this run only. Rows are synthetic
dialogues (~`--tokens` tokens each: a system prompt, a long user dialogue, a short summary as the answer).
`packed` = honed's CPU fast path (honed.train.fast); `padded` = transformers Trainer + PEFT with padded rows and
full-vocabulary logits (what the unpacked path costs).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

WORDS = ("alice asked whether the invoice was paid and bob said he would check the ledger before friday "
         "because the supplier had changed banks and nobody had updated the account details yet").split()


def dialogue_rows(tokenizer, n: int, tokens: int, seed: int = 0) -> list[dict]:
    import random

    from honed.core.chat import render_conversation

    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        text = ""
        while len(tokenizer(text)["input_ids"]) < tokens - 60:
            speaker = rng.choice(("Alice", "Bob"))
            text += f"{speaker}: {' '.join(rng.choices(WORDS, k=rng.randint(6, 14)))}.\n"
        messages = [{"role": "system", "content": "Summarise the dialogue in one sentence."},
                    {"role": "user", "content": text},
                    {"role": "assistant", "content": " ".join(rng.choices(WORDS, k=20)) + "."}]
        r = render_conversation(tokenizer, messages)
        rows.append({"input_ids": r.input_ids, "assistant_masks": r.assistant_mask})
    return rows


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # Linux reports KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--path", choices=("packed", "padded"), default="packed")
    parser.add_argument("--rows", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=300)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    import torch
    from datasets import Dataset
    from transformers import Trainer, TrainingArguments

    from honed.core.config import validate_config
    from honed.models import memory
    from honed.models.load import load_model

    model, tokenizer = load_model(args.model)
    loaded_gb = peak_rss_gb()
    rows = dialogue_rows(tokenizer, args.rows * args.steps, args.tokens)
    cfg = validate_config({"model": {"base": args.model, "max_length": args.max_length},
                           "method": {"r": 16, "alpha": 32, "dropout": 0.0},
                           "train": {"batch_size": args.rows}})
    common = dict(output_dir="/tmp/honed-bench-memory", max_steps=args.steps, per_device_train_batch_size=args.rows,
                  learning_rate=1e-4, report_to="none", save_strategy="no", use_cpu=True, disable_tqdm=True,
                  remove_unused_columns=False, logging_steps=1)
    started, cpu_started = time.perf_counter(), time.process_time()
    if args.path == "packed":  # as `honed train` does it on CPU: micro-batches of ≤ TOKENS_PER_FORWARD tokens
        from honed.train.fast import micro_batch, plain_trainer

        micro = micro_batch(args.rows, [len(r["input_ids"]) for r in rows])
        common.update(per_device_train_batch_size=micro, gradient_accumulation_steps=args.rows // micro)
        trainer = plain_trainer(cfg, model, TrainingArguments(**common), Dataset.from_list(rows), None, [])
    else:
        from peft import LoraConfig, get_peft_model
        from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

        lora = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules="all-linear", task_type="CAUSAL_LM")
        labelled = [{"input_ids": r["input_ids"],
                     "labels": [t if m else -100 for t, m in zip(r["input_ids"], r["assistant_masks"])]}
                    for r in rows]
        trainer = Trainer(model=get_peft_model(model, lora), args=TrainingArguments(**common),
                          train_dataset=Dataset.from_list(labelled),
                          data_collator=DataCollatorForLanguageModeling(pad_token_id=tokenizer.pad_token_id))
    trainer.train()
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    tokens = sum(len(r["input_ids"]) for r in rows)
    mean_len = tokens / len(rows)
    planned = {"peak_gb": None, "parts_gb": None}
    if hasattr(memory, "estimate_cpu"):
        planned = memory.estimate_cpu(memory.base_for_reference(args.model), cfg, mean_tokens=mean_len,
                                      packed=args.path == "packed")
    result = {"path": args.path, "rows_per_step": args.rows, "mean_row_tokens": round(mean_len, 1),
              "steps": args.steps, "threads": torch.get_num_threads(), "peak_rss_gb": round(peak_rss_gb(), 3),
              "after_load_gb": round(loaded_gb, 3), "tokens_per_s": round(tokens / seconds, 1),
              "cpu_ms_per_token": round(1000 * cpu_seconds / tokens, 2), "load_average": os.getloadavg(),
              "planned_gb": planned["peak_gb"], "planned_parts_gb": planned["parts_gb"],
              "measured_vs_planned": round(peak_rss_gb() / planned["peak_gb"], 3) if planned["peak_gb"] else None}
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
