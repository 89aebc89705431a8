"""run_prepare: every file written, nothing vanishes, leak-free seeded stratified splits, PII gone, store record."""
from __future__ import annotations

import json
from collections import Counter

import pytest

from honed.core.config import validate_config
from honed.core.errors import HonedError
from honed.core.prepared import read_jsonl
from honed.data.dedup import jaccard, shingles
from honed.data.prepare import run_prepare
from honed.data.split import split_records

LABELS = ("billing", "shipping", "login")


def _rows(n_per_label: int = 40) -> list[dict]:
    rows = []
    for label in LABELS:
        for i in range(n_per_label):
            words = " ".join(f"{label[:3]}{i}w{j}" for j in range(12))
            rows.append({"text": f"Ticket {i} about {label}: {words}", "label": label})
    return rows


def _config(tmp_path, rows, **data):
    (tmp_path / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    raw = {"project": "t", "objective": {"task": "classification", "labels": list(LABELS)},
           "data": {"train": ["data.jsonl"], "audit_tokens": False, **data}}
    return validate_config(raw, root=tmp_path)


def test_prepare_writes_everything_and_nothing_vanishes(tmp_path):
    rows = _rows()
    rows[5] = {**rows[5], "text": rows[5]["text"] + " mail me at ann@example.com"}
    rows += [rows[0], {"text": "   ", "label": "billing"}, {"text": "x", "label": "weather"},
             {"text": rows[1]["text"] + " thanks", "label": rows[1]["label"]}]  # exact, empty, bad label, near
    cfg = _config(tmp_path, rows, unknown_labels="drop")
    (tmp_path / "data.jsonl").open("a").write("{broken\n")
    out = tmp_path / "prepared"
    data = run_prepare(cfg, out)
    for name in ("train.jsonl", "validation.jsonl", "test.jsonl", "dropped.jsonl", "dataset.json", "audit.json",
                 "audit.html"):
        assert (out / name).is_file(), name
    kept = sum(len(read_jsonl(out / f"{s}.jsonl")) for s in ("train", "validation", "test"))
    dropped = read_jsonl(out / "dropped.jsonl")
    assert kept + len(dropped) == len(rows) + 1 == data.counts["read"]
    reasons = Counter(d["reason"].split(":")[0] for d in dropped)
    assert reasons == {"not_json": 1, "empty": 1, "label_not_in_set": 1, "exact_duplicate": 1,
                       "near_duplicate": 1}
    assert {d["line"] for d in dropped} == {121, 122, 123, 124, 125}
    every = [r for part in data.splits.values() for r in part]
    assert all(r["meta"]["source"].endswith("data.jsonl") and r["meta"]["line"] >= 1 for r in every)
    assert "ann@example.com" not in (out / "train.jsonl").read_text() + (out / "test.jsonl").read_text() + \
        (out / "validation.jsonl").read_text()
    audit = json.loads((out / "audit.json").read_text())
    assert audit["pii"] == {"EMAIL": 1} and audit["duplicates"]["exact"] == 1 and audit["duplicates"]["near"] == 1
    html = (out / "audit.html").read_text()
    assert html.count("data:image/png;base64,") >= 4 and "Bias audit" in html
    info = json.loads((out / "dataset.json").read_text())
    assert info["hash"] == data.dataset_hash and info["labels"] == list(LABELS)
    from honed.core.store import Store

    with Store() as store:
        assert store.dataset(data.dataset_hash)["rows"] == kept


def test_prepare_is_deterministic_and_content_addressed(tmp_path):
    a = run_prepare(_config(tmp_path / "a", _rows()) if (tmp_path / "a").mkdir() is None else None, tmp_path / "oa")
    b = run_prepare(_config(tmp_path / "b", _rows()) if (tmp_path / "b").mkdir() is None else None, tmp_path / "ob")
    assert a.dataset_hash == b.dataset_hash  # same content from another path: same hash
    c = run_prepare(_config(tmp_path / "c", _rows(), split={"seed": 99}) if (tmp_path / "c").mkdir() is None
                    else None, tmp_path / "oc")
    assert c.dataset_hash != a.dataset_hash


def test_split_is_stratified_and_seeded():
    records = [{"messages": [], "label": label, "meta": {"line": i}} for i, label in
               enumerate(["a"] * 50 + ["b"] * 30 + ["c"] * 20)]
    parts = split_records(records, {"train": 0.8, "validation": 0.1, "test": 0.1}, seed=5)
    counts = {name: Counter(r["label"] for r in rows) for name, rows in parts.items()}
    assert counts["train"] == {"a": 40, "b": 24, "c": 16}
    assert counts["validation"] == {"a": 5, "b": 3, "c": 2} == counts["test"]
    again = split_records(records, {"train": 0.8, "validation": 0.1, "test": 0.1}, seed=5)
    assert [r["meta"]["line"] for r in again["test"]] == [r["meta"]["line"] for r in parts["test"]]
    other = split_records(records, {"train": 0.8, "validation": 0.1, "test": 0.1}, seed=6)
    assert {r["meta"]["line"] for r in other["test"]} != {r["meta"]["line"] for r in parts["test"]}


def test_near_duplicates_never_cross_splits(tmp_path):
    rows = []
    for i in range(60):  # 60 families of 3 paraphrases each, Jaccard 0.5..0.8 with each other (kept, grouped)
        words = [f"f{i}w{j}" for j in range(24)]
        rows += [{"text": " ".join(words), "label": LABELS[i % 3]},
                 {"text": " ".join(words[:20] + ["alt", "ending", "one", "x"]), "label": LABELS[i % 3]},
                 {"text": " ".join(words[:18] + ["other", "ending", "two", "y", "z", "q"]), "label": LABELS[i % 3]}]
    data = run_prepare(_config(tmp_path, rows, dedup_threshold=0.95), tmp_path / "out")
    where = {}
    for name, part in data.splits.items():
        for r in part:
            where[r["messages"][-2]["content"]] = name
    texts = list(where)
    linked = 0
    for i, a in enumerate(texts):
        for b in texts[i + 1:]:
            if jaccard(shingles(a), shingles(b)) >= 0.5:
                linked += 1
                assert where[a] == where[b], (a, b)
    assert linked >= 60 and len(where) == 180
    assert json.loads((tmp_path / "out" / "audit.json").read_text())["duplicates"]["groups"] == 60


def test_given_test_file_is_respected_and_contamination_dropped(tmp_path):
    rows = _rows()
    test_rows = [rows[0], {"text": rows[3]["text"] + " please", "label": rows[3]["label"]}] + \
        [{"text": f"held out question {i} " + " ".join(f"h{i}q{j}" for j in range(8)), "label": "login"}
         for i in range(8)]
    (tmp_path / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in test_rows))
    (tmp_path / "bench.jsonl").write_text(json.dumps(rows[7]) + "\n")
    cfg = _config(tmp_path, rows, test="test.jsonl", contamination=["bench.jsonl"])
    data = run_prepare(cfg, tmp_path / "out")
    assert len(data.splits["test"]) == 10
    leaked = [d for d in data.dropped if d["step"] == "contamination"]
    assert sorted(d["line"] for d in leaked) == [1, 4, 8]
    assert len(data.splits["train"]) + len(data.splits["validation"]) == len(rows) - 3
    assert len(data.splits["validation"]) == pytest.approx((len(rows) - 3) / 9, abs=2)


