"""The rule that decodes a classification baseline once: greedy goes on past the pilot only if it could win."""
from __future__ import annotations

from honed.evaluate.candidates import greedy_may_win


def test_label_scoring_ahead_stops_greedy():
    refs = ["a"] * 12
    assert not greedy_may_win(refs, ["b"] * 12, ["a"] * 12)  # label scoring 12, greedy 0
    assert not greedy_may_win(refs, ["b"] * 5 + ["a"] * 7, ["a"] * 12)  # 5 disputed, all label scoring's


def test_greedy_ahead_goes_on():
    refs = ["a"] * 12
    assert greedy_may_win(refs, ["a"] * 12, ["b"] * 12)
    assert greedy_may_win(refs, ["a"] * 7 + ["b"] * 5, ["b"] * 6 + ["a"] * 6)  # greedy 7 right, scoring 6


def test_a_tie_keeps_label_scoring():
    refs = ["a"] * 12
    assert not greedy_may_win(refs, ["b"] * 6 + ["a"] * 6, ["a"] * 6 + ["b"] * 6)  # 6 vs 6
    assert not greedy_may_win(refs, ["a"] * 12, ["a"] * 12)  # never differ


def test_a_baseline_is_evaluated_with_rates_and_every_output(monkeypatch):
    """evaluate_candidate on a classification baseline: one output per example, examples/s per decoding, and
    both decodings kept unless the pilot decided (then a note says so)."""
    import torch

    from honed.core.config import validate_config
    from honed.evaluate import candidates
    from honed.models.load import load_model

    torch.manual_seed(0)
    model, tokenizer = load_model("tiny-random", seed=3)
    labels = ["billing", "shipping", "login"]
    cfg = validate_config({"objective": {"task": "classification", "metric": "accuracy", "labels": labels},
                           "evaluation": {"max_new_tokens": 2, "batch_size": 16}})
    prompts = [[{"role": "system", "content": "Route the ticket. " * 8}, {"role": "user", "content": f"ticket {i}"}]
               for i in range(2 * candidates.PILOT + 2)]
    references = [labels[i % 3] for i in range(len(prompts))]
    result = candidates.evaluate_candidate("zero_shot", model, tokenizer, prompts, references, cfg, labels)
    assert len(result.outputs) == len(prompts) and len(result.predictions) == len(prompts)
    assert {"overall", "greedy", "label_scoring"} <= set(result.examples_per_second)
    assert all(v > 0 for v in result.examples_per_second.values())
    decided = any("was not run on the rest" in n for n in result.notes)
    assert set(result.predictions_by_decoding) == ({"label_scoring"} if decided else {"greedy", "label_scoring"})
