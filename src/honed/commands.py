"""One `run_<verb>` per CLI verb. Each reads top to bottom; the heavy lifting lives in the stage subpackages."""
from __future__ import annotations

import json
import time
from pathlib import Path

from honed.config import load_config
from honed.progress import console


def default_output(cfg, kind: str) -> Path:
    return cfg.root / "runs" / f"{cfg.project}-{kind}-{time.strftime('%Y%m%d-%H%M%S')}"


def run_init(args) -> int:
    from honed.scaffold import write_scaffold

    path = write_scaffold(Path(args.directory))
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
