"""`honed retrain CONFIG [--model NAME@ALIAS] [--no-promote]`: the feedback → retrain → gate → promote loop."""
from __future__ import annotations

import json
from pathlib import Path

from honed.cli.common import add_config_args
from honed.core.config import load_config


def run_retrain(args) -> int:
    from honed.runs import retrain_run

    cfg = load_config(args.config, args.overrides)
    outcome = retrain_run(cfg, args.model, Path(args.output) if args.output else None, promote=not args.no_promote)
    if args.json:
        print(json.dumps(outcome, indent=2))
    elif outcome["status"] != "nothing_new":
        print(outcome["report"])
    return 0


def register(verbs) -> None:
    retrain = verbs.add_parser("retrain", help="feedback → new dataset version → train → gate → promote (idempotent)",
                               description="Turn logged corrections and rated pairs not used before into training "
                                           "data, train, evaluate against the alias's current model on the frozen "
                                           "test split plus held-out new feedback, and promote only if the gate "
                                           "passes (else the version goes to `staging`). No new feedback: nothing.")
    add_config_args(retrain)
    retrain.add_argument("--model", metavar="NAME@ALIAS",
                         help="the model to improve and the alias to promote (default: PROJECT@monitor.promote_alias)")
    retrain.add_argument("--no-promote", action="store_true", help="train and gate, but leave the alias alone")
    retrain.add_argument("--json", action="store_true", help="print the outcome as JSON")
    retrain.set_defaults(handler="honed.cli.retrain:run_retrain")
