"""Metric functions against values computed by hand, and the bootstrap statistics against the metrics."""
from __future__ import annotations

import numpy as np
import pytest

from honed.evaluate import metrics, stats

LABELS = ["a", "b", "c"]


def test_classification_by_hand():
    refs, preds = ["a", "a", "b", "c"], ["a", "b", "b", metrics.NO_LABEL]
    m = metrics.classification_metrics(refs, preds, LABELS)
    # per class  a: P 1, R 1/2, F1 2/3   b: P 1/2, R 1, F1 2/3   c: P 0, R 0, F1 0
    assert m["accuracy"] == pytest.approx(0.5)
    assert m["precision_macro"] == pytest.approx(0.5)
    assert m["recall_macro"] == pytest.approx(0.5)
    assert m["f1_macro"] == pytest.approx(4 / 9)
    # micro over the label set: tp 2, predicted (in the set) 3, support 4 → P 2/3, R 1/2, F1 4/7
    assert m["f1_micro"] == pytest.approx(4 / 7)
    assert m["unparsed_rate"] == pytest.approx(0.25)
    assert m["per_class"]["a"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2}
    assert m["confusion"]["labels"] == ["a", "b", "c", metrics.NO_LABEL]
    assert m["confusion"]["matrix"][0] == [1, 1, 0, 0] and m["confusion"]["matrix"][2] == [0, 0, 0, 1]


def test_parse_label():
    labels = ["billing", "billing_disputes", "card lost"]
    assert metrics.parse_label("Billing", labels) == "billing"
    assert metrics.parse_label("I think: billing disputes.", labels) == "billing_disputes"
    assert metrics.parse_label("card lost, clearly", labels) == "card lost"
    assert metrics.parse_label("no idea", labels) == metrics.NO_LABEL


def test_token_f1_and_exact_match_by_hand():
    assert metrics.token_f1("the cat sat", "cat sat down") == pytest.approx(2 / 3)  # P 2/3, R 2/3
    assert metrics.token_f1("a b c d", "a") == pytest.approx(2 * 1 * 0.25 / 1.25)
    assert metrics.token_f1("x", "y") == 0.0
    assert metrics.exact_match("Paris.", " paris") == 1.0
    assert metrics.exact_match("Paris", "Paris, France") == 0.0


def test_json_fields_by_hand():
    refs = ['{"name": "Ann", "age": 30, "city": "Oslo"}', '{"items": ["x", "y"], "total": 2}']
    preds = ['```json\n{"name": "ann", "age": 31}\n```', 'Here: {"items": ["y", "x"], "total": 2}']
    # example 1: 3 reference fields, 2 predicted, 1 match (name; case-folded); keys differ → schema invalid
    # example 2: 3 reference fields (items[] twice, total), all matched in any order; schema valid
    m = metrics.field_metrics(refs, preds)
    assert m["field_precision"] == pytest.approx(4 / 5)
    assert m["field_recall"] == pytest.approx(4 / 6)
    assert m["field_f1"] == pytest.approx(2 * (4 / 5) * (4 / 6) / (4 / 5 + 4 / 6))
    assert m["schema_valid_rate"] == pytest.approx(0.5)
    assert metrics.field_counts('{"a": 1}', '{"a": "1"}')[3] is False  # a number written as a string: wrong type
    assert metrics.field_counts('{"a": 1}', "not json") == (0, 0, 1, False)
    assert metrics.parse_json_object('x {"a": {"b": 2}} y') == {"a": {"b": 2}}


def test_text_metrics_identical_and_disjoint():
    same = metrics.text_metrics(["the quick brown fox jumps"], ["the quick brown fox jumps"])
    assert all(same[k] == pytest.approx(1.0) for k in ("exact_match", "token_f1", "rouge1", "rouge2", "rougeL",
                                                       "bleu", "chrf"))
    other = metrics.text_metrics(["the quick brown fox"], ["zzz"])
    assert other["rouge1"] == 0.0 and other["token_f1"] == 0.0 and other["bleu"] == 0.0


