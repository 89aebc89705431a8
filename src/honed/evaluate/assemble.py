"""Assemble report.json's content from the candidates' results, the data and the training run.

Besides each candidate's headline metrics the report holds their bootstrap confidence intervals, the fine-tuned
model's deltas against every baseline (paired bootstrap CI + approximate-randomisation p-value), the probes
(forgetting before vs after, counterfactual fairness), efficiency and cost, timings, and the worst errors side
by side for human review.
"""
from __future__ import annotations

from honed.core.config import Config
from honed.evaluate.candidates import prompt_of
from honed.evaluate.report import objective_status
from honed.evaluate.verdict import is_fine_tuned, verdict


def build_report(cfg: Config, data, test: list[dict], results: dict, training: dict, timings: dict,
                 retrieval: dict | None = None, extra: dict | None = None) -> dict:
    """`training` is TrainResult.figures() (or meta.json's `training` for a run evaluated later); `retrieval` the
    retrieval quality of the rag candidates; `extra` more top-level sections (e.g. the synthetic-data decision)."""
    from honed.evaluate.efficiency import efficiency_report

    report = {
        "project": cfg.project, "task": cfg.objective.task, "primary_metric": cfg.objective.metric,
        "objective": {"metric": cfg.objective.metric, "target": cfg.objective.target},
        "candidates": {name: _numbers(r.metrics) for name, r in results.items()},
        "details": {name: {"decoding": r.decoding, "api": r.is_api, "kind": r.kind,
                           "latency_ms_per_example": r.latency_ms, "seconds": r.seconds,
                           "cpu_seconds": round(r.cpu_seconds, 2),
                           "examples_per_second": r.examples_per_second.get("overall"),
                           "examples_per_second_by_decoding": r.examples_per_second,
                           "confusion": r.per_decoding[r.decoding].get("confusion"),
                           "per_class": r.per_decoding[r.decoding].get("per_class"),
                           "by_decoding": {d: _numbers(m) for d, m in r.per_decoding.items()}}
                    for name, r in results.items()},
        "n_test": len(test), "dataset_hash": data.dataset_hash, "data_counts": data.counts,
        "base_model": cfg.model.base, "method": cfg.method.model_dump(mode="json"),
        "training": training or {},
        "timings": timings,
        "gate": {"tolerance": cfg.evaluation.gate_tolerance},
        "notes": sorted({note for r in results.values() for note in r.notes}),
    }
    report.update(statistics_section(cfg, results, list(data.labels)))
    report["probes"] = probes_section(cfg, results)
    report["efficiency"] = efficiency_report(results, cfg, training)
    report["lengths"] = lengths_section(results)
    report["examples"] = worst_errors(test, results, prompt_of)
    if cfg.evaluation.judge_url:
        from honed.evaluate.judge import run_judge

        inputs = [prompt_of(r)[-1]["content"] for r in test]
        report["judge"] = run_judge(cfg, inputs, next(iter(results.values())).references, results)
    report["objective"] = objective_status(report)
    if retrieval is not None:
        report["retrieval"] = retrieval
    report.update(extra or {})
    report["verdict"] = verdict(report)  # the one verdict; report.html and the CLI caption read its text
    return report


def statistics_section(cfg: Config, results: dict, labels: list[str]) -> dict:
    """`confidence_intervals` per candidate and metric; `comparisons`: fine_tuned minus each baseline."""
    from honed.evaluate.stats import confidence_intervals, paired_comparison, statistics

    ev, task = cfg.evaluation, cfg.objective.task
    stats = {name: statistics(task, r.references, r.predictions, labels) for name, r in results.items()}
    seed = cfg.train.seed
    intervals = {name: confidence_intervals(s, ev.bootstrap_samples, seed, ev.confidence_level)
                 for name, s in stats.items()}
    comparisons = {}
    for tuned, other in compared_pairs(list(stats)):
        comparisons[f"{tuned}_vs_{other}"] = {
            metric: paired_comparison(stats[tuned], stats[other], metric, ev.bootstrap_samples, seed,
                                      ev.confidence_level)
            for metric in intervals[tuned]}
    return {"confidence_intervals": intervals, "comparisons": comparisons,
            "statistics": {"method": "percentile bootstrap over test examples; paired approximate randomisation "
                                     "test for deltas", "samples": ev.bootstrap_samples,
                           "level": ev.confidence_level, "seed": seed}}


