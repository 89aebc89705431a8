"""`export_run`: one call from a run directory to a merged directory or a GGUF file + Modelfile."""
from __future__ import annotations

from pathlib import Path

from honed.core.errors import HonedError
from honed.core.progress import console
from honed.export.source import TrainedRun, find_run

FORMATS = ("merged", "gguf")


def export_run(run_dir: str | Path, fmt: str = "merged", quant: str | None = None, out: str | Path | None = None) -> Path:
    """Export a trained run; returns the merged directory or the .gguf file."""
    from honed.export.gguf_writer import check_quant

    if fmt not in FORMATS:
        raise HonedError(f"unknown export format `{fmt}`", f"use one of: {', '.join(FORMATS)}")
    if fmt == "merged" and quant not in (None, "f32"):
        raise HonedError(f"`--quant {quant}` applies to GGUF only; a merged export is always full precision",
                         "drop --quant, or use `--format gguf`")
    quant = quant or "f16"
    if fmt == "gguf":
        check_quant(quant)  # fail before the (slow) merge
    run = find_run(run_dir)
    from honed.export.merge import merged_model, save_merged

    with console.status(f"merging {run.adapter_dir} into {run.base}"):
        model, tokenizer = merged_model(run)
    if fmt == "merged":
        target = Path(out) if out else run.path / "export" / "merged"
        with console.status(f"writing {target}"):
            return save_merged(run, target, model, tokenizer)
    with console.status(f"writing GGUF ({quant})"):
        return save_gguf(run, model, tokenizer, quant, out)


def save_gguf(run: TrainedRun, model, tokenizer, quant: str, out: str | Path | None) -> Path:
    """The .gguf file plus its Modelfile and README.md in one directory; returns the .gguf path."""
    from honed.export.card import base_licence, model_card
    from honed.export.gguf_writer import write_gguf
    from honed.export.merge import set_generation_eos
    from honed.export.modelfile import modelfile_text

    name = _safe_name(run.meta.get("run_id") or run.path.name)
    target = Path(out) if out else run.path / "export" / f"gguf-{quant}"
    path = target if target.suffix == ".gguf" else target / f"{name}-{quant}.gguf"
    path.parent.mkdir(parents=True, exist_ok=True)
    set_generation_eos(model, tokenizer)
    write_gguf(model, tokenizer, path, quant, name=name, base=run.base, licence=base_licence(run.base))
    _write_text(path.parent / "Modelfile", modelfile_text(path.name, tokenizer))
    _write_text(path.parent / "README.md", model_card(run, model, tokenizer, fmt="gguf",
                                                      files=[path.name, "Modelfile"]))
    return path


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _safe_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in text) or "model"
