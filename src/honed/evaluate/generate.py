"""Fast inference for evaluation: greedy generation and label scoring, with a shared-prefix KV cache.

Evaluation prompts share a long prefix: the system instruction, and for few-shot every demonstration. That
prefix runs through the model once; each example then only pays for its own tokens (a copy of the prefix cache
is extended). Without a long shared prefix, generation is batched with left padding instead.
Label scoring computes log P(label | prompt) for each candidate label: the prompt's KV cache is repeated across
the labels and only the label tokens are scored, so a small model is not penalised for formatting its answer.
"""
from __future__ import annotations

from honed.core.chat import render_prompt
from honed.core.progress import make_progress


def generate_batch(model, tokenizer, prompts: list[str], max_new_tokens: int) -> list[str]:
    import torch

    tokenizer.padding_side = "left"
    batch = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)
    with torch.inference_mode():
        out = model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False, num_beams=1,
                             pad_token_id=tokenizer.pad_token_id, eos_token_id=_stop_ids(tokenizer))
    new_tokens = out[:, batch["input_ids"].shape[1]:]
    return [t.strip() for t in tokenizer.batch_decode(new_tokens, skip_special_tokens=True)]


MIN_SHARED_PREFIX = 32  # tokens; below this, batching beats prefix reuse


class PrefixCache:
    """The KV cache of a token prefix shared by many prompts, computed once and copied per use."""

    def __init__(self, model, prefix_ids: list[int]):
        import torch

        self.ids = prefix_ids
        with torch.inference_mode():
            self.cache = model(input_ids=torch.tensor([prefix_ids], device=model.device), use_cache=True).past_key_values

    def fresh(self):
        import copy

        return copy.deepcopy(self.cache)


def shared_prefix(token_lists: list[list[int]]) -> list[int]:
    """Longest common prefix of all token lists, leaving every list at least one token of its own."""
    if not token_lists:
        return []
    limit = min(len(t) for t in token_lists) - 1
    first = token_lists[0]
    n = 0
    while n < limit and all(t[n] == first[n] for t in token_lists):
        n += 1
    return first[:n]


def generate_with_prefix(model, tokenizer, prefix: PrefixCache, batch_ids: list[list[int]],
                         max_new_tokens: int) -> list[str]:
    """Greedy answers for prompts that all start with `prefix`: the cached prefix is repeated across the batch
    and each prompt's own tokens are left-padded after it (the attention mask hides the padding)."""
    import torch

    suffixes = [ids[len(prefix.ids):] for ids in batch_ids]
    width = max(len(s) for s in suffixes)
    pad = tokenizer.pad_token_id
    rows = [prefix.ids + [pad] * (width - len(s)) + s for s in suffixes]
    mask = [[1] * len(prefix.ids) + [0] * (width - len(s)) + [1] * len(s) for s in suffixes]
    input_ids = torch.tensor(rows, device=model.device)
    cache = prefix.fresh()
    cache.batch_repeat_interleave(len(rows))
    with torch.inference_mode():
        out = model.generate(input_ids=input_ids, attention_mask=torch.tensor(mask, device=model.device),
                             past_key_values=cache, max_new_tokens=max_new_tokens, do_sample=False, num_beams=1,
                             pad_token_id=pad, eos_token_id=_stop_ids(tokenizer))
    return [t.strip() for t in tokenizer.batch_decode(out[:, input_ids.shape[1]:], skip_special_tokens=True)]


