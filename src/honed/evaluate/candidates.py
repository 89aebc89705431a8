"""Candidates on the same test set with the same prompts: zero-shot, few-shot and the fine-tuned model.

Every candidate sees the configured instruction as its system prompt; few-shot adds k demonstrations from the
training split (stratified by label, seeded) as earlier turns. For classification each candidate is decoded two
ways, greedy generation and label scoring, and its headline numbers come from whichever decoding scored higher
on the primary metric, so the baselines get every benefit of the doubt. Which one was used is recorded.
A model behind any OpenAI-compatible URL can join as one more candidate (`honed.evaluate.api`).
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Literal

from honed.core.chat import render_prompt
from honed.core.config import Config
from honed.core.errors import HonedError
from honed.core.records import Conversation, as_record, class_label
from honed.evaluate.generate import generate_all, reuse_prefix_caches
from honed.evaluate.label_search import score_labels
from honed.evaluate.metrics import parse_label, task_metrics

CandidateKind = Literal["model", "api", "classical"]  # a local LLM; a remote endpoint; a scikit-learn model


@dataclass
class CandidateResult:
    name: str
    metrics: dict[str, float]
    decoding: str
    predictions: list[str]
    outputs: list[str]
    per_decoding: dict[str, dict] = field(default_factory=dict)
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # process CPU time of the whole evaluation (robust to a shared machine's load)
    latency_ms: float = 0.0
    references: list[str] = field(default_factory=list)
    predictions_by_decoding: dict[str, list[str]] = field(default_factory=dict)
    output_tokens: list[int] = field(default_factory=list)  # greedy output length in tokens, per example
    prompt_tokens: list[int] = field(default_factory=list)
    greedy_seconds: float = 0.0
    probes: dict = field(default_factory=dict)  # forgetting / fairness measurements (honed.evaluate.probes)
    efficiency: dict = field(default_factory=dict)  # per-request latency sample (honed.evaluate.efficiency)
    notes: list[str] = field(default_factory=list)
    # What answered: a local LLM ("model"), a remote OpenAI-compatible endpoint ("api": its hardware and weights
    # are not ours), or a classical scikit-learn model ("classical": no tokens, so no token-priced cost).
    kind: CandidateKind = "model"
    train_seconds: float = 0.0  # fitting time of a candidate trained here (the classical baseline)
    examples_per_second: dict[str, float] = field(default_factory=dict)  # overall and per decoding

    @property
    def is_api(self) -> bool:
        return self.kind == "api"

    @is_api.setter
    def is_api(self, value: bool) -> None:
        self.kind = "api" if value else "model"


def prompt_of(record) -> list[dict]:
    """The conversation up to (not including) the final assistant answer."""
    messages = _conversation(record).messages
    last = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
    return messages[:last]


def reference_of(record) -> str:
    conversation = _conversation(record)
    return conversation.label or prompt_answer(conversation)


def prompt_answer(record) -> str:
    return [m for m in _conversation(record).messages if m["role"] == "assistant"][-1]["content"]


def _conversation(record) -> Conversation:
    typed = as_record(record)
    if not isinstance(typed, Conversation):
        raise HonedError(f"a {typed.kind} record has no prompt and answer to generate from",
                         "preference, KTO and text data are evaluated by likelihood (honed.evaluate.likelihood)")
    return typed


def pick_demonstrations(train: list[dict], k: int, seed: int) -> list[dict]:
    """k training examples, one label at a time in turn so the demonstrations cover as many labels as possible."""
    rng = random.Random(seed)
    by_label: dict[str, list[dict]] = {}
    for record in train:
        by_label.setdefault(str(class_label(record) or ""), []).append(record)
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


def predict(model, tokenizer, prompts: list[list[dict]], cfg: Config, labels: list[str], decoding: str,
            description: str) -> list[str]:
    """Predictions with one named decoding ("greedy" or "label_scoring"), e.g. for probes."""
    if decoding == "label_scoring":
        return score_labels(model, tokenizer, prompts, labels, description=description)
    outputs = generate_all(model, tokenizer, prompts, max_new_tokens=cfg.evaluation.max_new_tokens,
                           batch_size=cfg.evaluation.batch_size, description=description)
    return [parse_label(o, labels) for o in outputs] if cfg.objective.task == "classification" else outputs


def evaluate_candidate(name: str, model, tokenizer, prompts: list[list[dict]], references: list[str],
                       cfg: Config, labels: list[str]) -> CandidateResult:
    """Decode every prompt, score against references; returns the best decoding's metrics."""
    ev = cfg.evaluation
    started, cpu_started = time.perf_counter(), time.process_time()
    rates: dict[str, float] = {}
    predictions: dict[str, list[str]] = {}
    notes: list[str] = []
    with reuse_prefix_caches():  # every decoding of this candidate starts from the same prompts' prefix
        if cfg.objective.task == "classification" and ev.label_scoring and name != "fine_tuned" \
                and len(prompts) >= 2 * PILOT:
            outputs, greedy_seconds = _decode_baseline(name, model, tokenizer, prompts, references, cfg, labels,
                                                       predictions, rates, notes)
        else:
            outputs = generate_all(model, tokenizer, prompts, max_new_tokens=ev.max_new_tokens,
                                   batch_size=ev.batch_size, description=f"eval {name}")
            greedy_seconds = time.perf_counter() - started
            rates["greedy"] = len(prompts) / max(greedy_seconds, 1e-9)
            predictions["greedy"] = outputs
            if cfg.objective.task == "classification":
                predictions["greedy"] = [parse_label(o, labels) for o in outputs]
                if ev.label_scoring:
                    scoring_started = time.perf_counter()
                    predictions["label_scoring"] = score_labels(model, tokenizer, prompts, labels,
                                                                description=f"eval {name}",
                                                                batch_size=ev.batch_size)
                    rates["label_scoring"] = len(prompts) / max(time.perf_counter() - scoring_started, 1e-9)
    result = score_candidate(name, cfg, references, labels, outputs, predictions)
    result.seconds = time.perf_counter() - started
    result.examples_per_second = {"overall": len(prompts) / max(result.seconds, 1e-9), **rates}
    result.notes += notes
    result.greedy_seconds = greedy_seconds
    result.latency_ms = 1000 * greedy_seconds / max(len(prompts), 1)
    result.output_tokens = [len(tokenizer(o, add_special_tokens=False)["input_ids"]) for o in outputs]
    result.prompt_tokens = [len(tokenizer(render_prompt(tokenizer, p), add_special_tokens=False)["input_ids"])
                            for p in prompts]
    if ev.latency_samples:
        from honed.evaluate.efficiency import measure_latency

        result.efficiency = measure_latency(model, tokenizer, prompts, ev.max_new_tokens, ev.latency_samples)
    if ev.perplexity:
        from honed.evaluate.perplexity import answer_perplexity

        ppl = answer_perplexity(model, tokenizer, prompts, references, batch_size=ev.batch_size)
        if ppl is not None:
            result.metrics["perplexity"] = ppl
    if cfg.objective.task == "generation" and ev.embedding_similarity:
        _add_embedding_similarity(result)
    result.cpu_seconds = time.process_time() - cpu_started
    return result


