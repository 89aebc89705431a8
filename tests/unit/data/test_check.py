"""`honed data check`: each error code at its exact 1-based line, warnings, and the --json contract."""
from __future__ import annotations

import json

from honed.cli import main
from honed.core.config import validate_config
from honed.data.check import check_file

GOOD = {"messages": [{"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "4"}]}


def _chat(*turns, **extra):
    return json.dumps({"messages": list(turns), **extra})


def _u(text="hello"):
    return {"role": "user", "content": text}


def _a(text="hi"):
    return {"role": "assistant", "content": text}


def seeded_defects() -> tuple[list[str], dict[int, str]]:
    """Lines 1..N, with one defect on each listed line; every other line is a distinct valid row."""
    defects = {
        2: "{not json",                                                              # not_json
        4: json.dumps([1, 2, 3]),                                                    # not_object
        5: json.dumps({"messages": "hello"}),                                        # missing_messages
        7: _chat({"role": "user"}, _a()),                                            # message_missing_field
        8: _chat({"role": "robot", "content": "x"}, _a()),                           # unknown_role
        10: _chat({"role": "user", "content": "x", "mood": "happy"}, _a()),          # unused_key (a warning)
        11: _chat({"role": "user", "content": 42}, _a()),                            # content_not_string
        13: _chat(_u("only a question")),                                            # no_assistant
        14: _chat(_u("question here"), _a("   ")),                                   # empty_assistant
        16: json.dumps({"instruction": 5, "output": "x"}),                           # wrong_type (alpaca)
        17: _chat(_u("which label"), _a("x"), label="weather"),                     # label_not_in_set
        19: json.dumps({"messages": [_u("q"), {"role": "assistant", "content": "a", "weight": 3}]}),  # wrong_type
    }
    codes = {2: "not_json", 4: "not_object", 5: "missing_messages", 7: "message_missing_field", 8: "unknown_role",
             11: "content_not_string", 13: "no_assistant", 14: "empty_assistant",
             16: "wrong_type", 17: "label_not_in_set", 19: "wrong_type"}
    lines = []
    for n in range(1, 21):
        lines.append(defects.get(n) or _chat(_u(f"distinct question number {n} about topic {n * 7}"),
                                              _a(f"distinct answer {n}"), label="news"))
    return lines, codes


def test_each_error_code_has_its_line(tmp_path):
    lines, codes = seeded_defects()
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cfg = validate_config({"objective": {"task": "classification", "labels": ["news", "sport"]}})
    result = check_file(path, cfg=cfg)
    assert result["rows"] == 20
    assert {(e["line"], e["code"]) for e in result["errors"]} == set(codes.items())
    # an unknown message key is a warning naming the key, never a silent drop nor a rejected row (issue 10)
    assert any(w["line"] == 10 and w["code"] == "unused_key" and "'mood'" in w["message"] for w in result["warnings"])


def test_blank_lines_keep_file_line_numbers(tmp_path):
    path = tmp_path / "gaps.jsonl"
    rows = [json.dumps(GOOD).replace("2+2", f"{i}+{i}") for i in range(12)]
    rows.insert(3, "")
    rows.insert(6, "oops")
    path.write_text("\n".join(rows) + "\n")
    result = check_file(path)
    assert [(e["line"], e["code"]) for e in result["errors"]] == [(7, "not_json")]


def test_warnings_duplicates_no_user_and_row_count(tmp_path):
    # 30 words + "yes" (27 shingles) vs 30 words + "again yes" (28 shingles): 26 shared, Jaccard 26/29 = 0.897
    base = " ".join(f"word{i}" for i in range(30))
    rows = [_chat(_u(f"question {i} about item {i * 13}"), _a(f"answer {i}")) for i in range(10)]
    rows.append(_chat(_u("Question 3 about ITEM 39"), _a("answer   3")))        # line 11: exact dup of line 4
    rows.append(_chat(_u(base), _a("yes")))                                       # line 12
    rows.append(_chat(_u(base + " again"), _a("yes")))                            # line 13: near dup of 12
    rows.append(_chat({"role": "system", "content": "be brief"}, _a("hello")))   # line 14: no user message
    path = tmp_path / "warn.jsonl"
    path.write_text("\n".join(rows) + "\n")
    result = check_file(path)
    assert result["errors"] == []
    found = {(w["line"], w["code"]) for w in result["warnings"]}
    assert {(11, "duplicate"), (13, "near_duplicate"), (14, "no_user_message"), (0, "few_rows"),
            (0, "no_system_message")} == found
    assert next(w for w in result["warnings"] if w["code"] == "duplicate")["message"] == "same content as line 4"


def test_too_few_rows_is_an_error(tmp_path):
    path = tmp_path / "small.jsonl"
    path.write_text("\n".join(_chat(_u(f"q{i} x"), _a(f"a{i}")) for i in range(9)) + "\n")
    result = check_file(path)
    assert [(e["line"], e["code"]) for e in result["errors"]] == [(0, "too_few_rows")]


def test_cli_json_contract_and_exit_code(tmp_path, capsys):
    lines, codes = seeded_defects()
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n")
    assert main(["data", "check", str(path), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"rows", "format", "errors", "warnings", "groups"}
    assert out["rows"] == 20
    assert all(set(e) == {"line", "code", "message"} and isinstance(e["line"], int) for e in out["errors"])
    # without a label set, line 17 is valid
    assert {(e["line"], e["code"]) for e in out["errors"]} == {(k, v) for k, v in codes.items() if k != 17}

    good = tmp_path / "good.jsonl"
    good.write_text("\n".join(_chat(_u(f"question {i} on subject {i * 3}"), _a(f"answer {i}"))
                              for i in range(120)) + "\n")
    assert main(["data", "check", str(good), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["errors"] == []
