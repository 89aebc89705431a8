"""Every shape the ecosystem writes (issue 10): one fixture per shape, reproduced from the ecosystem's own
examples — TRL's dataset-format docs, OpenAI's fine-tuning guide (tool calling, preference), LLaMA-Factory's
data/ samples (alpaca with system/history, sharegpt with function_call/observation) — each checked for its
`data check` exit code, the detected format, and the exact tokens the trainer trains on."""
from __future__ import annotations

import copy
import json

import pytest

from honed.cli import main
from honed.core.records import Conversation, KTOExample, PreferencePair, record_from_dict
from honed.data.check import check_file
from honed.data.formats import RowError, convert

WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_current_weather", "description": "Get the current weather",
    "parameters": {"type": "object", "properties": {"location": {"type": "string"},
                                                    "format": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
                   "required": ["location", "format"]}}}
# OpenAI fine-tuning guide, "Fine-tuning with function calling" / tool calling example.
OPENAI_TOOLS = {"messages": [
    {"role": "user", "content": "What is the weather in San Francisco?"},
    {"role": "assistant", "tool_calls": [{"id": "call_id", "type": "function", "function": {
        "name": "get_current_weather", "arguments": "{\"location\": \"San Francisco, USA\", \"format\": \"celsius\"}"}}]},
    {"role": "tool", "tool_call_id": "call_id", "content": "21.0"},
    {"role": "assistant", "content": "It is 21 degrees celsius in San Francisco, CA"}], "tools": [WEATHER_TOOL]}
# LLaMA-Factory data/glaive_toolcall_en_demo.json (shape), tools given as a JSON string of bare function specs.
SHAREGPT_TOOLS = {"conversations": [
    {"from": "human", "value": "Hi, I need to convert 500 US dollars to Euros. Can you help me with that?"},
    {"from": "function_call", "value": "{\"name\": \"convert_currency\", \"arguments\": {\"amount\": 500, "
                                       "\"from_currency\": \"USD\", \"to_currency\": \"EUR\"}}"},
    {"from": "observation", "value": "{\"converted_amount\": 425.5, \"from_currency\": \"USD\"}"},
    {"from": "gpt", "value": "Sure, 500 US dollars is approximately 425.50 Euros."}],
    "tools": "[{\"name\": \"convert_currency\", \"description\": \"Convert currency\", \"parameters\": "
             "{\"type\": \"object\", \"properties\": {\"amount\": {\"type\": \"number\"}}}}]"}
FIXTURES = {
    # TRL dataset formats: language modeling, conversational LM, prompt-completion (both), preference (explicit,
    # conversational explicit, implicit prompt), unpaired preference (KTO).
    "trl_text": ({"text": "The sky is blue."}, "text"),
    "trl_messages": ({"messages": [{"role": "user", "content": "What color is the sky?"},
                                   {"role": "assistant", "content": "It is blue."}]}, "chat"),
    "trl_prompt_completion": ({"prompt": "The sky is", "completion": " blue."}, "prompt_completion"),
    "trl_conversational_prompt_completion": (
        {"prompt": [{"role": "user", "content": "What color is the sky?"}],
         "completion": [{"role": "assistant", "content": "It is blue."}]}, "prompt_completion"),
    "trl_preference": ({"prompt": "The sky is", "chosen": " blue.", "rejected": " green."}, "preference"),
    "trl_conversational_preference": (
        {"prompt": [{"role": "user", "content": "What color is the sky?"}],
         "chosen": [{"role": "assistant", "content": "It is blue."}],
         "rejected": [{"role": "assistant", "content": "It is green."}]}, "preference"),
    "trl_implicit_preference": (
        {"chosen": [{"role": "user", "content": "What color is the sky?"}, {"role": "assistant", "content": "It is blue."}],
         "rejected": [{"role": "user", "content": "What color is the sky?"},
                      {"role": "assistant", "content": "It is green."}]}, "preference"),
    "trl_kto": ({"prompt": "The sky is", "completion": " blue.", "label": True}, "kto"),
    "trl_conversational_kto": ({"prompt": [{"role": "user", "content": "What color is the sky?"}],
                                "completion": [{"role": "assistant", "content": "It is green."}], "label": False},
                               "kto"),
    "openai_tools": (OPENAI_TOOLS, "chat"),
    "openai_developer_parts": ({"messages": [
        {"role": "developer", "content": "You are terse."},
        {"role": "user", "content": [{"type": "text", "text": "What color "}, {"type": "text", "text": "is the sky?"}]},
        {"role": "assistant", "content": "Blue."}]}, "chat"),
    "openai_preference": ({"input": {"messages": [{"role": "user", "content": "Hello, can you tell me how cold San "
                                                                            "Francisco is today?"}]},
                           "preferred_output": [{"role": "assistant", "content": "Today in San Francisco, it is not "
                                                 "quite cold as expected. Morning clouds will give away to sunshine."}],
                           "non_preferred_output": [{"role": "assistant", "content": "It is not particularly cold in "
                                                     "San Francisco today."}]}, "preference"),
    "llamafactory_alpaca": ({"instruction": "What about the second one?", "input": "", "output": "It is Paris.",
                             "system": "You answer geography questions.",
                             "history": [["What is the capital of Germany?", "Berlin."],
                                         ["And of Spain?", "Madrid."]]}, "alpaca"),
    "llamafactory_sharegpt_tools": (SHAREGPT_TOOLS, "sharegpt"),
}


