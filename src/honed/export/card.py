"""The model card (README.md) written with every export: where the model came from and what it is for."""
from __future__ import annotations

import json

from honed.export.source import TrainedRun
from honed.export.tokens import end_of_turn_token


def model_card(run: TrainedRun, model, tokenizer, fmt: str, files: list[str] | None = None) -> str:
    meta, config = run.meta, model.config
    licence = base_licence(run.base)
    lines = [
        "---", f"base_model: {json.dumps(run.base)}", f"license: {json.dumps(licence) if licence else 'other'}",
        "library_name: transformers", "tags: [honed, fine-tuned" + (", gguf" if fmt == "gguf" else "") + "]", "---",
        "", f"# {meta.get('run_id') or run.path.name} ({fmt} export)", "",
        f"Fine-tuned with [honed](https://pypi.org/project/honed/) from `{run.base}`.", "",
        "| | |", "|---|---|",
        f"| base model | `{run.base}` |",
        f"| method | {meta.get('method') or ('full' if run.is_full_model else 'unknown')} |",
        f"| objective | {meta.get('objective', 'unknown')} |",
        f"| dataset hash | `{meta.get('dataset_hash') or 'unknown'}` |",
        f"| run | `{meta.get('run_id', run.path.name)}` |",
        (f"| architecture | {config.model_type}, {getattr(config, 'num_hidden_layers', '?')} layers, "
         f"context {getattr(config, 'max_position_embeddings', '?')} |"),
        f"| end-of-turn token | `{end_of_turn_token(tokenizer) or tokenizer.eos_token}` |",
    ]
    if files:
        lines.append(f"| files | {', '.join(f'`{f}`' for f in files)} |")
    lines += ["", *metrics_section(run.report)]
    lines += use_and_limits(licence)
    return "\n".join(lines)


def use_and_limits(licence: str | None) -> list[str]:
    return [
        "## Intended use", "",
        ("The task this run was trained and evaluated for, on inputs like its training data, formatted with the "
         "chat template shipped here (honed applies the same template in training, evaluation and serving)."), "",
        "## Limitations", "",
        "- Measured only on the held-out split named above; behaviour outside that distribution is untested.",
        ("- A small fine-tune inherits the base model's biases and can state wrong facts fluently; keep a human "
         "in the loop for decisions that matter."),
        ("- Quantised GGUF files trade a little accuracy for size (honed checks q8_0 keeps ≥ 99% of greedy "
         "choices on a test sequence)."), "",
        "## Licence", "",
        (f"`{licence}`, inherited from the base model." if licence else
         "The base model's licence applies; check the base model's card before redistributing."), "",
    ]


def metrics_section(report: dict | None) -> list[str]:
    if not report:
        return ["## Evaluation", "", "No evaluation report was found for this run (run `honed eval`).", ""]
    lines = ["## Evaluation", "", "| candidate | " + " | ".join(map(_cell, _metric_names(report))) + " |",
             "|---|" + "---|" * len(_metric_names(report))]
    for name, values in (report.get("candidates") or {}).items():
        cells = [_cell(_fmt(values.get(m))) for m in _metric_names(report)]
        lines.append(f"| {_cell(name)} | " + " | ".join(cells) + " |")
    objective = report.get("objective") or {}
    if objective:
        lines += ["", "Objective: " + ", ".join(f"{k} = {_cell(_fmt(v))}" for k, v in objective.items()
                                                if isinstance(v, str | int | float | bool))]
    return [*lines, ""]


def base_licence(reference: str) -> str | None:
    """The licence recorded in the base's GGUF metadata (the embedded model ships one), if any."""
    from honed.models.load import resolve_model

    try:
        source = resolve_model(reference)
    except Exception:  # noqa: BLE001 - the card is still useful without a licence
        return None
    if not source.gguf_file:
        return None
    from pathlib import Path

    import gguf

    field = gguf.GGUFReader(Path(source.location) / source.gguf_file).get_field("general.license")
    return str(field.contents()) if field is not None else None


def _metric_names(report: dict) -> list[str]:
    names = []
    for values in (report.get("candidates") or {}).values():
        names += [m for m in values if m not in names]
    return names[:8]


def _cell(text) -> str:
    """Report values come from user data (candidate names, labels): keep them from breaking the table."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _fmt(value) -> str:
    return f"{value:.4f}" if isinstance(value, float) else "–" if value is None else str(value)
