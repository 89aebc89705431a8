"""The default recipe: what a run uses for the keys the user left at `auto`, fitted to the data and the method.

An explicitly set value is always respected; only `auto` values are chosen here, each with the reason, and the
choices travel to meta.json as `recipe: {key: {value, why}}`. The defaults and the measurements behind them are in
docs/recipes.md:

- epochs: enough passes for `train.auto_min_steps` (100) optimizer steps on small sets (a 300-row set at batch 8
  gives 38 steps per epoch, too few for an adapter to settle; on SMS spam 60 steps already matched 320), capped by
  `train.auto_max_minutes` of estimated training;
- learning rate: fitted to the method and the LoRA rank (standard LoRA's update scales with alpha / r, so the
  rate follows sqrt(16 / r) around the usual 2e-4 at r = 16; rsLoRA's alpha / sqrt(r) scaling is rank-stable);
- label-balanced sampling: rarer labels oversampled (seeded) when the label counts are skewed beyond 3:1;
- decoding: classification is answered by label scoring (the answer restricted to the label set) for the
  fine-tune too, beside greedy generation; the report says which decoding gave the headline.
"""
from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass, field

from honed.core.config import Config, validate_config
from honed.core.records import class_label

# Training tokens per second assumed when planning epochs. The embedded SmolLM2-135M measured 193-285 tokens/s on
# this project's 2-core CPU (benchmarks/RESULTS.md, "CPU training throughput"): 200 is the planning figure, and
# any other model is assumed no faster (a GPU run just finishes early). tiny-random is a 2-layer test model.
DEFAULT_TOKENS_PER_SECOND = 200.0
TOKENS_PER_SECOND = {"tiny-random": 20_000.0}
LORA_RATE, LORA_REFERENCE_RANK = 2e-4, 16
METHOD_RATES = {"full": 2e-5, "ia3": 3e-3, "prefix": 1e-2, "prompt": 3e-2}
IMBALANCE_RATIO = 3.0  # most / least frequent label above this → oversample
FALLBACK = {"epochs": 1.0, "learning_rate": LORA_RATE}  # `auto` met outside a run (a trainer called directly)
TOKEN_SAMPLE = 200  # rows tokenized to estimate the training tokens per epoch


@dataclass
class Recipe:
    """The config with every `auto` resolved, the training rows (possibly rebalanced) and why."""

    cfg: Config
    train: list[dict]
    choices: dict[str, dict] = field(default_factory=dict)

    def describe(self) -> list[str]:
        return [f"{key} = {c['value']}: {c['why']}" for key, c in self.choices.items()]


def concrete(training, key: str) -> float:
    """A training value that may still be `auto` (the recipe was not applied): the static fallback."""
    value = getattr(training, key)
    return FALLBACK[key] if value == "auto" else value


def adapt_recipe(cfg: Config, train: list[dict], tokenizer) -> Recipe:
    """Resolve `auto` training keys for these rows (after any subsampling) and record every choice."""
    choices: dict[str, dict] = {}
    rows, choices["balance_labels"] = balance_choice(cfg, train)
    rate, why = learning_rate_for(cfg)
    choices["learning_rate"] = {"value": rate, "why": why}
    epochs, why = epochs_for(cfg, rows, tokenizer)
    choices["epochs"] = {"value": epochs, "why": why}
    choices["decoding"] = decoding_choice(cfg)
    raw = cfg.model_dump(mode="json")
    raw["train"].update(learning_rate=rate, epochs=epochs, balance_labels=choices["balance_labels"]["value"])
    return Recipe(validate_config(raw, root=cfg.root), rows, choices)


def learning_rate_for(cfg: Config) -> tuple[float, str]:
    t, method = cfg.train, cfg.method
    if t.learning_rate != "auto":
        return float(t.learning_rate), "set in the config"
    if method.kind in METHOD_RATES:
        return METHOD_RATES[method.kind], f"the usual peak rate for `{method.kind}`"
    if method.use_rslora:
        return LORA_RATE, "rsLoRA scales updates by alpha / sqrt(r), which is rank-stable: 2e-4 at any rank"
    rate = LORA_RATE * math.sqrt(LORA_REFERENCE_RANK / method.r)
    return float(f"{rate:.3g}"), f"2e-4 × sqrt(16 / r) for {method.kind} with r = {method.r}"


