"""Finding what a run holds (both run layouts), and the model card built from it."""
from __future__ import annotations

import json

import pytest

from honed.core.errors import HonedError
from honed.export.card import model_card
from honed.export.source import find_run
from honed.models.load import build_tiny_model, load_tokenizer

REPORT = {"primary_metric": "accuracy",
          "candidates": {"zero_shot": {"accuracy": 0.141}, "fine_tuned": {"accuracy": 0.889, "macro_f1": 0.8}},
          "objective": {"metric": "accuracy", "target": 0.8, "passed": True, "best_candidate": "fine|tuned"}}


def write_run(path, base="tiny-random"):
    (path / "adapter").mkdir(parents=True)
    (path / "adapter" / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA"}))
    (path / "config.yaml").write_text(f"model: {{base: {base}}}\n")
    (path / "meta.json").write_text(json.dumps({"run_id": "r-1", "method": "lora", "dataset_hash": "d34db33f"}))
    return path


def test_a_honed_run_output_resolves_to_its_run_and_report(tmp_path):
    write_run(tmp_path / "out" / "run")
    (tmp_path / "out" / "report.json").write_text(json.dumps(REPORT))
    run = find_run(tmp_path / "out")
    assert run.path == tmp_path / "out" / "run" and run.base == "tiny-random" and not run.is_full_model
    assert run.report == REPORT and run.meta["dataset_hash"] == "d34db33f"


def test_eval_report_inside_the_run_is_found(tmp_path):
    run_dir = write_run(tmp_path / "run")
    (run_dir / "eval").mkdir()
    (run_dir / "eval" / "report.json").write_text(json.dumps(REPORT))
    assert find_run(run_dir).report == REPORT


def test_missing_config_is_a_clear_error(tmp_path):
    run_dir = write_run(tmp_path / "run")
    (run_dir / "config.yaml").unlink()
    with pytest.raises(HonedError, match="no config.yaml"):
        find_run(run_dir)


def test_card_names_base_data_method_metrics_and_limits(tmp_path):
    run_dir = write_run(tmp_path / "run")
    (run_dir / "eval").mkdir()
    (run_dir / "eval" / "report.json").write_text(json.dumps(REPORT))
    tokenizer = load_tokenizer("tiny-random")
    card = model_card(find_run(run_dir), build_tiny_model(len(tokenizer)), tokenizer, fmt="merged")
    for expected in ("base_model: \"tiny-random\"", "d34db33f", "| method | lora |", "0.8890", "0.1410",
                     "fine\\|tuned", "`<|im_end|>`", "## Intended use", "## Limitations", "## Licence"):
        assert expected in card, expected
