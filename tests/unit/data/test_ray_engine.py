"""The Ray Data engine and the local engine agree row for row: the same splits, the same dropped.jsonl (reasons
and order), the same audit counts — on two files with exact and near duplicates, near-duplicate groups, PII,
unreadable rows, an unknown label and a test file that contaminates training. A local Ray cluster, 2 workers,
that writes only under pytest's tmp and leaves no process behind. `honed --help` never imports Ray."""
from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import time

import psutil
import pytest

ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'honed[scale]')")
pytest.importorskip("ray.data")

from honed.core.config import validate_config
from honed.core.prepared import read_jsonl
from honed.data.prepare import run_prepare

LABELS = ("billing", "shipping", "login")
RAY_PROCESS = re.compile(r"^ray::|/ray/|raylet|gcs_server")  # workers, Ray's scripts and binaries


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory):
    """A local Ray cluster with 2 worker CPUs. Its session directory is under pytest's tmp, and so is HOME: Ray
    2.60 saves an auth token to ~/.ray/auth_token unless it is given one, and honed gives its local instance one
    (ray_engine._token_for_a_local_instance, called here as connect() does); the test checks Ray wrote nothing
    into HOME. After shutdown no Ray process of ours may remain."""
    from honed.data.ray_engine import _token_for_a_local_instance

    keys = ("HOME", "RAY_AUTH_TOKEN", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN_PATH", "RAY_ADDRESS")
    home, saved = tmp_path_factory.mktemp("ray-home"), {k: os.environ.pop(k, None) for k in keys}
    os.environ["HOME"] = str(home)
    _token_for_a_local_instance(None)
    assert os.environ.get("RAY_AUTH_TOKEN")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             _temp_dir=str(tmp_path_factory.mktemp("ray")))
    assert _ray_processes(), "a local Ray cluster runs child processes (raylet, workers)"
    try:
        yield home
    finally:
        ray.shutdown()
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
    left = _ray_processes(wait=15)
    assert not left, f"Ray left processes behind: {left}"
    # matplotlib (the audit's charts, in this process) caches fonts under HOME; anything else came from Ray.
    written = [str(p.relative_to(home)) for p in home.rglob("*") if "matplotlib" not in p.parts and p.is_file()]
    assert not written, f"Ray wrote into HOME: {written}"


def _ray_processes(wait: float = 0.0) -> list[str]:
    """This process's descendants that belong to Ray (raylet, gcs_server, workers), after up to `wait` s."""
    deadline = time.monotonic() + wait
    while True:
        found = []
        for proc in psutil.Process().children(recursive=True):
            try:
                line = " ".join(proc.cmdline()) or proc.name()
            except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
                continue
            if RAY_PROCESS.search(line):
                found.append(f"{proc.pid} {line[:80]}")
        if not found or time.monotonic() >= deadline:
            return found
        time.sleep(0.5)


def _rows(rng: random.Random, n: int, prefix: str) -> list[dict]:
    vocab = [f"{prefix}{k}" for k in range(400)]
    rows = []
    for i in range(n):
        label = LABELS[i % 3]
        rows.append({"text": f"Ticket {prefix}{i} about {label}: " + " ".join(rng.choice(vocab) for _ in range(14)),
                     "label": label})
    return rows


def _project(tmp_path) -> object:
    rng = random.Random(7)
    first, second = _rows(rng, 150, "a"), _rows(rng, 120, "b")
    first[3]["text"] += " mail me at ann@example.com or call +1 415 555 0199"
    second[5]["text"] += " card 4111 1111 1111 1111"
    first += [dict(first[10]), {**first[11], "text": "  " + first[11]["text"].upper()}]  # exact duplicates
    first.append({**first[20], "text": first[20]["text"] + " thanks"})  # near duplicate (dropped)
    words = first[30]["text"].split()
    first.append({**first[30], "text": " ".join(words[:-4] + ["x1", "x2", "x3", "x4"])})  # kept, but grouped
    first.append({"text": "   ", "label": "billing"})  # empty after cleaning
    second.append({"text": "about the weather today", "label": "weather"})  # label not in the set
    second.append({**first[40]})  # exact duplicate across files
    test_rows = [second[60], {**first[50], "text": first[50]["text"] + " please"}]  # contaminate training
    for name, rows in (("a.jsonl", first), ("b.jsonl", second), ("test.jsonl", test_rows)):
        (tmp_path / name).write_text("".join(json.dumps(r) + "\n" for r in rows))
    with (tmp_path / "a.jsonl").open("a") as f:
        f.write("{broken\n")
    raw = {"project": "t", "objective": {"task": "classification", "labels": list(LABELS)},
           "data": {"train": ["a.jsonl", "b.jsonl"], "test": "test.jsonl", "audit_tokens": False,
                    "unknown_labels": "drop"}}
    return validate_config(raw, root=tmp_path)


