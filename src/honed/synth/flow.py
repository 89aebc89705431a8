"""Synthetic rows for a prepared dataset (train split = seeds; test + validation = never near), written to disk."""
from __future__ import annotations

from pathlib import Path

from honed.core.config import Config
from honed.core.errors import HonedError
from honed.synth.synthesize import Synthesis


def synthesize_for(cfg: Config, data, n: int, teacher: str = "local", augment_only: bool = False, model=None,
                   tokenizer=None, transport=None) -> Synthesis:
    """New rows from `data`'s train split, by a teacher (`local` or a URL) or by augmentation (`augment_only`)."""
    from honed.core.records import as_record

    seeds = data.splits.get("train", [])
    if any(as_record(r).kind != "conversation" for r in seeds):
        raise HonedError("synthetic data is made for conversation data (classification, extraction, generation)",
                         "preference, KTO and text rows have no single input to imitate; remove data.synthetic")
    if len(seeds) < 2:
        raise HonedError(f"{len(seeds)} training row(s) are too few seeds", "add real examples first")
    avoid = data.splits.get("test", []) + data.splits.get("validation", [])
    if augment_only:
        from honed.synth.augment import augment

        return augment(cfg, seeds, avoid, n)
    from honed.synth.synthesize import synthesize
    from honed.synth.teacher import make_teacher

    return synthesize(cfg, seeds, avoid, n, make_teacher(cfg, teacher, model, tokenizer, transport))


def write_synthesis(result: Synthesis, path: Path) -> tuple[Path, Path]:
    """The kept rows to `path` and the dropped candidates with reasons beside it (both write-then-rename)."""
    from honed.core.prepared import write_jsonl

    path.parent.mkdir(parents=True, exist_ok=True)
    dropped = path.with_name(path.name.removesuffix(".jsonl") + ".dropped.jsonl")
    write_jsonl(path, result.rows)
    write_jsonl(dropped, result.dropped)
    return path, dropped
