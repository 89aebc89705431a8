"""What every honed trainer shares: TRL arguments from the config, the callbacks, running and the result.

SFT, continued pretraining (sft.py) and DPO/ORPO/KTO (preference.py) differ only in how rows are built and
which TRL trainer runs them; the schedule, evaluation, checkpointing, early stopping, precision and tracking
come from here, so every objective behaves the same way.
"""
from __future__ import annotations

import importlib.util
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from honed.core.config import Config
from honed.core.errors import HonedError
from honed.core.progress import console
from honed.core.records import as_record
from honed.core.rundir import RunDir
from honed.models.load import cpu_supports_bf16

PREFERENCE_OBJECTIVES = ("dpo", "orpo", "kto")
TRACKER_PACKAGES = {"tensorboard": "tensorboard", "mlflow": "mlflow", "wandb": "wandb"}


@dataclass
class TrainResult:
    model: object
    adapter_dir: Path
    train_loss: list[tuple[int, float]]
    eval_loss: list[tuple[int, float]]
    trainable_params: int
    total_params: int
    tokens_per_second: float
    seconds: float
    skipped_too_long: int
    objective: str = "sft"
    early_stopped: bool = False
    best_checkpoint: str | None = None
    overfitting: dict | None = None
    extra: dict = field(default_factory=dict)

    def figures(self) -> dict:
        """What a report says about the training (also kept in meta.json, so `honed eval` can say it later)."""
        return {"train_loss": self.train_loss, "eval_loss": self.eval_loss, "trainable_params": self.trainable_params,
                "total_params": self.total_params, "tokens_per_second": self.tokens_per_second,
                "seconds": self.seconds, "skipped_too_long": self.skipped_too_long}


# Which record kinds each objective trains on (KTO learns from unpaired examples or from pairs split in two).
OBJECTIVE_KINDS = {"sft": {"conversation"}, "pretrain": {"text"}, "dpo": {"preference"}, "orpo": {"preference"},
                   "kto": {"kto", "preference"}}
AUTO_OBJECTIVE = {"preference": "dpo", "kto": "kto", "text": "pretrain", "conversation": "sft"}


def resolve_objective(cfg: Config, records: list) -> str:
    """`train.objective`, or for `auto` what the records are (pairs → dpo, KTO examples → kto, text → pretrain,
    conversations → sft). Records the objective cannot train on are an error, never silently skipped — above all,
    KTO rows (whose label may say "undesirable") are never trained as SFT targets."""
    wanted = cfg.train.objective
    kinds = {as_record(r).kind for r in records}
    if wanted == "auto":
        wanted = AUTO_OBJECTIVE[next(iter(kinds))] if len(kinds) == 1 else "sft"
    stray = kinds - OBJECTIVE_KINDS[wanted]
    if records and stray:
        needs = " or ".join(sorted(OBJECTIVE_KINDS[wanted]))
        raise HonedError(f"`train.objective: {wanted}` trains on {needs} records, but the data also holds "
                         f"{', '.join(sorted(stray))} records",
                         "set `train.objective` to match the data (or `auto`), or split the data by kind")
    return wanted


def check_trackers(report_to: list[str]) -> None:
    """Trackers are optional: each one's package must be installed only when `report_to` asks for it."""
    for name in report_to:
        if importlib.util.find_spec(TRACKER_PACKAGES[name]) is None:
            raise HonedError(f"`train.report_to` asks for {name}, but the `{TRACKER_PACKAGES[name]}` package is "
                             "not installed", f"run `pip install {TRACKER_PACKAGES[name]}`, or remove `{name}` "
                             "from `train.report_to`")


def precision_flags(choice: str) -> dict:
    """bf16/fp16 flags for the Trainer; `auto` uses bf16 where the GPU supports it, fp16 on older GPUs."""
    import torch

    cuda = torch.cuda.is_available()
    if choice == "fast":
        choice = "bf16" if not cuda and cpu_supports_bf16() else "auto"
    if choice == "auto":
        choice = ("bf16" if torch.cuda.is_bf16_supported() else "fp16") if cuda else "float32"
    if choice == "fp16" and not cuda:
        raise HonedError("`train.precision: fp16` needs a CUDA GPU", "use `train.precision=auto` (float32 on CPU)")
    if choice == "bf16" and not cuda and not cpu_supports_bf16():
        raise HonedError("`train.precision: bf16` on CPU needs AVX512-BF16 or AMX (this CPU has neither)",
                         "use `train.precision=auto` (float32 on CPU)")
    return {"bf16": choice == "bf16", "fp16": choice == "fp16"}