def _outputs(directory) -> dict:
    audit = json.loads((directory / "audit.json").read_text())
    return {"files": {n: read_jsonl(directory / f"{n}.jsonl") for n in ("train", "validation", "test", "dropped")},
            "hash": json.loads((directory / "dataset.json").read_text())["hash"],
            "counts": {s["step"]: s["rows"] for s in audit["steps"]},
            "duplicates": audit["duplicates"], "pii": audit["pii"], "contamination": audit.get("contamination"),
            "engine": audit.get("engine")}


@pytest.mark.slow  # 60-80 s on the shared 2-core VM, most of it Ray start-up and three shuffles
def test_ray_and_local_give_identical_splits_and_drops(tmp_path, two_workers, monkeypatch):
    cfg = _project(tmp_path)
    monkeypatch.setenv("HONED_RAY_READ_BLOCK_ROWS", "16")  # each file is read in several blocks
    run_prepare(cfg, tmp_path / "local", engine="local")
    run_prepare(cfg, tmp_path / "ray", engine="ray")
    local, on_ray = _outputs(tmp_path / "local"), _outputs(tmp_path / "ray")
    # dropped.jsonl row for row: the same rows, with the same reason, in the same order.
    assert [(d["source"], d["line"], d["reason"]) for d in on_ray["files"]["dropped"]] == [
        (d["source"], d["line"], d["reason"]) for d in local["files"]["dropped"]]
    reasons = {d["reason"].split(":")[0] for d in local["files"]["dropped"]}
    # The fixture exercises every kind of drop, and dedup found groups, PII and contamination.
    assert {"not_json", "empty", "label_not_in_set", "exact_duplicate", "near_duplicate",
            "contamination"} <= reasons, reasons
    assert local["duplicates"]["groups"] >= 1 and local["pii"] and local["contamination"]["dropped"] >= 1
    for name in ("train", "validation", "test", "dropped"):
        assert on_ray["files"][name] == local["files"][name], name
    assert on_ray["hash"] == local["hash"]
    assert on_ray["counts"] == local["counts"]
    assert on_ray["engine"] == "ray (2 CPUs)" and local["engine"] == "local"
    assert on_ray["duplicates"] == local["duplicates"] and on_ray["pii"] == local["pii"]
    assert on_ray["contamination"] == local["contamination"]


@pytest.mark.slow
def test_a_usage_error_raised_on_a_worker_reaches_the_user_unwrapped(tmp_path, two_workers):
    """`unknown_labels: error` fails inside a Ray task; the user gets honed's message, not Ray's wrapper."""
    from honed.core.errors import HonedError

    rows = [{"text": f"ticket {i}", "label": "billing"} for i in range(5)] + [{"text": "x", "label": "refunds"}]
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = validate_config({"project": "t", "objective": {"task": "classification", "labels": list(LABELS)},
                           "data": {"train": ["a.jsonl"], "audit_tokens": False, "unknown_labels": "error"}},
                          root=tmp_path)
    with pytest.raises(HonedError, match="refunds") as raised:
        run_prepare(cfg, tmp_path / "ray", engine="ray")
    assert raised.type is HonedError  # Ray's RayTaskError subclasses the cause's type: the wrapper would pass too


