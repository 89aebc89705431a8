"""Find what a run directory holds: the trained weights, the base model reference, its meta and report."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from honed.core.errors import HonedError


@dataclass
class TrainedRun:
    """A run directory written by `honed train` (or the `run/` inside a `honed run` output)."""

    path: Path
    adapter_dir: Path
    base: str
    meta: dict = field(default_factory=dict)
    report: dict | None = None

    @property
    def is_full_model(self) -> bool:
        """A full fine-tune saves a whole model (config.json) instead of a PEFT adapter."""
        return not (self.adapter_dir / "adapter_config.json").is_file() and (self.adapter_dir / "config.json").is_file()


def find_run(reference: str | Path) -> TrainedRun:
    """Resolve RUN: a run directory, or a `honed run` output directory whose run sits in `run/`."""
    path = Path(reference).expanduser()
    if not path.is_dir():
        raise HonedError(f"run directory `{reference}` does not exist",
                         "pass a directory written by `honed train` (or the output directory of `honed run`)")
    if not (path / "adapter").is_dir() and (path / "run" / "adapter").is_dir():
        path = path / "run"
    adapter = path / "adapter"
    if not ((adapter / "adapter_config.json").is_file() or (adapter / "config.json").is_file()):
        raise HonedError(f"`{path}` holds no trained model (expected {adapter}/adapter_config.json or a full "
                         "model's config.json)", "train first with `honed train CONFIG -o DIR`, then export DIR")
    return TrainedRun(path, adapter, _base_reference(path), _read_json(path / "meta.json") or {}, _find_report(path))


def _base_reference(path: Path) -> str:
    import yaml

    config = path / "config.yaml"
    if not config.is_file():
        raise HonedError(f"`{path}` has no config.yaml, so its base model is unknown",
                         "export a run directory written by `honed train`, which records its config")
    base = ((yaml.safe_load(config.read_text(encoding="utf-8")) or {}).get("model") or {}).get("base")
    if not base:
        raise HonedError(f"`{config}` names no `model.base`", "add `model: {base: ...}` to the run's config.yaml")
    return str(base)


def _find_report(path: Path) -> dict | None:
    """`honed eval` writes RUN/eval/report.json; `honed run` writes OUTPUT/report.json beside run/."""
    for candidate in (path / "eval" / "report.json", path.parent / "report.json"):
        report = _read_json(candidate)
        if report is not None:
            return report
    return None


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
