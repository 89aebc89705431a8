"""honed's CPU fast path: padding-free packing plus logits only where the loss is.

A batch of rendered conversations becomes one row: sequences are concatenated and `position_ids` restart at 0
for each, which transformers turns into a block-diagonal attention mask (masking_utils
`find_packed_sequence_indices`), so no token attends across sequences and no compute goes to padding.

Only positions whose *next* token is supervised need logits. The collator passes their indices as
`logits_to_keep` (the model applies its LM head to those rows only) and their targets as `shift_labels` (the
causal-LM loss then skips its own shift). On chat classification that is ~5 of ~110 positions per example, so
the 49k-wide LM head and its softmax almost vanish from the step. It works unchanged through PEFT.

On GPUs TRL's fused LM head does the same with Triton kernels; on CPU TRL scores every position (its compact
path is Triton-only), which measured slower than plain transformers here (benchmarks/RESULTS.md).
"""
from __future__ import annotations

from honed.core.chat import IGNORE_INDEX as IGNORE


def next_token_targets(input_ids: list[int], mask: list[int]) -> list[int]:
    """targets[i] = input_ids[i+1] where that token is trained on, else -100 (the last position never is)."""
    return [input_ids[i + 1] if mask[i + 1] else IGNORE for i in range(len(input_ids) - 1)] + [IGNORE]


class PackedSupervisedCollator:
    """Collates {"input_ids", "assistant_masks"} rows into one packed row with sparse logits."""

    def __call__(self, features: list[dict]) -> dict:
        import torch

        ids: list[int] = []
        positions: list[int] = []
        targets: list[int] = []
        for feature in features:
            tokens, mask = list(feature["input_ids"]), list(feature["assistant_masks"])
            ids += tokens
            positions += range(len(tokens))
            targets += next_token_targets(tokens, mask)
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
            # With a KV cache present transformers skips packed-sequence detection; training needs none anyway.
            "use_cache": False,
        }


def plain_trainer(cfg, model, args, train_dataset, eval_dataset, callbacks):
    """transformers' Trainer over packed rows with sparse logits; the PEFT method is applied here."""
    from transformers import Trainer

    from honed.train.methods import peft_config_for

    peft_config = peft_config_for(cfg.method)
    if peft_config is not None:
        from peft import get_peft_model

        if cfg.train.gradient_checkpointing:
            model.enable_input_require_grads()  # checkpointed frozen layers still need grads to flow to adapters
        model = get_peft_model(model, peft_config)
    return Trainer(model=model, args=args, train_dataset=train_dataset, eval_dataset=eval_dataset,
                   data_collator=PackedSupervisedCollator(), callbacks=callbacks)
