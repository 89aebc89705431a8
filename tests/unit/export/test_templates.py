"""End tokens and Modelfile templates are read from the chat template itself, for ChatML and other shapes."""
from __future__ import annotations

import copy

import pytest

from honed.export.modelfile import CHATML_TEMPLATE, modelfile_text, translate_chat_template
from honed.export.tokens import end_of_turn_token, end_token_ids
from honed.models.load import load_tokenizer

LLAMA3 = ("{{ '<|begin_of_text|>' }}{% for m in messages %}{{ '<|start_header_id|>' + m['role'] + "
          "'<|end_header_id|>\\n\\n' + m['content'] + '<|eot_id|>' }}{% endfor %}"
          "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}")
GEMMA = ("{% for m in messages %}{% set role = 'model' if m['role'] == 'assistant' else m['role'] %}"
         "{{ '<start_of_turn>' + role + '\\n' + m['content'] + '<end_of_turn>\\n' }}{% endfor %}"
         "{% if add_generation_prompt %}{{ '<start_of_turn>model\\n' }}{% endif %}")
CHATML_RENAMED = ("{% for m in messages %}{% set role = 'bot' if m['role'] == 'assistant' else m['role'] %}"
                  "{{ '<|im_start|>' + role + '\\n' + m['content'] + '<|im_end|>\\n' }}{% endfor %}"
                  "{% if add_generation_prompt %}{{ '<|im_start|>bot\\n' }}{% endif %}")


@pytest.fixture(scope="module")
def smol():
    return load_tokenizer("tiny-random")


def with_template(tokenizer, template: str, specials: list[str]):
    clone = copy.deepcopy(tokenizer)
    clone.add_special_tokens({"additional_special_tokens": specials}, replace_extra_special_tokens=False)
    clone.chat_template = template
    return clone


def test_chatml_end_of_turn_and_translation(smol):
    assert end_of_turn_token(smol) == "<|im_end|>"
    assert end_token_ids(smol) == [smol.convert_tokens_to_ids("<|im_end|>")]
    translation = translate_chat_template(smol)
    assert translation.template == CHATML_TEMPLATE  # derived by rendering, equal to the documented ChatML form
    assert translation.system and "SmolLM" in translation.system  # the template's default system message


def test_llama3_style_template_translates_and_stops_on_eot(smol):
    tok = with_template(smol, LLAMA3, ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
                                       "<|eot_id|>"])
    assert end_of_turn_token(tok) == "<|eot_id|>"
    ids = end_token_ids(tok)
    assert ids == [tok.convert_tokens_to_ids("<|eot_id|>"), tok.eos_token_id]  # end-of-turn first, then EOS
    translation = translate_chat_template(tok)
    assert translation.template == ("<|begin_of_text|>{{- range .Messages }}<|start_header_id|>{{ .Role }}"
                                    "<|end_header_id|>\n\n{{ .Content }}<|eot_id|>{{ end }}<|start_header_id|>"
                                    "assistant<|end_header_id|>\n\n")
    text = modelfile_text("m.gguf", tok)
    assert [line for line in text.splitlines() if line.startswith("PARAMETER stop")] == [
        'PARAMETER stop "<|eot_id|>"', 'PARAMETER stop "<|im_end|>"']


def test_renamed_roles_without_chatml_markers_give_no_template_and_say_why(smol):
    tok = with_template(smol, GEMMA, ["<start_of_turn>", "<end_of_turn>"])
    assert end_of_turn_token(tok) == "<end_of_turn>"
    translation = translate_chat_template(tok)
    assert translation.template is None and "assistant" in translation.note
    text = modelfile_text("m.gguf", tok)
    assert "TEMPLATE \"\"\"" not in text and "# No TEMPLATE:" in text and "FROM ./m.gguf" in text


def test_untranslatable_chatml_falls_back_to_the_documented_chatml_form(smol):
    tok = with_template(smol, CHATML_RENAMED, [])
    translation = translate_chat_template(tok)
    assert translation.template == CHATML_TEMPLATE and "ChatML" in translation.note


def test_go_template_delimiters_in_literal_text_are_escaped(smol):
    tok = with_template(smol, LLAMA3.replace("<|begin_of_text|>", "{{sys}}"), ["<|start_header_id|>",
                                                                               "<|end_header_id|>", "<|eot_id|>"])
    template = translate_chat_template(tok).template
    assert template.startswith('{{ "{{" }}sys}}{{- range')  # Go prints `{{`, then `sys}}` verbatim
