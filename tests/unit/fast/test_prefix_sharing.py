"""Prefix sharing and segment attention (honed.train.fast) are exact: the same loss and gradients as each row
run alone, padded, with full logits; no token sees another row; the prefix gets gradients from every row."""
from __future__ import annotations

import pytest
import torch
from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

from honed.models.load import build_tiny_model
from honed.train import fast

PAD = 0
VOCAB = 300


def rows(seed: int = 0, n: int = 4, shared: int = 12, prefixes: int = 1) -> list[dict]:
    """n rows: a shared prefix (one of `prefixes`), a per-row prompt, then a supervised answer."""
    g = torch.Generator().manual_seed(seed)
    heads = [torch.randint(3, VOCAB, (shared,), generator=g).tolist() for _ in range(prefixes)]
    out = []
    for i in range(n):
        prompt = torch.randint(3, VOCAB, (3 + 2 * i,), generator=g).tolist()
        answer = torch.randint(3, VOCAB, (2 + i % 3,), generator=g).tolist()
        ids = heads[i % prefixes] + prompt + answer
        out.append({"input_ids": ids, "assistant_masks": [0] * (len(ids) - len(answer)) + [1] * len(answer)})
    return out


def model():
    m = build_tiny_model(VOCAB, seed=0, pad_token_id=PAD)
    m.config._attn_implementation = "sdpa"
    return m


def reference(feats):
    """Padded batch, full logits, the model's own causal attention."""
    batch = DataCollatorForLanguageModeling(pad_token_id=PAD)(
        [{"input_ids": f["input_ids"], "labels": [t if m else -100 for t, m in zip(f["input_ids"], f["assistant_masks"])]}
         for f in feats])
    return batch


def loss_and_grads(feats, collate):
    m = model()
    if collate is not reference:
        fast.use_segment_attention(m)
    out = m(**collate(feats))
    out.loss.backward()
    grads = {n: p.grad.clone() for n, p in m.named_parameters() if p.grad is not None}
    return out.loss.detach(), grads


@pytest.mark.parametrize("prefixes", [1, 2])
@pytest.mark.parametrize("share", [True, False])
def test_shared_prefix_loss_and_gradients_equal_the_padded_reference(prefixes, share):
    feats = rows(seed=prefixes, prefixes=prefixes)
    loss_ref, grads_ref = loss_and_grads(feats, reference)
    loss, grads = loss_and_grads(feats, fast.PackedSupervisedCollator(share_prefix=share))
    assert torch.allclose(loss, loss_ref, atol=1e-5), (loss, loss_ref)
    assert grads.keys() == grads_ref.keys()
    for name in grads:  # relative: the tiny model's gradients are small
        error = (grads[name] - grads_ref[name]).norm() / grads_ref[name].norm().clamp(min=1e-12)
        assert error < 1e-5, (name, float(error))


def test_the_prefix_is_computed_once_per_group():
    feats = rows(n=4, shared=12, prefixes=2)
    collator = fast.PackedSupervisedCollator()
    batch = collator(feats)
    total = sum(len(f["input_ids"]) for f in feats)
    assert batch["input_ids"].shape[1] == total - 2 * 12  # 2 groups of 2 rows: each group saves one prefix
    assert (collator.real_tokens, collator.computed_tokens) == (total, total - 24)
    segments = batch["honed_segments"]
    assert [s.end - s.start for s in segments if s.context_end == 0][:1] == [12]
    suffixes = [s for s in segments if s.context_end > s.context_start]
    assert len(suffixes) == 4 and all(s.context_end - s.context_start == 12 for s in suffixes)
    # Positions continue after the prefix in every suffix.
    first_suffix = suffixes[0]
    assert batch["position_ids"][0, first_suffix.start].item() == 12


def test_a_prefix_never_covers_a_supervised_prediction():
    a = {"input_ids": list(range(10, 30)), "assistant_masks": [0] * 10 + [1] * 10}
    b = {"input_ids": list(range(10, 30)), "assistant_masks": [0] * 9 + [1] * 11}  # same tokens, earlier answer
    assert fast.shareable_prefix([(a["input_ids"], a["assistant_masks"]), (b["input_ids"], b["assistant_masks"])]) == 8
    assert fast.shareable_prefix([(a["input_ids"], a["assistant_masks"])]) == 0  # nothing to share alone


def test_no_attention_across_rows_or_into_another_group():
    """Changing one row changes no other row's logits; a row's logits equal the row run alone."""
    feats = rows(seed=3, n=3, prefixes=1)
    altered = [dict(f) for f in feats]
    altered[0] = {**feats[0], "input_ids": feats[0]["input_ids"][:12] + [7] * (len(feats[0]["input_ids"]) - 12)}
    m = model()
    fast.use_segment_attention(m)

    def logits(fs):
        batch = fast.PackedSupervisedCollator()(fs)
        for key in ("labels", "shift_labels", "logits_to_keep"):
            batch.pop(key)
        with torch.no_grad():
            return m(**batch).logits[0]

    last = logits(feats)[-len(feats[2]["input_ids"]) + 12:]
    assert torch.allclose(last, logits(altered)[-len(feats[2]["input_ids"]) + 12:], atol=1e-5)
    m_ref = model()
    with torch.no_grad():
        alone = m_ref(input_ids=torch.tensor([feats[2]["input_ids"]])).logits[0, 12:]
    assert torch.allclose(last, alone, atol=1e-5)


