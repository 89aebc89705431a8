"""`honed export`: a trained run → a merged Hugging Face directory, or a GGUF file with an Ollama Modelfile."""
from __future__ import annotations


def register(verbs) -> None:
    from honed.export.gguf_writer import QUANTS  # light: no torch, no gguf at import time

    parser = verbs.add_parser(
        "export", help="merge a run's adapter and export it (merged safetensors, or GGUF + Ollama Modelfile)",
        description="Export a trained run. merged: the adapter folded into the base in full precision, with "
                    "tokenizer, chat template, generation_config.json and a model card. gguf: one .gguf file "
                    "(llama.cpp / Ollama) plus a Modelfile. Prints the exported path last.")
    parser.add_argument("run", metavar="RUN", help="run directory written by `honed train` (or `honed run`'s "
                        "output), or a registered version: NAME@ALIAS, NAME:VERSION")
    parser.add_argument("--format", "-f", dest="fmt", choices=("merged", "gguf"), default="merged")
    # Not argparse `choices`: an unsupported value gets honed's message with the fix (exit 2).
    parser.add_argument("--quant", "-q", default=None,
                        help=f"GGUF tensor type: {', '.join(QUANTS)} (default f16); k-quants come from "
                             "llama.cpp's llama-quantize")
    parser.add_argument("--output", "-o", help="output directory (or a .gguf path); default RUN/export/<format>")
    parser.set_defaults(handler="honed.cli.export:run_export")


def run_export(args) -> int:
    from honed.export.api import export_run
    from honed.registry import resolve_reference

    path = export_run(resolve_reference(args.run), args.fmt, args.quant, args.output)  # NAME@ALIAS, NAME:VERSION
    print(path)
    return 0
