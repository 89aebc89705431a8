"""honed's CPU fast path: padding-free packing, a shared prefix computed once, logits only where the loss is.

A batch of rendered conversations becomes one row. Attention runs segment by segment (`segment_attention`,
registered with transformers as the "honed_segments" attention implementation): each sequence attends to itself
causally, so no token sees another sequence, no compute goes to padding, and memory stays linear in the row
length (transformers' packed-sequence path builds one dense mask over the whole row and runs SDPA over all of
it, quadratic in the row's length).

Prefix sharing (exact): rows of a batch that start with the same tokens (the system instruction, few-shot
demonstrations) carry that prefix once. The prefix is a segment of its own; each row's remainder is a segment
that attends to the whole prefix and causally to itself, with positions continuing after the prefix. Every
row's tokens therefore see exactly what they would see unshared, and the prefix's activations get gradients from
every row. A prefix never covers a supervised position, so the loss terms are the same set. With LoRA the
prefix's activations depend on the adapter, so it is recomputed every step (once per packed row), never cached.

Across the epoch, `PrefixGroupedSampler` orders the rows so that each batch holds rows that start alike (same
first MIN_SHARED_PREFIX tokens: one system prompt or one document of several), so sharing applies in every batch
even when the data mixes several prefixes. When every row starts alike, Trainer's own sampler is kept (same
batches as before and as plain transformers with the same seed).

Batches of long rows run as micro-batches of at most TOKENS_PER_FORWARD tokens with gradient accumulation
(`micro_batch`, chosen in sft.py), which bounds activation memory without changing the update.

Only positions whose *next* token is supervised need logits. The collator passes their indices as
`logits_to_keep` (the model applies its LM head to those rows only) and their targets as `shift_labels` (the
causal-LM loss then skips its own shift). On chat classification that is ~5 of ~110 positions per example, so
the 49k-wide LM head and its softmax almost vanish from the step. It works unchanged through PEFT.

On GPUs TRL's fused LM head and padding-free flash attention do the same (honed.train.sft).
"""
from __future__ import annotations

from dataclasses import dataclass

from honed.core.chat import IGNORE_INDEX as IGNORE
from honed.models.memory import TOKENS_PER_FORWARD, micro_batch  # noqa: F401 — the planner agrees with it

ATTENTION = "honed_segments"
MIN_SHARED_PREFIX = 8  # tokens; a shorter common prefix is not worth a segment of its own


def next_token_targets(input_ids: list[int], mask: list[int]) -> list[int]:
    """targets[i] = input_ids[i+1] where that token is trained on, else -100 (the last position never is)."""
    return [input_ids[i + 1] if mask[i + 1] else IGNORE for i in range(len(input_ids) - 1)] + [IGNORE]


@dataclass(frozen=True)
class Segment:
    """Queries [start, end) attend causally to themselves and fully to the keys [context_start, context_end)."""

    start: int
    end: int
    context_start: int = 0
    context_end: int = 0


def shareable_prefix(rows: list[tuple[list[int], list[int]]]) -> int:
    """Length of the prefix all (ids, mask) rows share that no supervised token depends on: the prefix's last
    position may not predict a trained token (its single logit would stand for every row), and every row keeps
    at least one token of its own."""
    if len(rows) < 2:
        return 0
    limit = min(min(len(ids) - 1, next((i for i, m in enumerate(mask) if m), len(ids)) - 1) for ids, mask in rows)
    first = rows[0][0]
    n = 0
    while n < limit and all(ids[n] == first[n] for ids, _ in rows):
        n += 1
    return n if n >= MIN_SHARED_PREFIX else 0


def group_by_prefix(rows: list[tuple[list[int], list[int]]]) -> list[list[int]]:
    """Indices of the rows in groups that share a prefix (greedy, in order: each row joins the first group whose
    shareable prefix with it is long enough), so mixed batches still share what they can."""
    groups: list[list[int]] = []
    for i, row in enumerate(rows):
        for group in groups:
            if shareable_prefix([rows[group[0]], row]):
                group.append(i)
                break
        else:
            groups.append([i])
    return groups


