"""Assemble audit.json / audit.html for a prepared dataset (called at the end of run_prepare)."""
from __future__ import annotations

import random
from collections import Counter

from honed.core.records import class_label
from honed.data.audit import bias_audit, diversity, write_audit
from honed.data.formats import record_texts

TOKEN_SAMPLE = 2000     # rows per split rendered with the chat template (seeded sample beyond this)
ANALYSIS_SAMPLE = 50000  # rows used for diversity and bias on very large datasets (seeded sample beyond this)


def build_audit(cfg, data, info) -> dict:
    kept = [r for part in data.splits.values() for r in part]
    rng = random.Random(cfg.data.split.seed)
    sample = kept if len(kept) <= ANALYSIS_SAMPLE else rng.sample(kept, ANALYSIS_SAMPLE)
    lengths, unit, tokens = _lengths(cfg, data.splits, rng)
    audit = {
        "dataset_hash": data.dataset_hash, "project": cfg.project, "engine": info.engine,
        "steps": info.steps + [{"step": f"split_{n}", "rows": len(v)} for n, v in data.splits.items()],
        "splits": {n: len(v) for n, v in data.splits.items()},
        "drops_by_reason": dict(Counter(d["code"] for d in data.dropped).most_common()),
        "drops_by_step": dict(Counter(d["step"] for d in data.dropped).most_common()),
        "duplicates": info.duplicates, "pii": dict(info.pii.most_common()),
        "cleaning": {"changed": info.cleaning["changed"], "html_stripped": info.cleaning["html_stripped"],
                     "strip_html": cfg.data.strip_html}, "contamination": info.contamination,
        "labels": _label_balance(data.splits), "length_unit": unit, "tokens": tokens,
        "characters": {n: _stats([sum(map(len, record_texts(r))) for r in v]) for n, v in data.splits.items()},
        "diversity": diversity(sample), "bias": bias_audit(sample),
        "analysis_rows": len(sample), "seed": cfg.data.split.seed,
    }
    write_audit(data.directory, audit, lengths)
    return audit


def _lengths(cfg, splits: dict, rng: random.Random) -> tuple[dict, str, dict]:
    """Token lengths per split with the model's tokenizer when available, else character lengths."""
    chars = {n: [sum(map(len, record_texts(r))) for r in v] for n, v in splits.items()}
    if not cfg.data.audit_tokens:
        return chars, "characters", {"skipped": "data.audit_tokens is false"}
    try:
        from honed.models.load import load_tokenizer
        from honed.models.templates import apply_chat_template_setting

        tokenizer = load_tokenizer(cfg.model.base)
        apply_chat_template_setting(None, tokenizer, cfg.model.chat_template, cfg.root)
    except Exception as exc:  # offline hub id, missing files: the audit still works, in characters
        return chars, "characters", {"skipped": f"tokenizer of `{cfg.model.base}` unavailable: {exc}"[:300]}
    from honed.data.tokens import summarise, token_lengths

    lengths, stats = {}, {}
    for name, rows in splits.items():
        sampled = rows if len(rows) <= TOKEN_SAMPLE else rng.sample(rows, TOKEN_SAMPLE)
        pairs = token_lengths(tokenizer, sampled)
        lengths[name] = [t for t, _ in pairs]
        scale = len(rows) / max(1, len(sampled)) if name == "train" else 0.0  # epoch = the train split only
        stats[name] = {**summarise(pairs, cfg.model.max_length, scale), "sampled_from": len(rows)}
    return lengths, "tokens", {"model": cfg.model.base, "by_split": stats}


def _label_balance(splits: dict) -> dict:
    labels: dict[str, dict[str, int]] = {}
    for name, rows in splits.items():
        for label in filter(None, map(class_label, rows)):
            labels.setdefault(label, {}).setdefault(name, 0)
            labels[label][name] += 1
    return dict(sorted(labels.items()))


def _stats(values: list[int]) -> dict:
    if not values:
        return {"examples": 0}
    values = sorted(values)
    return {"examples": len(values), "min": values[0], "mean": round(sum(values) / len(values), 1),
            "p95": values[int(0.95 * (len(values) - 1))], "max": values[-1]}
