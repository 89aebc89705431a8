"""An Ollama Modelfile beside the GGUF: FROM, the chat template in Go-template syntax, one stop per end token.

The Jinja template is not parsed; it is *rendered* with probe messages and the rendering is read back. When every
role is wrapped the same way (`PREFIX role MIDDLE content SUFFIX`, as ChatML and Llama 3 do), that wrapper is the
Go template. Anything else (renamed roles, content rewritten per position) is reported as untranslatable; then
the documented ChatML translation is used only if the template uses ChatML's markers, and otherwise the
Modelfile carries no TEMPLATE and says why.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from honed.export.tokens import end_token_ids

ROLES = ("system", "user", "assistant")
CHATML_TEMPLATE = ('{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n'
                   '{{ end }}<|im_start|>assistant\n')


@dataclass(frozen=True)
class Translation:
    template: str | None
    system: str | None  # a default system message the Jinja template inserts when none is given
    note: str


def content_probe(role: str) -> str:
    return f"HONEDPROBE{role.upper()}"


def translate_chat_template(tokenizer) -> Translation:
    """The Go template equivalent to the tokenizer's Jinja chat template, or the reason there is none."""
    if not getattr(tokenizer, "chat_template", None):
        return Translation(None, None, "the tokenizer has no chat template")
    try:
        wrapper, prompt, lead = _read_wrapper(tokenizer)
    except (ValueError, KeyError, IndexError) as exc:
        return _fallback(tokenizer, f"the chat template could not be read back by rendering ({exc})")
    except Exception as exc:  # noqa: BLE001 - templates may raise anything (raise_exception in Jinja)
        return _fallback(tokenizer, f"the chat template raised {type(exc).__name__} when rendered: {exc}")
    prefix, middle, suffix = wrapper
    body = (f"{_literal(lead)}{{{{- range .Messages }}}}{_literal(prefix)}{{{{ .Role }}}}{_literal(middle)}"
            f"{{{{ .Content }}}}{_literal(suffix)}{{{{ end }}}}{_literal(prompt)}")
    return Translation(body, _default_system(tokenizer), "translated from the Jinja chat template by rendering")


def modelfile_text(gguf_name: str, tokenizer) -> str:
    translation = translate_chat_template(tokenizer)
    lines = ["# Ollama Modelfile written by honed. Run: ollama create NAME -f Modelfile && ollama run NAME",
             f"FROM ./{gguf_name}"]
    if translation.template is None:
        lines.append(f"# No TEMPLATE: {translation.note}.")
    else:
        lines += [f"# TEMPLATE {translation.note}.", f'TEMPLATE """{translation.template}"""']
    if translation.system:
        lines.append(f"SYSTEM {json.dumps(translation.system)}")
    for token_id in end_token_ids(tokenizer):
        lines.append(f"PARAMETER stop {json.dumps(tokenizer.convert_ids_to_tokens(token_id))}")
    return "\n".join(lines) + "\n"


def _render(tokenizer, messages, generation: bool) -> str:
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation)


def _read_wrapper(tokenizer) -> tuple[tuple[str, str, str], str, str]:
    """((prefix, middle, suffix) shared by every role, generation prompt, text before the first message)."""
    messages = [{"role": r, "content": content_probe(r)} for r in ROLES]
    text = _render(tokenizer, messages, generation=False)
    prompt = _render(tokenizer, messages, generation=True)
    if not prompt.startswith(text):
        raise ValueError("the generation prompt is not appended after the conversation")
    cuts = [text.index(content_probe(r)) for r in ROLES]
    pieces = []  # for each role: the text between the previous content's end and this content
    previous_end = None
    for role, start in zip(ROLES, cuts):
        pieces.append(text[previous_end:start] if previous_end is not None else text[:start])
        previous_end = start + len(content_probe(role))
    tail = text[previous_end:]
    head_role = pieces[0].rfind(ROLES[0])
    if head_role < 0:
        raise ValueError("the role name does not appear in the rendered message header")
    suffix = tail
    for role, piece in zip(ROLES[1:], pieces[1:]):  # each later piece is SUFFIX + PREFIX role MIDDLE
        if not piece.startswith(suffix) or role not in piece:
            raise ValueError(f"the `{role}` message is wrapped differently from the last one")
    prefix_middle = pieces[1][len(suffix):]
    at = prefix_middle.rfind(ROLES[1])
    prefix, middle = prefix_middle[:at], prefix_middle[at + len(ROLES[1]):]
    for role, piece in zip(ROLES, pieces):
        if not piece.endswith(f"{prefix}{role}{middle}"):
            raise ValueError(f"the `{role}` message header differs from `{prefix}ROLE{middle}`")
    lead = pieces[0][: len(pieces[0]) - len(f"{prefix}{ROLES[0]}{middle}")]
    return (prefix, middle, suffix), prompt[len(text):], lead


def _default_system(tokenizer) -> str | None:
    """The system message the template inserts when a conversation has none (SmolLM2 does), for SYSTEM."""
    try:
        text = _render(tokenizer, [{"role": "user", "content": content_probe("user")}], generation=False)
        (prefix, middle, suffix), _, lead = _read_wrapper(tokenizer)
    except Exception:  # noqa: BLE001
        return None
    head = f"{lead}{prefix}system{middle}"
    if not text.startswith(head):
        return None
    end = text.find(suffix, len(head)) if suffix else -1
    return text[len(head):end] if end > len(head) else None


def _fallback(tokenizer, reason: str) -> Translation:
    if "<|im_start|>" in tokenizer.chat_template and "<|im_end|>" in tokenizer.chat_template:
        return Translation(CHATML_TEMPLATE, None, f"is the documented ChatML translation: {reason}; the template "
                           "uses ChatML's <|im_start|>/<|im_end|> markers")
    return Translation(None, None, reason)


def _literal(text: str) -> str:
    """Text placed verbatim in a Go template: `{{` would open an action, so it is emitted as a string action."""
    return text.replace("{{", '{{ "{{" }}')
