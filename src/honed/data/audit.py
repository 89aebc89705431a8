"""audit.json + a self-contained audit.html: what curation did to the data, and what the data looks like.

Row counts at each step, drops by reason, length histograms, label balance, duplicate and PII counts, diversity
(distinct n-grams, per-label coverage) and a bias audit: mentions of gendered and other demographic terms by
label (classification) or in outputs vs inputs, with a chi-square skew test and examples.
"""
from __future__ import annotations

import html
import json
import re
from collections import Counter
from pathlib import Path

from honed.core.html import figure_html, html_page
from honed.core.io import atomic_write_text
from honed.core.records import class_label
from honed.data.formats import input_text, output_text

_WORD = re.compile(r"[a-z']+")
# Term lists are deliberately small and explicit; a mention is a whole-word, lower-cased match.
DEMOGRAPHIC_TERMS: dict[str, dict[str, tuple[str, ...]]] = {
    "gender": {
        "female": ("she", "her", "hers", "herself", "woman", "women", "girl", "girls", "female", "females", "mother",
                   "mom", "wife", "daughter", "sister", "lady", "ladies", "mrs", "ms", "aunt", "grandmother",
                   "girlfriend", "actress", "waitress"),
        "male": ("he", "him", "his", "himself", "man", "men", "boy", "boys", "male", "males", "father", "dad",
                 "husband", "son", "brother", "gentleman", "gentlemen", "mr", "uncle", "grandfather", "boyfriend",
                 "actor", "waiter"),
    },
    "age": {
        "young": ("young", "teen", "teens", "teenager", "teenagers", "youth", "kid", "kids", "child", "children"),
        "old": ("old", "elderly", "senior", "seniors", "retired", "retiree", "retirees", "pensioner", "aged"),
    },
    "religion": {
        "christian": ("christian", "christians", "church"), "muslim": ("muslim", "muslims", "islam", "mosque"),
        "jewish": ("jewish", "jew", "jews", "synagogue"), "hindu": ("hindu", "hindus"),
        "buddhist": ("buddhist", "buddhists"), "atheist": ("atheist", "atheists"),
    },
    "ethnicity": {
        "black": ("black",), "white": ("white",), "asian": ("asian", "asians"),
        "hispanic": ("hispanic", "latino", "latina", "latinos"), "african": ("african", "africans"),
        "arab": ("arab", "arabs"), "indigenous": ("indigenous", "native"),
    },
}
_TERM_GROUP = {term: (cat, group) for cat, groups in DEMOGRAPHIC_TERMS.items()
               for group, terms in groups.items() for term in terms}
SKEW_P = 0.01
MIN_MENTIONS = 20


def mentions(text: str) -> set[tuple[str, str]]:
    return {_TERM_GROUP[w] for w in _WORD.findall(text.lower()) if w in _TERM_GROUP}


def bias_audit(records: list[dict]) -> dict:
    """Per category: mention counts per group, by label (when labelled) and in inputs vs outputs, skew tests."""
    from scipy.stats import chi2_contingency, chisquare

    by_label: dict[str, Counter] = {}
    by_side = {"input": Counter(), "output": Counter()}
    examples: dict[str, list[str]] = {}
    for record in records:
        for side, text in (("input", input_text(record)), ("output", output_text(record))):
            for cat, group in mentions(text):
                by_side[side][(cat, group)] += 1
                if side == "input" and class_label(record) is not None:
                    by_label.setdefault(class_label(record), Counter())[(cat, group)] += 1
                bucket = examples.setdefault(f"{cat}/{group}", [])
                if len(bucket) < 3:
                    bucket.append(text[:200])
    out = {}
    for cat, groups in DEMOGRAPHIC_TERMS.items():
        names = list(groups)
        entry = {"mentions": {side: {g: by_side[side][(cat, g)] for g in names} for side in by_side}}
        present = [g for g in names if by_side["input"][(cat, g)] + by_side["output"][(cat, g)] > 0]
        out_counts = [by_side["output"][(cat, g)] for g in present]
        if len(present) >= 2 and sum(out_counts) >= MIN_MENTIONS:
            stat = chisquare(out_counts)
            entry["output_skew"] = _verdict(stat.pvalue, "output mentions are not spread evenly across groups")
        if by_label:
            labels = sorted(by_label)
            table = [[by_label[l][(cat, g)] for l in labels] for g in present]
            table = [row for row in table if sum(row)]
            cols = [j for j in range(len(labels)) if sum(row[j] for row in table)]
            table = [[row[j] for j in cols] for row in table]
            entry["by_label"] = {g: {l: by_label[l][(cat, g)] for l in labels if by_label[l][(cat, g)]}
                                 for g in present}
            if len(table) >= 2 and len(cols) >= 2 and sum(map(sum, table)) >= MIN_MENTIONS:
                chi2, p, dof, _ = chi2_contingency(table)
                n = sum(map(sum, table))
                v = (chi2 / (n * (min(len(table), len(cols)) - 1))) ** 0.5
                entry["label_skew"] = {**_verdict(p, "which group is mentioned depends on the label"),
                                       "cramers_v": round(float(v), 3), "dof": int(dof)}
        entry["examples"] = {g: examples.get(f"{cat}/{g}", []) for g in present}
        out[cat] = entry
    return out


