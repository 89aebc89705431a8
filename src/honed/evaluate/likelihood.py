"""Evaluation of the tasks that are not answered by generation: preference pairs, KTO examples and raw text.

The base model and the fine-tune are scored on the same test rows by log-likelihood:
- preference pairs: preference accuracy (share of pairs where log p(chosen) > log p(rejected)) and the mean
  log-probability margin; for the fine-tune also DPO's implicit reward, β·[(log π(c) − log π_ref(c)) −
  (log π(r) − log π_ref(r))] with the base model as reference: its mean (reward margin) and the share of pairs
  where it is positive (reward accuracy);
- KTO examples: mean log-probability per completion token of desirable and of undesirable completions, and
  their gap (desirable − undesirable);
- raw text: perplexity (exp of the mean negative log-likelihood per token).

Every metric is a function of per-example sums, so a percentile bootstrap over test rows is a matrix product
(as in honed.evaluate.stats) and fine-tune − base deltas use the same resamples for both (paired).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from honed.core.records import KTOExample, PreferencePair, Text, as_record

LOWER_IS_BETTER = {"perplexity"}
PRIMARY = {"preference": "preference_accuracy", "kto": "likelihood_gap", "text": "perplexity"}


@dataclass
class LikelihoodScores:
    """Per-example log-likelihood figures of one model on the test rows (columns depend on the kind)."""

    name: str
    kind: str
    columns: dict[str, list[float]] = field(default_factory=dict)


def score_model(name: str, model, tokenizer, test: list, max_length: int) -> LikelihoodScores:
    """Score every test row with `model` (eval mode, no gradients)."""
    records = [as_record(r) for r in test]
    kind = records[0].kind if records else "text"
    if kind == "preference":
        columns = _preference_columns(model, tokenizer, [r for r in records if isinstance(r, PreferencePair)])
    elif kind == "kto":
        columns = _kto_columns(model, tokenizer, records)
    else:
        columns = _text_columns(model, tokenizer, [r for r in records if isinstance(r, Text)], max_length)
    return LikelihoodScores(name, kind, columns)


def _preference_columns(model, tokenizer, pairs: list[PreferencePair]) -> dict[str, list[float]]:
    from honed.train.preference import completion_logprob

    model.eval()
    return {"chosen": [completion_logprob(model, tokenizer, p.prompt, p.chosen) for p in pairs],
            "rejected": [completion_logprob(model, tokenizer, p.prompt, p.rejected) for p in pairs]}


def _kto_columns(model, tokenizer, records: list) -> dict[str, list[float]]:
    from honed.train.preference import kto_logprobs

    scored = kto_logprobs(model, tokenizer, [r for r in records if isinstance(r, KTOExample)])
    return {"desirable": [float(label) for label, _ in scored], "logp_per_token": [v for _, v in scored]}


def _text_columns(model, tokenizer, texts: list[Text], max_length: int) -> dict[str, list[float]]:
    from honed.evaluate.perplexity import text_nll

    sums = [text_nll(model, tokenizer, t.text, max_length) for t in texts]
    return {"nll": [s for s, _ in sums], "tokens": [float(n) for _, n in sums]}


def metric_functions(kind: str, scores: dict[str, LikelihoodScores], name: str, beta: float) -> dict:
    """{metric: f(W)} for candidate `name`, W a B × n matrix of example weights, f returning B values."""
    c = {k: np.asarray(v, dtype=float) for k, v in scores[name].columns.items()}

    def mean(x):
        return lambda w: (w @ x) / w.sum(axis=1)

    if kind == "preference":
        margin = c["chosen"] - c["rejected"]
        out = {"preference_accuracy": mean((margin > 0).astype(float)), "logprob_margin": mean(margin)}
        if name != "base" and "base" in scores:
            ref = {k: np.asarray(v, dtype=float) for k, v in scores["base"].columns.items()}
            reward = beta * ((c["chosen"] - ref["chosen"]) - (c["rejected"] - ref["rejected"]))
            out.update(reward_margin=mean(reward), reward_accuracy=mean((reward > 0).astype(float)))
        return out
    if kind == "kto":
        good, value = c["desirable"], c["logp_per_token"]

        def group(mask):
            return lambda w: (w @ (value * mask)) / np.maximum(w @ mask, 1e-12)
        return {"desirable_logprob": group(good), "undesirable_logprob": group(1 - good),
                "likelihood_gap": lambda w: group(good)(w) - group(1 - good)(w)}
    return {"perplexity": lambda w: np.exp((w @ c["nll"]) / np.maximum(w @ c["tokens"], 1e-12))}


def likelihood_section(kind: str, scores: dict[str, LikelihoodScores], beta: float, samples: int, seed: int,
                       level: float) -> dict:
    """Candidates' metrics, bootstrap CIs, and the paired fine_tuned − base comparison."""
    from honed.evaluate.stats import percentile_interval, resample_weights

    n = len(next(iter(next(iter(scores.values())).columns.values()), []))
    if n == 0:
        return {"candidates": {name: {} for name in scores}, "confidence_intervals": {}, "comparisons": {}}
    weights, point = resample_weights(n, samples, seed), np.ones((1, n))
    functions = {name: metric_functions(kind, scores, name, beta) for name in scores}
    candidates = {name: {m: float(f(point)[0]) for m, f in fs.items()} for name, fs in functions.items()}
    intervals = {name: {m: percentile_interval(f(weights), level) for m, f in fs.items()}
                 for name, fs in functions.items()}
    comparisons = {}
    if "fine_tuned" in functions and "base" in functions:
        shared = set(functions["fine_tuned"]) & set(functions["base"])
        comparisons["fine_tuned_vs_base"] = {m: _paired(functions["fine_tuned"][m], functions["base"][m], point,
                                                        weights, level) for m in sorted(shared)}
    return {"candidates": candidates, "confidence_intervals": intervals, "comparisons": comparisons}


