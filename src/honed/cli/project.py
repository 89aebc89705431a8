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
    run.add_argument("--budget", metavar="TIME", help="first search learning rate, epochs and LoRA rank for this "
                     "long (e.g. 20m, 1h, 90s, 300), selecting on the validation split; then train the best")
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
    budget = parse_budget(args.budget) if args.budget else None
    claim_output(output, args.overwrite)
    if budget is None:
        report_path = run_whole_flow(cfg, output)
    else:
        from honed.runs import budget_run

        report_path = budget_run(cfg, output, budget)
    report = json.loads(report_path.read_text(encoding="utf-8"))
    console.print(summary_table(report))
    print(report_path)
    return 0


BUDGET_UNITS = {"s": 1, "m": 60, "h": 3600}


def parse_budget(text: str) -> float:
    """`20m` → 1200.0, `1h` → 3600.0, `90s` or `90` → 90.0."""
    from honed.core.errors import HonedError

    value = text.strip().lower()
    unit = BUDGET_UNITS.get(value[-1:], None)
    number = value[:-1] if unit else value
    try:
        seconds = float(number) * (unit or 1)
    except ValueError:
        seconds = -1.0
    if seconds <= 0:
        raise HonedError(f"`--budget {text}` is not a positive time", "write e.g. `--budget 20m`, `1h`, `90s` or `300`")
    return seconds
