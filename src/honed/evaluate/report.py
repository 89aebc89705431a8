"""report.json for machines and a self-contained report.html (plots inlined as PNG) for people."""
from __future__ import annotations

import html
import json
from pathlib import Path

from rich.table import Table

from honed.core.html import figure_html, html_page
from honed.core.io import atomic_write_text

PLOT_STYLE = {"figsize": (6.4, 3.6), "dpi": 110}


def objective_status(report: dict) -> dict:
    """Which candidate is best on the primary metric, and whether it meets the target."""
    metric, target = report["primary_metric"], report["objective"]["target"]
    scored = {n: c[metric] for n, c in report["candidates"].items() if metric in c}
    best = max(scored, key=scored.get) if scored else None
    baselines = {n: v for n, v in scored.items() if n != "fine_tuned"}
    best_baseline = max(baselines, key=baselines.get) if baselines else None
    status = {"metric": metric, "target": target, "best_candidate": best,
              "value": scored.get(best), "passed": bool(best is not None and scored[best] >= target)}
    if "fine_tuned" in scored:
        status["fine_tuned_passed"] = scored["fine_tuned"] >= target
        if best_baseline:
            status["best_baseline"] = best_baseline
            status["delta_vs_best_baseline"] = scored["fine_tuned"] - baselines[best_baseline]
    return status  # which candidate truly wins is the report's `verdict` (honed.evaluate.verdict), not here


