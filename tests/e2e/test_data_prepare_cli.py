"""`honed data prepare CONFIG` end to end on the tiny project, with token statistics from tiny-random."""
from __future__ import annotations

import json

from honed.cli import main


def test_prepare_cli_on_tiny_project(tiny_project, capsys):
    out = tiny_project.parent / "prepared"
    assert main(["data", "prepare", str(tiny_project), "--output", str(out)]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(out)
    audit = json.loads((out / "audit.json").read_text())
    assert audit["length_unit"] == "tokens" and audit["tokens"]["by_split"]["train"]["examples"] == 48
    assert audit["splits"] == {"train": 48, "validation": 6, "test": 6}
    assert set(audit["labels"]) == {"billing", "shipping", "login"}
    assert (out / "audit.html").read_text().startswith("<!doctype html>")


def test_bad_config_regex_is_a_human_error(tiny_project, capsys):
    assert main(["data", "prepare", str(tiny_project), "data.drop_patterns=['(unclosed']"]) == 2
    err = capsys.readouterr().err
    assert "drop_patterns" in err and "not a valid regex" in err and "Traceback" not in err
