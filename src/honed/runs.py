"""The services: the one place a run is put together.

`honed run`, `honed train`, `honed train --resume`, `honed sweep` and `honed eval` all call these functions, so
"load the model → make the run directory → pick the training rows → train → evaluate → report" is written once.
They sit above every stage (they may import any of them) and below the CLI.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from honed.core.config import Config, load_config
from honed.core.errors import HonedError
from honed.core.prepared import PreparedData, find_prepared
from honed.core.progress import console
from honed.core.rundir import RunDir


@dataclass
class Clock:
    """Wall-clock seconds per phase, for the report's `timings`."""

    timings: dict[str, float] = field(default_factory=dict)
    _start: float = field(default_factory=time.perf_counter)

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = round(now - self._start, 2)
        self._start = now


def run_whole_flow(cfg: Config, output: Path) -> Path:
    """`honed run`: prepare → baselines → train → evaluate → report. Returns the path of report.json."""
    from honed.data.prepare import run_prepare
    from honed.train.methods import load_for_training

    clock = Clock()
    data = run_prepare(cfg, output / "data")
    console.print(f"[bold]data[/] {data.counts} · hash {data.dataset_hash} · dropped rows: "
                  f"{output / 'data' / 'dropped.jsonl'}")
    clock.lap("prepare_s")
    model, tokenizer = load_for_training(cfg)  # QLoRA loads in 4-bit here; other methods load plainly
    clock.lap("load_model_s")
    baselines = evaluate_base(cfg, data, model, tokenizer)
    clock.lap("baselines_s")
    run = RunDir.create(output / "run", "train", cfg, data.dataset_hash)
    trained = train_run(cfg, data, run, model=(model, tokenizer))
    clock.lap("train_s")
    report = evaluate_run(cfg, data, run, trained.model, tokenizer, baselines, output, clock)
    run.finish(train_seconds=trained.seconds)
    return report


def train_run(cfg: Config, data: PreparedData, run: RunDir, *, model=None, resume_from: Path | None = None):
    """Train `cfg` on `data` into `run` (optionally continuing from a checkpoint); returns the TrainResult.

    `model` is an already loaded (model, tokenizer) pair — `honed run` evaluates the base model first and then
    trains the same object; everyone else lets this function load it.
    """
    from honed.data.split import subsample
    from honed.train.methods import load_for_training
    from honed.train.sft import train_sft

    model, tokenizer = model or load_for_training(cfg)
    train = subsample(data.splits["train"], cfg.train.max_train_examples, cfg.train.seed)
    return train_sft(cfg, model, tokenizer, train, data.splits.get("validation", []), run, resume_from=resume_from)


def resume_run(path: Path, overrides: list[str]):
    """Continue the run in `path` from its newest checkpoint with the config and data it was started with."""
    from honed.train.loop import latest_checkpoint, truncate_metrics

    if not (path / "meta.json").is_file() or not (path / "config.yaml").is_file():
        raise HonedError(f"`{path}` is not a run directory (no meta.json/config.yaml)",
                         "pass the directory `honed train` printed when it started")
    checkpoint = latest_checkpoint(path)
    if checkpoint is None:
        raise HonedError(f"`{path}` holds no checkpoint to resume from",
                         "checkpoints are written at each evaluation or every `train.save_every` steps; "
                         "start a new run, with `train.save_every` set to keep more frequent checkpoints")
    cfg = load_config(path / "config.yaml", overrides)
    if overrides:
        console.print(f"[yellow]resuming with overrides {overrides}: the result may differ from an "
                      "uninterrupted run[/]")
    run = RunDir.open(path)
    if run.is_main:
        truncate_metrics(path / "metrics.jsonl", int(checkpoint.name.split("-")[-1]))
    run.meta.setdefault("resumed", []).append({"from": checkpoint.name, "command": sys.argv})
    data = PreparedData.load(find_prepared(path))
    console.print(f"resuming {run.run_id} from {checkpoint.name}")
    return run, train_run(cfg, data, run, resume_from=checkpoint)


