"""Zero-shot, few-shot, classical and the default fine-tune on public intent and spam data (issue 15).

For each dataset found under ../shared/datasets (banking77, sms_spam; a missing one is skipped with a message) this
writes a small honed project (train file + a fixed test file), runs `honed run`'s service (`runs.run_whole_flow`)
with the embedded model and the default recipe (no hand-set learning rate or epochs; `--max-steps` caps the
training so a run fits in minutes on a CPU), and prints each candidate's primary metric with its bootstrap CI,
wall time and cost per 1,000 requests, plus the report's verdict.

    python benchmarks/recipes.py --max-train 400 --max-test 100 --max-steps 40 --intents 10
    python benchmarks/recipes.py --classical-only          # TF-IDF + SVM on the full banking77 split

`--classical-only` fits the classical baseline alone on the full data (seconds, no model) and reports its CI.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets"
sys.path.insert(0, str(ROOT / "src"))


def banking77(intents: int | None) -> tuple[list[dict], list[dict]] | None:
    folder = SHARED / "banking77"
    if not (folder / "train.csv").is_file():
        return None

    def read(name: str) -> list[dict]:
        with open(folder / name, newline="", encoding="utf-8") as handle:
            return [{"text": r["text"], "label": r["category"]} for r in csv.DictReader(handle)]

    train, test = read("train.csv"), read("test.csv")
    if intents:
        kept = set(sorted({r["label"] for r in train})[:intents])  # the first N intents alphabetically
        train, test = [r for r in train if r["label"] in kept], [r for r in test if r["label"] in kept]
    return train, test


def sms_spam() -> tuple[list[dict], list[dict]] | None:
    file = SHARED / "sms_spam" / "SMSSpamCollection"
    if not file.is_file():
        return None
    rows = []
    for line in file.read_text(encoding="utf-8").splitlines():
        label, _, text = line.partition("\t")
        if text.strip():
            rows.append({"text": text, "label": label})
    return rows[:-1000], rows[-1000:]  # the last 1,000 lines are the test set (SOURCE.md's suggestion)


def stratified(rows: list[dict], n: int | None, seed: int = 0) -> list[dict]:
    """A seeded sample of n rows keeping label shares (every label keeps at least one row)."""
    if not n or n >= len(rows):
        return rows
    rng = random.Random(seed)
    by_label: dict[str, list[dict]] = {}
    for row in rows:
        by_label.setdefault(row["label"], []).append(row)
    chosen = []
    for group in by_label.values():
        chosen += rng.sample(group, max(1, round(n * len(group) / len(rows))))
    rng.shuffle(chosen)
    return chosen[:n]


SETTINGS = {
    "banking77": {"metric": "accuracy", "max_new_tokens": 12, "instruction": "Classify the online-banking customer query into its intent. "
                  "Answer with the intent name only. Intents: {labels}."},
    "sms_spam": {"metric": "f1_macro", "max_new_tokens": 3, "instruction": "Is this SMS message spam or ham (not spam)? Answer with "
                 "spam or ham only."},
}


def write_project(folder: Path, name: str, train: list[dict], test: list[dict], args) -> Path:
    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    for file, rows in (("train.jsonl", train), ("test.jsonl", test)):
        (folder / file).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    labels = sorted({r["label"] for r in train + test})
    setting = SETTINGS[name]
    config = {
        "project": f"bench-{name}",
        "objective": {"task": "classification", "metric": setting["metric"], "target": 0.9, "labels": labels},
        "data": {"train": ["train.jsonl"], "test": "test.jsonl", "redact_pii": False, "near_dedup": False,
                 "instruction": setting["instruction"].format(labels=", ".join(labels)),
                 "split": {"train": 0.85, "validation": 0.05, "test": 0.10}},
        "model": {"base": args.model, "max_length": 256},
        "train": {"max_steps": args.max_steps} if args.max_steps else {},
        "evaluation": {"probes": False, "perplexity": False, "latency_samples": 2, "max_new_tokens":
                       args.max_new_tokens or setting["max_new_tokens"],
                       "bootstrap_samples": 1000},
    }
    if args.fine_tune_only:  # recipe ablations: the same test rows, only the fine-tune evaluated
        config["evaluation"].update(baselines=[], latency_samples=0, max_new_tokens=4)
    for item in args.set or []:  # e.g. --set balance_labels=false learning_rate=4e-4
        key, _, value = item.partition("=")
        config["train"][key] = yaml.safe_load(value)
    for item in args.method or []:  # e.g. --method r=4 alpha=8 (the rate-by-rank ablation)
        key, _, value = item.partition("=")
        config.setdefault("method", {})[key] = yaml.safe_load(value)
    (folder / "honed.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return folder / "honed.yaml"


def run_dataset(name: str, train: list[dict], test: list[dict], args) -> dict:
    from honed.core.config import load_config
    from honed.runs import run_whole_flow

    folder = Path(args.output) / f"{name}{args.tag}"
    config = write_project(folder, name, stratified(train, args.max_train), stratified(test, args.max_test), args)
    cfg = load_config(config)
    started = time.perf_counter()
    report = json.loads(run_whole_flow(cfg, folder / "out").read_text(encoding="utf-8"))
    return summarise(name, report, time.perf_counter() - started)


def summarise(name: str, report: dict, seconds: float) -> dict:
    """Per candidate: accuracy and macro-F1 with CIs, wall and CPU seconds (evaluation, plus training for the
    fine-tune and fitting for the classical model), cost per 1,000 requests; and the report's one verdict."""
    rows = {}
    for candidate, values in report["candidates"].items():
        eff = report["efficiency"]["candidates"].get(candidate, {})
        details, cis = report["details"][candidate], report["confidence_intervals"][candidate]
        train_cpu = report["timings"].get("train_s_cpu", 0.0) if candidate == "fine_tuned" else 0.0
        rows[candidate] = {"accuracy": values["accuracy"], "accuracy_ci": cis["accuracy"],
                           "f1_macro": values["f1_macro"], "f1_macro_ci": cis["f1_macro"],
                           "by_decoding": details["by_decoding"], "decoding": details["decoding"],
                           "wall_seconds": round(details["seconds"] + eff.get("train_seconds", 0.0), 1),
                           "cpu_seconds": round(details.get("cpu_seconds", 0.0) + train_cpu, 1),
                           "eval_seconds": round(details["seconds"], 1), "train_seconds": eff.get("train_seconds"),
                           "cost_per_1000_self_hosted": eff.get("cost_per_1000_requests_self_hosted")}
    verdict = {**report["verdict"], "names_true_winner": names_true_winner(report)}
    return {"dataset": name, "metric": report["primary_metric"], "n_test": report["n_test"],
            "counts": report["data_counts"], "candidates": rows, "verdict": verdict,
            "recipe": report.get("recipe"), "timings": report["timings"], "total_seconds": round(seconds, 1),
            "load_average": os.getloadavg()}


