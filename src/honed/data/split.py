"""Seeded, label-stratified, group-aware splits.

Rows that share a `group` (for example near-duplicates found by dedup) always land in the same split, so a
paraphrase of a test example can never leak into training.
"""
from __future__ import annotations

import random
from collections import defaultdict


def split_records(records: list[dict], fractions: dict[str, float], seed: int) -> dict[str, list[dict]]:
    """Split into named parts (e.g. train/validation/test) with the given fractions.

    Stratified by `label` when records carry one; whole groups (`meta.group`) move together.
    """
    groups: dict[object, list[dict]] = defaultdict(list)
    for index, record in enumerate(records):
        groups[record.get("meta", {}).get("group", ("row", index))].append(record)
    strata: dict[str, list[list[dict]]] = defaultdict(list)
    for members in groups.values():
        strata[str(members[0].get("label", ""))].append(members)
    rng = random.Random(seed)
    parts: dict[str, list[dict]] = {name: [] for name in fractions}
    for label in sorted(strata):
        bucket = strata[label]
        rng.shuffle(bucket)
        for name, chunk in _cut(bucket, fractions).items():
            parts[name].extend(r for group in chunk for r in group)
    for name in parts:
        rng.shuffle(parts[name])
    return parts


def _cut(groups: list[list[dict]], fractions: dict[str, float]) -> dict[str, list[list[dict]]]:
    """Deal groups into parts so each part's row count tracks its fraction (largest deficit first)."""
    total = sum(len(g) for g in groups)
    names = list(fractions)
    filled = {name: 0 for name in names}
    out: dict[str, list[list[dict]]] = {name: [] for name in names}
    for group in groups:
        # The part furthest below its target share takes the next group; ties go to the earlier name.
        name = max(names, key=lambda n: (fractions[n] * total - filled[n]) / max(fractions[n], 1e-9) if fractions[n] else -1e18)
        out[name].append(group)
        filled[name] += len(group)
    return out


def subsample(records: list[dict], limit: int | None, seed: int) -> list[dict]:
    """`limit` rows drawn without replacement (seeded), or all of them."""
    if limit is None or limit >= len(records):
        return records
    return random.Random(seed).sample(records, limit)
