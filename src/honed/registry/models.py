"""Versions, aliases and their moves: register a run, list/show models, promote through the gate, roll back."""
from __future__ import annotations

import getpass
import json
import time
from pathlib import Path

from honed.core.errors import HonedError
from honed.core.store import Store


class PromotionRefused(HonedError):
    """The gate failed: exit 1 (a verdict, not a usage error), each failing metric in `details`."""

    exit_code = 1


def register_run(store: Store, name: str, run_id: str, run_dir: Path, *, kind: str = "train",
                 report_path: Path | None = None, report: dict | None = None,
                 parent: tuple[str, int] | None = None, meta: dict | None = None) -> int:
    """Register a run as the next version of `name` (idempotent per run); returns its version number."""
    return store.register_model_version(name, run_id, str(Path(run_dir).resolve()), kind=kind,
                                        report_path=str(report_path) if report_path else None,
                                        metrics=report_metrics(report), parent=parent, meta=meta)


def report_metrics(report: dict | None, candidate: str = "fine_tuned") -> dict:
    """The registered figures of a version: its candidate's numbers in the report (nothing before evaluation)."""
    if not report:
        return {}
    return dict((report.get("candidates") or {}).get(candidate) or {})


def version_row(row) -> dict:
    return {"name": row["name"], "version": row["version"], "run": row["run_id"], "run_dir": row["run_dir"],
            "report": row["report_path"], "kind": row["kind"], "created": _when(row["created"]),
            "parent": f"{row['parent_name']}:{row['parent_version']}" if row["parent_name"] else None,
            "metrics": json.loads(row["metrics"] or "{}"), "meta": json.loads(row["meta"] or "{}")}


def list_models(store: Store) -> list[dict]:
    """Every version of every model: {"name", "version", "run", "created", "aliases", "metrics", …}."""
    rows = store.model_versions()
    aliases: dict[tuple[str, int], list[str]] = {}
    for name in {r["name"] for r in rows}:
        for alias, version in store.aliases(name).items():
            aliases.setdefault((name, version), []).append(alias)
    return [{**version_row(r), "aliases": sorted(aliases.get((r["name"], r["version"]), []))} for r in rows]


def show_model(store: Store, name: str) -> dict:
    """{"name", "versions", "aliases": {alias: {"version", …}}, "history": [{"alias", "from", "to", …}]}."""
    rows = store.model_versions(name)
    if not rows:
        known = sorted({r["name"] for r in store.model_versions()})
        raise HonedError(f"no model named `{name}` in the registry",
                         f"models: {', '.join(known) or 'none yet'}; `honed models list` shows them")
    by_version = {r["version"]: version_row(r) for r in rows}
    aliases = {alias: {"version": v, "run": by_version[v]["run"], "run_dir": by_version[v]["run_dir"]}
               for alias, v in store.aliases(name).items()}
    history = [{"alias": h["alias"], "from": h["from_version"], "to": h["to_version"], "when": _when(h["time"]),
                "who": h["who"], "reason": h["reason"], "forced": bool(h["forced"]), "action": h["action"]}
               for h in store.alias_history(name)]
    return {"name": name, "versions": list(by_version.values()), "aliases": aliases, "history": history}


def promote(store: Store, name: str, version: int, alias: str, *, force: bool = False, reason: str = "",
            tolerance: float | None = None, baseline_report: Path | None = None) -> dict:
    """Move `alias` to `version` if its report passes the gate against the alias's current holder's report.

    Refuses (PromotionRefused, exit 1, every failing metric named) unless the gate passes or `force`; a forced
    move is recorded as such. `baseline_report` replaces the holder's own report (`honed retrain` re-evaluates
    the holder on the same test set as the candidate). Returns {"from", "to", "forced", "failures", "checks"}.
    """
    row = _version(store, name, version)
    holder = store.aliases(name).get(alias)
    if holder == version:
        raise HonedError(f"{name}@{alias} already is version {version}", "nothing to do")
    failures, checks = gate_versions(store, row, holder, tolerance, baseline_report)
    if failures and not force:
        against = f": the gate failed against {name}:{holder}" if holder is not None else ""
        raise PromotionRefused(f"{name}:{version} not promoted to `{alias}`{against}",
                               "improve the candidate, or pass --force (recorded as forced) to override",
                               details=failures)
    note = reason or ("forced past: " + "; ".join(failures) if failures else "gate passed")
    previous = store.move_alias(name, alias, version, who=_who(), reason=note, forced=bool(failures and force))
    mirror_alias_move(store, name, alias, version)
    return {"name": name, "alias": alias, "from": previous, "to": version, "forced": bool(failures and force),
            "failures": failures, "checks": checks}


