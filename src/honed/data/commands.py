"""Handlers for `honed data …`."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from honed.config import load_config
from honed.errors import HonedError
from honed.progress import console


def run_prepare_verb(args) -> int:
    from honed.data.prepare import run_prepare

    cfg = load_config(args.config, args.overrides)
    out = Path(args.output) if args.output else cfg.root / "prepared"
    data = run_prepare(cfg, out)
    console.print(f"prepared {data.counts} · hash {data.dataset_hash}")
    console.print(f"audit: {out / 'audit.html'} · dropped rows and reasons: {out / 'dropped.jsonl'}")
    print(out)
    return 0


def run_check(args) -> int:
    from honed.data.check import check_file

    cfg = load_config(args.config) if args.config else None
    tokenizer = None
    if cfg is not None:
        from honed.models.load import load_tokenizer

        tokenizer = load_tokenizer(cfg.model.base)
    result = check_file(Path(args.file), fmt=args.format, cfg=cfg, tokenizer=tokenizer, throughput=args.throughput)
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return 1 if result["errors"] else 0
    for e in result["errors"]:
        console.print(f"[red]line {e['line']}[/] {e['code']}: {e['message']}", markup=True, highlight=False)
    for w in result["warnings"]:
        console.print(f"[yellow]line {w['line']}[/] {w['code']}: {w['message']}", highlight=False)
    if "tokens" in result:
        t = result["tokens"]
        console.print(f"tokens per example ({t['model']}): min {t['min']} · mean {t['mean']} · p95 {t['p95']} · "
                      f"max {t['max']} · assistant mean {t['assistant_tokens_mean']} · over max_length "
                      f"{t['over_max_length']}")
        console.print(f"~{t['training_tokens_per_epoch']} training tokens per epoch; ~{t['estimated_seconds_per_epoch']}"
                      f" s per epoch at an assumed {t['assumed_tokens_per_second']:g} tokens/s (--throughput)")
    console.print(f"{result['rows']} rows, {len(result['errors'])} errors, {len(result['warnings'])} warnings")
    return 1 if result["errors"] else 0


def run_dedup(args) -> int:
    from honed.data.dedup_file import dedup_file

    if not 0 < args.threshold <= 1:
        raise HonedError(f"--threshold must be in (0, 1], got {args.threshold}", "use e.g. --threshold 0.8")
    out = Path(args.output)
    removed = Path(args.removed) if args.removed else out.with_name(out.name.removesuffix(".jsonl") + ".removed.jsonl")
    summary = dedup_file(Path(args.file), out, removed, args.threshold, args.format, args.seed)
    console.print(f"{summary['rows']} rows → kept {summary['kept']} · exact duplicates {summary['exact']} · near "
                  f"duplicates {summary['near']} (Jaccard ≥ {args.threshold}) · unreadable {summary['unreadable']}")
    console.print(f"removed rows with reasons: {removed}")
    print(out)
    return 0


def run_redact(args) -> int:
    from honed.data.pii import Redactor
    from honed.data.redact_file import redact_stream

    redactor = Redactor(public_ips_only=args.public_ips_only, ner=args.ner)
    if args.file == "-":
        source = sys.stdin
    else:
        path = Path(args.file)
        if not path.is_file():
            raise HonedError(f"`{path}` does not exist", "pass a text or JSONL file, or - to read stdin")
        source = path.open(encoding="utf-8")
    sink = Path(args.output).open("w", encoding="utf-8") if args.output else sys.stdout
    try:
        counts = redact_stream(source, sink, redactor)
    finally:
        if source is not sys.stdin:
            source.close()
        if sink is not sys.stdout:
            sink.close()
    if args.json:
        print(json.dumps(dict(counts)), file=sys.stderr)
    else:
        found = ", ".join(f"{k} {v}" for k, v in counts.most_common()) or "nothing"
        console.print(f"redacted: {found}")
    return 0
