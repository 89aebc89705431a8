"""`honed index CONFIG`: build or update the retrieval index of `data.documents`."""
from __future__ import annotations

from honed.cli.common import add_config_args
from honed.core.config import load_config
from honed.core.progress import console


def run_index(args) -> int:
    from honed.retrieval.corpus import build_index, index_directory

    cfg = load_config(args.config, args.overrides)
    update = build_index(cfg)
    console.print(f"{update.total_chunks} chunks · embedded {update.embedded_chunks} · files added "
                  f"{len(update.added)}, changed {len(update.changed)}, unchanged {len(update.unchanged)}, "
                  f"removed {len(update.removed)}", highlight=False)
    for path in update.empty:
        console.print(f"[yellow]warning:[/] {path} yielded no text (a PDF without a text layer?)", highlight=False)
    print(index_directory(cfg))
    return 0


def register(verbs) -> None:
    index = verbs.add_parser("index", help="build or update the retrieval index of data.documents (RAG)")
    add_config_args(index, output=False)
    index.set_defaults(handler="honed.cli.index:run_index")
