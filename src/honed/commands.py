"""One `run_<verb>` per CLI verb. Each reads top to bottom; the heavy lifting lives in the stage subpackages."""
from __future__ import annotations

import json
import time
from pathlib import Path

from honed.config import load_config
from honed.errors import HonedError
from honed.progress import console


def default_output(cfg, kind: str) -> Path:
    return cfg.root / "runs" / f"{cfg.project}-{kind}-{time.strftime('%Y%m%d-%H%M%S')}"


def run_init(directory: Path) -> int:
    from honed.scaffold import write_scaffold

    path = write_scaffold(directory)
    console.print(f"wrote {path}: edit `data.train` and `objective`, then run `honed run {path}`")
    return 0


def run_quickstart(args) -> int:
    from honed.evaluate.report import summary_table
    from honed.pipeline import run_run

    cfg = load_config(args.config, args.overrides)
    output = Path(args.output) if args.output else default_output(cfg, "run")
    report_path = run_run(cfg, output)
    report = json.loads(report_path.read_text(encoding="utf-8"))
    console.print(summary_table(report))
    print(report_path)
    return 0


def run_train(args) -> int:
    from honed.data.prepare import run_prepare
    from honed.pipeline import load_with_status, subsample
    from honed.rundir import RunDir
    from honed.train.sft import train_sft

    if args.resume:
        raise HonedError("`--resume` is not available yet", "start a new run without --resume")
    cfg = load_config(args.config, args.overrides)
    output = Path(args.output) if args.output else default_output(cfg, "train")
    data = run_prepare(cfg, output / "data")
    model, tokenizer = load_with_status(cfg)
    run = RunDir.create(output, "train", cfg, data.dataset_hash)
    result = train_sft(cfg, model, tokenizer, subsample(data.splits["train"], cfg.train.max_train_examples,
                                                        cfg.train.seed), data.splits["validation"], run)
    run.finish(train_seconds=result.seconds, final_loss=result.train_loss[-1][1] if result.train_loss else None)
    console.print(f"trained {result.trainable_params:,} of {result.total_params:,} parameters in "
                  f"{result.seconds:.0f} s; adapter in {result.adapter_dir}")
    print(output)
    return 0


def run_eval(args) -> int:
    from honed.data.prepare import PreparedData, read_jsonl
    from honed.evaluate.report import save_report, summary_table
    from honed.pipeline import build_report, evaluate_baselines, evaluate_fine_tuned, load_with_status, sample_test
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


def run_data_prepare(config: str, overrides: list[str], output: str | None) -> int:
    from honed.data.prepare import run_prepare

    cfg = load_config(config, overrides)
    out = Path(output) if output else cfg.root / "prepared"
    data = run_prepare(cfg, out)
    console.print(f"prepared {data.counts} · hash {data.dataset_hash}")
    print(out)
    return 0


def run_data_check(path: Path, as_json: bool, fmt: str, config: str | None) -> int:
    from honed.data.check import check_file

    cfg = load_config(config) if config else None
    result = check_file(path, fmt=fmt, cfg=cfg)
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        for e in result["errors"]:
            console.print(f"[red]line {e['line']}[/] {e['code']}: {e['message']}")
        for w in result["warnings"]:
            console.print(f"[yellow]warning[/] {w['code']}: {w['message']}")
        console.print(f"{result['rows']} rows, {len(result['errors'])} errors, {len(result['warnings'])} warnings")
    return 1 if result["errors"] else 0
