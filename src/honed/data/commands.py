"""Handlers for `honed data …`."""
from __future__ import annotations

import json
from pathlib import Path

from honed.config import load_config
from honed.progress import console


def run_prepare_verb(args) -> int:
    from honed.data.prepare import run_prepare

    cfg = load_config(args.config, args.overrides)
    out = Path(args.output) if args.output else cfg.root / "prepared"
    data = run_prepare(cfg, out)
    console.print(f"prepared {data.counts} · hash {data.dataset_hash}")
    print(out)
    return 0


def run_check(args) -> int:
    from honed.data.check import check_file

    cfg = load_config(args.config) if args.config else None
    result = check_file(Path(args.file), fmt=args.format, cfg=cfg)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for e in result["errors"]:
            console.print(f"[red]line {e['line']}[/] {e['code']}: {e['message']}")
        for w in result["warnings"]:
            console.print(f"[yellow]warning[/] {w['code']}: {w['message']}")
        console.print(f"{result['rows']} rows, {len(result['errors'])} errors, {len(result['warnings'])} warnings")
    return 1 if result["errors"] else 0