@pytest.fixture(scope="module")
def tokenizer():
    from honed.models.load import load_tokenizer

    return load_tokenizer("tiny-random")


def _cfg(**train):
    from honed.core.config import validate_config

    return validate_config({"model": {"base": "tiny-random"}, "train": train})


def _variants(row: dict, n: int = 12) -> list[dict]:
    """n distinct copies of a fixture (numbers woven into every string, so no two rows are duplicates)."""
    def vary(value, i):
        if isinstance(value, str):
            return value if value.startswith(("{", "[")) else f"{value} (case {i * 37} of set {i})"
        if isinstance(value, dict):
            return {k: vary(v, i) if k not in ("role", "from", "type", "name", "id", "tool_call_id") else v
                    for k, v in value.items()}
        if isinstance(value, list):
            return [vary(v, i) for v in value]
        return value
    return [vary(copy.deepcopy(row), i) for i in range(n)]


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_each_ecosystem_shape_passes_check_with_its_format(name, tmp_path, capsys):
    row, shape = FIXTURES[name]
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in _variants(row)), encoding="utf-8")
    code = main(["data", "check", str(path), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert (code, out["format"], out["errors"]) == (0, shape, [])
    assert not [w for w in out["warnings"] if w["code"] == "unused_key"], out["warnings"]


def _trained_segments(name: str, tokenizer) -> list[str]:
    """The texts of the consecutive trained token runs, as the SFT trainer receives them."""
    from honed.train.sft import tokenize_records

    record, _ = convert(FIXTURES[name][0])
    (row,), skipped = tokenize_records(tokenizer, [record.to_dict()], 512)
    assert not skipped
    segments, current = [], []
    for token, keep in zip(row["input_ids"], row["assistant_masks"]):
        if keep:
            current.append(token)
        elif current:
            segments.append(tokenizer.decode(current))
            current = []
    return segments + ([tokenizer.decode(current)] if current else [])


def test_tool_call_arguments_and_answer_train_but_not_the_tool_result(tokenizer):
    segments = _trained_segments("openai_tools", tokenizer)
    assert segments == [
        '<tool_call>\n{"name": "get_current_weather", "arguments": {"location": "San Francisco, USA", '
        '"format": "celsius"}}\n</tool_call><|im_end|>',
        "It is 21 degrees celsius in San Francisco, CA<|im_end|>"]


def test_tools_reach_the_template_and_the_tool_result_is_context(tokenizer):
    from honed.core.chat import assistant_spans

    record, _ = convert(OPENAI_TOOLS)
    text, spans = assistant_spans(tokenizer, record.messages, record.tools)
    assert '"name": "get_current_weather"' in text.split("<|im_end|>")[0]  # the tool spec, in the system turn
    assert "<|im_start|>tool\n21.0<|im_end|>" in text
    assert not any(s <= text.index("21.0") < e for s, e in spans)


def test_sharegpt_function_call_and_observation(tokenizer):
    record, _ = convert(SHAREGPT_TOOLS)
    assert [m["role"] for m in record.messages] == ["user", "assistant", "tool", "assistant"]
    assert record.messages[1]["tool_calls"][0]["function"] == {
        "name": "convert_currency", "arguments": {"amount": 500, "from_currency": "USD", "to_currency": "EUR"}}
    assert record.tools[0]["function"]["name"] == "convert_currency"
    segments = _trained_segments("llamafactory_sharegpt_tools", tokenizer)
    assert len(segments) == 2 and "convert_currency" in segments[0] and "425.50 Euros" in segments[1]
    assert not any("converted_amount" in s for s in segments)


def test_developer_becomes_system_and_parts_are_joined(tokenizer):
    from honed.core.chat import render_prompt

    record, _ = convert(FIXTURES["openai_developer_parts"][0])
    assert record.messages[1]["content"] == "What color is the sky?"
    prompt = render_prompt(tokenizer, record.messages[:2])
    assert prompt.startswith("<|im_start|>system\nYou are terse.<|im_end|>")  # SmolLM2 knows no developer role


def test_alpaca_system_and_history_become_turns(tokenizer):
    record, warnings = convert(FIXTURES["llamafactory_alpaca"][0])
    assert not warnings
    assert [(m["role"], m["content"]) for m in record.messages] == [
        ("system", "You answer geography questions."), ("user", "What is the capital of Germany?"),
        ("assistant", "Berlin."), ("user", "And of Spain?"), ("assistant", "Madrid."),
        ("user", "What about the second one?"), ("assistant", "It is Paris.")]
    assert _trained_segments("llamafactory_alpaca", tokenizer) == ["Berlin.<|im_end|>", "Madrid.<|im_end|>",
                                                                   "It is Paris.<|im_end|>"]


def test_conversational_prompt_completion_trains_the_completion_only(tokenizer):
    row = {"prompt": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello, ask away."},
                      {"role": "user", "content": "Sky colour?"}],
           "completion": [{"role": "assistant", "content": "Blue."}]}
    (row_record, _) = convert(row)
    from honed.train.sft import tokenize_records

    (tokens,), _ = tokenize_records(tokenizer, [row_record.to_dict()], 256)
    trained = [t for t, keep in zip(tokens["input_ids"], tokens["assistant_masks"]) if keep]
    assert tokenizer.decode(trained) == "Blue.<|im_end|>"


def test_implicit_prompt_keeps_multi_turn_remainders():
    shared = [{"role": "user", "content": "Plan a trip."}]
    row = {"chosen": shared + [{"role": "assistant", "content": "Where to?"}, {"role": "user", "content": "Rome"},
                               {"role": "assistant", "content": "Day 1: Colosseum."}],
           "rejected": shared + [{"role": "assistant", "content": "No."}]}
    record, _ = convert(row)
    assert isinstance(record, PreferencePair)
    assert record.prompt == shared
    assert [m["content"] for m in record.chosen] == ["Where to?", "Rome", "Day 1: Colosseum."]
    assert [m["content"] for m in record.rejected] == ["No."]


def test_explicit_prompt_multi_turn_chosen_keeps_every_turn():
    row = {"prompt": "Plan a trip.", "chosen": [{"role": "assistant", "content": "Where to?"},
                                                {"role": "user", "content": "Rome"},
                                                {"role": "assistant", "content": "Day 1: Colosseum."}],
           "rejected": [{"role": "assistant", "content": "No."}]}
    record, _ = convert(row)
    assert len(record.chosen) == 3 and record.chosen[-1]["content"] == "Day 1: Colosseum."
    assert record_from_dict(json.loads(json.dumps(record.to_dict()))) == record


def test_kto_rows_are_kto_and_never_sft():
    from honed.core.errors import HonedError
    from honed.train.loop import resolve_objective
    from honed.train.preference import unpaired_rows

    rows = [convert({"prompt": f"Q{i}", "completion": f"A{i}", "label": i % 2 == 0})[0].to_dict() for i in range(4)]
    assert all(isinstance(record_from_dict(r), KTOExample) for r in rows)
    assert resolve_objective(_cfg(), rows) == "kto"
    with pytest.raises(HonedError, match="kto"):
        resolve_objective(_cfg(objective="sft"), rows)
    assert [r["label"] for r in unpaired_rows(rows)] == [True, False, True, False]
    assert unpaired_rows(rows)[1]["completion"] == [{"role": "assistant", "content": "A1"}]


@pytest.mark.parametrize("row, code", [
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]},
                   {"role": "assistant", "content": "A cat."}]}, "non_text_content"),
    ({"messages": [{"role": "user", "content": "q"}], "chosen": "a", "rejected": "b"}, "ambiguous_shape"),
    ({"foo": 1}, "unknown_shape"),
    ({"prompt": "p", "completion": "c", "label": "yes"}, None),  # a string label is not KTO: a warning, kept
])
def test_errors_name_the_problem(row, code):
    if code is None:
        record, warnings = convert(row)
        assert isinstance(record, Conversation) and "'label'" in warnings[0]["message"]
        return
    with pytest.raises(RowError) as caught:
        convert(row)
    assert caught.value.code == code
    if code == "ambiguous_shape":
        assert "chat" in str(caught.value) and "preference" in str(caught.value)


