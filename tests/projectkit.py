"""Helpers shared by tests: paths and a small keyword-driven classification project on `tiny-random`."""
from __future__ import annotations

import json
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets"

TOPICS = {
    "billing": ["invoice", "charged twice", "payment failed", "billing address", "receipt"],
    "shipping": ["package late", "tracking number", "courier", "delivery address", "parcel lost"],
    "login": ["password reset", "cannot sign in", "two-factor code", "account locked", "username"],
}


def write_ticket_rows(path: Path, per_label: int = 20, seed: int = 0) -> list[dict]:
    """Easy keyword-driven classification rows: a tiny model can learn them in a few steps."""
    rng = random.Random(seed)
    rows = []
    for label, phrases in TOPICS.items():
        for i in range(per_label):
            phrase = rng.choice(phrases)
            rows.append({"text": f"Hello, about my {phrase}: ticket {i} {rng.randint(100, 999)}", "label": label})
    rng.shuffle(rows)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return rows


def tiny_config_text(data_file: str = "data.jsonl") -> str:
    return f"""\
project: tiny
objective: {{task: classification, metric: accuracy, target: 0.5, labels: [billing, shipping, login]}}
data:
  train: [{data_file}]
  instruction: "Route the ticket: billing, shipping or login."
model: {{base: tiny-random, max_length: 128}}
method: {{kind: lora, r: 4, alpha: 8, dropout: 0.0}}
train: {{epochs: 2, learning_rate: 0.005, batch_size: 8, seed: 3}}
evaluation: {{few_shot_k: 2, max_new_tokens: 4, batch_size: 8, bootstrap_samples: 200}}
"""
