"""Serving throughput: honed serve at 1, 8 and 32 concurrent clients vs sequential decoding vs `transformers serve`.

    PYTHONPATH=src python benchmarks/serve_throughput.py --model tiny-random
    PYTHONPATH=src python benchmarks/serve_throughput.py --model smollm2-135m-instruct --requests 32 --max-tokens 32

Every configuration answers the same REQUESTS chat prompts greedily with at most MAX_TOKENS new tokens. Servers run
as subprocesses (their own Python, so the load generator does not share their GIL); clients stream, so the time
to first token (TTFT) is measured where the client sees it. Sequential decoding = `model.generate` on one prompt
at a time in this process (no server): the baseline a batching server has to beat. Tokens are the servers' own
usage counts (for `transformers serve`, which may not report usage when streaming: one token per content chunk).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Result:
    engine: str
    clients: int
    requests: int
    tokens: int
    wall_s: float
    ttft: list[float]
    latency: list[float]

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.wall_s


def prompts(n: int) -> list[list[dict]]:
    topics = ["a refund", "a late parcel", "a broken login", "an invoice error", "a password reset", "a new plan",
              "a damaged item", "an address change"]
    return [[{"role": "user", "content": f"Ticket {i}: I need help with {topics[i % len(topics)]}. What should I do?"}]
            for i in range(n)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_up(url: str, process: subprocess.Popen, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with code {process.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not come up in {timeout} s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


async def one_request(client: httpx.AsyncClient, url: str, model: str, messages, max_tokens: int):
    body = {"model": model, "messages": messages, "max_tokens": max_tokens, "temperature": 0, "stream": True,
            "stream_options": {"include_usage": True}}
    start = time.perf_counter()
    ttft, chunks, usage = None, 0, None
    async with client.stream("POST", f"{url}/v1/chat/completions", json=body) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if not line.startswith("data:") or line.strip() == "data: [DONE]":
                continue
            chunk = json.loads(line[5:])
            if chunk.get("usage"):
                usage = chunk["usage"]["completion_tokens"]
            for choice in chunk.get("choices") or []:
                if (choice.get("delta") or {}).get("content"):
                    chunks += 1
                    ttft = ttft if ttft is not None else time.perf_counter() - start
    return ttft if ttft is not None else time.perf_counter() - start, time.perf_counter() - start, usage or chunks


async def load_test(url: str, model: str, clients: int, requests: list, max_tokens: int, engine: str) -> Result:
    queue = list(requests)
    results = []

    async def client_loop(client):
        while queue:
            results.append(await one_request(client, url, model, queue.pop(), max_tokens))

    async with httpx.AsyncClient(timeout=1800, limits=httpx.Limits(max_connections=clients + 4)) as client:
        start = time.perf_counter()
        await asyncio.gather(*(client_loop(client) for _ in range(clients)))
        wall = time.perf_counter() - start
    return Result(engine, clients, len(requests), sum(r[2] for r in results), wall, [r[0] for r in results],
                  [r[1] for r in results])


def sequential(model_ref: str, requests: list, max_tokens: int) -> Result:
    import torch

    from honed.core.chat import render_prompt
    from honed.models.load import load_model
    from honed.serve.backend import stop_token_ids

    model, tokenizer = load_model(model_ref)
    model.eval()
    stops = stop_token_ids(tokenizer, model)
    latencies, tokens = [], 0
    start = time.perf_counter()
    with torch.inference_mode():
        for messages in requests:
            began = time.perf_counter()
            ids = tokenizer(render_prompt(tokenizer, messages), add_special_tokens=False, return_tensors="pt")
            out = model.generate(**ids, max_new_tokens=max_tokens, do_sample=False, eos_token_id=stops,
                                 pad_token_id=tokenizer.pad_token_id)
            tokens += out.shape[1] - ids["input_ids"].shape[1]
            latencies.append(time.perf_counter() - began)
    return Result("sequential generate()", 1, len(requests), tokens, time.perf_counter() - start, [], latencies)


def save_for_transformers(model_ref: str, directory: Path) -> Path:
    from honed.models.load import load_model

    model, tokenizer = load_model(model_ref)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def run_server(command: list[str], url: str, env: dict) -> subprocess.Popen:
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_up(url, process)
    except RuntimeError:
        stop(process)
        raise RuntimeError(f"{command[:3]} failed to start: {(process.stderr.read() or '')[-800:]}") from None
    return process


def measure(url: str, model: str, name: str, clients: int, requests, max_tokens: int) -> Result:
    return asyncio.run(load_test(url, model, clients, requests, max_tokens, name))


def start_servers(args, env, tmp: Path) -> list[tuple[str, str, str, subprocess.Popen]]:
    """(name, url, model field, process) of every server, all up at once so rounds can interleave them."""
    port = free_port()
    honed = [sys.executable, "-m", "honed", "serve", args.model, "--port", str(port), "--max-batch", "32",
             "--db", str(tmp / "bench.db")]
    servers = [("honed serve", f"http://127.0.0.1:{port}", args.model, run_server(honed, f"http://127.0.0.1:{port}", env))]
    for name, command, url, model in transformers_commands(args, tmp):
        try:
            servers.append((name, url, model, run_server(command, url, env)))
        except RuntimeError as exc:
            print(f"{name}: could not be measured here: {str(exc)[-500:]}")
    for name, url, model, _ in servers:  # warm-up: first-request costs are not throughput
        measure(url, model, name, 1, prompts(2), args.max_tokens)
    return servers


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    import torch
    import transformers

    return (f"{time.strftime('%Y-%m-%d %H:%M %Z')} · {platform.system()} {platform.machine()} · {cpu} · "
            f"{os.cpu_count()} CPUs · torch {torch.__version__} ({torch.get_num_threads()} threads) · "
            f"transformers {transformers.__version__} · Python {platform.python_version()} · "
            f"load average at start {os.getloadavg()[0]:.1f} (the machine is shared)")


def pct(values: list[float], q: float) -> str:
    if not values:
        return "n/a"
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]:.2f}"


def table(results: list[Result], baseline: float) -> str:
    lines = ["| engine | clients | requests | tokens | wall s | tokens/s | × sequential | TTFT p50 / p95 s | "
             "latency p50 / p95 s |", "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r.engine} | {r.clients} | {r.requests} | {r.tokens} | {r.wall_s:.1f} | "
                     f"{r.tokens_per_s:.1f} | {r.tokens_per_s / baseline:.2f} | {pct(r.ttft, .5)} / {pct(r.ttft, .95)} "
                     f"| {pct(r.latency, .5)} / {pct(r.latency, .95)} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny-random")
    parser.add_argument("--requests", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved repetitions; the table keeps the median")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads for every engine alike (on a busy 2-core machine 1 is fastest)")
    parser.add_argument("--skip-transformers-serve", action="store_true")
    args = parser.parse_args()
    requests = prompts(args.requests)
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads)}
    import torch

    torch.set_num_threads(args.threads)
    print(f"machine: {machine()}")
    print(f"model {args.model}, {args.requests} requests, ≤ {args.max_tokens} new tokens each, greedy, streamed; "
          f"{args.threads} torch thread(s) per engine; median (lower middle) of {args.rounds} interleaved rounds")
    runs: dict[tuple[str, int], list[Result]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        servers = start_servers(args, env, Path(tmp))
        try:
            for round_ in range(args.rounds):
                runs.setdefault(("sequential generate()", 1), []).append(sequential(args.model, requests,
                                                                                  args.max_tokens))
                for clients in args.clients:
                    for name, url, model, _ in servers:
                        result = measure(url, model, name, clients, requests, args.max_tokens)
                        runs.setdefault((name, clients), []).append(result)
                print(f"round {round_ + 1} done at {time.strftime('%H:%M:%S')}", flush=True)
        finally:
            for *_, process in servers:
                stop(process)
    results = [median(r) for r in runs.values()]
    results.sort(key=lambda r: (r.engine != "sequential generate()", r.engine, r.clients))
    print()
    print(table(results, results[0].tokens_per_s))
    return 0


def median(results: list[Result]) -> Result:
    return sorted(results, key=lambda r: r.tokens_per_s)[(len(results) - 1) // 2]


def transformers_commands(args, tmp: Path) -> list[tuple[str, list[str], str, str]]:
    if args.skip_transformers_serve:
        return []
    cli = shutil.which("transformers") or str(Path(sys.executable).parent / "transformers")
    if not Path(cli).exists():
        print("transformers serve: skipped (no `transformers` CLI next to this Python)")
        return []
    directory = save_for_transformers(args.model, tmp / "hf-model")
    commands = []
    for flag, name in (("--no-continuous-batching", "transformers serve"),
                       ("--continuous-batching", "transformers serve --continuous-batching")):
        port = free_port()
        commands.append((name, [cli, "serve", str(directory), "--port", str(port), "--device", "cpu", flag],
                         f"http://127.0.0.1:{port}", str(directory)))
    return commands


if __name__ == "__main__":
    sys.exit(main())