PILOT = 32  # a classification baseline's first examples, decoded both ways before its decoding is decided


def greedy_may_win(references: list[str], greedy: list[str], scored: list[str]) -> bool:
    """The rule that lets a baseline be decoded once: greedy decoding goes on past the pilot only when, among the
    pilot examples exactly one decoding gets right, greedy gets more right than label scoring, i.e. only when it
    could be the better decoding and so the headline. Otherwise label scoring (the answer restricted to the label
    set, as the fine-tune is also scored) is the baseline's score of record."""
    wins = sum(g == r != s for r, g, s in zip(references, greedy, scored))
    losses = sum(s == r != g for r, g, s in zip(references, greedy, scored))
    return wins > losses


def _decode_baseline(name, model, tokenizer, prompts, references, cfg, labels, predictions, rates, notes):
    """Label scoring on every example, greedy on the first PILOT; greedy continues on the rest only when
    greedy_may_win says so (else the remaining outputs are the scored labels and greedy's time is extrapolated
    from the pilot). Returns (outputs, greedy seconds for all examples)."""
    ev = cfg.evaluation
    started = time.perf_counter()
    scored = score_labels(model, tokenizer, prompts, labels, description=f"eval {name}", batch_size=ev.batch_size)
    rates["label_scoring"] = len(prompts) / max(time.perf_counter() - started, 1e-9)
    predictions["label_scoring"] = scored
    started = time.perf_counter()
    outputs = generate_all(model, tokenizer, prompts[:PILOT], max_new_tokens=ev.max_new_tokens,
                           batch_size=ev.batch_size, description=f"eval {name} (pilot)")
    pilot_greedy = [parse_label(o, labels) for o in outputs]
    if not greedy_may_win(references[:PILOT], pilot_greedy, scored[:PILOT]):
        seconds = (time.perf_counter() - started) * len(prompts) / PILOT
        rates["greedy"] = PILOT / max(time.perf_counter() - started, 1e-9)
        right = [sum(p == r for p, r in zip(preds, references)) for preds in (pilot_greedy, scored[:PILOT])]
        notes.append(f"{name}: on the first {PILOT} test examples greedy decoding got {right[0]} right and label "
                     f"scoring {right[1]}; greedy could not be the better decoding, so it was not run on the rest "
                     "(docs/training.md, evaluation speed)")
        return outputs + scored[PILOT:], seconds
    outputs += generate_all(model, tokenizer, prompts[PILOT:], max_new_tokens=ev.max_new_tokens,
                            batch_size=ev.batch_size, description=f"eval {name}")
    seconds = time.perf_counter() - started
    rates["greedy"] = len(prompts) / max(seconds, 1e-9)
    predictions["greedy"] = [parse_label(o, labels) for o in outputs]
    return outputs, seconds


