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
    if "classical" in cfg.evaluation.baselines:  # after the probes: they ride on a language model's result
        results["classical"] = evaluate_classical(cfg, data.splits["train"], prompts, references, data.labels)
    return results


def evaluate_classical(cfg: Config, train: list[dict], prompts: list[list[dict]], references: list[str],
                       labels: list[str]) -> CandidateResult:
    """The classical candidate (honed.evaluate.classical) fitted on the train split's user turns → references,
    scored like the others; its per-request cost comes from its prediction time, not from tokens."""
    import time

    from honed.evaluate.candidates import score_candidate
    from honed.evaluate.classical import fit_and_predict, user_input

    cpu_started = time.process_time()
    fit = fit_and_predict(cfg.objective.task, [user_input(prompt_of(r)) for r in train],
                          [reference_of(r) for r in train], [user_input(p) for p in prompts])
    outputs = next(iter(fit.predictions.values()))
    result = score_candidate("classical", cfg, references, labels, outputs, fit.predictions)
    result.outputs = result.predictions  # a classical model's answer is its prediction
    result.kind, result.train_seconds = "classical", fit.train_seconds
    result.seconds = result.greedy_seconds = fit.predict_seconds
    result.latency_ms = 1000 * fit.predict_seconds / max(len(prompts), 1)
    result.cpu_seconds = time.process_time() - cpu_started  # fit and predict
    return result


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
