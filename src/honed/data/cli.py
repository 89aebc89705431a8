"""`honed data …` verbs (argparse only; handlers live in honed.data.commands)."""
from __future__ import annotations


def register(verbs) -> None:
    from honed.cli import add_config_args

    data = verbs.add_parser("data", help="dataset tools: check, prepare")
    actions = data.add_subparsers(dest="data_verb", metavar="ACTION")
    check = actions.add_parser("check", help="validate a dataset file; exit 1 on errors")
    check.add_argument("file")
    check.add_argument("--json", action="store_true", help="print machine-readable results")
    check.add_argument("--format", default="auto", help="override format detection")
    check.add_argument("--config", help="honed.yaml for label set, columns and model (token statistics)")
    check.set_defaults(handler="honed.data.commands:run_check")
    prepare = actions.add_parser("prepare", help="run the curation pipeline on a config")
    add_config_args(prepare)
    prepare.set_defaults(handler="honed.data.commands:run_prepare_verb")
