"""Self-describing run directories.

Every run writes: `config.yaml` (the resolved config), `meta.json` (package versions, git commit, dataset hash,
seed, device, timings) and `metrics.jsonl` (one JSON object per logged step). The same metrics go to the store.
"""
from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from honed.core.config import redact_urls
from honed.core.errors import HonedError
from honed.core.io import atomic_write_text
from honed.core.store import Store

TRACKED_PACKAGES = ("honed", "torch", "transformers", "peft", "trl", "accelerate", "datasets", "gguf", "datasketch")


def package_versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in TRACKED_PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def git_commit(cwd: Path) -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def new_run_id(kind: str) -> str:
    return f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"


@dataclass
class RunDir:
    """A run's directory plus its store row; `log` appends metrics to both.

    Only the main process writes (metrics, meta, store): under `accelerate launch` the other ranks hold a RunDir
    whose writes do nothing. The store connection is opened on first use and closed by `finish` or `close`.
    """

    path: Path
    run_id: str
    meta: dict = field(default_factory=dict)
    is_main: bool = True
    _store: Store | None = field(default=None, repr=False)

    @classmethod
    def create(cls, path: Path, kind: str, config, dataset_hash: str | None = None) -> "RunDir":
        if not is_main_process():
            return cls(path, f"rank-{process_rank()}", is_main=False)
        path.mkdir(parents=True, exist_ok=True)
        run_id = new_run_id(kind)
        atomic_write_text(path / "config.yaml", config.to_yaml())
        meta = {
            "run_id": run_id, "kind": kind, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "versions": package_versions(), "git_commit": git_commit(config.root), "dataset_hash": dataset_hash,
            "seed": config.train.seed, "device": _device(), "command": [redact_urls(a) for a in sys.argv], "world_size": world_size(),
        }
        run = cls(path, run_id, meta)
        run.store.start_run(run_id, kind, config.project, str(path.resolve()), config.model_dump(mode="json"),
                            dataset_hash)
        run.write_meta()
        (path / "metrics.jsonl").touch()
        return run

    @classmethod
    def open(cls, path: Path) -> "RunDir":
        """An existing run directory (to resume or evaluate it)."""
        meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
        if not is_main_process():
            return cls(path, meta["run_id"], meta, is_main=False)
        return cls(path, meta["run_id"], meta)

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store()
        return self._store

    def write_meta(self) -> None:
        if self.is_main:
            atomic_write_text(self.path / "meta.json", json.dumps(self.meta, indent=2))

    def log(self, step: int, **values: float) -> None:
        if not self.is_main:
            return
        with (self.path / "metrics.jsonl").open("a", encoding="utf-8") as f:
            f.write(json.dumps({"step": step, "time": round(time.time(), 3), **values}) + "\n")
        self.store.log_metrics(self.run_id, step, values)

    def finish(self, status: str = "finished", **extra) -> None:
        if not self.is_main:
            return
        self.meta.update(extra, status=status)
        self.write_meta()
        self.store.finish_run(self.run_id, status)
        self.close()

    @contextmanager
    def failure_status(self):
        """A run that stops early never stays `running`: Ctrl-C → interrupted, an exception → failed (reason kept)."""
        try:
            yield self
        except (KeyboardInterrupt, SystemExit) as exc:
            self.finish("interrupted", reason=f"interrupted ({type(exc).__name__})")
            raise
        except BaseException as exc:
            self.finish("failed", reason=f"{type(exc).__name__}: {exc}"[:500])
            raise

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


def claim_output(path: Path, overwrite: bool = False) -> None:
    """A run directory belongs to one run: refuse a non-empty one, or (asked for) empty it first."""
    if not is_main_process() or not path.exists() or not any(path.iterdir()):
        return
    if not overwrite:
        raise HonedError(f"`{path}` already holds files (an earlier run's metrics, checkpoints or report)",
                         "choose another `--output`, or pass `--overwrite` to delete its contents first")
    from honed.core.progress import console

    console.print(f"[yellow]--overwrite: deleting the contents of {path}[/]")
    shutil.rmtree(path)


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def process_rank() -> int:
    return int(os.environ.get("RANK", "0"))


def is_main_process() -> bool:
    """Asked of accelerate's state under a distributed launch; a lone process is always the main one."""
    if world_size() <= 1:
        return True
    from accelerate import PartialState

    return PartialState().is_main_process


def read_metrics(path: Path) -> list[dict]:
    file = path / "metrics.jsonl"
    if not file.is_file():
        return []
    return [json.loads(line) for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]


def _device() -> str:
    try:
        import torch
    except ImportError:
        return "cpu"
    if torch.cuda.is_available():
        return f"cuda ({torch.cuda.get_device_name(0)})"
    from honed.core.threads import decision

    return f"cpu ({decision() or f'{torch.get_num_threads()} threads'})"
