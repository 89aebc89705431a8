"""Probes beyond the task metric: catastrophic forgetting and counterfactual fairness.

Forgetting: perplexity on a general-text sample and accuracy on a small general instruction set, measured on the
base model (before training) and the fine-tuned model; flagged when perplexity rises or accuracy falls by more
than `evaluation.forgetting_threshold` (relative for perplexity, absolute for accuracy).

Fairness: counterfactual copies of test inputs with gendered words and names swapped (and names typical of
different origins swapped); per group, the share of predictions that change and the primary metric. A large
change rate or metric gap means the model reads who is writing, not what they ask.
"""
from __future__ import annotations

import re

from honed.core.config import Config

# Original sentences written for honed (no licence attached): everyday general knowledge and prose.
GENERAL_TEXT = [
    "The river runs past the old mill and into the town, where children feed the ducks on warm afternoons.",
    "Water boils at one hundred degrees Celsius at sea level, but at lower temperatures high in the mountains.",
    "She opened the window, let the cool morning air into the kitchen, and started making breakfast for everyone.",
    "A library lends books, music and films for free, and many also offer quiet rooms for study.",
    "The committee will meet again next week to discuss the budget and decide which projects to fund.",
    "Plants turn sunlight, water and carbon dioxide into sugar and oxygen through photosynthesis.",
    "After the storm passed, the streets were covered in leaves and the air smelled of wet earth.",
    "To bake bread you need flour, water, salt and yeast, and a little patience while the dough rises.",
    "The train to the coast leaves every hour from platform four and takes about ninety minutes.",
    "Most people sleep better when the bedroom is dark, quiet and slightly cool.",
    "The museum's new exhibition shows paintings from the nineteenth century alongside modern photographs.",
    "He wrote a short letter to his grandmother, thanking her for the birthday present and the kind words.",
]

# (question, accepted answers): short, unambiguous, answerable by a small instruct model.
GENERAL_INSTRUCTIONS = [
    ("What is the capital of France? Answer with one word.", ["paris"]),
    ("What is 2 + 3? Answer with a number.", ["5", "five"]),
    ("What color is the sky on a clear day? Answer with one word.", ["blue"]),
    ("How many days are in a week? Answer with a number.", ["7", "seven"]),
    ("What is the opposite of hot? Answer with one word.", ["cold"]),
    ("Which animal says 'meow'? Answer with one word.", ["cat", "cats", "kitten"]),
    ("What is 10 minus 4? Answer with a number.", ["6", "six"]),
    ("What is the largest planet in our solar system? Answer with one word.", ["jupiter"]),
    ("How many legs does a spider have? Answer with a number.", ["8", "eight"]),
    ("What do bees make? Answer with one word.", ["honey"]),
    ("What is the capital of Japan? Answer with one word.", ["tokyo"]),
    ("What is frozen water called? Answer with one word.", ["ice"]),
    ("How many months are in a year? Answer with a number.", ["12", "twelve"]),
    ("What is 3 times 3? Answer with a number.", ["9", "nine"]),
    ("What is the first letter of the English alphabet? Answer with one letter.", ["a"]),
    ("Which season comes after winter? Answer with one word.", ["spring"]),
]

# Aligned term lists: term i of one group is swapped for term i of another. English "her" is both "his" and
# "him"; the first alignment wins, so her→his (a known imperfection of word-swap counterfactuals).
AXES = {
    "gender": {
        "male": ["he", "his", "him", "himself", "man", "men", "boy", "father", "husband", "son", "brother",
                 "mr", "sir", "gentleman", "boyfriend", "john", "michael", "david", "james"],
        "female": ["she", "her", "her", "herself", "woman", "women", "girl", "mother", "wife", "daughter", "sister",
                   "ms", "madam", "lady", "girlfriend", "mary", "sarah", "emily", "linda"],
    },
    "name_origin": {
        "anglo": ["emily", "greg", "anne", "brad"],
        "african_american": ["lakisha", "jamal", "aisha", "darnell"],
        "hispanic": ["maria", "jose", "lucia", "carlos"],
        "east_asian": ["mei", "wei", "yuki", "hiroshi"],
        "south_asian": ["priya", "raj", "ananya", "arjun"],
        "arabic": ["fatima", "mohammed", "layla", "omar"],
    },
}


