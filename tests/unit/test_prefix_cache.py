"""Shared-prefix KV caching changes speed, never answers: cached and uncached decoding agree."""
from __future__ import annotations

import torch

from honed.evaluate import generate
from honed.models.load import load_model

SYSTEM = "You route tickets. " * 12  # long enough to exceed MIN_SHARED_PREFIX tokens


def conversations():
    return [[{"role": "system", "content": SYSTEM}, {"role": "user", "content": text}]
            for text in ("my card was charged twice", "where is my parcel?", "reset my password please")]


def test_shared_prefix_by_hand():
    assert generate.shared_prefix([[1, 2, 3, 4], [1, 2, 5], [1, 2, 3]]) == [1, 2]
    assert generate.shared_prefix([[1, 2], [1, 2]]) == [1]  # each keeps a token of its own


def test_prefix_cached_greedy_equals_batched(monkeypatch):
    model, tokenizer = load_model("tiny-random", seed=5)
    cached = generate.generate_all(model, tokenizer, conversations(), max_new_tokens=5, batch_size=4,
                                   description="t")
    monkeypatch.setattr(generate, "MIN_SHARED_PREFIX", 10**9)
    batched = generate.generate_all(model, tokenizer, conversations(), max_new_tokens=5, batch_size=4,
                                    description="t")
    assert cached == batched


def test_prefix_cached_label_scores_equal_plain(monkeypatch):
    model, tokenizer = load_model("tiny-random", seed=5)
    labels = ["billing", "shipping", "login"]
    cached = generate.label_scores(model, tokenizer, conversations(), labels)
    monkeypatch.setattr(generate, "MIN_SHARED_PREFIX", 10**9)
    plain = generate.label_scores(model, tokenizer, conversations(), labels)
    assert cached.shape == (3, 3)
    assert torch.allclose(cached, plain, atol=1e-4)