def checkpoint_plan(cfg: Config, has_eval: bool) -> dict:
    """When to evaluate and save. With a validation set, checkpoints follow evaluations so the best one can be
    restored at the end; `save_every` saves more often (for --resume) and keeps best-restoring when it is a
    multiple of `eval_every`."""
    t = cfg.train
    eval_strategy = "no" if not has_eval else ("steps" if t.eval_every else "epoch")
    if t.save_every:
        save_strategy, save_steps = "steps", t.save_every
    elif has_eval:
        save_strategy, save_steps = eval_strategy, t.eval_every or None
    else:
        save_strategy, save_steps = "epoch", None
    aligned = save_strategy == eval_strategy and (save_strategy == "epoch" or save_steps % t.eval_every == 0)
    return {"eval_strategy": eval_strategy, "eval_steps": t.eval_every or None, "save_strategy": save_strategy,
            "save_steps": save_steps, "load_best_model_at_end": has_eval and aligned}


def trainer_arguments(config_cls, cfg: Config, output_dir: Path, has_eval: bool, **extra):
    """A TRL config (SFTConfig, DPOConfig, …) filled from honed's training section."""
    import torch

    from honed.train.recipe import concrete

    t = cfg.train
    check_trackers(t.report_to)
    values = dict(
        output_dir=str(output_dir), num_train_epochs=concrete(t, "epochs"), max_steps=t.max_steps or -1,
        per_device_train_batch_size=t.batch_size, per_device_eval_batch_size=t.batch_size,
        gradient_accumulation_steps=t.grad_accum, learning_rate=concrete(t, "learning_rate"),
        weight_decay=t.weight_decay,
        lr_scheduler_type=t.scheduler, warmup_steps=t.warmup_ratio, max_grad_norm=t.max_grad_norm, seed=t.seed,
        data_seed=t.seed, logging_steps=1, **checkpoint_plan(cfg, has_eval), save_total_limit=t.save_total_limit,
        metric_for_best_model="eval_loss", greater_is_better=False, report_to=list(t.report_to) or "none",
        disable_tqdm=True, gradient_checkpointing=t.gradient_checkpointing, **precision_flags(t.precision),
        use_cpu=not torch.cuda.is_available(), dataloader_num_workers=0, save_only_model=False,
        include_num_input_tokens_seen="non_padding", ddp_find_unused_parameters=False,
    )
    return config_cls(**{**values, **extra})


def make_callbacks(cfg: Config, run: RunDir, has_eval: bool) -> list:
    from transformers import EarlyStoppingCallback

    from honed.train.callbacks import MetricsCallback, OverfitCallback, RichProgressCallback

    callbacks = [RichProgressCallback(), MetricsCallback(run), OverfitCallback(run)]
    if cfg.train.early_stopping_patience and has_eval:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=cfg.train.early_stopping_patience))
    return callbacks


def truncate_metrics(file: Path, step: int) -> None:
    """Drop metrics logged after the checkpoint we resume from: those steps run again."""
    if not file.is_file():
        return
    kept = [line for line in file.read_text(encoding="utf-8").splitlines()
            if line.strip() and json.loads(line).get("step", 0) <= step]
    file.write_text("".join(line + "\n" for line in kept), encoding="utf-8")


def save_model(model, tokenizer, adapter_dir: Path, base: str) -> None:
    """Save the adapter (or full model) and tokenizer, naming the base by its public id, not a local cache path.

    Embeddings resized for a chat template's new tokens are saved with the adapter; otherwise they are not (and
    PEFT is told so explicitly, instead of asking the hub whether the vocabulary changed).
    """
    from honed.models.load import provenance

    origin = provenance(base)
    if hasattr(model, "peft_config"):
        for config in model.peft_config.values():
            config.base_model_name_or_path = origin["id"]
        model.get_base_model().config._name_or_path = origin["id"]  # PEFT's model card reads it
        model.save_pretrained(adapter_dir, save_embedding_layers=bool(getattr(model, "honed_new_token_ids", None)))
        if origin["note"]:
            _note_in_card(adapter_dir / "README.md", origin["note"])
    else:
        model.config._name_or_path = origin["id"]
        model.save_pretrained(adapter_dir)
    tokenizer.name_or_path = origin["id"]
    tokenizer.save_pretrained(adapter_dir)


