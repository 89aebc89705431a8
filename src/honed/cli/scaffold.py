"""`honed init`: a commented honed.yaml with every key, generated from the config schema itself.

Each key is written with its default and its field description as the comment, so the template can never drift
from what `honed.core.config` accepts (a test loads the template back and compares it with the defaults).
"""
from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from honed.core.config import Config, Section
from honed.core.errors import HonedError

HEADER = """\
# honed project config: every key with its default. Unknown keys are errors.
# Override any key on the command line: honed run honed.yaml train.epochs=2
"""
# What a new project most likely edits, shown instead of the schema's empty defaults.
STARTER = {"project": "my-project", "data": {"train": ["data.jsonl"],
                                             "instruction": "Classify the text. Answer with the label only."}}
COMMENT_COLUMN = 40


def render_template() -> str:
    return HEADER + "".join(_section_lines(Config, Config().model_dump(mode="json"), STARTER, indent=""))


def _section_lines(model: type[BaseModel], defaults: dict, starter: dict, indent: str) -> list[str]:
    lines = []
    for key, field in model.model_fields.items():
        if field.exclude:
            continue
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, Section):
            lines.append(f"\n{indent}{key}:\n" if not indent else f"{indent}{key}:\n")
            lines += _section_lines(annotation, defaults[key], starter.get(key, {}), indent + "  ")
            continue
        value = starter.get(key, defaults[key])
        lines.append(_commented(f"{indent}{key}: {_yaml_scalar(value)}", field.description or ""))
    return lines


def _yaml_scalar(value) -> str:
    """One-line YAML for a default: JSON is valid YAML, and quoting strings keeps `yes`/`no` strings."""
    return "null" if value is None else json.dumps(value, ensure_ascii=False)


def _commented(line: str, comment: str) -> str:
    if not comment:
        return line + "\n"
    return f"{line.ljust(COMMENT_COLUMN)} # {comment}\n"


def write_scaffold(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "honed.yaml"
    if path.exists():
        raise HonedError(f"`{path}` already exists", "edit it, or choose another directory: `honed init DIR`")
    path.write_text(render_template(), encoding="utf-8")
    return path
