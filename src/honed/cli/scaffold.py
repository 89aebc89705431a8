"""`honed init`: a commented honed.yaml to start from."""
from __future__ import annotations

from pathlib import Path

from honed.core.errors import HonedError

TEMPLATE = """\
# honed project config. Every key is optional except data.train; unknown keys are errors.
# Override any key on the command line: honed run honed.yaml train.epochs=2
project: my-project

objective:
  task: classification        # classification | extraction | generation
  metric: accuracy            # the primary metric the objective is judged on
  target: 0.85                # success threshold for that metric (0..1)
  labels: []                  # the label set; empty = every label found in the data

data:
  train: [data.jsonl]         # JSONL / JSON / CSV / Parquet, relative to this file
  format: auto                # auto | chat | sharegpt | alpaca | prompt_completion | classification | preference | text
  text_column: text           # classification rows: the input column
  label_column: label         # classification rows: the label column
  instruction: "Classify the text. Answer with the label only."   # system prompt for every candidate
  split: {train: 0.8, validation: 0.1, test: 0.1, seed: 13}
  redact_pii: true

model:
  base: smollm2-135m-instruct # or tiny-random, a local HF directory, a .gguf file, a hub id
  max_length: 256             # longer examples are reported, never silently cut

method:
  kind: lora                  # full | lora | dora | qlora | ia3 | prefix | prompt
  r: 16
  alpha: 32
  dropout: 0.05
  target_modules: all-linear

train:
  epochs: 1
  learning_rate: 0.0002
  batch_size: 8
  seed: 13

evaluation:
  baselines: [zero_shot, few_shot]
  few_shot_k: 3
"""


def write_scaffold(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "honed.yaml"
    if path.exists():
        raise HonedError(f"`{path}` already exists", "edit it, or choose another directory: `honed init DIR`")
    path.write_text(TEMPLATE, encoding="utf-8")
    return path
