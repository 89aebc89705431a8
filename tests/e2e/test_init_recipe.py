"""`honed init` writes `auto` for the recipe's keys, and `honed run` on that file, with no training key set by hand,
trains with the recipe's choices: the step floor, the rate for the rank, balanced labels on skewed data, and the
fine-tune decoded by label scoring beside greedy."""
from __future__ import annotations

import json
import random

import pytest
import yaml

from honed.cli import main

RECIPE_KEYS = ("epochs", "learning_rate", "balance_labels")


def skewed_rows(path, counts: dict[str, int]) -> None:
    rng = random.Random(0)
    words = {"billing": "invoice charge", "shipping": "parcel delivery", "login": "password account"}
    rows = [{"text": f"about my {words[label]} {i} {rng.randint(100, 999)}", "label": label}
            for label, n in counts.items() for i in range(n)]
    rng.shuffle(rows)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_init_writes_auto_for_every_recipe_key(tmp_path):
    assert main(["init", str(tmp_path)]) == 0
    config = yaml.safe_load((tmp_path / "honed.yaml").read_text(encoding="utf-8"))
    assert all(config["train"][key] == "auto" for key in RECIPE_KEYS)
    assert config["evaluation"]["label_scoring"] is True


@pytest.mark.slow  # 300 optimizer steps (the recipe's floor) on tiny-random: ~1-3 min on the shared CPU
def test_run_on_the_init_file_uses_the_recipe(tmp_path, one_thread):
    assert main(["init", str(tmp_path)]) == 0
    path = tmp_path / "honed.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    skewed_rows(tmp_path / "data.jsonl", {"billing": 40, "shipping": 8, "login": 8})  # 5:1, above the 3:1 rule
    # What a user edits after init: the data, the objective, the model. No `train.*` key is touched.
    config["objective"].update(task="classification", metric="accuracy", target=0.5,
                               labels=["billing", "shipping", "login"])
    config["model"].update(base="tiny-random", max_length=64)
    config["evaluation"].update(probes=False, latency_samples=0, bootstrap_samples=100, max_new_tokens=3)
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(path), "--output", str(out)]) == 0
    recipe = json.loads((out / "run" / "meta.json").read_text())["recipe"]
    assert recipe["decoding"]["value"] == "label_scoring + greedy"
    assert all(recipe[key]["why"] != "set in the config" for key in RECIPE_KEYS)
    assert recipe["balance_labels"]["value"] is True
    after = recipe["balance_labels"]["counts_after"]
    assert len(set(after.values())) == 1  # every label oversampled up to the largest
    r = config["method"]["r"]
    assert recipe["learning_rate"]["value"] == pytest.approx(float(f"{2e-4 * (16 / r) ** 0.5:.3g}"))
    rows, per_step = sum(after.values()), config["train"]["batch_size"] * config["train"]["grad_accum"]
    epochs = recipe["epochs"]["value"]
    assert epochs * -(-rows // per_step) >= config["train"]["auto_min_steps"]  # the step floor is reached
    meta = json.loads((out / "run" / "meta.json").read_text())
    assert meta["global_step"] >= config["train"]["auto_min_steps"]  # early stopping is off by default
    report = json.loads((out / "report.json").read_text())
    assert report["recipe"] == recipe
    assert set(report["details"]["fine_tuned"]["by_decoding"]) == {"greedy", "label_scoring"}
