"""The `honed` command: parse arguments, then call one run_<verb>. Nothing heavy is imported here."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from honed.errors import HonedError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="honed", description="Turn a general open LLM into a measured specialist.")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")

    init = verbs.add_parser("init", help="scaffold a project: a commented honed.yaml")
    init.add_argument("directory", nargs="?", default=".")

    run = verbs.add_parser("run", help="the whole flow: prepare → baselines → train → eval → report")
    run.add_argument("config")
    run.add_argument("--output", "-o", help="output directory (default: runs/<project>-<time> beside the config)")
    run.add_argument("overrides", nargs="*", metavar="key=value")

    train = verbs.add_parser("train", help="prepare data and train; writes a self-describing run directory")
    train.add_argument("config")
    train.add_argument("--output", "-o")
    train.add_argument("--resume", metavar="RUN", help="continue a run directory from its last checkpoint")
    train.add_argument("overrides", nargs="*", metavar="key=value")

    ev = verbs.add_parser("eval", help="evaluate baselines and a trained run side by side")
    ev.add_argument("config")
    ev.add_argument("--run", required=True, metavar="RUN", help="run directory written by `honed train`")
    ev.add_argument("--output", "-o")
    ev.add_argument("overrides", nargs="*", metavar="key=value")

    data = verbs.add_parser("data", help="dataset tools: check, prepare")
    data_verbs = data.add_subparsers(dest="data_verb", metavar="ACTION")
    check = data_verbs.add_parser("check", help="validate a dataset file; exit 1 on errors")
    check.add_argument("file")
    check.add_argument("--json", action="store_true", help="print machine-readable results")
    check.add_argument("--format", default="auto", help="override format detection")
    check.add_argument("--config", help="honed.yaml for label set, columns and model (token statistics)")
    prepare = data_verbs.add_parser("prepare", help="run the curation pipeline on a config")
    prepare.add_argument("config")
    prepare.add_argument("--output", "-o")
    prepare.add_argument("overrides", nargs="*", metavar="key=value")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.verb is None or (args.verb == "data" and args.data_verb is None):
        parser.print_help() if args.verb is None else parser.parse_args([args.verb, "--help"])
        return 2
    try:
        return dispatch(args) or 0
    except HonedError as err:
        print(err.render(), file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def dispatch(args: argparse.Namespace) -> int | None:
    from honed import commands

    if args.verb == "init":
        return commands.run_init(Path(args.directory))
    if args.verb == "data":
        if args.data_verb == "check":
            return commands.run_data_check(Path(args.file), args.json, args.format, args.config)
        return commands.run_data_prepare(args.config, args.overrides, args.output)
    handler = {"run": commands.run_quickstart, "train": commands.run_train, "eval": commands.run_eval}[args.verb]
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
