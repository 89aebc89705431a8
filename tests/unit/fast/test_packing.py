"""honed's fast path (TRL padding-free packing + fused LM head on supervised positions) is exact on CPU.

Packed rows restart `position_ids` per sequence; transformers turns that into a block-diagonal mask for SDPA.
These tests prove no token attends across sequences and that the packed loss equals the padded reference.
"""
from __future__ import annotations

import pytest
import torch
from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

from honed.models.load import build_tiny_model

PAD = 0


def features(seed: int = 0, n: int = 4, vocab: int = 300) -> list[dict]:
    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(n):
        length = 6 + 5 * i
        ids = torch.randint(3, vocab, (length,), generator=g).tolist()
        labels = [-100] * (length // 2) + ids[length // 2:]
        out.append({"input_ids": ids, "labels": labels})
    return out


def packed(feats):
    return DataCollatorForLanguageModeling(pad_token_id=PAD, padding_free=True)(feats)


def padded(feats):
    return DataCollatorForLanguageModeling(pad_token_id=PAD)(feats)


@pytest.fixture(scope="module")
def model():
    m = build_tiny_model(300, seed=0, pad_token_id=PAD)
    m.config._attn_implementation = "sdpa"
    return m.eval()


def test_packed_batch_is_one_row_without_padding():
    feats = features()
    batch = packed(feats)
    assert batch["input_ids"].shape == (1, sum(len(f["input_ids"]) for f in feats))
    assert "attention_mask" not in batch
    assert (batch["position_ids"][0] == 0).sum() == len(feats)


def test_packed_loss_equals_padded_loss(model):
    feats = features()
    with torch.no_grad():
        reference = model(**padded(feats), use_cache=False).loss
        fast = model(**packed(feats), use_cache=False).loss
    assert torch.allclose(reference, fast, atol=1e-5), (reference, fast)


def test_no_attention_across_packed_sequences(model):
    """Changing the first sequence must not change the second one's logits, which equal it run alone."""
    a, b = features(seed=1, n=2)
    altered = {"input_ids": [t % 250 + 7 for t in reversed(a["input_ids"])], "labels": a["labels"]}

    def logits_of_b(first):
        batch = packed([first, b])
        batch.pop("labels")
        with torch.no_grad():
            return model(**batch, use_cache=False).logits[0, len(first["input_ids"]):]

    alone = model(input_ids=torch.tensor([b["input_ids"]]), use_cache=False).logits[0]
    assert torch.allclose(logits_of_b(a), logits_of_b(altered), atol=1e-5)
    assert torch.allclose(logits_of_b(a), alone, atol=1e-5)


def test_fused_head_loss_matches_full_logits():
    """TRL's fused LM head projects only supervised positions; its loss equals the full-logits loss."""
    from trl.trainer.utils import add_fused_lm_head

    feats = features(seed=2)
    m = build_tiny_model(300, seed=0, pad_token_id=PAD)
    m.config._attn_implementation = "sdpa"
    batch = packed(feats)
    with torch.no_grad():
        reference = m(**batch, use_cache=False).loss
        add_fused_lm_head(m)
        out = m(**batch, use_cache=False, fused_lm_head=True)
    fused = -out.log_probs.sum() / out.label_mask.sum()
    assert torch.allclose(reference, fused, atol=1e-5), (reference, fused)


def sparse(feats):
    from honed.train.fast import PackedSupervisedCollator

    return PackedSupervisedCollator()([{"input_ids": f["input_ids"],
                                        "assistant_masks": [int(t != -100) for t in f["labels"]]} for f in feats])


def test_next_token_targets_by_hand():
    from honed.train.fast import next_token_targets

    assert next_token_targets([5, 6, 7, 8], [0, 0, 1, 1]) == [-100, 7, 8, -100]


def test_cpu_fast_path_loss_and_gradients_equal_the_padded_reference():
    """honed.train.fast: packed rows + logits only at supervised positions give the same loss and gradients."""
    feats = features(seed=3)
    results = []
    for collate in (padded, sparse):
        m = build_tiny_model(300, seed=0, pad_token_id=PAD)
        m.config._attn_implementation = "sdpa"
        batch = collate(feats)
        batch.setdefault("use_cache", False)
        out = m(**batch)
        out.loss.backward()
        results.append((out.loss.detach(), m.model.layers[0].mlp.down_proj.weight.grad.clone(), out.logits.shape[1]))
    (loss_ref, grad_ref, _), (loss_fast, grad_fast, kept) = results
    assert torch.allclose(loss_ref, loss_fast, atol=1e-5)
    assert torch.allclose(grad_ref, grad_fast, atol=1e-5)
    assert kept == sum(sum(t != -100 for t in f["labels"]) for f in feats)  # logits only where the loss is
