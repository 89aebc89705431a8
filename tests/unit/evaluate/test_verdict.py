"""The verdict names the true winner: the fine-tune, a prompt baseline, or the classical model when it does as well."""
from __future__ import annotations

from honed.core.config import validate_config
from honed.evaluate.assemble import build_report
from honed.evaluate.candidates import score_candidate

LABELS = ["billing", "shipping", "login"]


class Data:
    dataset_hash, counts, labels = "h", {"train": 30, "test": 40}, LABELS


def report_for(correct: dict[str, int], n: int = 40) -> dict:
    """Each candidate right on its first `correct[name]` rows (so wins are nested and paired)."""
    cfg = validate_config({"objective": {"task": "classification", "metric": "accuracy", "target": 0.5},
                           "evaluation": {"bootstrap_samples": 300}})
    refs = [LABELS[i % 3] for i in range(n)]
    test = [{"messages": [{"role": "user", "content": f"t {i}"}, {"role": "assistant", "content": r}], "label": r}
            for i, r in enumerate(refs)]
    results = {}
    for name, k in correct.items():
        outs = [r if i < k else LABELS[(i + 1) % 3] for i, r in enumerate(refs)]
        result = score_candidate(name, cfg, refs, LABELS, outs, {"tfidf_svm" if name == "classical" else "greedy": outs})
        if name == "classical":
            result.kind, result.train_seconds, result.greedy_seconds = "classical", 0.1, 0.01
        results[name] = result
    return build_report(cfg, Data(), test, results, {}, {})


def test_fine_tune_clearly_ahead_is_named_the_winner():
    status = report_for({"zero_shot": 10, "classical": 20, "fine_tuned": 38})["objective"]
    assert status["classical_matches_fine_tune"] is False
    assert status["verdict"].startswith("the fine-tune wins: accuracy 0.950 vs 0.500 for classical")


def test_classical_ahead_is_named():
    status = report_for({"zero_shot": 10, "classical": 36, "fine_tuned": 20})["objective"]
    assert status["best_candidate"] == "classical" and status["classical_matches_fine_tune"] is True
    assert status["verdict"].startswith("a classical TF-IDF + SVM model does as well (it scores higher)")


def test_a_lead_within_noise_is_a_tie_with_the_classical_model():
    report = report_for({"zero_shot": 10, "classical": 30, "fine_tuned": 31})
    comparison = report["comparisons"]["fine_tuned_vs_classical"]["accuracy"]
    assert comparison["ci"][0] <= 0  # one row more is not significant on 40 rows
    assert report["objective"]["verdict"].startswith("a classical TF-IDF + SVM model does as well:")


def test_a_prompt_baseline_ahead_is_named_without_classical():
    cfg_report = report_for({"few_shot": 30, "fine_tuned": 12})
    assert cfg_report["objective"]["verdict"].startswith("few_shot beats the fine-tune")
