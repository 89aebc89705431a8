"""The whole "should I fine-tune at all?" comparison on real data and the embedded SmolLM2-135M: banking77 (four
intents), a retrieval corpus of other labelled banking77 messages, zero-shot / few-shot / rag / fine_tuned /
rag_fine_tuned with CIs and a verdict. (The synthetic-data gate is covered on tiny-random in
tests/e2e/test_synthetic_gate.py: with it, this test took twice as long.)"""
from __future__ import annotations

import csv
import json
import os
from collections import defaultdict

import pytest
from projectkit import SHARED

from honed.cli import main

# Opt-in: on a 2-core CPU the full comparison with the embedded model took 31 minutes, more than the whole CI
# budget allows. `HONED_SLOW_RAG=1 pytest tests/slow/test_rag_embedded.py` runs it.
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not os.environ.get("HONED_SLOW_RAG"),
                                                   reason="opt-in (~30 min on 2 CPU cores): set HONED_SLOW_RAG=1")]

BANKING = SHARED / "banking77" / "train.csv"
INTENTS = ["card_arrival", "lost_or_stolen_card", "exchange_rate", "top_up_failed"]


def _write_project(root) -> None:
    by_intent = defaultdict(list)
    with BANKING.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["category"] in INTENTS:
                by_intent[row["category"]].append(row["text"])
    rows = [{"text": t, "label": i} for i in INTENTS for t in by_intent[i][:30]]
    (root / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    docs = root / "docs"
    docs.mkdir()
    for intent in INTENTS:  # other messages than the project's rows: the corpus never holds a test row
        lines = [f"Customer message: {t}\nIntent: {intent}\n" for t in by_intent[intent][30:60]]
        (docs / f"{intent}.md").write_text(f"# {intent}\n\n" + "\n".join(lines), encoding="utf-8")
    (root / "honed.yaml").write_text(f"""\
project: banking-rag
objective: {{task: classification, metric: accuracy, target: 0.6, labels: {INTENTS}}}
data:
  train: [data.jsonl]
  instruction: "Name the intent of the banking message: {', '.join(INTENTS)}. Answer with the intent only."
  documents: [docs]
  retrieval: {{chunk_size: 200, chunk_overlap: 0, top_k: 2}}
  split: {{train: 0.7, validation: 0.1, test: 0.2}}
model: {{base: smollm2-135m-instruct, max_length: 384}}
method: {{kind: lora, r: 8, alpha: 16}}
train: {{epochs: 1, learning_rate: 0.001, batch_size: 8, max_train_examples: 16}}
evaluation: {{few_shot_k: 2, max_test_examples: 8, probes: false, latency_samples: 0, label_scoring: false,
             max_new_tokens: 8, bootstrap_samples: 300}}
""", encoding="utf-8")


@pytest.mark.slow
@pytest.mark.skipif(not BANKING.is_file(), reason="../shared/datasets/banking77 is not here")
def test_full_comparison_on_banking77_with_the_embedded_model(tmp_path):
    _write_project(tmp_path)
    out = tmp_path / "out"
    assert main(["run", str(tmp_path / "honed.yaml"), "--output", str(out)]) == 0
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert {"zero_shot", "few_shot", "rag", "fine_tuned", "rag_fine_tuned"} <= set(report["candidates"])
    assert all(name in report["confidence_intervals"] for name in report["candidates"])
    assert report["retrieval"]["chunks"] >= len(INTENTS) and report["verdict"]["text"]
    print(report["verdict"]["text"],
          {n: round(c["accuracy"], 3) for n, c in report["candidates"].items()}, report["timings"])
