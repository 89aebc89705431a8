"""The best-first label search returns exactly the argmax (and score) of scoring every label in full.

The reference is the plainest computation: each (prompt, label) pair run alone through the model, no cache.
"""
from __future__ import annotations

import pytest
import torch
from test_fast_scoring import LABELS, conversations, prompt_ids, reference_label_scores

from honed.evaluate import generate, label_search
from honed.models.load import load_model

MORE_LABELS = LABELS + ["refunds", "returns", "order_change", "product_question", "cancellation", "security",
                        "feedback", "partnerships", "card_arrival", "card_linking", "card_about_to_expire"]


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return load_model("tiny-random", seed=5)


@pytest.mark.parametrize("batch_size", [1, 3])
@pytest.mark.parametrize("cached", [True, False])
@pytest.mark.parametrize("labels", [LABELS, MORE_LABELS])
def test_search_finds_the_full_scoring_argmax_and_its_exact_score(tiny, monkeypatch, batch_size, cached, labels):
    model, tokenizer = tiny
    if not cached:
        monkeypatch.setattr(generate, "MIN_SHARED_PREFIX", 10**9)
    winners, scores = label_search.best_labels(model, tokenizer, conversations(), labels, batch_size=batch_size)
    reference = reference_label_scores(model, tokenizer, conversations(), labels)
    assert winners == reference.argmax(-1).tolist()
    assert torch.allclose(torch.tensor(scores), reference.max(-1).values, atol=1e-4)


def test_search_leaves_the_prefix_cache_intact(tiny):
    model, tokenizer = tiny
    ids = [prompt_ids(tokenizer, c) for c in conversations()]
    prefix = generate._prefix_cache_for(model, ids)
    before = prefix.cache.layers[0].keys.clone()
    trie = generate.LabelTrie([[5, 6], [5, 7], [8]])
    searches = label_search._search_chunk(model, prefix, ids, trie)
    assert all(s.winner in (0, 1, 2) for s in searches)
    assert torch.equal(prefix.cache.layers[0].keys, before)


def test_a_sure_model_runs_only_part_of_the_trie(tiny):
    """When one label dominates, the search stops early: far fewer tokens run than the prompts + full trie."""
    model, tokenizer = tiny
    end = tokenizer(generate._end_of_turn(tokenizer), add_special_tokens=False)["input_ids"]
    favourite = tokenizer("card_linking", add_special_tokens=False)["input_ids"] + end
    trie = generate.LabelTrie([tokenizer(label, add_special_tokens=False)["input_ids"] + end
                               for label in MORE_LABELS])
    ids = [prompt_ids(tokenizer, c) for c in conversations()]
    prefix = generate._prefix_cache_for(model, ids)
    own_tokens = sum(len(i) - len(prefix.ids) for i in ids)
    ran = []

    def sure(module, inputs, output):
        output = output.clone()
        output[..., favourite] += 50.0  # the favourite's tokens (and end of turn) dominate every distribution
        return output

    hooks = [model.lm_head.register_forward_hook(sure),
             model.get_input_embeddings().register_forward_hook(lambda m, inputs, out: ran.append(out.shape[1]))]
    try:
        searches = label_search._search_chunk(model, prefix, ids, trie)
    finally:
        for hook in hooks:
            hook.remove()
    assert [s.winner for s in searches] == [MORE_LABELS.index("card_linking")] * len(ids)
    assert own_tokens < sum(ran) < own_tokens + len(ids) * trie.size / 3
