"""Curate 200,000 short chat rows: clean + exact/near dedup + PII + split (+ writing files and the audit).

Target (issue 3): ≤ 3 minutes and ≤ 4 GB peak memory on 2 CPU cores.

The data is synthetic and seeded: each row is a short support conversation built from a 5,000-word vocabulary,
with 5% exact duplicates (case/whitespace changed), 5% near-duplicates (a word appended: Jaccard ≈ 0.9), 3% rows
carrying PII (email, phone, card) and 1% rows with leftover HTML. It runs `honed.data.prepare.run_prepare` on it
(audit token statistics off: they need a tokenizer and are sampled anyway) and prints rows/s, wall time, the time of
each step and peak RSS (resource.getrusage, this process).

    python benchmarks/curate_scale.py [--rows 200000] [--seed 0] [--engine local|ray|both] [--shards 8]

`--engine ray` runs the same prepare on Ray Data (a local Ray instance with `--num-cpus` workers, or
`--address`); `both` runs local then Ray on the same files and checks the splits and drops are identical. For Ray
it also prints the peak RSS of each Ray worker process (psutil, sampled every 0.2 s). `--shards` writes the
input as that many files (Ray reads one file per task).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path


def make_rows(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    vocab = [f"{rng.choice('bcdfgklmnprstvz')}{rng.choice('aeiou')}{rng.choice('lmnrst')}{i}" for i in range(5000)]
    rows = []
    for i in range(n):
        roll = rng.random()
        if rows and roll < 0.05:  # exact duplicate, different case and spacing
            src = rng.choice(rows)["messages"]
            rows.append({"messages": [{**m, "content": "  " + m["content"].upper()} for m in src]})
            continue
        if rows and roll < 0.10:  # near duplicate: one word appended to the answer
            src = rng.choice(rows)["messages"]
            rows.append({"messages": [src[0], {**src[1], "content": src[1]["content"] + " indeed"}]})
            continue
        question = " ".join(rng.choice(vocab) for _ in range(rng.randint(8, 16)))
        answer = " ".join(rng.choice(vocab) for _ in range(rng.randint(10, 24)))
        if roll < 0.13:
            question += rng.choice([f" mail me at user{i}@example.com", f" call +1 415 555 {1000 + i % 9000}",
                                    " my card is 4111 1111 1111 1111"])
        elif roll < 0.14:
            answer = f"<p>{answer}</p><br>"
        rows.append({"messages": [{"role": "user", "content": f"Ticket {i}: {question}?"},
                                  {"role": "assistant", "content": answer}]})
    return rows


class WorkerMemory:
    """Peak RSS of every Ray worker process (`ray::…`), sampled in a thread while the prepare runs."""

    def __init__(self):
        import threading

        self.peaks: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        import psutil

        while not self._stop.wait(0.2):
            for proc in psutil.process_iter(["pid", "name", "cmdline"]):
                try:
                    if (proc.info["name"] or "").startswith("ray::") or "default_worker.py" in " ".join(
                            proc.info["cmdline"] or []):
                        rss = proc.memory_info().rss / 2**20
                        self.peaks[proc.pid] = max(self.peaks.get(proc.pid, 0.0), rss)
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def run_engine(cfg, root: Path, engine: str, rows: int) -> tuple[object, float]:
    from honed.data.prepare import run_prepare

    clock = time.perf_counter()
    data = run_prepare(cfg, root / f"prepared-{engine}", engine=engine)
    wall = time.perf_counter() - clock
    audit = json.loads((root / f"prepared-{engine}" / "audit.json").read_text())
    print(f"[{engine}] prepare wall time: {wall:.1f} s · {rows / wall:,.0f} rows/s")
    print(f"[{engine}] steps: " + ", ".join(f"{s['step']} {s['seconds']}s" for s in audit["steps"] if "seconds" in s))
    print(f"[{engine}] kept {sum(len(v) for v in data.splits.values()):,} · dropped {len(data.dropped):,} · "
          f"duplicates {audit['duplicates']} · pii {audit['pii']}")
    return data, wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engine", choices=("local", "ray", "both"), default="local")
    parser.add_argument("--shards", type=int, default=1, help="input files (Ray reads one per task)")
    parser.add_argument("--num-cpus", type=int, default=2, help="local Ray instance: worker CPUs")
    parser.add_argument("--address", help="join this Ray cluster instead of starting one")
    args = parser.parse_args()

    from honed.core.config import validate_config

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ.setdefault("HONED_HOME", str(root / "home"))
        clock = time.perf_counter()
        names = [f"chat-{k}.jsonl" for k in range(args.shards)]
        files = [(root / n).open("w") for n in names]
        for i, row in enumerate(make_rows(args.rows, args.seed)):
            files[i % len(files)].write(json.dumps(row) + "\n")
        for f in files:
            f.close()
        generate_s = time.perf_counter() - clock
        cfg = validate_config({"project": "curate-scale", "objective": {"task": "generation", "metric": "rougeL"},
                               "data": {"train": names, "audit_tokens": False}}, root=root)
        print(f"rows: {args.rows:,} in {args.shards} file(s) (generated in {generate_s:.1f}s, not counted)")
        results, walls = {}, {}
        if args.engine in ("local", "both"):
            results["local"], walls["local"] = run_engine(cfg, root, "local", args.rows)
            local_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"[local] peak RSS {local_peak:,.0f} MB (this process)")
        if args.engine in ("ray", "both"):
            import ray

            ray.init(address=args.address, num_cpus=None if args.address else args.num_cpus,
                     include_dashboard=False, log_to_driver=False)
            with WorkerMemory() as memory:
                results["ray"], walls["ray"] = run_engine(cfg, root, "ray", args.rows)
            peaks = sorted(memory.peaks.values(), reverse=True)
            print(f"[ray] {len(peaks)} worker processes; peak RSS per worker: max {peaks[0] if peaks else 0:,.0f} MB,"
                  f" median {peaks[len(peaks) // 2] if peaks else 0:,.0f} MB; driver peak RSS "
                  f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")
            ray.shutdown()
        if len(results) == 2:
            same = all(results["local"].splits[n] == results["ray"].splits[n] for n in results["local"].splits)
            same = same and results["local"].dropped == results["ray"].dropped
            print(f"ray vs local: splits and drops {'IDENTICAL' if same else 'DIFFER'}; "
                  f"speed ratio ray/local {walls['local'] / walls['ray']:.2f}")
            if not same:
                return 1
    if "local" not in walls:
        return 0
    wall, peak_mb = walls["local"], local_peak
    ok = wall <= 180 and peak_mb <= 4096
    print(f"target ≤ 180 s and ≤ 4096 MB: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
