"""Argument shapes shared by the config-driven verbs."""
from __future__ import annotations

import argparse
import time
from pathlib import Path


def add_config_args(parser: argparse.ArgumentParser, output: bool = True) -> None:
    """CONFIG, --output and trailing key=value overrides: the shape shared by config-driven verbs."""
    parser.add_argument("config", help="path to honed.yaml")
    if output:
        parser.add_argument("--output", "-o", help="output directory (default: runs/<project>-<verb>-<time>)")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides, e.g. train.epochs=2")


def default_output(cfg, kind: str) -> Path:
    return cfg.root / "runs" / f"{cfg.project}-{kind}-{time.strftime('%Y%m%d-%H%M%S')}"
