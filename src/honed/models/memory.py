"""Memory planner: estimated peak GPU memory of full fine-tuning, LoRA and QLoRA for a base model at a given
sequence length, micro-batch and checkpointing setting, and the method that fits a GPU.

The estimate is a sum of parts, each a closed formula (see docs/training.md for the derivation):

- weights: parameters × bytes per weight (float32 4, bf16/fp16 2; QLoRA: linear layers in NF4 with double
  quantisation ≈ 4.127 bits, everything else in bf16);
- trainable state: gradients plus AdamW's two moments, in the trainable parameters' dtype (full fine-tuning:
  the weights' dtype; LoRA adapters are float32: 4 + 4 + 8 = 16 bytes per trainable parameter);
- activations kept for the backward pass under bf16 autocast, per token and layer ≈ (12·h + 6·kv + 8·i) bytes
  plus 4·h more when weights are float32 (the residual stream stays float32), 2·(6·h + i) more with LoRA
  dropout; with gradient checkpointing only each layer's input is kept, plus one layer recomputed;
- logits: tokens × vocabulary × 12 bytes (bf16 logits, their float32 copy for the loss, its gradient);
- a fixed 1 GB for the CUDA context and kernels' workspace.

It has NOT yet been checked against measured peaks on a GPU (see docs/training.md); treat it as ±25 %.

CPU runs (`estimate_cpu`) are calibrated on measured peak resident memory (benchmarks/cpu_memory.py): the
process itself (Python, torch, transformers: ~0.5 GB), float32 weights and adapter state as above, and the
activations of one forward on the CPU fast path — packed rows of at most honed.train.fast.TOKENS_PER_FORWARD
tokens (micro-batches), float32 activations (the formula above × CPU_ACTIVATION_FACTOR, which also covers the
allocator's retained memory), logits only at supervised positions. Padded rows with full logits (TRL's path)
add tokens × vocabulary × CPU_LOGIT_BYTES.
"""
from __future__ import annotations

from dataclasses import dataclass

from honed.models.catalog import BaseModel, base_from_hf_config, find_base

GB = 1024**3
QLORA_BITS = 4 + 0.127  # NF4 + double-quantised absmax (8-bit per 64 weights, fp32 per 256 blocks)
CUDA_OVERHEAD_GB = 1.0
CPU_RUNTIME_GB = 0.5  # python + torch + transformers + peft + datasets imported (measured 0.46 GB)
CPU_ACTIVATION_FACTOR = 4.2  # measured peak RSS per token-layer over the formula above, float32 CPU path
CPU_LOGIT_BYTES = 16  # float32 logits, log-softmax, its gradient and a transient copy
COMMON_GPUS_GB = (16, 24, 40, 48, 80, 141)
METHODS = ("full", "lora", "qlora")


@dataclass(frozen=True)
class PlanInput:
    seq_len: int
    batch_size: int = 1
    gradient_checkpointing: bool = False
    weight_bytes: int = 2  # 4 for float32 weights, 2 for bf16/fp16
    lora_r: int = 16
    lora_targets: tuple[str, ...] | str = "all-linear"
    lora_dropout: float = 0.0


def lora_parameters(model: BaseModel, r: int, targets: tuple[str, ...] | str = "all-linear") -> int:
    """Trainable LoRA parameters: r × (in + out) for every adapted linear layer."""
    h, i, q, kv = model.hidden, model.intermediate, model.heads * model.dim_head, model.kv_heads * model.dim_head
    shapes = {"q_proj": (h, q), "k_proj": (h, kv), "v_proj": (h, kv), "o_proj": (q, h),
              "gate_proj": (h, i), "up_proj": (h, i), "down_proj": (i, h)}
    chosen = shapes if targets == "all-linear" else {k: v for k, v in shapes.items() if k in targets}
    per_layer = 0
    for name, (fan_in, fan_out) in chosen.items():
        per_layer += r * (fan_in + fan_out) * (model.experts if name in ("gate_proj", "up_proj", "down_proj") else 1)
    return model.layers * per_layer


def activation_bytes(model: BaseModel, plan: PlanInput, lora: bool) -> float:
    """Activations saved for backward, for one micro-batch."""
    h, i, kv = model.hidden, model.intermediate * model.active_experts, model.kv_heads * model.dim_head
    per_token_layer = 12 * h + 6 * kv + 8 * i + (4 * h if plan.weight_bytes == 4 else 0)
    if lora and plan.lora_dropout > 0:
        per_token_layer += 2 * (6 * h + i)
    tokens = plan.seq_len * plan.batch_size
    if plan.gradient_checkpointing:
        kept = model.layers * h * max(plan.weight_bytes, 2)  # each layer's input
        return tokens * (kept + per_token_layer)
    return tokens * model.layers * per_token_layer