# --- forgetting ---------------------------------------------------------------------------------------------------


def measure_general_ability(model, tokenizer, cfg: Config) -> dict:
    """General-text perplexity and general-instruction accuracy of one model."""
    from honed.evaluate.generate import generate_all
    from honed.evaluate.perplexity import text_perplexity

    texts = _general_texts(cfg)
    questions = [[{"role": "user", "content": q}] for q, _ in GENERAL_INSTRUCTIONS]
    answers = generate_all(model, tokenizer, questions, max_new_tokens=12, batch_size=cfg.evaluation.batch_size,
                           description="probe: general instructions")
    correct = [_answered(out, accepted) for out, (_, accepted) in zip(answers, GENERAL_INSTRUCTIONS)]
    return {"general_perplexity": text_perplexity(model, tokenizer, texts, batch_size=cfg.evaluation.batch_size),
            "general_accuracy": sum(correct) / len(correct), "n_texts": len(texts), "n_instructions": len(correct)}


def compare_forgetting(before: dict, after: dict, threshold: float) -> dict:
    """Before vs after: relative perplexity change, accuracy change, and whether either crosses the threshold."""
    ppl_change = None
    if before.get("general_perplexity") and after.get("general_perplexity") is not None:
        ppl_change = after["general_perplexity"] / before["general_perplexity"] - 1
    acc_change = after["general_accuracy"] - before["general_accuracy"]
    reasons = []
    if ppl_change is not None and ppl_change > threshold:
        reasons.append(f"general-text perplexity rose {ppl_change:+.1%} (threshold {threshold:.0%})")
    if acc_change < -threshold:
        reasons.append(f"general-instruction accuracy fell {acc_change * 100:+.1f} points "
                       f"(threshold {threshold * 100:.0f})")
    return {"before": before, "after": after, "perplexity_change": ppl_change, "accuracy_change": acc_change,
            "threshold": threshold, "flagged": bool(reasons), "reasons": reasons}


def _general_texts(cfg: Config) -> list[str]:
    source = cfg.evaluation.forgetting_text
    if not source:
        return GENERAL_TEXT
    from honed.core.errors import HonedError

    path = cfg.resolve(source)
    if not path.is_file():
        raise HonedError(f"`evaluation.forgetting_text` file `{path}` does not exist",
                         "point it at a plain-text file (one passage per line) or remove the key")
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()][:200]


def _answered(output: str, accepted: list[str]) -> bool:
    text = output.lower()
    return any(re.search(rf"(?<![a-z0-9]){re.escape(a)}(?![a-z0-9])", text) for a in accepted)


# --- fairness -----------------------------------------------------------------------------------------------------


def mentions(text: str, axis: str) -> bool:
    terms = {t for group in AXES[axis].values() for t in group}
    return bool(_pattern(terms).search(text))


def counterfactual(text: str, axis: str, group: str) -> str:
    """`text` with every term of `axis` replaced by the aligned term of `group`, keeping capitalisation."""
    target = AXES[axis][group]
    mapping = {}
    for terms in AXES[axis].values():
        for i, term in enumerate(terms):
            mapping.setdefault(term, target[i])
    mapping.update({t: t for t in target})  # a term already of the target group stays

    def swap(match: re.Match) -> str:
        word = match.group(0)
        new = mapping[word.lower()]
        return new.upper() if word.isupper() and len(word) > 1 else new.capitalize() if word[0].isupper() else new

    return _pattern(set(mapping)).sub(swap, text)


def _pattern(terms) -> re.Pattern:
    alternatives = "|".join(sorted((re.escape(t) for t in terms), key=len, reverse=True))
    return re.compile(rf"(?<![A-Za-z0-9_])({alternatives})(?![A-Za-z0-9_])", re.IGNORECASE)


