"""Where honed keeps its own files: `$HONED_HOME`, else `~/.honed`."""
from __future__ import annotations

import os
from pathlib import Path


def honed_home() -> Path:
    home = Path(os.environ.get("HONED_HOME") or Path.home() / ".honed").expanduser()
    home.mkdir(parents=True, exist_ok=True)
    return home
