"""`honed data …` verbs (argparse only; handlers live in honed.data.commands)."""
from __future__ import annotations


def register(verbs) -> None:
    from honed.cli import add_config_args

    data = verbs.add_parser("data", help="dataset tools: check, prepare, dedup, redact")
    actions = data.add_subparsers(dest="data_verb", metavar="ACTION")
    check = actions.add_parser("check", help="validate a dataset file; exit 1 on errors")
    check.add_argument("file")
    check.add_argument("--json", action="store_true", help="print machine-readable results")
    check.add_argument("--format", default="auto", help="override format detection (chat, sharegpt, alpaca, "
                       "prompt_completion, classification, preference, text)")
    check.add_argument("--config", help="honed.yaml for label set, columns and model (token statistics)")
    check.add_argument("--throughput", type=float, help="training tokens/s for the time estimate (default: an "
                       "assumed 2000, LoRA on a small model on CPU)")
    check.set_defaults(handler="honed.data.commands:run_check")

    prepare = actions.add_parser("prepare", help="run the curation pipeline on a config")
    add_config_args(prepare)
    prepare.set_defaults(handler="honed.data.commands:run_prepare_verb")

    dedup = actions.add_parser("dedup", help="remove exact and near-duplicate rows (word-5-gram Jaccard)")
    dedup.add_argument("file")
    dedup.add_argument("--output", "-o", required=True, help="JSONL of the kept rows (unchanged)")
    dedup.add_argument("--threshold", type=float, default=0.8, help="Jaccard at which a pair collapses (0.8)")
    dedup.add_argument("--removed", help="JSONL of removed rows with reasons (default: OUT with .removed.jsonl)")
    dedup.add_argument("--format", default="auto", help="override format detection")
    dedup.add_argument("--seed", type=int, default=13, help="MinHash seed")
    dedup.set_defaults(handler="honed.data.commands:run_dedup")

    redact = actions.add_parser("redact", help="replace PII with typed placeholders (<EMAIL>, <PHONE> …)")
    redact.add_argument("file", nargs="?", default="-", help="text or JSONL file, or - for stdin (default)")
    redact.add_argument("--output", "-o", help="write here instead of stdout")
    redact.add_argument("--public-ips-only", action="store_true", help="keep private/local IP addresses")
    redact.add_argument("--ner", action="store_true", help="also names and places (Presidio + spaCy, optional)")
    redact.add_argument("--json", action="store_true", help="print the counts per type as JSON on stderr")
    redact.set_defaults(handler="honed.data.commands:run_redact")
