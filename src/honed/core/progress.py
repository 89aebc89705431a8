"""Rich progress bars with ETA, shared by every long step."""
from __future__ import annotations

import contextlib

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

console = Console(stderr=True)
BAR_FROM_ROWS = 10_000  # curation: ~10 s of PII at ~1,000 rows/s; a smaller step is over before a bar would help


def make_progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.fields[info]}"),
        console=console, transient=False,
    )



def progress_for_rows(rows: int | None):
    """A progress display for a job over `rows` rows (None: not known ahead, shown), or, under BAR_FROM_ROWS, a
    context that yields None: a short job shows no bar, so a usage error stays the first thing it prints."""
    return make_progress() if rows is None or rows >= BAR_FROM_ROWS else contextlib.nullcontext()
