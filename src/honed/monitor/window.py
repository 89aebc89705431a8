"""`honed monitor --model NAME@ALIAS --since 7d`: the request log's window against the model's training data.

The latest result of each model is kept at `$HONED_HOME/monitor/NAME/drift.json` (+ drift.html), where the
web dashboard reads its drift status.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from honed.core.config import Monitor, load_config
from honed.core.errors import HonedError
from honed.core.io import atomic_write_text
from honed.core.paths import honed_home
from honed.core.prepared import find_prepared
from honed.core.store import Store
from honed.monitor.drift import DriftOptions, drift_report
from honed.monitor.traffic import Exchange, _exchange_of, logged_requests, parse_since


def training_exchanges(run_dir: Path) -> list[Exchange]:
    """The reference: the training split the model learned from, as exchanges (input, expected answer)."""
    from honed.core.prepared import read_jsonl

    return [_exchange_of(row) for row in read_jsonl(find_prepared(run_dir) / "train.jsonl")]


def monitor_model(ref: str, since: str, monitor: Monitor | None = None) -> tuple[dict, list, list]:
    """(report, reference, current) for the logged traffic of `ref` in the last `since`."""
    from honed.registry import resolve_reference

    run_dir = resolve_reference(ref)
    cfg = load_config(run_dir / "config.yaml") if (run_dir / "config.yaml").is_file() else None
    start = time.time() - parse_since(since)
    with Store() as store:
        current = logged_requests(store, model=ref, since=start)
    if not current:
        raise HonedError(f"no logged requests for `{ref}` in the last {since}",
                         "serve the model with `honed serve` (it logs every request) or widen --since")
    reference = training_exchanges(run_dir)
    options = DriftOptions(monitor=monitor or (cfg.monitor if cfg else Monitor()),
                           labels=list(cfg.objective.labels) if cfg else [],
                           cost_per_hour=cfg.evaluation.hardware_cost_per_hour if cfg else 0.8)
    report = drift_report(reference, current, options)
    report.update(model=ref, since=since, window_start=time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(start)))
    return report, reference, current


def save_latest(report: dict, reference: list[Exchange], current: list[Exchange], home: Path | None = None) -> Path:
    """Write the report as the model's latest drift status (JSON beside its HTML page), each write-then-rename;
    returns the JSON's path."""
    from honed.monitor.html import write_html
    from honed.registry import parse_reference

    parsed = parse_reference(report["model"])
    if parsed is None:
        raise HonedError(f"`{report['model']}` is not a registry reference", "pass --model NAME@ALIAS")
    folder = (home or honed_home()) / "monitor" / parsed[0]
    write_html(report, reference, current, folder / "drift.html", title=f"drift of {report['model']}")
    atomic_write_text(folder / "drift.json", json.dumps(report, indent=2, default=str))
    return folder / "drift.json"
