"""`honed sweep CONFIG --trials N`: Optuna over learning rate, LoRA rank and epochs, minimising validation loss.

Ranges come from the config (`train.sweep_learning_rate`, `train.sweep_r`, `train.sweep_epochs`). Each trial is
an ordinary training run in `OUTPUT/trial-<n>` (config.yaml, meta.json, metrics.jsonl, registered in the store
as kind `sweep-trial`); `trials.jsonl` lists every trial and `best.yaml` is the winning config, ready for
`honed train best.yaml`. The sampler is seeded with `train.seed`, so a sweep is repeatable.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from honed.core.config import Config, validate_config
from honed.core.errors import HonedError
from honed.core.progress import console

PEFT_WITH_RANK = ("lora", "dora", "qlora")


def _optuna():
    try:
        import optuna
    except ImportError:
        raise HonedError("`honed sweep` needs Optuna", "run `pip install optuna` (or `pip install honed[tune]`)") \
            from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def suggest(trial, cfg: Config) -> dict:
    """One trial's hyperparameters drawn from the configured ranges."""
    t = cfg.train
    low, high = sorted(t.sweep_learning_rate)
    params = {"learning_rate": trial.suggest_float("learning_rate", low, high, log=True)}
    e_low, e_high = sorted(t.sweep_epochs)
    if float(e_low).is_integer() and float(e_high).is_integer():
        params["epochs"] = float(trial.suggest_int("epochs", int(e_low), int(e_high)))
    else:
        params["epochs"] = trial.suggest_float("epochs", e_low, e_high)
    if cfg.method.kind in PEFT_WITH_RANK:
        params["r"] = trial.suggest_categorical("r", sorted(set(t.sweep_r)))
    return params


def run_sweep(cfg: Config, output: Path, trials: int | None, train_trial: Callable[[Config, Path], float],
              timeout: float | None = None) -> dict:
    """Run `trials` trainings (or as many as start within `timeout` seconds: Optuna lets the running trial
    finish) through `train_trial(trial_config, trial_dir) -> validation loss`; write trials.jsonl and best.yaml
    under `output`; return the best trial."""
    optuna = _optuna()
    if trials is None and timeout is None:
        raise HonedError("a sweep needs a number of trials or a time budget", "pass `--trials N` or `--budget 20m`")
    if trials is not None and trials < 1:
        raise HonedError("`--trials` must be at least 1", "e.g. `honed sweep honed.yaml --trials 8`")
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=cfg.train.seed))
    log = output / "trials.jsonl"
    log.write_text("", encoding="utf-8")

    def objective(trial) -> float:
        params = suggest(trial, cfg)
        value = train_trial(sweep_config(cfg, params), output / f"trial-{trial.number}")
        with log.open("a", encoding="utf-8") as f:
            f.write(json.dumps({"number": trial.number, "params": params, "eval_loss": value}) + "\n")
        console.print(f"trial {trial.number}: {params} → validation loss {value:.4f}")
        return value

    study.optimize(objective, n_trials=trials, timeout=timeout)
    best = study.best_trial
    params = json.loads(log.read_text(encoding="utf-8").splitlines()[best.number])["params"]
    (output / "best.yaml").write_text(sweep_config(cfg, params).to_yaml(), encoding="utf-8")
    summary = {"number": best.number, "value": best.value, "params": params, "trials": len(study.trials)}
    (output / "sweep.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary


def sweep_config(cfg: Config, params: dict) -> Config:
    """A copy of `cfg` with a trial's hyperparameters set."""
    raw = cfg.model_dump(mode="json")
    raw["train"]["learning_rate"] = params["learning_rate"]
    raw["train"]["epochs"] = params["epochs"]
    if "r" in params:
        raw["method"]["r"] = params["r"]
        raw["method"]["alpha"] = 2 * params["r"]
    return validate_config(raw, root=cfg.root)
