"""The default recipe: `auto` keys fitted to the data and the method; anything set explicitly is respected."""
from __future__ import annotations

from collections import Counter

import pytest

from honed.core.config import validate_config
from honed.train.recipe import IMBALANCE_RATIO, adapt_recipe, concrete, learning_rate_for, oversample

LABELS = ["billing", "shipping", "login"]


def rows(counts: dict[str, int]) -> list[dict]:
    out = []
    for label, n in counts.items():
        for i in range(n):
            out.append({"messages": [{"role": "user", "content": f"about my {label} issue number {i}"},
                                     {"role": "assistant", "content": label}], "label": label})
    return out


def config(**train) -> object:
    return validate_config({"objective": {"task": "classification", "labels": LABELS},
                            "model": {"base": "tiny-random"}, "method": {"kind": "lora", "r": 16},
                            "train": {"batch_size": 8, **train}})


def test_a_small_set_gets_at_least_the_step_floor(tokenizer):
    train = rows({"billing": 20, "shipping": 20, "login": 20})
    recipe = adapt_recipe(config(), train, tokenizer)
    epochs = recipe.cfg.train.epochs
    steps = epochs * -(-len(recipe.train) // 8)
    assert steps >= 100 and epochs == recipe.choices["epochs"]["value"]
    assert "100 steps" in recipe.choices["epochs"]["why"]


def test_a_large_set_trains_one_epoch(tokenizer):
    train = rows({"billing": 1000, "shipping": 1000, "login": 1000})
    assert adapt_recipe(config(), train, tokenizer).cfg.train.epochs == 1.0


def test_the_time_budget_caps_the_epochs(tokenizer):
    train = rows({"billing": 20, "shipping": 20, "login": 20})
    cfg = validate_config({**config().model_dump(mode="json"), "model": {"base": "smollm2-135m-instruct"},
                           "train": {"batch_size": 8, "auto_max_minutes": 0.5}})
    recipe = adapt_recipe(cfg, train, tokenizer)
    assert 1.0 <= recipe.cfg.train.epochs < 13  # 13 epochs would reach 100 steps; half a minute affords fewer
    assert "capped by train.auto_max_minutes" in recipe.choices["epochs"]["why"]


def test_explicit_values_are_respected(tokenizer):
    train = rows({"billing": 20, "shipping": 20, "login": 20})
    recipe = adapt_recipe(config(epochs=2, learning_rate=0.005), train, tokenizer)
    assert recipe.cfg.train.epochs == 2.0 and recipe.cfg.train.learning_rate == 0.005
    assert recipe.choices["epochs"]["why"] == recipe.choices["learning_rate"]["why"] == "set in the config"


def test_learning_rate_scales_with_rank_and_method():
    def rate(**method):
        cfg = validate_config({"method": {"kind": "lora", **method}})
        return learning_rate_for(cfg)[0]

    assert rate(r=4) > rate(r=16) > rate(r=64)
    assert rate(r=16) == pytest.approx(2e-4) and rate(r=4) == pytest.approx(4e-4)
    assert rate(r=4, use_rslora=True) == rate(r=64, use_rslora=True) == pytest.approx(2e-4)
    assert rate(kind="full") == pytest.approx(2e-5) and rate(kind="prompt") > rate(kind="ia3") > rate(r=16)


def test_skewed_labels_are_balanced_and_balanced_ones_are_not(tokenizer):
    skewed = rows({"billing": 40, "shipping": 5, "login": 10})
    recipe = adapt_recipe(config(), skewed, tokenizer)
    assert recipe.choices["balance_labels"]["value"] is True and 40 / 5 > IMBALANCE_RATIO
    assert Counter(r["label"] for r in recipe.train) == {"billing": 40, "shipping": 40, "login": 40}
    assert recipe.choices["balance_labels"]["counts"] == {"billing": 40, "shipping": 5, "login": 10}

    even = rows({"billing": 12, "shipping": 10, "login": 9})
    recipe = adapt_recipe(config(), even, tokenizer)
    assert recipe.choices["balance_labels"]["value"] is False and recipe.train == even


def test_balancing_can_be_switched_off_and_is_seeded(tokenizer):
    skewed = rows({"billing": 40, "shipping": 5, "login": 10})
    assert adapt_recipe(config(balance_labels=False), skewed, tokenizer).train == skewed
    assert oversample(skewed, 3) == oversample(skewed, 3) != oversample(skewed, 4)


def test_classification_is_decoded_by_label_scoring_for_the_fine_tune_too(tokenizer):
    recipe = adapt_recipe(config(), rows({"billing": 5, "login": 5}), tokenizer)
    assert recipe.choices["decoding"]["value"] == "label_scoring + greedy"
    off = validate_config({**config().model_dump(mode="json"), "evaluation": {"label_scoring": False}})
    assert adapt_recipe(off, rows({"billing": 5, "login": 5}), tokenizer).choices["decoding"]["value"] == "greedy"


def test_auto_outside_a_run_falls_back_to_the_old_defaults():
    training = validate_config({}).train
    assert training.epochs == training.learning_rate == "auto"
    assert concrete(training, "epochs") == 1.0 and concrete(training, "learning_rate") == 2e-4


def test_a_bad_value_names_the_key():
    from honed.core.errors import HonedError

    with pytest.raises(HonedError) as caught:
        validate_config({"train": {"epochs": 0, "learning_rate": "fast"}})
    problems = "\n".join(caught.value.details)
    assert "`train.epochs`: must be greater than 0 or `auto`" in problems
    assert "`train.learning_rate`: must be a number or `auto`" in problems
