"""With RAG candidates the verdict sets the best fine-tuned candidate (fine_tuned or rag_fine_tuned) against the
best option without fine-tuning, using the report's paired test for that pair."""
from __future__ import annotations

from honed.core.config import validate_config
from honed.evaluate.assemble import build_report
from honed.evaluate.candidates import CandidateResult

LABELS = ["a", "b"]


class Data:
    dataset_hash, counts, labels = "h", {"train": 30, "test": 60}, LABELS


def candidate(name: str, right: int, n: int = 60) -> CandidateResult:
    references = ["a", "b"] * (n // 2)
    predictions = references[:right] + [("b" if r == "a" else "a") for r in references[right:]]
    return CandidateResult(name, {"accuracy": right / n}, "greedy", predictions, predictions, references=references,
                           per_decoding={"greedy": {"accuracy": right / n}})


def report_for(*candidates: CandidateResult) -> dict:
    cfg = validate_config({"objective": {"task": "classification", "metric": "accuracy", "labels": LABELS},
                           "evaluation": {"bootstrap_samples": 500}})
    test = [{"messages": [{"role": "user", "content": f"t {i}"}, {"role": "assistant", "content": r}], "label": r}
            for i, r in enumerate(candidates[0].references)]
    return build_report(cfg, Data(), test, {c.name: c for c in candidates}, {}, {})


def test_a_clearly_better_fine_tune_wins_with_its_margin():
    verdict = report_for(candidate("zero_shot", 30), candidate("rag", 36), candidate("fine_tuned", 57))["verdict"]
    assert verdict["fine_tune_needed"] and verdict["winner"] == "fine_tuned"
    assert verdict["best_without_fine_tuning"] == "rag"
    assert verdict["text"].startswith("Fine-tuning wins: fine_tuned") and "+35.0 points" in verdict["text"]


def test_rag_as_good_as_the_fine_tune_means_rag_is_enough():
    report = report_for(candidate("zero_shot", 30), candidate("rag", 55), candidate("fine_tuned", 50),
                        candidate("rag_fine_tuned", 56))
    verdict = report["verdict"]
    assert "rag_fine_tuned_vs_rag" in report["comparisons"]  # the verdict's pair has its own paired test
    assert not verdict["fine_tune_needed"] and verdict["winner"] == "rag"
    assert verdict["best_fine_tuned"] == "rag_fine_tuned"
    assert verdict["text"].startswith("Prompting or RAG is enough") and "+1.7 points" in verdict["text"]