def _verdict(p: float, meaning: str) -> dict:
    return {"p_value": float(f"{p:.3g}"), "skewed": bool(p < SKEW_P), "meaning": meaning,
            "test": f"chi-square, flagged at p < {SKEW_P}"}


def diversity(records: list[dict]) -> dict:
    """distinct-1/distinct-2 (unique n-grams / all n-grams) of inputs and outputs, and per-label coverage."""
    out = {}
    for side, get in (("input", input_text), ("output", output_text)):
        out[side] = _distinct([_WORD.findall(get(r).lower()) for r in records])
    labels = sorted({class_label(r) for r in records if class_label(r) is not None})
    if labels:
        out["per_label"] = {}
        for label in labels:
            words = [_WORD.findall(input_text(r).lower()) for r in records if class_label(r) == label]
            out["per_label"][label] = {"rows": len(words), **_distinct(words)}
    return out


def _distinct(texts: list[list[str]]) -> dict:
    unigrams, bigrams = Counter(), Counter()
    for words in texts:
        unigrams.update(words)
        bigrams.update(zip(words, words[1:]))
    total1, total2 = sum(unigrams.values()), sum(bigrams.values())
    return {"vocabulary": len(unigrams), "distinct_1": round(len(unigrams) / total1, 4) if total1 else 0.0,
            "distinct_2": round(len(bigrams) / total2, 4) if total2 else 0.0}


def write_audit(out_dir: Path, audit: dict, lengths: dict[str, list[int]]) -> tuple[Path, Path]:
    """audit.json and audit.html (plots as inline PNG, no external files)."""
    json_path, html_path = out_dir / "audit.json", out_dir / "audit.html"
    atomic_write_text(json_path, json.dumps(audit, indent=2, ensure_ascii=False))
    atomic_write_text(html_path, render_html(audit, lengths))
    return json_path, html_path


def render_html(audit: dict, lengths: dict[str, list[int]]) -> str:
    from honed.data.audit_plots import figures

    sections = [_summary(audit)] + [figure_html(fig, caption) for fig, caption in figures(audit, lengths)]
    sections.append(_bias_html(audit.get("bias", {})))
    return html_page(f"honed data audit · dataset {audit.get('dataset_hash', '')}", "".join(sections))


def _summary(audit: dict) -> str:
    rows = "".join(f"<tr><td>{html.escape(s['step'])}</td><td>{s['rows']}</td></tr>" for s in audit["steps"])
    drops = "".join(f"<tr><td>{html.escape(k)}</td><td>{v}</td></tr>" for k, v in audit["drops_by_reason"].items())
    splits = ", ".join(f"{k}: {v}" for k, v in audit["splits"].items())
    engine = f" Curated by the {html.escape(audit['engine'])} engine." if audit.get("engine") else ""
    return (f"<h2>Pipeline</h2><p>Splits: {html.escape(splits)}.{engine} Every dropped row is in "
            f"<code>dropped.jsonl</code> with its reason.</p><table><tr><th>after step</th><th>rows</th></tr>{rows}"
            f"</table><table><tr><th>dropped because</th><th>rows</th></tr>{drops or '<tr><td>nothing</td><td>0</td></tr>'}"
            f"</table><pre>{html.escape(json.dumps({k: audit.get(k) for k in ('cleaning', 'duplicates', 'pii', 'contamination')}, indent=1))}</pre>")


def _bias_html(bias: dict) -> str:
    parts = ["<h2>Bias audit</h2><p>Whole-word mentions of demographic terms; a chi-square test flags skew at "
             f"p &lt; {SKEW_P} (with at least {MIN_MENTIONS} mentions). A flag is a prompt to look, not a verdict.</p>"]
    for cat, entry in bias.items():
        flags = [f"<span class=skew>{k}: p={v['p_value']}</span>" if v["skewed"] else f"{k}: p={v['p_value']}"
                 for k, v in entry.items() if k.endswith("_skew")]
        counts = html.escape(json.dumps(entry["mentions"]))
        examples = "".join(f"<li><b>{html.escape(g)}</b>: {html.escape(' | '.join(e))}</li>"
                           for g, e in entry.get("examples", {}).items() if e)
        parts.append(f"<h3>{html.escape(cat)}</h3><p>{' · '.join(flags) or 'too few mentions to test'}</p>"
                     f"<p><code>{counts}</code></p><ul>{examples}</ul>")
    return "".join(parts)

