"""Every input format and shape reads to the same canonical record (and canonical records read back unchanged)."""
from __future__ import annotations

import csv
import gzip
import json

import pytest

from honed.data.formats import iter_rows, to_record

CONVERSATION = [{"role": "user", "content": "Name a colour."}, {"role": "assistant", "content": "Blue."}]
CHAT = {"kind": "conversation", "messages": CONVERSATION}
PAIR = {"kind": "preference", "prompt": CONVERSATION[:1], "chosen": [{"role": "assistant", "content": "Blue."}],
        "rejected": [{"role": "assistant", "content": "Seven."}]}
SHAPES = {
    "chat": ({"messages": CONVERSATION}, CHAT),
    "sharegpt": ({"conversations": [{"from": "human", "value": "Name a colour."}, {"from": "gpt", "value": "Blue."}]},
                 CHAT),
    "alpaca": ({"instruction": "Name a colour.", "input": "", "output": "Blue."}, CHAT),
    "alpaca_input": ({"instruction": "Translate.", "input": "rouge", "output": "red"},
                     {"kind": "conversation", "messages": [{"role": "user", "content": "Translate.\n\nrouge"},
                                                           {"role": "assistant", "content": "red"}]}),
    "prompt_completion": ({"prompt": "Name a colour.", "completion": "Blue."}, {**CHAT, "completion_only": True}),
    "classification": ({"text": "Name a colour.", "label": "Blue."}, {**CHAT, "label": "Blue."}),
    "preference": ({"prompt": "Name a colour.", "chosen": "Blue.", "rejected": "Seven."}, PAIR),
    "preference_openai": ({"input": {"messages": CONVERSATION[:1]},
                           "preferred_output": [{"role": "assistant", "content": "Blue."}],
                           "non_preferred_output": [{"role": "assistant", "content": "Seven."}]}, PAIR),
    "preference_hh": ({"chosen": "\n\nHuman: Name a colour.\n\nAssistant: Blue.",
                       "rejected": "\n\nHuman: Name a colour.\n\nAssistant: Seven."}, PAIR),
    "text": ({"text": "Some raw text."}, {"kind": "text", "text": "Some raw text."}),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_shape_to_canonical(shape):
    row, expected = SHAPES[shape]
    assert to_record(row, "auto") == expected


def _records(path):
    return [to_record(row, "auto") for _, row in iter_rows(path)]


def test_file_formats_round_trip(tmp_path):
    rows = [{"text": f"message {i}", "label": "a" if i % 2 else "b"} for i in range(5)]
    expected = [to_record(r, "auto") for r in rows]
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "d.json").write_text(json.dumps(rows, indent=2))
    with gzip.open(tmp_path / "d.jsonl.gz", "wt") as f:
        f.write("".join(json.dumps(r) + "\n" for r in rows))
    for name, delimiter in (("d.csv", ","), ("d.tsv", "\t")):
        with open(tmp_path / name, "w", newline="") as f:
            writer = csv.DictWriter(f, ["text", "label"], delimiter=delimiter)
            writer.writeheader()
            writer.writerows(rows)
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "d.parquet")
    for name in ("d.jsonl", "d.json", "d.jsonl.gz", "d.csv", "d.tsv", "d.parquet"):
        assert _records(tmp_path / name) == expected, name
    assert [n for n, _ in iter_rows(tmp_path / "d.csv")] == [2, 3, 4, 5, 6]  # header is line 1


def test_txt_is_raw_text(tmp_path):
    (tmp_path / "t.txt").write_text("first line\n\nsecond line\n")
    assert list(iter_rows(tmp_path / "t.txt")) == [(1, {"text": "first line"}), (3, {"text": "second line"})]


def test_canonical_records_read_back_unchanged():
    record = {"kind": "conversation", "messages": CONVERSATION, "label": "x", "completion_only": True,
              "meta": {"source": "a", "line": 3}}
    assert to_record(json.loads(json.dumps(record)), "auto") == record
    old = {k: v for k, v in record.items() if k != "kind"}  # prepared before rows carried `kind`
    assert to_record(json.loads(json.dumps(old)), "auto") == record
