"""Latency, throughput and cost per 1,000 requests, self-hosted vs an API priced per million tokens.

Latency is measured one request at a time (batch 1, greedy, `evaluation.max_new_tokens`), the way a single user
meets the model; throughput comes from the batched evaluation pass. Self-hosted cost = hardware $/hour × the
seconds 1,000 requests take at the measured batched throughput (for the classical candidate, its prediction
time: it has no tokens, so no API-priced cost); API cost = 1,000 × (prompt tokens × input price +
output tokens × output price) / 1e6. Both prices are configuration (`evaluation.hardware_cost_per_hour`,
`evaluation.api_input_cost_per_million`, `evaluation.api_output_cost_per_million`), recorded in the report.
"""
from __future__ import annotations

import os
import platform
import time

import numpy as np

from honed.core.config import Config


def measure_latency(model, tokenizer, prompts: list[list[dict]], max_new_tokens: int, samples: int) -> dict:
    """Per-request latency over the first `samples` prompts: milliseconds and new tokens per request."""
    import torch

    from honed.core.chat import render_prompt
    from honed.evaluate.generate import _stop_ids

    model.eval()
    latencies, tokens = [], []
    for conversation in prompts[:samples]:
        batch = tokenizer(render_prompt(tokenizer, conversation), return_tensors="pt",
                          add_special_tokens=False).to(model.device)
        started = time.perf_counter()
        with torch.inference_mode():
            out = model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False, num_beams=1,
                                 pad_token_id=tokenizer.pad_token_id, eos_token_id=_stop_ids(tokenizer))
        _sync(model)
        latencies.append(1000 * (time.perf_counter() - started))
        tokens.append(int(out.shape[1] - batch["input_ids"].shape[1]))
    return {"latency_ms": latencies, "new_tokens": tokens}


def efficiency_summary(result, cfg: Config) -> dict:
    """One candidate's latency percentiles, tokens/s, throughput and cost per 1,000 requests."""
    ev = cfg.evaluation
    n = max(len(result.outputs), 1)
    out_tokens = float(np.mean(result.output_tokens)) if result.output_tokens else 0.0
    prompt_tokens = float(np.mean(result.prompt_tokens)) if result.prompt_tokens else 0.0
    summary: dict = {"mean_prompt_tokens": prompt_tokens, "mean_output_tokens": out_tokens}
    sample = result.efficiency
    if sample.get("latency_ms"):
        lat = np.array(sample["latency_ms"])
        summary.update({"latency_p50_ms": float(np.percentile(lat, 50)), "latency_p95_ms": float(np.percentile(lat, 95)),
                        "latency_samples": len(lat),
                        "tokens_per_second": float(sum(sample["new_tokens"]) / max(lat.sum() / 1000, 1e-9))})
    if result.greedy_seconds > 0 and not result.is_api:  # an API's hardware is not ours
        seconds_per_request = result.greedy_seconds / n
        summary["throughput_requests_per_second"] = 1 / seconds_per_request
        summary["throughput_tokens_per_second"] = out_tokens / seconds_per_request
        summary["cost_per_1000_requests_self_hosted"] = ev.hardware_cost_per_hour * seconds_per_request * 1000 / 3600
    if result.train_seconds > 0:
        summary["train_seconds"] = result.train_seconds
    if result.kind == "classical":  # no tokens: its cost is the CPU time of its predictions, nothing else
        for token_figure in ("mean_prompt_tokens", "mean_output_tokens", "throughput_tokens_per_second"):
            summary.pop(token_figure, None)
        return {**summary, "kind": "classical"}
    summary["cost_per_1000_requests_api"] = 1000 * (prompt_tokens * ev.api_input_cost_per_million
                                                    + out_tokens * ev.api_output_cost_per_million) / 1e6
    return summary


def efficiency_report(results: dict, cfg: Config, training: dict | None = None) -> dict:
    """Every candidate's summary; the fine-tune's training time comes from `training` (TrainResult.figures())."""
    ev = cfg.evaluation
    candidates = {name: efficiency_summary(r, cfg) for name, r in results.items() if r.outputs}
    if "fine_tuned" in candidates and (training or {}).get("seconds"):
        candidates["fine_tuned"]["train_seconds"] = float(training["seconds"])
    return {
        "candidates": candidates,
        "prices": {"hardware_cost_per_hour": ev.hardware_cost_per_hour,
                   "api_input_cost_per_million": ev.api_input_cost_per_million,
                   "api_output_cost_per_million": ev.api_output_cost_per_million, "currency": "USD"},
        "machine": machine_description(),
        "method": "latency: batch-1 greedy requests, wall clock; throughput: the batched evaluation pass "
                  "(greedy decoding, includes tokenisation); the classical candidate: its batched prediction pass, "
                  "self-hosted cost only (it reads no tokens); costs use the configured prices",
    }


def machine_description() -> str:
    import torch

    if torch.cuda.is_available():
        device = torch.cuda.get_device_name(0)
    else:
        device = f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores, "\
                 f"{torch.get_num_threads()} torch threads)"
    return f"{device}; torch {torch.__version__}; {platform.system()} {platform.release()}"


def _sync(model) -> None:
    import torch

    if getattr(model, "device", None) is not None and model.device.type == "cuda":
        torch.cuda.synchronize()
