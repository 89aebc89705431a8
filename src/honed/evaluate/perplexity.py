"""Perplexity: of held-out answers given their prompts, and of plain text (the forgetting probe)."""
from __future__ import annotations

import math

from honed.core.chat import IGNORE_INDEX, render_chat, render_prompt


def answer_perplexity(model, tokenizer, conversations: list[list[dict]], answers: list[str],
                      batch_size: int = 8, max_length: int = 1024) -> float | None:
    """exp(mean NLL per answer token) of each reference answer after its prompt (chat template applied)."""
    pairs = []
    for conversation, answer in zip(conversations, answers):
        prompt = render_prompt(tokenizer, conversation)
        full = render_chat(tokenizer, [*conversation, {"role": "assistant", "content": answer}])
        if not full.startswith(prompt):  # a template that rewrites earlier turns: score the whole answer turn
            full = prompt + answer
        pairs.append((prompt, full[len(prompt):]))
    return _perplexity(model, tokenizer, pairs, batch_size, max_length)


def text_perplexity(model, tokenizer, texts: list[str], batch_size: int = 8, max_length: int = 512) -> float | None:
    """exp(mean NLL per token) of plain texts (no chat template), each scored from its first token."""
    bos = tokenizer.bos_token or ""
    return _perplexity(model, tokenizer, [(bos, t) for t in texts], batch_size, max_length)


def text_nll(model, tokenizer, text: str, max_length: int = 512) -> tuple[float, int]:
    """(summed negative log-likelihood, scored tokens) of one plain text, from its first token."""
    return _batch_nll(model, tokenizer, [(tokenizer.bos_token or "", text)], max_length)


def _perplexity(model, tokenizer, pairs: list[tuple[str, str]], batch_size: int, max_length: int) -> float | None:
    total, count = 0.0, 0
    for start in range(0, len(pairs), batch_size):
        nll, n = _batch_nll(model, tokenizer, pairs[start:start + batch_size], max_length)
        total, count = total + nll, count + n
    return math.exp(total / count) if count else None


def _batch_nll(model, tokenizer, pairs: list[tuple[str, str]], max_length: int) -> tuple[float, int]:
    """Summed NLL of the continuation tokens (right padding; prompt tokens are context only)."""
    import torch

    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    rows, targets = [], []
    for prompt, continuation in pairs:
        p = tokenizer(prompt, add_special_tokens=False)["input_ids"] if prompt else []
        c = tokenizer(continuation, add_special_tokens=False)["input_ids"]
        ids = (p + c)[:max_length]
        rows.append(ids)
        targets.append([IGNORE_INDEX] * min(len(p), len(ids)) + ids[len(p):])
    width = max(len(r) for r in rows)
    if width < 2:
        return 0.0, 0
    input_ids = torch.tensor([r + [pad] * (width - len(r)) for r in rows], device=model.device)
    labels = torch.tensor([t + [IGNORE_INDEX] * (width - len(t)) for t in targets], device=model.device)
    attention = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows], device=model.device)
    model.eval()
    with torch.inference_mode():
        logits = model(input_ids=input_ids, attention_mask=attention).logits.float()
    shift_logits, shift_labels = logits[:, :-1], labels[:, 1:]
    loss = torch.nn.functional.cross_entropy(shift_logits.reshape(-1, shift_logits.shape[-1]),
                                             shift_labels.reshape(-1), ignore_index=IGNORE_INDEX, reduction="sum")
    return float(loss), int((shift_labels != IGNORE_INDEX).sum())
