"""The `honed` command: parse arguments, then call one run_<verb>. Nothing heavy is imported here.

Each stage registers its own verbs (`honed.<stage>.cli.register`); a verb names its handler as
"module:function", imported only when that verb runs, so `honed --help` stays instant.
"""
from __future__ import annotations

import argparse
import importlib
import sys
import warnings

from honed.errors import HonedError


def add_config_args(parser: argparse.ArgumentParser, output: bool = True) -> None:
    """CONFIG, --output and trailing key=value overrides: the shape shared by config-driven verbs."""
    parser.add_argument("config", help="path to honed.yaml")
    if output:
        parser.add_argument("--output", "-o", help="output directory (default: runs/<project>-<verb>-<time>)")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides, e.g. train.epochs=2")


def build_parser() -> argparse.ArgumentParser:
    from honed.data import cli as data_cli
    from honed.evaluate import cli as evaluate_cli
    from honed.train import cli as train_cli

    parser = argparse.ArgumentParser(prog="honed", description="Turn a general open LLM into a measured specialist.")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")
    init = verbs.add_parser("init", help="scaffold a project: a commented honed.yaml")
    init.add_argument("directory", nargs="?", default=".")
    init.set_defaults(handler="honed.commands:run_init")
    run = verbs.add_parser("run", help="the whole flow: prepare → baselines → train → eval → report")
    add_config_args(run)
    run.set_defaults(handler="honed.commands:run_quickstart")
    for stage in (data_cli, train_cli, evaluate_cli):
        stage.register(verbs)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # key=value overrides may follow options (`run cfg --output d train.epochs=1`), which argparse leaves over.
    overrides = [a for a in extra if "=" in a and not a.startswith("-")]
    if len(overrides) != len(extra) or (overrides and not hasattr(args, "overrides")):
        parser.error(f"unrecognized arguments: {' '.join(a for a in extra if a not in overrides) or ' '.join(extra)}")
    if overrides:
        args.overrides = [*args.overrides, *overrides]
    handler = getattr(args, "handler", None)
    if handler is None:  # `honed` or `honed data` alone: show what is available, as a usage error
        verb = getattr(args, "verb", None)
        subparsers = parser._subparsers._group_actions[0].choices if verb else {}
        (subparsers.get(verb) or parser).print_help(sys.stderr)
        return 2
    module, function = handler.split(":")
    # Deprecation notices from inside transformers/TRL are for their maintainers, not for honed's users.
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    try:
        return getattr(importlib.import_module(module), function)(args) or 0
    except HonedError as err:
        print(err.render(), file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
