"""Trainer callbacks: a rich progress bar (loss, ETA) and metrics into the run directory and store."""
from __future__ import annotations

from transformers import TrainerCallback

from honed.progress import make_progress
from honed.rundir import RunDir


class RichProgressCallback(TrainerCallback):
    """One bar over optimizer steps showing the latest training loss and the ETA."""

    def __init__(self):
        self.progress = None
        self.task = None

    def on_train_begin(self, args, state, control, **kwargs):
        self.progress = make_progress()
        self.progress.start()
        self.task = self.progress.add_task("training", total=state.max_steps, info="")

    def on_step_end(self, args, state, control, **kwargs):
        if self.progress:
            self.progress.update(self.task, completed=state.global_step)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.progress and logs:
            parts = [f"{k.replace('eval_', 'val ')} {logs[k]:.4f}" for k in ("loss", "eval_loss") if k in logs]
            if parts:
                self.progress.update(self.task, info=" · ".join(parts))

    def on_train_end(self, args, state, control, **kwargs):
        if self.progress:
            self.progress.stop()
            self.progress = None


class MetricsCallback(TrainerCallback):
    """Every logged value (loss, eval_loss, learning rate, grad norm) goes to metrics.jsonl and the store."""

    KEYS = ("loss", "eval_loss", "learning_rate", "grad_norm", "epoch")

    def __init__(self, run: RunDir):
        self.run = run

    def on_log(self, args, state, control, logs=None, **kwargs):
        values = {k: float(logs[k]) for k in self.KEYS if logs and k in logs and logs[k] is not None}
        if "eval_loss" in values:
            import math

            values["eval_perplexity"] = math.exp(min(values["eval_loss"], 50))
        if values:
            self.run.log(state.global_step, **values)
