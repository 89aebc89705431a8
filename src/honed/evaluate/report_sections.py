"""HTML sections of report.html beyond the summary: deltas, probes, efficiency, judge, notes, length plot."""
from __future__ import annotations

import html


def comparisons_html(report: dict) -> str:
    comparisons = report.get("comparisons") or {}
    if not comparisons:
        return ""
    metric = report["primary_metric"]
    level = f"{report.get('statistics', {}).get('level', 0.95):.0%}"
    rows = []
    for name, by_metric in comparisons.items():
        for m, c in by_metric.items():
            strong = " style='font-weight:bold'" if m == metric else ""
            significant = "yes" if c["p_value"] < 0.05 and not (c["ci"][0] <= 0 <= c["ci"][1]) else "no"
            rows.append(f"<tr{strong}><td>{html.escape(name.replace('_vs_', ' − '))}</td><td>{m}</td>"
                        f"<td>{c['delta'] * 100:+.1f}</td><td>[{c['ci'][0] * 100:+.1f}, {c['ci'][1] * 100:+.1f}]</td>"
                        f"<td>{c['p_value']:.3g}</td><td>{significant}</td></tr>")
    stats = report.get("statistics", {})
    return (f"<h2>Fine-tune vs baselines</h2><p>Deltas in points; {level} paired bootstrap CI over the same test "
            f"examples ({stats.get('samples')} resamples, seed {stats.get('seed')}); p-value from a paired "
            "approximate randomisation test.</p>"
            "<table><tr><th>comparison</th><th>metric</th><th>Δ</th><th>CI</th><th>p</th><th>significant</th></tr>"
            + "".join(rows) + "</table>")


def probes_html(report: dict) -> str:
    probes = report.get("probes") or {}
    parts = []
    forgetting = probes.get("forgetting")
    if forgetting:
        before, after = forgetting["before"], forgetting["after"]
        verdict = ('<span class="fail">FLAGGED</span>: ' + html.escape("; ".join(forgetting["reasons"]))
                   if forgetting["flagged"] else '<span class="pass">not flagged</span>')
        parts.append(
            "<h3>Catastrophic forgetting</h3><table><tr><th></th><th>base</th><th>fine-tuned</th><th>change</th></tr>"
            f"<tr><td>general-text perplexity ({before['n_texts']} passages)</td><td>{_num(before['general_perplexity'])}"
            f"</td><td>{_num(after['general_perplexity'])}</td><td>{_rel(forgetting['perplexity_change'])}</td></tr>"
            f"<tr><td>general-instruction accuracy ({before['n_instructions']} questions)</td>"
            f"<td>{before['general_accuracy']:.3f}</td><td>{after['general_accuracy']:.3f}</td>"
            f"<td>{forgetting['accuracy_change'] * 100:+.1f} points</td></tr></table>"
            f"<p>Threshold {forgetting['threshold']:.2f}: {verdict}.</p>")
    for role, axes in (probes.get("fairness") or {}).items():
        rows = []
        for axis, result in axes.items():
            if axis == "decoding":
                continue
            if not result.get("n"):
                rows.append(f"<tr><td>{axis}</td><td colspan=4>{html.escape(result.get('note', 'not probed'))}</td></tr>")
                continue
            groups = ", ".join(f"{g}: {v['metric']:.3f} ({v['changed_rate']:.0%} changed)"
                               for g, v in result["groups"].items())
            rows.append(f"<tr><td>{axis}</td><td>{result['n']}</td><td>{result['changed_rate']:.1%}</td>"
                        f"<td>{result['metric_gap'] * 100:.1f}</td><td>{html.escape(groups)}</td></tr>")
        parts.append(f"<h3>Counterfactual fairness: {html.escape(role)} model</h3><table><tr><th>axis</th><th>inputs</th>"
                     "<th>max output-change rate</th><th>metric gap (points)</th><th>per group</th></tr>"
                     + "".join(rows) + "</table>")
    if not parts:
        return ""
    return ("<h2>Probes</h2><p>Forgetting compares the base model before training with the fine-tuned model on "
            "general text and general questions. Fairness swaps gendered words and names (and names typical of "
            "different origins) in test inputs and measures how often predictions change.</p>" + "".join(parts))


