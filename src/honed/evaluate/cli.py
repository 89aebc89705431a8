"""`honed eval` and `honed gate` (argparse only; handlers live in honed.evaluate.commands)."""
from __future__ import annotations


def register(verbs) -> None:
    from honed.cli import add_config_args

    ev = verbs.add_parser("eval", help="evaluate baselines and a trained run side by side")
    add_config_args(ev)
    ev.add_argument("--run", required=True, metavar="RUN", help="run directory written by `honed train`")
    ev.set_defaults(handler="honed.evaluate.commands:run_eval")

    gate = verbs.add_parser("gate", help="CI gate: objective met and no metric regressed against a baseline report",
                            description="Exit 0 when CANDIDATE meets its objective and no checked metric falls more "
                                        "than the tolerance below BASELINE; exit 1 naming each failing metric.")
    gate.add_argument("candidate", metavar="CANDIDATE", help="report.json, a directory holding one, or a run id")
    gate.add_argument("--against", required=True, metavar="BASELINE",
                      help="the report to compare with (report.json, directory or run id)")
    gate.add_argument("--tolerance", type=float, default=None,
                      help="allowed drop per metric (default: the candidate report's evaluation.gate_tolerance, "
                           "else 0.01)")
    gate.add_argument("--name", default="fine_tuned", help="candidate entry compared in both reports")
    gate.add_argument("--metric", action="append", dest="metrics", metavar="METRIC",
                      help="check only this metric (repeatable; default: the task's metrics)")
    gate.add_argument("--json", action="store_true", help="print the checks as JSON")
    gate.set_defaults(handler="honed.evaluate.commands:run_gate")
