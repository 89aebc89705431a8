"""Config validation: each error class reported with its key path, all at once, exit 2 from the CLI."""
from __future__ import annotations

import pytest

from honed.cli import main
from honed.core.config import load_config, validate_config
from honed.core.errors import HonedError


def problems_of(raw: dict) -> list[str]:
    with pytest.raises(HonedError) as info:
        validate_config(raw)
    return info.value.details


def test_defaults_are_valid():
    cfg = validate_config({})
    assert cfg.model.base == "smollm2-135m-instruct"
    assert cfg.method.kind == "lora" and cfg.method.target_modules == "all-linear"


def test_unknown_key_suggests_the_close_one():
    [problem] = problems_of({"train": {"learning_rat": 0.1}})
    assert "unknown key `train.learning_rat`" in problem
    assert "did you mean `learning_rate`" in problem


def test_unknown_section_is_reported():
    [problem] = problems_of({"trian": {}})
    assert "`trian`" in problem and "did you mean `train`" in problem


def test_wrong_type_names_the_key_and_value():
    [problem] = problems_of({"train": {"epochs": "many"}})
    assert problem.startswith("`train.epochs`") and "'many'" in problem


def test_every_problem_is_reported_at_once():
    problems = problems_of({"train": {"epochs": -1, "batchsize": 4}, "method": {"kind": "lorax"},
                            "objective": {"target": 2}})
    joined = "\n".join(problems)
    assert len(problems) == 4
    for key in ("train.epochs", "train.batchsize", "method.kind", "objective.target"):
        assert key in joined


def test_metric_must_fit_task():
    [problem] = problems_of({"objective": {"task": "classification", "metric": "rougeL"}})
    assert "does not fit task `classification`" in problem


def test_split_fractions_must_sum_to_one():
    [problem] = problems_of({"data": {"split": {"train": 0.5, "validation": 0.1, "test": 0.1}}})
    assert "sum to 1" in problem


def test_overrides_are_typed_and_nested(tmp_path):
    path = tmp_path / "honed.yaml"
    path.write_text("project: p\ntrain: {epochs: 1}\n")
    cfg = load_config(path, ["train.epochs=3", "method.target_modules=q_proj,v_proj", "data.train=x.jsonl"])
    assert cfg.train.epochs == 3.0
    assert cfg.method.target_modules == ["q_proj", "v_proj"]
    assert cfg.data.train == ["x.jsonl"]
    assert cfg.resolve("x.jsonl") == tmp_path / "x.jsonl"


def test_malformed_override_is_a_usage_error(tmp_path):
    path = tmp_path / "honed.yaml"
    path.write_text("project: p\n")
    with pytest.raises(HonedError, match="key=value"):
        load_config(path, ["train.epochs"])


@pytest.mark.parametrize("text, expected", [
    ("train: [unclosed", "not valid YAML at line"),
    ("- just\n- a list\n", "must hold a mapping"),
])
def test_bad_yaml_gives_a_clear_message(tmp_path, text, expected):
    path = tmp_path / "honed.yaml"
    path.write_text(text)
    with pytest.raises(HonedError, match=expected):
        load_config(path)


def test_cli_exit_code_2_and_no_traceback(tmp_path, capsys):
    path = tmp_path / "honed.yaml"
    path.write_text("train: {learning_rat: 1}\n")
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert "did you mean `learning_rate`" in err and "Traceback" not in err


def test_missing_config_file(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.yaml")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_shipped_example_configs_parse():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    configs = sorted(root.glob("examples/*/honed.yaml"))
    assert configs, "no example configs found"
    for path in configs:
        cfg = load_config(path)
        for name in cfg.data.train:
            assert cfg.resolve(name).is_file(), f"{path}: {name} missing"


def test_init_writes_a_valid_config(tmp_path):
    assert main(["init", str(tmp_path)]) == 0
    cfg = load_config(tmp_path / "honed.yaml")
    assert cfg.project == "my-project"
    assert main(["init", str(tmp_path)]) == 2  # never overwrites
