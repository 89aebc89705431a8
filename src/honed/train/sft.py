"""Supervised fine-tuning and continued pretraining: TRL's SFTTrainer over rows honed tokenizes itself.

Conversations are rendered with the model's own chat template and honed builds the assistant-only mask (see
render.py), because most chat templates lack the generation markers TRL's `assistant_only_loss` needs; TRL turns
the mask into labels and runs the loop. Prompt/completion records train on the completion only. Raw text records
(`{"text": ...}`) train on every token (continued pretraining). Preference pairs go to preference.py.
"""
from __future__ import annotations

import json
from pathlib import Path

from honed.core.chat import render_conversation, render_text
from honed.core.config import Config
from honed.core.errors import HonedError
from honed.core.records import Conversation, Text, as_record
from honed.core.rundir import RunDir
from honed.train.loop import (
    PREFERENCE_OBJECTIVES,
    TrainResult,
    make_callbacks,
    resolve_objective,
    run_trainer,
    trainer_arguments,
)
from honed.train.methods import check_model_fits_method, peft_config_for

__all__ = ["TrainResult", "tokenize_records", "tokenize_text_records", "train_sft"]


def tokenize_records(tokenizer, records: list, max_length: int) -> tuple[list[dict], list[dict]]:
    """Render every conversation; return (tokenized rows, rows skipped as too long, each with its reason)."""
    rows, skipped = [], []
    for record in map(as_record, records):
        if not isinstance(record, Conversation):
            continue
        rendered = render_conversation(tokenizer, record.messages, record.completion_only, tools=record.tools)
        if len(rendered.input_ids) > max_length:
            skipped.append({"code": "too_long", "detail": f"{len(rendered.input_ids)} tokens > model.max_length "
                            f"{max_length}", "record": record.to_dict()})
            continue
        if rendered.supervised == 0:
            skipped.append({"code": "no_assistant_tokens", "detail": "nothing to train on", "record": record.to_dict()})
            continue
        rows.append({"input_ids": rendered.input_ids, "assistant_masks": rendered.assistant_mask})
    for item in skipped:
        item["reason"] = f"{item['code']}: {item['detail']}"
    return rows, skipped


def tokenize_text_records(tokenizer, records: list, max_length: int) -> list[dict]:
    """Continued pretraining rows: each text cut into `max_length` windows, every token trained."""
    return [{"input_ids": piece.input_ids, "assistant_masks": piece.assistant_mask}
            for record in map(as_record, records) if isinstance(record, Text)
            for piece in render_text(tokenizer, record.text, max_length)]


def train_sft(cfg: Config, model, tokenizer, train_records: list[dict], eval_records: list[dict],
              run: RunDir, resume_from: Path | None = None) -> TrainResult:
    """Wrap `model` with the configured method and train it; the adapter (or full model) lands in `run/adapter`.

    Preference records (or `train.objective` dpo/orpo/kto) are handed to `train_preference`.
    `resume_from` is a checkpoint directory to continue from exactly (model, optimizer, scheduler, RNG, data).
    """
    check_model_fits_method(model, cfg.method)
    objective = resolve_objective(cfg, train_records)
    if objective in PREFERENCE_OBJECTIVES:
        from honed.train.preference import train_preference

        return train_preference(cfg, model, tokenizer, train_records, eval_records, run, resume_from=resume_from)
    import torch
    from datasets import Dataset, disable_progress_bars
    from trl import SFTConfig, SFTTrainer

    disable_progress_bars()  # honed shows its own bars; datasets' per-map bars are noise here
    train_rows, eval_rows, skipped = tokenized_rows(cfg, tokenizer, objective, train_records, eval_records)
    _write_skipped(run.path, skipped)
    has_eval = bool(eval_rows)
    # Prompt-learning methods prepend virtual tokens, which a packed row cannot carry.
    packing = cfg.train.packing and cfg.method.kind not in ("prefix", "prompt")
    train_set, eval_set = Dataset.from_list(train_rows), Dataset.from_list(eval_rows) if has_eval else None
    callbacks = make_callbacks(cfg, run, has_eval)
    if packing and not torch.cuda.is_available():  # CPU fast path (see honed.train.fast)
        from transformers import TrainingArguments

        from honed.train.fast import micro_batch, plain_trainer

        # Long rows are split into micro-batches with gradient accumulation (same update, bounded memory).
        micro = micro_batch(cfg.train.batch_size, [len(r["input_ids"]) for r in train_rows])
        # Packed rows hold no padding, so counting every input token is exact.
        args = trainer_arguments(TrainingArguments, cfg, run.path / "checkpoints", has_eval,
                                 remove_unused_columns=False, include_num_input_tokens_seen="all",
                                 per_device_train_batch_size=micro, per_device_eval_batch_size=micro,
                                 gradient_accumulation_steps=cfg.train.grad_accum * (cfg.train.batch_size // micro))
        trainer = plain_trainer(cfg, model, args, train_set, eval_set, callbacks)
    else:
        args = trainer_arguments(SFTConfig, cfg, run.path / "checkpoints", has_eval, max_length=None,
                                 dataset_num_proc=None, remove_unused_columns=True, padding_free=packing)
        trainer = SFTTrainer(model=model, args=args, processing_class=tokenizer, train_dataset=train_set,
                             eval_dataset=eval_set, peft_config=peft_config_for(cfg.method), callbacks=callbacks)
    return run_trainer(trainer, cfg, run, tokenizer, objective, skipped=len(skipped), resume_from=resume_from)


def tokenized_rows(cfg: Config, tokenizer, objective: str, train_records: list, eval_records: list):
    """(train rows, validation rows, skipped rows with reasons) as training sees them; no row fits → HonedError."""
    max_length = cfg.model.max_length
    if objective == "pretrain":
        train_rows, skipped = tokenize_text_records(tokenizer, train_records, max_length), []
        eval_rows = tokenize_text_records(tokenizer, eval_records, max_length)
    else:
        train_rows, skipped = tokenize_records(tokenizer, train_records, max_length)
        eval_rows, _ = tokenize_records(tokenizer, eval_records, max_length)
    if not train_rows:
        raise HonedError("no training example fits `model.max_length` or has an assistant answer",
                         f"raise `model.max_length` (now {max_length}) or fix the data")
    return train_rows, eval_rows, skipped


def _write_skipped(run_path: Path, skipped: list[dict]) -> None:
    run_path.mkdir(parents=True, exist_ok=True)
    with (run_path / "skipped.jsonl").open("w", encoding="utf-8") as f:
        for item in skipped:
            f.write(json.dumps(item, ensure_ascii=False) + "\n")
