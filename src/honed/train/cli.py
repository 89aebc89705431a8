"""`honed train` (argparse only; handlers live in honed.train.commands)."""
from __future__ import annotations


def register(verbs) -> None:
    from honed.cli import add_config_args

    train = verbs.add_parser("train", help="prepare data and train; writes a self-describing run directory")
    add_config_args(train)
    train.add_argument("--resume", metavar="RUN", help="continue a run directory from its last checkpoint")
    train.set_defaults(handler="honed.train.commands:run_train")
