"""`honed run` with `data.documents`: the report gains `rag` and `rag_fine_tuned`, with CIs, paired tests against
the fine-tune, retrieval figures, cost/latency, and a one-sentence verdict first in report.json and report.html."""
from __future__ import annotations

import json

from honed.cli import main

DOCS = {
    "billing.md": "# Billing\n\nQuestions about an invoice, a receipt, a payment that failed or being charged twice "
                  "are billing tickets.",
    "shipping.md": "# Shipping\n\nA late package, a tracking number, the courier, a lost parcel or a delivery "
                   "address: these are shipping tickets.",
    "login.txt": "Password resets, two-factor codes, a locked account, a forgotten username or not being able to "
                 "sign in are login tickets.",
}


def test_report_lists_rag_candidates_with_intervals_and_a_verdict(tiny_project, tmp_path, one_thread):
    docs = tiny_project.parent / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    code = main(["run", str(tiny_project), "--output", str(out), "train.epochs=1", "data.documents=[docs]",
                 "data.retrieval.top_k=2", "evaluation.probes=false", "evaluation.latency_samples=2"])
    assert code == 0
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    names = {"zero_shot", "few_shot", "rag", "fine_tuned", "rag_fine_tuned"}
    assert names <= set(report["candidates"])
    for name in names:
        low, high = report["confidence_intervals"][name]["accuracy"]
        assert 0 <= low <= report["candidates"][name]["accuracy"] <= high <= 1
    for name in ("rag", "rag_fine_tuned"):
        assert 0 <= report["comparisons"][f"fine_tuned_vs_{name}"]["accuracy"]["p_value"] <= 1
        cost = report["efficiency"]["candidates"][name]  # cost and latency of each candidate
        assert cost and all(v is None or v >= 0 for v in cost.values() if isinstance(v, float | int))
    assert report["retrieval"]["chunks"] == 3 and report["retrieval"]["k"] == 2
    verdict = report["verdict"]
    assert verdict["winner"] in report["candidates"] and verdict["text"].count(".") >= 1
    assert verdict["text"].startswith("Fine-tuning wins") == verdict["fine_tune_needed"]
    assert verdict["fine_tune_needed"] == (verdict["outcome"] == "fine_tune_wins")
    html = (out / "report.html").read_text(encoding="utf-8")
    body = html[html.index("<body"):]
    assert body.index('class="verdict"') < body.index("<table")  # the verdict is the first paragraph
    rag_prompts = [r for r in map(json.loads, (out / "predictions.jsonl").read_text().splitlines())
                   if r["candidate"] == "rag"]
    assert len(rag_prompts) == report["n_test"]
