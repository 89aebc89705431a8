"""Readers: BOMs accepted; non-UTF-8, truncated gzip, JSON scalars and broken CSV give clear errors."""
from __future__ import annotations

import gzip
import json

import pytest

from honed.core.errors import HonedError
from honed.data.formats import RowError, iter_rows

ROW = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}


def test_bom_prefixed_jsonl_and_csv_are_read(tmp_path):
    (tmp_path / "a.jsonl").write_bytes(b"\xef\xbb\xbf" + json.dumps(ROW).encode() + b"\n")
    (tmp_path / "a.csv").write_bytes(b"\xef\xbb\xbftext,label\r\nhello,a\r\n")
    assert list(iter_rows(tmp_path / "a.jsonl")) == [(1, ROW)]
    assert list(iter_rows(tmp_path / "a.csv")) == [(2, {"text": "hello", "label": "a"})]


@pytest.mark.parametrize("name", ["a.jsonl", "a.csv", "a.txt", "a.json", "a.jsonl.gz"])
def test_non_utf8_names_file_line_and_iconv(tmp_path, name):
    body = b'{"text": "ok"}\n{"text": "caf\xe9"}\n' if "json" in name else b"text\nok\ncaf\xe9\n"
    if name == "a.json":
        body = b'[{"text": "ok"},\n{"text": "caf\xe9"}]'
    path = tmp_path / name
    path.write_bytes(gzip.compress(body) if name.endswith(".gz") else body)
    with pytest.raises(HonedError) as err:
        list(iter_rows(path))
    text = err.value.render()
    assert "not UTF-8" in text and name in text and "iconv" in text
    assert "line 2" in text or (name.endswith(".csv") or name.endswith(".txt")) and "line 3" in text


def test_truncated_gzip_is_a_clear_error(tmp_path):
    data = gzip.compress(b"".join(json.dumps({"text": f"row {i}"}).encode() + b"\n" for i in range(2000)))
    path = tmp_path / "a.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(HonedError, match="damaged|truncated"):
        list(iter_rows(path))


@pytest.mark.parametrize("content", ["42", '"just a string"', "null", "true"])
def test_json_scalar_file_is_a_clear_error(tmp_path, content):
    (tmp_path / "a.json").write_text(content, encoding="utf-8")
    with pytest.raises(HonedError, match="single JSON"):
        list(iter_rows(tmp_path / "a.json"))


def test_truncated_json_line_reports_its_real_column(tmp_path):
    line = json.dumps(ROW)[:-2]
    (tmp_path / "a.jsonl").write_text(line + "\n", encoding="utf-8")
    [(number, row)] = list(iter_rows(tmp_path / "a.jsonl"))
    assert isinstance(row, RowError) and number == 1
    assert f"column {len(line) + 1}" in str(row)


def test_csv_row_with_extra_cells_is_a_row_error_not_a_none_key(tmp_path):
    (tmp_path / "a.csv").write_text("text,label\nhello,a\nhi,b,extra\n", encoding="utf-8")
    rows = list(iter_rows(tmp_path / "a.csv"))
    assert rows[0] == (2, {"text": "hello", "label": "a"})
    assert rows[1][0] == 3 and isinstance(rows[1][1], RowError) and rows[1][1].code == "csv_columns"


def test_csv_with_nul_byte_is_a_clear_error(tmp_path):
    (tmp_path / "a.csv").write_bytes(b"text,label\nhel\x00lo,a\n")
    try:
        rows = list(iter_rows(tmp_path / "a.csv"))
    except HonedError as err:
        assert "a.csv" in err.render()
    else:  # newer csv modules accept NUL: then the row is read as is
        assert rows == [(2, {"text": "hel\x00lo", "label": "a"})]