def epochs_for(cfg: Config, rows: list[dict], tokenizer) -> tuple[float, str]:
    """Epochs reaching `auto_min_steps` optimizer steps, capped by `auto_max_minutes` of estimated training."""
    t = cfg.train
    if t.epochs != "auto":
        return float(t.epochs), "set in the config"
    if t.max_steps:
        return 1.0, f"unused: train.max_steps = {t.max_steps} fixes the length"
    per_step = t.batch_size * t.grad_accum
    steps_per_epoch = max(1, math.ceil(len(rows) / per_step))
    wanted = max(1, math.ceil(t.auto_min_steps / steps_per_epoch))
    speed = TOKENS_PER_SECOND.get(cfg.model.base, DEFAULT_TOKENS_PER_SECOND)
    epoch_seconds = estimate_tokens(rows, tokenizer, cfg.model.max_length) / speed
    affordable = t.auto_max_minutes * 60 / max(epoch_seconds, 1e-9)
    plan = (f"{steps_per_epoch} steps per epoch ({len(rows)} rows, batch {per_step}), ~{epoch_seconds:.0f} s per "
            f"epoch at {speed:.0f} tokens/s")
    if wanted <= affordable:
        return float(wanted), f"{wanted} epoch(s) reach ≥ {t.auto_min_steps} steps; {plan}"
    capped = max(1.0, math.floor(affordable * 10) / 10)
    return capped, (f"capped by train.auto_max_minutes = {t.auto_max_minutes:g} (wanted {wanted} for "
                    f"{t.auto_min_steps} steps); {plan}")


def estimate_tokens(rows: list[dict], tokenizer, max_length: int) -> float:
    """Training tokens per epoch: a seeded sample of rows rendered and tokenized, scaled to all rows."""
    if not rows or tokenizer is None:
        return 0.0
    sample = random.Random(0).sample(rows, min(TOKEN_SAMPLE, len(rows)))
    lengths = [min(row_tokens(tokenizer, row), max_length) for row in sample]
    return sum(lengths) / len(lengths) * len(rows)


def row_tokens(tokenizer, row: dict) -> int:
    """Tokens of one training row as the trainer renders it (raw text: its plain tokenization)."""
    from honed.core.chat import render_conversation
    from honed.core.records import Conversation, Text, as_record

    record = as_record(row)
    if isinstance(record, Conversation):
        return len(render_conversation(tokenizer, record.messages, record.completion_only,
                                       tools=record.tools).input_ids)
    text = record.text if isinstance(record, Text) else str(record.to_dict())
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def balance_choice(cfg: Config, train: list[dict]) -> tuple[list[dict], dict]:
    """Oversample rarer labels when asked (or, for `auto`, when the counts are skewed beyond 3:1)."""
    wanted = cfg.train.balance_labels
    counts = Counter(str(class_label(r)) for r in train if class_label(r) is not None)
    if cfg.objective.task != "classification" or len(counts) < 2:
        return train, {"value": False, "why": "not a classification set with two or more labels"}
    ratio = max(counts.values()) / min(counts.values())
    if wanted == "auto":
        wanted = ratio > IMBALANCE_RATIO
        reason = f"label ratio {ratio:.1f}:1 {'>' if wanted else '≤'} {IMBALANCE_RATIO:g}:1"
    else:
        reason = f"set in the config (label ratio {ratio:.1f}:1)"
    if not wanted:
        return train, {"value": False, "why": reason, "counts": dict(counts)}
    rows = oversample(train, cfg.train.seed)
    after = Counter(str(class_label(r)) for r in rows if class_label(r) is not None)
    return rows, {"value": True, "why": f"{reason}: rarer labels oversampled (seed {cfg.train.seed})",
                  "counts": dict(counts), "counts_after": dict(after)}


def oversample(rows: list[dict], seed: int) -> list[dict]:
    """Every label repeated up to the most frequent one's count (whole copies, then a seeded sample), shuffled."""
    rng = random.Random(seed)
    by_label: dict[str, list[dict]] = {}
    for row in rows:
        by_label.setdefault(str(class_label(row)), []).append(row)
    top = max(len(group) for label, group in by_label.items() if label != "None")
    out: list[dict] = []
    for label, group in by_label.items():
        if label == "None":  # rows without a label are kept once
            out += group
            continue
        copies, rest = divmod(top, len(group))
        out += group * copies + rng.sample(group, rest)
    rng.shuffle(out)
    return out


def decoding_choice(cfg: Config) -> dict:
    if cfg.objective.task != "classification":
        return {"value": "greedy", "why": f"{cfg.objective.task}: the answer is free text"}
    if not cfg.evaluation.label_scoring:
        return {"value": "greedy", "why": "evaluation.label_scoring is off"}
    return {"value": "label_scoring + greedy", "why": "classification: the fine-tune, like the baselines, is also "
            "answered by scoring each label (the answer restricted to the label set); the report's headline is "
            "the better decoding on the primary metric and names it"}
