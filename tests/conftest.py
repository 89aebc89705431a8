"""Shared fixtures: an isolated HONED_HOME, a small classification project on `tiny-random`."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

# Under `pytest -n 2` two workers share two cores: one BLAS/OpenMP thread each avoids oversubscription, which
# was measured to slow small-model steps ~8x on this machine.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")

from projectkit import SHARED, tiny_config_text, write_ticket_rows  # noqa: F401


@pytest.fixture(scope="session", autouse=True)
def honed_home(tmp_path_factory):
    """Every test session gets its own store and model cache; tests never touch ~/.honed."""
    home = tmp_path_factory.mktemp("honed_home")
    os.environ["HONED_HOME"] = str(home)
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    return home


@pytest.fixture
def tiny_project(tmp_path) -> Path:
    """A project directory with data.jsonl (60 rows, 3 labels) and honed.yaml on tiny-random."""
    write_ticket_rows(tmp_path / "data.jsonl")
    config = tmp_path / "honed.yaml"
    config.write_text(tiny_config_text(), encoding="utf-8")
    return config


@pytest.fixture
def one_thread():
    """One intra-op thread: a 2-layer model gains nothing from more, and loses a lot on a busy machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
