"""`honed init` writes every key of the schema with its default and comment (generated, so it cannot drift)."""
from __future__ import annotations

import yaml

from honed.cli.scaffold import STARTER, render_template
from honed.core.config import Config, Section, validate_config


def leaf_fields(model=Config, prefix=""):
    for key, field in model.model_fields.items():
        if field.exclude:
            continue
        if isinstance(field.annotation, type) and issubclass(field.annotation, Section):
            yield from leaf_fields(field.annotation, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", field


def flatten(tree: dict, prefix="") -> dict:
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def test_template_holds_every_key_of_the_schema():
    written = flatten(yaml.safe_load(render_template()))
    assert sorted(written) == sorted(path for path, _ in leaf_fields())


def test_template_values_are_the_defaults_except_the_starter_values():
    written = validate_config(yaml.safe_load(render_template())).model_dump(mode="json")
    expected = Config().model_dump(mode="json")
    for path, value in flatten(STARTER).items():
        section, _, key = path.rpartition(".")
        (expected[section] if section else expected)[key] = value
    assert written == expected


def test_every_key_is_described_and_its_comment_written():
    template = render_template()
    for path, field in leaf_fields():
        assert field.description, f"`{path}` has no description: add one in honed.core.config"
        assert f"# {field.description}" in template, path