def _paired(tuned, base, point, weights, level: float) -> dict:
    from honed.evaluate.stats import percentile_interval

    deltas = tuned(weights) - base(weights)
    # Two-sided bootstrap p-value: how often the resampled delta falls on the other side of zero.
    p = min(1.0, 2 * min(float(np.mean(deltas <= 0)), float(np.mean(deltas >= 0))))
    return {"delta": float(tuned(point)[0] - base(point)[0]), "ci": percentile_interval(deltas, level),
            "p_value": p}


def build_likelihood_report(cfg, data, test: list, scores: dict[str, LikelihoodScores], training: dict,
                            timings: dict) -> dict:
    """report.json for preference, KTO and text data (same top-level contract as the generation report)."""
    kind = next(iter(scores.values())).kind
    ev = cfg.evaluation
    metric = PRIMARY[kind]
    section = likelihood_section(kind, scores, cfg.train.beta, ev.bootstrap_samples, cfg.train.seed,
                                 ev.confidence_level)
    report = {
        "project": cfg.project, "task": kind, "primary_metric": metric,
        "lower_is_better": sorted(LOWER_IS_BETTER & set(section["candidates"].get("base", {}))),
        **section, "n_test": len(test), "dataset_hash": data.dataset_hash, "data_counts": data.counts,
        "base_model": cfg.model.base, "method": cfg.method.model_dump(mode="json"), "training": training or {},
        "timings": timings, "gate": {"tolerance": ev.gate_tolerance}, "notes": [_note(kind)],
        "statistics": {"method": "percentile bootstrap over test rows; paired bootstrap for fine_tuned − base",
                       "samples": ev.bootstrap_samples, "level": ev.confidence_level, "seed": cfg.train.seed},
        "details": {name: {"decoding": "log-likelihood"} for name in scores},
    }
    report["objective"] = improvement_status(report, metric)
    return report


def improvement_status(report: dict, metric: str) -> dict:
    """These tasks have no absolute target: the objective is that the fine-tune beats the base model."""
    values = {n: c[metric] for n, c in report["candidates"].items() if metric in c}
    lower = metric in LOWER_IS_BETTER
    best = (min if lower else max)(values, key=values.get) if values else None
    base, tuned = values.get("base"), values.get("fine_tuned")
    passed = base is not None and tuned is not None and (tuned < base if lower else tuned > base)
    return {"metric": metric, "target": float(base) if base is not None and not lower else 0.0,
            "best_candidate": best, "value": values.get(best), "passed": bool(passed),
            "rule": f"fine_tuned {'below' if lower else 'above'} base", "fine_tuned_passed": bool(passed)}


def _note(kind: str) -> str:
    return {"preference": "preference data: scored by log-likelihood (no generation); reward_* is DPO's implicit "
                          "reward with the base model as reference",
            "kto": "KTO data: mean log-probability per completion token of desirable vs undesirable completions",
            "text": "text data: perplexity per token (lower is better)"}[kind]


def prediction_rows(test: list, scores: dict[str, LikelihoodScores]) -> list[dict]:
    """One predictions.jsonl row per test row and candidate: that row's log-likelihood figures."""
    rows = []
    for name, s in scores.items():
        for i in range(len(test)):
            rows.append({"index": i, "candidate": name, **{k: v[i] for k, v in s.columns.items()}})
    return rows
