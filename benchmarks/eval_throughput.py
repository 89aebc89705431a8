"""Evaluation throughput on a 15-label task: label scoring before (one prompt pass + one label pass per example)
vs every label in full (one forward per batch over a label trie, `label_scores`) vs the exact best-first search
that `score_labels` uses (`best_labels`), and greedy decoding, with model-FLOPs utilisation.

    python benchmarks/eval_throughput.py [--examples 45] [--few-shot 12] [--threads 1] [--no-greedy] [--json F]

Each candidate is timed in wall seconds AND in process CPU seconds (user + system of this process, side by side
in one process), with the load average beside it: on a shared machine the CPU-seconds ratio is the fair one.

Data: the first 15 intents of Banking77 (../shared/datasets/banking77, or --data DIR), test rows in file order,
the embedded SmolLM2-135M-Instruct, zero-shot and k-shot prompts (k training rows, one per intent in turn).
Checks that both label-scoring implementations pick the same labels and agree on scores (float32, 1e-3).
MFU: 2 × non-embedding parameters × tokens the model ran, over benchmarks/cpu_roofline.py's float32 peak.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))


def banking15(data: Path, n_test: int, k: int):
    labels = json.loads((data / "categories.json").read_text())[:15]

    def rows(name):
        with (data / name).open() as f:
            return [(r["text"], r["category"]) for r in csv.DictReader(f) if r["category"] in labels]

    train, test = rows("train.csv"), rows("test.csv")
    step = max(len(test) // n_test, 1)
    test = test[::step][:n_test]
    demos, seen = [], set()
    for text, label in train:
        if label not in seen and len(demos) < k:
            demos.append((text, label))
            seen.add(label)
    return labels, test, demos


def prompts(labels, test, demos):
    system = {"role": "system", "content": "Classify the banking customer's message into one intent. Intents: "
              + ", ".join(labels) + ". Answer with the intent name only."}
    shots = [m for text, label in demos for m in ({"role": "user", "content": text},
                                                  {"role": "assistant", "content": label})]
    return [[system, *shots, {"role": "user", "content": text}] for text, _ in test]


def before_scores(model, tokenizer, conversations, labels):
    """honed's label scoring before this change: per example, the prompt over the prefix cache, then all labels
    as a padded batch over the repeated prompt cache (kept here verbatim as the baseline)."""
    import torch

    from honed.core.chat import render_prompt
    from honed.evaluate.generate import MIN_SHARED_PREFIX, PrefixCache, _end_of_turn, shared_prefix

    label_ids = [tokenizer(label, add_special_tokens=False)["input_ids"] for label in labels]
    end_ids = tokenizer(_end_of_turn(tokenizer), add_special_tokens=False)["input_ids"]
    label_ids = [ids + end_ids for ids in label_ids]
    width = max(len(ids) for ids in label_ids)
    pad = tokenizer.pad_token_id
    padded = torch.tensor([ids + [pad] * (width - len(ids)) for ids in label_ids])
    valid = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids in label_ids])
    token_lists = [tokenizer(render_prompt(tokenizer, c), add_special_tokens=False)["input_ids"] for c in conversations]
    prefix_ids = shared_prefix(token_lists)
    prefix = PrefixCache(model, prefix_ids) if len(prefix_ids) >= MIN_SHARED_PREFIX else None
    out = []
    with torch.inference_mode():
        for ids in token_lists:
            n = padded.shape[0]
            if prefix is not None:
                o = model(input_ids=torch.tensor([ids[len(prefix.ids):]]), past_key_values=prefix.fresh(),
                          use_cache=True)
            else:
                o = model(input_ids=torch.tensor([ids]), use_cache=True)
            cache = o.past_key_values
            cache.batch_repeat_interleave(n)
            first = torch.log_softmax(o.logits[0, -1].float(), -1)[padded[:, 0]]
            attention = torch.ones(n, len(ids) + padded.shape[1], dtype=torch.long)
            rest = model(input_ids=padded, past_key_values=cache, attention_mask=attention).logits.float()
            logp = torch.log_softmax(rest[:, :-1], -1).gather(-1, padded[:, 1:, None]).squeeze(-1)
            out.append(first + (logp * valid[:, 1:]).sum(-1))
    return torch.stack(out)


def tokens_run_now(tokenizer, conversations, labels) -> int:
    """Tokens the new path runs: the shared prefix once, then each example's own tokens and the label trie."""
    from honed.core.chat import render_prompt
    from honed.evaluate.generate import MIN_SHARED_PREFIX, LabelTrie, _end_of_turn, shared_prefix

    ids = [tokenizer(render_prompt(tokenizer, c), add_special_tokens=False)["input_ids"] for c in conversations]
    prefix = shared_prefix(ids)
    skip = len(prefix) if len(prefix) >= MIN_SHARED_PREFIX else 0
    end = tokenizer(_end_of_turn(tokenizer), add_special_tokens=False)["input_ids"]
    trie = LabelTrie([tokenizer(label, add_special_tokens=False)["input_ids"] + end for label in labels])
    return skip + sum(len(i) - skip + trie.size for i in ids)