def names_true_winner(report: dict) -> bool | None:
    """Checked here from the scores and the paired tests, not from the verdict's own reasoning: the true winner
    is the best scorer when its paired test against the runner-up on the other side (fine-tuned vs not) is
    significant at 95% (p < 0.05 and CI excluding 0), else there is no significant winner."""
    metric, candidates = report["primary_metric"], report["candidates"]
    if not any(n.startswith("fine_tuned") for n in candidates) or all(n.startswith("fine_tuned") for n in candidates):
        return None  # one side only (an ablation without baselines): nothing to win
    tuned = max((n for n in candidates if n.startswith("fine_tuned")), key=lambda n: candidates[n][metric])
    other = max((n for n in candidates if not n.startswith("fine_tuned")), key=lambda n: candidates[n][metric])
    test = report["comparisons"][f"{tuned}_vs_{other}"][metric]
    significant = test["p_value"] < 0.05 and not test["ci"][0] <= 0 <= test["ci"][1]
    verdict = report["verdict"]
    if not significant:
        return verdict["outcome"] == "no_significant_difference"
    truth = tuned if test["delta"] > 0 else other
    return verdict["winner"] == truth and verdict["outcome"] != "no_significant_difference"


def classical_only(name: str, train: list[dict], test: list[dict]) -> dict:
    """The classical baseline alone on the full splits: accuracy, macro-F1 and their bootstrap CIs."""
    from honed.evaluate.classical import fit_and_predict
    from honed.evaluate.metrics import task_metrics
    from honed.evaluate.stats import confidence_intervals, statistics

    labels = sorted({r["label"] for r in train + test})
    fit = fit_and_predict("classification", [r["text"] for r in train], [r["label"] for r in train],
                          [r["text"] for r in test])
    predictions, references = fit.predictions["tfidf_svm"], [r["label"] for r in test]
    metrics = task_metrics("classification", references, predictions, labels)
    cis = confidence_intervals(statistics("classification", references, predictions, labels), 1000, 13)
    return {"dataset": name, "n_train": len(train), "n_test": len(test), "accuracy": metrics["accuracy"],
            "accuracy_ci": cis["accuracy"], "f1_macro": metrics["f1_macro"], "f1_macro_ci": cis["f1_macro"],
            "train_seconds": round(fit.train_seconds, 2), "predict_seconds": round(fit.predict_seconds, 3)}