def test_role_order_and_zero_weights_are_errors(tmp_path):
    rows = [{"messages": [{"role": "user", "content": f"question {i} on topic {i * 11}"},
                          {"role": "assistant", "content": f"answer {i}"}]} for i in range(12)]
    rows[2] = {"messages": [{"role": "assistant", "content": "hello first"}, {"role": "user", "content": "q2"},
                            {"role": "assistant", "content": "a2"}]}
    rows[4] = {"messages": [{"role": "user", "content": "q4"}, {"role": "assistant", "content": "a4"},
                            {"role": "user", "content": "dangling q4"}]}
    rows[6] = {"messages": [{"role": "user", "content": "q6"}, {"role": "assistant", "content": "a6", "weight": 0}]}
    path = tmp_path / "order.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    errors = {(e["line"], e["code"]) for e in check_file(path)["errors"]}
    assert errors == {(3, "role_order"), (5, "role_order"), (7, "no_trained_turn")}


def test_repeated_errors_are_grouped(tmp_path, capsys):
    path = tmp_path / "unknown.jsonl"
    path.write_text("".join(json.dumps({"question": f"q{i}"}) + "\n" for i in range(12)))
    assert main(["data", "check", str(path)]) == 1
    captured = capsys.readouterr()
    out = captured.out + captured.err
    assert "unknown_shape on 12 rows: lines 1–12" in out and out.count("unknown_shape") == 1
    assert main(["data", "check", str(path), "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert len([e for e in result["errors"] if e["code"] == "unknown_shape"]) == 12
    assert {"code": "unknown_shape", "count": 12, "lines": list(range(1, 13))}.items() <= result["groups"][0].items()


def test_format_flag_is_validated(tmp_path, capsys):
    with pytest.raises(SystemExit) as caught:
        main(["data", "check", str(tmp_path / "x.jsonl"), "--format", "chatml"])
    assert caught.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_truncated_json_line_reports_its_real_column(tmp_path):
    good = json.dumps({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]})
    path = tmp_path / "cut.jsonl"
    path.write_text(good[:40] + "\n")
    (error,) = [e for e in check_file(path)["errors"] if e["code"] == "not_json"]
    assert "column 41" in error["message"] or "column 40" in error["message"], error


def test_column_flags_and_missing_label_is_an_error(tmp_path, capsys):
    rows = [{"body": f"text number {i} about {i * 5}", "category": "a" if i % 2 else "b"} for i in range(12)]
    rows[3] = {"body": "no label here at all"}
    path = tmp_path / "cls.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code = main(["data", "check", str(path), "--json", "--text-column", "body", "--label-column", "category"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1 and out["format"] == "classification"
    assert [(e["line"], e["code"]) for e in out["errors"]] == [(4, "missing_label")]


def test_text_row_in_a_classification_project_is_missing_its_label(tmp_path):
    from honed.core.config import validate_config

    rows = [{"text": f"text number {i} about {i * 5}", "label": "a" if i % 2 else "b"} for i in range(12)]
    rows[5] = {"text": "no label"}
    path = tmp_path / "cls.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = check_file(path, cfg=validate_config({"objective": {"task": "classification"}}))
    assert [(e["line"], e["code"]) for e in result["errors"]] == [(6, "missing_label")]


def test_a_file_of_duplicates_fails_check(tmp_path):
    row = {"messages": [{"role": "user", "content": "same"}, {"role": "assistant", "content": "same"}]}
    path = tmp_path / "dups.jsonl"
    path.write_text((json.dumps(row) + "\n") * 15)
    assert any(e["code"] == "only_duplicates" for e in check_file(path)["errors"])