def estimate(model: BaseModel, method: str, plan: PlanInput) -> dict:
    """Peak-memory estimate for one method, in GB, with its parts."""
    total = model.count_parameters()
    linear = model.layers * model.linear_params_per_layer
    if method == "qlora":
        weights = linear * QLORA_BITS / 8 + (total - linear) * 2
    else:
        weights = total * plan.weight_bytes
    if method == "full":
        trainable = total
        state = trainable * plan.weight_bytes * 3  # gradient + two AdamW moments, in the weights' dtype
    else:
        trainable = lora_parameters(model, plan.lora_r, plan.lora_targets)
        state = trainable * (4 + 4 + 8)  # float32 adapter weights, gradients, two moments
    activations = activation_bytes(model, plan, lora=method != "full")
    logits = plan.seq_len * plan.batch_size * model.vocab * 12
    parts = {"weights": weights, "trainable_state": state, "activations": activations, "logits": logits}
    peak = sum(parts.values()) / GB + CUDA_OVERHEAD_GB
    return {"method": method, "trainable_params": trainable, "peak_gb": round(peak, 2),
            "parts_gb": {k: round(v / GB, 3) for k, v in parts.items()} | {"cuda_overhead": CUDA_OVERHEAD_GB}}


def plan_memory(model: BaseModel, plan: PlanInput, gpu_memory_gb: float | None = None) -> dict:
    """Estimates for full / LoRA / QLoRA and a recommendation."""
    rows = [estimate(model, method, plan) for method in METHODS]
    return {"model": model.name, "params": model.count_parameters(), "seq_len": plan.seq_len,
            "batch_size": plan.batch_size, "gradient_checkpointing": plan.gradient_checkpointing,
            "gpu_memory_gb": gpu_memory_gb, "methods": rows, "recommendation": recommend(model, rows, gpu_memory_gb,
                                                                                        plan)}


def recommend(model: BaseModel, rows: list[dict], gpu_memory_gb: float | None, plan: PlanInput) -> str:
    by = {r["method"]: r["peak_gb"] for r in rows}
    needs = f"{model.name} full needs ~{by['full']:.0f} GB; LoRA ~{by['lora']:.0f}; QLoRA ~{by['qlora']:.0f}"
    if gpu_memory_gb is None:
        smallest = {m: next((g for g in COMMON_GPUS_GB if g >= by[m]), None) for m in METHODS}
        fits = "; ".join(f"{m} from a {g} GB GPU" for m, g in smallest.items() if g)
        return f"{needs} ({fits or 'none fits one GPU: use several GPUs with FSDP/ZeRO-3'})."
    for method in ("lora", "qlora"):
        if by[method] <= gpu_memory_gb:
            extra = " (full fine-tuning fits too)" if by["full"] <= gpu_memory_gb else ""
            return f"{needs}; on {gpu_memory_gb:g} GB use {'LoRA' if method == 'lora' else 'QLoRA'}{extra}."
    hints = [] if plan.gradient_checkpointing else ["turn on train.gradient_checkpointing"]
    hints += ["lower model.max_length or train.batch_size (raise train.grad_accum to compensate)",
              "pick a smaller base", "or shard over several GPUs (honed train --gpus N --strategy zero3)"]
    return f"{needs}; nothing fits {gpu_memory_gb:g} GB: " + ", ".join(hints) + "."


def base_for_reference(reference: str) -> BaseModel:
    """Catalog entry for a model reference; built-ins and local directories are read from their config."""
    from honed.core.errors import HonedError
    from honed.models.load import TINY_MODEL, resolve_model

    found = find_base(reference)
    if found is not None:
        return found
    if reference == TINY_MODEL:
        from honed.models.load import build_tiny_model

        return base_from_hf_config(TINY_MODEL, build_tiny_model(49152).config)
    source = resolve_model(reference)
    if source.kind == "hf-dir":
        from transformers import AutoConfig

        return base_from_hf_config(reference, AutoConfig.from_pretrained(source.location))
    from honed.models.catalog import CATALOG

    raise HonedError(f"the planner does not know the architecture of `{reference}`",
                     f"use a catalog name ({', '.join(CATALOG)}) or a local model directory with config.json")