def test_help_does_not_import_ray():
    """`honed --help` and `honed data prepare --help` stay instant: Ray (and torch) load only when used."""
    probe = ("import sys\nfrom honed.cli import main\nfor argv in (['--help'], ['data', 'prepare', '--help']):\n"
             "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
             "print(sorted(m for m in ('ray', 'torch') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert "--engine" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_a_read_task_holds_at_most_one_block_and_reads_as_the_local_engine(tmp_path):
    """read_blocks (the Ray read task) streams a file in blocks of ≤ N rows; sorted like the driver sorts them,
    its records and drops are the local reader's, missing-label drops (which depend on the whole file) included."""
    import honed.data.prepare as steps
    from honed.data.ray_engine import LATER, read_blocks

    rows = [{"text": f"ticket {i} about billing", "label": "billing"} for i in range(23)]
    rows[4] = {"text": "a text row without its label column"}
    rows[17] = {"text": "another one"}
    path = tmp_path / "mixed.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + "{broken\n")
    cfg = validate_config({"project": "t", "data": {"train": [str(path)]}}, root=tmp_path)
    blocks = list(read_blocks(steps, cfg, 5, {"file": [0], "path": [str(path)]}))
    assert len(blocks) == 5 and all(len(b["kind"]) <= 5 for b in blocks)
    out = sorted((dict(zip(b, values)) for b in blocks for values in zip(*b.values())),
                 key=lambda r: (r["rank"], r["file"], r["pos"]))
    records = [json.loads(r["json"]) for r in out if r["kind"] == "record"]
    drops = [json.loads(r["json"]) for r in out if r["kind"] == "drop"]
    kept, lost = steps._read_file(cfg, path)
    assert records == kept and drops == lost
    assert [d["reason"].split(":")[0] for d in lost] == ["not_json", "missing_label", "missing_label"]
    assert max(r["pos"] for r in out if r["kind"] == "drop") > LATER  # missing labels sort after unreadable rows


def test_bucket_pairs_are_every_distinct_pair_of_rows_sharing_a_bucket():
    """The driver-side pairing of band rows (vectorised) against a brute force over the same buckets: buckets of
    one row give nothing, a row in several shared buckets with the same partner gives one pair, and two buckets
    whose first 64 bits agree but second do not are kept apart."""
    import itertools

    import numpy as np

    from honed.data.ray_engine import bucket_pairs

    rng = np.random.default_rng(7)
    rows = rng.integers(0, 60, size=400)
    keys = rng.integers(0, 25, size=400)
    keys2 = rng.integers(0, 2, size=400)  # same `key`, different `key2`: different buckets
    a, b = bucket_pairs(rows, keys, keys2)
    buckets: dict = {}
    for row, key, key2 in zip(rows.tolist(), keys.tolist(), keys2.tolist()):
        buckets.setdefault((key, key2), set()).add(row)
    expected = sorted({pair for members in buckets.values() for pair in itertools.combinations(sorted(members), 2)})
    assert list(zip(a.tolist(), b.tolist())) == expected
    assert len(expected) > 100
    ignoring_key2 = bucket_pairs(rows, keys, np.zeros_like(keys2))[0]
    assert len(ignoring_key2) > len(a)
    empty = bucket_pairs(np.array([1, 2]), np.array([5, 6]), np.array([0, 0]))
    assert len(empty[0]) == 0


def test_rows_with_keys_keeps_exactly_the_band_rows_of_shared_keys():
    import numpy as np

    from honed.data.ray_engine import rows_with_keys

    shared = np.array([-9, 3, 40], dtype=np.int64)
    batch = {"i": np.arange(6), "key": np.array([3, 4, 40, -9, 41, -10], dtype=np.int64),
             "key2": np.zeros(6, dtype=np.int64)}
    assert rows_with_keys(shared, batch)["i"].tolist() == [0, 2, 3]
    assert rows_with_keys(np.zeros(0, dtype=np.int64), batch)["i"].tolist() == []


def test_first_in_bucket_names_the_smallest_row_of_each_bucket():
    import numpy as np

    from honed.data.ray_engine import first_in_bucket

    rows = np.array([9, 4, 7, 2, 5], dtype=np.int64)
    keys = np.array([1, 1, 1, 3, 3], dtype=np.int64)
    keys2 = np.array([0, 0, 8, 0, 0], dtype=np.int64)  # row 7 shares row 9's `key` but not its bucket
    ordered, firsts = first_in_bucket(rows, keys, keys2)
    assert dict(zip(ordered.tolist(), firsts.tolist())) == {4: 4, 9: 4, 7: 7, 2: 2, 5: 2}
    assert first_in_bucket(rows[:0], keys[:0], keys2[:0])[0].tolist() == []


def test_verify_keeps_only_the_pairs_at_or_above_the_link_with_their_exact_jaccard():
    """Each verification chunk carries its own pairs' texts (no broadcast of every text to every worker)."""
    import numpy as np

    from honed.data.dedup import jaccard, shingles
    from honed.data.ray_engine import _verify

    near = "the parcel left the depot on monday and reached the town hall on friday after a long delay"
    texts = [near, near + " indeed", "a completely different sentence about refunds and cards"]
    batch = {"a": np.array([0, 0]), "b": np.array([1, 2]), "text_a": np.array([texts[0], texts[0]], dtype=object),
             "text_b": np.array([texts[1], texts[2]], dtype=object)}
    out = _verify(0.5, batch)
    assert out["a"].tolist() == [0] and out["b"].tolist() == [1]
    assert out["score"].tolist() == [jaccard(shingles(texts[0]), shingles(texts[1]))]
    assert _verify(1.01, batch)["a"].tolist() == []


def test_shuffle_map_input_is_bounded_unless_the_user_set_it(monkeypatch):
    """Ray's default (1 GB of blocks coalesced per map task) put 80 M band keys in one 5.4 GB task."""
    from types import SimpleNamespace

    from honed.data.ray_engine import SHUFFLE_ROWS, _bound_shuffle_map_input

    monkeypatch.delenv("RAY_DATA_SHUFFLE_INPUT_BATCH_BYTES", raising=False)
    context = SimpleNamespace(shuffle_input_batch_bytes=1 << 30)
    _bound_shuffle_map_input(context)
    assert context.shuffle_input_batch_bytes == SHUFFLE_ROWS * 8 < 1 << 30
    monkeypatch.setenv("RAY_DATA_SHUFFLE_INPUT_BATCH_BYTES", str(1 << 28))
    chosen = SimpleNamespace(shuffle_input_batch_bytes=1 << 28)
    _bound_shuffle_map_input(chosen)
    assert chosen.shuffle_input_batch_bytes == 1 << 28


@pytest.mark.parametrize("raised, fix", [
    (ConnectionError("ray client connection timeout"), "ray://HEAD:10001"),
    (ValueError("Invalid address format: foo"), "ray://HEAD:10001"),
    (ValueError("Ray Client requires pip package `ray[client]`."), "honed[scale]"),
])
def test_an_unreachable_cluster_is_a_usage_error_naming_the_address_and_the_fix(monkeypatch, raised, fix):
    from honed.core.errors import HonedError
    from honed.data.ray_engine import connect

    def refuse(**kwargs):
        raise raised

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", refuse)
    with pytest.raises(HonedError) as caught:
        connect("ray://10.9.9.9:10001")
    assert "ray://10.9.9.9:10001" in str(caught.value) and str(raised) in str(caught.value)
    assert fix in caught.value.fix


def test_expected_rows_counts_jsonl_lines_and_parquet_metadata_and_gives_up_on_the_rest(tmp_path):
    import gzip

    import pyarrow as pa
    import pyarrow.parquet as pq

    from honed.data.ray_engine import expected_rows

    (tmp_path / "a.jsonl").write_text("".join(json.dumps({"text": f"row {i}"}) + "\n" for i in range(37)))
    pq.write_table(pa.table({"text": [f"r{i}" for i in range(11)]}), tmp_path / "b.parquet")
    (tmp_path / "c.csv").write_text('text\n"two\nlines"\n')
    with gzip.open(tmp_path / "d.jsonl.gz", "wt") as handle:
        handle.write('{"text": "x"}\n')
    assert expected_rows([str(tmp_path / "a.jsonl"), str(tmp_path / "b.parquet")]) == 48
    assert expected_rows([str(tmp_path / "a.jsonl"), str(tmp_path / "c.csv")]) is None
    assert expected_rows([str(tmp_path / "d.jsonl.gz")]) is None


@pytest.mark.slow  # ~10 s: six small Ray stages
def test_ray_dedup_ticks_each_stage_and_finds_what_the_local_dedup_finds(two_workers, tmp_path):
    from honed.data.dedup import find_duplicates
    from honed.data.ray_engine import connect, ray_duplicates

    rng = random.Random(3)
    texts = [" ".join(rng.choice([f"w{k}" for k in range(300)]) for _ in range(20)) for _ in range(60)]
    texts += [texts[4].upper(), texts[9] + " extra", texts[9] + " extra"]  # exact, near, and an exact of the near
    cfg = _project(tmp_path)
    ticks: list[str] = []
    found = ray_duplicates(connect(), texts, cfg, ticks.append)
    local = find_duplicates(texts, cfg.data.dedup_threshold, True, cfg.data.group_threshold, seed=cfg.data.split.seed)
    assert ticks == ["exact: digests", "exact: shared digests", "near: MinHash band keys", "near: shared band keys",
                     "near: candidate pairs", "near: verified"]
    assert found.kept == local.kept and [(d.index, d.of, d.kind) for d in found.duplicates] == \
        [(d.index, d.of, d.kind) for d in local.duplicates]
    assert {d.kind for d in found.duplicates} == {"exact", "near"}
