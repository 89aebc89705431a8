"""Self-instruct style synthetic examples from seed examples, filtered before anything can use them.

For each new example the teacher sees k seed examples (input → answer) and the task's instruction, and writes one
new input: for classification, for a label chosen in turn so the result is balanced across labels; for extraction
and generation, an input with its answer as JSON. Every candidate then has to pass, in order: parsing, length and
language (honed.synth.filters), the answer check (extraction: the answer occurs in the input), label agreement by a
second pass (the teacher answers the new input from scratch, greedily, and must give the intended label/answer),
de-duplication against the seeds and each other (honed.data.dedup, the curation's MinHash + exact Jaccard), and the
contamination check against the evaluation rows (never near the test or validation split). Each kept row carries
`meta.synthetic = {"teacher", "prompt"}`; each dropped one is returned with its reason.
"""
from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field

from honed.core.config import Config
from honed.core.records import class_label
from honed.data.formats import content_key
from honed.evaluate.candidates import prompt_answer, prompt_of
from honed.synth.filters import SeedProfile, problem_with

SHOTS = 4
ROUNDS = 5  # generation rounds: later rounds only ask for what earlier rounds lost to the filters
TEMPERATURE = 0.9


@dataclass
class Synthesis:
    rows: list[dict] = field(default_factory=list)
    dropped: list[dict] = field(default_factory=list)  # {"code", "text", "label"}
    requested: int = 0
    teacher: str = ""

    def summary(self) -> dict:
        from collections import Counter

        return {"requested": self.requested, "kept": len(self.rows), "teacher": self.teacher,
                "dropped": dict(Counter(d["code"] for d in self.dropped)),
                "labels": dict(Counter(str(class_label(r)) for r in self.rows if class_label(r) is not None))}


def input_of(record: dict) -> str:
    return prompt_of(record)[-1]["content"]