def plan_for_config(cfg, gpu_memory_gb: float | None = None) -> dict:
    """The plan for a honed config: its base, max_length, batch, checkpointing, dtype and LoRA settings."""
    model = base_for_reference(cfg.model.base)
    targets = cfg.method.target_modules
    plan = PlanInput(seq_len=cfg.model.max_length, batch_size=cfg.train.batch_size,
                     gradient_checkpointing=cfg.train.gradient_checkpointing,
                     weight_bytes=4 if cfg.model.dtype in ("auto", "float32") else 2, lora_r=cfg.method.r,
                     lora_targets=targets if targets == "all-linear" else tuple(targets),
                     lora_dropout=cfg.method.dropout)
    result = plan_memory(model, plan, gpu_memory_gb)
    if cfg.method.kind != "qlora":  # QLoRA needs CUDA
        result["cpu"] = estimate_cpu(model, cfg)
    return result


def plan_table(plan: dict):
    """A rich table: one row per method with trainable parameters, parts and the estimated peak."""
    from rich.table import Table

    title = (f"{plan['model']} · {plan['params'] / 1e9:.2f}B params · seq {plan['seq_len']} × batch "
             f"{plan['batch_size']} · checkpointing {'on' if plan['gradient_checkpointing'] else 'off'}")
    table = Table(title=title, caption="GB; trainable parameters in millions")
    for column in ("method", "trainable M", "weights", "grad+optim", "activations", "logits", "peak GB"):
        table.add_column(column, justify="left" if column == "method" else "right")
    for row in plan["methods"]:
        parts = row["parts_gb"]
        fits = plan["gpu_memory_gb"] is None or row["peak_gb"] <= plan["gpu_memory_gb"]
        table.add_row(row["method"], f"{row['trainable_params'] / 1e6:,.1f}", f"{parts['weights']:.2f}",
                      f"{parts['trainable_state']:.2f}", f"{parts['activations']:.2f}", f"{parts['logits']:.2f}",
                      f"{row['peak_gb']:.1f}" + ("" if fits else " ✗"))
    return table


# Tokens per forward pass on the CPU fast path. Activations kept for backward grow with the tokens of a forward
# (~2 MB per token for a 135M model in float32), and on a CPU a row of ~1,000 tokens already keeps the matmuls
# efficient, so longer batches run as micro-batches with gradient accumulation: the same update, bounded memory.
TOKENS_PER_FORWARD = 1024


def micro_batch(batch_size: int, lengths: list[float], budget: int = TOKENS_PER_FORWARD) -> int:
    """The largest divisor of `batch_size` whose rows, at the 90th-percentile row length, fit `budget` tokens."""
    typical = sorted(lengths)[int(0.9 * (len(lengths) - 1))] if lengths else 0
    return next(m for m in range(batch_size, 0, -1) if batch_size % m == 0 and (m * typical <= budget or m == 1))


def estimate_cpu(model: BaseModel, cfg, mean_tokens: float | None = None, packed: bool | None = None) -> dict:
    """Peak resident memory of a CPU run of `cfg` in GB, with its parts (see the module docstring).

    `mean_tokens` is the mean rendered row length (default: `model.max_length`, the worst case); `packed`
    whether honed's CPU fast path runs (default: `train.packing`)."""
    length = mean_tokens or cfg.model.max_length
    packed = cfg.train.packing if packed is None else packed
    batch = cfg.train.batch_size
    tokens = (micro_batch(batch, [length]) if packed else batch) * length
    full = cfg.method.kind == "full"
    weight_bytes = 4 if cfg.model.dtype in ("auto", "float32") else 2
    plan = PlanInput(seq_len=int(tokens), batch_size=1, gradient_checkpointing=cfg.train.gradient_checkpointing,
                     weight_bytes=weight_bytes, lora_r=cfg.method.r, lora_dropout=cfg.method.dropout,
                     lora_targets=cfg.method.target_modules if cfg.method.target_modules == "all-linear"
                     else tuple(cfg.method.target_modules))
    total = model.count_parameters()
    trainable = total if full else lora_parameters(model, plan.lora_r, plan.lora_targets)
    parts = {"runtime": CPU_RUNTIME_GB * GB, "weights": total * weight_bytes,
             "trainable_state": trainable * (weight_bytes * 3 if full else 16),
             "activations": activation_bytes(model, plan, lora=not full) * CPU_ACTIVATION_FACTOR,
             "logits": 0 if packed else tokens * model.vocab * CPU_LOGIT_BYTES}
    return {"method": cfg.method.kind, "tokens_per_forward": int(tokens), "packed": packed,
            "peak_gb": round(sum(parts.values()) / GB, 2), "parts_gb": {k: round(v / GB, 3) for k, v in parts.items()}}
