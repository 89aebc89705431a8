"""Supervised fine-tuning: TRL's SFTTrainer over conversations rendered with the model's own chat template.

honed tokenizes and builds the assistant-only mask itself (see render.py) because most chat templates lack the
generation markers TRL's `assistant_only_loss` needs; TRL then turns the mask into labels and runs the loop.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from honed.config import Config
from honed.errors import HonedError
from honed.rundir import RunDir
from honed.train.callbacks import MetricsCallback, RichProgressCallback
from honed.train.methods import count_parameters, peft_config_for
from honed.train.render import render_conversation


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


def tokenize_records(tokenizer, records: list[dict], max_length: int) -> tuple[list[dict], list[dict]]:
    """Render every conversation; return (tokenized rows, rows skipped as too long, each with its reason)."""
    rows, skipped = [], []
    for record in records:
        if "messages" not in record:
            continue
        rendered = render_conversation(tokenizer, record["messages"], record.get("completion_only", False))
        if len(rendered.input_ids) > max_length:
            skipped.append({"reason": f"too_long: {len(rendered.input_ids)} tokens > model.max_length {max_length}",
                            "record": record})
            continue
        if rendered.supervised == 0:
            skipped.append({"reason": "no_assistant_tokens: nothing to train on", "record": record})
            continue
        rows.append({"input_ids": rendered.input_ids, "assistant_masks": rendered.assistant_mask})
    return rows, skipped


def sft_arguments(cfg: Config, output_dir: Path, has_eval: bool):
    """TRL SFTConfig from honed's training section."""
    import torch
    from trl import SFTConfig

    t = cfg.train
    eval_strategy = "no" if not has_eval else ("steps" if t.eval_every else "epoch")
    return SFTConfig(
        output_dir=str(output_dir), num_train_epochs=t.epochs, max_steps=t.max_steps or -1,
        per_device_train_batch_size=t.batch_size, per_device_eval_batch_size=t.batch_size,
        gradient_accumulation_steps=t.grad_accum, learning_rate=t.learning_rate, weight_decay=t.weight_decay,
        lr_scheduler_type=t.scheduler, warmup_steps=t.warmup_ratio, max_grad_norm=t.max_grad_norm, seed=t.seed,
        data_seed=t.seed, logging_steps=1, eval_strategy=eval_strategy, eval_steps=t.eval_every or None,
        save_strategy=eval_strategy if t.early_stopping_patience else "no",
        save_steps=t.eval_every or None, save_total_limit=2,
        load_best_model_at_end=bool(t.early_stopping_patience and has_eval), metric_for_best_model="eval_loss",
        greater_is_better=False, report_to=list(t.report_to) or "none", disable_tqdm=True,
        gradient_checkpointing=t.gradient_checkpointing, bf16=torch.cuda.is_available() and torch.cuda.is_bf16_supported(),
        use_cpu=not torch.cuda.is_available(), max_length=None, dataset_num_proc=None,
        dataloader_num_workers=0, remove_unused_columns=True, save_only_model=False,
    )


def train_sft(cfg: Config, model, tokenizer, train_records: list[dict], eval_records: list[dict],
              run: RunDir) -> TrainResult:
    """Wrap `model` with the configured PEFT method and train it; the adapter is saved in the run directory."""
    import time

    from datasets import Dataset, disable_progress_bars
    from transformers import EarlyStoppingCallback
    from transformers.trainer_callback import PrinterCallback, ProgressCallback
    from trl import SFTTrainer

    disable_progress_bars()  # honed shows its own bars; datasets' per-map bars are noise here
    train_rows, skipped = tokenize_records(tokenizer, train_records, cfg.model.max_length)
    eval_rows, _ = tokenize_records(tokenizer, eval_records, cfg.model.max_length)
    if not train_rows:
        raise HonedError("no training example fits `model.max_length` or has an assistant answer",
                         f"raise `model.max_length` (now {cfg.model.max_length}) or fix the data")
    _write_skipped(run.path, skipped)
    has_eval = bool(eval_rows)
    args = sft_arguments(cfg, run.path / "checkpoints", has_eval)
    callbacks = [RichProgressCallback(), MetricsCallback(run)]
    if cfg.train.early_stopping_patience and has_eval:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=cfg.train.early_stopping_patience))
    trainer = SFTTrainer(model=model, args=args, processing_class=tokenizer,
                         train_dataset=Dataset.from_list(train_rows),
                         eval_dataset=Dataset.from_list(eval_rows) if has_eval else None,
                         peft_config=peft_config_for(cfg.method), callbacks=callbacks)
    for noisy in (PrinterCallback, ProgressCallback):
        trainer.remove_callback(noisy)
    trainable, total = count_parameters(trainer.model)
    run.meta.update(trainable_params=trainable, total_params=total)
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    supervised_tokens = sum(len(r["input_ids"]) for r in train_rows) * _epochs_run(trainer, len(train_rows), cfg)
    adapter_dir = run.path / "adapter"
    trainer.model.save_pretrained(adapter_dir)
    tokenizer.save_pretrained(adapter_dir)
    history = trainer.state.log_history
    return TrainResult(
        model=trainer.model, adapter_dir=adapter_dir,
        train_loss=[(h["step"], h["loss"]) for h in history if "loss" in h],
        eval_loss=[(h["step"], h["eval_loss"]) for h in history if "eval_loss" in h],
        trainable_params=trainable, total_params=total, tokens_per_second=supervised_tokens / max(seconds, 1e-9),
        seconds=seconds, skipped_too_long=len(skipped),
    )


def _epochs_run(trainer, n_rows: int, cfg: Config) -> float:
    """Fraction of the data seen: max_steps may stop training before the configured epochs end."""
    per_step = cfg.train.batch_size * cfg.train.grad_accum
    return min(trainer.state.global_step * per_step / max(n_rows, 1), math.ceil(cfg.train.epochs))


def _write_skipped(run_path: Path, skipped: list[dict]) -> None:
    with (run_path / "skipped.jsonl").open("w", encoding="utf-8") as f:
        for item in skipped:
            f.write(json.dumps(item, ensure_ascii=False) + "\n")
