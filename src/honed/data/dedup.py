"""Exact and near-duplicate detection: MinHash LSH proposes, exact Jaccard decides.

1. Exact: texts equal after lower-casing and collapsing whitespace; the first occurrence is kept.
2. Near: word 5-gram shingles (`\\w+` tokens, lower-cased). Every text gets a MinHash signature (datasketch,
   seeded) and goes into a MinHashLSH index tuned below the threshold, so it proposes more pairs than needed;
   each proposed pair is then verified by the exact Jaccard of the two shingle sets. LSH only finds candidates,
   the decision is exact, so a pair below the threshold always survives.
3. Greedy collapse in input order: a row is dropped when it is at or above `threshold` with a row that is kept
   (so of every such pair at most one stays, and pairs below it survive).
4. Groups: rows linked by verified pairs at or above `group_threshold` (dropped rows included, so two survivors
   that both resemble a dropped row are linked) form groups that splitting keeps together.
Everything is deterministic for a given seed: rows are visited in order and candidates are sorted.
"""
from __future__ import annotations

import hashlib
import re
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from honed.core.config import DEFAULT_SEED

SHINGLE = 5
_WORD = re.compile(r"\w+")


def normalise(text: str) -> str:
    return " ".join(text.lower().split())


def shingles(text: str, n: int = SHINGLE) -> set[str]:
    """Word n-grams of the lower-cased `\\w+` tokens; a text shorter than n words is one shingle."""
    words = _WORD.findall(text.lower())
    if len(words) <= n:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i:i + n]) for i in range(len(words) - n + 1)}


def jaccard(a: set, b: set) -> float:
    if not a and not b:
        return 1.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


@dataclass
class Duplicate:
    index: int        # the dropped row
    of: int           # the kept row it duplicates
    kind: str         # "exact" or "near"
    similarity: float  # word-5-gram Jaccard (1.0 for exact)


@dataclass
class DedupResult:
    kept: list[int]
    duplicates: list[Duplicate]
    groups: dict[int, int] = field(default_factory=dict)  # row → group id (its smallest row), multi-row groups only
    candidate_pairs: int = 0   # pairs LSH proposed
    verified_pairs: int = 0    # of those, pairs at or above min(threshold, group_threshold)

    @property
    def exact(self) -> int:
        return sum(d.kind == "exact" for d in self.duplicates)

    @property
    def near(self) -> int:
        return sum(d.kind == "near" for d in self.duplicates)


def find_duplicates(texts: list[str], threshold: float = 0.8, near: bool = True, group_threshold: float | None = None,
                    num_perm: int = 128, seed: int = DEFAULT_SEED, progress=None) -> DedupResult:
    """Which rows to keep; see the module docstring. `progress(n)` is called as rows are processed."""
    first: dict[bytes, int] = {}
    duplicates: list[Duplicate] = []
    unique: list[int] = []
    for index, text in enumerate(texts):
        digest = hashlib.blake2b(normalise(text).encode(), digest_size=16).digest()
        if digest in first:
            duplicates.append(Duplicate(index, first[digest], "exact", 1.0))
        else:
            first[digest] = index
            unique.append(index)
    if not near:
        return DedupResult(unique, duplicates)
    link = min(threshold, group_threshold or threshold)
    pairs = candidate_pairs(texts, unique, link, num_perm, seed, progress)
    return resolve_near(unique, duplicates, pairs, _jaccard_of(texts), threshold, group_threshold)


def resolve_near(unique: list[int], duplicates: list[Duplicate], pairs: list[tuple[int, int]], score,
                 threshold: float, group_threshold: float | None, candidates: int | None = None) -> DedupResult:
    """The decisions from verified pairs: greedy collapse in row order, then groups. `score(a, b)` is the exact
    Jaccard of a pair (any pair below min(threshold, group_threshold) may score 0: it decides nothing). Shared by
    the local engine and the Ray engine, which verifies its pairs on the cluster."""
    link = min(threshold, group_threshold or threshold)
    dropped, edges = _collapse(unique, pairs, score, threshold, link)
    duplicates = duplicates + dropped
    gone = {d.index for d in dropped}
    kept = [i for i in unique if i not in gone]
    groups = _components(edges) if group_threshold else {}
    kept_set = set(kept)
    groups = {i: g for i, g in groups.items() if i in kept_set}
    sizes = Counter(groups.values())
    return DedupResult(kept, sorted(duplicates, key=lambda d: d.index),
                       {i: g for i, g in groups.items() if sizes[g] > 1},
                       len(pairs) if candidates is None else candidates, len(edges))


def candidate_pairs(texts: list[str], indices: list[int], threshold: float, num_perm: int = 128, seed: int = DEFAULT_SEED,
                    progress=None) -> list[tuple[int, int]]:
    """Sorted (earlier, later) row pairs whose MinHash signatures agree on at least one LSH band."""
    rows, matrix = signature_matrix(texts, indices, num_perm, seed, progress)
    return band_pairs(rows, matrix, threshold, num_perm)


