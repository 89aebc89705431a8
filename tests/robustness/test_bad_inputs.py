"""Every file of the bad-input corpus through every reader and data verb: a clear error or a clean result, never a
traceback; for every clean result, rows in = rows kept + rows dropped."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from corpus import build_corpus

from honed.cli import main
from honed.core.errors import HonedError
from honed.data.formats import RowError, iter_rows


def _names() -> list[str]:
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        return sorted(build_corpus(Path(scratch)))


NAMES = _names()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    return build_corpus(tmp_path_factory.mktemp("corpus"))


def _rows_or_error(path: Path):
    try:
        return list(iter_rows(path)), None
    except HonedError as err:
        return None, err


@pytest.mark.parametrize("name", NAMES)
def test_reader_gives_rows_or_a_clear_error(corpus, name):
    rows, err = _rows_or_error(corpus[name])
    if err is not None:
        text = err.render()
        assert text.startswith("error:") and "fix:" in text, text
        return
    for number, row in rows:
        assert isinstance(number, int) and number >= 1
        assert isinstance(row, RowError | dict | list | str | int | float | bool) or row is None


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(argv)  # any exception other than HonedError escapes here and fails the test with its traceback
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    if code == 2:
        assert err.lstrip().startswith("error:"), err
    return code, out, err


@pytest.mark.parametrize("name", NAMES)
def test_data_check(corpus, name, capsys):
    code, out, err = _run(["data", "check", str(corpus[name]), "--json"], capsys)
    assert code in (0, 1, 2)
    if code in (0, 1) and out.strip():
        result = json.loads(out)
        assert result["rows"] >= 0


@pytest.mark.parametrize("name", NAMES)
def test_data_redact_keeps_every_line(corpus, name, capsys, tmp_path):
    out = tmp_path / "redacted.out"
    code, _, _ = _run(["data", "redact", str(corpus[name]), "-o", str(out)], capsys)
    assert code in (0, 2)
    if code == 0:
        rows, err = _rows_or_error(corpus[name])
        source = corpus[name].read_bytes().decode("utf-8-sig") if not name.endswith(".gz") else None
        if source is not None:
            assert len(out.read_text(encoding="utf-8").splitlines()) == len(source.splitlines())
    else:
        assert not out.exists()  # a failed redact leaves no half-written output


@pytest.mark.parametrize("name", NAMES)
def test_data_dedup_accounts_for_every_row(corpus, name, capsys, tmp_path):
    out, removed = tmp_path / "kept.jsonl", tmp_path / "removed.jsonl"
    code, _, _ = _run(["data", "dedup", str(corpus[name]), "-o", str(out), "--removed", str(removed)], capsys)
    assert code in (0, 2)
    if code == 0:
        rows, _ = _rows_or_error(corpus[name])
        kept = len(out.read_text(encoding="utf-8").splitlines())
        dropped = len(removed.read_text(encoding="utf-8").splitlines())
        assert kept + dropped == len(rows)


@pytest.mark.parametrize("name", NAMES)
def test_data_prepare_accounts_for_every_row(corpus, name, capsys, tmp_path):
    config = tmp_path / "honed.yaml"
    config.write_text(f"""project: robust
objective: {{task: generation, metric: token_f1, target: 0.5}}
data: {{train: ["{corpus[name]}"], audit_tokens: false, near_dedup: false}}
model: {{base: tiny-random}}
""", encoding="utf-8")
    out = tmp_path / "prepared"
    code, _, _ = _run(["data", "prepare", str(config), "-o", str(out)], capsys)
    assert code in (0, 2)
    if code == 0:
        info = json.loads((out / "dataset.json").read_text(encoding="utf-8"))
        counts = info["counts"]
        kept = sum(len((out / f"{s}.jsonl").read_text(encoding="utf-8").splitlines())
                   for s in ("train", "validation", "test"))
        dropped = len((out / "dropped.jsonl").read_text(encoding="utf-8").splitlines())
        assert counts["read"] == kept + dropped, counts
    else:
        assert not out.exists() or not any(p.name.startswith(".") for p in out.parent.iterdir() if p != out)
