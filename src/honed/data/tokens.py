"""Token statistics with the model's own tokenizer and chat template (what training will actually see)."""
from __future__ import annotations

import math

from honed.core.records import Conversation, KTOExample, PreferencePair, as_record

# An assumption, not a measurement: LoRA on a ~135M model on a laptop-class CPU. `--throughput` overrides it.
DEFAULT_TOKENS_PER_SECOND = 2000.0


def record_tokens(tokenizer, record) -> tuple[int, int]:
    """(tokens, trained tokens) of one record rendered as training renders it."""
    from honed.core.chat import render_conversation

    record = as_record(record)
    if isinstance(record, Conversation):
        rendered = render_conversation(tokenizer, record.messages, record.completion_only, tools=record.tools)
        return len(rendered.input_ids), rendered.supervised
    if isinstance(record, PreferencePair | KTOExample):
        answers = [record.chosen, record.rejected] if isinstance(record, PreferencePair) else [record.completion]
        longer = max(answers, key=lambda a: sum(len(t) for t in _texts(a)))
        rendered = render_conversation(tokenizer, [*record.prompt, *longer])
        return len(rendered.input_ids), rendered.supervised
    ids = tokenizer(record.text, add_special_tokens=False)["input_ids"]
    return len(ids) + 1, len(ids) + 1


def _texts(messages: list[dict]) -> list[str]:
    return [m.get("content") or "" for m in messages]


def token_lengths(tokenizer, records: list) -> list[tuple[int, int]]:
    from honed.core.chat import TemplateError

    out = []
    for record in records:
        try:
            out.append(record_tokens(tokenizer, record))
        except TemplateError:  # a template that cannot render this conversation: count its text, without masks
            text = "\n".join(as_record(record).texts)
            n = len(tokenizer(text, add_special_tokens=False)["input_ids"])
            out.append((n, n))
    return out


def summarise(lengths: list[tuple[int, int]], max_length: int, train_fraction: float = 1.0,
              tokens_per_second: float = DEFAULT_TOKENS_PER_SECOND) -> dict:
    """min/mean/p95/max of tokens per example, trained (assistant) tokens, rows over `max_length`, and a rough
    training-time estimate per epoch (tokens / an assumed throughput; the assumption is stated in the result)."""
    if not lengths:
        return {"examples": 0}
    totals = sorted(t for t, _ in lengths)
    assistant = [a for _, a in lengths]
    epoch_tokens = int(sum(totals) * train_fraction)
    return {
        "examples": len(totals), "min": totals[0], "mean": round(sum(totals) / len(totals), 1),
        "p95": totals[min(len(totals) - 1, math.ceil(0.95 * len(totals)) - 1)], "max": totals[-1],
        "assistant_tokens_mean": round(sum(assistant) / len(assistant), 1),
        "assistant_tokens_total": sum(assistant), "max_length": max_length,
        "over_max_length": sum(t > max_length for t in totals),
        "training_tokens_per_epoch": epoch_tokens,
        "assumed_tokens_per_second": tokens_per_second,
        "estimated_seconds_per_epoch": round(epoch_tokens / tokens_per_second, 1),
    }
