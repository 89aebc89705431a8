"""What the dashboard shows: runs, their loss curves (inline SVG), their files, the registry and drift."""
from __future__ import annotations

import json
from pathlib import Path

from honed.core.errors import HonedError
from honed.core.store import Store

CURVE_NAMES = ("loss", "train_loss", "eval_loss")


def runs(store: Store, limit: int = 50) -> list[dict]:
    out = []
    for r in store.runs(limit):
        version = store.model_version_of_run(r["id"])
        out.append({"id": r["id"], "kind": r["kind"], "project": r["project"], "status": r["status"],
                    "created": r["created"], "version": f"{version['name']}:{version['version']}" if version else None})
    return out


def curve_series(store: Store, run_id: str) -> dict[str, list[tuple[int, float]]]:
    names = [n for n in store.metric_names(run_id) if n in CURVE_NAMES or n.endswith("loss")]
    return {n: store.metrics(run_id, n) for n in names}


def curve_svg_points(series: dict[str, list[tuple[int, float]]], width: int = 640, height: int = 240) -> dict:
    """Polyline points per series scaled into the box (pure numbers: the template draws them, escaped)."""
    values = [(s, v) for points in series.values() for s, v in points]
    if not values:
        return {"lines": [], "width": width, "height": height, "points": 0}
    steps, ys = [s for s, _ in values], [v for _, v in values]
    x0, x1, y0, y1 = min(steps), max(steps), min(ys), max(ys)
    pad = 24

    def scale(step, value):
        x = pad + (step - x0) / ((x1 - x0) or 1) * (width - 2 * pad)
        y = height - pad - (value - y0) / ((y1 - y0) or 1) * (height - 2 * pad)
        return f"{x:.1f},{y:.1f}"

    lines = [{"name": name, "points": " ".join(scale(s, v) for s, v in pts), "last": pts[-1][1] if pts else None}
             for name, pts in series.items()]
    return {"lines": lines, "width": width, "height": height, "points": len(values), "y_min": y0, "y_max": y1,
            "x_min": x0, "x_max": x1}


def run_files(store: Store, run_id: str) -> dict[str, Path]:
    """The files a run page links to, by a fixed name (never a path from the request)."""
    row = store.run(run_id)
    if row is None:
        raise HonedError(f"no run `{run_id}`", "pick one from the dashboard")
    files: dict[str, Path] = {}
    report = store.latest_report_path(run_id)
    if report:
        files["report.html"] = Path(report).with_name("report.html")
    run_dir = Path(row["dir"] or ".")
    for data_dir in (run_dir / "data", run_dir.parent / "data"):
        if (data_dir / "dataset.json").is_file():
            files["audit.html"], files["dropped.jsonl"] = data_dir / "audit.html", data_dir / "dropped.jsonl"
            break
    files["report.html"] = files.get("report.html") or run_dir / "report.html"
    return {name: path for name, path in files.items() if path.is_file()}


def final_metrics(store: Store, run_id: str) -> dict[str, float]:
    return {name: points[-1][1] for name in store.metric_names(run_id) if (points := store.metrics(run_id, name))}


def registry(store: Store) -> list[dict]:
    from honed.registry import show_model

    names = sorted({r["name"] for r in store.model_versions()})
    return [show_model(store, name) for name in names]


def drift_status(home: Path) -> list[dict]:
    """The newest drift report of each monitored model, when `honed monitor` left one under HONED_HOME/monitor."""
    found = []
    for path in sorted((home / "monitor").glob("*/drift.json")) if (home / "monitor").is_dir() else []:
        try:
            report = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        found.append({"model": path.parent.name, "drift": bool(report.get("drift")),
                      "recommendation": report.get("recommendation"),
                      "checks": [c["name"] for c in report.get("checks", []) if c.get("drift")]})
    return found