def quotas(n: int, labels: list[str]) -> dict[str, int]:
    """n split over labels as evenly as possible (the first n mod L labels get one more)."""
    return {label: n // len(labels) + (i < n % len(labels)) for i, label in enumerate(labels)}


def synthesize(cfg: Config, seeds: list[dict], avoid: list[dict], n: int, teacher) -> Synthesis:
    """Up to `n` new rows in the style and label space of `seeds`, none near `avoid` (the evaluation rows)."""
    task = cfg.objective.task
    labels = (cfg.objective.labels or sorted({class_label(s) for s in seeds if class_label(s)})) \
        if task == "classification" else ["*"]
    wanted = quotas(n, labels)
    result = Synthesis(requested=n, teacher=teacher.name)
    rng = random.Random(cfg.data.synthetic.seed)
    profile = SeedProfile.of([input_of(s) for s in seeds])
    for _ in range(ROUNDS):
        missing = {label: wanted[label] - sum(_label_of(r, task) == label for r in result.rows) for label in labels}
        if not any(v > 0 for v in missing.values()):
            break
        fresh = [c for label, count in missing.items() for c in
                 _candidates(cfg, seeds, label, max(count, 0), teacher, rng, profile, labels, result.dropped)]
        kept = _filter_set(cfg, seeds, result.rows, fresh, avoid, result.dropped)
        for row in kept:
            label = _label_of(row, task)
            if sum(_label_of(r, task) == label for r in result.rows) < wanted[label]:
                result.rows.append(row)
    return result


def _label_of(row: dict, task: str) -> str:
    return str(class_label(row)) if task == "classification" else "*"


def _candidates(cfg, seeds, label, count, teacher, rng, profile, labels, dropped) -> list[dict]:
    """`count` candidate rows for `label` that pass parsing, the single-row filters and label agreement."""
    out = []
    for _ in range(count):
        shots = _shots(seeds, label, rng, cfg.objective.task)
        prompt = generation_prompt(cfg, shots, label, labels)
        answer = teacher.complete([{"role": "user", "content": prompt}], _budget(profile), TEMPERATURE)
        text, target = _parse(answer, label, cfg.objective.task)
        code = "unparseable" if text is None else problem_with(text, profile) or _answer_problem(cfg, text, target)
        if code is None and not _agrees(cfg, teacher, text, target, labels):
            code = "label_disagreement"
        if code:
            dropped.append({"code": code, "text": text if text is not None else answer, "label": target})
            continue
        out.append(_record(shots[0], text, target, cfg.objective.task, teacher.name, prompt))
    return out


def _budget(profile: SeedProfile) -> int:
    return max(32, min(512, profile.max_chars // 2))  # ~4 characters a token, with room for the JSON around it


def _shots(seeds: list[dict], label: str, rng: random.Random, task: str) -> list[dict]:
    """Seed examples to imitate: half of them of the target label (classification), the rest any."""
    same = [s for s in seeds if task != "classification" or class_label(s) == label]
    chosen = rng.sample(same, min(len(same), SHOTS // 2 if task == "classification" else SHOTS))
    others = [s for s in seeds if s not in chosen]
    return chosen + rng.sample(others, min(len(others), SHOTS - len(chosen)))


def generation_prompt(cfg: Config, shots: list[dict], label: str, labels: list[str]) -> str:
    task, instruction = cfg.objective.task, cfg.data.instruction or "the task shown by the examples"
    examples = "\n\n".join(f"Input: {input_of(s)}\nAnswer: {prompt_answer(s)}" for s in shots)
    head = f"You write new training examples for this task: {instruction}\n\nExamples:\n\n{examples}\n\n"
    if task == "classification":
        return (f"{head}The possible answers are: {', '.join(labels)}. Write one new input, different from the "
                f"examples but in the same style and length, whose answer is \"{label}\". Reply with the input "
                "text only.")
    copy = " The answer must be copied exactly from the input." if task == "extraction" else ""
    return (f"{head}Write one new input, different from the examples but in the same style and length, and its "
            f"answer.{copy} Reply with JSON only: {{\"input\": \"...\", \"answer\": \"...\"}}")


def _parse(answer: str, label: str, task: str) -> tuple[str | None, str]:
    if task == "classification":
        text = re.sub(r"^(input|text)\s*:\s*", "", answer.strip(), flags=re.IGNORECASE).strip().strip('"').strip()
        return (text or None), label
    match = re.search(r"\{.*\}", answer, re.DOTALL)
    try:
        value = json.loads(match.group(0)) if match else None
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict) or not isinstance(value.get("input"), str) or not isinstance(
            value.get("answer"), str) or not value["answer"].strip():
        return None, ""
    return value["input"].strip(), value["answer"].strip()


def _answer_problem(cfg: Config, text: str, target: str) -> str | None:
    from honed.retrieval.corpus import normalised

    if cfg.objective.task == "extraction" and normalised(target) not in normalised(text):
        return "answer_not_in_input"
    return None


def _agrees(cfg: Config, teacher, text: str, target: str, labels: list[str]) -> bool:
    """The second pass: asked the new input cold (instruction + input), does the teacher give the intended answer?
    Generation has no single right answer, so it is not checked."""
    task = cfg.objective.task
    if task == "generation":
        return True
    from honed.evaluate.metrics import parse_label, token_f1

    instruction = cfg.data.instruction + (f" Answer with one of: {', '.join(labels)}." if task == "classification"
                                          else " Answer with the exact words from the input.")
    answer = teacher.complete([{"role": "system", "content": instruction.strip()},
                               {"role": "user", "content": text}], 32, 0.0)
    if task == "classification":
        return parse_label(answer, labels) == target
    return token_f1(target, answer) >= 0.5


def _record(template: dict, text: str, target: str, task: str, teacher: str, prompt: str) -> dict:
    """A canonical conversation like the seeds (same system prompt), tagged as synthetic."""
    system = [m for m in prompt_of(template) if m["role"] == "system"]
    record = {"kind": "conversation", "messages": [*system, {"role": "user", "content": text},
                                                   {"role": "assistant", "content": target}]}
    if task == "classification":
        record["label"] = target
    record["meta"] = {"source": "synthetic", "synthetic": {"teacher": teacher, "prompt": prompt}}
    return record


def _filter_set(cfg: Config, seeds, kept, fresh, avoid, dropped) -> list[dict]:
    """Drop fresh rows that duplicate a seed, a kept row or each other, or come near an evaluation row."""
    from honed.data.dedup import find_duplicates, find_overlap

    if not fresh:
        return []
    known = [content_key(r) for r in seeds + kept]
    result = find_duplicates(known + [content_key(r) for r in fresh], cfg.data.dedup_threshold, cfg.data.near_dedup,
                             seed=cfg.data.split.seed)
    duplicate = {d.index - len(known) for d in result.duplicates if d.index >= len(known)}
    near_eval = find_overlap([content_key(r) for r in fresh], [content_key(r) for r in avoid],
                             cfg.data.dedup_threshold, seed=cfg.data.split.seed) if avoid else {}
    out = []
    for i, row in enumerate(fresh):
        code = "contamination" if i in near_eval else "duplicate" if i in duplicate else None
        if code:
            dropped.append({"code": code, "text": input_of(row), "label": prompt_answer(row)})
        else:
            out.append(row)
    return out