def efficiency_html(report: dict) -> str:
    eff = report.get("efficiency") or {}
    if not eff.get("candidates"):
        return ""
    prices = eff["prices"]
    cols = [("latency_p50_ms", "p50 ms", 1), ("latency_p95_ms", "p95 ms", 1), ("tokens_per_second", "tokens/s (batch 1)", 1),
            ("throughput_requests_per_second", "requests/s (batched)", 2),
            ("mean_prompt_tokens", "prompt tokens", 0), ("mean_output_tokens", "output tokens", 1),
            ("train_seconds", "training s", 1), ("cost_per_1000_requests_self_hosted", "$ / 1k requests, self-hosted", 6),
            ("cost_per_1000_requests_api", "$ / 1k requests at API prices", 4)]
    head = "<tr><th>candidate</th>" + "".join(f"<th>{label}</th>" for _, label, _ in cols) + "</tr>"
    rows = "".join(f"<tr><td>{html.escape(n)}</td>" + "".join(
        f"<td>{_num(v.get(key), digits)}</td>" for key, _, digits in cols) + "</tr>" for n, v in eff["candidates"].items())
    return (f"<h2>Latency and cost</h2><p>Measured on {html.escape(eff['machine'])}. {html.escape(eff['method'])}. "
            f"Prices: hardware ${prices['hardware_cost_per_hour']}/hour; API ${prices['api_input_cost_per_million']} "
            f"per million prompt tokens and ${prices['api_output_cost_per_million']} per million output tokens "
            "(configuration, not quotes).</p>" f"<table>{head}{rows}</table>")


def judge_html(report: dict) -> str:
    judge = report.get("judge")
    if not judge:
        return ""
    rows = "".join(f"<tr><td>{html.escape(n)}</td><td>{_num(s['mean_score'], 2)}</td><td>{s['n']}</td></tr>"
                   for n, s in judge["scores"].items())
    text = (f"<h2>LLM-as-judge</h2><p>Judge {html.escape(judge['model'])} at {html.escape(judge['url'])}; rubric: "
            f"{html.escape(judge['rubric'])}.</p><table><tr><th>candidate</th><th>mean score (1–5)</th><th>n</th></tr>"
            f"{rows}</table>")
    pairwise = judge.get("pairwise")
    if pairwise:
        text += (f"<p>Pairwise vs {html.escape(pairwise['against'])}: fine-tuned wins "
                 f"{pairwise['fine_tuned_win_rate']:.0%}, loses {pairwise['loss_rate']:.0%}, ties "
                 f"{pairwise['tie_rate']:.0%} of {pairwise['n']} ({html.escape(pairwise['method'])}).</p>")
    return text


def notes_html(report: dict) -> str:
    notes = report.get("notes") or []
    return "<h2>Notes</h2><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>" if notes else ""


def length_plot(lengths: dict):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    top = max((max(v) for v in lengths.values() if v), default=1)
    bins = range(0, top + 2, max(1, (top + 1) // 30 or 1))
    for name, values in lengths.items():
        ax.hist(values, bins=bins, histtype="step", linewidth=1.5, label=name)
    ax.set_xlabel("words per answer")
    ax.set_ylabel("test examples")
    ax.legend()
    return fig


def _num(value, digits: int = 2) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _rel(value) -> str:
    return "" if value is None else f"{value:+.1%}"


def recipe_html(report: dict) -> str:
    """The default recipe's choices for this run (honed.train.recipe), each with its reason."""
    recipe = report.get("recipe") or {}
    if not recipe:
        return ""
    rows = "".join(f"<tr><td>{html.escape(key)}</td><td>{html.escape(str(c.get('value')))}</td>"
                   f"<td>{html.escape(str(c.get('why', '')))}</td></tr>" for key, c in recipe.items())
    return ("<h2>Recipe</h2><p>Values chosen for the keys left at <code>auto</code> (a value set in the config is "
            f"used as is).</p><table><tr><th>key</th><th>value</th><th>why</th></tr>{rows}</table>")


def search_html(report: dict) -> str:
    """`honed run --budget`: what the search tried and what it kept."""
    search = report.get("search")
    if not search:
        return ""
    params = ", ".join(f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}" for k, v in search["params"].items())
    return (f"<h2>Budgeted search</h2><p>{search['trials']} trial(s) in {search['elapsed_seconds']:.0f} s (budget "
            f"{search['budget_seconds']:g} s), selected on {html.escape(search['selected_on'])}: best "
            f"{html.escape(params)} (validation loss {search['value']:.4f}).</p>")
