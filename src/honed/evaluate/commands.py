"""Handler for `honed eval`."""
from __future__ import annotations

import json
from pathlib import Path

from honed.config import load_config
from honed.errors import HonedError
from honed.progress import console


def run_eval(args) -> int:
    from honed.data.prepare import PreparedData, read_jsonl
    from honed.evaluate.report import save_report, summary_table
    from honed.evaluate.assemble import build_report
    from honed.pipeline import evaluate_baselines, evaluate_fine_tuned, load_with_status, sample_test
    from honed.train.sft import TrainResult

    cfg = load_config(args.config, args.overrides)
    run_dir = Path(args.run)
    adapter = run_dir / "adapter"
    if not adapter.is_dir():
        raise HonedError(f"`{run_dir}` holds no trained adapter (expected {adapter})",
                         "pass a run directory written by `honed train`")
    info = json.loads((run_dir / "data" / "dataset.json").read_text())
    splits = {s: read_jsonl(run_dir / "data" / f"{s}.jsonl") for s in ("train", "validation", "test")}
    data = PreparedData(run_dir / "data", info["hash"], splits, counts=info["counts"], labels=info["labels"])
    model, tokenizer = load_with_status(cfg)
    test = sample_test(splits["test"], cfg)
    results = evaluate_baselines(cfg, data, test, model, tokenizer)
    from peft import PeftModel

    tuned = PeftModel.from_pretrained(model, adapter)
    results["fine_tuned"] = evaluate_fine_tuned(cfg, data, test, tuned, tokenizer)
    history = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines() if x.strip()]
    trained = TrainResult(tuned, adapter, [(h["step"], h["loss"]) for h in history if "loss" in h],
                          [(h["step"], h["eval_loss"]) for h in history if "eval_loss" in h], 0, 0, 0.0, 0.0, 0)
    report = build_report(cfg, data, test, results, trained, {})
    path = save_report(report, Path(args.output) if args.output else run_dir / "eval")
    console.print(summary_table(report))
    print(path)
    return 0
