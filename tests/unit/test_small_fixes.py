"""Issue 10's smaller fixes: --version, YAML booleans in labels, `model.dtype: auto` keeps the checkpoint's dtype."""
from __future__ import annotations

import pytest

from honed.cli import main


def test_version(capsys):
    from honed import __version__

    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0 and capsys.readouterr().out.strip() == f"honed {__version__}"


def test_yaml_yes_no_labels_become_words_with_a_warning(tmp_path, capsys):
    from honed.core.config import load_config

    (tmp_path / "honed.yaml").write_text("objective: {task: classification, labels: [yes, no, maybe]}\n")
    cfg = load_config(tmp_path / "honed.yaml")
    assert cfg.objective.labels == ["yes", "no", "maybe"]
    assert "booleans" in capsys.readouterr().err


def test_auto_dtype_keeps_the_checkpoint_dtype(tmp_path, capsys):
    import torch

    from honed.models.load import cpu_supports_bf16, load_model

    model, tokenizer = load_model("tiny-random")
    model.to(torch.bfloat16).save_pretrained(tmp_path / "m")
    tokenizer.save_pretrained(tmp_path / "m")
    loaded, _ = load_model(str(tmp_path / "m"), "auto")
    if cpu_supports_bf16() or torch.cuda.is_available():
        assert loaded.dtype == torch.bfloat16
    else:
        assert loaded.dtype == torch.float32 and "no fast bf16" in capsys.readouterr().err
    model.to(torch.float32).save_pretrained(tmp_path / "f")
    tokenizer.save_pretrained(tmp_path / "f")
    assert load_model(str(tmp_path / "f"), "auto")[0].dtype == torch.float32
    assert load_model(str(tmp_path / "m"), "float32")[0].dtype == torch.float32
