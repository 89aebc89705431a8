"""Atomic writes: a failed or interrupted write leaves the old file; same-path in/out is safe."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from honed.cli import main
from honed.core.io import atomic_write_text, atomic_writer, publish_dir, staging_dir

SRC = Path(__file__).resolve().parents[2] / "src"


def test_atomic_writer_keeps_old_file_when_the_write_fails(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_writer(target) as f:
        f.write("half")
        raise RuntimeError("crash")
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]  # no temporary file left behind


def test_atomic_write_keeps_the_mode_of_the_file_it_replaces(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old", encoding="utf-8")
    target.chmod(0o640)
    atomic_write_text(target, "new")
    assert target.read_text(encoding="utf-8") == "new"
    assert target.stat().st_mode & 0o777 == 0o640


def test_publish_dir_replaces_the_set_and_keeps_foreign_entries(tmp_path):
    target = tmp_path / "prepared"
    target.mkdir()
    (target / "train.jsonl").write_text("old", encoding="utf-8")
    (target / "run").mkdir()  # e.g. something else the user keeps there
    staging = staging_dir(target)
    (staging / "train.jsonl").write_text("new", encoding="utf-8")
    publish_dir(staging, target)
    assert (target / "train.jsonl").read_text(encoding="utf-8") == "new"
    assert (target / "run").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prepared"]


def test_redact_onto_its_own_input_keeps_the_content(tmp_path, capsys):
    file = tmp_path / "notes.txt"
    file.write_text("write to bob@example.com\nnothing here\n", encoding="utf-8")
    assert main(["data", "redact", str(file), "-o", str(file)]) == 0
    assert file.read_text(encoding="utf-8") == "write to <EMAIL>\nnothing here\n"


def test_dedup_onto_its_own_input_keeps_the_kept_rows(tmp_path):
    file = tmp_path / "rows.jsonl"
    rows = [{"text": f"row number {i} with enough words to compare", "label": "a"} for i in range(5)]
    file.write_text("".join(json.dumps(r) + "\n" for r in rows + rows[:2]), encoding="utf-8")
    assert main(["data", "dedup", str(file), "-o", str(file)]) == 0
    kept = [json.loads(line) for line in file.read_text(encoding="utf-8").splitlines()]
    assert kept == rows


PAUSING_PREPARE = """
import sys, time
from pathlib import Path
import honed.data.report as report
original = report.write_audit
def pausing(out_dir, *args):
    result = original(out_dir, *args)
    Path(sys.argv[1]).write_text(str(out_dir))
    time.sleep(120)
    return result
report.write_audit = pausing
from honed.cli import main
sys.exit(main(["data", "prepare", sys.argv[2], "-o", sys.argv[3]]))
"""


def test_kill_during_prepare_leaves_the_previous_complete_set(tiny_project, tmp_path):
    out = tmp_path / "prepared"
    assert main(["data", "prepare", str(tiny_project), "-o", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert {"train.jsonl", "dataset.json", "audit.json", "audit.html", "dropped.jsonl"} <= set(before)
    # change the data so a completed second prepare would differ
    data = tiny_project.parent / "data.jsonl"
    data.write_text("".join(data.read_text(encoding="utf-8").splitlines(keepends=True)[:-5]), encoding="utf-8")
    flag = tmp_path / "paused"
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    proc = subprocess.Popen([sys.executable, "-c", PAUSING_PREPARE, str(flag), str(tiny_project), str(out)], env=env)
    try:
        deadline = time.monotonic() + 60
        while not flag.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert flag.exists(), "the prepare subprocess never reached the audit"
        assert Path(flag.read_text()) != out  # the audit was being written elsewhere (staging)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    after = {p.name: p.read_bytes() for p in out.iterdir()}
    assert after == before


def test_prepare_refuses_an_output_that_holds_the_project(tiny_project, capsys):
    assert main(["data", "prepare", str(tiny_project), "-o", str(tiny_project.parent)]) == 2
    assert "holds the project" in capsys.readouterr().err
    assert (tiny_project.parent / "data.jsonl").is_file()


def test_staging_left_by_a_killed_process_is_removed(tmp_path):
    target = tmp_path / "prepared"
    orphan = tmp_path / ".prepared.staging-999999999-abc"  # no such process
    orphan.mkdir()
    live = staging_dir(target)
    assert not orphan.exists() and live.is_dir()
