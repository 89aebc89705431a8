"""Short DPO run on Anthropic HH-RLHF (harmless-base) with the embedded SmolLM2-135M-Instruct: preference
accuracy and chosen-minus-rejected log-probability margin before and after, on the training pairs and on
held-out pairs.

    python benchmarks/dpo_hh.py [--train 64] [--heldout 64] [--steps 40] [--out benchmarks/dpo_hh.json]

Reads ../shared/datasets/hh_rlhf_harmless/*.jsonl.gz (skips with a message when absent). CPU is enough.
"""
from __future__ import annotations

import argparse
import gzip
import json
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "datasets" / "hh_rlhf_harmless"


def read_pairs(limit: int, seed: int = 0) -> list[dict]:
    from honed.data.formats import RowError, to_record

    files = sorted(DATA.glob("*.jsonl.gz"))
    rows = []
    for file in files:
        with gzip.open(file, "rt", encoding="utf-8") as f:
            for line in f:
                try:
                    record = to_record(json.loads(line), "preference")
                except RowError:
                    continue
                if len(record["chosen"]) < 400 and len(record["rejected"]) < 400 and record["chosen"] != \
                        record["rejected"] and sum(len(m["content"]) for m in record["prompt"]) < 600:
                    rows.append(record)
    random.Random(seed).shuffle(rows)
    return rows[:limit]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=64)
    parser.add_argument("--heldout", type=int, default=64)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "dpo_hh.json"))
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"skipped: {DATA} is absent")
        return 0
    from honed.core.config import validate_config
    from honed.core.rundir import RunDir
    from honed.models.load import load_model
    from honed.train.preference import preference_scores
    from honed.train.sft import train_sft

    pairs = read_pairs(args.train + args.heldout)
    train, heldout = pairs[: args.train], pairs[args.train:]
    cfg = validate_config({"project": "dpo-hh", "model": {"base": "smollm2-135m-instruct", "max_length": 384},
                           "method": {"kind": "lora", "r": 16, "alpha": 32, "dropout": 0.0},
                           "train": {"objective": "dpo", "beta": 0.1, "max_steps": args.steps, "batch_size": 4,
                                     "learning_rate": args.lr, "seed": 0}})
    model, tokenizer = load_model(cfg.model.base, seed=0)
    before = {"train": preference_scores(model, tokenizer, train), "heldout": preference_scores(model, tokenizer,
                                                                                                 heldout)}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        result = train_sft(cfg, model, tokenizer, train, [], RunDir.create(Path(tmp), "train", cfg))
    seconds = time.perf_counter() - started
    after = {"train": preference_scores(result.model, tokenizer, train),
             "heldout": preference_scores(result.model, tokenizer, heldout)}
    report = {"model": cfg.model.base, "pairs": {"train": len(train), "heldout": len(heldout)},
              "steps": args.steps, "batch_size": 4, "learning_rate": args.lr, "beta": 0.1, "train_seconds": seconds,
              "before": before, "after": after, "machine": f"{platform.machine()} CPU, {platform.system()}",
              "python": sys.version.split()[0]}
    Path(args.out).write_text(json.dumps(report, indent=2), encoding="utf-8")
    for split in ("train", "heldout"):
        print(f"{split:8s} accuracy {before[split]['accuracy']:.3f} → {after[split]['accuracy']:.3f}   "
              f"margin {before[split]['margin']:+.3f} → {after[split]['margin']:+.3f}")
    print(f"{args.steps} DPO steps in {seconds:.0f} s; written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
