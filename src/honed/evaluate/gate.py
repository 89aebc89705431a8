"""The gate: does a candidate report meet its objective and not regress against a baseline report?

Checks, for one candidate entry of each report (`fine_tuned` by default):
1. the objective: the candidate's primary metric ≥ the target recorded in its report;
2. no regression: each checked metric ≥ the baseline's value − tolerance (≤ + tolerance for lower-is-better
   metrics such as perplexity);
3. presence: a checked metric the baseline has and the candidate lacks fails.
By default the checked metrics are the task's metrics (honed.core.config.METRICS_BY_TASK) present in the baseline.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from honed.core.errors import HonedError

LOWER_IS_BETTER = {"perplexity", "unparsed_rate"}


@dataclass
class GateResult:
    passed: bool
    failures: list[str] = field(default_factory=list)
    checks: list[dict] = field(default_factory=list)


def load_report(reference: str) -> tuple[dict, Path]:
    """A report.json path, a directory holding report.json (or eval/report.json), or a run id in the store."""
    path = Path(reference)
    candidates = [path] if path.is_file() else [path / "report.json", path / "eval" / "report.json"]
    found = next((p for p in candidates if p.is_file()), None)
    if found is None and not path.exists():
        found = _report_of_run(reference)
    if found is None:
        raise HonedError(f"no report found at `{reference}`",
                         "pass a report.json, a directory holding one (a `honed run` output or run dir), or a run id")
    try:
        report = json.loads(found.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise HonedError(f"`{found}` is not a readable report.json: {exc}",
                         "point at a report written by honed") from None
    if not isinstance(report, dict) or not isinstance(report.get("candidates"), dict):
        raise HonedError(f"`{found}` has no `candidates` section",
                         "point at a report.json written by `honed eval` or `honed run`")
    return report, found


def _report_of_run(run_id: str) -> Path | None:
    from honed.core.paths import honed_home

    if not (honed_home() / "honed.db").is_file():
        return None
    from honed.core.store import Store

    with Store() as store:
        path = store.latest_report_path(run_id)
    return Path(path) if path and Path(path).is_file() else None


def check_gate(candidate: dict, baseline: dict, tolerance: float, name: str = "fine_tuned",
               metrics: list[str] | None = None) -> GateResult:
    """Compare `name`'s numbers in two reports; every failure is named."""
    result = GateResult(passed=True)
    entry = _entry(candidate, name, "candidate")
    base_entry = _entry(baseline, name, "baseline")
    primary = candidate.get("primary_metric")
    target = (candidate.get("objective") or {}).get("target")
    if primary and target is not None:
        value = entry.get(primary)
        ok = value is not None and value >= target
        result.checks.append({"metric": primary, "kind": "objective", "value": value, "threshold": target, "passed": ok})
        if not ok:
            result.failures.append(f"{primary}: {format_value(value)} misses the objective ≥ {target:.4g}")
    for metric in metrics or _default_metrics(candidate, baseline, base_entry):
        base_value, value = base_entry.get(metric), entry.get(metric)
        if base_value is None and metrics:
            result.failures.append(f"{metric}: missing from the baseline report")
            continue
        if value is None:
            result.failures.append(f"{metric}: missing from the candidate report (baseline {format_value(base_value)})")
            continue
        lower = metric in LOWER_IS_BETTER
        limit = base_value + tolerance if lower else base_value - tolerance
        ok = value <= limit if lower else value >= limit
        result.checks.append({"metric": metric, "kind": "regression", "value": value, "baseline": base_value,
                              "threshold": limit, "passed": ok})
        if not ok:
            result.failures.append(f"{metric}: {format_value(value)} regresses from {format_value(base_value)} by more than "
                                   f"the tolerance {tolerance:g}")
    result.passed = not result.failures
    return result


def _entry(report: dict, name: str, role: str) -> dict:
    entries = report["candidates"]
    if name not in entries:
        raise HonedError(f"the {role} report has no candidate `{name}` (it has {', '.join(entries) or 'none'})",
                         "choose one with --name")
    return entries[name]


def _default_metrics(candidate: dict, baseline: dict, base_entry: dict) -> list[str]:
    from honed.core.config import METRICS_BY_TASK

    task = candidate.get("task") or baseline.get("task")
    wanted = list(METRICS_BY_TASK.get(task, ()))
    primary = candidate.get("primary_metric") or baseline.get("primary_metric")
    if primary and primary not in wanted:
        wanted.insert(0, primary)
    return [m for m in wanted if m in base_entry] or list(base_entry)


def format_value(value) -> str:
    """A metric as the gate prints it (4 significant digits), or `missing`."""
    return "missing" if value is None else f"{value:.4g}"
