"""Where honed keeps its own files: `$HONED_HOME`, else `~/.honed`. Created 0700: the store in it holds request
logs and feedback."""
from __future__ import annotations

import os
from pathlib import Path


def honed_home() -> Path:
    home = Path(os.environ.get("HONED_HOME") or Path.home() / ".honed").expanduser()
    if not home.exists():
        home.mkdir(parents=True, mode=0o700, exist_ok=True)
    return home