def prefix_grouped_order(token_lists: list[list[int]], batch_size: int, seed: int) -> list[int]:
    """A seeded permutation of the rows in which every run of `batch_size` rows starts alike where possible.

    Rows are bucketed by their first MIN_SHARED_PREFIX tokens (any shareable prefix begins with them), each bucket
    shuffled and cut into full batches; the leftovers of all buckets make mixed batches. Full batches come in a
    shuffled order and the one partial batch (if any) last, since the data loader cuts the order into batches."""
    import random

    rng = random.Random(seed)
    buckets: dict[tuple[int, ...], list[int]] = {}
    for i, ids in enumerate(token_lists):
        buckets.setdefault(tuple(ids[:MIN_SHARED_PREFIX]), []).append(i)
    batches, leftovers = [], []
    for members in buckets.values():
        rng.shuffle(members)
        full = len(members) - len(members) % batch_size
        batches += [members[i:i + batch_size] for i in range(0, full, batch_size)]
        leftovers += members[full:]
    rng.shuffle(leftovers)
    mixed = [leftovers[i:i + batch_size] for i in range(0, len(leftovers), batch_size)]
    last = [mixed.pop()] if mixed and len(mixed[-1]) < batch_size else []
    batches += mixed
    rng.shuffle(batches)
    return [i for batch in batches + last for i in batch]


class PrefixGroupedSampler:
    """A torch-compatible sampler yielding `prefix_grouped_order`, reshuffled each epoch (seed + epoch; Trainer
    calls `set_epoch`, so a resumed run sees the same order as an uninterrupted one)."""

    def __init__(self, token_lists: list[list[int]], batch_size: int, seed: int):
        self.token_lists, self.batch_size, self.seed, self.epoch = token_lists, batch_size, seed, 0

    def __len__(self) -> int:
        return len(self.token_lists)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        return iter(prefix_grouped_order(self.token_lists, self.batch_size, self.seed + self.epoch))


class PackedSupervisedCollator:
    """Collates {"input_ids", "assistant_masks"} rows into one packed row with shared prefixes and sparse logits.

    `share_prefix=False` packs every row whole (the plain packed layout). `real_tokens` / `computed_tokens` count
    what the rows hold vs what the model ran, so throughput can be stated in real tokens."""

    def __init__(self, share_prefix: bool = True):
        self.share_prefix = share_prefix
        self.real_tokens = 0
        self.computed_tokens = 0

    def __call__(self, features: list[dict]) -> dict:
        import torch

        rows = [(list(f["input_ids"]), list(f["assistant_masks"])) for f in features]
        ids: list[int] = []
        positions: list[int] = []
        targets: list[int] = []
        segments: list[Segment] = []
        groups = group_by_prefix(rows) if self.share_prefix else [[i] for i in range(len(rows))]
        for group in groups:
            members = [rows[i] for i in group]
            shared = shareable_prefix(members)
            context = (len(ids), len(ids) + shared)
            if shared:
                segments.append(Segment(len(ids), len(ids) + shared))
                ids += members[0][0][:shared]
                positions += range(shared)
                targets += [IGNORE] * shared
            for tokens, mask in members:
                own = next_token_targets(tokens, mask)[shared:]
                segments.append(Segment(len(ids), len(ids) + len(tokens) - shared, *(context if shared else (0, 0))))
                ids += tokens[shared:]
                positions += range(shared, len(tokens))
                targets += own
        self.real_tokens += sum(len(tokens) for tokens, _ in rows)
        self.computed_tokens += len(ids)
        keep = [i for i, t in enumerate(targets) if t != IGNORE]
        kept_targets = torch.tensor([[targets[i] for i in keep]], dtype=torch.long)
        return {
            "input_ids": torch.tensor([ids], dtype=torch.long),
            "position_ids": torch.tensor([positions], dtype=torch.long),
            "logits_to_keep": torch.tensor(keep, dtype=torch.long),
            # `labels` switches the loss on and feeds Trainer's token count; `shift_labels` (aligned with the kept
            # logits) is what the loss uses.
            "labels": kept_targets,
            "shift_labels": kept_targets,
            # Read by `segment_attention` in every layer (a plain tuple: Trainer and accelerate leave it as is).
            "honed_segments": tuple(segments),
            "use_cache": False,
        }