def measured(run):
    """(result, {wall_s, cpu_s, load}) of one call: wall clock and this process's user + system CPU time."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    return result, {"wall_s": round(time.perf_counter() - wall, 2), "cpu_s": round(time.process_time() - cpu, 2),
                    "load_average": round(os.getloadavg()[0], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets" / "banking77")
    parser.add_argument("--examples", type=int, default=45)
    parser.add_argument("--few-shot", type=int, default=12)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--threads", type=int, help="torch threads (1 keeps CPU time free of OpenMP spinning)")
    parser.add_argument("--no-greedy", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    from cpu_roofline import matmul_peak

    from honed.evaluate.generate import generate_all, label_scores
    from honed.evaluate.label_search import best_labels
    from honed.models.load import load_model

    model, tokenizer = load_model(args.model)
    model.eval()
    labels, test, demos = banking15(args.data, args.examples, args.few_shot)
    body_params = sum(p.numel() for p in model.parameters()) - model.get_input_embeddings().weight.numel()
    peak = matmul_peak("float32")
    results = {"model": args.model, "examples": len(test), "labels": len(labels), "batch": args.batch,
               "threads": torch.get_num_threads(), "float32_peak_gflops": round(peak, 1),
               "date": time.strftime("%Y-%m-%d %H:%M"), "load_average_start": os.getloadavg()[0]}
    for setting, shots in (("zero_shot", []), ("few_shot", demos)):
        conversations = prompts(labels, test, shots)
        timed, outputs = {}, {}
        runs = {"before": lambda: before_scores(model, tokenizer, conversations, labels),
                "full": lambda: label_scores(model, tokenizer, conversations, labels, batch_size=args.batch),
                "search": lambda: best_labels(model, tokenizer, conversations, labels, batch_size=args.batch)}
        if not args.no_greedy:
            runs["greedy"] = lambda: generate_all(model, tokenizer, conversations, max_new_tokens=8, batch_size=16,
                                                  description="greedy")
        for name, run in runs.items():
            outputs[name], timed[name] = measured(run)
            print(setting, name, json.dumps(timed[name]), flush=True)
        old, full, (winners, best) = outputs["before"], outputs["full"], outputs["search"]
        tokens = tokens_run_now(tokenizer, conversations, labels)
        accuracy = {"label_scoring": sum(labels[i] == gold for i, (_, gold) in zip(winners, test)) / len(test)}
        if "greedy" in outputs:
            accuracy["greedy"] = sum(o.strip() == gold for o, (_, gold) in zip(outputs["greedy"], test)) / len(test)
        results[setting] = {
            "timings": timed,
            "examples_per_cpu_s": {k: round(len(test) / v["cpu_s"], 3) for k, v in timed.items()},
            "examples_per_wall_s": {k: round(len(test) / v["wall_s"], 3) for k, v in timed.items()},
            "speedup_cpu": {k: round(timed["before"]["cpu_s"] / timed[k]["cpu_s"], 2) for k in ("full", "search")},
            "speedup_wall": {k: round(timed["before"]["wall_s"] / timed[k]["wall_s"], 2) for k in ("full", "search")},
            "same_labels_full": bool((old.argmax(-1) == full.argmax(-1)).all()),
            "same_labels_search": old.argmax(-1).tolist() == winners,
            "max_score_diff_full": float((old - full).abs().max()),
            "max_winner_score_diff_search": float((old.max(-1).values - torch.tensor(best)).abs().max()),
            "mfu_full_wall": round(2 * body_params * tokens / timed["full"]["wall_s"] / (peak * 1e9), 4),
            "accuracy": accuracy}
        print(setting, json.dumps(results[setting]), flush=True)
    results["load_average_end"] = os.getloadavg()[0]
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
