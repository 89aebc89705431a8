"""One candidate's decodings share the KV cache of their prompts' common prefix, with identical results."""
from __future__ import annotations

import pytest
import torch

from honed.evaluate import generate
from honed.evaluate.label_search import score_labels
from honed.models.load import load_model

LABELS = ["billing", "shipping", "login", "bill_dispute"]


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return load_model("tiny-random", seed=5)


def prompts(n: int) -> list[list[dict]]:
    system = "Route the ticket to one queue: billing, shipping, login or bill_dispute. " * 3
    return [[{"role": "system", "content": system}, {"role": "user", "content": f"ticket number {i} about stuff"}]
            for i in range(n)]


def test_inside_the_block_a_prefix_runs_once_and_a_shorter_one_serves(tiny, monkeypatch):
    model, _ = tiny
    runs = []
    real = generate.PrefixCache.__init__

    def counting(self, m, ids):
        runs.append(len(ids))
        real(self, m, ids)

    monkeypatch.setattr(generate.PrefixCache, "__init__", counting)
    ids = list(range(10, 60))
    with generate.reuse_prefix_caches():
        first = generate.prefix_cache(model, ids)
        assert generate.prefix_cache(model, ids) is first
        assert generate.prefix_cache(model, ids + [7, 8, 9]) is first  # a longer shared prefix starts with it
        assert generate.prefix_cache(model, ids[:40]) is not first  # a shorter one cannot be served by it
    assert generate.prefix_cache(model, ids) is not first  # outside the block nothing is kept
    assert runs == [50, 40, 50]


def test_scores_and_greedy_answers_are_the_same_with_reuse(tiny):
    model, tokenizer = tiny
    conversations = prompts(12)
    plain = (score_labels(model, tokenizer, conversations, LABELS, description="s"),
             generate.generate_all(model, tokenizer, conversations[:5], max_new_tokens=3, batch_size=4,
                                   description="plain"))
    with generate.reuse_prefix_caches():
        reused = (score_labels(model, tokenizer, conversations, LABELS, description="s"),
                  generate.generate_all(model, tokenizer, conversations[:5], max_new_tokens=3, batch_size=4,
                                        description="reused"),
                  score_labels(model, tokenizer, conversations, LABELS, description="s"))  # the cache is left as it was found
    assert reused[0] == plain[0] == reused[2]
    assert reused[1] == plain[1]
