"""Curate 200,000 short chat rows: clean + exact/near dedup + PII + split (+ writing files and the audit).

Target (issue 3): ≤ 3 minutes and ≤ 4 GB peak memory on 2 CPU cores.

The data is synthetic and seeded: each row is a short support conversation built from a 5,000-word vocabulary,
with 5% exact duplicates (case/whitespace changed), 5% near-duplicates (a word appended: Jaccard ≈ 0.9), 3% rows
carrying PII (email, phone, card) and 1% rows with leftover HTML. It runs `honed.data.prepare.run_prepare` on it
(audit token statistics off: they need a tokenizer and are sampled anyway) and prints rows/s, wall time, the time of
each step and peak RSS (resource.getrusage, this process).

    python benchmarks/curate_scale.py [--rows 200000] [--seed 0]
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from honed.core.config import validate_config
    from honed.data.prepare import run_prepare

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ.setdefault("HONED_HOME", str(root / "home"))
        clock = time.perf_counter()
        with (root / "chat.jsonl").open("w") as f:
            for row in make_rows(args.rows, args.seed):
                f.write(json.dumps(row) + "\n")
        generate_s = time.perf_counter() - clock
        cfg = validate_config({"project": "curate-scale", "objective": {"task": "generation", "metric": "rougeL"},
                               "data": {"train": ["chat.jsonl"], "audit_tokens": False}}, root=root)
        clock = time.perf_counter()
        data = run_prepare(cfg, root / "prepared")
        wall = time.perf_counter() - clock
        audit = json.loads((root / "prepared" / "audit.json").read_text())
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"rows: {args.rows:,} (generated in {generate_s:.1f}s, not counted)")
    print(f"prepare wall time: {wall:.1f} s · {args.rows / wall:,.0f} rows/s · peak RSS {peak_mb:,.0f} MB")
    print("steps: " + ", ".join(f"{s['step']} {s['seconds']}s" for s in audit["steps"] if "seconds" in s))
    print(f"kept {sum(len(v) for v in data.splits.values()):,} · dropped {len(data.dropped):,} · "
          f"duplicates {audit['duplicates']} · pii {audit['pii']}")
    print(f"drops by reason: {audit['drops_by_reason']}")
    ok = wall <= 180 and peak_mb <= 4096
    print(f"target ≤ 180 s and ≤ 4096 MB: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
