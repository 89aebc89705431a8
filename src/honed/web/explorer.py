"""A prepared dataset, page by page: splits, per-label counts, dropped rows with reasons, PII counts, search.

Only PII *counts* from audit.json are shown; prepared rows already carry placeholders where PII was redacted.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from honed.core.prepared import PreparedData, read_jsonl
from honed.core.store import Store

PAGE = 20


def datasets(store: Store) -> list[dict]:
    rows = store.db.execute("SELECT hash, name, path, rows FROM datasets ORDER BY created DESC").fetchall()
    return [dict(r) for r in rows if r["path"] and (Path(r["path"]) / "dataset.json").is_file()]


def dataset_path(store: Store, hash_: str) -> Path | None:
    row = store.dataset(hash_)
    return Path(row["path"]) if row and row["path"] else None


def explore(directory: Path, split: str = "train", page: int = 1, query: str = "") -> dict:
    data = PreparedData.load(directory)
    audit = _audit(directory)
    rows = data.splits.get(split, []) if split != "dropped" else _dropped(directory)
    if query:
        needle = query.lower()
        rows = [r for r in rows if needle in json.dumps(r, ensure_ascii=False).lower()]
    pages = max(1, -(-len(rows) // PAGE))
    page = min(max(1, page), pages)
    shown = rows[(page - 1) * PAGE: page * PAGE]
    return {"hash": data.dataset_hash, "splits": {n: len(v) for n, v in data.splits.items()},
            "split": split, "page": page, "pages": pages, "matches": len(rows), "query": query,
            "rows": [_display(r) for r in shown], "labels": _labels(data),
            "drops": audit.get("drops_by_reason") or dict(Counter(d.get("code") for d in _dropped(directory))),
            "pii": audit.get("pii") or {}, "dropped": data.counts.get("dropped", 0)}


def _audit(directory: Path) -> dict:
    path = directory / "audit.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _dropped(directory: Path) -> list[dict]:
    path = directory / "dropped.jsonl"
    return read_jsonl(path) if path.is_file() else []


def _labels(data: PreparedData) -> dict[str, dict[str, int]]:
    return {split: dict(Counter(r.get("label") for r in rows if r.get("label") is not None).most_common())
            for split, rows in data.splits.items()}


def _display(row: dict) -> dict:
    """A row as the page shows it: the reason first for a dropped row, the messages otherwise."""
    if "code" in row and "row" in row:
        return {"reason": f"{row.get('code')}: {row.get('detail', '')}", "step": row.get("step"),
                "text": json.dumps(row.get("row"), ensure_ascii=False)[:2000]}
    messages = row.get("messages")
    if isinstance(messages, list):
        text = "\n".join(f"{m.get('role')}: {m.get('content') or ''}" for m in messages)
    else:
        text = json.dumps({k: v for k, v in row.items() if k != "meta"}, ensure_ascii=False)
    return {"text": text[:2000], "label": row.get("label")}
