"""Optional LLM-as-judge against an OpenAI-compatible endpoint (only when `evaluation.judge_url` is set).

Rubric: each candidate's answer is scored 1–5 against the rubric, given the input and the reference; the report
gives the mean (and its share of unparseable verdicts). Pairwise: the fine-tuned answer against the best
baseline's, asked twice with the order swapped to cancel position bias; a win needs both orders to agree,
anything else is a tie. A judge is a model, not a person: the report's error table is still for human review.
"""
from __future__ import annotations

import re

from honed.core.config import Config

RUBRIC_PROMPT = """You are grading an assistant's answer.
Rubric: {rubric}

Input:
{input}

Reference answer:
{reference}

Assistant's answer:
{answer}

Reply with a single integer from 1 (useless) to 5 (as good as the reference) and nothing else."""

PAIRWISE_PROMPT = """Two assistants answered the same input. Rubric: {rubric}

Input:
{input}

Reference answer:
{reference}

Answer A:
{a}

Answer B:
{b}

Which answer is better? Reply with exactly one of: A, B, tie."""


def parse_score(text: str) -> int | None:
    match = re.search(r"\b([1-5])\b", text)
    return int(match.group(1)) if match else None


def parse_preference(text: str) -> str | None:
    match = re.search(r"\b(A|B|tie)\b", text.strip(), re.IGNORECASE)
    if not match:
        return None
    return "tie" if match.group(1).lower() == "tie" else match.group(1).upper()


def run_judge(cfg: Config, inputs: list[str], references: list[str], results: dict, transport=None) -> dict:
    """Rubric scores for every candidate and the pairwise verdict fine_tuned vs the best baseline."""
    from honed.evaluate.api import ChatClient

    ev = cfg.evaluation
    client = ChatClient(ev.judge_url, ev.judge_model, ev.api_key_env, transport=transport)
    rows = range(min(len(inputs), ev.judge_max_examples))
    rubric = {}
    for name, result in results.items():
        scores = [parse_score(client.complete([{"role": "user", "content": RUBRIC_PROMPT.format(
            rubric=ev.judge_rubric, input=inputs[i], reference=references[i], answer=result.outputs[i])}], 4)[0])
            for i in rows]
        valid = [s for s in scores if s is not None]
        rubric[name] = {"mean_score": sum(valid) / len(valid) if valid else None,
                        "unparsed_rate": 1 - len(valid) / max(len(scores), 1), "n": len(scores)}
    report = {"model": ev.judge_model, "url": client.endpoint, "rubric": ev.judge_rubric, "scores": rubric}
    metric = cfg.objective.metric
    baselines = {n: r.metrics.get(metric, 0) for n, r in results.items() if n != "fine_tuned"}
    if "fine_tuned" in results and baselines:
        other = max(baselines, key=baselines.get)
        report["pairwise"] = _pairwise(client, ev.judge_rubric, inputs, references, results["fine_tuned"].outputs,
                                       results[other].outputs, rows) | {"against": other}
    return report


def _pairwise(client, rubric: str, inputs, references, tuned: list[str], other: list[str], rows) -> dict:
    wins = losses = ties = 0
    for i in rows:
        first = parse_preference(client.complete([{"role": "user", "content": PAIRWISE_PROMPT.format(
            rubric=rubric, input=inputs[i], reference=references[i], a=tuned[i], b=other[i])}], 4)[0])
        second = parse_preference(client.complete([{"role": "user", "content": PAIRWISE_PROMPT.format(
            rubric=rubric, input=inputs[i], reference=references[i], a=other[i], b=tuned[i])}], 4)[0])
        if first == "A" and second == "B":
            wins += 1
        elif first == "B" and second == "A":
            losses += 1
        else:
            ties += 1
    n = max(wins + losses + ties, 1)
    return {"fine_tuned_win_rate": wins / n, "loss_rate": losses / n, "tie_rate": ties / n, "n": wins + losses + ties,
            "method": "both orders asked; a win needs both to agree"}
