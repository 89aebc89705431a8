"""`honed monitor drift --reference FILE --current FILE` and `honed monitor --model NAME@ALIAS --since 7d`."""
from __future__ import annotations

import json
from pathlib import Path

from honed.core.errors import HonedError


def run_monitor_drift(args) -> int:
    from honed.core.config import Monitor, load_config
    from honed.monitor.drift import DriftOptions, drift_report
    from honed.monitor.traffic import read_exchanges

    cfg = load_config(args.config) if args.config else None
    options = DriftOptions(monitor=cfg.monitor if cfg else Monitor(),
                           labels=list(cfg.objective.labels) if cfg else [],
                           cost_per_hour=cfg.evaluation.hardware_cost_per_hour if cfg else 0.8)
    reference, current = read_exchanges(Path(args.reference)), read_exchanges(Path(args.current))
    report = drift_report(reference, current, options)
    return _show(args, report, reference, current)


def run_monitor(args) -> int:
    if not args.model:
        raise HonedError("`honed monitor` needs --model NAME@ALIAS (the request log) or the `drift` verb (files)",
                         "run `honed monitor --model NAME@production --since 7d` or "
                         "`honed monitor drift --reference FILE --current FILE`")
    from honed.monitor.window import monitor_model, save_latest

    report, reference, current = monitor_model(args.model, args.since)
    saved = save_latest(report, reference, current)  # the dashboard's drift status of this model
    code = _show(args, report, reference, current)
    if not args.json:  # --json keeps stdout one JSON document
        print(saved)
    return code


def _show(args, report: dict, reference, current) -> int:
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for c in report["checks"]:
            mark = "DRIFT" if c["drift"] else "   ok"
            print(f"{mark} {c['name']:<34} {c['value']!s:<10} threshold {c['threshold']}")
        print(f"features: {report.get('features')}")
        print(report["recommendation"])
    if args.html:
        from honed.monitor.html import write_html

        print(write_html(report, reference, current, Path(args.html)))
    return 1 if args.fail_on_drift and report["drift"] else 0


def _add_output_args(parser) -> None:
    parser.add_argument("--json", action="store_true", help="print {drift, checks, recommendation} as JSON")
    parser.add_argument("--html", metavar="OUT", help="also write a self-contained HTML report here")
    parser.add_argument("--fail-on-drift", action="store_true", help="exit 1 when any check drifts (for schedulers)")


def register(verbs) -> None:
    monitor = verbs.add_parser("monitor", help="drift, quality, latency and cost of traffic against a reference",
                               description="With --model: the request log of NAME@ALIAS over --since against the "
                                           "model's training data. With `drift`: two files.")
    monitor.add_argument("--model", metavar="NAME@ALIAS", help="a registered model whose logged traffic to check")
    monitor.add_argument("--since", default="7d", help="window of the request log (e.g. 7d, 24h; default 7d)")
    _add_output_args(monitor)
    monitor.set_defaults(handler="honed.cli.monitor:run_monitor")
    sub = monitor.add_subparsers(dest="monitor_verb", metavar="VERB")
    drift = sub.add_parser("drift", help="compare two traffic files (JSONL: chat rows, text/label, input/output)")
    drift.add_argument("--reference", required=True, metavar="FILE", help="what normal traffic looks like")
    drift.add_argument("--current", required=True, metavar="FILE", help="the traffic to check")
    drift.add_argument("--config", metavar="CONFIG", help="honed.yaml whose `monitor` thresholds and labels to use")
    _add_output_args(drift)
    drift.set_defaults(handler="honed.cli.monitor:run_monitor_drift")
