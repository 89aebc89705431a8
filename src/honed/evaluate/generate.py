"""Fast inference for evaluation: greedy generation and label scoring, with a shared-prefix KV cache.

Evaluation prompts share a long prefix: the system instruction, and for few-shot every demonstration. That
prefix runs through the model once; each example then only pays for its own tokens (a copy of the prefix cache
is extended). Without a long shared prefix, generation is batched with left padding instead.
Label scoring computes log P(label | prompt) for each candidate label over a trie of the label tokens, so a
small model is not penalised for formatting its answer (`label_scores`: every label in full; the argmax alone
comes faster from the exact search in honed.evaluate.label_search).
"""
from __future__ import annotations

from contextlib import contextmanager

from honed.core.chat import render_prompt
from honed.core.progress import make_progress

_REUSED: dict | None = None  # id(model) -> prefix caches computed inside `reuse_prefix_caches()`


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


@contextmanager
def reuse_prefix_caches():
    """Inside this block a prefix already run through the same model is not run again: one candidate's label
    scoring and its greedy pilot share the instruction (and, few-shot, every demonstration). Only for a block in
    which the model's weights do not change; the caches are dropped when it ends."""
    global _REUSED
    outer, _REUSED = _REUSED, {}
    try:
        yield
    finally:
        _REUSED = outer


def prefix_cache(model, prefix_ids: list[int]) -> PrefixCache:
    """The KV cache of `prefix_ids`, or inside reuse_prefix_caches() a cached one whose ids start them (every
    user skips `len(cache.ids)` tokens and leaves the cache as it found it, so a shorter shared prefix serves)."""
    if _REUSED is not None:
        for cached in _REUSED.get(id(model), []):
            if len(cached.ids) >= MIN_SHARED_PREFIX and prefix_ids[:len(cached.ids)] == cached.ids:
                return cached
    cache = PrefixCache(model, prefix_ids)
    if _REUSED is not None:
        _REUSED.setdefault(id(model), []).append(cache)
    return cache


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
        cache = prefix_cache(model, prefix)
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


def label_inputs(model, tokenizer, conversations: list[list[dict]], labels: list[str]):
    """(label trie, each prompt's token ids, the cached shared prefix) that label scoring and label search start from."""
    end_ids = tokenizer(_end_of_turn(tokenizer), add_special_tokens=False)["input_ids"]
    # The end of turn is scored too: "billing" must not win over "billing_disputes".
    trie = LabelTrie([tokenizer(label, add_special_tokens=False)["input_ids"] + end_ids for label in labels])
    token_lists = [tokenizer(render_prompt(tokenizer, c), add_special_tokens=False)["input_ids"]
                   for c in conversations]
    return trie, token_lists, _prefix_cache_for(model, token_lists)


def label_scores(model, tokenizer, conversations: list[list[dict]], labels: list[str], *, description: str = "",
                 batch_size: int = 8):
    """log P(label + end of turn | prompt) for every conversation × label, a [conversations, labels] tensor.

    One forward per batch of examples: after the cached shared prefix, each example's own tokens are followed by
    a trie of the label tokens (labels sharing a first token share its node), all packed in one row; a tree mask
    lets each token see the prefix, its example's prompt and its own trie ancestors only, and positions continue
    along each path, so every score equals scoring the label alone after the prompt."""
    import torch

    model.eval()
    trie, token_lists, prefix = label_inputs(model, tokenizer, conversations, labels)
    out = torch.empty(len(token_lists), len(labels), dtype=torch.float32, device=model.device)
    with make_progress() as progress, torch.inference_mode():
        task = progress.add_task(description, total=len(token_lists), info=f"label scoring, {trie.size} trie tokens")
        for start in range(0, len(token_lists), batch_size):
            chunk = token_lists[start:start + batch_size]
            out[start:start + len(chunk)] = _score_chunk(model, prefix, chunk, trie)
            progress.advance(task, len(chunk))
    return out