def test_segment_attention_refuses_inputs_without_segments():
    m = model()
    fast.use_segment_attention(m)
    with pytest.raises(RuntimeError, match="honed_segments"):
        m(input_ids=torch.tensor([[5, 6, 7]]))


def test_micro_batch_fits_the_token_budget():
    assert fast.micro_batch(8, [110] * 20, budget=1024) == 8
    assert fast.micro_batch(8, [300] * 20, budget=1024) == 2  # 3 does not divide 8
    assert fast.micro_batch(6, [300] * 20, budget=1024) == 3
    assert fast.micro_batch(8, [5000] * 3, budget=1024) == 1


def test_micro_batches_with_accumulation_give_the_full_batch_gradient():
    """What Trainer does with gradient accumulation: each micro-batch's loss over the whole batch's token count."""
    feats = rows(seed=4, n=4)
    full = model()
    fast.use_segment_attention(full)
    full(**fast.PackedSupervisedCollator()(feats)).loss.backward()
    split = model()
    fast.use_segment_attention(split)
    batches = [fast.PackedSupervisedCollator()(feats[:2]), fast.PackedSupervisedCollator()(feats[2:])]
    total = sum(int(b["labels"].numel()) for b in batches)
    for batch in batches:
        split(**batch, num_items_in_batch=torch.tensor(total)).loss.backward()
    for (name, a), (_, b) in zip(full.named_parameters(), split.named_parameters()):
        assert torch.allclose(a.grad, b.grad, rtol=1e-4, atol=1e-7), name


def test_prefix_grouped_order_batches_rows_that_start_alike():
    """Three system prompts interleaved row by row: grouped batches each hold one prompt, except the mixed
    leftovers; the order is a permutation, the one partial batch comes last, and the seed decides the order."""
    heads = [[10 + k] * 12 for k in range(3)]
    token_lists = [heads[i % 3] + [100 + i, 7] for i in range(3 * 9 + 2)]  # 10, 10, 9 rows per prompt
    order = fast.prefix_grouped_order(token_lists, batch_size=4, seed=1)
    assert sorted(order) == list(range(len(token_lists)))
    batches = [order[i:i + 4] for i in range(0, len(order), 4)]
    pure = [b for b in batches[:-1] if len({token_lists[i][0] for i in b}) == 1]
    assert len(pure) == 6  # 10 // 4 + 10 // 4 + 9 // 4 full single-prompt batches, then 4 + 1 mixed leftovers
    assert all(len(b) == 4 for b in batches[:-1]) and len(batches[-1]) == len(token_lists) % 4
    assert order != fast.prefix_grouped_order(token_lists, batch_size=4, seed=2)
    sampler = fast.PrefixGroupedSampler(token_lists, 4, seed=1)
    assert list(sampler) == order == list(sampler)
    sampler.set_epoch(1)
    assert sorted(sampler) == sorted(order) and list(sampler) != order  # the next epoch reshuffles


def test_grouped_batches_compute_fewer_tokens_and_keep_loss_and_gradients_exact():
    """Over an epoch of two interleaved prefixes, grouping by prefix saves one prefix per batch compared with
    arrival order (where every batch mixes both), and each grouped batch still equals its padded reference."""
    feats = rows(seed=6, n=8, shared=12, prefixes=2)
    grouped = fast.prefix_grouped_order([f["input_ids"] for f in feats], batch_size=2, seed=0)
    plain, by_prefix = fast.PackedSupervisedCollator(), fast.PackedSupervisedCollator()
    for start in range(0, 8, 2):
        plain([feats[i] for i in range(start, start + 2)])
        by_prefix([feats[i] for i in grouped[start:start + 2]])
    assert plain.computed_tokens == plain.real_tokens  # rows 2k and 2k+1 never share a prefix
    assert by_prefix.computed_tokens == by_prefix.real_tokens - 4 * 12
    batch = [feats[i] for i in grouped[:2]]
    loss_ref, grads_ref = loss_and_grads(batch, reference)
    loss, grads = loss_and_grads(batch, fast.PackedSupervisedCollator())
    assert torch.allclose(loss, loss_ref, atol=1e-5)
    for name in grads:
        assert (grads[name] - grads_ref[name]).norm() / grads_ref[name].norm().clamp(min=1e-12) < 1e-5, name


def test_the_fast_path_trainer_batches_by_prefix(tmp_path):
    """plain_trainer's data loader yields prefix-grouped batches (two prefixes interleaved in the data)."""
    from datasets import Dataset
    from transformers import TrainingArguments

    from honed.core.config import validate_config

    feats = rows(seed=7, n=8, shared=12, prefixes=2)
    cfg = validate_config({"method": {"kind": "full"}})
    args = TrainingArguments(output_dir=str(tmp_path), per_device_train_batch_size=2, remove_unused_columns=False,
                             report_to=[], seed=3)
    trainer = fast.plain_trainer(cfg, model(), args, Dataset.from_list(feats), None, [])
    assert isinstance(trainer._get_train_sampler(), fast.PrefixGroupedSampler)
    heads = []
    for batch in trainer.get_train_dataloader():
        segments = batch["honed_segments"]
        heads.append(sum(1 for s in segments if s.context_end == 0 and s.end - s.start == 12))
    assert heads == [1, 1, 1, 1]  # every batch of 2 carries exactly one shared 12-token prefix
    single = fast.plain_trainer(cfg, model(), args, Dataset.from_list(rows(seed=7, n=8, prefixes=1)), None, [])
    assert not isinstance(single._get_train_sampler(), fast.PrefixGroupedSampler)  # Trainer's own shuffle