def print_summary(result: dict) -> None:
    print(f"\n== {result['dataset']}: {result['n_test']} test rows (data {result['counts']}), "
          f"{result['total_seconds']} s in all, load average {result['load_average']}")
    print(f"{'candidate':<11} {'accuracy':>8}  {'95% CI':<16} {'macro-F1':>8}  {'95% CI':<16} {'decoding':<14} "
          f"{'wall s':>8} {'CPU s':>8} {'$/1k req':>10}")
    for name, row in result["candidates"].items():
        cost = row["cost_per_1000_self_hosted"]
        print(f"{name:<11} {row['accuracy']:>8.3f}  [{row['accuracy_ci'][0]:.3f}, {row['accuracy_ci'][1]:.3f}]   "
              f"{row['f1_macro']:>8.3f}  [{row['f1_macro_ci'][0]:.3f}, {row['f1_macro_ci'][1]:.3f}]   "
              f"{row['decoding']:<14} {row['wall_seconds']:>8.1f} {row['cpu_seconds']:>8.1f} "
              f"{'' if cost is None else f'{cost:.6f}':>10}")
    verdict = result["verdict"]
    print(f"verdict ({verdict['outcome']}, winner {verdict['winner']}, names the true winner: "
          f"{verdict['names_true_winner']}): {verdict['text']}")
    for key, choice in (result.get("recipe") or {}).items():
        print(f"recipe {key} = {choice['value']}: {choice['why']}")


def markdown_table(result: dict) -> str:
    """The result as the markdown table docs/recipes.md and RESULTS.md carry (re-printable with --from-json)."""
    lines = ["| candidate | decoding | accuracy (95% CI) | macro-F1 (95% CI) | wall s | CPU s | $ / 1k requests |",
             "|---|---|---|---|---|---|---|"]
    for name, row in result["candidates"].items():
        cost = row["cost_per_1000_self_hosted"]
        (alo, ahi), (flo, fhi) = row["accuracy_ci"], row["f1_macro_ci"]
        lines.append(f"| {name} | {row['decoding']} | {row['accuracy']:.3f} [{alo:.3f}, {ahi:.3f}] | "
                     f"{row['f1_macro']:.3f} [{flo:.3f}, {fhi:.3f}] | {row['wall_seconds']:.1f} | "
                     f"{row['cpu_seconds']:.1f} | {'' if cost is None else f'{cost:.6f}'} |")
    verdict = result["verdict"]
    lines.append(f"\nVerdict ({verdict['outcome']}; names the true winner: "
                 f"{ {True: 'yes', False: 'NO', None: 'n/a'}[verdict['names_true_winner']] }): {verdict['text']}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["banking77", "sms_spam"], choices=["banking77", "sms_spam"])
    parser.add_argument("--max-train", type=int, default=None, help="stratified sample of the training rows")
    parser.add_argument("--max-test", type=int, default=None, help="stratified sample of the test rows")
    parser.add_argument("--max-steps", type=int, default=None, help="cap on optimizer steps (else the recipe's)")
    parser.add_argument("--intents", type=int, default=None, help="banking77: keep the first N intents only")
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--max-new-tokens", type=int, default=None,
                        help="greedy answer length (default: 3 for spam/ham, 12 for the intent names)")
    parser.add_argument("--output", default="/tmp/honed-bench-recipes")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--classical-only", action="store_true", help="only the classical baseline, full data")
    parser.add_argument("--fine-tune-only", action="store_true", help="recipe ablations: no baselines")
    parser.add_argument("--set", nargs="*", metavar="KEY=VALUE", help="train.* keys for an ablation, e.g. "
                        "balance_labels=false")
    parser.add_argument("--method", nargs="*", metavar="KEY=VALUE", help="method.* keys, e.g. r=4 alpha=8")
    parser.add_argument("--tag", default="", help="suffix of the project folder (to keep ablations apart)")
    parser.add_argument("--from-json", help="print the markdown tables of a saved --json file and stop")
    args = parser.parse_args()
    if args.from_json:
        for result in json.loads(Path(args.from_json).read_text(encoding="utf-8"))["results"]:
            print(f"\n{result['dataset']} (load average at the end {result['load_average']})\n")
            print(markdown_table(result))
        return 0
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    loaders = {"banking77": lambda: banking77(args.intents), "sms_spam": sms_spam}
    results = []
    for name in args.datasets:
        found = loaders[name]()
        if found is None:
            print(f"skipped {name}: not found under {SHARED}")
            continue
        train, test = found
        if args.classical_only:
            results.append(classical_only(name, train, test))
            print(json.dumps(results[-1]))
            continue
        results.append(run_dataset(name, train, test, args))
        print_summary(results[-1])
        write_json(args, results)  # after each dataset, so a long run's finished part is kept
    write_json(args, results)
    return 0


def write_json(args, results: list[dict]) -> None:
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "load_average": os.getloadavg(),
                                               "results": results}, indent=2), encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