def test_label_outside_the_set_stops_with_a_clear_error(tmp_path):
    rows = _rows() + [{"text": "what is the weather", "label": "weather"}]
    cfg = _config(tmp_path, rows)
    with pytest.raises(HonedError) as info:
        run_prepare(cfg, tmp_path / "prepared")
    message = info.value.render()
    assert "'weather'" in message and f"data.jsonl:{len(rows)}" in message and "unknown_labels: drop" in message
    assert not (tmp_path / "prepared" / "train.jsonl").exists()  # nothing half-written


def test_dropped_rows_carry_code_and_detail(tmp_path):
    rows = _rows(10)
    rows.append(rows[0])
    data = run_prepare(_config(tmp_path, rows), tmp_path / "prepared")
    (dup,) = read_jsonl(tmp_path / "prepared" / "dropped.jsonl")
    assert dup["code"] == "exact_duplicate" and dup["detail"].startswith("Jaccard 1.00 with ")
    assert dup["reason"] == f"{dup['code']}: {dup['detail']}" and dup["line"] == 31
    assert data.counts["dropped"] == 1


def test_a_given_test_file_is_deduplicated(tmp_path):
    rows = _rows(10)
    test_rows = [{"text": f"held out {i} " + " ".join(f"h{i}w{j}" for j in range(12)), "label": "billing"}
                 for i in range(5)]
    (tmp_path / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in test_rows + test_rows[:2]))
    data = run_prepare(_config(tmp_path, rows, test="test.jsonl"), tmp_path / "prepared")
    assert len(data.splits["test"]) == 5
    twins = [d for d in read_jsonl(tmp_path / "prepared" / "dropped.jsonl") if d["step"].startswith("test-file")]
    assert [(d["code"], d["line"]) for d in twins] == [("exact_duplicate", 6), ("exact_duplicate", 7)]


