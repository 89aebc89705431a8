"""This machine's matrix-multiply peak, the yardstick for model-FLOPs utilisation (MFU) in every benchmark.

    python benchmarks/cpu_roofline.py [--threads N] [--cpu-time] [--json benchmarks/cpu_roofline.json]

`--cpu-time` times each matmul in process CPU seconds instead of wall seconds: GFLOP per CPU-second, the peak to
set CPU-second figures against on a shared machine (with `--threads 1`, free of OpenMP spin-waiting).

torch matmuls of square and transformer-shaped (tokens × hidden · hidden × 4·hidden) operands in float32 and
bf16, at the thread count honed uses (torch's default: one per core), best of several repeats. The peak is the
best sustained GFLOP/s seen; other benchmarks import `matmul_peak()` and print their achieved FLOP/s over it.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

SHAPES = ((1024, 1024, 1024), (2048, 2048, 2048), (512, 576, 1536), (1024, 576, 49152 // 8))


def gflops(m: int, k: int, n: int, dtype, repeats: int = 5, clock=time.perf_counter) -> float:
    import torch

    a, b = torch.randn(m, k, dtype=dtype), torch.randn(k, n, dtype=dtype)
    a @ b  # warm-up (bf16 kernels are JIT-selected on first use)
    best = float("inf")
    for _ in range(repeats):
        started = clock()
        a @ b
        best = min(best, clock() - started)
    return 2 * m * k * n / best / 1e9


def matmul_peak(dtype_name: str = "float32", threads: int | None = None) -> float:
    """Best GFLOP/s over SHAPES for float32 or bf16 at `threads` (default: torch's)."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    dtype = {"float32": torch.float32, "bf16": torch.bfloat16}[dtype_name]
    return max(gflops(m, k, n, dtype) for m, k, n in SHAPES)


def mfu(flops_per_second: float, peak_gflops: float) -> float:
    return flops_per_second / (peak_gflops * 1e9)


def training_flops_per_token(params: float, trainable_fraction: float = 0.0) -> float:
    """Forward 2·N, backward 2·N for the activations' gradients, plus 2·N·f for the trainable weights' own."""
    return 2 * params + 2 * params + 2 * params * trainable_fraction


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--cpu-time", action="store_true", help="GFLOP per process CPU-second instead of per second")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    clock = time.process_time if args.cpu_time else time.perf_counter
    import os

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    rows = {}
    for name, dtype in (("float32", torch.float32), ("bf16", torch.bfloat16)):
        per_shape = {f"{m}x{k}x{n}": round(gflops(m, k, n, dtype, clock=clock), 1) for m, k, n in SHAPES}
        rows[name] = {"peak_gflops": max(per_shape.values()), "by_shape": per_shape}
    load = os.getloadavg()
    result = {"threads": torch.get_num_threads(), "clock": "process CPU time" if args.cpu_time else "wall", "torch": torch.__version__, "date": time.strftime("%Y-%m-%d %H:%M"),
              "load_average": [round(x, 2) for x in load], **rows}
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