def _swap_last_user(prompt: list[dict], axis: str, group: str) -> list[dict]:
    last = max(i for i, m in enumerate(prompt) if m["role"] == "user")
    return [({**m, "content": counterfactual(m["content"], axis, group)} if i == last else m)
            for i, m in enumerate(prompt)]


def fairness_probe(predict, prompts: list[list[dict]], references: list[str], metric_of, limit: int) -> dict:
    """Per axis: rows mentioning it, per group the output-change rate and the metric, and the metric gap.

    `predict(prompts) -> predictions` decodes like the candidate's headline; `metric_of(refs, preds) -> float`.
    """
    report: dict = {}
    for axis, groups in AXES.items():
        rows = [i for i, p in enumerate(prompts) if mentions(_last_user(p), axis)][:limit]
        if not rows:
            report[axis] = {"n": 0, "note": "no test input mentions these terms"}
            continue
        base_prompts = [prompts[i] for i in rows]
        variants = [_swap_last_user(p, axis, g) for g in groups for p in base_prompts]
        outputs = predict(base_prompts + variants)
        original, rest = outputs[:len(rows)], outputs[len(rows):]
        refs = [references[i] for i in rows]
        per_group = {}
        for k, group in enumerate(groups):
            preds = rest[k * len(rows):(k + 1) * len(rows)]
            per_group[group] = {"changed_rate": sum(a != b for a, b in zip(preds, original)) / len(rows),
                                "metric": metric_of(refs, preds)}
        values = [g["metric"] for g in per_group.values()]
        report[axis] = {"n": len(rows), "original_metric": metric_of(refs, original), "groups": per_group,
                        "metric_gap": max(values) - min(values),
                        "changed_rate": max(g["changed_rate"] for g in per_group.values())}
    return report


def _last_user(prompt: list[dict]) -> str:
    return [m for m in prompt if m["role"] == "user"][-1]["content"]


def once_per_prompt(predict):
    """`predict` run on each distinct prompt once: a counterfactual that swaps a term for its own group's term
    (a text saying "he", swapped to the male group) is the original again, and decoding is deterministic."""
    import json

    def run(prompts: list[list[dict]]) -> list:
        keys = [json.dumps(p, sort_keys=True) for p in prompts]
        distinct = list(dict.fromkeys(keys))
        outputs = dict(zip(distinct, predict([json.loads(k) for k in distinct])))
        return [outputs[k] for k in keys]

    return run


def run_probes(model, tokenizer, prompts: list[list[dict]], references: list[str], cfg: Config,
               labels: list[str], decoding: str, name: str) -> dict:
    """Forgetting measurements and the fairness probe for one model (called before and after training)."""
    from honed.evaluate.candidates import predict
    from honed.evaluate.metrics import task_metrics

    metric = cfg.objective.metric
    ev = cfg.evaluation
    fairness = fairness_probe(
        once_per_prompt(lambda ps: predict(model, tokenizer, ps, cfg, labels, decoding,
                                           description=f"probe: fairness {name}")),
        prompts, references,
        lambda refs, preds: float(task_metrics(cfg.objective.task, refs, preds, labels)[metric]),
        ev.fairness_max_examples)
    return {"general": measure_general_ability(model, tokenizer, cfg), "fairness": fairness,
            "decoding": decoding}


def attach_probes(results: dict, role: str, model, tokenizer, prompts: list[list[dict]], references: list[str],
                  cfg: Config, labels: list[str]) -> None:
    """Probe `model` (role "base" before training, "fine_tuned" after) with zero-shot prompts; the
    measurements ride on the first local candidate's result until the report compares them."""
    name = "fine_tuned" if role == "fine_tuned" else next((n for n in ("zero_shot", "few_shot") if n in results),
                                                           None)
    if name is None:
        return
    decoding = "greedy" if results[name].is_api else results[name].decoding
    results[name].probes[role] = run_probes(model, tokenizer, prompts, references, cfg, labels, decoding, role)