def stage(store: Store, name: str, version: int, alias: str = "staging", reason: str = "") -> int | None:
    """Point a non-production alias at a version without a gate (e.g. a candidate that failed it)."""
    _version(store, name, version)
    previous = store.move_alias(name, alias, version, who=_who(), reason=reason)
    mirror_alias_move(store, name, alias, version)
    return previous


def gate_versions(store: Store, row, holder: int | None, tolerance: float | None,
                  baseline_report: Path | None = None) -> tuple[list[str], list[dict]]:
    """The gate of a version's report against the holder's: (failures, checks); no holder = nothing to beat."""
    from honed.evaluate.gate import check_gate, load_report

    if not row["report_path"]:
        hint = f"honed eval CONFIG --run {row['name']}:{row['version']}"
        return [f"version {row['version']} has no report (evaluate it first: {hint})"], []
    candidate, _ = load_report(row["report_path"])
    if holder is None:
        return [], []
    base_path = baseline_report or _version(store, row["name"], holder)["report_path"]
    if not base_path:
        return [f"the current holder, version {holder}, has no report to compare with"], []
    baseline, _ = load_report(str(base_path))
    if tolerance is None:
        tolerance = float((candidate.get("gate") or {}).get("tolerance", 0.01))
    result = check_gate(candidate, baseline, tolerance)
    return result.failures, result.checks


def rollback(store: Store, name: str, alias: str, *, reason: str = "") -> dict:
    """Send `alias` back to the holder before the latest promotion that is not yet undone; both moves stay in
    the history (a second rollback undoes the promotion before that one)."""
    holder = store.aliases(name).get(alias)
    if holder is None:
        raise HonedError(f"model `{name}` has no alias `{alias}`", f"`honed models show {name}` lists its aliases")
    history = store.alias_history(name, alias)
    undone = {h["undoes"] for h in history if h["undoes"] is not None}
    # The promotion that put the current holder there: the newest one not undone that landed on it.
    move = next((h for h in reversed(history) if h["action"] == "promote" and h["id"] not in undone
                 and h["to_version"] == holder), None)
    if move is None or move["from_version"] is None:
        raise HonedError(f"{name}@{alias} has no previous holder to roll back to",
                         f"promote another version instead: honed models promote {name} VERSION --alias {alias}")
    target = move["from_version"]
    store.move_alias(name, alias, target, who=_who(), reason=reason or f"rollback of version {holder}",
                     action="rollback", undoes=move["id"])
    mirror_alias_move(store, name, alias, target)
    return {"name": name, "alias": alias, "from": holder, "to": target}


def mirror_alias_move(store: Store, name: str, alias: str, version: int) -> None:
    """Where versions of `name` were mirrored to MLflow (their meta names the server), MLflow's alias follows;
    mlflow is imported only then."""
    mirrored = {r["version"]: json.loads(r["meta"] or "{}").get("mlflow") for r in store.model_versions(name)}
    if any(mirrored.values()):
        from honed.track.mlflow_mirror import mirror_alias

        mirror_alias(alias, mirrored.get(version), [m for m in mirrored.values() if m])


def _version(store: Store, name: str, version: int):
    row = store.model_version(name, version)
    if row is None:
        versions = [r["version"] for r in store.model_versions(name)]
        raise HonedError(f"model `{name}` has no version {version}",
                         f"versions: {', '.join(map(str, versions)) or 'none'} (`honed models show {name}`)")
    return row


def _who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in a bare container
        return "unknown"


def _when(timestamp: float | None) -> str | None:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(timestamp)) if timestamp else None
