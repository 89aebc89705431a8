"""`honed train`, `honed plan`, `honed sweep`: the parsers and their handlers. Heavy imports stay inside the handlers."""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

from honed.cli.common import add_config_args, default_output
from honed.core.config import load_config
from honed.core.errors import HonedError
from honed.core.progress import console
from honed.core.rundir import claim_output, world_size

STRATEGIES = ("ddp", "fsdp", "zero2", "zero3")
FSDP_ENV = "HONED_STRATEGY"  # honed.train.fsdp_cpu.STRATEGY_ENV (not imported here: `honed --help` stays light)


def run_train(args) -> int:
    if getattr(args, "gpus", None) and "LOCAL_RANK" not in os.environ:
        return launch_distributed(args)
    if "LOCAL_RANK" in os.environ and os.environ.get(FSDP_ENV) == "fsdp":
        from honed.train.fsdp_cpu import init_process_group

        init_process_group()  # before anything asks accelerate which process is the main one
    from honed.runs import resume_run, train_run

    if args.resume:
        run, result = resume_run(Path(args.resume), args.overrides)
        return _finish(run, result, Path(args.resume))
    from honed.core.rundir import RunDir, claim_output
    from honed.data.prepare import run_prepare

    cfg = load_config(args.config, args.overrides)
    output = _output(args, cfg)
    claim_output(output, args.overwrite)
    with _main_process_first():
        data = run_prepare(cfg, output / "data")
    run = RunDir.create(output, "train", cfg, data.dataset_hash)
    return _finish(run, train_run(cfg, data, run), output)


def launch_distributed(args) -> int:
    """`honed train --gpus N [--nodes M]`: re-run this command under `accelerate launch` with a shipped config.

    One node: launch here. Several nodes: print the command each node runs (honed does not reach other
    machines), or, with `--machine-rank R`, run node R's command here."""
    cfg = load_config(args.config, args.overrides)
    output = Path(args.output) if args.output else default_output(cfg, "train")
    nodes = args.nodes or 1
    commands = launch_commands(args, output)
    if nodes == 1 and args.strategy == "fsdp" and not _cuda():
        if args.print_launch:
            print("# this machine (no CUDA: torch FSDP2 over gloo)")
            print(f"{FSDP_ENV}=fsdp {shlex.join(fsdp_cpu_command(args, output))}")
            return 0
        return launch_fsdp_on_cpu(args, output)
    if nodes == 1 and not args.print_launch:
        _refuse_sharding_without_gpus(args.strategy)
        command = [sys.executable, "-m", "accelerate.commands.launch", *commands[0][2:]]
        console.print(f"launching {args.gpus} processes ({args.strategy}): {shlex.join(command)}")
        return subprocess.call(command)
    if args.machine_rank is not None and not args.print_launch:
        if not 0 <= args.machine_rank < nodes or not args.main_process_ip:
            raise HonedError(f"--machine-rank {args.machine_rank} needs 0 <= rank < --nodes {nodes} and "
                             "--main-process-ip", "pass the rank-0 node's address and this node's rank")
        _refuse_sharding_without_gpus(args.strategy, nodes)
        command = [sys.executable, "-m", "accelerate.commands.launch", *commands[args.machine_rank][2:]]
        console.print(f"launching node {args.machine_rank} of {nodes}: {shlex.join(command)}")
        return subprocess.call(command)
    _print_node_commands(commands, args)
    return 0


def launch_fsdp_on_cpu(args, output: Path) -> int:
    """`--strategy fsdp` without CUDA: torchrun starts N gloo processes that shard with torch's FSDP2 in honed's
    own loop (honed.train.fsdp_cpu), because accelerate does not shard on CPU (see below)."""
    if args.resume:
        raise HonedError("FSDP on CPU cannot resume (its loop writes no checkpoints)",
                         "resume with the strategy the run was started with, or start a new run")
    command = fsdp_cpu_command(args, output)
    console.print(f"launching {args.gpus} processes (fsdp2 on CPU, gloo): {shlex.join(command)}")
    return subprocess.call(command, env={**os.environ, FSDP_ENV: "fsdp"})


