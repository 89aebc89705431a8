"""`honed eval` and `honed gate`: the parsers and their handlers. Heavy imports stay inside the handlers."""
from __future__ import annotations

import json
import time
from pathlib import Path

from honed.cli.common import add_config_args, default_output
from honed.core.config import load_config
from honed.core.errors import HonedError
from honed.core.progress import console


def run_eval(args) -> int:
    from honed.data.prepare import PreparedData, read_jsonl
    from honed.evaluate.assemble import build_report
    from honed.evaluate.report import save_report, summary_table
    from honed.pipeline import evaluate_baselines, evaluate_fine_tuned, load_with_status, sample_test
    from honed.train.sft import TrainResult

    cfg = load_config(args.config, args.overrides)
    run_dir = Path(args.run)
    adapter = run_dir / "adapter"
    if not adapter.is_dir():
        raise HonedError(f"`{run_dir}` holds no trained adapter (expected {adapter})",
                         "pass a run directory written by `honed train`")
    # `honed train` writes data/ inside the run directory; `honed run` writes it beside run/.
    data_dir = next((d for d in (run_dir / "data", run_dir.parent / "data") if (d / "dataset.json").is_file()), None)
    if data_dir is None:
        raise HonedError(f"`{run_dir}` has no prepared data (data/dataset.json) inside or beside it",
                         "pass a run directory written by `honed train` or `honed run`")
    info = json.loads((data_dir / "dataset.json").read_text())
    splits = {s: read_jsonl(data_dir / f"{s}.jsonl") for s in ("train", "validation", "test")}
    data = PreparedData(data_dir, info["hash"], splits, counts=info["counts"], labels=info["labels"])
    clock = time.perf_counter()
    model, tokenizer = load_with_status(cfg)
    timings = {"load_model_s": _lap(clock)}
    test = sample_test(splits["test"], cfg)
    clock = time.perf_counter()
    results = evaluate_baselines(cfg, data, test, model, tokenizer)
    timings["baselines_s"] = _lap(clock)
    clock = time.perf_counter()
    tuned = load_trained(model, adapter)
    results["fine_tuned"] = evaluate_fine_tuned(cfg, data, test, tuned, tokenizer)
    timings["eval_fine_tuned_s"] = _lap(clock)
    from honed.core.rundir import read_metrics

    history = read_metrics(run_dir)
    trained = TrainResult(tuned, adapter, [(h["step"], h["loss"]) for h in history if "loss" in h],
                          [(h["step"], h["eval_loss"]) for h in history if "eval_loss" in h], 0, 0, 0.0, 0.0, 0)
    report = build_report(cfg, data, test, results, trained, timings)
    path = save_report(report, Path(args.output) if args.output else run_dir / "eval")
    console.print(summary_table(report))
    print(path)
    return 0


def run_gate(args) -> int:
    from honed.evaluate.gate import check_gate, load_report

    candidate, candidate_path = load_report(args.candidate)
    baseline, baseline_path = load_report(args.against)
    tolerance = args.tolerance
    if tolerance is None:
        tolerance = float((candidate.get("gate") or {}).get("tolerance", 0.01))
    if tolerance < 0:
        raise HonedError(f"--tolerance must be ≥ 0, got {tolerance}", "pass e.g. --tolerance 0.01")
    result = check_gate(candidate, baseline, tolerance, name=args.name, metrics=args.metrics)
    if args.json:
        print(json.dumps({"passed": result.passed, "failures": result.failures, "checks": result.checks,
                          "candidate": str(candidate_path), "baseline": str(baseline_path),
                          "tolerance": tolerance}, indent=2))
    else:
        for check in result.checks:
            mark = "  ok" if check["passed"] else "  x "
            print(f"{mark} {check['metric']:<18} {check['kind']:<10} {_fmt(check['value'])} "
                  f"(limit {_fmt(check['threshold'])})")
        for failure in result.failures:
            print(f"FAIL {failure}")
        print(f"gate {'passed' if result.passed else 'failed'}: {candidate_path} vs {baseline_path} "
              f"(tolerance {tolerance:g})")
    return 0 if result.passed else 1


def _fmt(value) -> str:
    return "missing" if value is None else f"{value:.4f}"


def _lap(start: float) -> float:
    return round(time.perf_counter() - start, 2)


def load_trained(base_model, adapter: Path):
    """A run's trained model: a PEFT adapter on top of the base, or (full fine-tuning) a whole saved model."""
    if (adapter / "adapter_config.json").is_file():
        from peft import PeftModel

        return PeftModel.from_pretrained(base_model, adapter)
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(adapter, dtype=base_model.dtype)


def register(verbs) -> None:
    ev = verbs.add_parser("eval", help="evaluate baselines and a trained run side by side")
    add_config_args(ev)
    ev.add_argument("--run", required=True, metavar="RUN", help="run directory written by `honed train`")
    ev.set_defaults(handler="honed.cli.evaluate:run_eval")

    gate = verbs.add_parser("gate", help="CI gate: objective met and no metric regressed against a baseline report",
                            description="Exit 0 when CANDIDATE meets its objective and no checked metric falls more "
                                        "than the tolerance below BASELINE; exit 1 naming each failing metric.")
    gate.add_argument("candidate", metavar="CANDIDATE", help="report.json, a directory holding one, or a run id")
    gate.add_argument("--against", required=True, metavar="BASELINE",
                      help="the report to compare with (report.json, directory or run id)")
    gate.add_argument("--tolerance", type=float, default=None,
                      help="allowed drop per metric (default: the candidate report's evaluation.gate_tolerance, "
                           "else 0.01)")
    gate.add_argument("--name", default="fine_tuned", help="candidate entry compared in both reports")
    gate.add_argument("--metric", action="append", dest="metrics", metavar="METRIC",
                      help="check only this metric (repeatable; default: the task's metrics)")
    gate.add_argument("--json", action="store_true", help="print the checks as JSON")
    gate.set_defaults(handler="honed.cli.evaluate:run_gate")
