"""The rule that decodes a classification baseline once: label scoring must be decisively better on the pilot."""
from __future__ import annotations

from honed.evaluate.candidates import label_scoring_decisively_better


def test_decisive_win_for_label_scoring():
    refs = ["a"] * 12
    assert label_scoring_decisively_better(refs, ["b"] * 12, ["a"] * 12)  # 12 wins, 0 losses: p = 1/4096


def test_unsure_keeps_both():
    refs = ["a"] * 12
    assert not label_scoring_decisively_better(refs, ["b"] * 6 + ["a"] * 6, ["a"] * 6 + ["b"] * 6)  # 6 vs 6
    assert not label_scoring_decisively_better(refs, ["b"] * 5 + ["a"] * 7, ["a"] * 12)  # 5 wins: p = 1/32
    assert not label_scoring_decisively_better(refs, ["a"] * 12, ["a"] * 12)  # never differ


def test_greedy_winning_never_skips_greedy():
    refs = ["a"] * 12
    assert not label_scoring_decisively_better(refs, ["a"] * 12, ["b"] * 12)