def _note_in_card(card: Path, note: str) -> None:
    text = card.read_text(encoding="utf-8") if card.is_file() else ""
    card.write_text(text + f"\n## Base model\n\n{note}.\n", encoding="utf-8")


def checkpoints(run_path: Path) -> list[Path]:
    """Every `checkpoint-N` under a run directory, oldest first."""
    found = [p for p in (run_path / "checkpoints").glob("checkpoint-*") if p.name.split("-")[-1].isdigit()
             and (p / "trainer_state.json").is_file()]
    return sorted(found, key=lambda p: int(p.name.split("-")[-1]))


def latest_checkpoint(run_path: Path) -> Path | None:
    """The newest checkpoint (the one --resume continues from)."""
    found = checkpoints(run_path)
    return found[-1] if found else None


def checkpoint_problem(checkpoint: Path) -> str | None:
    """Why a checkpoint cannot be resumed from (unreadable state, weights or optimizer), or None if it can."""
    import torch
    from safetensors import safe_open

    try:
        json.loads((checkpoint / "trainer_state.json").read_text(encoding="utf-8"))
        weights = list(checkpoint.glob("*.safetensors"))
        if not weights:
            return "it holds no weights (*.safetensors)"
        for file in weights:
            with safe_open(str(file), framework="pt") as f:
                for key in f.keys():
                    f.get_tensor(key)
        if (checkpoint / "optimizer.pt").is_file():
            torch.load(checkpoint / "optimizer.pt", map_location="cpu", weights_only=True)
    except Exception as exc:  # any unreadable file means the same thing here: this checkpoint is unusable
        return f"{type(exc).__name__}: {str(exc)[:200]}"
    return None


def real_tokens_seen(trainer) -> float:
    """Input tokens trained on; a collator that shares prefixes runs fewer than the rows hold, so its counts
    (`real_tokens` / `computed_tokens`, honed.train.fast) scale the trainer's count back to real tokens."""
    seen = trainer.state.num_input_tokens_seen
    collator = trainer.data_collator
    computed = getattr(collator, "computed_tokens", 0)
    return seen * collator.real_tokens / computed if computed else seen


def run_trainer(trainer, cfg: Config, run: RunDir, tokenizer, objective: str, *, skipped: int = 0,
                resume_from: Path | None = None) -> TrainResult:
    """Train (or continue from a checkpoint), save the model in `run/adapter`, describe what happened."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    from honed.train.callbacks import OverfitCallback
    from honed.train.methods import count_parameters

    for noisy in (PrinterCallback, ProgressCallback):
        trainer.remove_callback(noisy)
    trainable, total = count_parameters(trainer.model)
    if trainer.is_world_process_zero():
        console.print(f"{objective} · {cfg.method.kind}: training {trainable:,} of {total:,} parameters "
                      f"({100 * trainable / max(total, 1):.2f}%)")
    run.meta.update(trainable_params=trainable, total_params=total, objective=objective, method=cfg.method.kind)
    started = time.perf_counter()
    trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    seconds = time.perf_counter() - started
    adapter_dir = run.path / "adapter"
    if trainer.is_world_process_zero():
        save_model(trainer.model, tokenizer, adapter_dir, cfg.model.base)
    state, history = trainer.state, trainer.state.log_history
    watch = next((c for c in trainer.callback_handler.callbacks if isinstance(c, OverfitCallback)), None)
    early = bool(cfg.train.early_stopping_patience) and state.global_step < state.max_steps
    result = TrainResult(
        model=trainer.model, adapter_dir=adapter_dir,
        train_loss=[(h["step"], h["loss"]) for h in history if "loss" in h],
        eval_loss=[(h["step"], h["eval_loss"]) for h in history if "eval_loss" in h],
        trainable_params=trainable, total_params=total,
        tokens_per_second=real_tokens_seen(trainer) / max(seconds, 1e-9), seconds=seconds,
        skipped_too_long=skipped, objective=objective, early_stopped=early,
        best_checkpoint=state.best_model_checkpoint, overfitting=watch.report if watch else None,
    )
    run.meta.update(early_stopped=early, best_checkpoint=state.best_model_checkpoint, best_eval_loss=state.best_metric,
                    global_step=state.global_step, overfitting=result.overfitting, training=result.figures())
    run.write_meta()
    if early and trainer.is_world_process_zero():
        console.print(f"early stopping at step {state.global_step} of {state.max_steps}; best validation loss "
                      f"{state.best_metric:.4f} restored from {state.best_model_checkpoint}")
    return result
