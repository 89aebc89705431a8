"""`honed data synthesize`: tagged, balanced, de-duplicated rows that never overlap the test split; garbage from a
teacher is filtered out with its reasons; augmentation keeps labels and answers."""
from __future__ import annotations

import json
from collections import Counter

from teacherkit import Teacher, teacher

from honed.cli import main
from honed.core.config import load_config
from honed.core.prepared import PreparedData, read_jsonl
from honed.data.dedup import find_overlap, normalise
from honed.data.formats import content_key
from honed.evaluate.candidates import prompt_of


def _user(record: dict) -> str:
    return prompt_of(record)[-1]["content"]


def _prepare(config) -> PreparedData:
    assert main(["data", "prepare", str(config), "-o", str(config.parent / "prepared")]) == 0
    return PreparedData.load(config.parent / "prepared")


def test_synthetic_rows_are_tagged_balanced_unique_and_far_from_the_test_split(tiny_project, capsys):
    data = _prepare(tiny_project)
    Teacher.seed_rows = [(_user(r), r["label"]) for r in data.splits["train"]]
    Teacher.trap_rows = [(_user(r), r["label"]) for r in data.splits["test"] + data.splits["validation"]]
    out = tiny_project.parent / "synthetic.jsonl"
    with teacher("good") as url:
        code = main(["data", "synthesize", str(tiny_project), "--n", "9", "--teacher", url, "-o", str(out)])
    assert code == 0, capsys.readouterr().err
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(out)
    rows = read_jsonl(out)
    dropped = Counter(d["code"] for d in read_jsonl(out.with_name("synthetic.dropped.jsonl")))
    assert len(rows) == 9 and Counter(r["label"] for r in rows) == {"billing": 3, "shipping": 3, "login": 3}
    assert all(r["meta"]["synthetic"]["teacher"].startswith("gpt-4o-mini at http://127.0.0.1") for r in rows)
    assert all('whose answer is "' + r["label"] + '"' in r["meta"]["synthetic"]["prompt"] for r in rows)
    assert dropped["duplicate"] >= 2 and dropped["contamination"] >= 1  # the teacher's traps were caught
    texts = [normalise(_user(r)) for r in rows]
    assert len(set(texts)) == len(texts) and not set(texts) & {normalise(t) for t, _ in Teacher.seed_rows}
    evaluation = data.splits["test"] + data.splits["validation"]
    assert find_overlap([content_key(r) for r in rows], [content_key(r) for r in evaluation], 0.8) == {}
    instruction = load_config(tiny_project).data.instruction
    assert all(r["messages"][0] == {"role": "system", "content": instruction} for r in rows)


def test_garbage_from_the_teacher_is_filtered_with_reasons(tiny_project):
    out = tiny_project.parent / "synthetic.jsonl"
    with teacher("garbage") as url:
        assert main(["data", "synthesize", str(tiny_project), "--n", "6", "--teacher", url, "-o", str(out)]) == 0
    assert read_jsonl(out) == []
    reasons = Counter(d["code"] for d in read_jsonl(out.with_name("synthetic.dropped.jsonl")))
    assert reasons["language"] >= 6  # symbol soup fails the script check, round after round


def test_augmentation_keeps_labels_and_tags_each_perturbation(tiny_project):
    out = tiny_project.parent / "augmented.jsonl"
    assert main(["data", "synthesize", str(tiny_project), "--n", "12", "--augment", "-o", str(out)]) == 0
    rows = read_jsonl(out)
    data = PreparedData.load(tiny_project.parent / "prepared")
    seeds = {_user(r): r["label"] for r in data.splits["train"]}
    assert len(rows) == 12 and Counter(r["label"] for r in rows) == {"billing": 4, "shipping": 4, "login": 4}
    kinds = Counter(r["meta"]["synthetic"]["prompt"].split(" of ")[0] for r in rows)
    assert set(kinds) <= {"typo", "casing", "entity_swap"} and len(kinds) >= 2
    for row in rows:
        text = _user(row)
        assert text not in seeds and row["messages"][-1]["content"] == row["label"]
        source = json.dumps(row["meta"])
        assert "augment" in source
    test_inputs = {_user(r) for r in data.splits["test"]}
    assert not test_inputs & {_user(r) for r in rows}


def test_the_local_teacher_samples_the_base_model_and_its_output_is_filtered(tiny_project, one_thread):
    from honed.data.prepare import load_records
    from honed.synth.flow import synthesize_for

    cfg = load_config(tiny_project)
    records, _ = load_records(cfg)  # no full prepare: the seeds and the rows to avoid are enough here
    data = PreparedData(tiny_project.parent, "h", {"train": records[:40], "test": records[40:]}, labels=[])
    result = synthesize_for(cfg, data, 1, "local")
    assert result.teacher == "local tiny-random"
    # A random 2-layer model writes no usable ticket: every candidate is dropped, each with a named reason.
    assert result.rows == [] and len(result.dropped) == 5  # one candidate per round, five rounds
    assert {d["code"] for d in result.dropped} <= {"empty", "length", "language", "label_disagreement", "duplicate",
                                                   "unparseable"}