def signature_matrix(texts: list[str], indices: list[int], num_perm: int = 128, seed: int = DEFAULT_SEED, progress=None):
    """(row indices, n × num_perm array): datasketch MinHash signatures of the non-empty texts, one seeded family."""
    import numpy as np
    from datasketch import MinHash

    template = MinHash(num_perm=num_perm, seed=seed, hashfunc=_hash32)
    rows, signatures = [], []
    for count, index in enumerate(indices, start=1):
        grams = shingles(texts[index])
        if grams:
            signature = MinHash(num_perm=num_perm, seed=seed, hashfunc=_hash32, permutations=template.permutations,
                                scheme=template.scheme)
            signature.update_batch(grams)
            rows.append(index)
            signatures.append(signature.hashvalues)
        if progress and count % 5000 == 0:
            progress(5000)
    matrix = np.stack(signatures) if signatures else np.zeros((0, num_perm), dtype=template.hashvalues.dtype)
    return rows, matrix


def band_pairs(rows: list[int], matrix, threshold: float, num_perm: int = 128) -> list[tuple[int, int]]:
    """LSH banding with datasketch's MinHashLSH parameters (b bands of r rows, chosen for `threshold` with false
    negatives weighted 4× false positives), bucketed with numpy instead of one Python insert per band per row."""
    import numpy as np
    from datasketch import MinHashLSH

    index = MinHashLSH(threshold=_lsh_threshold(threshold), num_perm=num_perm, weights=(0.2, 0.8))
    ids = np.asarray(rows, dtype=np.int64)
    pairs: set[tuple[int, int]] = set()
    if len(rows) < 2:
        return []
    for band in range(index.b):
        block = np.ascontiguousarray(matrix[:, band * index.r:(band + 1) * index.r])
        keys = block.view(np.dtype((np.void, block.dtype.itemsize * index.r))).ravel()
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        same = sorted_keys[1:] == sorted_keys[:-1]
        if not same.any():
            continue
        starts = np.flatnonzero(np.concatenate(([True], ~same)))
        sizes = np.diff(np.append(starts, len(keys)))
        for start, size in zip(starts[sizes > 1], sizes[sizes > 1]):
            members = sorted(ids[order[start:start + size]].tolist())
            pairs.update((a, b) for n, a in enumerate(members) for b in members[n + 1:])
    return sorted(pairs)


def find_overlap(texts: list[str], references: list[str], threshold: float = 0.8, num_perm: int = 128,
                 seed: int = DEFAULT_SEED) -> dict[int, tuple[int, float]]:
    """Contamination: {text index: (reference index, Jaccard)} for texts that (near-)duplicate a reference."""
    exact = {normalise(r): i for i, r in reversed(list(enumerate(references)))}
    found = {i: (exact[normalise(t)], 1.0) for i, t in enumerate(texts) if normalise(t) in exact}
    combined = list(references) + list(texts)
    offset = len(references)
    pairs = candidate_pairs(combined, list(range(len(combined))), threshold, num_perm, seed)
    cache: dict[int, set[str]] = {}
    for a, b in pairs:
        if a >= offset or b < offset or (b - offset) in found and found[b - offset][1] == 1.0:
            continue  # only reference–text pairs; exact matches are settled
        for i in (a, b):
            if i not in cache:
                cache[i] = shingles(combined[i])
        score = jaccard(cache[a], cache[b])
        best = found.get(b - offset)
        if score >= threshold - 1e-12 and (best is None or score > best[1]):
            found[b - offset] = (a, score)
    return found


def _jaccard_of(texts: list[str]):
    """score(a, b): exact word-5-gram Jaccard of two rows, shingles computed once per row."""
    cache: dict[int, set[str]] = {}

    def grams(i: int) -> set[str]:
        if i not in cache:
            cache[i] = shingles(texts[i])
        return cache[i]

    return lambda a, b: jaccard(grams(a), grams(b))


def _collapse(unique, pairs, score_of, threshold, link):
    """Greedy in row order: drop a row at/above `threshold` with an earlier kept row; return drops and links."""
    later: dict[int, list[int]] = defaultdict(list)
    for a, b in pairs:
        later[b].append(a)
    dropped, edges, gone = [], [], set()
    for index in unique:
        best = None
        for earlier in later.get(index, ()):
            score = score_of(earlier, index)
            if score >= link - 1e-12:
                edges.append((earlier, index))
            if score >= threshold - 1e-12 and earlier not in gone and (best is None or score > best[1]):
                best = (earlier, score)
        if best:
            gone.add(index)
            dropped.append(Duplicate(index, best[0], "near", round(best[1], 4)))
    return dropped, edges


def _components(edges: list[tuple[int, int]]) -> dict[int, int]:
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {x: root(x) for x in parent}


def _lsh_threshold(threshold: float) -> float:
    """Index below the verification threshold, so LSH misses fewer true pairs (verification removes the rest)."""
    return max(0.2, threshold - 0.15)


def _hash32(shingle: str) -> int:
    return zlib.crc32(shingle.encode("utf-8"))
