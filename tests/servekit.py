"""Helpers for serve tests: a live `honed serve` subprocess on a free loopback port, and tiny LoRA run dirs."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

SRC = Path(__file__).resolve().parents[1] / "src"
API_KEY = "test-key-not-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def live_server(models: list[str], db: Path, *extra: str, env: dict | None = None, timeout: float = 120):
    """Start `python -m honed serve MODELS…` and yield (base url, process); SIGTERM and wait afterwards."""
    port = free_port()
    command = [sys.executable, "-m", "honed", "serve", *models, "--port", str(port), "--db", str(db), *extra]
    environment = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
                   "OMP_NUM_THREADS": "1", **(env or {})}
    process = subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, timeout)
        yield url, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_healthy(url: str, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{process.stdout.read()}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"server at {url} did not become healthy in {timeout} s")


def make_adapter_run(run_dir: Path, seed: int, base: str = "tiny-random") -> Path:
    """A run directory (adapter/ + config.yaml + meta.json) holding a LoRA adapter with random non-zero lora_B."""
    import torch
    from peft import LoraConfig, get_peft_model

    from honed.models.load import load_model

    model, _ = load_model(base, seed=0)
    peft_model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "o_proj"]))
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if "lora_B" in name:  # PEFT starts B at zero (a no-op adapter); make each adapter really differ
                param.copy_(torch.randn(param.shape, generator=generator) * 2.0)
    run_dir.mkdir(parents=True, exist_ok=True)
    peft_model.save_pretrained(run_dir / "adapter")
    (run_dir / "config.yaml").write_text(f"model:\n  base: {base}\ntrain:\n  seed: 0\n", encoding="utf-8")
    (run_dir / "meta.json").write_text(f'{{"run_id": "train-test-{seed}"}}', encoding="utf-8")
    return run_dir
