"""A real MLflow tracking server on loopback for the tracking tests.

The server runs from its own virtualenv (`make mlflow-server`: `pip install mlflow`), because the full `mlflow`
package pins a pyarrow the main environment cannot take; honed itself talks to it with `mlflow-skinny`. The
binary is $HONED_MLFLOW_SERVER, else `.venv-mlflow/bin/mlflow` in the repository; without one the tests skip and
say how to get it.
"""
from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from projectkit import ROOT

SERVER_ENV = "HONED_MLFLOW_SERVER"
STARTUP_TIMEOUT_S = 120  # measured ~15 s on the shared 2-core machine; the rest is headroom for load
QUIET = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
# The server's job runner starts a process pool of its own (seven huey consumers): nothing here needs it.
SERVER_ENV_EXTRA = {**QUIET, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}


def server_binary() -> Path:
    configured = os.environ.get(SERVER_ENV)
    binary = Path(configured) if configured else ROOT / ".venv-mlflow" / "bin" / "mlflow"
    if not binary.is_file():
        pytest.skip(f"no MLflow server at {binary}: run `make mlflow-server` (a virtualenv with `pip install "
                    f"mlflow`), or set {SERVER_ENV}=/path/to/bin/mlflow of a full mlflow install")
    return binary


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(directory: Path) -> tuple[str, subprocess.Popen]:
    """`mlflow server` on 127.0.0.1 with a SQLite backend and served artifacts under `directory`; waits for
    /health. Skips (with the server's last log lines) when it does not come up."""
    port, log = free_port(), directory / "server.log"
    command = [str(server_binary()), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
               "--backend-store-uri", f"sqlite:///{directory / 'mlflow.db'}",
               "--artifacts-destination", str(directory / "artifacts"), "--serve-artifacts"]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                   env={**os.environ, **SERVER_ENV_EXTRA}, start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(uri + "/health", timeout=2) as response:
                if response.status == 200:
                    return uri, process
        except OSError:
            time.sleep(0.5)
    stop_server(process)
    tail = log.read_text(errors="replace").strip().splitlines()[-5:]
    pytest.skip(f"`mlflow server` did not come up within {STARTUP_TIMEOUT_S} s: {' | '.join(tail)}")


def stop_server(process: subprocess.Popen) -> None:
    """The server and every process it started (its own process group): TERM, then KILL what is left."""
    import signal

    for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue


def server_files(directory: Path) -> str:
    """Everything the server stored (database and artifacts), as one text, to look for what must not be there."""
    return "\n".join(p.read_bytes().decode("utf-8", errors="replace") for p in sorted(directory.rglob("*"))
                     if p.is_file() and p.name != "server.log")
