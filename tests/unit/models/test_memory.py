"""The memory planner against hand-derived numbers for a known config (Llama-3.1-8B, LoRA r=16 all-linear,
512 tokens, micro-batch 1, bf16 weights, no checkpointing)."""
from __future__ import annotations

import pytest

from honed.models.catalog import CATALOG
from honed.models.memory import GB, PlanInput, estimate, lora_parameters, plan_for_config, plan_memory

LLAMA8B = CATALOG["llama-3.1-8b"]
PLAN = PlanInput(seq_len=512, batch_size=1, weight_bytes=2, lora_r=16)
P = 8_030_261_248
H, KV, I, L, V, T = 4096, 1024, 14336, 32, 128256, 512


def test_lora_parameter_count_by_hand():
    # per layer r·(in+out): q 16·8192, k 16·5120, v 16·5120, o 16·8192, gate/up 2·16·18432, down 16·18432
    per_layer = 16 * (8192 + 5120 + 5120 + 8192 + 3 * 18432)
    assert per_layer * 32 == 41_943_040 == lora_parameters(LLAMA8B, 16)
    assert lora_parameters(LLAMA8B, 8, ("q_proj", "v_proj")) == 32 * 8 * (8192 + 5120)


def test_full_lora_qlora_parts_by_hand():
    activations = T * L * (12 * H + 6 * KV + 8 * I)  # bf16 autocast, per token and layer
    logits = T * V * 12
    full = estimate(LLAMA8B, "full", PLAN)
    assert full["parts_gb"]["weights"] == pytest.approx(P * 2 / GB, abs=1e-3)
    assert full["parts_gb"]["trainable_state"] == pytest.approx(P * 6 / GB, abs=1e-3)  # grads + 2 moments, bf16
    assert full["peak_gb"] == pytest.approx((P * 8 + activations + logits) / GB + 1.0, abs=0.01)
    assert full["peak_gb"] == pytest.approx(64.16, abs=0.01)

    lora = estimate(LLAMA8B, "lora", PLAN)
    assert lora["peak_gb"] == pytest.approx((P * 2 + 41_943_040 * 16 + activations + logits) / GB + 1.0, abs=0.01)
    assert lora["peak_gb"] == pytest.approx(19.91, abs=0.01)

    linear = 32 * (2 * H * H + 2 * H * KV + 3 * H * I)
    qlora = estimate(LLAMA8B, "qlora", PLAN)
    qweights = linear * 4.127 / 8 + (P - linear) * 2
    assert qlora["peak_gb"] == pytest.approx((qweights + 41_943_040 * 16 + activations + logits) / GB + 1.0, abs=0.01)
    assert qlora["peak_gb"] == pytest.approx(10.26, abs=0.01)


def test_checkpointing_keeps_only_layer_inputs():
    on = estimate(LLAMA8B, "lora", PlanInput(seq_len=512, gradient_checkpointing=True, weight_bytes=2))
    assert on["parts_gb"]["activations"] == pytest.approx(T * (L * H * 2 + 12 * H + 6 * KV + 8 * I) / GB, abs=1e-3)


def test_recommendation_follows_the_gpu():
    assert plan_memory(LLAMA8B, PLAN, 24)["recommendation"].endswith("on 24 GB use LoRA.")
    assert plan_memory(LLAMA8B, PLAN, 12)["recommendation"].endswith("on 12 GB use QLoRA.")
    assert "full fine-tuning fits too" in plan_memory(LLAMA8B, PLAN, 80)["recommendation"]
    assert "nothing fits 8 GB" in plan_memory(LLAMA8B, PLAN, 8)["recommendation"]
    assert "full needs ~64 GB; LoRA ~20; QLoRA ~10" in plan_memory(LLAMA8B, PLAN)["recommendation"]


def test_plan_for_a_honed_config_reads_its_settings():
    from honed.core.config import validate_config

    cfg = validate_config({"model": {"base": "meta-llama/Llama-3.1-8B", "max_length": 512, "dtype": "bfloat16"},
                           "method": {"r": 16, "dropout": 0.0}, "train": {"batch_size": 1}})
    plan = plan_for_config(cfg, 24)
    assert plan["model"] == "llama-3.1-8b" and plan["methods"][1]["peak_gb"] == pytest.approx(19.91, abs=0.01)
    tiny = plan_for_config(validate_config({"model": {"base": "tiny-random"}}))
    assert tiny["params"] == 3_219_776  # the tiny-random Llama's own count


def test_cpu_estimate_caps_tokens_per_forward_and_drops_logits_when_packed():
    from honed.core.config import validate_config
    from honed.models.memory import TOKENS_PER_FORWARD, estimate_cpu, find_base

    base = find_base("smollm2-135m")
    cfg = validate_config({"model": {"base": "smollm2-135m-instruct", "max_length": 512},
                           "train": {"batch_size": 8}})
    packed = estimate_cpu(base, cfg, mean_tokens=300)
    padded = estimate_cpu(base, cfg, mean_tokens=300, packed=False)
    assert packed["tokens_per_forward"] == 600 <= TOKENS_PER_FORWARD  # 2 rows of 300 (3 does not divide 8)
    assert padded["tokens_per_forward"] == 2400
    assert packed["parts_gb"]["logits"] == 0 < padded["parts_gb"]["logits"]
    assert abs(packed["peak_gb"] - sum(packed["parts_gb"].values())) < 0.01
    assert packed["peak_gb"] < padded["peak_gb"]
    assert estimate_cpu(base, cfg)["tokens_per_forward"] == 1024  # rows at max_length 512: 2 per forward