@pytest.mark.parametrize("task", ["classification", "extraction", "generation"])
def test_bootstrap_statistics_reproduce_the_metrics(task):
    rng = np.random.default_rng(0)
    if task == "classification":
        refs = list(rng.choice(LABELS, 80))
        preds = [r if rng.random() < 0.6 else str(rng.choice(LABELS + [metrics.NO_LABEL])) for r in refs]
    elif task == "extraction":
        refs = [f'{{"id": {i}, "kind": "{"xy"[i % 2]}"}}' for i in range(40)]
        preds = [r if i % 3 else f'{{"id": {i + 1}}}' for i, r in enumerate(refs)]
    else:
        refs = [f"the parcel {i} arrived late on monday" for i in range(30)]
        preds = [f"parcel {i} was late on {'monday' if i % 2 else 'friday'}" for i in range(30)]
    expected = metrics.task_metrics(task, refs, preds, LABELS)
    s = stats.statistics(task, refs, preds, LABELS)
    point = {k: float(v[0]) for k, v in s.metrics(np.ones((1, len(refs)))).items()}
    for metric, value in point.items():
        assert value == pytest.approx(expected[metric], abs=1e-9), metric
    intervals = stats.confidence_intervals(s, 300, seed=1)
    for metric, (lo, hi) in intervals.items():
        assert lo <= hi


def _coverage(draw, truth, n, replications=300, samples=400, level=0.95) -> float:
    rng = np.random.default_rng(42)
    hits = 0
    for r in range(replications):
        x = draw(rng, n)
        s = stats.Statistics(np.c_[x, np.ones(n)], lambda sums: {"mean": sums[:, 0] / sums[:, 1]})
        lo, hi = stats.confidence_intervals(s, samples, seed=r, level=level)["mean"]
        hits += lo <= truth <= hi
    return hits / replications


def test_bootstrap_ci_covers_the_true_accuracy_about_95_percent():
    coverage = _coverage(lambda rng, n: (rng.random(n) < 0.7).astype(float), 0.7, n=150)
    assert 0.90 <= coverage <= 0.985, coverage


def test_bootstrap_ci_covers_a_skewed_mean():
    coverage = _coverage(lambda rng, n: rng.exponential(1.0, n), 1.0, n=200)
    assert 0.88 <= coverage <= 0.985, coverage


def test_classification_interval_covers_accuracy_via_the_confusion_statistics():
    rng = np.random.default_rng(7)
    hits = 0
    for r in range(150):
        refs = list(rng.choice(LABELS, 120))
        preds = [x if rng.random() < 0.6 else str(rng.choice(LABELS)) for x in refs]  # true accuracy 0.6 + 0.4/3
        lo, hi = stats.confidence_intervals(stats.statistics("classification", refs, preds, LABELS), 300, r)["accuracy"]
        hits += lo <= 0.6 + 0.4 / 3 <= hi
    assert 0.88 <= hits / 150 <= 0.99


def test_paired_test_detects_a_real_difference_and_is_calibrated_under_the_null():
    rng = np.random.default_rng(3)
    refs = list(rng.choice(LABELS, 200))
    good = [x if rng.random() < 0.9 else "a" for x in refs]
    bad = [x if rng.random() < 0.5 else "b" for x in refs]
    result = stats.paired_comparison(stats.statistics("classification", refs, good, LABELS),
                                     stats.statistics("classification", refs, bad, LABELS), "accuracy", 500, 0)
    assert result["delta"] > 0.2 and result["p_value"] < 0.01 and result["ci"][0] > 0
    false_alarms = 0
    for r in range(100):  # two systems with the same true accuracy: p < 0.05 about 5% of the time
        refs = list(rng.choice(LABELS, 100))
        a = [x if rng.random() < 0.7 else "c" for x in refs]
        b = [x if rng.random() < 0.7 else "c" for x in refs]
        p = stats.paired_comparison(stats.statistics("classification", refs, a, LABELS),
                                    stats.statistics("classification", refs, b, LABELS), "f1_macro", 200, r)["p_value"]
        false_alarms += p < 0.05
    assert false_alarms <= 12, false_alarms


def test_bleu_and_chrf_statistics_reproduce_sacrebleu_corpus_scores():
    """The bootstrap's additive statistics come from sacrebleu's public API and sum to its corpus scores."""
    import random

    import sacrebleu

    from honed.evaluate.stats import bleu_statistics, chrf_statistics

    rng = random.Random(0)
    words = "the cat sat on a mat dog ran fast slow red blue over under".split()
    refs = [" ".join(rng.choices(words, k=rng.randint(1, 12))) for _ in range(40)]
    hyps = [" ".join(rng.choices(words, k=rng.randint(0, 12))) for _ in range(40)]
    for statistics, corpus in ((bleu_statistics, sacrebleu.corpus_bleu), (chrf_statistics, sacrebleu.corpus_chrf)):
        rows, score = statistics(refs, hyps)
        assert score(rows.sum(0)) == pytest.approx(corpus(hyps, [refs]).score / 100, abs=1e-12)