def compared_pairs(names: list[str]) -> list[tuple[str, str]]:
    """fine_tuned against every other candidate; any other fine-tuned candidate (rag_fine_tuned) against every
    option without fine-tuning, so the verdict's pair (best fine-tuned vs best other) always has its paired test."""
    pairs = [("fine_tuned", n) for n in names if n != "fine_tuned"] if "fine_tuned" in names else []
    for tuned in (n for n in names if is_fine_tuned(n) and n != "fine_tuned"):
        pairs += [(tuned, n) for n in names if not is_fine_tuned(n)]
    return pairs


def probes_section(cfg: Config, results: dict) -> dict:
    found = {role: probe for r in results.values() for role, probe in r.probes.items()}
    if not found:
        return {"enabled": cfg.evaluation.probes}
    section: dict = {"enabled": True}
    if "base" in found and "fine_tuned" in found:
        from honed.evaluate.probes import compare_forgetting

        section["forgetting"] = compare_forgetting(found["base"]["general"], found["fine_tuned"]["general"],
                                                   cfg.evaluation.forgetting_threshold)
    section["fairness"] = {role: {"decoding": p["decoding"], **p["fairness"]} for role, p in found.items()}
    section["general"] = {role: p["general"] for role, p in found.items()}
    return section


def lengths_section(results: dict) -> dict:
    """Words per output (and per reference), for the length-distribution plot."""
    first = next(iter(results.values()))
    lengths = {"reference": [len(r.split()) for r in first.references]}
    lengths.update({name: [len(o.split()) for o in r.outputs] for name, r in results.items()})
    return lengths


def worst_errors(test: list[dict], results: dict, prompt_of, limit: int = 20) -> list[dict]:
    """Test rows the fine-tuned model (else the last candidate) got most wrong, with every candidate's output.

    Classification: misclassified rows, those some baseline got right first. Other tasks: lowest token F1.
    """
    from honed.evaluate.metrics import token_f1

    name = "fine_tuned" if "fine_tuned" in results else list(results)[-1]
    focus = results[name]
    refs = focus.references
    scores = [float(r == p) if _is_label(focus) else token_f1(r, p) for r, p in zip(refs, focus.predictions)]
    others_right = [max((float(res.predictions[i] == refs[i]) if _is_label(res) else
                         token_f1(refs[i], res.predictions[i])) for res in results.values()) for i in range(len(refs))]
    order = sorted((i for i, s in enumerate(scores) if s < 1.0), key=lambda i: (scores[i], -others_right[i]))
    return [{"input": prompt_of(test[i])[-1]["content"], "reference": refs[i], "score": scores[i],
             "outputs": {n: r.outputs[i] for n, r in results.items()},
             "predictions": {n: r.predictions[i] for n, r in results.items()}} for i in order[:limit]]


def prediction_rows(test: list[dict], results: dict) -> list[dict]:
    """One predictions.jsonl row per test row and candidate: input, reference, raw output, parsed prediction."""
    rows = []
    for name, r in results.items():
        for i, record in enumerate(test):
            rows.append({"index": i, "candidate": name, "input": prompt_of(record)[-1]["content"],
                         "reference": r.references[i], "output": r.outputs[i], "prediction": r.predictions[i],
                         "decoding": r.decoding})
    return rows


def _is_label(result) -> bool:
    return "confusion" in result.per_decoding.get(result.decoding, {})


def _numbers(metrics: dict) -> dict:
    return {k: float(v) for k, v in metrics.items() if isinstance(v, float | int) and not isinstance(v, bool)}
