"""The report's one verdict (report.json `verdict`): which candidate truly wins on the primary metric.

It is written once, by `verdict(report)`, from the report's own scores and paired comparisons, and everything
that shows a verdict (report.html's first paragraph, the CLI table caption) reads `report["verdict"]["text"]`.

The best fine-tuned candidate (`fine_tuned`, `rag_fine_tuned`) is set against the best option without
fine-tuning (zero-/few-shot prompting, RAG, an API model, the classical model) by the paired test over the same
test rows (`comparisons["<tuned>_vs_<other>"]`). A lead counts only when it is significant (p below
1 − level and the CI excludes 0); otherwise the verdict says the two are not significantly different and, since
the option without fine-tuning is the cheaper one, names it as enough.
"""
from __future__ import annotations

FINE_TUNED_PREFIXES = ("fine_tuned", "rag_fine_tuned")
PROMPTING = ("zero_shot", "few_shot", "rag")
# How the verdict names the classical candidate, by the decoding that gave its headline.
CLASSICAL_WORDS = {"tfidf_svm": "a classical TF-IDF + SVM model", "nearest_neighbour":
                   "a classical nearest-neighbour lookup (TF-IDF)", "lead_sentences": "the input's leading sentences"}


def is_fine_tuned(name: str) -> bool:
    return name.startswith(FINE_TUNED_PREFIXES)


def verdict(report: dict) -> dict:
    """{text, outcome, winner, ...}: outcome is "fine_tune_wins", "fine_tune_loses" (a significantly better
    option without fine-tuning), "no_significant_difference" or "single_side" (nothing to compare)."""
    metric = report["primary_metric"]
    scores = {n: c[metric] for n, c in report["candidates"].items() if metric in c}
    tuned = [n for n in scores if is_fine_tuned(n)]
    others = [n for n in scores if not is_fine_tuned(n)]
    if not tuned or not others:
        best = max(scores, key=scores.get) if scores else None
        text = f"{best} scores {metric} {scores[best]:.3f}; there is nothing to compare it with." if best else ""
        return {"text": text, "outcome": "single_side", "winner": best, "metric": metric}
    best_tuned, best_other = max(tuned, key=scores.get), max(others, key=scores.get)
    test = report.get("comparisons", {}).get(f"{best_tuned}_vs_{best_other}", {}).get(metric)
    level = report.get("statistics", {}).get("level", 0.95)
    delta = scores[best_tuned] - scores[best_other]
    significant = bool(test) and test["p_value"] < 1 - level and not test["ci"][0] <= 0 <= test["ci"][1]
    outcome = ("fine_tune_wins" if delta > 0 else "fine_tune_loses") if significant else "no_significant_difference"
    facts = {"outcome": outcome, "winner": best_tuned if outcome == "fine_tune_wins" else best_other,
             "fine_tune_needed": outcome == "fine_tune_wins", "significant": significant,
             "best_fine_tuned": best_tuned, "best_without_fine_tuning": best_other,
             "winner_kind": _kind(report, best_tuned if outcome == "fine_tune_wins" else best_other),
             "metric": metric, "delta": test["delta"] if test else delta, "ci": test["ci"] if test else None,
             "p_value": test["p_value"] if test else None, "level": level}
    return {"text": _text(report, facts, scores), **facts}


def _kind(report: dict, name: str) -> str:
    """fine_tuned, classical, prompting (zero/few-shot, RAG) or api: what kind of option the name is."""
    if is_fine_tuned(name):
        return "fine_tuned"
    kind = report.get("details", {}).get(name, {}).get("kind")
    if kind in ("classical", "api"):
        return kind
    return "prompting" if name in PROMPTING else (kind or "prompting")


def _text(report: dict, facts: dict, scores: dict) -> str:
    tuned, other, metric = facts["best_fine_tuned"], facts["best_without_fine_tuning"], facts["metric"]
    figures = f"{metric} {scores[tuned]:.3f} for {tuned} vs {scores[other]:.3f} for {other}, {_delta(facts)}"
    who = _name(report, other)
    if facts["outcome"] == "fine_tune_wins":
        return f"Fine-tuning wins: {tuned} beats the best option without it, {other} ({figures})."
    cost = _cost_text(report, other)
    if facts["outcome"] == "fine_tune_loses":
        return f"{who[0].upper()}{who[1:]} wins: {other} beats {tuned} ({figures}){cost}."
    leader = tuned if scores[tuned] > scores[other] else other
    lead = "the two score the same" if scores[tuned] == scores[other] else f"{leader}'s lead is not significant"
    enough = ("prompting or RAG is enough" if other in PROMPTING else
              f"{who} does as well" if facts["winner_kind"] == "classical" else f"{other} is enough")
    return (f"{enough[0].upper()}{enough[1:]}: {tuned} is not significantly different from {other} ({figures}; "
            f"{lead}), so the fine-tune does not pay for itself on this test set{cost}.")


def _name(report: dict, name: str) -> str:
    """The kind of option in words: the classical model by its decoding, prompting, RAG or the API model."""
    details = report.get("details", {}).get(name, {})
    if details.get("kind") == "classical":
        return CLASSICAL_WORDS.get(details.get("decoding", ""), "a classical model")
    if details.get("kind") == "api":
        return "the API model"
    return {"zero_shot": "prompting", "few_shot": "prompting", "rag": "RAG"}.get(name, name)


def _delta(facts: dict) -> str:
    text = f"fine-tune {100 * facts['delta']:+.1f} points"
    if facts["ci"] is None:
        return text + ", no paired test"
    lo, hi = facts["ci"]
    return text + f", {facts['level']:.0%} CI [{100 * lo:+.1f}, {100 * hi:+.1f}], p = {facts['p_value']:.3g}"


def _cost_text(report: dict, other: str) -> str:
    """For a classical winner: its self-hosted cost beside the fine-tune's (the reason to prefer it)."""
    costs = report.get("efficiency", {}).get("candidates", {})
    if report.get("details", {}).get(other, {}).get("kind") != "classical":
        return ""
    classical = costs.get(other, {}).get("cost_per_1000_requests_self_hosted")
    tuned = costs.get("fine_tuned", {}).get("cost_per_1000_requests_self_hosted")
    if classical is None or not tuned:
        return ""
    return f"; ${classical:.6f} vs ${tuned:.4f} per 1,000 requests self-hosted"
