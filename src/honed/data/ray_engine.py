"""Curation on Ray Data (`data.engine: ray`, `honed data prepare CONFIG --engine ray [--address ray://…]`).

The same steps as the local engine, and the same step functions, run as Ray Data stages; the result (splits,
`dropped.jsonl` with its reasons, the audit's counts) is identical to the local engine's on the same input:

1. read: one task per file (honed's streaming readers: JSONL lines, JSON array elements, CSV/Parquet rows), so a
   corpus split into many files reads in parallel; a task takes its file READ_BLOCK_ROWS rows at a time, so its
   memory does not grow with the file;
2. validate → labels → clean → PII: in the same task, `prepare.curate` on each block as it is read (every one of
   these steps decides row by row, so blocking changes nothing);
3. exact dedup: each text's 128-bit digest (two int64 columns) → a vectorised count per 64-bit key (a hash
   shuffle of 8 bytes per row) → only the rows of keys two rows share come to the driver, where numpy sorts them
   into buckets (`first_in_bucket`); the first row of each digest is kept;
4. near dedup: MinHash signatures per batch (dedup.signature_matrix, the same seeded family) → one row per LSH
   band (its bucket as a 128-bit digest) → a vectorised count per 64-bit key (the shuffle) → the rows of shared
   keys only, paired on the driver with numpy (`bucket_pairs`: every distinct pair within a bucket) → exact
   Jaccard verified in `map_batches` → the verified pairs go to dedup.resolve_near, which makes the greedy
   in-order decisions and the connected components exactly as the local engine does;
5. contamination: `map_batches` of dedup.find_overlap against the (small) evaluation rows, broadcast;
6. split and write: on the driver, with the local code (the split is a seeded shuffle over all rows).

`prepare.run_prepare` hands its own step functions in (`steps`, the module `honed.data.prepare`), so there is
one copy of each step and no import cycle. Rows travel as JSON strings (`kind`, `rank`, `file`, `pos`, `json`), so nested chat records cross Arrow unchanged;
`(rank, file, pos)` restores the local engine's order of records and drops.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import time
from collections import Counter
from functools import partial
from pathlib import Path

from honed.core.config import Config
from honed.core.errors import HonedError

log = logging.getLogger(__name__)  # stage progress, for long runs (benchmarks/curate_scale.py shows it)
RANK = {"read": 0, "validate": 1, "labels": 2, "clean": 3}
ROW_STEPS = ("validate", "labels", "clean", "pii")


def curate_on_ray(cfg: Config, steps, address: str | None = None):
    """(records, dropped, info, given splits) for `prepare._split_and_publish`, computed on Ray; `steps` is the
    module honed.data.prepare (its step functions run on the workers)."""
    ray = connect(address)
    info, clock = steps.Curation(), time.perf_counter()
    info.engine = f"ray ({int(ray.cluster_resources().get('CPU', 0))} CPUs)"
    files = [str(cfg.resolve(name)) for name in cfg.data.train]
    if not files:
        raise HonedError("no training data configured", "set `data.train` in honed.yaml to one or more files")
    # One block per file, so each file is its own read task (the items of one block share a task).
    read = ray.data.from_items([{"file": i, "path": p} for i, p in enumerate(files)], override_num_blocks=len(files))
    # Each read task streams its file in blocks of `block_rows` rows and runs the row steps on each block as it
    # goes. (A second map_batches stage with batch_size=block_rows, fused with this one by Ray, bundled every file
    # into one task to fill its batch: 8 files on 2 CPUs ran one after another, one worker idle.)
    step = partial(_curate_batch, steps.curate, steps.Curation, cfg, {p: i for i, p in enumerate(files)})
    rows = read.map_batches(partial(read_and_curate, steps, cfg, read_block_rows(), step), batch_size=1,
                            batch_format="numpy")
    log.info("ray: read + row steps over %d file(s)", len(files))
    out = _collect(rows, expected_rows(files))
    records, dropped, stats = _unpack(out)
    log.info("ray: read + row steps done: %d records, %d drops", len(records), len(dropped))
    _record_row_steps(info, stats, sum(d["step"] == "read" for d in dropped), clock)
    fixed, references, lost = steps._given_splits(cfg, info)
    dropped += lost
    clock = time.perf_counter()
    with stage_bar(len(records), 6 if cfg.data.near_dedup else 2) as tick:
        result = ray_duplicates(ray, [_content(r) for r in records], cfg, tick)
    records, lost = steps.dedup_step(records, cfg, info.duplicates, result=result)
    dropped += lost
    info.steps.append({"step": "dedup", "rows": len(records), "seconds": round(time.perf_counter() - clock, 2)})
    log.info("ray: dedup done: %d records kept", len(records))
    clock = time.perf_counter()
    hits = ray_overlap(ray, [_content(r) for r in records], [_content(r) for r in references], cfg) \
        if references else {}  # (7 s of keys for 1.8 M rows, for nothing, when there is no evaluation file)
    records, lost = steps.contamination_step(records, references, cfg, info.contamination, hits=hits)
    dropped += lost
    info.steps.append({"step": "contamination", "rows": len(records),
                       "seconds": round(time.perf_counter() - clock, 2)})
    return records, dropped, info, fixed


def connect(address: str | None = None):
    """Join the cluster at `address` (ray://host:10001 or auto), or start a local one, once per process."""
    try:
        import ray
    except ImportError:
        raise HonedError("data.engine is `ray` but Ray is not installed",
                         "pip install 'honed[scale]' (or 'ray[data]'), or set data.engine: local") from None
    if not ray.is_initialized():
        _token_for_a_local_instance(address)
        log.info("ray: %s", f"joining the cluster at {address}" if address else "starting a local instance")
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
        except (ConnectionError, ValueError) as error:  # what ray.init raises for an unreachable or malformed address
            raise HonedError(f"could not join the Ray cluster at {address!r}: {error}", _fix_for(error)) from None
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    _bound_shuffle_map_input(context)
    return ray


def _fix_for(error: Exception) -> str:
    if "ray[client]" in str(error):
        return "pip install 'honed[scale]' (it brings ray[client], which ray:// addresses need)"
    return ("check the address: ray://HEAD:10001 (Ray Client; `ray start --head` runs on HEAD and the port is open "
            "from here) or `auto` on a node of the cluster; or leave out --address to start a local instance")


def _bound_shuffle_map_input(context) -> None:
    """Ray's hash shuffle coalesces input blocks into one map task per node until they reach
    `shuffle_input_batch_bytes` (1 GB by default): the 80 M band keys of 2 M rows (640 MB) went to ONE map task that
    held 5.4 GB, and 160 M keys 7.9 GB. At SHUFFLE_ROWS keys per map task the largest shuffle worker stays under
    ~0.75 GB at 80 M and at 160 M keys (benchmarks/RESULTS-curate.md). An explicit
    RAY_DATA_SHUFFLE_INPUT_BATCH_BYTES wins."""
    import os

    if hasattr(context, "shuffle_input_batch_bytes") and "RAY_DATA_SHUFFLE_INPUT_BATCH_BYTES" not in os.environ:
        context.shuffle_input_batch_bytes = SHUFFLE_ROWS * 8


def _token_for_a_local_instance(address: str | None) -> None:
    """Ray 2.60 secures a new local instance with a token and, unless one is given, saves a fresh one to
    ~/.ray/auth_token. For the throw-away instance honed starts, give it one in the environment instead (inherited
    by its workers) so curation writes nothing into the user's home. Joining a cluster keeps Ray's own lookup."""
    import os
    import secrets

    if address or os.environ.get("RAY_ADDRESS"):
        return
    if any(os.environ.get(k) for k in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")):
        return
    os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)


def _content(record: dict) -> str:
    from honed.data.formats import content_key

    return content_key(record)


# --- read and the row steps (on workers) ------------------------------------------------------------------


READ_BLOCK_ROWS = 4096  # rows a read task holds at once, whatever the file's size (HONED_RAY_READ_BLOCK_ROWS)
LATER = 1 << 40  # a missing-label drop sorts after the file's unreadable rows, as the local engine lists them


def read_block_rows() -> int:
    import os

    value = os.environ.get("HONED_RAY_READ_BLOCK_ROWS", "")
    return int(value) if value.isdigit() and int(value) > 0 else READ_BLOCK_ROWS


def read_blocks(steps, cfg: Config, block_rows: int, task: dict):
    """One file, streamed in blocks of at most `block_rows` rows: records at (file, line), read drops in the local
    engine's order. Whether a text row lacks its label depends on the whole file (any labelled row in it), so a
    first pass looks for one, stopping at the first; rows are never all held at once."""
    from pathlib import Path

    from honed.data.formats import is_text, iter_rows, labelled_conversation

    for file, name in zip(task["file"], task["path"]):
        path, file = Path(str(name)), int(file)
        labelled = any(r is not None and labelled_conversation(r)
                       for r, _ in (steps.read_row(cfg, path, line, row) for line, row in iter_rows(path)))
        block = []
        for line, row in iter_rows(path):
            record, drop = steps.read_row(cfg, path, line, row)
            if drop is not None:
                block.append(_row("drop", RANK["read"], file, line, drop))
            elif labelled and is_text(record):
                block.append(_row("drop", RANK["read"], file, LATER + line, steps.missing_label_drop(record)))
            else:
                block.append(_row("record", 0, file, line, record))
            if len(block) >= block_rows:
                yield _columns(block)
                block = []
        if block:
            yield _columns(block)


def read_and_curate(steps, cfg: Config, block_rows: int, curate_block, task: dict):
    """A read task: its file's blocks, each through validate → labels → clean → PII before the next is read."""
    for block in read_blocks(steps, cfg, block_rows, task):
        yield curate_block(block)


def _columns(rows: list[dict]) -> dict:
    return {key: [r[key] for r in rows] for key in ("kind", "rank", "file", "pos", "json")}


def _row(kind: str, rank: int, file: int, pos: int, value) -> dict:
    return {"kind": kind, "rank": rank, "file": file, "pos": int(pos or 0), "json": json.dumps(value)}


def _curate_batch(curate, curation, cfg: Config, file_of: dict[str, int], batch: dict) -> dict:
    """validate → labels → clean → PII on one batch (prepare.curate); drops keep their step's rank."""
    out = [dict(zip(batch, values)) for values in zip(*batch.values())]
    records = [json.loads(r["json"]) for r in out if r["kind"] == "record"]
    passed = [r for r in out if r["kind"] != "record"]  # read drops and stats pass through
    info = curation()
    kept, lost = curate(records, cfg, info, stage="batch")
    passed += [_row("record", 0, file_of[r["meta"]["source"]], r["meta"]["line"], r) for r in kept]
    passed += [_row("drop", RANK[d["step"]], file_of.get(d["source"], 0), d["line"], d) for d in lost]
    stats = {"in": len(records), "pii": info.pii, "cleaning": info.cleaning,
             "lost": Counter(d["step"] for d in lost)}
    passed.append(_row("stats", 0, 0, 0, stats))
    return _columns(passed)


def _collect(dataset, expected: int | None = None):
    """The stage's rows as one Arrow table (compact: a Python dict per row cost ~1 GB more at 2 M rows), with a
    progress bar over the input rows (each yields one record or one drop; `expected` None: no ETA)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from honed.core.progress import progress_for_rows

    tables = []
    with progress_for_rows(expected) as progress:
        task = progress.add_task("ray: read + row steps", total=expected, info="") if progress else None
        try:
            for table in dataset.iter_batches(batch_format="pyarrow", batch_size=None):
                tables.append(table)
                if progress:
                    progress.advance(task, len(table) - pc.sum(pc.equal(table["kind"], "stats")).as_py())
        except Exception as error:  # noqa: BLE001 - a worker's HonedError (unknown labels: error) arrives wrapped
            raise _cause(error) from None
        if progress:
            progress.update(task, total=progress.tasks[0].completed)  # the lines counted may include blank ones
    return pa.concat_tables(tables) if tables else None


def expected_rows(files: list[str]) -> int | None:
    """The input's row count, where it is cheap to know (plain JSONL/TXT: its lines; Parquet: its metadata), for the
    progress bar's ETA; None when any file would need a parse (CSV quoting, JSON arrays, .gz)."""
    from honed.data.formats import file_suffix

    total = 0
    for name in files:
        path = Path(name)
        suffix = file_suffix(path)
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            total += pq.ParquetFile(path).metadata.num_rows
        elif suffix in (".jsonl", ".txt") and path.suffix.lower() != ".gz":
            with path.open("rb") as handle:
                total += sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 24), b""))
        else:
            return None
    return total