def fsdp_cpu_command(args, output: Path) -> list[str]:
    """The torchrun argv of an FSDP run on CPU (its processes also need HONED_STRATEGY=fsdp in the environment)."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(args.gpus),
            "-m", "honed", "train", str(args.config), "--output", str(output), "--strategy", "fsdp",
            *(["--overwrite"] if args.overwrite else []), *args.overrides]


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _refuse_sharding_without_gpus(strategy: str, nodes: int = 1) -> None:
    """Without CUDA, accelerate does not shard. The trainer's Accelerator(cpu=True) becomes MULTI_CPU (gloo), and
    accelerate switches to DeepSpeed only when not on CPU (accelerate 1.15 state.py, `ACCELERATE_USE_DEEPSPEED …
    and not cpu`), and to FSDP only from GPU-type states: the processes would run plain DDP under a zero label.
    `--strategy fsdp` does shard on CPU, through torch's FSDP2 in honed's own loop (launch_fsdp_on_cpu);
    DeepSpeed has no CPU path here. docs/scale.md has the details."""
    if strategy == "fsdp" and nodes > 1 and not _cuda():
        raise HonedError("--strategy fsdp without CUDA runs on one machine only (torch FSDP2 in honed's own loop); "
                         "across nodes accelerate would run it as plain DDP over gloo, unsharded",
                         "drop --nodes to shard on this machine, or use the default DDP strategy across nodes")
    if strategy in ("zero2", "zero3") and not _cuda():
        raise HonedError(f"--strategy {strategy} needs CUDA GPUs: on CPU accelerate ignores its DeepSpeed settings "
                         f"and would run {strategy} as plain DDP over gloo, unsharded",
                         "use the default DDP strategy on CPU (same result, honestly named), `--strategy fsdp` "
                         "(torch FSDP2 over gloo), or run on GPUs; `--print-launch` still prints the command")


def launch_commands(args, output: Path) -> list[list[str]]:
    """The exact `accelerate launch …` argv for each node 0..M-1 (`--gpus` counts processes per node)."""
    nodes = args.nodes or 1
    if args.gpus < 1 or nodes < 1:
        raise HonedError(f"--gpus {args.gpus} --nodes {nodes}: both must be at least 1",
                         "pass the processes per node with --gpus and the machine count with --nodes")
    base = ["accelerate", "launch", "--config_file", str(accelerate_config(args.strategy)),
            "--num_processes", str(args.gpus * nodes)]
    tail = ["-m", "honed", "train", str(args.config), "--output", str(output)]
    if args.resume:
        tail += ["--resume", str(args.resume)]
    tail += list(args.overrides)
    if nodes == 1:
        return [base + tail]
    host = args.main_process_ip or "HOST0"
    return [base + ["--num_machines", str(nodes), "--machine_rank", str(rank), "--main_process_ip", host,
                    "--main_process_port", str(args.main_process_port)] + tail for rank in range(nodes)]


def _print_node_commands(commands: list[list[str]], args) -> None:
    if len(commands) > 1 and not args.main_process_ip:
        console.print("HOST0 stands for the rank-0 node's address: pass --main-process-ip to fill it in")
    if len(commands) > 1:
        console.print(f"run on every node ({len(commands)} nodes × {args.gpus} processes, {args.strategy}); "
                      "the output directory must be on storage every node sees:")
    for rank, command in enumerate(commands):
        print(f"# node {rank}" if len(commands) > 1 else "# this machine")
        print(shlex.join(command))


def accelerate_config(strategy: str) -> Path:
    """The shipped accelerate config for a strategy (configs/accelerate/<strategy>.yaml)."""
    for base in (Path(__file__).resolve().parents[3], Path.cwd()):
        candidate = base / "configs" / "accelerate" / f"{strategy}.yaml"
        if candidate.is_file():
            return candidate
    raise HonedError(f"no accelerate config for `{strategy}` (configs/accelerate/{strategy}.yaml)",
                     f"run from the honed source tree, or pass your own with `accelerate launch --config_file …`; "
                     f"strategies: {', '.join(STRATEGIES)}")


def run_plan(args) -> int:
    from honed.models.memory import plan_for_config, plan_table

    cfg = load_config(args.config, args.overrides)
    plan = plan_for_config(cfg, gpu_memory_gb=args.gpu_memory)
    if args.json:
        print(json.dumps(plan, indent=2))
    else:
        console.print(plan_table(plan))
        if "cpu" in plan:
            cpu = plan["cpu"]
            print(f"CPU ({cpu['method']}, float32, honed's fast path): ~{cpu['peak_gb']:.1f} GB peak resident with "
                  f"rows at model.max_length ({cpu['tokens_per_forward']} tokens per forward); shorter rows need less.")
        print(plan["recommendation"])
    return 0


def run_sweep(args) -> int:
    from honed.runs import sweep_run

    cfg = load_config(args.config, args.overrides)
    output = _output(args, cfg, "sweep")
    claim_output(output, args.overwrite)
    best = sweep_run(cfg, output, trials=args.trials)
    console.print(f"best trial {best['number']}: validation loss {best['value']:.4f} with {best['params']}")
    print(output / "best.yaml")
    return 0


# --- helpers ------------------------------------------------------------------------------------------------


def _output(args, cfg, kind: str = "train") -> Path:
    if args.output:
        return Path(args.output)
    if world_size() > 1:
        raise HonedError("a distributed run needs an explicit output directory",
                         "pass `--output DIR` (or use `honed train --gpus N`, which picks one for every process)")
    return default_output(cfg, kind)


def _main_process_first():
    """Under `accelerate launch` the main process prepares data while the others wait; alone, a no-op."""
    import contextlib

    if world_size() <= 1:
        return contextlib.nullcontext()
    from accelerate import PartialState

    return PartialState().main_process_first()


def _finish(run, result, output: Path) -> int:
    if not run.is_main or result is None:  # another rank, or a finished run asked to resume
        return 0
    run.finish(train_seconds=result.seconds, final_loss=result.train_loss[-1][1] if result.train_loss else None,
               final_eval_loss=result.eval_loss[-1][1] if result.eval_loss else None)
    console.print(f"trained {result.trainable_params:,} of {result.total_params:,} parameters in "
                  f"{result.seconds:.0f} s; model in {result.adapter_dir}")
    print(output)
    return 0


def register(verbs) -> None:
    train = verbs.add_parser("train", help="prepare data and train; writes a self-describing run directory")
    add_config_args(train)
    train.add_argument("--resume", metavar="RUN", help="continue a run directory from its last checkpoint")
    train.add_argument("--overwrite", action="store_true", help="delete a non-empty --output first (default: refuse)")
    train.add_argument("--gpus", type=int, metavar="N",
                       help="train on N processes through `accelerate launch` (one per GPU; CPU processes if none)")
    train.add_argument("--strategy", choices=("ddp", "fsdp", "zero2", "zero3"), default="ddp",
                       help="with --gpus: DDP, FSDP or DeepSpeed ZeRO-2/3 (configs/accelerate/<strategy>.yaml); "
                            "without CUDA, fsdp runs torch FSDP2 over gloo under torchrun and zero2/3 are refused")
    train.add_argument("--nodes", type=int, metavar="M",
                       help="with --gpus: M machines × N processes each; prints each node's launch command")
    train.add_argument("--main-process-ip", metavar="IP", help="with --nodes: the rank-0 node's address")
    train.add_argument("--main-process-port", type=int, default=29500, metavar="PORT",
                       help="with --nodes: the rendezvous port on the rank-0 node (default 29500)")
    train.add_argument("--machine-rank", type=int, metavar="R",
                       help="with --nodes: run node R's command on this machine instead of printing them all")
    train.add_argument("--print-launch", action="store_true",
                       help="with --gpus: print the exact `accelerate launch` command(s) instead of running")
    train.set_defaults(handler="honed.cli.train:run_train")

    plan = verbs.add_parser("plan", help="estimate peak GPU memory for full / LoRA / QLoRA and recommend a method")
    add_config_args(plan, output=False)
    plan.add_argument("--gpu-memory", type=float, metavar="GB", help="memory of the GPU you have (e.g. 24)")
    plan.add_argument("--json", action="store_true", help="print the plan as JSON")
    plan.set_defaults(handler="honed.cli.train:run_plan")

    sweep = verbs.add_parser("sweep", help="Optuna search over learning rate, rank and epochs (min. validation loss)")
    add_config_args(sweep)
    sweep.add_argument("--overwrite", action="store_true", help="delete a non-empty --output first (default: refuse)")
    sweep.add_argument("--trials", type=int, default=8, metavar="N", help="number of trials (default 8)")
    sweep.set_defaults(handler="honed.cli.train:run_sweep")
