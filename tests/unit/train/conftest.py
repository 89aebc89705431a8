"""Fixtures for training tests: the tiny-random tokenizer and a run-directory factory."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tokenizer():
    from honed.models.load import load_tokenizer

    return load_tokenizer("tiny-random")


@pytest.fixture
def run_dir(tmp_path):
    def make(cfg, name: str = "run"):
        from honed.core.rundir import RunDir

        return RunDir.create(tmp_path / name, "train", cfg)

    return make