def _cause(error: BaseException) -> BaseException:
    """The HonedError inside Ray's wrapper. RayTaskError(HonedError) is itself an instance of HonedError (Ray
    subclasses the cause's type), so the original is its `cause`, followed until a HonedError that is not Ray's."""
    seen = error
    while seen is not None:
        if isinstance(seen, HonedError) and not type(seen).__module__.startswith("ray."):
            return seen
        seen = getattr(seen, "cause", None) or seen.__cause__
    return error


def _unpack(table) -> tuple[list[dict], list[dict], list[dict]]:
    """Records in read order, drops in the local engine's order (step, then read order), and batch stats."""
    import numpy as np
    import pyarrow.compute as pc

    if table is None:
        return [], [], []
    rank, file, pos = (table.column(c).to_numpy() for c in ("rank", "file", "pos"))

    def parsed(wanted: str, ordered: bool) -> list:
        rows = np.flatnonzero(pc.equal(table.column("kind"), wanted).to_numpy(zero_copy_only=False))
        if ordered:
            rows = rows[np.lexsort((pos[rows], file[rows], rank[rows]))]
        return [json.loads(text) for text in table.column("json").take(rows).to_pylist()]

    return parsed("record", True), parsed("drop", True), parsed("stats", False)


def _record_row_steps(info, stats: list[dict], read_drops: int, started: float) -> None:
    """The audit's step rows for read … pii, summed over batches (timings: the whole Ray stage)."""
    rows = sum(s["in"] for s in stats)
    lost = sum((Counter(s["lost"]) for s in stats), Counter())
    seconds = round(time.perf_counter() - started, 2)
    info.steps.append({"step": "read", "rows": rows + read_drops, "seconds": seconds})
    info.steps.append({"step": "parsed", "rows": rows, "seconds": 0.0})
    for step in ROW_STEPS:
        rows -= lost.get(step, 0)
        info.steps.append({"step": step, "rows": rows, "seconds": 0.0})
    for s in stats:
        info.pii.update(s["pii"])
        info.cleaning.update(s["cleaning"])