def segment_attention(module, query, key, value, attention_mask, dropout: float = 0.0, scaling=None,
                      honed_segments=None, **kwargs):
    """Attention over a packed row, one SDPA call per segment (see the module docstring).

    query [1, heads, n, d], key/value [1, kv_heads, n, d]; returns [1, n, heads, d] like transformers' kernels.
    A causal segment without context uses SDPA's `is_causal` kernel (no mask is materialised); a segment with a
    context gets a small [len, context + len] mask."""
    import torch
    from transformers.integrations.sdpa_attention import repeat_kv

    if honed_segments is None:
        raise RuntimeError(f"the `{ATTENTION}` attention needs `honed_segments` (honed.train.fast collator); "
                           "switch the model back to sdpa for other inputs")
    groups = getattr(module, "num_key_value_groups", 1)
    key, value = repeat_kv(key, groups), repeat_kv(value, groups)
    outputs = []
    for seg in honed_segments:
        q = query[:, :, seg.start:seg.end]
        if seg.context_end > seg.context_start:
            k = torch.cat([key[:, :, seg.context_start:seg.context_end], key[:, :, seg.start:seg.end]], dim=2)
            v = torch.cat([value[:, :, seg.context_start:seg.context_end], value[:, :, seg.start:seg.end]], dim=2)
            length, context = seg.end - seg.start, seg.context_end - seg.context_start
            mask = torch.ones(length, context + length, dtype=torch.bool, device=query.device).tril(context)
            out = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout,
                                                                   scale=scaling)
        else:
            out = torch.nn.functional.scaled_dot_product_attention(
                q, key[:, :, seg.start:seg.end], value[:, :, seg.start:seg.end], is_causal=True, dropout_p=dropout,
                scale=scaling)
        outputs.append(out)
    return torch.cat(outputs, dim=2).transpose(1, 2).contiguous(), None


def use_segment_attention(model) -> str:
    """Switch `model` (or the model under a PEFT wrapper) to segment attention; returns the previous setting."""
    from transformers import AttentionInterface

    AttentionInterface.register(ATTENTION, segment_attention)
    config = model.config
    previous = config._attn_implementation
    config._attn_implementation = ATTENTION
    return previous


def restore_attention_callback(model, previous: str):
    """A TrainerCallback putting the model's attention back when training ends (evaluation pads and caches)."""
    from transformers import TrainerCallback

    class RestoreAttention(TrainerCallback):
        def on_train_end(self, args, state, control, **kwargs):
            model.config._attn_implementation = previous

    return RestoreAttention()


def plain_trainer(cfg, model, args, train_dataset, eval_dataset, callbacks, share_prefix: bool = True):
    """transformers' Trainer over packed rows with shared prefixes and sparse logits; the PEFT method is applied
    here. The model runs segment attention during training and gets its own attention back at the end."""
    from transformers import Trainer

    from honed.train.methods import peft_config_for

    previous = use_segment_attention(model)
    peft_config = peft_config_for(cfg.method)
    if peft_config is not None:
        from peft import get_peft_model

        if cfg.train.gradient_checkpointing:
            model.enable_input_require_grads()  # checkpointed frozen layers still need grads to flow to adapters
        model = get_peft_model(model, peft_config)
    callbacks = [*callbacks, restore_attention_callback(model, previous)]

    class PrefixGroupedTrainer(Trainer):
        def _get_train_sampler(self, train_dataset=None):
            dataset = train_dataset if train_dataset is not None else self.train_dataset
            token_lists = list(dataset["input_ids"])
            if len({tuple(ids[:MIN_SHARED_PREFIX]) for ids in token_lists}) < 2:
                return super()._get_train_sampler(train_dataset)  # one prefix: every batch shares it anyway
            seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
            return PrefixGroupedSampler(token_lists, self.args.per_device_train_batch_size, seed)

    trainer_class = PrefixGroupedTrainer if share_prefix else Trainer
    return trainer_class(model=model, args=args, train_dataset=train_dataset, eval_dataset=eval_dataset,
                         data_collator=PackedSupervisedCollator(share_prefix), callbacks=callbacks)
