"""`honed data prepare CONFIG`: files in → validated canonical records → curated, leak-free splits out.

A pipeline is a list of steps over the records; a step returns the records it keeps and the ones it drops, each
drop with a reason, and every drop lands in `dropped.jsonl`. Nothing vanishes.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from honed.config import Config
from honed.data.formats import RowError, iter_rows, to_record
from honed.data.split import split_records
from honed.errors import HonedError

SPLITS = ("train", "validation", "test")
MIN_ROWS = 10


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


def load_records(cfg: Config) -> tuple[list[dict], list[dict]]:
    """Read every configured training file; return (records, dropped rows with reasons)."""
    if not cfg.data.train:
        raise HonedError("no training data configured", "set `data.train` in honed.yaml to one or more files")
    records, dropped = [], []
    for name in cfg.data.train:
        path = cfg.resolve(name)
        for line, row in iter_rows(path):
            try:
                record = to_record(row, cfg.data.format, instruction=cfg.data.instruction,
                                   text_column=cfg.data.text_column, label_column=cfg.data.label_column)
            except RowError as exc:
                dropped.append(_drop(row, f"{exc.code}: {exc}", "read", path, line))
                continue
            record["meta"] = {"source": str(path), "line": line}
            records.append(record)
    return records, dropped


def check_labels(records: list[dict], labels: list[str]) -> tuple[list[dict], list[dict]]:
    """Drop rows whose label is outside the configured label set (when one is configured)."""
    if not labels:
        return records, []
    allowed = set(labels)
    kept = [r for r in records if "label" not in r or r["label"] in allowed]
    dropped = [_drop(r, f"label_not_in_set: {r['label']!r} is not one of the configured labels", "labels")
               for r in records if "label" in r and r["label"] not in allowed]
    return kept, dropped


def drop_exact_duplicates(records: list[dict]) -> tuple[list[dict], list[dict]]:
    """Keep the first of rows whose content is equal after case and whitespace normalisation."""
    seen: dict[str, int] = {}
    kept, dropped = [], []
    for record in records:
        key = _normalised_key(record)
        if key in seen:
            dropped.append(_drop(record, f"exact_duplicate: same content as line {seen[key]}", "dedup"))
            continue
        seen[key] = record["meta"]["line"]
        kept.append(record)
    return kept, dropped


def run_prepare(cfg: Config, out_dir: Path) -> PreparedData:
    """Read → label check → exact dedup → split → write. Returns the prepared splits and their hash."""
    records, dropped = load_records(cfg)
    counts = {"read": len(records) + len(dropped)}
    for name, step in (("labels", lambda r: check_labels(r, cfg.objective.labels)),
                       ("dedup", drop_exact_duplicates)):
        records, lost = step(records)
        dropped += lost
        counts[name] = len(records)
    if len(records) < MIN_ROWS:
        raise HonedError(f"only {len(records)} usable rows remain (need at least {MIN_ROWS})",
                         "add data, or look at the reasons in dropped rows with `honed data check FILE`",
                         details=sorted({d['reason'].split(':')[0] for d in dropped})[:5])
    split = cfg.data.split
    splits = split_records(records, {"train": split.train, "validation": split.validation, "test": split.test},
                           seed=split.seed)
    labels = cfg.objective.labels or sorted({r["label"] for r in records if "label" in r})
    return write_prepared(out_dir, splits, dropped, counts, labels)


def write_prepared(out_dir: Path, splits: dict[str, list[dict]], dropped: list[dict], counts: dict[str, int],
                   labels: list[str]) -> PreparedData:
    out_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    for name in SPLITS:
        text = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in splits.get(name, []))
        (out_dir / f"{name}.jsonl").write_text(text, encoding="utf-8")
        digest.update(name.encode() + b"\0" + text.encode())
    (out_dir / "dropped.jsonl").write_text(
        "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in dropped), encoding="utf-8")
    dataset_hash = digest.hexdigest()[:16]
    counts = {**counts, **{f"split_{n}": len(splits.get(n, [])) for n in SPLITS}, "dropped": len(dropped)}
    (out_dir / "dataset.json").write_text(json.dumps({"hash": dataset_hash, "counts": counts, "labels": labels},
                                                     indent=2), encoding="utf-8")
    return PreparedData(out_dir, dataset_hash, splits, dropped, counts, labels)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def _normalised_key(record: dict) -> str:
    if "messages" in record:
        body = "\n".join(f"{m['role']}:{m['content']}" for m in record["messages"])
    else:
        body = json.dumps({k: v for k, v in record.items() if k != "meta"}, sort_keys=True)
    return " ".join(body.lower().split())


def _drop(row: object, reason: str, step: str, path: Path | None = None, line: int | None = None) -> dict:
    if isinstance(row, dict) and "meta" in row:
        path, line = row["meta"].get("source"), row["meta"].get("line")
        row = {k: v for k, v in row.items() if k != "meta"}
    if isinstance(row, RowError):
        row = row.raw
    return {"source": str(path) if path else None, "line": line, "step": step, "reason": reason, "row": row}
