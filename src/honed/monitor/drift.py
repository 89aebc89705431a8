"""Drift between reference and current traffic: inputs, outputs, quality, latency and cost → checks.

A check is {"name", "value", "threshold", "drift", …}; the report is {"drift", "checks", "recommendation", …}.
"""
from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field

import numpy as np

from honed.core.config import Monitor
from honed.evaluate.stats import wilson_interval
from honed.monitor import stats
from honed.monitor.traffic import Exchange

REFUSAL = re.compile(r"\b(i can(?:no|')t|i'?m sorry|i am sorry|as an ai|i'?m unable|i am unable|"
                     r"i won'?t be able)\b", re.IGNORECASE)


@dataclass
class DriftOptions:
    monitor: Monitor = field(default_factory=Monitor)
    labels: list[str] = field(default_factory=list)
    cost_per_hour: float = 0.8  # the serving machine's price, as in evaluation.hardware_cost_per_hour
    seed: int = 0


def check(name: str, value, threshold, drift: bool, **extra) -> dict:
    return {"name": name, "value": _round(value), "threshold": threshold, "drift": bool(drift), **extra}


def drift_report(reference: list[Exchange], current: list[Exchange], options: DriftOptions | None = None) -> dict:
    """Every check that the data supports; `drift` is true when any check says so."""
    options = options or DriftOptions()
    checks = input_checks(reference, current, options) + output_checks(reference, current, options)
    checks += quality_checks(current, options)
    drifted = [c["name"] for c in checks if c["drift"]]
    return {"drift": bool(drifted), "checks": checks, "recommendation": recommend(drifted),
            "reference_rows": len(reference), "current_rows": len(current),
            "features": next((c["features"] for c in checks if "features" in c), None)}


def input_checks(reference: list[Exchange], current: list[Exchange], options: DriftOptions) -> list[dict]:
    from honed.monitor.embed import featurize

    m = options.monitor
    ref_text, cur_text = _sample([e.input for e in reference], m.max_samples, options.seed), \
        _sample([e.input for e in current], m.max_samples, options.seed + 1)
    matrix, features = featurize(ref_text + cur_text, m.embeddings)
    auc, p_value = stats.domain_classifier(matrix[:len(ref_text)], matrix[len(ref_text):], m.permutations,
                                           options.seed)
    length, length_p = stats.psi_test([len(e.input) for e in reference], [len(e.input) for e in current],
                                      seed=options.seed)
    unseen = stats.unseen_share([e.input for e in reference], [e.input for e in current])
    return [
        check("input_domain_classifier_auc", auc, m.domain_auc_threshold,
              auc > m.domain_auc_threshold and p_value < m.p_value, p_value=_round(p_value), features=features),
        check("input_length_psi", length, m.psi_threshold, length > m.psi_threshold and length_p < m.p_value,
              p_value=_round(length_p), reference_mean=_round(np.mean([len(e.input) for e in reference])),
              current_mean=_round(np.mean([len(e.input) for e in current]))),
        check("input_unseen_vocabulary", unseen, m.unseen_vocab_threshold, unseen > m.unseen_vocab_threshold),
    ]


def output_checks(reference: list[Exchange], current: list[Exchange], options: DriftOptions) -> list[dict]:
    m = options.monitor
    ref_out = [e.output for e in reference if e.output is not None]
    cur_out = [e.output for e in current if e.output is not None]
    if not ref_out or not cur_out:
        return []
    checks = []
    labels = options.labels or _label_like(ref_out)
    if labels:
        p = stats.chi_square([o.strip() for o in ref_out], [o.strip() for o in cur_out])
        checks.append(check("output_label_distribution_chi2_p", p, m.p_value, p < m.p_value))
    lengths, p = stats.psi_test([len(o) for o in ref_out], [len(o) for o in cur_out], seed=options.seed)
    checks.append(check("output_length_psi", lengths, m.psi_threshold, lengths > m.psi_threshold and p < m.p_value,
                        p_value=_round(p)))
    checks.append(_rate_check("output_refusal_rate", ref_out, cur_out, lambda o: bool(REFUSAL.search(o)), m))
    parses = _parser(labels, ref_out)
    if parses is not None:
        checks.append(_rate_check("output_unparseable_rate", ref_out, cur_out, lambda o: not parses(o), m))
    return checks


def quality_checks(current: list[Exchange], options: DriftOptions) -> list[dict]:
    """Thumbs-down rate (Wilson interval), latency p50/p95 and cost per 1,000 requests, when logged."""
    m, checks = options.monitor, []
    rated = [e for e in current if e.rating is not None]
    if rated:
        down = sum(e.rating <= 0 for e in rated)
        low, high = wilson_interval(down, len(rated))
        checks.append(check("thumbs_down_rate", down / len(rated), m.max_thumbs_down_rate,
                            low > m.max_thumbs_down_rate, interval=[_round(low), _round(high)], rated=len(rated)))
    latencies = [e.latency_ms for e in current if e.latency_ms is not None]
    if latencies:
        p95 = float(np.percentile(latencies, 95))
        checks.append(check("latency_p95_ms", p95, m.max_latency_p95_ms,
                            m.max_latency_p95_ms is not None and p95 > m.max_latency_p95_ms,
                            p50=_round(float(np.percentile(latencies, 50)))))
        cost = options.cost_per_hour * float(np.mean(latencies)) / 1000 / 3600 * 1000
        checks.append(check("cost_per_1000_requests_usd", cost, None, False,
                            assumption=f"{options.cost_per_hour} USD/hour, one request at a time"))
    return checks


def recommend(drifted: list[str]) -> str:
    if not drifted:
        return "No drift: the current traffic looks like the reference. Keep serving; check again next window."
    inputs = [n for n in drifted if n.startswith("input_")]
    quality = [n for n in drifted if n.startswith(("output_", "thumbs_", "latency_"))]
    advice = []
    if inputs:
        advice.append(f"Inputs have drifted ({', '.join(inputs)}): review recent requests, collect feedback and "
                      "corrections on them, then run `honed retrain` (it gates before promoting).")
    if quality:
        advice.append(f"Outputs or quality have moved ({', '.join(quality)}): compare recent answers with the "
                      "test set's; if the model regressed, `honed models rollback NAME --alias production`.")
    return " ".join(advice)


def _rate_check(name: str, reference: list[str], current: list[str], flag, m: Monitor) -> dict:
    ref_rate = sum(map(flag, reference)) / len(reference)
    cur_rate = sum(map(flag, current)) / len(current)
    return check(name, cur_rate, _round(ref_rate + m.rate_increase_threshold),
                 cur_rate - ref_rate > m.rate_increase_threshold, reference=_round(ref_rate))


def _label_like(outputs: list[str]) -> list[str]:
    """Outputs that are a small closed set (≤ 20 values, most repeated) are labels."""
    distinct = {o.strip() for o in outputs}
    return sorted(distinct) if len(distinct) <= 20 and len(distinct) <= len(outputs) / 2 else []


def _parser(labels: list[str], reference: list[str]):
    """What a well-formed output is: one of the labels, or JSON when the reference outputs are JSON."""
    if labels:
        allowed = {label.strip().lower() for label in labels}
        return lambda o: o.strip().lower() in allowed
    if sum(_is_json(o) for o in reference) >= 0.8 * len(reference):
        return _is_json
    return None


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _sample(texts: list[str], limit: int, seed: int) -> list[str]:
    return texts if len(texts) <= limit else random.Random(seed).sample(texts, limit)


def _round(value):
    return round(float(value), 4) if isinstance(value, int | float | np.floating) else value
