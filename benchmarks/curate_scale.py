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
import logging
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path


def make_rows(n: int, seed: int):
    """The rows as JSON lines, one at a time. Earlier rows are kept as their JSON text (not dicts), so 2 million rows
    need ~0.6 GB here; the random stream is the same as when rows were kept as dicts."""
    rng = random.Random(seed)
    vocab = [f"{rng.choice('bcdfgklmnprstvz')}{rng.choice('aeiou')}{rng.choice('lmnrst')}{i}" for i in range(5000)]
    lines: list[str] = []
    for i in range(n):
        roll = rng.random()
        if lines and roll < 0.05:  # exact duplicate, different case and spacing
            src = json.loads(rng.choice(lines))["messages"]
            row = {"messages": [{**m, "content": "  " + m["content"].upper()} for m in src]}
        elif lines and roll < 0.10:  # near duplicate: one word appended to the answer
            src = json.loads(rng.choice(lines))["messages"]
            row = {"messages": [src[0], {**src[1], "content": src[1]["content"] + " indeed"}]}
        else:
            row = _fresh_row(rng, vocab, i, roll)
        lines.append(json.dumps(row))
        yield lines[-1]


def _fresh_row(rng: random.Random, vocab: list[str], i: int, roll: float) -> dict:
    question = " ".join(rng.choice(vocab) for _ in range(rng.randint(8, 16)))
    answer = " ".join(rng.choice(vocab) for _ in range(rng.randint(10, 24)))
    if roll < 0.13:
        question += rng.choice([f" mail me at user{i}@example.com", f" call +1 415 555 {1000 + i % 9000}",
                                " my card is 4111 1111 1111 1111"])
    elif roll < 0.14:
        answer = f"<p>{answer}</p><br>"
    return {"messages": [{"role": "user", "content": f"Ticket {i}: {question}?"},
                         {"role": "assistant", "content": answer}]}


def write_rows(root: Path, names: list[str], rows: int, seed: int) -> None:
    files = [(root / n).open("w") for n in names]
    for i, line in enumerate(make_rows(rows, seed)):
        files[i % len(files)].write(line + "\n")
    for f in files:
        f.close()


def generate(root: Path, names: list[str], rows: int, seed: int) -> None:
    """Write the input in a child process, so the generator's memory is not counted in this process's peak."""
    import multiprocessing

    child = multiprocessing.get_context("fork").Process(target=write_rows, args=(root, names, rows, seed))
    child.start()
    child.join()
    if child.exitcode:
        raise SystemExit(f"generating the rows failed (exit {child.exitcode})")


def load() -> str:
    """The load average (1, 5, 15 min), printed beside every figure: the machine is shared."""
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def rss_mb(pid: int | None = None) -> float:
    import psutil

    return psutil.Process(pid).memory_info().rss / 2**20


