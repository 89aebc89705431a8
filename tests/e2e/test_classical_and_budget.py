"""The classical baseline in a real report, the verdict naming it, the recipe recorded, and `run --budget`."""
from __future__ import annotations

import html
import json
import time

import pytest

from honed.cli import main


@pytest.fixture(scope="module")
def two_step_run(tmp_path_factory):
    """tiny-random trained for 2 steps on keyword tickets: the SVM solves them, the fine-tune cannot."""
    from projectkit import tiny_config_text, write_ticket_rows

    root = tmp_path_factory.mktemp("classical")
    write_ticket_rows(root / "data.jsonl", per_label=20)
    (root / "honed.yaml").write_text(tiny_config_text())
    out = root / "out"
    code = main(["run", str(root / "honed.yaml"), "--output", str(out), "train.max_steps=2",
                 "train.learning_rate=auto", "evaluation.probes=false"])
    return code, out, json.loads((out / "report.json").read_text())


def test_classical_is_a_candidate_with_cis_a_paired_test_and_costs(two_step_run):
    code, _, report = two_step_run
    assert code == 0
    assert "classical" in report["candidates"] and report["details"]["classical"]["kind"] == "classical"
    assert report["details"]["classical"]["decoding"] == "tfidf_svm"
    lo, hi = report["confidence_intervals"]["classical"]["accuracy"]
    assert 0 <= lo <= report["candidates"]["classical"]["accuracy"] <= hi <= 1
    comparison = report["comparisons"]["fine_tuned_vs_classical"]["accuracy"]
    assert 0 < comparison["p_value"] <= 1 and comparison["ci"][0] <= comparison["ci"][1]
    costs = report["efficiency"]["candidates"]["classical"]
    assert costs["train_seconds"] > 0 and costs["cost_per_1000_requests_self_hosted"] > 0
    assert "cost_per_1000_requests_api" not in costs  # no tokens, no token price
    assert report["efficiency"]["candidates"]["fine_tuned"]["train_seconds"] > 0


def test_the_verdict_names_the_classical_winner(two_step_run):
    _, out, report = two_step_run
    scores = {n: c["accuracy"] for n, c in report["candidates"].items()}
    assert scores["classical"] > scores["fine_tuned"]  # the constructed case: keywords vs a 2-step random model
    assert report["objective"]["best_candidate"] == "classical" and "verdict" not in report["objective"]
    verdict = report["verdict"]  # the one verdict: won outright or tied, the classical model is named
    assert verdict["winner"] == "classical" and verdict["outcome"] != "fine_tune_wins"
    assert verdict["text"].startswith("A classical TF-IDF + SVM model")
    assert html.escape(verdict["text"]) in (out / "report.html").read_text()
    from honed.evaluate.report import summary_table

    assert verdict["text"] in summary_table(report).caption


def test_the_recipe_is_recorded_and_the_fine_tune_gets_label_scoring(two_step_run):
    _, out, report = two_step_run
    meta = json.loads((out / "run" / "meta.json").read_text())
    recipe = meta["recipe"]
    assert set(recipe) == {"balance_labels", "learning_rate", "epochs", "decoding"}
    assert recipe["learning_rate"]["value"] == pytest.approx(2e-4 * 2)  # tiny config: LoRA r = 4 → 2e-4 × sqrt(4)
    assert recipe["epochs"] == {"value": 2.0, "why": "set in the config"}  # the tiny config sets epochs: 2
    assert report["recipe"] == recipe
    assert "<h2>Recipe</h2>" in (out / "report.html").read_text()
    assert set(report["details"]["fine_tuned"]["by_decoding"]) == {"greedy", "label_scoring"}


@pytest.mark.slow  # a 30-second search by design, then the final run
def test_budget_search_stops_near_the_budget_and_never_touches_the_test_split(tiny_project, monkeypatch):
    from honed import runs
    from honed.train import sweep

    searching, reads_during_search, reads_after = [False], [], []
    original_sample, original_sweep = runs.sample_test, sweep.run_sweep

    def counting_sample(data, cfg):
        (reads_during_search if searching[0] else reads_after).append(1)
        return original_sample(data, cfg)

    def flagged_sweep(*args, **kwargs):
        searching[0] = True
        try:
            return original_sweep(*args, **kwargs)
        finally:
            searching[0] = False

    monkeypatch.setattr(runs, "sample_test", counting_sample)
    monkeypatch.setattr(sweep, "run_sweep", flagged_sweep)
    out = tiny_project.parent / "out"
    started = time.perf_counter()
    code = main(["run", str(tiny_project), "--output", str(out), "--budget", "30s", "train.learning_rate=auto",
                 "train.epochs=1", "evaluation.probes=false"])
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    search = report["search"]
    assert search["budget_seconds"] == 30 and search["trials"] >= 2
    assert search["elapsed_seconds"] < 30 + 15  # Optuna stops starting trials at the budget; one may finish
    assert set(search["params"]) == {"learning_rate", "epochs", "r"} and search["params"]["epochs"] == 1.0
    assert "validation" in search["selected_on"]
    assert not reads_during_search and reads_after  # the test split is read only by the final evaluation
    assert "Budgeted search" in (out / "report.html").read_text()
    trials = (out / "search" / "trials.jsonl").read_text().splitlines()
    assert len(trials) == search["trials"]
    meta = json.loads((out / "run" / "meta.json").read_text())
    assert meta["recipe"]["learning_rate"]["value"] == search["params"]["learning_rate"]
    assert time.perf_counter() - started < 120


def test_budget_is_parsed_with_units():
    from honed.cli.project import parse_budget
    from honed.core.errors import HonedError

    assert parse_budget("20m") == 1200 and parse_budget("1h") == 3600 and parse_budget("90s") == parse_budget("90")
    for bad in ("soon", "-5m", "0"):
        with pytest.raises(HonedError):
            parse_budget(bad)
