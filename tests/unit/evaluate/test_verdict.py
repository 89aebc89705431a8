"""The report's one verdict names the true winner: the fine-tune, a prompt baseline, the classical model, or no
significant difference (then the cheaper option without fine-tuning is enough). Built through build_report, so
the paired tests are the real ones; report.html and the CLI caption show the same text."""
from __future__ import annotations

from honed.core.config import validate_config
from honed.evaluate.assemble import build_report
from honed.evaluate.candidates import score_candidate
from honed.evaluate.report import render_html, summary_table
from honed.evaluate.verdict import verdict

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
    found = report_for({"zero_shot": 10, "classical": 20, "fine_tuned": 38})["verdict"]
    assert found["outcome"] == "fine_tune_wins" and found["winner"] == "fine_tuned" and found["fine_tune_needed"]
    assert found["best_without_fine_tuning"] == "classical"
    assert found["text"].startswith("Fine-tuning wins: fine_tuned beats the best option without it, classical "
                                    "(accuracy 0.950 for fine_tuned vs 0.500 for classical, fine-tune +45.0 points")


def test_classical_significantly_ahead_is_named_the_winner():
    report = report_for({"zero_shot": 10, "classical": 36, "fine_tuned": 20})
    found = report["verdict"]
    assert found["outcome"] == "fine_tune_loses" and found["winner"] == "classical"
    assert found["winner_kind"] == "classical" and not found["fine_tune_needed"]
    assert found["text"].startswith("A classical TF-IDF + SVM model wins: classical beats fine_tuned "
                                    "(accuracy 0.500 for fine_tuned vs 0.900 for classical, fine-tune -40.0 points")


def test_a_prompt_baseline_significantly_ahead_is_named_the_winner():
    found = report_for({"few_shot": 30, "fine_tuned": 12})["verdict"]
    assert found["outcome"] == "fine_tune_loses" and found["winner"] == "few_shot"
    assert found["winner_kind"] == "prompting"
    assert found["text"].startswith("Prompting wins: few_shot beats fine_tuned (accuracy 0.300 for "
                                    "fine_tuned vs 0.750 for few_shot, fine-tune -45.0 points")


def test_a_fine_tune_lead_within_noise_is_a_tie_with_the_classical_model():
    report = report_for({"zero_shot": 10, "classical": 30, "fine_tuned": 31})
    assert report["comparisons"]["fine_tuned_vs_classical"]["accuracy"]["ci"][0] <= 0  # 1 row of 40: noise
    found = report["verdict"]
    assert found["outcome"] == "no_significant_difference" and found["winner"] == "classical"
    assert found["text"].startswith("A classical TF-IDF + SVM model does as well: fine_tuned is not "
                                    "significantly different from classical")
    assert "fine_tuned's lead is not significant" in found["text"]


def test_a_prompt_baseline_lead_within_noise_is_said_as_such():
    found = report_for({"few_shot": 22, "fine_tuned": 21})["verdict"]
    assert found["outcome"] == "no_significant_difference" and found["winner"] == "few_shot"
    assert found["text"].startswith("Prompting or RAG is enough") and "few_shot's lead is not significant" \
        in found["text"]


def test_equal_scores_are_a_tie():
    found = report_for({"zero_shot": 20, "fine_tuned": 20})["verdict"]
    assert found["outcome"] == "no_significant_difference" and "the two score the same" in found["text"]


def test_only_baselines_is_nothing_to_compare():
    found = report_for({"zero_shot": 10, "classical": 30})["verdict"]
    assert found["outcome"] == "single_side" and found["winner"] == "classical"
    assert "nothing to compare it with" in found["text"]


def test_one_verdict_shown_everywhere_and_no_duplicate():
    report = report_for({"zero_shot": 10, "classical": 36, "fine_tuned": 20})
    assert "verdict" not in report["objective"]  # the objective says pass/fail; the winner is `verdict` only
    text = report["verdict"]["text"]
    assert text in summary_table(report).caption
    assert render_html(report).count("TF-IDF + SVM model wins") == 1


def test_the_function_works_on_a_report_dict_without_a_paired_test():
    report = {"primary_metric": "accuracy", "candidates": {"fine_tuned": {"accuracy": 0.9},
                                                           "zero_shot": {"accuracy": 0.5}}}
    found = verdict(report)
    assert found["outcome"] == "no_significant_difference" and found["winner"] == "zero_shot"
    assert "no paired test" in found["text"]