def save_report(report: dict, out_dir: Path) -> Path:
    """Write report.json and report.html; returns the JSON path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "report.json"
    atomic_write_text(json_path, json.dumps(report, indent=2, ensure_ascii=False))
    atomic_write_text(out_dir / "report.html", render_html(report))
    return json_path


def save_predictions(rows: list[dict], out_dir: Path) -> Path:
    """predictions.jsonl beside the report: every test prediction (or score) of every candidate."""
    from honed.core.prepared import write_jsonl

    path = out_dir / "predictions.jsonl"
    write_jsonl(path, rows)
    return path


def summary_table(report: dict) -> Table:
    metric = report["primary_metric"]
    table = Table(title=f"{report.get('project', '')}: {metric} on {report.get('n_test', '?')} test examples")
    shown = [metric] + [m for m in ("f1_macro", "accuracy") if m != metric]
    table.add_column("candidate")
    for m in shown:
        table.add_column(m, justify="right")
    table.add_column("decoding")
    table.add_column(f"{metric} {_level(report)} CI", justify="right")
    for name, values in report["candidates"].items():
        decoding = report.get("details", {}).get(name, {}).get("decoding", "")
        table.add_row(name, *[_pct(values.get(m)) for m in shown], decoding, _ci(report, name, metric))
    status = report["objective"]
    verdict = "PASS" if status["passed"] else "FAIL"
    table.caption = f"objective {metric} ≥ {status['target']:.2f}: {verdict} (best: {status['best_candidate']})"
    if "delta_vs_best_baseline" in status:
        table.caption += f" · fine-tune vs best baseline: {status['delta_vs_best_baseline'] * 100:+.1f} points"
        comparison = report.get("comparisons", {}).get(f"fine_tuned_vs_{status['best_baseline']}", {}).get(metric)
        if comparison:
            lo, hi = comparison["ci"]
            table.caption += f" (CI {lo * 100:+.1f} to {hi * 100:+.1f}, p = {comparison['p_value']:.3g})"
    verdict_text = (report.get("verdict") or {}).get("text")
    if verdict_text:
        table.caption += f"\nverdict: {verdict_text}"
    return table


def _ci(report: dict, name: str, metric: str) -> str:
    interval = report.get("confidence_intervals", {}).get(name, {}).get(metric)
    return f"[{interval[0]:.3f}, {interval[1]:.3f}]" if interval else ""


def _level(report: dict) -> str:
    return f"{report.get('statistics', {}).get('level', 0.95):.0%}"


# --- HTML ---------------------------------------------------------------------------------------------------


def render_html(report: dict) -> str:
    from honed.evaluate.report_sections import (
        comparisons_html,
        efficiency_html,
        judge_html,
        length_plot,
        notes_html,
        probes_html,
        recipe_html,
        search_html,
    )

    level = _level(report)
    sections = [_verdict_html(report), _summary_html(report), comparisons_html(report),
                _img(_metric_bars(report), f"primary metric by candidate ({level} bootstrap CI)")]
    if report.get("training", {}).get("train_loss"):
        sections.append(_img(_loss_curve(report["training"]), "training and validation loss"))
    for name, detail in report.get("details", {}).items():
        confusion = detail.get("confusion")
        if confusion:
            sections.append(_img(_confusion_plot(confusion, name), f"confusion matrix: {name}"))
    if report.get("lengths"):
        sections.append(_img(length_plot(report["lengths"]), "output length distribution (words)"))
    sections += [probes_html(report), efficiency_html(report), recipe_html(report), search_html(report),
                 judge_html(report), _errors_html(report), notes_html(report)]
    body = "\n".join(s for s in sections if s)
    return html_page(f"honed report: {report.get('project', '')}", body)


def _verdict_html(report: dict) -> str:
    """The first paragraph: which option wins and by how much (report.json `verdict`)."""
    text = report.get("verdict", {}).get("text")
    out = f'<p class="verdict"><b>{html.escape(text)}</b></p>' if text else ""
    retrieval = report.get("retrieval")
    if retrieval:
        recall = retrieval.get("recall_at_k")
        measured = (f"recall@{retrieval.get('k')} of the chunk holding the answer: {recall:.2f} over "
                    f"{retrieval.get('answerable')} answerable rows" if recall is not None
                    else html.escape(str(retrieval.get("note", "recall not measured"))))
        out += (f"<p>Retrieval: {retrieval.get('chunks')} chunks from {retrieval.get('files')} files, "
                f"{html.escape(str(retrieval.get('encoder')))} + BM25; {measured}.</p>")
    return out


def _summary_html(report: dict) -> str:
    metric, status = report["primary_metric"], report["objective"]
    names = list(report["candidates"])
    metrics = sorted({m for c in report["candidates"].values() for m in c})
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    rows = "".join(f"<tr><td>{m}</td>" + "".join(
        f"<td>{_pct(report['candidates'][n].get(m))} <small>{_ci(report, n, m)}</small></td>" for n in names)
        + "</tr>" for m in metrics)
    decodings = "".join(f"<td>{html.escape(str(report.get('details', {}).get(n, {}).get('decoding', '')))}</td>"
                        for n in names)
    rows += f"<tr><td><i>decoding</i></td>{decodings}</tr>"
    verdict = '<span class="pass">PASS</span>' if status["passed"] else '<span class="fail">FAIL</span>'
    delta = status.get("delta_vs_best_baseline")
    delta_text = f"; fine-tune vs best baseline ({status.get('best_baseline')}): {delta * 100:+.1f} points" if delta is not None else ""
    return (f"<p>Objective: <b>{metric} ≥ {status['target']:.2f}</b> → {verdict} (best candidate "
            f"{html.escape(str(status['best_candidate']))}{delta_text}). Test examples: {report.get('n_test')}; "
            f"dataset {report.get('dataset_hash', '')}.</p>"
            f"<table><tr><th>metric</th>{head}</tr>{rows}</table>")


def _errors_html(report: dict) -> str:
    errors = report.get("examples", [])
    if not errors:
        return ""
    names = list(report["candidates"])
    head = "<tr><th>input</th><th>reference</th>" + "".join(f"<th>{html.escape(n)}</th>" for n in names) + "</tr>"
    rows = "".join(
        "<tr><td>" + html.escape(e["input"][:400]) + "</td><td>" + html.escape(e["reference"][:400]) + "</td>"
        + "".join(f"<td>{_output_cell(e, n)}</td>" for n in names) + "</tr>"
        for e in errors)
    return ("<h2>Worst errors, side by side (for human review)</h2><p>Rows the fine-tuned model got most wrong; "
            f"each candidate's raw output (parsed prediction below when it differs).</p><table>{head}{rows}</table>")


def _output_cell(example: dict, name: str) -> str:
    output = str(example["outputs"].get(name, ""))
    prediction = str(example.get("predictions", {}).get(name, output))
    cell = html.escape(output[:400])
    if prediction != output:
        cell += f"<br><small>→ {html.escape(prediction)}</small>"
    return cell


def _metric_bars(report: dict):
    import matplotlib.pyplot as plt

    metric = report["primary_metric"]
    names = list(report["candidates"])
    values = [report["candidates"][n].get(metric, 0) for n in names]
    fig, ax = plt.subplots(figsize=PLOT_STYLE["figsize"])
    cis = report.get("confidence_intervals", {})
    errs = [[max(0.0, v - cis.get(n, {}).get(metric, [v, v])[0]) for n, v in zip(names, values)],
            [max(0.0, cis.get(n, {}).get(metric, [v, v])[1] - v) for n, v in zip(names, values)]]
    ax.bar(names, values, color=["#999"] * (len(names) - 1) + ["#2a7"], yerr=errs, capsize=4)
    ax.axhline(report["objective"]["target"], color="#b00", linestyle="--", label="target")
    ax.set_ylim(min([0.0, *values]), max([1.0, *values]) * 1.05)  # perplexity and log-probabilities leave [0, 1]
    ax.set_ylabel(metric)
    ax.legend()
    return fig


def _loss_curve(training: dict):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=PLOT_STYLE["figsize"])
    steps, losses = zip(*training["train_loss"])
    ax.plot(steps, losses, label="train")
    if training.get("eval_loss"):
        es, el = zip(*training["eval_loss"])
        ax.plot(es, el, "o-", label="validation")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend()
    return fig


def _confusion_plot(confusion: dict, name: str):
    import matplotlib.pyplot as plt

    labels, matrix = confusion["labels"], confusion["matrix"]
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("reference")
    ax.set_title(name)
    fig.tight_layout()
    return fig




def _img(fig, caption: str) -> str:
    return figure_html(fig, caption, dpi=PLOT_STYLE["dpi"])


def _pct(value) -> str:
    return "" if value is None else f"{value:.3f}"