def generate_all(model, tokenizer, conversations: list[list[dict]], *, max_new_tokens: int, batch_size: int,
                 description: str) -> list[str]:
    """Greedy answers for each conversation (its last turn must be the user's), with a progress bar."""
    model.eval()
    prompts = [render_prompt(tokenizer, c) for c in conversations]
    token_lists = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    prefix = shared_prefix(token_lists)
    if len(prefix) >= MIN_SHARED_PREFIX:
        cache = PrefixCache(model, prefix)
        order = sorted(range(len(prompts)), key=lambda i: len(token_lists[i]))
        outputs: list[str] = [""] * len(prompts)
        with make_progress() as progress:
            task = progress.add_task(description, total=len(prompts), info=f"greedy, {len(prefix)}-token prefix cached")
            for start in range(0, len(order), batch_size):
                chunk = order[start:start + batch_size]
                answers = generate_with_prefix(model, tokenizer, cache, [token_lists[i] for i in chunk], max_new_tokens)
                for i, text in zip(chunk, answers):
                    outputs[i] = text
                progress.advance(task, len(chunk))
        return outputs
    # Similar lengths in one batch waste less padding; answers are put back in the original order.
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    outputs: list[str] = [""] * len(prompts)
    with make_progress() as progress:
        task = progress.add_task(description, total=len(prompts), info="greedy")
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            for i, text in zip(chunk, generate_batch(model, tokenizer, [prompts[i] for i in chunk], max_new_tokens)):
                outputs[i] = text
            progress.advance(task, len(chunk))
    return outputs


def score_labels(model, tokenizer, conversations: list[list[dict]], labels: list[str], *,
                 description: str) -> list[str]:
    """For each conversation, the label with the highest total log-likelihood as the assistant's answer."""
    import torch

    model.eval()
    label_ids = [tokenizer(label, add_special_tokens=False)["input_ids"] for label in labels]
    end_ids = tokenizer(_end_of_turn(tokenizer), add_special_tokens=False)["input_ids"]
    label_ids = [ids + end_ids for ids in label_ids]  # "billing" must not win over "billing_disputes"
    width = max(len(ids) for ids in label_ids)
    pad = tokenizer.pad_token_id
    padded = torch.tensor([ids + [pad] * (width - len(ids)) for ids in label_ids])
    valid = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids in label_ids])
    token_lists = [tokenizer(render_prompt(tokenizer, c), add_special_tokens=False)["input_ids"]
                   for c in conversations]
    prefix_ids = shared_prefix(token_lists)
    prefix = PrefixCache(model, prefix_ids) if len(prefix_ids) >= MIN_SHARED_PREFIX else None
    best: list[str] = []
    with make_progress() as progress, torch.inference_mode():
        task = progress.add_task(description, total=len(conversations), info="label scoring")
        for ids in token_lists:
            scores = _label_log_likelihoods(model, ids, padded, valid, prefix)
            best.append(labels[int(scores.argmax())])
            progress.advance(task)
    return best


def _label_log_likelihoods(model, ids: list[int], padded, valid, prefix: PrefixCache | None):
    """Sum of log-probs of each label's tokens after the prompt `ids` (one prompt pass, cache shared by labels)."""
    import torch

    n = padded.shape[0]
    if prefix is not None:
        out = model(input_ids=torch.tensor([ids[len(prefix.ids):]]), past_key_values=prefix.fresh(), use_cache=True)
    else:
        out = model(input_ids=torch.tensor([ids]), use_cache=True)
    cache = out.past_key_values
    cache.batch_repeat_interleave(n)
    first = torch.log_softmax(out.logits[0, -1].float(), -1)[padded[:, 0]]
    attention = torch.ones(n, len(ids) + padded.shape[1], dtype=torch.long)
    rest = model(input_ids=padded, past_key_values=cache, attention_mask=attention).logits.float()
    logp = torch.log_softmax(rest[:, :-1], -1).gather(-1, padded[:, 1:, None]).squeeze(-1)
    return first + (logp * valid[:, 1:]).sum(-1)


def _end_of_turn(tokenizer) -> str:
    """The text the template puts after an assistant answer (e.g. `<|im_end|>`), found by rendering one."""
    probe = tokenizer.apply_chat_template([{"role": "user", "content": "x"}, {"role": "assistant", "content": "§"}],
                                          tokenize=False)
    tail = probe[probe.rindex("§") + 1:]
    return tail.rstrip("\n") or (tokenizer.eos_token or "")


def _stop_ids(tokenizer) -> list[int]:
    ids = {tokenizer.eos_token_id}
    end = _end_of_turn(tokenizer)
    end_ids = tokenizer(end, add_special_tokens=False)["input_ids"] if end else []
    if len(end_ids) == 1:
        ids.add(end_ids[0])
    return sorted(i for i in ids if i is not None)
