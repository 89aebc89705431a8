"""`honed train --gpus N --nodes M`: each node's command is one accelerate's own launcher parses and turns into
the torchrun topology we mean (M nodes, rank R, N processes per node, the same rendezvous address)."""
from __future__ import annotations

import argparse
import os
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


def test_deepspeed_strategies_are_refused_without_gpus(tiny_project):
    """On CPU accelerate would run a DeepSpeed launch as plain DDP: honed says so and stops. (`--strategy fsdp`
    runs on CPU through torch's FSDP2 in honed's own loop: tests/e2e/test_train_fsdp_cpu.py.)"""
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: DeepSpeed is real here")
    done = subprocess.run([sys.executable, "-m", "honed", "train", str(tiny_project), "--gpus", "2", "--strategy",
                           "zero3", "-o", "runs/never"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and "needs CUDA GPUs" in done.stderr + done.stdout
    assert "plain DDP" in done.stderr + done.stdout and "--strategy fsdp" in done.stderr + done.stdout


PROBE = """
import json, os, sys, torch
from accelerate import Accelerator
acc = Accelerator(cpu=True)  # what transformers' Trainer builds with use_cpu=True (honed's CPU path)
model = acc.prepare(torch.nn.Linear(4, 2))
seen = {"rank": acc.process_index, "type": str(acc.state.distributed_type),
        "fsdp_env": os.environ.get("ACCELERATE_USE_FSDP"),
        "plugin": getattr(acc.state, "fsdp_plugin", None) is not None, "wrapper": type(model).__name__}
with open(os.path.join(sys.argv[1], f"rank{os.environ['RANK']}.json"), "w") as f:  # ranks share one stdout
    json.dump(seen, f)
"""


def test_accelerate_does_not_shard_an_fsdp_launch_on_cpu(tmp_path):
    """Why `--strategy fsdp` on CPU runs honed's own FSDP2 loop instead of `accelerate launch`, checked against the
    installed accelerate: under our fsdp.yaml on CPU the launcher asks for FSDP (ACCELERATE_USE_FSDP=true) but
    each process ends up DDP over gloo, no FSDP plugin. If a future accelerate shards on CPU this fails: then the
    Trainer path could shard on CPU too (tests/e2e/test_train_fsdp_cpu.py is the loss test to keep)."""
    import json

    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    (tmp_path / "probe.py").write_text(PROBE)
    done = subprocess.run([sys.executable, "-m", "accelerate.commands.launch", "--config_file",
                           str(accelerate_config("fsdp")), "--num_processes", "2", "--main_process_port", "0",
                           str(tmp_path / "probe.py"), str(tmp_path)],  # port 0: accelerate picks a free one
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    ranks = sorted((json.loads(f.read_text()) for f in tmp_path.glob("rank*.json")), key=lambda r: r["rank"])
    assert [r["rank"] for r in ranks] == [0, 1]
    for r in ranks:
        assert r["fsdp_env"] == "true"  # the launcher did ask for FSDP
        assert (r["type"], r["plugin"], r["wrapper"]) == ("DistributedType.MULTI_CPU", False,
                                                          "DistributedDataParallel")

