"""The candidates of a report on one test set: the prompt baselines with the base model, then the fine-tune."""
from __future__ import annotations

from honed.core.config import Config
from honed.evaluate.candidates import CandidateResult, evaluate_candidate, few_shot_prompts, prompt_of, reference_of


def evaluate_baselines(cfg: Config, data, test: list[dict], model, tokenizer) -> dict[str, CandidateResult]:
    """The prompt-engineering candidates on the test rows: zero-shot and few-shot with the base model."""
    prompts, references = [prompt_of(r) for r in test], [reference_of(r) for r in test]
    results = {}
    if "zero_shot" in cfg.evaluation.baselines:
        results["zero_shot"] = evaluate_candidate("zero_shot", model, tokenizer, prompts, references, cfg,
                                                  data.labels)
    if "few_shot" in cfg.evaluation.baselines:
        shots = few_shot_prompts(prompts, data.splits["train"], cfg)
        results["few_shot"] = evaluate_candidate("few_shot", model, tokenizer, shots, references, cfg, data.labels)
    if cfg.evaluation.api_baseline_url:
        from honed.evaluate.api import evaluate_api_candidate

        results[cfg.evaluation.api_baseline_name] = evaluate_api_candidate(cfg, prompts, references, data.labels)
    if cfg.evaluation.probes and results:
        from honed.evaluate.probes import attach_probes

        attach_probes(results, "base", model, tokenizer, prompts, references, cfg, data.labels)
    return results


def evaluate_fine_tuned(cfg: Config, data, test: list[dict], model, tokenizer) -> CandidateResult:
    prompts, references = [prompt_of(r) for r in test], [reference_of(r) for r in test]
    result = evaluate_candidate("fine_tuned", model, tokenizer, prompts, references, cfg, data.labels)
    if cfg.evaluation.probes:
        from honed.evaluate.probes import attach_probes

        attach_probes({"fine_tuned": result}, "fine_tuned", model, tokenizer, prompts, references, cfg, data.labels)
    return result


def evaluate_rag(name: str, cfg: Config, data, test: list[dict], model, tokenizer, retrieved) -> CandidateResult:
    """A model answering with the retrieved chunks in its system prompt: `rag` (base model) or `rag_fine_tuned`.

    `retrieved` is a honed.retrieval.corpus.Retrieved for exactly these test rows (runs.retrieval_for)."""
    from honed.retrieval.corpus import with_context

    prompts = [with_context(prompt_of(r), chunks) for r, chunks in zip(test, retrieved.chunks)]
    result = evaluate_candidate(name, model, tokenizer, prompts, [reference_of(r) for r in test], cfg, data.labels)
    result.notes.append(f"{name}: top {cfg.data.retrieval.top_k} chunks of {retrieved.quality.get('chunks')} "
                        f"(dense {retrieved.quality.get('encoder')} + BM25, reciprocal rank fusion) in the "
                        "system prompt")
    return result
