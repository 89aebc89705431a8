"""Real public datasets through `honed data prepare` (skipped when ../shared/datasets is absent)."""
from __future__ import annotations

import csv
import json

import pytest
from projectkit import SHARED

from honed.cli import main
from honed.core.config import validate_config
from honed.data.prepare import run_prepare

pytestmark = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/datasets not present")


def _prepare(tmp_path, data: dict, objective: dict | None = None, **top):
    raw = {"project": "real", "objective": objective or {"task": "generation", "metric": "rougeL"},
           "data": {"audit_tokens": False, **data}, **top}
    return run_prepare(validate_config(raw, root=tmp_path), tmp_path / "out")


def _rows_in(data) -> int:
    return sum(len(v) for v in data.splits.values()) + len(data.dropped)


def test_alpaca_sample(tmp_path):
    path = SHARED / "alpaca" / "alpaca_data_sample2000.json"
    data = _prepare(tmp_path, {"train": [str(path)]})
    assert _rows_in(data) == 2000 == data.counts["read"]
    assert sum(len(v) for v in data.splits.values()) > 1900
    audit = json.loads((tmp_path / "out" / "audit.json").read_text())
    assert "gender" in audit["bias"] and audit["diversity"]["output"]["vocabulary"] > 5000


def test_banking77_is_stratified(tmp_path):
    path = SHARED / "banking77" / "train.csv"
    data = _prepare(tmp_path, {"train": [str(path)], "label_column": "category"},
                    {"task": "classification", "metric": "accuracy"})
    assert _rows_in(data) == 10003 and len(data.labels) == 77
    test_labels = {r["label"] for r in data.splits["test"]}
    assert len(test_labels) == 77  # every intent has test rows
    exact = [d for d in data.dropped if d["reason"].startswith("exact_duplicate")]
    assert all(d["step"] == "dedup" for d in exact)


def test_sms_spam_tsv(tmp_path):
    tsv = tmp_path / "sms.tsv"
    with open(SHARED / "sms_spam" / "SMSSpamCollection", encoding="utf-8") as src, open(tsv, "w", newline="") as f:
        writer = csv.writer(f, delimiter="\t")
        writer.writerow(["label", "text"])
        for line in src:
            label, _, text = line.rstrip("\n").partition("\t")
            writer.writerow([label, text])
    data = _prepare(tmp_path, {"train": [str(tsv)]}, {"task": "classification", "metric": "accuracy",
                                                      "labels": ["ham", "spam"]})
    assert _rows_in(data) == 5574
    assert data.counts["dedup"] < data.counts["pii"]  # the collection holds many repeated messages
    audit = json.loads((tmp_path / "out" / "audit.json").read_text())
    assert audit["pii"].get("PHONE", 0) > 50  # spam texts are full of phone numbers
    ratio = {s: sum(r["label"] == "spam" for r in rows) / len(rows) for s, rows in data.splits.items()}
    assert max(ratio.values()) - min(ratio.values()) < 0.03  # stratified


def test_hh_rlhf_preference_pairs(tmp_path):
    path = SHARED / "hh_rlhf_harmless" / "harmless-base_test.jsonl.gz"
    data = _prepare(tmp_path, {"train": [str(path)]})
    assert _rows_in(data) == 2312
    record = data.splits["train"][0]
    assert set(record) == {"kind", "prompt", "chosen", "rejected", "meta"} and record["prompt"][0]["role"] == "user"
    assert record["kind"] == "preference" and record["chosen"][0]["role"] == "assistant"


@pytest.mark.slow
def test_check_with_tokenizer_on_alpaca(tmp_path, capsys):
    config = tmp_path / "honed.yaml"
    config.write_text("model: {base: tiny-random, max_length: 256}\n")
    path = SHARED / "alpaca" / "alpaca_data_first335.json"
    assert main(["data", "check", str(path), "--json", "--config", str(config)]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["rows"] == 335
    # element 285 of this file really has an empty output (checked by hand)
    assert [(e["line"], e["code"]) for e in out["errors"]] == [(285, "empty_assistant")]
    tokens = out["tokens"]
    assert tokens["examples"] == 335 and tokens["min"] <= tokens["mean"] <= tokens["p95"] <= tokens["max"]
    too_long = [w for w in out["warnings"] if w["code"] == "too_long"]
    assert len(too_long) == tokens["over_max_length"]
