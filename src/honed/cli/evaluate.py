"""`honed eval` and `honed gate`: the parsers and their handlers. Heavy imports stay inside the handlers."""
from __future__ import annotations

import json
from pathlib import Path

from honed.cli.common import add_config_args
from honed.core.config import DEFAULT_GATE_TOLERANCE, load_config
from honed.core.errors import HonedError
from honed.core.progress import console


def run_eval(args) -> int:
    from honed.evaluate.report import summary_table
    from honed.runs import evaluate_trained_run

    cfg = load_config(args.config, args.overrides)
    path = evaluate_trained_run(cfg, Path(args.run), Path(args.output) if args.output else None)
    console.print(summary_table(json.loads(path.read_text(encoding="utf-8"))))
    print(path)
    return 0


def run_gate(args) -> int:
    from honed.evaluate.gate import check_gate, format_value, load_report

    candidate, candidate_path = load_report(_report_of(args.candidate))
    baseline, baseline_path = load_report(_report_of(args.against))
    tolerance = args.tolerance
    if tolerance is None:
        tolerance = float((candidate.get("gate") or {}).get("tolerance", DEFAULT_GATE_TOLERANCE))
    if tolerance < 0:
        raise HonedError(f"--tolerance must be ≥ 0, got {tolerance}", "pass e.g. --tolerance 0.01")
    result = check_gate(candidate, baseline, tolerance, name=args.name, metrics=args.metrics)
    if args.json:
        print(json.dumps({"passed": result.passed, "failures": result.failures, "checks": result.checks,
                          "candidate": str(candidate_path), "baseline": str(baseline_path),
                          "tolerance": tolerance}, indent=2))
    else:
        for check in result.checks:
            mark = "  ok" if check["passed"] else "  x "
            print(f"{mark} {check['metric']:<18} {check['kind']:<10} {format_value(check['value'])} "
                  f"(limit {format_value(check.get('threshold'))})")
        for failure in result.failures:
            print(f"FAIL {failure}")
        print(f"gate {'passed' if result.passed else 'failed'}: {candidate_path} vs {baseline_path} "
              f"(tolerance {tolerance:g})")
    return 0 if result.passed else 1


def _report_of(reference: str) -> str:
    """A registry reference (NAME@ALIAS, NAME:VERSION) becomes its version's report.json; anything else is kept."""
    from honed.registry import is_reference, resolve_report

    return str(resolve_report(reference)) if is_reference(reference) else reference


def register(verbs) -> None:
    ev = verbs.add_parser("eval", help="evaluate baselines and a trained run side by side")
    add_config_args(ev)
    ev.add_argument("--run", required=True, metavar="RUN", help="run directory written by `honed train`")
    ev.set_defaults(handler="honed.cli.evaluate:run_eval")

    gate = verbs.add_parser("gate", help="CI gate: objective met and no metric regressed against a baseline report",
                            description="Exit 0 when CANDIDATE meets its objective and no checked metric falls more "
                                        "than the tolerance below BASELINE; exit 1 naming each failing metric.")
    gate.add_argument("candidate", metavar="CANDIDATE",
                      help="report.json, a directory holding one, a run id, or a registered version (NAME@ALIAS, "
                           "NAME:VERSION)")
    gate.add_argument("--against", required=True, metavar="BASELINE",
                      help="the report to compare with (report.json, directory, run id, NAME@ALIAS or "
                           "NAME:VERSION, e.g. --against tiny@production)")
    gate.add_argument("--tolerance", type=float, default=None,
                      help="allowed drop per metric (default: the candidate report's evaluation.gate_tolerance, "
                           f"else {DEFAULT_GATE_TOLERANCE})")
    gate.add_argument("--name", default="fine_tuned", help="candidate entry compared in both reports")
    gate.add_argument("--metric", action="append", dest="metrics", metavar="METRIC",
                      help="check only this metric (repeatable; default: the task's metrics)")
    gate.add_argument("--json", action="store_true", help="print the checks as JSON")
    gate.set_defaults(handler="honed.cli.evaluate:run_gate")
