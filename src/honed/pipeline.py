"""`honed run`: prepare → baselines → train → evaluate → report, top to bottom."""
from __future__ import annotations

import random
import time
from pathlib import Path

from honed.core.config import Config
from honed.core.progress import console


def run_run(cfg: Config, output: Path) -> Path:
    """The whole flow on one config. Returns the path of report.json."""
    from honed.data.prepare import run_prepare
    from honed.evaluate.assemble import build_report
    from honed.train.methods import load_for_training
    from honed.evaluate.report import save_report
    from honed.core.rundir import RunDir
    from honed.train.sft import train_sft

    timings: dict[str, float] = {}
    clock = time.perf_counter()
    data = run_prepare(cfg, output / "data")
    console.print(f"[bold]data[/] {data.counts} · hash {data.dataset_hash} · dropped rows: {output / 'data' / 'dropped.jsonl'}")
    timings["prepare_s"] = _lap(clock)

    clock = time.perf_counter()
    model, tokenizer = load_for_training(cfg)  # QLoRA loads in 4-bit here; others as load_with_status
    timings["load_model_s"] = _lap(clock)

    test = sample_test(data.splits["test"], cfg)
    clock = time.perf_counter()
    results = evaluate_baselines(cfg, data, test, model, tokenizer)
    timings["baselines_s"] = _lap(clock)

    clock = time.perf_counter()
    run = RunDir.create(output / "run", "train", cfg, data.dataset_hash)
    train_records = subsample(data.splits["train"], cfg.train.max_train_examples, cfg.train.seed)
    trained = train_sft(cfg, model, tokenizer, train_records, data.splits["validation"], run)
    timings["train_s"] = _lap(clock)

    clock = time.perf_counter()
    results["fine_tuned"] = evaluate_fine_tuned(cfg, data, test, trained.model, tokenizer)
    timings["eval_fine_tuned_s"] = _lap(clock)

    report = build_report(cfg, data, test, results, trained, timings)
    run.finish(report_objective=report["objective"])
    path = save_report(report, output)
    run.store.record_report(run.run_id, str(path), report["primary_metric"], report["objective"]["best_candidate"],
                            report["objective"]["value"], report["objective"]["passed"])
    return path


def evaluate_baselines(cfg: Config, data, test: list[dict], model, tokenizer) -> dict:
    """The prompt-engineering candidates on the test rows: zero-shot and few-shot with the base model."""
    from honed.evaluate.candidates import evaluate_candidate, few_shot_prompts, prompt_of, reference_of

    prompts, references = [prompt_of(r) for r in test], [reference_of(r) for r in test]
    results = {}
    if "zero_shot" in cfg.evaluation.baselines:
        results["zero_shot"] = evaluate_candidate("zero_shot", model, tokenizer, prompts, references, cfg,
                                                  data.labels)
    if "few_shot" in cfg.evaluation.baselines:
        shots = few_shot_prompts(prompts, data.splits["train"], cfg)
        results["few_shot"] = evaluate_candidate("few_shot", model, tokenizer, shots, references, cfg, data.labels)
    if cfg.evaluation.api_baseline_url:
        from honed.evaluate.api import evaluate_api_candidate

        results[cfg.evaluation.api_baseline_name] = evaluate_api_candidate(cfg, prompts, references, data.labels)
    if cfg.evaluation.probes and results:
        from honed.evaluate.probes import attach_probes

        attach_probes(results, "base", model, tokenizer, prompts, references, cfg, data.labels)
    return results


def evaluate_fine_tuned(cfg: Config, data, test: list[dict], model, tokenizer):
    from honed.evaluate.candidates import evaluate_candidate, prompt_of, reference_of

    prompts, references = [prompt_of(r) for r in test], [reference_of(r) for r in test]
    result = evaluate_candidate("fine_tuned", model, tokenizer, prompts, references, cfg, data.labels)
    if cfg.evaluation.probes:
        from honed.evaluate.probes import attach_probes

        attach_probes({"fine_tuned": result}, "fine_tuned", model, tokenizer, prompts, references, cfg, data.labels)
    return result


def load_with_status(cfg: Config):
    from honed.models.load import load_model

    with console.status(f"loading model {cfg.model.base} (the first load de-quantises GGUF, ~20 s)"):
        return load_model(cfg.model.base, cfg.model.dtype, seed=cfg.train.seed)


def sample_test(test: list[dict], cfg: Config) -> list[dict]:
    return subsample(test, cfg.evaluation.max_test_examples, cfg.data.split.seed)


def subsample(records: list[dict], limit: int | None, seed: int) -> list[dict]:
    if limit is None or limit >= len(records):
        return records
    return random.Random(seed).sample(records, limit)


def _lap(start: float) -> float:
    return round(time.perf_counter() - start, 2)
