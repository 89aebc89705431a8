"""Every method trains tiny-random: its trainable weights change and its frozen weights do not."""
from __future__ import annotations

import math

import pytest
import torch
from trainkit import chats, tiny_cfg
from transformers import TrainerCallback

from honed.core.errors import HonedError
from honed.train import loop

METHODS = {
    "full": {"kind": "full"},
    "lora": {"kind": "lora", "target_modules": ["q_proj", "v_proj"]},
    "lora-rslora-all-linear": {"kind": "lora", "use_rslora": True, "target_modules": "all-linear"},
    "dora": {"kind": "dora"},
    "ia3": {"kind": "ia3"},
    "prefix": {"kind": "prefix"},
    "prompt": {"kind": "prompt"},
}


class Snapshot(TrainerCallback):
    """Copies every parameter (by identity) as training begins, after the PEFT wrapper is in place."""

    def __init__(self):
        self.before = {}

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self.before = {name: (p, p.detach().clone(), p.requires_grad) for name, p in model.named_parameters()}


@pytest.mark.parametrize("name", list(METHODS))
def test_method_changes_trainable_and_keeps_frozen(name, run_dir, monkeypatch):
    from honed.models.load import load_model
    from honed.train.sft import train_sft

    snapshot = Snapshot()
    original = loop.make_callbacks
    monkeypatch.setattr("honed.train.sft.make_callbacks", lambda *a: original(*a) + [snapshot])
    cfg = tiny_cfg(METHODS[name], max_steps=2)
    model, tokenizer = load_model("tiny-random")
    result = train_sft(cfg, model, tokenizer, chats(8), [], run_dir(cfg))
    trainable = {n: v for n, v in snapshot.before.items() if v[2]}
    frozen = {n: v for n, v in snapshot.before.items() if not v[2]}
    assert trainable and result.trainable_params == sum(v[0].numel() for v in trainable.values())
    unchanged = [n for n, (p, old, _) in trainable.items() if torch.equal(p.detach(), old)]
    assert not unchanged, f"trainable weights that did not move: {unchanged}"
    moved = [n for n, (p, old, _) in frozen.items() if not torch.equal(p.detach(), old)]
    assert not moved, f"frozen weights that moved: {moved}"
    if name == "full":
        assert not frozen and result.trainable_params == result.total_params
    else:
        assert result.trainable_params < result.total_params / 10
    assert (result.adapter_dir / ("model.safetensors" if name == "full" else "adapter_config.json")).is_file()
    assert all(math.isfinite(loss) for _, loss in result.train_loss)


def test_rslora_and_all_linear_reach_peft():
    from honed.core.config import Method
    from honed.train.methods import peft_config_for

    config = peft_config_for(Method(kind="lora", use_rslora=True))
    assert config.use_rslora and config.target_modules == "all-linear"
    assert peft_config_for(Method(kind="dora")).use_dora
    assert peft_config_for(Method(kind="full")) is None


def test_qlora_on_cpu_is_a_clear_error(run_dir):
    from honed.models.load import load_model
    from honed.train.sft import train_sft

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    cfg = tiny_cfg({"kind": "qlora"})
    model, tokenizer = load_model("tiny-random")
    with pytest.raises(HonedError, match="QLoRA needs a CUDA GPU"):
        train_sft(cfg, model, tokenizer, chats(4), [], run_dir(cfg))
