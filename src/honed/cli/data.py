"""`honed data check|prepare|dedup|redact`: the parsers and their handlers. Heavy imports stay inside the handlers."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import get_args

from honed.cli.common import add_config_args
from honed.core.config import DEFAULT_SEED, DataFormat, load_config
from honed.core.errors import HonedError
from honed.core.progress import console

FORMATS = get_args(DataFormat)  # the values `data.format` accepts


def run_prepare_verb(args) -> int:
    from honed.data.prepare import run_prepare

    cfg = load_config(args.config, args.overrides)
    out = Path(args.output) if args.output else cfg.root / "prepared"
    engine = args.engine or ("ray" if args.address else None)
    data = run_prepare(cfg, out, engine=engine, address=args.address)
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
        from honed.models.templates import apply_chat_template_setting

        tokenizer = load_tokenizer(cfg.model.base)
        apply_chat_template_setting(None, tokenizer, cfg.model.chat_template, cfg.root)
    result = check_file(Path(args.file), fmt=args.format, cfg=cfg, tokenizer=tokenizer, throughput=args.throughput,
                        text_column=args.text_column, label_column=args.label_column)
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return 1 if result["errors"] else 0
    _print_grouped(result["errors"], "red")
    _print_grouped(result["warnings"], "yellow")
    console.print(f"format: {result['format']}", highlight=False)
    if "tokens" in result:
        t = result["tokens"]
        console.print(f"tokens per example ({t['model']}): min {t['min']} · mean {t['mean']} · p95 {t['p95']} · "
                      f"max {t['max']} · assistant mean {t['assistant_tokens_mean']} · over max_length "
                      f"{t['over_max_length']}")
        console.print(f"~{t['training_tokens_per_epoch']} training tokens per epoch; ~{t['estimated_seconds_per_epoch']}"
                      f" s per epoch at an assumed {t['assumed_tokens_per_second']:g} tokens/s (--throughput)")
    console.print(f"{result['rows']} rows, {len(result['errors'])} errors, {len(result['warnings'])} warnings")
    return 1 if result["errors"] else 0


def _print_grouped(problems: list[dict], colour: str) -> None:
    """One line per problem, or one per code when it repeats ("unknown_shape on 12 rows: lines 1–12")."""
    from honed.data.check import describe_lines, group_problems

    for group in group_problems(problems):
        if group["count"] == 1:
            p = next(p for p in problems if p["code"] == group["code"])
            console.print(f"[{colour}]line {p['line']}[/] {p['code']}: {p['message']}", highlight=False)
        else:
            console.print(f"[{colour}]{group['code']} on {group['count']} rows[/]: lines "
                          f"{describe_lines(group['lines'])} — e.g. {group['message']}", highlight=False)


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

    redactor = Redactor(public_ips_only=args.public_ips_only, ner=args.ner, phone_region=args.phone_region)
    if args.file != "-":
        path = Path(args.file)
        if not path.is_file():
            raise HonedError(f"`{path}` does not exist", "pass a text or JSONL file, or - to read stdin")
    counts = _redact_to(args, redactor)
    if args.json:
        print(json.dumps(dict(counts)), file=sys.stderr)
    else:
        found = ", ".join(f"{k} {v}" for k, v in counts.most_common()) or "nothing"
        console.print(f"redacted: {found}")
    if args.output:
        print(args.output)
    return 0


def _redact_to(args, redactor):
    """Stream FILE (or stdin) through the redactor to OUT (or stdout). OUT is written to a temporary file that
    replaces it only when complete, so `-o` may name the input file itself: it is read in full before the swap."""
    import contextlib

    from honed.core.io import atomic_writer
    from honed.data.formats import open_text
    from honed.data.redact_file import redact_stream

    with contextlib.ExitStack() as stack:
        source = sys.stdin if args.file == "-" else stack.enter_context(open_text(Path(args.file)))
        sink = stack.enter_context(atomic_writer(Path(args.output))) if args.output else sys.stdout
        return redact_stream(source, sink, redactor)


def run_synthesize(args) -> int:
    from honed.data.prepare import run_prepare
    from honed.synth.flow import synthesize_for, write_synthesis

    if args.n < 1:
        raise HonedError(f"--n must be at least 1, got {args.n}", "ask for e.g. --n 100 new rows")
    if args.augment and args.teacher:
        raise HonedError("--augment makes rows without a teacher, and --teacher was given too",
                         "pass one of --augment or --teacher")
    from honed.synth.teacher import checked_teacher

    cfg = load_config(args.config, args.overrides)
    teacher = checked_teacher(args.teacher or cfg.data.synthetic.teacher)  # before minutes of preparing
    prepared = Path(args.prepared) if args.prepared else cfg.root / "prepared"
    data = run_prepare(cfg, prepared)  # the seeds are its train split; nothing may come near its test split
    result = synthesize_for(cfg, data, args.n, teacher, args.augment)
    out, dropped = write_synthesis(result, Path(args.output) if args.output else cfg.root / "synthetic.jsonl")
    summary = result.summary()
    console.print(f"{summary['kept']} of {args.n} synthetic rows kept (teacher: {summary['teacher']}) · labels "
                  f"{summary['labels'] or '-'} · dropped {summary['dropped'] or 'none'}", highlight=False)
    console.print(f"seeds and test split: {prepared} · dropped candidates with reasons: {dropped}")
    print(out)
    return 0


def register(verbs) -> None:
    data = verbs.add_parser("data", help="dataset tools: check, prepare, dedup, redact, synthesize")
    actions = data.add_subparsers(dest="data_verb", metavar="ACTION")
    check = actions.add_parser("check", help="validate a dataset file; exit 1 on errors")
    check.add_argument("file")
    check.add_argument("--json", action="store_true", help="print machine-readable results")
    check.add_argument("--format", default="auto", choices=FORMATS, help="override format detection")
    check.add_argument("--text-column", help="classification: the column holding the text (default: text)")
    check.add_argument("--label-column", help="classification: the column holding the label; rows without it "
                       "are errors")
    check.add_argument("--config", help="honed.yaml for label set, columns and model (token statistics)")
    check.add_argument("--throughput", type=float, help="training tokens/s for the time estimate (default: an "
                       "assumed 2000, LoRA on a small model on CPU)")
    check.set_defaults(handler="honed.cli.data:run_check")

    prepare = actions.add_parser("prepare", help="run the curation pipeline on a config")
    add_config_args(prepare)
    prepare.add_argument("--engine", choices=("local", "ray"), help="where curation runs (default: data.engine, "
                         "local); ray: Ray Data, the same splits and drops (pip install honed[scale])")
    prepare.add_argument("--address", metavar="ADDR", help="with --engine ray: the cluster to join (ray://HOST:10001 "
                         "or auto); default: a local Ray instance")
    prepare.set_defaults(handler="honed.cli.data:run_prepare_verb")

    dedup = actions.add_parser("dedup", help="remove exact and near-duplicate rows (word-5-gram Jaccard)")
    dedup.add_argument("file")
    dedup.add_argument("--output", "-o", required=True, help="JSONL of the kept rows (unchanged)")
    dedup.add_argument("--threshold", type=float, default=0.8, help="Jaccard at which a pair collapses (0.8)")
    dedup.add_argument("--removed", help="JSONL of removed rows with reasons (default: OUT with .removed.jsonl)")
    dedup.add_argument("--format", default="auto", choices=FORMATS, help="override format detection")
    dedup.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"MinHash seed ({DEFAULT_SEED})")
    dedup.set_defaults(handler="honed.cli.data:run_dedup")

    redact = actions.add_parser("redact", help="replace PII with typed placeholders (<EMAIL>, <PHONE> …)")
    redact.add_argument("file", nargs="?", default="-", help="text or JSONL file, or - for stdin (default)")
    redact.add_argument("--output", "-o", help="write here instead of stdout")
    redact.add_argument("--public-ips-only", action="store_true", help="keep private/local IP addresses")
    redact.add_argument("--ner", action="store_true", help="also names and places (Presidio + spaCy, optional)")
    redact.add_argument("--json", action="store_true", help="print the counts per type as JSON on stderr")
    redact.add_argument("--phone-region", default="US", help="region for phone numbers written without a country "
                        "code, e.g. US, DE, GB (default US)")
    redact.set_defaults(handler="honed.cli.data:run_redact")

    synth = actions.add_parser("synthesize", help="new examples in the style and labels of the training rows "
                               "(teacher model or --augment), filtered, tagged meta.synthetic")
    add_config_args(synth, output=False)
    synth.add_argument("--n", type=int, required=True, help="synthetic rows wanted")
    synth.add_argument("--teacher", help="`local` (the base model) or an OpenAI-compatible URL "
                       "(default: data.synthetic.teacher)")
    synth.add_argument("--augment", action="store_true", help="no teacher: typos, casing and entity swaps of real "
                       "rows, labels kept")
    synth.add_argument("--output", "-o", help="JSONL of the kept rows (default: synthetic.jsonl beside honed.yaml)")
    synth.add_argument("--prepared", help="where the seeds are prepared (default: prepared/ beside honed.yaml)")
    synth.set_defaults(handler="honed.cli.data:run_synthesize")