# --- exact and near dedup -----------------------------------------------------------------------------------


def ray_duplicates(ray, texts: list[str], cfg: Config, tick=lambda stage: None):
    """dedup.find_duplicates, with hashing, signatures, banding and verification as Ray stages; `tick(stage)`
    as each of them ends (2 stages for exact dedup, 4 more for near)."""
    import numpy as np

    from honed.data.dedup import DedupResult, Duplicate, resolve_near

    ds = _indexed(ray, texts)
    log.info("ray: exact dedup (digest count shuffle) over %d rows", len(texts))
    digests = ds.map_batches(_digests, batch_format="numpy").materialize()
    tick("exact: digests")
    rows, firsts = first_in_bucket(*_rows_of_shared_keys(ray, digests, len(texts)))
    tick("exact: shared digests")
    duplicates = [Duplicate(i, first, "exact", 1.0) for i, first in sorted(zip(rows.tolist(), firsts.tolist()))
                  if i != first]
    log.info("ray: exact dedup done: %d duplicates", len(duplicates))
    gone = np.array(sorted({d.index for d in duplicates}), dtype=np.int64)
    unique = np.setdiff1d(np.arange(len(texts)), gone).tolist()
    if not cfg.data.near_dedup:
        return DedupResult(unique, duplicates)
    group = cfg.data.group_threshold
    link = min(cfg.data.dedup_threshold, group or cfg.data.dedup_threshold)
    kept = ds.map_batches(partial(_without, [ray.put(gone)]), batch_format="numpy") if len(gone) else ds
    pairs, scores = ray_verified_pairs(ray, kept, texts, link, cfg.data.split.seed, tick=tick)
    return resolve_near(unique, duplicates, sorted(scores), lambda a, b: scores.get((a, b), 0.0),
                        cfg.data.dedup_threshold, group, candidates=pairs)


