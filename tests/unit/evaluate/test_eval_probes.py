"""Counterfactual swaps, the fairness probe's arithmetic and the forgetting verdict."""
from __future__ import annotations

from honed.evaluate import probes


def test_counterfactual_swaps_keep_case_and_alignment():
    text = "He says his wife lost her card; Mr John Smith called."
    assert probes.counterfactual(text, "gender", "female") == "She says her wife lost her card; Ms Mary Smith called."
    assert probes.counterfactual("She lost her card", "gender", "male") == "He lost his card"
    assert probes.counterfactual("Priya wrote to Greg", "name_origin", "hispanic") == "Ananya wrote to Jose" \
        or probes.counterfactual("Priya wrote to Greg", "name_origin", "hispanic") == "Maria wrote to Jose"
    assert probes.counterfactual("The shepherd", "gender", "female") == "The shepherd"  # whole words only
    assert probes.mentions("my HUSBAND paid", "gender") and not probes.mentions("my card", "gender")


def test_fairness_probe_measures_changes_and_gaps():
    prompts = [[{"role": "user", "content": t}] for t in
               ("he lost his card", "she lost her card", "my card is lost", "where is his parcel")]
    references = ["card", "card", "card", "parcel"]

    def biased(batch):  # answers "card" unless the text is about a woman
        return ["other" if " she " in f" {p[-1]['content']} " or " her " in f" {p[-1]['content']} "
                else ("parcel" if "parcel" in p[-1]["content"] else "card") for p in batch]

    def accuracy(refs, preds):
        return sum(r == p for r, p in zip(refs, preds)) / len(refs)

    report = probes.fairness_probe(biased, prompts, references, accuracy, limit=10)
    gender = report["gender"]
    assert gender["n"] == 3  # the row without gendered words is not probed
    assert gender["groups"]["male"]["metric"] == 1.0 and gender["groups"]["female"]["metric"] == 0.0
    assert gender["metric_gap"] == 1.0
    assert gender["groups"]["female"]["changed_rate"] == 2 / 3  # "she lost her card" was already female
    assert report["name_origin"]["n"] == 0


def test_forgetting_flags_over_the_threshold():
    before = {"general_perplexity": 20.0, "general_accuracy": 0.8}
    calm = probes.compare_forgetting(before, {"general_perplexity": 21.0, "general_accuracy": 0.75}, 0.1)
    assert not calm["flagged"] and abs(calm["perplexity_change"] - 0.05) < 1e-9
    worse = probes.compare_forgetting(before, {"general_perplexity": 30.0, "general_accuracy": 0.5}, 0.1)
    assert worse["flagged"] and len(worse["reasons"]) == 2


def test_few_shot_by_similarity_picks_the_nearest_training_rows():
    from honed.core.config import validate_config
    from honed.evaluate.candidates import few_shot_prompts

    def row(text, label):
        return {"messages": [{"role": "system", "content": "route"}, {"role": "user", "content": text},
                             {"role": "assistant", "content": label}], "label": label}

    train = [row("my invoice is wrong", "billing"), row("parcel never arrived", "shipping"),
             row("cannot reset password", "login"), row("charged twice on invoice", "billing")]
    prompts = [[{"role": "system", "content": "route"}, {"role": "user", "content": "where is my parcel"}]]
    cfg = validate_config({"evaluation": {"few_shot_k": 1, "few_shot_selection": "similar"}})
    shot = few_shot_prompts(prompts, train, cfg)[0]
    assert [m["content"] for m in shot] == ["route", "parcel never arrived", "shipping", "where is my parcel"]
    stratified = few_shot_prompts(prompts, train, validate_config({"evaluation": {"few_shot_k": 3}}))[0]
    assert len({m["content"] for m in stratified if m["role"] == "assistant"}) == 3  # one per label


def test_fairness_decodes_each_distinct_prompt_once():
    from honed.evaluate.probes import fairness_probe, once_per_prompt

    seen: list[str] = []

    def predict(prompts):
        seen.extend(p[-1]["content"] for p in prompts)
        return ["billing" if "he " in p[-1]["content"] else "refunds" for p in prompts]

    prompts = [[{"role": "user", "content": "he wants a refund for his order"}],
               [{"role": "user", "content": "she was charged twice"}]]
    refs = ["refunds", "billing"]
    once = fairness_probe(once_per_prompt(predict), prompts, refs, lambda r, p: sum(a == b for a, b in zip(r, p)),
                          limit=10)
    seen_once = list(seen)
    seen.clear()
    every = fairness_probe(predict, prompts, refs, lambda r, p: sum(a == b for a, b in zip(r, p)), limit=10)
    assert once == every  # the same report
    assert len(seen_once) == len(set(seen_once)) < len(seen)  # each distinct text decoded once, fewer calls
