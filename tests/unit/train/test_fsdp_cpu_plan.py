"""The pure planning of honed's FSDP-on-CPU loop: the Trainer's row order, each rank's share of a global batch,
equal forward counts on every rank, the step count, when validation runs, and what is refused."""
from __future__ import annotations

import argparse

import pytest

from honed.core.chat import IGNORE_INDEX
from honed.core.config import Config
from honed.core.errors import HonedError
from honed.train.fast import next_token_targets, prefix_grouped_order
from honed.train.fsdp_cpu import (
    STRATEGY_ENV,
    check_supported,
    epoch_order,
    evaluation_due,
    fsdp_on_cpu,
    global_batches,
    micro_chunks,
    rank_share,
    supervised_tokens,
    total_steps,
)


@pytest.mark.parametrize("epoch", [0, 1, 2])
def test_order_is_the_trainers_seeded_sampler(epoch):
    """Rows sharing one prefix: the order accelerate's SeedableRandomSampler gives the Trainer at this epoch."""
    import torch
    from accelerate.data_loader import SeedableRandomSampler

    rows = [[1] * 10 + [i] for i in range(23)]
    sampler = SeedableRandomSampler(data_source=rows, generator=torch.Generator(), data_seed=7)
    sampler.set_epoch(epoch)
    assert epoch_order(rows, 4, seed=7, epoch=epoch) == list(sampler)
    assert epoch_order(rows, 4, seed=7, epoch=epoch) != epoch_order(rows, 4, seed=7, epoch=epoch + 1)


def test_rows_that_start_differently_take_the_prefix_grouped_order():
    rows = [[i % 3] * 10 + [i] for i in range(12)]
    assert epoch_order(rows, 4, seed=5, epoch=1) == prefix_grouped_order(rows, 4, 6)


@pytest.mark.parametrize("size,world", [(8, 2), (7, 2), (5, 3), (1, 2), (9, 4)])
def test_rank_shares_cover_each_global_batch_once_in_order(size, world):
    for batch in global_batches(list(range(23)), size):
        shares = [rank_share(batch, rank, world) for rank in range(world)]
        assert [i for share in shares for i in share] == batch


def test_global_batches_keep_the_short_last_one():
    assert global_batches(list(range(7)), 3) == [[0, 1, 2], [3, 4, 5], [6]]


def test_every_rank_runs_as_many_micro_batches_even_with_no_rows():
    batch = list(range(5))  # 2 ranks: 3 rows and 2 rows
    chunks = [micro_chunks(rank_share(batch, r, 2), 3, 2) for r in range(2)]
    assert chunks == [[[0, 1], [2]], [[3, 4], []]]
    assert micro_chunks([], 3, 2) == [[], []]  # a rank without rows still takes part twice


def test_step_count_follows_max_steps_or_epochs():
    assert total_steps(48, 10, 2.0, None) == 10
    assert total_steps(48, 16, 1.5, None) == 5
    assert total_steps(48, 10, 2.0, 3) == 3


def test_validation_every_n_steps_else_per_epoch_and_after_the_last_step():
    assert [s for s in range(1, 11) if evaluation_due(s, 5, 10, 0)] == [5, 10]
    assert [s for s in range(1, 8) if evaluation_due(s, 5, 7, 3)] == [3, 6, 7]


def test_supervised_tokens_count_the_loss_terms_of_the_collator():
    row = {"input_ids": [5, 6, 7, 8, 9], "assistant_masks": [0, 0, 1, 1, 0]}
    targets = next_token_targets(row["input_ids"], row["assistant_masks"])
    assert supervised_tokens(row) == sum(t != IGNORE_INDEX for t in targets) == 2


def test_only_an_fsdp_launch_without_cuda_takes_this_loop(monkeypatch):
    import torch

    monkeypatch.delenv(STRATEGY_ENV, raising=False)
    monkeypatch.setenv("LOCAL_RANK", "0")
    assert not fsdp_on_cpu()
    monkeypatch.setenv(STRATEGY_ENV, "fsdp")
    assert fsdp_on_cpu() is (not torch.cuda.is_available())
    monkeypatch.delenv("LOCAL_RANK")
    assert not fsdp_on_cpu()  # a stray HONED_STRATEGY outside the torchrun launch changes nothing


def test_what_the_loop_cannot_do_is_refused_by_name(tmp_path):
    cfg = Config.model_validate({"project": "p", "data": {"train": ["d.jsonl"]}, "model": {"base": "tiny-random"}})
    check_supported(cfg, "sft", None)  # the plain case runs
    with pytest.raises(HonedError, match="--resume"):
        check_supported(cfg, "sft", tmp_path)
    with pytest.raises(HonedError, match="train.objective dpo"):
        check_supported(cfg, "dpo", None)
    cfg.method.kind = "prompt"
    with pytest.raises(HonedError, match="method.kind prompt"):
        check_supported(cfg, "sft", None)


def test_resume_is_refused_before_launching(tmp_path):
    from honed.cli.train import launch_fsdp_on_cpu

    args = argparse.Namespace(resume=str(tmp_path), gpus=2, config="honed.yaml", overwrite=False, overrides=[])
    with pytest.raises(HonedError, match="cannot resume"):
        launch_fsdp_on_cpu(args, tmp_path / "out")


def test_print_launch_shows_the_torchrun_command_on_cpu(tiny_project):
    import subprocess
    import sys

    import torch

    if torch.cuda.is_available():
        pytest.skip("with CUDA, --strategy fsdp goes through accelerate")
    done = subprocess.run([sys.executable, "-m", "honed", "train", str(tiny_project), "--gpus", "2", "--strategy",
                           "fsdp", "--print-launch", "-o", "runs/x", "train.max_steps=1"], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    [line] = [line for line in done.stdout.splitlines() if not line.startswith("#")]
    assert line.startswith(f"{STRATEGY_ENV}=fsdp ") and "-m torch.distributed.run --standalone" in line
    assert line.endswith("--nproc_per_node 2 -m honed train " + str(tiny_project) + " --output runs/x --strategy fsdp "
                         "train.max_steps=1")


def test_fsdp_across_nodes_without_cuda_is_refused(tiny_project):
    import subprocess
    import sys

    import torch

    if torch.cuda.is_available():
        pytest.skip("with CUDA, multi-node FSDP goes through accelerate")
    done = subprocess.run([sys.executable, "-m", "honed", "train", str(tiny_project), "--gpus", "2", "--nodes", "2",
                           "--machine-rank", "0", "--main-process-ip", "127.0.0.1", "--strategy", "fsdp", "-o",
                           "runs/never"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and "one machine only" in done.stderr + done.stdout
