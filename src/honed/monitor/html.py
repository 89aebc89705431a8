"""The drift report as one self-contained HTML page: the checks table and matplotlib figures inlined as PNG.
Everything that comes from data is escaped."""
from __future__ import annotations

import html
import time
from collections import defaultdict
from pathlib import Path

from honed.core.html import figure_html
from honed.core.io import atomic_write_text
from honed.monitor.traffic import Exchange

STYLE = ("body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
         "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}"
         ".drift{color:#b00020;font-weight:bold}.ok{color:#1b5e20}figure{margin:1rem 0}")


def write_html(report: dict, reference: list[Exchange], current: list[Exchange], path: Path,
               title: str = "honed drift report") -> Path:
    """Write the page with write-then-rename; returns its path."""
    rows = "".join(_row(c) for c in report["checks"])
    figures = "".join(figure_html(fig, caption) for fig, caption in _figures(reference, current))
    verdict = "drift" if report["drift"] else "no drift"
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
            f"<p class='{'drift' if report['drift'] else 'ok'}'>{verdict}: "
            f"{html.escape(report['recommendation'])}</p>"
            f"<p>reference {report['reference_rows']} rows · current {report['current_rows']} rows · features: "
            f"{html.escape(str(report.get('features')))}</p>"
            "<table><tr><th>check</th><th>value</th><th>threshold</th><th>drift</th><th>detail</th></tr>"
            f"{rows}</table>{figures}</body></html>")
    path = Path(path)
    atomic_write_text(path, page)
    return path


def _row(c: dict) -> str:
    extra = {k: v for k, v in c.items() if k not in ("name", "value", "threshold", "drift")}
    detail = ", ".join(f"{k}={v}" for k, v in extra.items())
    mark = "<span class='drift'>yes</span>" if c["drift"] else "<span class='ok'>no</span>"
    return (f"<tr><td>{html.escape(c['name'])}</td><td>{html.escape(str(c['value']))}</td>"
            f"<td>{html.escape(str(c['threshold']))}</td><td>{mark}</td><td>{html.escape(detail)}</td></tr>")



def _figures(reference: list[Exchange], current: list[Exchange]) -> list[tuple[object, str]]:
    import matplotlib

    matplotlib.use("Agg")
    found = [(_lengths(reference, current), "input length (characters): reference vs current")]
    found += [(fig, caption) for fig, caption in _timeline(current)]
    return [(fig, caption) for fig, caption in found if fig is not None]


def _lengths(reference: list[Exchange], current: list[Exchange]):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    ax.hist([len(e.input) for e in reference], bins=30, alpha=0.6, label="reference", density=True)
    ax.hist([len(e.input) for e in current], bins=30, alpha=0.6, label="current", density=True)
    ax.legend()
    ax.set_xlabel("characters")
    return fig


def _timeline(current: list[Exchange]) -> list[tuple[object, str]]:
    """Per day: requests, thumbs-down rate and p95 latency (only when the exchanges carry times)."""
    import matplotlib.pyplot as plt
    import numpy as np

    days: dict[str, list[Exchange]] = defaultdict(list)
    for e in current:
        if e.time is not None:
            days[time.strftime("%Y-%m-%d", time.gmtime(e.time))].append(e)
    if not days:
        return []
    keys = sorted(days)
    series = {
        "requests per day": [len(days[d]) for d in keys],
        "thumbs-down rate per day": [_down_rate(days[d]) for d in keys],
        "latency p95 (ms) per day": [float(np.percentile(lat, 95)) if (lat := [e.latency_ms for e in days[d]
                                     if e.latency_ms is not None]) else np.nan for d in keys],
    }
    found = []
    for caption, values in series.items():
        fig, ax = plt.subplots(figsize=(6.4, 2.6))
        ax.plot(keys, values, marker="o")
        ax.tick_params(axis="x", labelrotation=45)
        found.append((fig, caption))
    return found


def _down_rate(exchanges: list[Exchange]) -> float:
    rated = [e for e in exchanges if e.rating is not None]
    return sum(e.rating <= 0 for e in rated) / len(rated) if rated else float("nan")
