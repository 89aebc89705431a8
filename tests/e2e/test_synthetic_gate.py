"""`honed run` with `data.synthetic`: two trainings (with and without the synthetic rows), the validation metric
decides, and report.json says what was decided and why. A teacher that mislabels or writes garbage never gets its
rows into the kept model."""
from __future__ import annotations

import json

from teacherkit import teacher

from honed.cli import main
from honed.core.prepared import read_jsonl


def test_a_mislabelling_teacher_is_kept_out_by_the_validation_gate(tiny_project, tmp_path, one_thread):
    out = tmp_path / "out"
    with teacher("mislabel") as url:
        code = main(["run", str(tiny_project), "--output", str(out), "train.epochs=1", "data.synthetic.n=6",
                     f"data.synthetic.teacher={url}", "evaluation.probes=false", "evaluation.latency_samples=0",
                     "evaluation.few_shot_k=1"])
    assert code == 0
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    decision = report["synthetic"]
    rows = read_jsonl(out / "data" / "synthetic.jsonl")
    # Only "billing" passes the teacher's own second pass: shipping tickets labelled billing.
    assert rows and {r["label"] for r in rows} == {"billing"} and decision["generated"]["kept"] == len(rows)
    assert decision["kept"] is False and decision["reason"].startswith("kept out: validation")
    assert set(decision["validation"]) >= {"real_only", "with_synthetic", "metric", "n"}
    assert decision["validation"]["with_synthetic"] <= decision["validation"]["real_only"]
    assert {"fine_tuned", "fine_tuned_with_synthetic"} <= set(report["candidates"])
    assert "fine_tuned_vs_fine_tuned_with_synthetic" in report["comparisons"]
    assert report["data_counts"].get("synthetic") is None  # the kept model saw real rows only
    assert (out / "run-synthetic" / "adapter").is_dir() and (out / "run" / "adapter").is_dir()


def test_garbage_from_the_teacher_never_reaches_training(tiny_project, tmp_path, one_thread):
    out = tmp_path / "out"
    with teacher("garbage") as url:
        code = main(["run", str(tiny_project), "--output", str(out), "train.epochs=1", "data.synthetic.n=3",
                     f"data.synthetic.teacher={url}", "evaluation.probes=false", "evaluation.latency_samples=0",
                     "evaluation.baselines=[zero_shot]"])
    assert code == 0
    decision = json.loads((out / "report.json").read_text(encoding="utf-8"))["synthetic"]
    assert decision["kept"] is False and "none of the 3 synthetic rows passed the filters" in decision["reason"]
    assert "language" in decision["reason"] and not (out / "run-synthetic").exists()
