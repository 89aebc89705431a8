"""Trainer callbacks: a rich progress bar (loss, tokens/s, ETA), metrics into the run directory and store (which
also stop training at the first non-finite loss or gradient norm), and an overfitting watch (validation loss rising
while training loss falls)."""
from __future__ import annotations

import math
import time

from transformers import TrainerCallback

from honed.core.errors import HonedError
from honed.core.progress import console, make_progress
from honed.core.rundir import RunDir


class RichProgressCallback(TrainerCallback):
    """One bar over optimizer steps showing the latest training/validation loss, tokens per second and the ETA."""

    def __init__(self):
        self.progress = None
        self.task = None
        self.started = 0.0
        self.first_tokens = 0

    def on_train_begin(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        self.progress = make_progress()
        self.progress.start()
        self.task = self.progress.add_task("training", total=state.max_steps, info="", completed=state.global_step)
        self.started, self.first_tokens = time.perf_counter(), state.num_input_tokens_seen

    def on_step_end(self, args, state, control, **kwargs):
        if self.progress:
            self.progress.update(self.task, completed=state.global_step)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not (self.progress and logs):
            return
        parts = [f"{k.replace('eval_', 'val ')} {logs[k]:.4f}" for k in ("loss", "eval_loss") if k in logs]
        elapsed = time.perf_counter() - self.started
        if state.num_input_tokens_seen and elapsed > 0:
            parts.append(f"{(state.num_input_tokens_seen - self.first_tokens) / elapsed:,.0f} tok/s")
        if parts:
            self.progress.update(self.task, info=" · ".join(parts))

    def on_train_end(self, args, state, control, **kwargs):
        if self.progress:
            self.progress.stop()
            self.progress = None


class TrainingDiverged(HonedError):
    """The loss or the gradient norm stopped being a finite number: the weights are garbage from here on."""

    exit_code = 1


# Watched for divergence. The Trainer replaces a NaN/inf *loss* by the running mean before logging it
# (logging_nan_inf_filter), so the gradient norm, which it logs unfiltered, is what usually shows it first.
FINITE_KEYS = ("loss", "grad_norm", "eval_loss", "train_loss")


def non_finite(logs: dict) -> dict[str, float]:
    """The watched logged values that are NaN or ±inf."""
    return {k: float(logs[k]) for k in FINITE_KEYS
            if isinstance(logs.get(k), int | float) and not math.isfinite(float(logs[k]))}


def divergence_error(step: int, bad: dict[str, float], learning_rate: float) -> TrainingDiverged:
    shown = ", ".join(f"{k} = {v}" for k, v in bad.items())
    return TrainingDiverged(
        f"training diverged at step {step}: {shown}; the run is marked failed and no model is saved",
        f"lower train.learning_rate (now {learning_rate:g}), keep train.max_grad_norm at 1.0, or use "
        "train.precision=float32 if bf16/fp16 overflowed")


class MetricsCallback(TrainerCallback):
    """Every logged value (losses, learning rate, grad norm, preference rewards) goes to metrics.jsonl and the store.

    Only the main process writes (under DDP every rank sees the same gathered values). A non-finite loss or
    gradient norm is logged, the run is marked `failed` with the reason, and training stops with TrainingDiverged.
    """

    KEYS = ("loss", "eval_loss", "learning_rate", "grad_norm", "epoch", "num_input_tokens_seen")
    PREFIXES = ("rewards/", "eval_rewards/", "logps/", "eval_logps/")

    def __init__(self, run: RunDir):
        self.run = run

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not logs:
            return
        bad = non_finite(logs)
        if state.is_world_process_zero:
            self._record(state.global_step, logs)
        if bad:
            error = divergence_error(state.global_step, bad, args.learning_rate)
            self.run.meta["error"] = error.problem
            self.run.finish("failed")
            raise error

    def _record(self, step: int, logs: dict) -> None:
        values = {k: float(v) for k, v in logs.items()
                  if (k in self.KEYS or k.startswith(self.PREFIXES)) and isinstance(v, int | float)}
        if "eval_loss" in values and math.isfinite(values["eval_loss"]):
            values["eval_perplexity"] = math.exp(min(values["eval_loss"], 50))
        if values:
            self.run.log(step, **values)


def detect_overfitting(points: list[tuple[int, float, float]], rises: int = 2) -> dict | None:
    """`points` are (step, mean training loss since the previous evaluation, validation loss) per evaluation.

    Overfitting: validation loss rose at `rises` consecutive evaluations while training loss kept falling.
    Returns a description (the step it started, the best validation loss and where) or None.
    """
    streak = 0
    for i in range(1, len(points)):
        (_, train_before, val_before), (step, train_now, val_now) = points[i - 1], points[i]
        streak = streak + 1 if val_now > val_before and train_now < train_before else 0
        if streak >= rises:
            best_step, _, best_val = min(points[: i + 1], key=lambda p: p[2])
            return {"detected": True, "step": step, "best_step": best_step, "best_eval_loss": best_val,
                    "eval_loss": val_now, "message": f"validation loss rose for {streak} evaluations while training "
                    f"loss fell (best {best_val:.4f} at step {best_step}, now {val_now:.4f} at step {step})"}
    return None


class OverfitCallback(TrainerCallback):
    """Watches each evaluation; reports overfitting once (console + run meta) when `detect_overfitting` fires."""

    def __init__(self, run: RunDir | None = None):
        self.run = run
        self.train_losses: list[float] = []
        self.points: list[tuple[int, float, float]] = []
        self.report: dict | None = None

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not logs:
            return
        if "loss" in logs:
            self.train_losses.append(float(logs["loss"]))
        if "eval_loss" in logs and self.train_losses:
            mean = sum(self.train_losses) / len(self.train_losses)
            self.points.append((state.global_step, mean, float(logs["eval_loss"])))
            self.train_losses = []
            found = detect_overfitting(self.points)
            if found and self.report is None:
                self.report = found
                if state.is_world_process_zero:
                    console.print(f"[yellow]overfitting:[/] {found['message']}")
                    if self.run is not None:
                        self.run.meta["overfitting"] = found
                        self.run.write_meta()
