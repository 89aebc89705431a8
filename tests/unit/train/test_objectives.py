"""Objectives: completion-only and continued pretraining through SFT, DPO/ORPO/KTO through TRL, early stopping
and overfitting detection, objective resolution."""
from __future__ import annotations

import json

import pytest
from trainkit import chats, overfit_records, pairs, tiny_cfg

from honed.core.errors import HonedError
from honed.train.callbacks import detect_overfitting
from honed.train.loop import resolve_objective


def test_objective_follows_the_data():
    cfg = tiny_cfg()
    assert resolve_objective(cfg, chats(2)) == "sft"
    assert resolve_objective(cfg, [{"text": "raw"}]) == "pretrain"
    assert resolve_objective(cfg, pairs(2)) == "dpo"
    assert resolve_objective(tiny_cfg(objective="kto"), pairs(2)) == "kto"
    with pytest.raises(HonedError, match="trains on preference records"):
        resolve_objective(tiny_cfg(objective="dpo"), chats(2))


def test_completion_only_rows_mask_the_prompt(tokenizer):
    from honed.train.sft import tokenize_records

    record = {"messages": [{"role": "user", "content": "Translate: chat"},
                           {"role": "assistant", "content": "cat"}], "completion_only": True}
    (row,), skipped = tokenize_records(tokenizer, [record], 128)
    trained = [t for t, keep in zip(row["input_ids"], row["assistant_masks"]) if keep]
    assert not skipped and tokenizer.decode(trained) == "cat<|im_end|>"


def test_continued_pretraining_lowers_loss_on_raw_text(run_dir):
    from honed.models.load import load_model
    from honed.train.sft import train_sft

    text = [{"text": "The quick brown fox jumps over the lazy dog. " * 4} for _ in range(8)]
    cfg = tiny_cfg({"kind": "full"}, max_steps=4, eval_every=4)
    model, tokenizer = load_model("tiny-random")
    result = train_sft(cfg, model, tokenizer, text, text[:2], run_dir(cfg))
    assert result.objective == "pretrain"
    assert result.train_loss[-1][1] < result.train_loss[0][1] - 0.5
    meta = json.loads((result.adapter_dir.parent / "meta.json").read_text())
    assert meta["objective"] == "pretrain"


@pytest.mark.slow
def test_dpo_raises_the_chosen_margin_on_its_pairs(run_dir):
    from honed.models.load import load_model
    from honed.train.preference import preference_scores
    from honed.train.sft import train_sft

    records = pairs(4)
    cfg = tiny_cfg(max_steps=4, learning_rate=1e-2, objective="dpo", beta=0.1)
    model, tokenizer = load_model("tiny-random")
    before = preference_scores(model, tokenizer, records)
    result = train_sft(cfg, model, tokenizer, records, [], run_dir(cfg))
    after = preference_scores(result.model, tokenizer, records)
    assert result.objective == "dpo"
    print("before", before, "after", after)
    assert after["margin"] > before["margin"] + 1.0, (before, after)
    assert after["accuracy"] >= before["accuracy"]
    logged = [json.loads(line) for line in (result.adapter_dir.parent / "metrics.jsonl").read_text().splitlines()]
    assert any("rewards/margins" in row for row in logged)


@pytest.mark.slow
@pytest.mark.parametrize("objective", ["orpo", "kto"])
def test_orpo_and_kto_train(objective, run_dir):
    from honed.models.load import load_model
    from honed.train.sft import train_sft

    cfg = tiny_cfg(max_steps=2, objective=objective)
    model, tokenizer = load_model("tiny-random")
    result = train_sft(cfg, model, tokenizer, pairs(4), [], run_dir(cfg))
    assert result.objective == objective and len(result.train_loss) == 2
    assert (result.adapter_dir / "adapter_config.json").is_file()


def test_detect_overfitting_needs_rising_validation_and_falling_training():
    assert detect_overfitting([(1, 5.0, 4.0), (2, 4.0, 3.5), (3, 3.0, 3.6), (4, 2.0, 3.9)])["best_step"] == 2
    assert detect_overfitting([(1, 5.0, 4.0), (2, 4.0, 4.1), (3, 3.0, 3.9), (4, 2.0, 4.0)]) is None  # one rise
    assert detect_overfitting([(1, 5.0, 4.0), (2, 5.5, 4.2), (3, 6.0, 4.4)]) is None  # diverging, not overfitting


def test_early_stopping_triggers_on_overfitting_and_restores_best(run_dir):
    import torch

    from honed.models.load import load_model
    from honed.train.sft import tokenize_records, train_sft

    train, validation = overfit_records()
    cfg = tiny_cfg({"kind": "full"}, max_steps=40, eval_every=2, early_stopping_patience=2, scheduler="constant")
    model, tokenizer = load_model("tiny-random")
    run = run_dir(cfg)
    result = train_sft(cfg, model, tokenizer, train, validation, run)
    steps = [s for s, _ in result.eval_loss]
    best_step, best = min(result.eval_loss, key=lambda p: p[1])
    assert result.early_stopped and steps[-1] < 40
    assert steps[-1] == best_step + 2 * cfg.train.early_stopping_patience
    assert result.overfitting and result.overfitting["detected"]
    assert result.best_checkpoint.endswith(f"checkpoint-{best_step}")
    meta = json.loads((run.path / "meta.json").read_text())
    assert meta["overfitting"]["best_step"] == best_step and meta["early_stopped"]
    rows, _ = tokenize_records(tokenizer, validation, 128)  # the restored model scores the best validation loss
    losses = []
    with torch.no_grad():
        for row in rows:
            ids = torch.tensor([row["input_ids"]])
            labels = ids.masked_fill(torch.tensor([row["assistant_masks"]]) == 0, -100)
            losses.append((result.model(input_ids=ids, labels=labels).loss, sum(row["assistant_masks"]) - 1))
    restored = sum(loss * n for loss, n in losses) / sum(n for _, n in losses)
    assert float(restored) == pytest.approx(best, rel=1e-3)
