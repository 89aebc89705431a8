"""Augmentation without a teacher: label-preserving perturbations of real rows, for robustness.

- typo: two neighbouring letters swapped inside one word of four letters or more;
- casing: the input lower-cased, upper-cased, or with its first letter's case flipped;
- entity swap: one number or capitalised word replaced by another of the same kind seen elsewhere in the data.
The answer's own words are never touched (an extraction answer must still occur in the input). Perturbed rows are
near-duplicates of their source by design, so they are de-duplicated only among themselves (exact text), not
against the seeds; they still never come near an evaluation row (the contamination check).
"""
from __future__ import annotations

import random
import re

from honed.core.config import Config
from honed.core.records import class_label
from honed.evaluate.candidates import prompt_answer, prompt_of
from honed.synth.synthesize import Synthesis, input_of, quotas

_TOKEN = re.compile(r"\b(\d+|[A-Z][a-z]+)\b")
KINDS = ("typo", "casing", "entity_swap")


def entities(texts: list[str]) -> dict[str, list[str]]:
    """Numbers and capitalised words that are not sentence-initial, by kind."""
    found: dict[str, set[str]] = {"number": set(), "name": set()}
    for text in texts:
        for match in _TOKEN.finditer(text):
            start = match.start()
            if start == 0 or text[max(0, start - 2):start].strip() in {".", "!", "?"}:
                continue
            found["number" if match.group().isdigit() else "name"].add(match.group())
    return {kind: sorted(values) for kind, values in found.items()}


def perturb(text: str, kind: str, protected: set[str], pool: dict[str, list[str]], rng: random.Random) -> str:
    """One perturbation of `text`; returns `text` unchanged when this kind finds nothing to change."""
    if kind == "casing":
        return _recase(text, rng.choice(["lower", "upper", "first"]), protected)
    words = [m for m in re.finditer(r"\w+", text) if m.group().lower() not in protected]
    if kind == "typo":
        long = [m for m in words if len(m.group()) >= 4 and m.group().isalpha()]
        if not long:
            return text
        m = rng.choice(long)
        i = rng.randrange(1, len(m.group()) - 2)
        w = m.group()
        return text[:m.start()] + w[:i] + w[i + 1] + w[i] + w[i + 2:] + text[m.end():]
    swappable = [m for m in words if _TOKEN.fullmatch(m.group()) and m.start() > 0]
    if not swappable:
        return text
    m = rng.choice(swappable)
    choices = [e for e in pool["number" if m.group().isdigit() else "name"] if e != m.group()]
    return text[:m.start()] + rng.choice(choices) + text[m.end():] if choices else text


def _recase(text: str, how: str, protected: set[str]) -> str:
    """Lower- or upper-case every word but the answer's, or flip the first letter's case (unless it is the answer's)."""
    if how == "first":
        first = re.match(r"\w+", text)
        return text if first is None or first.group().lower() in protected else text[:1].swapcase() + text[1:]
    change = str.lower if how == "lower" else str.upper
    return re.sub(r"\w+", lambda m: m.group() if m.group().lower() in protected else change(m.group()), text)


def augment(cfg: Config, seeds: list[dict], avoid: list[dict], n: int) -> Synthesis:
    """Up to `n` perturbed copies of seed rows, balanced across labels like synthetic rows."""
    from honed.data.dedup import find_overlap
    from honed.data.formats import content_key

    task = cfg.objective.task
    rng = random.Random(cfg.data.synthetic.seed)
    pool = entities([input_of(s) for s in seeds])
    by_label: dict[str, list[dict]] = {}
    for seed in seeds:
        by_label.setdefault(str(class_label(seed)) if task == "classification" else "*", []).append(seed)
    result, seen = Synthesis(requested=n, teacher="augment"), {input_of(s) for s in seeds}
    for label, count in quotas(n, sorted(by_label)).items():
        for _ in range(count * 4):  # a few tries per wanted row: some perturbations change nothing
            if sum((str(class_label(r)) if task == "classification" else "*") == label for r in result.rows) >= count:
                break
            row = _perturbed(rng.choice(by_label[label]), rng, pool)
            if row is not None and input_of(row) not in seen:
                seen.add(input_of(row))
                result.rows.append(row)
    hits = find_overlap([content_key(r) for r in result.rows], [content_key(r) for r in avoid],
                        cfg.data.dedup_threshold, seed=cfg.data.split.seed) if avoid and result.rows else {}
    result.dropped = [{"code": "contamination", "text": input_of(result.rows[i]), "label": ""} for i in hits]
    result.rows = [r for i, r in enumerate(result.rows) if i not in hits]
    return result


def _perturbed(seed: dict, rng: random.Random, pool: dict[str, list[str]]) -> dict | None:
    kind = rng.choice(KINDS)
    answer = prompt_answer(seed)
    text = input_of(seed)
    changed = perturb(text, kind, {w.lower() for w in re.findall(r"\w+", answer)}, pool, rng)
    if changed == text:
        return None
    messages = [*prompt_of(seed)[:-1], {"role": "user", "content": changed}, {"role": "assistant", "content": answer}]
    row = {k: v for k, v in seed.items() if k not in ("messages", "meta")}
    source = seed.get("meta", {})
    return {**row, "messages": messages, "meta": {"source": "augment", "synthetic": {
        "teacher": "augment", "prompt": f"{kind} of {source.get('source', '?')} line {source.get('line', '?')}"}}}
