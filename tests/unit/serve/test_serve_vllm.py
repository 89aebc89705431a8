"""The `vllm serve` command honed builds, as a list, and what it refuses to hand to vLLM."""
from __future__ import annotations

import json

import pytest

from honed.core.errors import HonedError
from honed.serve.vllm import plan_vllm, vllm_command


def fake_adapter(path, r=8):
    path.mkdir(parents=True)
    (path / "adapter_config.json").write_text(json.dumps({"r": r, "peft_type": "LORA"}))
    return path


def fake_run(root, name, base, r=8):
    run = root / name
    fake_adapter(run / "adapter", r)
    (run / "config.yaml").write_text(f"model:\n  base: {base}\n")
    return run


def test_command_with_adapters_and_tensor_parallelism(tmp_path):
    a, b = fake_adapter(tmp_path / "a"), fake_adapter(tmp_path / "b", r=32)
    command = vllm_command("/exports/m", "support", {"billing": a, "helpdesk": b}, host="127.0.0.1", port=9001,
                           tensor_parallel_size=2)
    assert command == ["vllm", "serve", "/exports/m", "--served-model-name", "support", "--host", "127.0.0.1",
                       "--port", "9001", "--enable-lora", "--lora-modules", f"billing={a}", f"helpdesk={b}",
                       "--max-lora-rank", "32", "--tensor-parallel-size", "2"]


def test_command_without_adapters_has_no_lora_flags():
    command = vllm_command("/exports/m", "m", {}, host="127.0.0.1", port=8100)
    assert command == ["vllm", "serve", "/exports/m", "--served-model-name", "m", "--host", "127.0.0.1",
                       "--port", "8100"]


def test_plan_maps_run_dirs_onto_their_exported_base(tmp_path):
    base = tmp_path / "export"
    base.mkdir()
    (base / "config.json").write_text("{}")
    runs = [fake_run(tmp_path, n, base) for n in ("billing", "support")]
    model, served_name, adapters = plan_vllm([f"prod={base}", str(runs[0]), f"helpdesk={runs[1]}"])
    assert (model, served_name) == (str(base), "prod")
    assert adapters == {"billing": (runs[0] / "adapter").resolve(), "helpdesk": (runs[1] / "adapter").resolve()}


def test_plan_refuses_in_memory_references_and_mixed_bases(tmp_path):
    with pytest.raises(HonedError, match="vLLM needs a model directory"):
        plan_vllm(["tiny-random"])
    with pytest.raises(HonedError, match="do not share one base"):
        plan_vllm([str(fake_run(tmp_path, "a", "tiny-random")), str(fake_run(tmp_path, "b", "smollm2-135m-instruct"))])