class Background:
    """A daemon thread running `target` from `with` entry to exit; `target` polls `self._stop` to end."""

    def __init__(self, target):
        import threading

        self._stop = threading.Event()
        self._thread = threading.Thread(target=target, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


class Heartbeat(Background):
    """Every `every` seconds: elapsed time, load average, this process's RSS and the Ray workers' RSS, so a run
    that does not finish still leaves what it measured."""

    def __init__(self, memory: "WorkerMemory | None", every: float = 60.0):
        super().__init__(self._beat)
        self.memory, self.every, self.start = memory, every, time.perf_counter()

    def _beat(self):
        while not self._stop.wait(self.every):
            line = f"[beat] {time.perf_counter() - self.start:,.0f} s · {load()} · driver RSS {rss_mb():,.0f} MB"
            if self.memory and self.memory.peaks:
                line += (f" · workers now {self.memory.current():,.0f} MB total, peak per worker "
                         f"{max(self.memory.peaks.values()):,.0f} MB ({len(self.memory.peaks)} seen)")
            print(line, flush=True)


class WorkerMemory(Background):
    """Peak RSS of each Ray worker process started under this process (`ray::…` / default_worker.py), sampled
    every 0.2 s in a thread while the prepare runs; other users' Ray processes are not counted."""

    def __init__(self):
        super().__init__(self._sample)
        self.peaks: dict[int, float] = {}
        self.private: dict[int, float] = {}  # RSS minus shared pages (Ray's object store is shared memory)
        self.names: dict[int, str] = {}  # what each process was doing at its peak (ray::<task or actor>)
        self.now: dict[int, float] = {}

    def _workers(self):
        import psutil

        for proc in psutil.Process().children(recursive=True):
            try:
                if proc.name().startswith("ray::") or "default_worker.py" in " ".join(proc.cmdline()):
                    yield proc
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue

    def _sample(self):
        import psutil

        while not self._stop.wait(0.2):
            now = {}
            for proc in self._workers():
                try:
                    info = proc.memory_info()
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
                now[proc.pid] = info.rss / 2**20
                if now[proc.pid] > self.peaks.get(proc.pid, 0.0):
                    self.peaks[proc.pid] = now[proc.pid]
                    try:
                        self.names[proc.pid] = proc.name() if proc.name().startswith("ray::") else \
                            " ".join(proc.cmdline())[:60]
                    except (psutil.NoSuchProcess, psutil.AccessDenied):
                        pass
                self.private[proc.pid] = max(self.private.get(proc.pid, 0.0), (info.rss - info.shared) / 2**20)
            self.now = now

    def current(self) -> float:
        return sum(self.now.values())


def run_engine(cfg, root: Path, engine: str, rows: int) -> tuple[object, float]:
    from honed.data.prepare import run_prepare

    clock = time.perf_counter()
    data = run_prepare(cfg, root / f"prepared-{engine}", engine=engine)
    wall = time.perf_counter() - clock
    audit = json.loads((root / f"prepared-{engine}" / "audit.json").read_text())
    print(f"[{engine}] prepare wall time: {wall:.1f} s · {rows / wall:,.0f} rows/s · {load()}")
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
    parser.add_argument("--object-store-mb", type=int, default=3000,
                        help="local Ray instance: object store size (the rest spills to the temp directory)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    for noisy in ("ray", "ray.data", "filelock"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    from honed.core.config import validate_config

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ.setdefault("HONED_HOME", str(root / "home"))
        clock = time.perf_counter()
        names = [f"chat-{k}.jsonl" for k in range(args.shards)]
        generate(root, names, args.rows, args.seed)
        generate_s = time.perf_counter() - clock
        cfg = validate_config({"project": "curate-scale", "objective": {"task": "generation", "metric": "rougeL"},
                               "data": {"train": names, "audit_tokens": False}}, root=root)
        print(f"rows: {args.rows:,} in {args.shards} file(s) (generated in {generate_s:.1f}s, not counted) · {load()}")
        results, walls = {}, {}
        if args.engine in ("local", "both"):
            with Heartbeat(None):
                results["local"], walls["local"] = run_engine(cfg, root, "local", args.rows)
            local_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"[local] peak RSS {local_peak:,.0f} MB (this process) · {load()}")
        if args.engine in ("ray", "both"):
            import uuid

            import ray

            # A token for this run in the environment: Ray 2.60 would otherwise write one to ~/.ray/auth_token.
            os.environ.setdefault("RAY_AUTH_TOKEN", uuid.uuid4().hex)
            ray.init(address=args.address, num_cpus=None if args.address else args.num_cpus,
                     object_store_memory=None if args.address else args.object_store_mb * 2**20,
                     include_dashboard=False, log_to_driver=False)
            with WorkerMemory() as memory, Heartbeat(memory):
                results["ray"], walls["ray"] = run_engine(cfg, root, "ray", args.rows)
            peaks = sorted(memory.peaks.values(), reverse=True)
            top = sorted(memory.peaks, key=memory.peaks.get, reverse=True)[:4]
            print("[ray] largest workers at their peak: " + "; ".join(
                f"{memory.peaks[pid]:,.0f} MB ({memory.private.get(pid, 0):,.0f} MB private) {memory.names.get(pid)}"
                for pid in top))
            private = sorted(memory.private.values(), reverse=True)
            print(f"[ray] {len(peaks)} worker processes; peak RSS per worker: max {peaks[0] if peaks else 0:,.0f} MB,"
                  f" median {peaks[len(peaks) // 2] if peaks else 0:,.0f} MB; without shared pages (the object store"
                  f" mapped in): max {private[0] if private else 0:,.0f} MB; driver peak RSS "
                  f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB · {load()}")
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
