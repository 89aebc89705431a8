"""The `honed` command: parse arguments, then call one run_<verb>. Nothing heavy is imported here."""
from __future__ import annotations

import argparse
import importlib
import sys
import warnings

from honed.core.errors import HonedError

# Each module in honed/cli/ registers its verbs; handlers are named "module:function" and imported only when
# their verb runs, so `honed --help` never imports torch.
VERB_GROUPS = ("project", "data", "index", "train", "evaluate", "export", "serve", "models", "monitor", "retrain",
               "web")


def build_parser() -> argparse.ArgumentParser:
    from honed import __version__

    parser = argparse.ArgumentParser(prog="honed", description="Turn a general open LLM into a measured specialist.")
    parser.add_argument("--version", action="version", version=f"honed {__version__}")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")
    for name in VERB_GROUPS:
        importlib.import_module(f"honed.cli.{name}").register(verbs)
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
