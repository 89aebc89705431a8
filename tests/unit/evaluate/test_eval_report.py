"""build_report → save_report: files written, JSON parseable with the contract keys, HTML self-contained."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from honed.core.config import validate_config
from honed.evaluate.assemble import build_report
from honed.evaluate.candidates import score_candidate
from honed.evaluate.report import save_report, summary_table

LABELS = ["billing", "shipping", "login"]


@dataclass
class FakeData:
    dataset_hash: str = "abc123"
    counts: dict = field(default_factory=lambda: {"train": 30, "validation": 3, "test": 12})
    labels: list = field(default_factory=lambda: LABELS)


@dataclass
class FakeTrained:
    train_loss: list = field(default_factory=lambda: [(1, 2.0), (2, 1.5), (3, 1.0)])
    eval_loss: list = field(default_factory=lambda: [(3, 1.2)])
    trainable_params: int = 10
    total_params: int = 100
    tokens_per_second: float = 50.0
    seconds: float = 1.0
    skipped_too_long: int = 0


def make_results(cfg, refs):
    outputs = {"zero_shot": ["login"] * len(refs), "few_shot": [r if i % 2 else "billing" for i, r in enumerate(refs)],
               "fine_tuned": [r if i % 4 else "shipping" for i, r in enumerate(refs)]}
    results = {}
    for name, outs in outputs.items():
        result = score_candidate(name, cfg, refs, LABELS, outs, {"greedy": outs})
        result.greedy_seconds, result.output_tokens, result.prompt_tokens = 0.5, [1] * len(refs), [20] * len(refs)
        result.efficiency = {"latency_ms": [10.0, 12.0, 30.0], "new_tokens": [1, 1, 1]}
        result.examples_per_second = {"overall": 1.5 + len(name), "greedy": 2.0 + len(name)}
        results[name] = result
    general = {"general_perplexity": 10.0, "general_accuracy": 0.5, "n_texts": 3, "n_instructions": 4}
    fairness = {"gender": {"n": 0, "note": "no test input mentions these terms"}}
    results["zero_shot"].probes["base"] = {"general": general, "fairness": fairness, "decoding": "greedy"}
    results["fine_tuned"].probes["fine_tuned"] = {"general": {**general, "general_perplexity": 13.0},
                                                  "fairness": fairness, "decoding": "greedy"}
    return results


def test_report_files_written_and_parseable(tmp_path):
    cfg = validate_config({"objective": {"task": "classification", "metric": "f1_macro", "target": 0.6},
                           "evaluation": {"bootstrap_samples": 200}})
    refs = [LABELS[i % 3] for i in range(12)]
    test = [{"messages": [{"role": "user", "content": f"ticket {i}"}, {"role": "assistant", "content": r}],
             "label": r} for i, r in enumerate(refs)]
    report = build_report(cfg, FakeData(), test, make_results(cfg, refs), vars(FakeTrained()), {"train_s": 1.0})
    path = save_report(report, tmp_path)
    loaded = json.loads(path.read_text())
    assert loaded["primary_metric"] == "f1_macro"
    assert set(loaded["candidates"]) == {"zero_shot", "few_shot", "fine_tuned"}
    for name, values in loaded["candidates"].items():
        assert all(isinstance(v, float) for v in values.values())
        lo, hi = loaded["confidence_intervals"][name]["f1_macro"]
        assert 0 <= lo <= hi <= 1
    assert loaded["objective"]["best_candidate"] == "fine_tuned" and loaded["objective"]["passed"] is True
    delta = loaded["comparisons"]["fine_tuned_vs_zero_shot"]["f1_macro"]
    assert delta["delta"] > 0 and 0 < delta["p_value"] <= 1 and len(delta["ci"]) == 2
    assert loaded["probes"]["forgetting"]["flagged"] is True  # perplexity 10 → 13 is +30% > 10%
    eff = loaded["efficiency"]["candidates"]["fine_tuned"]
    assert eff["latency_p50_ms"] == 12.0 and eff["cost_per_1000_requests_self_hosted"] > 0
    assert eff["cost_per_1000_requests_api"] > 0
    for name, detail in loaded["details"].items():  # examples/s per candidate and per decoding
        assert detail["examples_per_second"] == 1.5 + len(name)
        assert detail["examples_per_second_by_decoding"] == {"overall": 1.5 + len(name), "greedy": 2.0 + len(name)}
    assert loaded["examples"] and set(loaded["examples"][0]["outputs"]) == set(loaded["candidates"])
    html = (tmp_path / "report.html").read_text()
    assert len(re.findall(r'<img [^>]*src="data:image/png;base64,', html)) >= 4  # bars, loss, confusion×3, lengths
    for heading in ("Fine-tune vs baselines", "Probes", "Latency and cost", "Worst errors"):
        assert heading in html
    assert "http" not in html.split("<body>")[1].split("Latency")[0]  # nothing fetched from elsewhere
    table = summary_table(loaded)
    assert table.row_count == 3
