"""Perplexity: of held-out answers given their prompts, and of plain text (the forgetting probe)."""
from __future__ import annotations

import math

from honed.core.chat import render_chat, render_prompt


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
    rows = [_tokenized(tokenizer, pair, max_length) for pair in pairs]
    prefix = _prefix_cache_for(model, [p for p, _ in rows if p]) if len(rows) > 1 else None
    total, count = 0.0, 0
    for start in range(0, len(rows), batch_size):
        nll, n = _rows_nll(model, rows[start:start + batch_size], prefix)
        total, count = total + nll, count + n
    return math.exp(total / count) if count else None


def _tokenized(tokenizer, pair: tuple[str, str], max_length: int) -> tuple[list[int], list[int]]:
    """(prompt ids, continuation ids) with prompt + continuation cut to `max_length` tokens."""
    prompt, continuation = pair
    p = tokenizer(prompt, add_special_tokens=False)["input_ids"] if prompt else []
    c = tokenizer(continuation, add_special_tokens=False)["input_ids"]
    p = p[:max_length]
    return p, c[:max_length - len(p)]


def _prefix_cache_for(model, prompts: list[list[int]]):
    """The shared-prefix KV cache of the prompts (every prompt keeps at least one token of its own), or None."""
    from honed.evaluate.generate import _prefix_cache_for as cache_for

    return cache_for(model, prompts) if prompts else None


def _batch_nll(model, tokenizer, pairs: list[tuple[str, str]], max_length: int) -> tuple[float, int]:
    return _rows_nll(model, [_tokenized(tokenizer, pair, max_length) for pair in pairs], None)


def _rows_nll(model, rows: list[tuple[list[int], list[int]]], prefix) -> tuple[float, int]:
    """Summed NLL of the continuation tokens; the rows run packed in one forward after the cached prefix (each
    row sees the prefix and itself only), prompt tokens being context only."""
    import torch

    from honed.evaluate.generate import tree_forward_log_probs

    skip = len(prefix.ids) if prefix is not None else 0
    blocks, keep, targets, offset = [], [], [], 0
    for p, c in rows:
        own = (p + c)[skip:]  # the prefix is shared by every prompt and shorter than each
        first = len(p) - skip  # index in `own` of the first continuation token
        for i in range(max(first, 1), len(own)):
            keep.append(offset + i - 1)
            targets.append(own[i])
        blocks.append((own, list(range(-1, len(own) - 1))))
        offset += len(own)
    if not keep:
        return 0.0, 0
    model.eval()
    with torch.inference_mode():
        log_probs = tree_forward_log_probs(model, prefix, blocks, keep)
        picked = log_probs[torch.arange(len(keep), device=log_probs.device),
                           torch.tensor(targets, device=log_probs.device)]
    return float(-picked.sum()), len(keep)
