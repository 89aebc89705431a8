"""Near-duplicates: pairs at or above the threshold collapse, pairs below survive, every run the same."""
from __future__ import annotations

import json

import pytest

from honed.cli import main
from honed.data.dedup import find_duplicates, find_overlap, jaccard, shingles

# (shared shingles, extra words): a text of s+4 distinct words has s shingles; appending k new words adds k
# shingles, so the pair's Jaccard is s / (s + k) exactly.
PAIRS = {0.95: (95, 5), 0.85: (85, 15), 0.80: (80, 20), 0.75: (75, 25), 0.5: (50, 50)}


def pair(tag: str, shared: int, extra: int) -> tuple[str, str]:
    base = [f"{tag}w{i}" for i in range(shared + 4)]
    return " ".join(base), " ".join(base + [f"{tag}x{i}" for i in range(extra)])


def all_pairs() -> list[str]:
    texts = []
    for n, (s, k) in enumerate(PAIRS.values()):
        texts += pair(f"p{n}", s, k)
    return texts


def test_constructed_pairs_have_the_designed_jaccard():
    for target, (s, k) in PAIRS.items():
        a, b = pair("t", s, k)
        assert jaccard(shingles(a), shingles(b)) == pytest.approx(target, abs=1e-12)


@pytest.mark.parametrize("threshold,collapsed", [(0.8, {1, 3, 5}), (0.9, {1}), (0.5, {1, 3, 5, 7, 9})])
def test_pairs_at_or_above_threshold_collapse(threshold, collapsed):
    texts = all_pairs()  # indices 2n, 2n+1 form pair n: 0.95, 0.85, 0.80, 0.75, 0.5
    result = find_duplicates(texts, threshold=threshold)
    assert {d.index for d in result.duplicates} == collapsed
    assert all(d.of == d.index - 1 and d.kind == "near" for d in result.duplicates)
    assert result.kept == [i for i in range(10) if i not in collapsed]


def test_exact_duplicates_after_case_and_whitespace():
    texts = ["Hello   World, how are you?", "hello world, HOW are you?", "hello world how are you"]
    result = find_duplicates(texts, near=False)
    assert [(d.index, d.of, d.kind) for d in result.duplicates] == [(1, 0, "exact")]
    assert result.kept == [0, 2]  # punctuation differs: not exact, though word shingles are equal
    assert find_duplicates(texts).kept == [0]


def test_chain_keeps_rows_below_threshold_and_groups_them():
    # B is within 0.8 of A and of C, but A and C are only 0.7 apart: B goes, A and C both stay, in one group.
    words = [f"c{i}" for i in range(40)]
    a = " ".join(words[:34])          # 30 shingles
    b = " ".join(words[:37])          # 33 shingles, shares 30 with a: 30/33 = 0.909
    c = " ".join(words[:40])          # 36 shingles: with b 33/36 = 0.917; with a 30/36 = 0.833
    c = " ".join(words[:40] + ["z1", "z2", "z3", "z4", "z5", "z6"])  # 42: with b 33/42 = 0.786, a 30/42 = 0.714
    result = find_duplicates([a, b, c], threshold=0.78, group_threshold=0.5)
    assert [d.index for d in result.duplicates] == [1]
    assert result.kept == [0, 2]
    assert result.groups == {0: 0, 2: 0}


def test_deterministic_under_seed():
    import random

    rng = random.Random(1)
    vocab = [f"v{i}" for i in range(400)]
    texts = [" ".join(rng.choice(vocab) for _ in range(20)) for _ in range(300)]
    texts += [t + " tail" for t in texts[:40]]
    runs = [find_duplicates(texts, 0.8, group_threshold=0.5, seed=7) for _ in range(2)]
    assert runs[0].kept == runs[1].kept and runs[0].duplicates == runs[1].duplicates
    assert {d.index for d in runs[0].duplicates} == set(range(300, 340))  # 17 vs 16 shingles: 16/17 = 0.94


def test_overlap_finds_contaminated_rows():
    texts = all_pairs()
    found = find_overlap(texts[1::2], texts[0::2], threshold=0.8)
    assert {i: round(s, 2) for i, (_, s) in found.items()} == {0: 0.95, 1: 0.85, 2: 0.8}


def test_dedup_cli(tmp_path, capsys):
    texts = all_pairs()
    rows = [{"text": t, "id": n} for n, t in enumerate(texts)]  # raw-text rows: compared on exactly `t`
    rows.append(rows[0])  # an exact copy, line 11
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows) + "not json\n")
    out = tmp_path / "out.jsonl"
    assert main(["data", "dedup", str(src), "-o", str(out), "--threshold", "0.8"]) == 0
    kept = [json.loads(x) for x in out.read_text().splitlines()]
    assert kept == [rows[i] for i in (0, 2, 4, 6, 7, 8, 9)]
    removed = [json.loads(x) for x in (tmp_path / "out.removed.jsonl").read_text().splitlines()]
    assert sorted((r["line"], r["reason"].split(":")[0]) for r in removed) == [
        (2, "near_duplicate"), (4, "near_duplicate"), (6, "near_duplicate"), (11, "exact_duplicate"),
        (12, "not_json")]
    assert len(kept) + len(removed) == 12  # nothing vanishes
