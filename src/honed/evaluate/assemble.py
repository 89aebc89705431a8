"""Assemble report.json's content from the candidates' results, the data and the training run."""
from __future__ import annotations

from honed.config import Config
from honed.evaluate.candidates import prompt_of
from honed.evaluate.report import objective_status


def build_report(cfg: Config, data, test: list[dict], results: dict, trained, timings: dict) -> dict:
    report = {
        "project": cfg.project, "task": cfg.objective.task, "primary_metric": cfg.objective.metric,
        "objective": {"metric": cfg.objective.metric, "target": cfg.objective.target},
        "candidates": {name: r.metrics for name, r in results.items()},
        "details": {name: {"decoding": r.decoding, "latency_ms_per_example": r.latency_ms, "seconds": r.seconds,
                           "confusion": r.per_decoding[r.decoding].get("confusion"),
                           "by_decoding": {d: _numbers(m) for d, m in r.per_decoding.items()}}
                    for name, r in results.items()},
        "n_test": len(test), "dataset_hash": data.dataset_hash, "data_counts": data.counts,
        "base_model": cfg.model.base, "method": cfg.method.model_dump(mode="json"),
        "training": {"train_loss": trained.train_loss, "eval_loss": trained.eval_loss,
                     "trainable_params": trained.trainable_params, "total_params": trained.total_params,
                     "tokens_per_second": trained.tokens_per_second, "seconds": trained.seconds,
                     "skipped_too_long": trained.skipped_too_long},
        "timings": timings,
        "examples": worst_errors(test, results, prompt_of),
    }
    report["objective"] = objective_status(report)
    return report


def worst_errors(test: list[dict], results: dict, prompt_of, limit: int = 20) -> list[dict]:
    """Test rows the fine-tuned model (else the last candidate) got wrong, with every candidate's output."""
    name = "fine_tuned" if "fine_tuned" in results else list(results)[-1]
    wrong = [i for i, (r, p) in enumerate(zip(test, results[name].predictions))
             if str(r.get("label", "")) != p]
    return [{"input": prompt_of(test[i])[-1]["content"], "reference": str(test[i].get("label", "")),
             "outputs": {n: r.predictions[i] for n, r in results.items()}} for i in wrong[:limit]]


def _numbers(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if isinstance(v, float | int)}
