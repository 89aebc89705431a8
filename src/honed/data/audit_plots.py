"""The figures of audit.html (matplotlib, Agg backend); each function returns one figure or None."""
from __future__ import annotations


def figures(audit: dict, lengths: dict[str, list[int]]) -> list[tuple[object, str]]:
    import matplotlib

    matplotlib.use("Agg")
    candidates = [
        (_steps(audit), "rows remaining after each step"),
        (_drops(audit), "dropped rows by reason"),
        (_lengths(lengths, audit.get("length_unit", "characters")),
         f"example length ({audit.get('length_unit', 'characters')}) by split"),
        (_labels(audit), "label balance by split"),
        (_counts(audit), "duplicates and PII found"),
        (_bias(audit), "demographic term mentions (inputs vs outputs)"),
    ]
    return [(fig, caption) for fig, caption in candidates if fig is not None]


def _figure(height: float = 3.4):
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(6.4, height))


def _steps(audit: dict):
    fig, ax = _figure()
    steps = audit["steps"]
    ax.bar([s["step"] for s in steps], [s["rows"] for s in steps], color="#4472c4")
    ax.set_ylabel("rows")
    ax.tick_params(axis="x", rotation=30)
    return fig


def _drops(audit: dict):
    drops = audit["drops_by_reason"]
    if not drops:
        return None
    fig, ax = _figure(max(2.0, 0.4 * len(drops) + 1))
    names = list(drops)[::-1]
    ax.barh(names, [drops[n] for n in names], color="#c0504d")
    ax.set_xlabel("rows dropped")
    return fig


def _lengths(lengths: dict[str, list[int]], unit: str):
    if not any(lengths.values()):
        return None
    fig, ax = _figure()
    for name, values in lengths.items():
        if values:
            ax.hist(values, bins=40, alpha=0.55, label=f"{name} ({len(values)})")
    ax.set_xlabel(unit)
    ax.set_ylabel("examples")
    ax.legend()
    return fig


def _labels(audit: dict):
    labels = audit.get("labels") or {}
    if not labels:
        return None
    import numpy as np

    names = list(labels)[:40]
    fig, ax = _figure(3.8)
    splits = ("train", "validation", "test")
    x = np.arange(len(names))
    for i, split in enumerate(splits):
        ax.bar(x + (i - 1) * 0.27, [labels[n].get(split, 0) for n in names], width=0.27, label=split)
    ax.set_xticks(x, names, rotation=60, ha="right", fontsize=7 if len(names) > 12 else 9)
    ax.set_ylabel("rows")
    ax.legend()
    return fig


def _counts(audit: dict):
    dup, pii = audit.get("duplicates", {}), audit.get("pii", {})
    items = {"exact duplicates": dup.get("exact", 0), "near duplicates": dup.get("near", 0),
             "rows in near-dup groups": dup.get("grouped_rows", 0),
             **{f"PII {k}": v for k, v in pii.items()}}
    fig, ax = _figure(max(2.0, 0.35 * len(items) + 1))
    names = list(items)[::-1]
    ax.barh(names, [items[n] for n in names], color="#9bbb59")
    ax.set_xlabel("count")
    return fig


def _bias(audit: dict):
    bias = audit.get("bias") or {}
    bars = [(f"{cat}/{g}", entry["mentions"]["input"][g], entry["mentions"]["output"][g])
            for cat, entry in bias.items() for g in entry["mentions"]["input"]
            if entry["mentions"]["input"][g] + entry["mentions"]["output"][g]]
    if not bars:
        return None
    import numpy as np

    fig, ax = _figure(max(2.0, 0.35 * len(bars) + 1))
    y = np.arange(len(bars))
    ax.barh(y - 0.2, [b[1] for b in bars], height=0.4, label="inputs")
    ax.barh(y + 0.2, [b[2] for b in bars], height=0.4, label="outputs")
    ax.set_yticks(y, [b[0] for b in bars])
    ax.set_xlabel("rows mentioning")
    ax.legend()
    return fig
