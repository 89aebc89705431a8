"""`honed eval` (argparse only; handlers live in honed.evaluate.commands)."""
from __future__ import annotations


def register(verbs) -> None:
    from honed.cli import add_config_args

    ev = verbs.add_parser("eval", help="evaluate baselines and a trained run side by side")
    add_config_args(ev)
    ev.add_argument("--run", required=True, metavar="RUN", help="run directory written by `honed train`")
    ev.set_defaults(handler="honed.evaluate.commands:run_eval")
