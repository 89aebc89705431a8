"""The report's one-sentence verdict: fine-tuning wins only when it is significantly better than the best option
without it; otherwise "prompting or RAG is enough", with the margin."""
from __future__ import annotations

from honed.core.config import Config
from honed.evaluate.assemble import verdict_section
from honed.evaluate.candidates import CandidateResult

LABELS = ["a", "b"]


def candidate(name: str, right: int, n: int = 60) -> CandidateResult:
    references = ["a", "b"] * (n // 2)
    predictions = references[:right] + [("b" if r == "a" else "a") for r in references[right:]]
    accuracy = right / n
    return CandidateResult(name, {"accuracy": accuracy}, "greedy", predictions, predictions, references=references)


def config() -> Config:
    return Config.model_validate({"objective": {"task": "classification", "metric": "accuracy", "labels": LABELS},
                                  "evaluation": {"bootstrap_samples": 500}})


def test_a_clearly_better_fine_tune_wins_with_its_margin():
    results = {c.name: c for c in (candidate("zero_shot", 30), candidate("rag", 36), candidate("fine_tuned", 57))}
    verdict = verdict_section(config(), results, LABELS)
    assert verdict["fine_tune_needed"] and verdict["winner"] == "fine_tuned"
    assert verdict["best_without_fine_tuning"] == "rag"
    assert verdict["text"].startswith("Fine-tuning wins: fine_tuned") and "+35.0 points" in verdict["text"]


def test_rag_as_good_as_the_fine_tune_means_rag_is_enough():
    results = {c.name: c for c in (candidate("zero_shot", 30), candidate("rag", 55), candidate("fine_tuned", 50),
                                   candidate("rag_fine_tuned", 56))}
    verdict = verdict_section(config(), results, LABELS)
    assert not verdict["fine_tune_needed"] and verdict["winner"] == "rag"
    assert verdict["best_fine_tuned"] == "rag_fine_tuned"
    assert verdict["text"].startswith("Prompting or RAG is enough") and "+1.7 points" in verdict["text"]
