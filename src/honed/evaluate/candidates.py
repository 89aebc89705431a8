"""Candidates on the same test set with the same prompts: zero-shot, few-shot and the fine-tuned model.

Every candidate sees the configured instruction as its system prompt; few-shot adds k demonstrations from the
training split (stratified by label, seeded) as earlier turns. For classification each candidate is decoded two
ways, greedy generation and label scoring, and its headline numbers come from whichever decoding scored higher
on the primary metric, so the baselines get every benefit of the doubt. Which one was used is recorded.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

from honed.config import Config
from honed.evaluate.generate import generate_all, score_labels
from honed.evaluate.metrics import classification_metrics, parse_label


@dataclass
class CandidateResult:
    name: str
    metrics: dict[str, float]
    decoding: str
    predictions: list[str]
    outputs: list[str]
    per_decoding: dict[str, dict] = field(default_factory=dict)
    seconds: float = 0.0
    latency_ms: float = 0.0


def prompt_of(record: dict) -> list[dict]:
    """The conversation up to (not including) the final assistant answer."""
    messages = record["messages"]
    last = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
    return messages[:last]


def reference_of(record: dict) -> str:
    return record.get("label") or prompt_answer(record)


def prompt_answer(record: dict) -> str:
    return [m for m in record["messages"] if m["role"] == "assistant"][-1]["content"]


def pick_demonstrations(train: list[dict], k: int, seed: int) -> list[dict]:
    """k training examples, one label at a time in turn so the demonstrations cover as many labels as possible."""
    rng = random.Random(seed)
    by_label: dict[str, list[dict]] = {}
    for record in train:
        by_label.setdefault(str(record.get("label", "")), []).append(record)
    for bucket in by_label.values():
        rng.shuffle(bucket)
    labels = sorted(by_label)
    rng.shuffle(labels)
    chosen: list[dict] = []
    while len(chosen) < k and any(by_label.values()):
        for label in labels:
            if by_label[label] and len(chosen) < k:
                chosen.append(by_label[label].pop())
    return chosen


def few_shot_prompt(prompt: list[dict], demonstrations: list[dict]) -> list[dict]:
    system = [m for m in prompt if m["role"] == "system"]
    turns = []
    for demo in demonstrations:
        demo_prompt = [m for m in prompt_of(demo) if m["role"] != "system"]
        turns += demo_prompt + [{"role": "assistant", "content": prompt_answer(demo)}]
    return system + turns + [m for m in prompt if m["role"] != "system"]


def evaluate_candidate(name: str, model, tokenizer, prompts: list[list[dict]], references: list[str],
                       cfg: Config, labels: list[str]) -> CandidateResult:
    """Decode every prompt, score against references; returns the best decoding's metrics."""
    ev = cfg.evaluation
    started = time.perf_counter()
    outputs = generate_all(model, tokenizer, prompts, max_new_tokens=ev.max_new_tokens, batch_size=ev.batch_size,
                           description=f"eval {name}")
    greedy_seconds = time.perf_counter() - started
    per_decoding: dict[str, dict] = {}
    predictions: dict[str, list[str]] = {}
    if cfg.objective.task == "classification":
        predictions["greedy"] = [parse_label(o, labels) for o in outputs]
        per_decoding["greedy"] = classification_metrics(references, predictions["greedy"], labels)
        if ev.label_scoring:
            predictions["label_scoring"] = score_labels(model, tokenizer, prompts, labels,
                                                        description=f"eval {name}")
            per_decoding["label_scoring"] = classification_metrics(references, predictions["label_scoring"], labels)
    else:
        from honed.evaluate.metrics import text_metrics

        predictions["greedy"] = outputs
        per_decoding["greedy"] = text_metrics(references, outputs)
    metric = cfg.objective.metric
    decoding = max(per_decoding, key=lambda d: per_decoding[d][metric])
    headline = {k: v for k, v in per_decoding[decoding].items() if isinstance(v, float | int)}
    return CandidateResult(name, headline, decoding, predictions[decoding], outputs, per_decoding,
                           seconds=time.perf_counter() - started,
                           latency_ms=1000 * greedy_seconds / max(len(prompts), 1))
