"""Merge a run's LoRA adapter into its base in full precision and save an ordinary Hugging Face directory."""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from honed.core.errors import HonedError
from honed.export.source import TrainedRun, find_run
from honed.export.tokens import end_token_ids

MERGEABLE = ("LORA", "IA3", "LOHA", "LOKR", "ADALORA")


def merged_model(run_dir: str | Path | TrainedRun):
    """(model, tokenizer) of a run with the adapter folded into the weights, float32, in eval mode."""
    import torch

    run = run_dir if isinstance(run_dir, TrainedRun) else find_run(run_dir)
    from honed.models.load import load_model, load_tokenizer

    if run.is_full_model:  # a full fine-tune is already the finished model
        model, _ = load_model(str(run.adapter_dir), dtype="float32")
        return model.eval(), _run_tokenizer(run, load_tokenizer)
    _check_mergeable(run)
    # The base is always loaded in float32, even when training used a 4-bit (QLoRA) base: merging into
    # quantised weights would round the adapter's update away.
    base, _ = load_model(run.base, dtype="float32")
    from peft import PeftModel

    with torch.no_grad():
        peft_model = PeftModel.from_pretrained(base, str(run.adapter_dir), is_trainable=False)
        model = peft_model.merge_and_unload()
    return model.eval(), _run_tokenizer(run, load_tokenizer)


def save_merged(run: TrainedRun, out: Path, model=None, tokenizer=None) -> Path:
    """Write safetensors, tokenizer + chat template, generation_config.json and a model card into `out`."""
    from honed.export.card import model_card

    if model is None:
        model, tokenizer = merged_model(run)
    set_generation_eos(model, tokenizer)
    with staging_dir(out) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        (tmp / "README.md").write_text(model_card(run, model, tokenizer, fmt="merged"), encoding="utf-8")
        _check_generation_config(tmp, end_token_ids(tokenizer))
    return out


def set_generation_eos(model, tokenizer) -> None:
    """Make generation stop at every end token, the template's end-of-turn first."""
    ends = end_token_ids(tokenizer)
    config = model.generation_config
    config.eos_token_id = ends if len(ends) > 1 else ends[0]
    config.pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else ends[0]
    if tokenizer.bos_token_id is not None:
        config.bos_token_id = tokenizer.bos_token_id


class staging_dir:
    """Write into a temporary sibling, then swap it into place: a killed export never leaves half a model."""

    def __init__(self, target: Path):
        self.target = Path(target)

    def __enter__(self) -> Path:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(dir=self.target.parent, prefix=f".{self.target.name}."))
        return self.tmp

    def __exit__(self, kind, value, tb) -> None:
        if kind is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return
        if self.target.exists():
            old = self.target.with_name(f".{self.target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            self.target.rename(old)
            shutil.rmtree(old, ignore_errors=True)
        self.tmp.rename(self.target)


def _check_mergeable(run: TrainedRun) -> None:
    config = json.loads((run.adapter_dir / "adapter_config.json").read_text(encoding="utf-8"))
    kind = str(config.get("peft_type", "")).upper()
    if kind not in MERGEABLE:
        raise HonedError(f"a {kind or 'unknown'} adapter cannot be merged into the base weights (only "
                         f"{', '.join(MERGEABLE)} can)", "serve it with its base instead, or retrain with "
                         "`method.kind=lora`")


def _run_tokenizer(run: TrainedRun, load_tokenizer):
    """The tokenizer saved with the run (it is what training used), else the base's."""
    if (run.adapter_dir / "tokenizer_config.json").is_file():
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(run.adapter_dir)
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        return tokenizer
    return load_tokenizer(run.base)


def _check_generation_config(directory: Path, ends: list[int]) -> None:
    saved = json.loads((directory / "generation_config.json").read_text(encoding="utf-8"))
    eos = saved.get("eos_token_id")
    eos = eos if isinstance(eos, list) else [eos]
    if not set(ends) <= set(eos):  # a bug in honed, not in the user's run
        raise RuntimeError(f"generation_config.json lost end tokens: {eos} lacks {ends}")