class LabelTrie:
    """Label token sequences as a trie: node i holds `tokens[i]`, its parent is `parents[i]` (-1 = a root).
    `paths[label]` lists the label's nodes from the root, so its j-th token is predicted at node j-1's position
    (the first at the prompt's last position)."""

    def __init__(self, sequences: list[list[int]]):
        self.tokens: list[int] = []
        self.parents: list[int] = []
        index: dict[tuple[int, int], int] = {}
        self.paths: list[list[int]] = []
        for seq in sequences:
            node, path = -1, []
            for token in seq:
                if (node, token) not in index:
                    index[(node, token)] = len(self.tokens)
                    self.tokens.append(token)
                    self.parents.append(node)
                node = index[(node, token)]
                path.append(node)
            self.paths.append(path)
        self.size = len(self.tokens)
        self.depth = max((len(p) for p in self.paths), default=0)
        self.depths = [0] * len(self.parents)  # node -> number of ancestors
        self.children: dict[int, list[int]] = {}  # node (-1: the root) -> its children in insertion order
        for node, parent in enumerate(self.parents):
            self.depths[node] = 0 if parent < 0 else self.depths[parent] + 1
            self.children.setdefault(parent, []).append(node)


def _prefix_cache_for(model, token_lists: list[list[int]]) -> "PrefixCache | None":
    prefix_ids = shared_prefix(token_lists)
    return prefix_cache(model, prefix_ids) if len(prefix_ids) >= MIN_SHARED_PREFIX else None


def _score_chunk(model, prefix: "PrefixCache | None", chunk: list[list[int]], trie: LabelTrie):
    """Label log-likelihoods of a few prompts in one forward (see `label_scores`)."""
    import torch

    skip = len(prefix.ids) if prefix is not None else 0
    blocks, wanted, offset = [], [], 0
    for ids in chunk:
        own = ids[skip:]
        chain = list(range(-1, len(own) - 1))  # each prompt token's parent is the token before it
        blocks.append((own + trie.tokens, chain + [p + len(own) if p >= 0 else len(own) - 1 for p in trie.parents]))
        # Where each label token is predicted: the prompt's last token, then the label's own nodes.
        wanted.append([[offset + len(own) - 1] + [offset + len(own) + node for node in path[:-1]]
                       for path in trie.paths])
        offset += len(blocks[-1][0])
    keep = sorted({i for per_example in wanted for at in per_example for i in at})
    row_of = {position: row for row, position in enumerate(keep)}
    log_probs = tree_forward_log_probs(model, prefix, blocks, keep)
    rows = torch.tensor([[row_of[i] for i in at] + [-1] * (trie.depth - len(at))
                         for per_example in wanted for at in per_example], device=model.device)
    targets = torch.tensor([[trie.tokens[n] for n in path] + [0] * (trie.depth - len(path)) for path in trie.paths],
                           device=model.device).repeat(len(chunk), 1)
    valid = rows >= 0
    picked = log_probs[rows.clamp(min=0), targets] * valid
    return picked.sum(-1).view(len(chunk), len(trie.paths))


def tree_forward_log_probs(model, prefix: "PrefixCache | None", blocks: list[tuple[list[int], list[int]]],
                           keep: list[int]):
    """Next-token log-probabilities (float32, [len(keep), vocab]) at the packed positions `keep` of token trees
    after an optional cached prefix (the LM head runs at those positions only).

    Each block is (tokens, parents) with parents indexing the block (-1: attached to the prefix only). A token
    attends to the whole prefix and to its ancestors in its own block; its position is its depth after the
    prefix. The prefix cache is cropped back afterwards, so it can be reused."""
    import torch

    device = model.device
    skip = len(prefix.ids) if prefix is not None else 0
    ids, positions, spans = [], [], []
    for tokens, parents in blocks:
        depth: list[int] = []
        for p in parents:
            depth.append(0 if p < 0 else depth[p] + 1)
        spans.append((len(ids), parents))
        ids += tokens
        positions += [skip + d for d in depth]
    n = len(ids)
    mask = torch.zeros(n, skip + n, dtype=torch.bool, device=device)
    mask[:, :skip] = True
    for begin, parents in spans:
        for i, p in enumerate(parents):
            row = begin + i
            if p >= 0:
                mask[row, skip:] = mask[begin + p, skip:]
            mask[row, skip + row] = True
    cache = prefix.cache if prefix is not None else None
    out = model(input_ids=torch.tensor([ids], device=device), position_ids=torch.tensor([positions], device=device),
                attention_mask=mask[None, None], past_key_values=cache, use_cache=cache is not None,
                logits_to_keep=torch.tensor(keep, device=device))
    if cache is not None:
        cache.crop(-n)
    return torch.log_softmax(out.logits[0].float(), -1)


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
