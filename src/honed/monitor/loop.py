"""Feedback → training data, for `honed retrain`.

A logged correction becomes an SFT example (the conversation + the corrected answer); a rated pair becomes a
preference pair: a down-rated answer with a correction (chosen = correction), or an up- and a down-rated answer
to the same conversation. Each new correction goes to training or to a held-out slice by a hash of its request
id, so the split never changes between runs. Pairs are validated, redacted and de-duplicated here; the SFT
examples go through `honed data prepare` with the rest of the data (validation, PII, dedup, contamination).
Workbench reviews (votes and expert ratings, see `honed.monitor.reviews`) join the same path: their answers to
learn become SFT or held-out rows, their pairs are cleaned with the feedback's.
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from honed.core.config import Config
from honed.monitor.reviews import Review
from honed.monitor.traffic import Feedback, last_user_text


@dataclass
class FeedbackData:
    sft: list[dict] = field(default_factory=list)         # rows in the config's data shape
    heldout: list[dict] = field(default_factory=list)     # same shape, kept out of training
    preference: list[dict] = field(default_factory=list)  # {"prompt": messages, "chosen", "rejected"}
    used: dict[str, str] = field(default_factory=dict)    # feedback key → sft | heldout | preference
    skipped: list[dict] = field(default_factory=list)     # {"request_id", "reason"}

    @property
    def is_empty(self) -> bool:
        return not (self.sft or self.heldout or self.preference)


def is_heldout(request_id: str, fraction: float) -> bool:
    """Stable across runs and machines: the request id's hash, not a random draw."""
    bucket = int(hashlib.sha256(request_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return bucket < fraction


def feedback_data(feedback: list[Feedback], consumed: set[str], cfg: Config,
                  reviews: Sequence[Review] = ()) -> FeedbackData:
    """The examples in feedback and in workbench reviews not consumed by an earlier retrain."""
    found = FeedbackData()
    fresh = [f for f in feedback if f.key not in consumed]
    for item in fresh:
        if item.correction and item.correction.strip():
            row, reason = sft_row(item, cfg)
            if row is None:
                found.skipped.append({"request_id": item.request_id, "reason": reason})
                continue
            held = is_heldout(item.request_id, cfg.monitor.retrain_heldout_fraction)
            (found.heldout if held else found.sft).append(row)
            found.used[item.key] = "heldout" if held else "sft"
    pairs, keys = preference_pairs(fresh, feedback)
    review_pairs, review_keys = review_examples(found, [r for r in reviews if r.key not in consumed], cfg)
    pairs, keys = pairs + review_pairs, keys + review_keys
    if cfg.objective.task == "classification" and cfg.objective.labels:  # a preferred answer must be a label
        pairs = [p for p in pairs if p["chosen"].strip() in cfg.objective.labels]
    found.preference, skipped = clean_pairs(pairs, cfg)
    found.skipped += skipped
    found.used.update({k: "preference" for k in keys if k not in found.used})
    return found


def sft_row(item: Feedback, cfg: Config) -> tuple[dict | None, str]:
    """A correction as a training row in the config's own shape (classification: text + label)."""
    if not last_user_text(item.messages):
        return None, "no_user_message: the logged request has no user turn"
    return answer_row(item.messages, item.correction, cfg)


def answer_row(messages: list[dict], answer: str, cfg: Config) -> tuple[dict | None, str]:
    """The conversation + the answer to learn, in the config's own shape (classification: text + label)."""
    text, answer = last_user_text(messages), answer.strip()
    if not text:
        return None, "no_user_message: the prompt is empty"
    if cfg.objective.task == "classification":
        if cfg.objective.labels and answer not in cfg.objective.labels:
            return None, f"label_not_in_set: correction {answer!r} is not one of objective.labels"
        return {cfg.data.text_column: text, cfg.data.label_column: answer}, ""
    turns = [m for m in messages if m.get("role") in ("user", "assistant")]
    return {"messages": [*turns, {"role": "assistant", "content": answer}]}, ""


def review_examples(found: FeedbackData, fresh: list[Review], cfg: Config) -> tuple[list[dict], list[str]]:
    """Workbench reviews: the answer to learn goes to training or to the held-out slice (by a hash of the review's
    key, like a correction's request id); the pairs of a held-out review are dropped, its prompt being test data.
    Returns the pairs (cleaned with the feedback's) and the keys of the reviews that gave them."""
    pairs, keys = [], []
    for review in fresh:
        messages = [{"role": "user", "content": review.prompt}]
        held = bool(review.answer) and is_heldout(review.key, cfg.monitor.retrain_heldout_fraction)
        if review.answer:
            row, reason = answer_row(messages, review.answer, cfg)
            if row is None:
                found.skipped.append({"request_id": None, "review": review.key, "reason": reason})
            else:
                (found.heldout if held else found.sft).append(row)
                found.used[review.key] = "heldout" if held else "sft"
        if review.pairs and not held:
            pairs += [{"prompt": messages, "chosen": chosen.strip(), "rejected": rejected}
                      for chosen, rejected in review.pairs]
            keys.append(review.key)
    return pairs, keys


def preference_pairs(fresh: list[Feedback], everything: list[Feedback]) -> tuple[list[dict], list[str]]:
    """Pairs from new feedback: a down-rated answer with its correction, and up/down answers to one prompt."""
    pairs, keys = [], []
    for item in fresh:
        if item.is_down and item.correction and item.response and item.correction.strip() != item.response.strip():
            pairs.append({"prompt": item.messages, "chosen": item.correction.strip(), "rejected": item.response})
            keys.append(item.key)
    by_prompt = defaultdict(list)
    for item in everything:
        if item.rating is not None and item.response:
            by_prompt[json.dumps(item.messages, sort_keys=True)].append(item)
    new_keys = {f.key for f in fresh}
    for rated in by_prompt.values():
        ups = [f for f in rated if not f.is_down]
        downs = [f for f in rated if f.is_down]
        for up in ups:
            for down in downs:
                if (up.key in new_keys or down.key in new_keys) and up.response != down.response:
                    pairs.append({"prompt": up.messages, "chosen": up.response, "rejected": down.response})
                    keys += [k for k in (up.key, down.key) if k in new_keys]
    return pairs, keys


def clean_pairs(pairs: list[dict], cfg: Config) -> tuple[list[dict], list[dict]]:
    """Validated as preference rows, PII-redacted as configured, exact duplicates dropped."""
    from honed.data.formats import RowError, content_key, to_record
    from honed.data.pii import Redactor, redact_value

    redactor = Redactor(public_ips_only=cfg.data.pii_public_ips_only) if cfg.data.redact_pii else None
    kept, skipped, seen = [], [], set()
    for pair in pairs:
        try:
            record = to_record(pair, "preference")
        except RowError as exc:
            skipped.append({"request_id": None, "reason": f"{exc.code}: {exc}"})
            continue
        if redactor is not None:
            pair = redact_value(pair, redactor, Counter())
            record = to_record(pair, "preference")
        key = content_key(record)
        if key in seen:
            skipped.append({"request_id": None, "reason": "exact_duplicate: preference pair seen already"})
            continue
        seen.add(key)
        kept.append(pair)
    return kept, skipped