@contextlib.contextmanager
def stage_bar(rows: int, stages: int):
    """A progress bar over a fixed number of stages (dedup's Ray stages), yielding `tick(stage_done)`. The stages
    take unequal times, so its ETA is rough; the stage names say where it is."""
    from honed.core.progress import progress_for_rows

    with progress_for_rows(rows) as progress:
        if progress is None:
            yield lambda stage: None
            return
        task = progress.add_task("ray: dedup", total=stages, info="")
        yield lambda stage: progress.update(task, advance=1, info=stage)


def _indexed(ray, texts: list[str]):
    """A dataset of (i, text), built from Arrow columns (from_items made a dict per row on the driver)."""
    import pyarrow as pa

    size = max(1, -(-len(texts) // (4 * _partitions(ray))))
    return ray.data.from_arrow([pa.table({"i": pa.array(range(start, min(start + size, len(texts))), pa.int64()),
                                          "text": pa.array(texts[start:start + size], pa.string())})
                                for start in range(0, max(len(texts), 1), size)])


def _partitions(ray, rows: int = 0) -> int:
    """Shuffle partitions: two per cluster CPU (Ray's default of 200 drowns a small cluster in tiny tasks), and
    at least one per SHUFFLE_ROWS rows, so what one aggregator holds stays bounded as the data grows."""
    return max(2, 2 * int(ray.cluster_resources().get("CPU", 1)), -(-rows // SHUFFLE_ROWS))


SHUFFLE_ROWS = 4_000_000  # keys per shuffle partition (8 bytes each)


def _digests(batch: dict) -> dict:
    """Each text's exact-dedup digest (blake2b-128 of the normalised text) as two int64 columns."""
    import numpy as np

    from honed.data.dedup import normalise

    digests = b"".join(hashlib.blake2b(normalise(t).encode(), digest_size=16).digest() for t in batch["text"])
    halves = np.frombuffer(digests, dtype="<i8").reshape(-1, 2)
    return {"i": np.asarray(batch["i"], dtype=np.int64), "key": halves[:, 0].copy(), "key2": halves[:, 1].copy()}


def _without(gone_ref: list, batch: dict) -> dict:
    """The rows whose `i` is not in the broadcast sorted array (the exact duplicates)."""
    import numpy as np
    import ray

    gone = ray.get(gone_ref[0])
    where = np.minimum(np.searchsorted(gone, batch["i"]), len(gone) - 1)
    keep = gone[where] != batch["i"]
    return {column: values[keep] for column, values in batch.items()}


def _rows_of_shared_keys(ray, keyed, rows: int) -> tuple:
    """(rows, keys, keys2) on the driver for the keys two or more rows share: a vectorised count per 64-bit key
    (the shuffle: 8 bytes per row), the shared keys broadcast back, their rows filtered out on the workers.
    (Member lists per key, Ray's AsList aggregate, held Python lists for every key: 1.9 GB in one aggregator for
    2 M digests, and for 80 M band keys one task past 6 GB.)"""
    shared = _shared_keys(ray, keyed, rows)
    found = _gather(keyed.map_batches(partial(_rows_with, [ray.put(shared)]), batch_format="numpy",
                                      batch_size=None))
    log.info("ray: %d keys shared by two or more rows, %d rows in them", len(shared), len(found[0]))
    return found


def _buckets(rows, keys, keys2) -> tuple:
    """The rows sorted by (key, key2, row); where each bucket (equal key and key2) starts; its size."""
    import numpy as np

    order = np.lexsort((rows, keys2, keys))
    rows, keys, keys2 = rows[order], keys[order], keys2[order]
    starts = np.flatnonzero(np.r_[True, (keys[1:] != keys[:-1]) | (keys2[1:] != keys2[:-1])]) if len(rows) else \
        np.zeros(0, dtype=np.int64)
    return rows, starts, np.diff(np.r_[starts, len(rows)])


def first_in_bucket(rows, keys, keys2) -> tuple:
    """(rows, the smallest row of each one's bucket: the one it duplicates), sorted by bucket."""
    import numpy as np

    ordered, starts, sizes = _buckets(rows, keys, keys2)
    return ordered, np.repeat(ordered[starts], sizes)


def ray_verified_pairs(ray, ds, texts: list[str], link: float, seed: int, num_perm: int = 128,
                       tick=lambda stage: None):
    """(number of distinct candidate pairs, {(a, b): Jaccard} for the pairs at or above `link`)."""
    from datasketch import MinHashLSH

    from honed.data.dedup import _lsh_threshold

    lsh = MinHashLSH(threshold=_lsh_threshold(link), num_perm=num_perm, weights=(0.2, 0.8))
    bands = ds.map_batches(partial(_band_keys, lsh.b, lsh.r, num_perm, seed), batch_format="numpy").materialize()
    tick("near: MinHash band keys")
    rows, keys, keys2 = _rows_of_shared_keys(ray, bands, bands.count())
    tick("near: shared band keys")
    a, b = bucket_pairs(rows, keys, keys2)
    tick("near: candidate pairs")
    log.info("ray: %d band rows in shared buckets give %d distinct candidate pairs", len(rows), len(a))
    del rows, keys, keys2
    edges = _verify_pairs(ray, a, b, texts, link)
    tick("near: verified")
    log.info("ray: near dedup done: %d of %d candidate pairs verified", len(edges), len(a))
    return len(a), edges


def _band_keys(bands: int, width: int, num_perm: int, seed: int, batch: dict) -> dict:
    """One row per (text, band): the bucket (band number and its `width` signature values) as a 128-bit digest
    in two int64 columns, `key` and `key2` — the same standard as exact dedup's 16-byte digest, at a fifth of the
    bytes of the bucket's text. `key` alone is what the shuffle counts."""
    from hashlib import blake2b

    import numpy as np

    from honed.data.dedup import signature_matrix

    texts = list(batch["text"])
    rows, matrix = signature_matrix(texts, list(range(len(texts))), num_perm, seed)
    ids = batch["i"]
    digests = bytearray()
    for signature in matrix:
        for band in range(bands):
            bucket = band.to_bytes(2, "little") + signature[band * width:(band + 1) * width].tobytes()
            digests += blake2b(bucket, digest_size=16).digest()
    halves = np.frombuffer(bytes(digests), dtype="<i8").reshape(-1, 2)
    return {"i": np.repeat(np.asarray(ids, dtype=np.int64)[list(rows)], bands), "key": halves[:, 0].copy(),
            "key2": halves[:, 1].copy()}


def _shared_keys(ray, keyed, rows: int):
    """The sorted keys two or more rows share, from a vectorised count per key over the key column alone."""
    import numpy as np

    counts = keyed.select_columns(["key"]).groupby("key", num_partitions=_partitions(ray, rows)).count()
    found = [batch["key"] for batch in counts.map_batches(_keys_counted_twice, batch_format="numpy")
             .iter_batches(batch_format="numpy", batch_size=None)]
    return np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)


def _keys_counted_twice(batch: dict) -> dict:
    return {"key": batch["key"][batch["count()"] >= 2]}


def _rows_with(shared_ref: list, batch: dict) -> dict:
    """The band rows whose key is shared (the broadcast array of shared keys is small: ~bands × duplicates)."""
    import ray

    return rows_with_keys(ray.get(shared_ref[0]), batch)


def rows_with_keys(shared, batch: dict) -> dict:
    """The rows of `batch` whose `key` is in the sorted array `shared`, by binary search (np.isin would sort
    `shared` again for every batch: hours at 80 M band rows)."""
    import numpy as np

    if not len(shared):
        return {column: values[:0] for column, values in batch.items()}
    where = np.minimum(np.searchsorted(shared, batch["key"]), len(shared) - 1)
    keep = shared[where] == batch["key"]
    return {column: values[keep] for column, values in batch.items()}


def _gather(ds) -> tuple:
    """(rows, keys, keys2) of the band rows in shared buckets, on the driver: 24 bytes each, ~b × duplicates of
    them. (A member-list aggregate per bucket on the workers held Python lists for millions of buckets and grew
    one task past 6 GB at 2 M rows.)"""
    import numpy as np

    parts = list(ds.iter_batches(batch_format="numpy", batch_size=None))
    if not parts:
        return (np.zeros(0, dtype=np.int64),) * 3
    return tuple(np.concatenate([p[c] for p in parts]).astype(np.int64) for c in ("i", "key", "key2"))


def bucket_pairs(rows, keys, keys2):
    """Every distinct (earlier, later) pair of rows that share a bucket (equal `keys` and `keys2`), as two sorted
    int64 arrays, vectorised: a bucket of g rows gives g·(g-1)/2 pairs."""
    import numpy as np

    rows, starts, sizes = _buckets(rows, keys, keys2)
    position = np.arange(len(rows)) - np.repeat(starts, sizes)  # place of each row within its bucket
    partners = np.repeat(sizes, sizes) - 1 - position  # the rows after it in its bucket
    total = int(partners.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    first = np.repeat(np.arange(len(rows)), partners)
    step = np.arange(total) - np.repeat(np.cumsum(partners) - partners, partners) + 1
    a, b = rows[first], rows[first + step]
    pairs = np.unique(np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1), axis=0)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    return pairs[:, 0].copy(), pairs[:, 1].copy()


def _verify_pairs(ray, a, b, texts: list[str], link: float) -> dict:
    """Exact Jaccard of every candidate pair, as a Ray stage. Each chunk carries the texts of its own pairs (a
    broadcast of all texts, cached per worker, left 16 idle workers holding ~8 GB at 2 M rows)."""
    import pyarrow as pa

    if len(a) == 0:
        return {}
    chunk = max(1, -(-len(a) // (4 * _partitions(ray))))
    tables = [pa.table({"a": a[s:s + chunk], "b": b[s:s + chunk],
                        "text_a": pa.array([texts[i] for i in a[s:s + chunk].tolist()], pa.large_string()),
                        "text_b": pa.array([texts[i] for i in b[s:s + chunk].tolist()], pa.large_string())})
              for s in range(0, len(a), chunk)]
    verified = ray.data.from_arrow(tables).map_batches(partial(_verify, link), batch_format="numpy")
    found = [batch for batch in verified.iter_batches(batch_format="numpy", batch_size=None)]
    return {(int(x), int(y)): float(s) for batch in found for x, y, s in zip(batch["a"], batch["b"], batch["score"])}


def _verify(link: float, batch: dict) -> dict:
    """Exact Jaccard of each candidate pair; only the pairs at or above `link` come back."""
    import numpy as np

    from honed.data.dedup import jaccard, shingles

    scores = np.array([jaccard(shingles(x), shingles(y)) for x, y in zip(batch["text_a"], batch["text_b"])],
                      dtype=np.float64)
    keep = scores >= link - 1e-12
    return {"a": np.asarray(batch["a"], dtype=np.int64)[keep], "b": np.asarray(batch["b"], dtype=np.int64)[keep],
            "score": scores[keep]}


# --- contamination ------------------------------------------------------------------------------------------


def ray_overlap(ray, texts: list[str], references: list[str], cfg: Config) -> dict[int, tuple[int, float]]:
    """dedup.find_overlap per batch against the broadcast evaluation rows (a pair's verdict needs only the pair)."""
    if not references or not texts:
        return {}
    ds = _indexed(ray, texts)
    found = ds.map_batches(partial(_overlap_batch, references, cfg.data.dedup_threshold, cfg.data.split.seed),
                           batch_format="numpy").take_all()
    return {int(r["i"]): (int(r["ref"]), float(r["score"])) for r in found}


def _overlap_batch(references: list[str], threshold: float, seed: int, batch: dict) -> dict:
    from honed.data.dedup import find_overlap

    hits = find_overlap(list(batch["text"]), references, threshold, seed=seed)
    ids = batch["i"]
    return {"i": [int(ids[k]) for k in hits], "ref": [v[0] for v in hits.values()],
            "score": [v[1] for v in hits.values()]}