def sweep_run(cfg: Config, output: Path, trials: int) -> dict:
    """`honed sweep`: prepare once, then one ordinary training run per Optuna trial; returns the best trial."""
    from honed.data.prepare import run_prepare
    from honed.train.sweep import run_sweep

    data = run_prepare(cfg, output / "data")
    if not data.splits.get("validation"):
        raise HonedError("a sweep minimises validation loss, and the validation split is empty",
                         "set `data.split.validation` above 0 or give `data.validation`")

    def train_trial(trial_cfg: Config, path: Path) -> float:
        run = RunDir.create(path, "sweep-trial", trial_cfg, data.dataset_hash)
        result = train_run(trial_cfg, data, run)
        value = min((loss for _, loss in result.eval_loss), default=float("inf"))
        run.finish(best_eval_loss=value, train_seconds=result.seconds)
        return value

    return run_sweep(cfg, output, trials, train_trial)


def evaluate_base(cfg: Config, data: PreparedData, model, tokenizer) -> dict:
    """The base model's figures on the (sampled) test split: the prompt baselines for conversations, log-likelihood
    scores for preference, KTO and text data."""
    test = sample_test(data, cfg)
    if scored_by_likelihood(test):
        from honed.evaluate.likelihood import score_model

        return {"base": score_model("base", model, tokenizer, test, cfg.model.max_length)}
    from honed.evaluate.suite import evaluate_baselines

    return evaluate_baselines(cfg, data, test, model, tokenizer)


def scored_by_likelihood(test: list[dict]) -> bool:
    """Preference pairs, KTO examples and raw text are not answered by generation: they are scored by likelihood."""
    from honed.core.records import as_record

    return bool(test) and any(as_record(r).kind != "conversation" for r in test)


def evaluate_run(cfg: Config, data: PreparedData, run: RunDir, tuned, tokenizer, baselines: dict, output: Path,
                 clock: Clock) -> Path:
    """Evaluate the trained model beside `baselines`, write report.json/html and predictions.jsonl, record it;
    returns report.json."""
    from honed.evaluate.report import save_predictions, save_report

    test = sample_test(data, cfg)
    report, predictions = _fine_tuned_report(cfg, data, test, tuned, tokenizer, baselines, run, clock)
    path = save_report(report, output)
    save_predictions(predictions, output)
    run.meta.setdefault("reports", []).append({"path": str(path.resolve()), "objective": report["objective"]})
    run.write_meta()
    if run.is_main:
        run.store.record_report(run.run_id, str(path.resolve()), report)
    run.close()
    return path


def _fine_tuned_report(cfg, data, test, tuned, tokenizer, baselines, run, clock) -> tuple[dict, list[dict]]:
    training = run.meta.get("training", {})
    if scored_by_likelihood(test):
        from honed.evaluate.likelihood import build_likelihood_report, prediction_rows, score_model

        scores = {**baselines, "fine_tuned": score_model("fine_tuned", tuned, tokenizer, test, cfg.model.max_length)}
        clock.lap("eval_fine_tuned_s")
        return build_likelihood_report(cfg, data, test, scores, training, clock.timings), prediction_rows(test, scores)
    from honed.evaluate.assemble import build_report, prediction_rows
    from honed.evaluate.suite import evaluate_fine_tuned

    results = {**baselines, "fine_tuned": evaluate_fine_tuned(cfg, data, test, tuned, tokenizer)}
    clock.lap("eval_fine_tuned_s")
    return build_report(cfg, data, test, results, training, clock.timings), prediction_rows(test, results)


def evaluate_trained_run(cfg: Config, run_path: Path, output: Path | None) -> Path:
    """`honed eval`: the baselines and a finished run's model on its own test split, with its real figures."""
    from honed.models.load import load_trained, load_with_status

    adapter = run_path / "adapter"
    if not adapter.is_dir():
        raise HonedError(f"`{run_path}` holds no trained adapter (expected {adapter})",
                         "pass a run directory written by `honed train`")
    data = PreparedData.load(find_prepared(run_path))
    run = RunDir.open(run_path)
    clock = Clock()
    from honed.models.templates import apply_chat_template_setting

    model, tokenizer = load_with_status(cfg.model.base, cfg.model.dtype, seed=cfg.train.seed)
    apply_chat_template_setting(model, tokenizer, cfg.model.chat_template, cfg.root)
    clock.lap("load_model_s")
    baselines = evaluate_base(cfg, data, model, tokenizer)
    clock.lap("baselines_s")
    tuned = load_trained(model, adapter)
    return evaluate_run(cfg, data, run, tuned, tokenizer, baselines, output or run_path / "eval", clock)


def sample_test(data: PreparedData, cfg: Config) -> list[dict]:
    from honed.data.split import subsample

    return subsample(data.splits["test"], cfg.evaluation.max_test_examples, cfg.data.split.seed)
