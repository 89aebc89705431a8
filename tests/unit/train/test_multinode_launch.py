"""`honed train --gpus N --nodes M`: each node's command is one accelerate's own launcher parses and turns into
the torchrun topology we mean (M nodes, rank R, N processes per node, the same rendezvous address)."""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("accelerate")
from accelerate.commands.launch import _validate_launch_command, launch_command_parser
from accelerate.utils.launch import prepare_multi_gpu_env

from honed.cli.train import STRATEGIES, accelerate_config, launch_commands

ROOT = Path(__file__).resolve().parents[3]


def train_args(**overrides) -> argparse.Namespace:
    values = {"config": "honed.yaml", "gpus": 4, "nodes": 2, "strategy": "ddp", "main_process_ip": "10.0.0.1",
                  "main_process_port": 29501, "resume": None, "overrides": ["train.epochs=1"]}
    return argparse.Namespace(**{**values, **overrides})


def accelerate_parse(command: list[str]) -> argparse.Namespace:
    assert command[:2] == ["accelerate", "launch"]
    parsed = launch_command_parser().parse_args(command[2:])
    return _validate_launch_command(parsed)[0]  # merges the config file the way `accelerate launch` does


def test_two_node_commands_are_what_accelerate_expects():
    commands = launch_commands(train_args(), Path("runs/x"))
    assert len(commands) == 2
    for rank, command in enumerate(commands):
        args = accelerate_parse(command)
        assert (args.num_machines, args.machine_rank, args.num_processes) == (2, rank, 8)
        assert (args.main_process_ip, args.main_process_port) == ("10.0.0.1", 29501)
        assert args.multi_gpu and args.module and args.training_script == "honed"
        assert args.training_script_args == ["train", "honed.yaml", "--output", "runs/x", "train.epochs=1"]
        prepare_multi_gpu_env(args)  # accelerate's own translation into torchrun arguments
        assert (int(args.nnodes), int(args.node_rank), int(args.nproc_per_node)) == (2, rank, 4)
    # Only the rank differs between the nodes' commands.
    assert [a for a, b in zip(*commands) if a != b] == ["0"]


def test_one_node_command_has_no_multi_node_flags():
    [command] = launch_commands(train_args(nodes=1), Path("runs/x"))
    args = accelerate_parse(command)
    assert args.num_processes == 4 and args.num_machines == 1 and "--machine_rank" not in command


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_shipped_config_parses_for_two_nodes(strategy):
    args = accelerate_parse(launch_commands(train_args(strategy=strategy), Path("o"))[1])
    assert args.num_machines == 2 and args.machine_rank == 1 and args.config_file == str(accelerate_config(strategy))


def test_zero_gpus_is_a_usage_error():
    from honed.core.errors import HonedError

    with pytest.raises(HonedError, match="at least 1"):
        launch_commands(train_args(gpus=0), Path("o"))


def test_cli_prints_one_command_per_node(tiny_project):
    done = subprocess.run([sys.executable, "-m", "honed", "train", str(tiny_project), "--gpus", "2", "--nodes", "2",
                           "--main-process-ip", "192.168.1.5", "--print-launch", "-o", "runs/two"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("accelerate launch")]
    assert len(lines) == 2 and all("--main_process_ip 192.168.1.5" in line for line in lines)
    assert "--machine_rank 0" in lines[0] and "--machine_rank 1" in lines[1]


def test_sharded_strategies_are_refused_without_gpus(tiny_project):
    """accelerate maps an FSDP config to DistributedType.NO on CPU: 2 independent rank-0 processes, not FSDP."""
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: FSDP is real here")
    done = subprocess.run([sys.executable, "-m", "honed", "train", str(tiny_project), "--gpus", "2", "--strategy",
                           "fsdp", "-o", "runs/never"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and "needs CUDA GPUs" in done.stderr + done.stdout

