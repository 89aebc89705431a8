"""Property-based fuzzing (hypothesis, bounded budget): the JSONL and CSV readers and the redactor never crash.

Readers: any bytes give rows or a HonedError, never another exception. Redactor: any text gives a string, and an
email or a card number planted in any surrounding text never survives.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from honed.core.errors import HonedError
from honed.data.formats import RowError, iter_rows
from honed.data.pii import Redactor

BUDGET = settings(max_examples=150, deadline=None, derandomize=True,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
REDACTOR = Redactor()

json_like = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                         lambda children: st.lists(children, max_size=4)
                         | st.dictionaries(st.text(max_size=8), children, max_size=4), max_leaves=12)


def _read(suffix: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / f"fuzz{suffix}"
        path.write_bytes(data)
        try:
            for number, row in iter_rows(path):
                assert number >= 1
                assert isinstance(row, RowError | dict | list | str | int | float | bool) or row is None
        except HonedError as err:
            assert err.render().startswith("error:")


@BUDGET
@given(st.binary(max_size=400))
def test_jsonl_reader_on_arbitrary_bytes(data):
    _read(".jsonl", data)


@BUDGET
@given(st.lists(json_like.map(lambda v: __import__("json").dumps(v)) | st.text(max_size=40), max_size=8))
def test_jsonl_reader_on_json_ish_lines(lines):
    _read(".jsonl", "\n".join(lines).encode("utf-8", "surrogatepass"))


@BUDGET
@given(st.binary(max_size=300) | st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_csv_reader_on_arbitrary_input(data):
    _read(".csv", data)


@BUDGET
@given(st.text(max_size=300))
def test_redactor_never_crashes(text):
    redacted, counts = REDACTOR.redact(text)
    assert isinstance(redacted, str)
    assert all(isinstance(v, int) and v > 0 for v in counts.values())


@BUDGET
@given(st.text(max_size=80), st.text(max_size=80))
def test_planted_pii_never_survives(before, after):
    for secret in ("jane.doe@example.com", "4111 1111 1111 1111"):
        redacted, _ = REDACTOR.redact(f"{before} {secret} {after}")
        assert secret not in redacted
