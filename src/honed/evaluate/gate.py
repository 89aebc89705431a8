"""The gate: does a candidate report meet its objective and not regress against a baseline report?

Checks, for one candidate entry of each report (`fine_tuned` by default):
1. the objective: the candidate's primary metric ≥ the target recorded in its report;
2. no regression: each checked metric ≥ the baseline's value − tolerance (≤ + tolerance for lower-is-better
   metrics such as perplexity);
3. presence: a checked metric the baseline has and the candidate lacks fails;
4. finiteness: a NaN or ±inf value (a diverged model's) fails, named, whichever side it is on.
A value that is not a number at all (a string, a list) means the report is not honed's: a HonedError (exit 2).
By default the checked metrics are the task's metrics (honed.core.config.METRICS_BY_TASK) present in the baseline.
"""
from __future__ import annotations

import json
import math
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
    target = _number((candidate.get("objective") or {}).get("target"), "objective.target", "candidate")
    if primary and target is not None:
        value = _number(entry.get(primary), primary, "candidate")
        if _not_finite(value, primary, "candidate", result):
            value = None
        ok = value is not None and value >= target
        result.checks.append({"metric": primary, "kind": "objective", "value": value, "threshold": target, "passed": ok})
        if not ok:
            result.failures.append(f"{primary}: {format_value(value)} misses the objective ≥ {target:.4g}")
    for metric in metrics or _default_metrics(candidate, baseline, base_entry):
        base_value, value = _number(base_entry.get(metric), metric, "baseline"), _number(entry.get(metric), metric,
                                                                                           "candidate")
        if _not_finite(base_value, metric, "baseline", result) or (
                metric != primary and _not_finite(value, metric, "candidate", result)):
            continue
        if metric == primary and value is not None and not math.isfinite(value):
            continue  # already failed above as the objective
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
    if not isinstance(entries[name], dict):
        raise HonedError(f"the {role} report's candidate `{name}` is a {type(entries[name]).__name__}, not a "
                         "mapping of metrics", "point at a report.json written by `honed eval` or `honed run`")
    return entries[name]


def _number(value, metric: str, role: str) -> float | None:
    """A metric value as a float (None when missing); anything but a number is a broken report."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise HonedError(f"the {role} report's `{metric}` is {value!r} ({type(value).__name__}), not a number",
                         "point at a report.json written by `honed eval` or `honed run`, or fix that value")
    return float(value)


def _not_finite(value: float | None, metric: str, role: str, result: GateResult) -> bool:
    """Record a NaN/inf value as a named failure; True when it was one."""
    if value is None or math.isfinite(value):
        return False
    result.failures.append(f"{metric}: the {role} value is {value} (not a finite number: the model or its "
                           "evaluation broke, e.g. training diverged)")
    result.checks.append({"metric": metric, "kind": "finite", "value": str(value), "role": role, "passed": False})
    return True


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
    if value is None:
        return "missing"
    return f"{value:.4g}" if isinstance(value, int | float) else str(value)
