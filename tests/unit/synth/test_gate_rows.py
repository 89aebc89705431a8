"""The synthetic training set: the real rows (subsampled exactly as the real-only training is) plus the synthetic
rows on top, never in place of a real row; validation and test untouched."""
from __future__ import annotations

from honed.core.config import load_config
from honed.core.prepared import PreparedData
from honed.data.split import subsample
from honed.runs import with_rows


def test_synthetic_rows_come_on_top_of_the_same_real_rows(tiny_project):
    cfg = load_config(tiny_project, ["train.max_train_examples=10"])
    real = [{"kind": "conversation", "messages": [{"role": "user", "content": f"r{i}"},
                                                   {"role": "assistant", "content": "a"}]} for i in range(30)]
    fake = [{**r, "meta": {"synthetic": {"teacher": "t", "prompt": "p"}}} for r in real[:5]]
    data = PreparedData(tiny_project.parent, "h", {"train": real, "validation": real[:2], "test": real[2:4]},
                        counts={"train": 30}, labels=[])
    more_cfg, more = with_rows(cfg, data, fake)
    sampled = subsample(real, 10, cfg.train.seed)
    assert more.splits["train"] == sampled + fake and len(more.splits["train"]) == 15
    assert more_cfg.train.max_train_examples is None and cfg.train.max_train_examples == 10
    assert more.splits["test"] == data.splits["test"] and more.dataset_hash != data.dataset_hash
    assert more.counts["synthetic"] == 5 and more_cfg.root == cfg.root
