"""A prepared dataset on disk: `train/validation/test.jsonl`, `dropped.jsonl` and `dataset.json` (hash, counts,
labels). `honed data prepare` saves one; training and evaluation load it — one way in, one way out."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from honed.core.errors import HonedError
from honed.core.io import atomic_write_text, atomic_writer

SPLITS = ("train", "validation", "test")


@dataclass
class PreparedData:
    directory: Path
    dataset_hash: str
    splits: dict[str, list[dict]]
    dropped: list[dict] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)

    def path(self, split: str) -> Path:
        return self.directory / f"{split}.jsonl"

    @classmethod
    def load(cls, directory: Path) -> "PreparedData":
        """Read a prepared dataset back (dropped rows stay on disk: nobody downstream needs them in memory)."""
        directory = Path(directory)
        info_file = directory / "dataset.json"
        if not info_file.is_file():
            raise HonedError(f"`{directory}` holds no prepared dataset (no dataset.json)",
                             "run `honed data prepare CONFIG -o DIR` first, or pass the directory it wrote")
        info = json.loads(info_file.read_text(encoding="utf-8"))
        splits = {s: read_jsonl(directory / f"{s}.jsonl") for s in SPLITS if (directory / f"{s}.jsonl").is_file()}
        return cls(directory, info["hash"], splits, counts=info["counts"], labels=info["labels"])

    @classmethod
    def save(cls, directory: Path, splits: dict[str, list[dict]], dropped: list[dict], counts: dict[str, int],
             labels: list[str]) -> "PreparedData":
        """Write the split files, dropped.jsonl and dataset.json; the hash covers content only (not provenance)."""
        directory.mkdir(parents=True, exist_ok=True)
        for name in SPLITS:
            write_jsonl(directory / f"{name}.jsonl", splits.get(name, []), sort_keys=True)
        write_jsonl(directory / "dropped.jsonl", dropped)
        dataset_hash = content_hash(splits)
        counts = {**counts, **{f"split_{n}": len(splits.get(n, [])) for n in SPLITS}, "dropped": len(dropped)}
        atomic_write_text(directory / "dataset.json",
                          json.dumps({"hash": dataset_hash, "counts": counts, "labels": labels}, indent=2))
        return cls(directory, dataset_hash, splits, dropped, counts, labels)


def content_hash(splits: dict[str, list[dict]]) -> str:
    """16 hex digits over every split's rows without their `meta` (where a row came from is not its content)."""
    digest = hashlib.sha256()
    for name in SPLITS:
        digest.update(name.encode() + b"\0")
        for r in splits.get(name, []):
            digest.update(json.dumps({k: v for k, v in r.items() if k != "meta"}, sort_keys=True).encode() + b"\n")
    return digest.hexdigest()[:16]


def find_prepared(run_dir: Path) -> Path:
    """The prepared data of a run: inside it (`honed train`) or beside it (`honed run` writes OUT/data, OUT/run)."""
    for candidate in (run_dir / "data", run_dir.parent / "data"):
        if (candidate / "dataset.json").is_file():
            return candidate
    raise HonedError(f"`{run_dir}` has no prepared data (data/dataset.json) inside or beside it",
                     "pass a run directory written by `honed train` or `honed run`")


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def write_jsonl(path: Path, rows: list[dict], sort_keys: bool = False) -> None:
    with atomic_writer(path) as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False, sort_keys=sort_keys) + "\n")