def score_candidate(name: str, cfg: Config, references: list[str], labels: list[str], outputs: list[str],
                    predictions: dict[str, list[str]]) -> CandidateResult:
    """Metrics of each decoding; the headline is the decoding best on the primary metric."""
    per_decoding = {d: task_metrics(cfg.objective.task, references, p, labels) for d, p in predictions.items()}
    metric = cfg.objective.metric
    decoding = max(per_decoding, key=lambda d: per_decoding[d][metric])
    headline = {k: float(v) for k, v in per_decoding[decoding].items() if isinstance(v, float | int)}
    return CandidateResult(name, headline, decoding, predictions[decoding], outputs, per_decoding,
                           references=list(references), predictions_by_decoding=predictions)


def _add_embedding_similarity(result: CandidateResult) -> None:
    from honed.evaluate.similarity import embedding_similarity

    score, note = embedding_similarity(result.references, result.outputs)
    if score is None:
        result.notes.append(note)
    else:
        result.metrics["embedding_similarity"] = score
        result.per_decoding[result.decoding]["embedding_similarity"] = score


def few_shot_prompts(prompts: list[list[dict]], train: list[dict], cfg: Config) -> list[list[dict]]:
    """Each prompt with k demonstrations: the same stratified set for all, or each prompt's most similar rows."""
    ev = cfg.evaluation
    if ev.few_shot_selection == "similar":
        try:
            chosen = similar_demonstrations(train, prompts, ev.few_shot_k)
        except ValueError:  # no usable words in the training inputs (empty vocabulary): fall back to stratified
            chosen = None
        if chosen is not None:
            return [few_shot_prompt(p, demos) for p, demos in zip(prompts, chosen)]
    demos = pick_demonstrations(train, ev.few_shot_k, cfg.train.seed)
    return [few_shot_prompt(p, demos) for p in prompts]


def similar_demonstrations(train: list[dict], prompts: list[list[dict]], k: int) -> list[list[dict]]:
    """Per prompt, the k training rows whose user text is closest by TF-IDF cosine (most similar last)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    def user_text(conversation: list[dict]) -> str:
        return " ".join(m["content"] for m in conversation if m["role"] == "user")

    train_texts = [user_text(prompt_of(r)) for r in train]
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, stop_words="english").fit(train_texts)
    train_matrix = vectorizer.transform(train_texts)
    similarity = (vectorizer.transform([user_text(p) for p in prompts]) @ train_matrix.T).toarray()
    return [[train[j] for j in row.argsort()[::-1][:k][::-1]] for row in similarity]