def test_kto_rows_keep_their_boolean_labels(tmp_path):
    rows = [{"prompt": f"Describe item {i} " + " ".join(f"k{i}w{j}" for j in range(10)),
             "completion": f"Item {i} is fine.", "label": i % 2 == 0} for i in range(20)]
    (tmp_path / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = validate_config({"project": "t", "data": {"train": ["data.jsonl"], "audit_tokens": False}}, root=tmp_path)
    data = run_prepare(cfg, tmp_path / "prepared")
    every = [r for part in data.splits.values() for r in part]
    assert len(every) == 20 and all(r["kind"] == "kto" and isinstance(r["label"], bool) for r in every)
    assert data.labels == []  # a KTO label is not a class label


def test_the_slow_steps_advance_progress_bars_that_end_full(tmp_path, monkeypatch):
    """PII and MinHash report rows as they go (every PROGRESS_EVERY / 5,000 rows); each step's bar ends full even
    when it counted fewer rows than it was given (exact duplicates are never signed)."""
    import honed.data.prepare as prepare

    monkeypatch.setattr(prepare, "PROGRESS_EVERY", 50)
    monkeypatch.setattr("honed.core.progress.BAR_FROM_ROWS", 100)  # 180 rows get bars; see the small-input test below
    rows = _rows(60)  # 180 rows
    cfg = _config(tmp_path, rows)
    told: list[int] = []
    records = [{"messages": [{"role": "user", "content": r["text"] + " ann@example.com"}], "meta": {}} for r in rows]
    redacted = prepare.redact_step(records, cfg, Counter(), progress=told.append)
    assert told == [50, 50, 50] and "<EMAIL>" in redacted[0]["messages"][0]["content"]

    started: list[tuple[str, int]] = []
    real_start = prepare.StepBars.start

    def recording_start(self, name, total):
        started.append((name, total))
        return real_start(self, name, total)

    monkeypatch.setattr(prepare.StepBars, "start", recording_start)
    bars_seen = []
    real_exit = prepare.StepBars.__exit__

    def recording_exit(self, *exc):
        result = real_exit(self, *exc)
        bars_seen.extend((t.description, t.completed, t.total) for t in self._progress.tasks)
        return result

    monkeypatch.setattr(prepare.StepBars, "__exit__", recording_exit)
    run_prepare(cfg, tmp_path / "out")
    assert [name for name, _ in started] == ["PII", "dedup: MinHash"]
    assert started[0][1] == len(rows)
    assert bars_seen and all(done == total for _, done, total in bars_seen)


def test_a_small_input_shows_no_bar(tmp_path, capsys):
    """Below BAR_FROM_ROWS the steps take seconds: no bar, so a usage error stays the first line printed."""
    cfg = _config(tmp_path, _rows(10))
    run_prepare(cfg, tmp_path / "out")
    assert "PII" not in capsys.readouterr().err
