"""`honed run` beyond chat SFT (issue 10): preference data → preference accuracy and DPO reward margins with CIs;
text data → perplexity before/after; KTO → desirable vs undesirable likelihood gap. No path ends in a traceback,
and predictions.jsonl holds every test row of every candidate."""
from __future__ import annotations

import json

from honed.cli import main

CONFIG = """\
project: {name}
data: {{train: [data.jsonl], split: {{train: 0.6, validation: 0.1, test: 0.3}}}}
model: {{base: tiny-random, max_length: 128}}
method: {{kind: lora, r: 4, alpha: 8, dropout: 0.0}}
train: {{max_steps: 2, learning_rate: 0.005, batch_size: 4, seed: 3{extra}}}
evaluation: {{bootstrap_samples: 100, max_new_tokens: 4}}
"""
TOPICS = ["apples", "rivers", "trains", "violins", "glaciers", "owls", "bridges", "comets", "tulips", "deserts",
          "lanterns", "harbours", "meadows", "volcanoes", "pianos", "islands", "kites", "canyons", "forests", "moons"]


def _project(tmp_path, name: str, rows: list[dict], extra: str = ""):
    (tmp_path / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "honed.yaml").write_text(CONFIG.format(name=name, extra=extra))
    out = tmp_path / "out"
    assert main(["run", str(tmp_path / "honed.yaml"), "--output", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    predictions = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert (out / "report.html").is_file()
    assert len(predictions) == 2 * report["n_test"] and {p["candidate"] for p in predictions} == {"base", "fine_tuned"}
    return report


def test_run_on_preference_pairs_reports_accuracy_and_reward_margins(tmp_path):
    rows = [{"prompt": f"Tell me one fact about {t}.", "chosen": f"Here is a true, kind fact about {t}.",
             "rejected": f"I refuse to talk about {t}, go away."} for t in TOPICS]
    report = _project(tmp_path, "pref", rows)
    assert report["task"] == "preference" and report["primary_metric"] == "preference_accuracy"
    base, tuned = report["candidates"]["base"], report["candidates"]["fine_tuned"]
    assert 0 <= base["preference_accuracy"] <= 1 and {"reward_margin", "reward_accuracy"} <= set(tuned)
    lo, hi = report["confidence_intervals"]["fine_tuned"]["preference_accuracy"]
    assert lo <= tuned["preference_accuracy"] <= hi
    assert "preference_accuracy" in report["comparisons"]["fine_tuned_vs_base"]
    assert report["training"]["train_loss"]
    # `honed eval` on the finished run takes the same path (no `prompt_of()` KeyError)
    assert main(["eval", str(tmp_path / "honed.yaml"), "--run", str(tmp_path / "out" / "run"),
                 "--output", str(tmp_path / "again")]) == 0
    again = json.loads((tmp_path / "again" / "report.json").read_text())
    assert again["candidates"]["fine_tuned"]["preference_accuracy"] == tuned["preference_accuracy"]


def test_run_on_text_reports_perplexity_before_and_after(tmp_path):
    rows = [{"text": f"The {t} were described in the old book. Everyone who read about the {t} remembered them."}
            for t in TOPICS]
    report = _project(tmp_path, "text", rows)
    assert report["task"] == "text" and report["primary_metric"] == "perplexity"
    assert report["candidates"]["base"]["perplexity"] > 1 and report["candidates"]["fine_tuned"]["perplexity"] > 1
    assert report["lower_is_better"] == ["perplexity"]


def test_run_on_kto_reports_the_likelihood_gap(tmp_path):
    rows = [{"prompt": f"Describe {t}.", "completion": f"{t.title()} are lovely." if i % 2 else f"{t} bad bad.",
             "label": bool(i % 2)} for i, t in enumerate(TOPICS)]
    report = _project(tmp_path, "kto", rows)
    assert report["task"] == "kto" and report["primary_metric"] == "likelihood_gap"
    assert {"desirable_logprob", "undesirable_logprob"} <= set(report["candidates"]["fine_tuned"])
    meta = json.loads((tmp_path / "out" / "run" / "meta.json").read_text())
    assert meta["objective"] == "kto"  # trained with TRL's KTO objective, never as SFT
