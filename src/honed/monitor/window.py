"""`honed monitor --model NAME@ALIAS --since 7d`: the request log's window against the model's training data."""
from __future__ import annotations

import time
from pathlib import Path

from honed.core.config import Monitor, load_config
from honed.core.errors import HonedError
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
