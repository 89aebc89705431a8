"""`honed init` and `honed run`: scaffold a project; walk the whole flow."""
from __future__ import annotations

import json
from pathlib import Path

from honed.cli.common import add_config_args, default_output
from honed.core.config import load_config
from honed.core.progress import console


def register(verbs) -> None:
    init = verbs.add_parser("init", help="scaffold a project: a commented honed.yaml")
    init.add_argument("directory", nargs="?", default=".")
    init.set_defaults(handler="honed.cli.project:run_init")
    run = verbs.add_parser("run", help="the whole flow: prepare → baselines → train → eval → report")
    add_config_args(run)
    run.add_argument("--overwrite", action="store_true", help="delete a non-empty --output first (default: refuse)")
    run.set_defaults(handler="honed.cli.project:run_quickstart")


def run_init(args) -> int:
    from honed.cli.scaffold import write_scaffold

    path = write_scaffold(Path(args.directory))
    console.print(f"wrote {path}: edit `data.train` and `objective`, then run `honed run {path}`")
    return 0


def run_quickstart(args) -> int:
    from honed.core.rundir import claim_output
    from honed.evaluate.report import summary_table
    from honed.runs import run_whole_flow

    cfg = load_config(args.config, args.overrides)
    output = Path(args.output) if args.output else default_output(cfg, "run")
    claim_output(output, args.overwrite)
    report_path = run_whole_flow(cfg, output)
    report = json.loads(report_path.read_text(encoding="utf-8"))
    console.print(summary_table(report))
    print(report_path)
    return 0
